/**
 * The API process (api/main.ts, as a deploy or npm start runs it) stopped with SIGTERM while a request
 * is in flight: the request gets its normal answer (with `Connection: close`), a new connection is
 * refused at once, an idle keep-alive connection is closed, and the process exits 0 within
 * SHUTDOWN_GRACE_SECONDS. A request outlasting the grace is cut and the process exits anyway.
 * The request is held in PostgreSQL: a login's rate-limit count waits for a lock the test holds on
 * its table. The database is the file's own (the API refuses a keyring other files' secrets need);
 * Temporal and SMTP are not needed and point at closed ports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { freePort } from '../services/devstack/ports';
import { capture } from './support/capture';
import { createIsolatedDatabase } from './support/isolated-database';
import { until } from './support/until';
import { appEntryFile } from '../services/build/app-build';

let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
const children: ChildProcess[] = [];
const MASTER_KEY = randomBytes(32).toString('base64');

beforeAll(async () => {
  database = await createIsolatedDatabase('graceful');
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await database?.drop();
});

interface Api {
  child: ChildProcess;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

async function startApi(graceSeconds: number): Promise<Api> {
  const port = await freePort();
  const child = spawn(process.execPath, [appEntryFile('api')], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
      MASTER_KEY,
      PORT: String(port),
      HOST: '127.0.0.1',
      SHUTDOWN_GRACE_SECONDS: String(graceSeconds),
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(child);
  let ready = false;
  child.on('message', (m) => (ready ||= m === 'ready'));
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => capture('api-graceful', d.toString()));
  const exited = new Promise<Awaited<Api['exited']>>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  // Its own 'ready', not just an answer on the port (another process may have taken it).
  const listening = until(async () => ready && (await fetch(`http://127.0.0.1:${port}/healthz/live`).catch(() => null))?.ok === true, 'the API to listen', 60_000, 200);
  await Promise.race([listening, exited.then((e) => Promise.reject(new Error(`the API exited (${e.code ?? e.signal}) before it listened`)))]);
  return { child, port, exited };
}

interface Answer {
  status: number;
  connection: string | undefined;
  body: string;
  socket: net.Socket;
}

/** A login attempt (unknown person) over `agent`: it counts a hit in rate_limit_windows first. */
function login(port: number, agent: http.Agent): Promise<Answer> {
  const body = JSON.stringify({ email: 'nobody@example.com', password: 'not-the-password' });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/auth/login', method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, body: text, socket: req.socket! }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Holds a lock on the rate-limit table: every count (INSERT … ON CONFLICT) waits for it. */
async function holdRateLimits() {
  const client = new pg.Client({ connectionString: database.url });
  // A failed test leaves it to the database's drop, which ends it from the server's side.
  client.on('error', () => undefined);
  await client.connect();
  await client.query('BEGIN');
  await client.query('LOCK TABLE rate_limit_windows IN SHARE MODE');
  let released = false;
  return {
    waiter: () =>
      until(
        async () =>
          (
            await client.query(
              `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
               WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND c.relname = 'rate_limit_windows' AND NOT l.granted`,
            )
          ).rows[0].n > 0,
        'the login to wait for the rate-limit table',
      ),
    async release() {
      if (released) return;
      released = true;
      await client.query('COMMIT');
      await client.end();
    },
  };
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });

const closed = (socket: net.Socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

it('SIGTERM mid-request: the request is answered, new connections are refused, idle ones closed, exit 0 within the grace', async () => {
  const api = await startApi(20);
  const agent = new http.Agent({ keepAlive: true });
  const baseline = await login(api.port, agent);
  expect(baseline.status).toBe(401);
  expect(baseline.connection).toBe('keep-alive');
  const idleClosed = closed(baseline.socket);

  const lock = await holdRateLimits();
  let answer: Answer, termAt: number, refusedMs: number;
  try {
    const slow = login(api.port, new http.Agent({ keepAlive: true }));
    let settled = false;
    void slow.finally(() => (settled = true)).catch(() => undefined);
    await lock.waiter();

    termAt = Date.now();
    api.child.kill('SIGTERM');
    await until(() => refused(api.port), 'new connections to be refused', 3000);
    refusedMs = Date.now() - termAt;
    await Promise.race([idleClosed, new Promise((_, reject) => setTimeout(() => reject(new Error('the idle keep-alive connection stayed open')), 3000))]);
    // The request is still held, and the process waits for it.
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled).toBe(false);
    expect(api.child.exitCode).toBeNull();

    await lock.release();
    answer = await slow;
  } finally {
    await lock.release();
  }
  expect(answer.status).toBe(baseline.status);
  expect(JSON.parse(answer.body)).toEqual(JSON.parse(baseline.body));
  expect(answer.connection).toBe('close');
  const exit = await api.exited;
  expect(exit).toMatchObject({ code: 0, signal: null });
  const exitMs = exit.at - termAt;
  expect(exitMs).toBeLessThan(20_000);
  process.stdout.write(`graceful stop: new connections refused ${refusedMs} ms after SIGTERM; exit 0 ${exitMs} ms after it (request held ~1.5 s of that)\n`);
  agent.destroy();
}, 120_000);

it('a request outlasting the grace is cut and the process exits soon after the grace', async () => {
  const api = await startApi(2);
  const lock = await holdRateLimits();
  try {
    const slow = login(api.port, new http.Agent({ keepAlive: true })).then(
      () => null,
      (err: NodeJS.ErrnoException) => err,
    );
    await lock.waiter();
    const termAt = Date.now();
    api.child.kill('SIGTERM');
    const err = await slow;
    const cutMs = Date.now() - termAt;
    expect(err?.code).toMatch(/ECONNRESET|socket hang up/i);
    const exit = await api.exited;
    expect(exit).toMatchObject({ code: 1, signal: null });
    const exitMs = exit.at - termAt;
    expect(cutMs).toBeGreaterThanOrEqual(1900);
    expect(exitMs).toBeLessThan(4000);
    process.stdout.write(`grace 2 s: the held request cut ${cutMs} ms after SIGTERM, exit 1 at ${exitMs} ms\n`);
  } finally {
    await lock.release();
  }
}, 120_000);
