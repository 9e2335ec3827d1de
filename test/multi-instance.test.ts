/**
 * Several API instances on one database, as real processes (api/main.ts, and the worker's start):
 * the login rate limit is one limit across them and survives a restart; an instance whose keyring
 * lacks a master key the database uses refuses to start, naming the key id; and with a database of
 * its own (DATABASE_URL not npm start's private cluster) an instance without a configured key
 * refuses to make one up.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../services/config/config';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { freePort } from '../services/devstack/ports';
import type { Outbox } from '../services/outbox/outbox';
import { defaultKeyringFile, loadKeyring } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';
import { capture } from './support/capture';
import { createTenant, startOutbox } from './support/fixtures';
import { createIsolatedDatabase } from './support/isolated-database';
import { until } from './support/until';
import { appArgs, appEnv } from '../services/build/app-build';

const MASTER_KEY = randomBytes(32).toString('base64');
const ATTEMPTS_LIMIT = 50; // DEFAULT_AUTH_RATE_LIMITS.attempts: what a real API process enforces

let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let prisma: PrismaClient;
let outbox: Outbox;
const children: ChildProcess[] = [];

beforeAll(async () => {
  [database, outbox] = await Promise.all([createIsolatedDatabase('multi'), startOutbox()]);
  prisma = createPrisma(database.url);
}, 120_000);
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await outbox?.close();
  await prisma?.$disconnect();
  await database?.drop();
});

const tmpDir = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `mynaflow-multi-${label}-`));

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  ready: () => boolean;
}

/** The API or the worker (compiled, as production runs it) as a process of its own, on the test's database. */
function spawnPart(entry: 'api' | 'worker', name: string, env: NodeJS.ProcessEnv): Proc {
  const inherited = { ...process.env };
  for (const k of ['MASTER_KEY', 'MASTER_KEY_PREVIOUS', 'MASTER_KEY_FILE', 'TRUST_PROXY', 'PORT', 'HOST']) delete inherited[k];
  const child = spawn(process.execPath, appArgs(entry), {
    env: appEnv(entry, {
      ...inherited,
      DATABASE_URL: database.url,
      // Never contacted: the API connects on first use, the worker's key check comes before.
      TEMPORAL_ADDRESS: '127.0.0.1:1',
      SMTP_URL: `smtp://127.0.0.1:${outbox.smtpPort}`,
      PUBLIC_URL: 'http://mynaflow.test',
      LOG_LEVEL: 'warn',
      ...env,
    }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(child);
  let ready = false;
  child.on('message', (m) => (ready ||= m === 'ready'));
  let out = '';
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (d: Buffer) => {
      out += d.toString();
      capture(`multi-${name}`, d.toString());
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited, ready: () => ready };
}

interface Api extends Proc {
  url: string;
  stop(): Promise<void>;
}

async function startApi(name: string, env: NodeJS.ProcessEnv): Promise<Api> {
  const port = await freePort();
  const proc = spawnPart('api', name, { HOST: '127.0.0.1', PORT: String(port), ...env });
  const url = `http://127.0.0.1:${port}`;
  let gone = false;
  void proc.exited.then(() => (gone = true));
  await until(async () => {
    if (gone) throw new Error(`api ${name} exited while starting:\n${proc.output()}`);
    // Its own 'ready', not just an answer on the port (another process may have taken it).
    return proc.ready() && (await fetch(`${url}/healthz/live`).catch(() => null))?.ok === true;
  }, `api ${name} to listen`, 60_000);
  return {
    ...proc,
    url,
    async stop() {
      proc.child.kill('SIGTERM');
      await proc.exited;
    },
  };
}

/** A start that must fail: its exit code and everything it printed. */
async function failedStart(entry: 'api' | 'worker', name: string, env: NodeJS.ProcessEnv) {
  const proc = spawnPart(entry, name, { HOST: '127.0.0.1', PORT: String(await freePort()), ...env });
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([proc.exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 60_000)))]);
  clearTimeout(timer);
  if (code === 'timeout') proc.child.kill('SIGKILL');
  return { code, output: proc.output() };
}

/**
 * A wrong password from one client address (named by X-Forwarded-For: the API trusts its loopback
 * peer), each for another address, so that what stops them is the per-client limit, not a lock.
 */
let guesses = 0;
const wrongLogin = (api: Api, client: string) =>
  fetch(`${api.url}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': client },
    body: JSON.stringify({ email: `nobody-${++guesses}@example.com`, password: 'wrong-password' }),
  });

it('the login limit is one limit across two API processes, and a restarted process keeps it', async () => {
  const [a, b] = await Promise.all([
    startApi('A', { MASTER_KEY, DATA_DIR: tmpDir('a') }),
    startApi('B', { MASTER_KEY, DATA_DIR: tmpDir('b') }),
  ]);
  const client = '203.0.113.77';
  // Alternating between the two: with a counter per process each would allow the whole limit.
  for (let i = 0; i < ATTEMPTS_LIMIT; i++) {
    const res = await wrongLogin(i % 2 ? b : a, client);
    expect([i, res.status]).toEqual([i, 401]);
  }
  for (const api of [a, b]) {
    const res = await wrongLogin(api, client);
    expect(res.status).toBe(429);
    expect(await res.json()).toMatchObject({ code: 'TOO_MANY_REQUESTS', title: expect.stringMatching(/しばらく待って/) });
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
  }
  // Another client is not affected.
  expect((await wrongLogin(b, '203.0.113.78')).status).toBe(401);

  // A restart does not hand the client a fresh budget.
  await a.stop();
  const again = await startApi('A2', { MASTER_KEY, DATA_DIR: tmpDir('a2') });
  const res = await wrongLogin(again, client);
  expect(res.status).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
  await Promise.all([again.stop(), b.stop()]);
}, 180_000);

describe('master keys across instances', () => {
  let sealedUnder: string;

  beforeAll(async () => {
    // A secret sealed by the instances above (MASTER_KEY).
    const tenantId = await createTenant(prisma, '複数台株式会社');
    const keyring = loadKeyring(loadConfig({ MASTER_KEY }));
    await createVault({ prisma, keyring }).seal({ tenantId, kind: 'totp', plaintext: Buffer.from('JBSWY3DPEHPK3PXP') });
    sealedUnder = keyring.activeId;
  });

  it('an instance that generated a key of its own refuses to start, naming the key id it lacks and what to do (API and worker)', async () => {
    // As npm start's children see it (DATABASE_URL recorded in DATA_DIR/database-url): a key may be
    // generated — but this one is not the key the database's secrets are under.
    const dataDir = tmpDir('own-key');
    fs.writeFileSync(path.join(dataDir, 'database-url'), database.url, { mode: 0o600 });
    for (const entry of ['api', 'worker'] as const) {
      const { code, output } = await failedStart(entry, `own-key-${path.basename(entry)}`, { DATA_DIR: dataDir });
      expect([code, output]).toEqual([1, expect.stringContaining(`sealed under master key ${sealedUnder} (1 secret)`)]);
      expect(output).toContain('configure the same MASTER_KEY');
      expect(output).toContain(`keyring file ${defaultKeyringFile({ dataDir })}`);
      // Names ids, never key material.
      const generated = JSON.parse(fs.readFileSync(defaultKeyringFile({ dataDir }), 'utf8')) as { keys: Record<string, string> };
      for (const material of [MASTER_KEY, ...Object.values(generated.keys)]) expect(output).not.toContain(material);
    }
  }, 120_000);

  it('an instance holding that key among others (a rotation under way) starts', async () => {
    const newKey = randomBytes(32);
    const api = await startApi('rotating', { MASTER_KEY: newKey.toString('base64'), MASTER_KEY_PREVIOUS: MASTER_KEY, DATA_DIR: tmpDir('rotating') });
    expect((await wrongLogin(api, '203.0.113.90')).status).toBe(401);
    await api.stop();
  }, 60_000);

  it('with a database of its own and no MASTER_KEY or MASTER_KEY_FILE, an instance refuses to make up a key (API and worker)', async () => {
    const dataDir = tmpDir('external');
    for (const entry of ['api', 'worker'] as const) {
      const { code, output } = await failedStart(entry, `external-${path.basename(entry)}`, { DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(output).toContain("no master key is configured, and DATABASE_URL is not npm start's private database");
      expect(output).toMatch(/Set MASTER_KEY .* or MASTER_KEY_FILE/);
    }
    // Nothing was generated.
    expect(fs.existsSync(defaultKeyringFile({ dataDir }))).toBe(false);

    // A keyring an earlier version generated here is pointed out, not silently used.
    const earlier = tmpDir('earlier');
    loadKeyring(loadConfig({ DATA_DIR: earlier }));
    const { code, output } = await failedStart('api', 'external-earlier', { DATA_DIR: earlier });
    expect(code).toBe(1);
    expect(output).toContain(`set MASTER_KEY_FILE=${defaultKeyringFile({ dataDir: earlier })}`);
  }, 120_000);
});
