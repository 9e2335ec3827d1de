/**
 * `npm start` (scripts/start.ts) keeping its stack alive, for real: PostgreSQL, the Temporal dev
 * server, the outbox, the worker and the API as child processes on a data folder and ports of this
 * file's own. The worker SIGKILLed is started again (a new PID, a line saying so) while the API
 * answers throughout; a second start on the same data names the running one; the supervisor
 * SIGKILLed takes every part with it within seconds; parts a killed supervisor left behind
 * (simulated: a process recorded as the API) are named with the command that stops them; and the
 * next start comes up on the same ports and data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../services/devstack/ports';
import { describeProcess, isAlive, readStackState, stackFile, writeStackState, type StackState } from '../services/devstack/stack-state';
import { runStart, type Started } from './support/npm-start';
import { until } from './support/until';


const started: Started[] = [];
const others: ChildProcess[] = [];

function start(env: NodeJS.ProcessEnv): Started {
  const s = runStart(env, 'npm-start-supervisor');
  started.push(s);
  return s;
}

async function waitForOutput(s: Started, pattern: RegExp, what: string, timeoutMs: number): Promise<RegExpExecArray> {
  try {
    await until(async () => pattern.test(s.output()), what, timeoutMs, 200);
  } catch (err) {
    throw new Error(`${(err as Error).message}; output:\n${s.output()}`, { cause: err });
  }
  return pattern.exec(s.output())!;
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-supervisor-'));
let ports: Record<string, number>;
const env = () => ({ DATA_DIR: dataDir, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) });
const api = () => `http://127.0.0.1:${ports.PORT}`;
const state = (): StackState => {
  const s = readStackState(dataDir);
  if (!s) throw new Error(`no ${stackFile(dataDir)}`);
  return s;
};
const pidOf = (name: string) => state().parts.find((p) => p.name === name)?.pid;

beforeAll(async () => {
  ports = {
    PORT: await freePort(),
    TEMPORAL_PORT: await freePort(),
    TEMPORAL_UI_PORT: await freePort(),
    SMTP_PORT: await freePort(),
    OUTBOX_PORT: await freePort(),
  };
});

afterAll(async () => {
  for (const s of started) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) continue;
    process.kill(-s.child.pid!, 'SIGINT');
    await Promise.race([s.exited, new Promise((r) => setTimeout(r, 30_000))]);
  }
  for (const c of others) c.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

let first: Started;

it('comes up and records the PID of every part in DATA_DIR/stack.json', async () => {
  const t0 = Date.now();
  first = start(env());
  await waitForOutput(first, /mynaflow is running/, 'the "running" banner', 180_000);
  process.stdout.write(`npm start up in ${Date.now() - t0} ms (first start: new cluster)\n`);
  const s = state();
  expect(s.supervisor.pid).toBe(first.child.pid);
  expect(new Set(s.parts.map((p) => p.name))).toEqual(new Set(['postgres', 'temporal', 'outbox', 'worker', 'api']));
  expect(s.parts.filter((p) => !isAlive(p))).toEqual([]);
}, 200_000);

it('a worker killed with SIGKILL is started again, said in one line, while the API answers throughout', async () => {
  const old = pidOf('worker')!;
  const rest = () => state().parts.filter((p) => p.name !== 'worker').map((p) => `${p.name} ${p.pid}`);
  const restBefore = rest();
  const statuses: (number | string)[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      statuses.push(await fetch(`${api()}/healthz`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, (err: Error) => err.message));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();

  const killedAt = Date.now();
  process.kill(old, 'SIGKILL');
  const said = await waitForOutput(first, new RegExp(`worker \\(pid ${old}\\) stopped unexpectedly \\(signal SIGKILL\\) after .*; restarting it in 1 s`), 'the restart notice', 10_000);
  expect(said[0]).toBeTruthy();
  const back = await waitForOutput(first, /worker is running again \(pid (\d+)/, 'the worker to be back', 120_000);
  const backMs = Date.now() - killedAt;
  const fresh = Number(back[1]);
  expect(fresh).not.toBe(old);
  expect(pidOf('worker')).toBe(fresh);
  expect(isAlive({ pid: fresh })).toBe(true);
  // A little more of the API with the new worker, then stop polling.
  await new Promise((r) => setTimeout(r, 1000));
  polling = false;
  await poller;
  process.stdout.write(`worker SIGKILLed: back in ${backMs} ms (1 s back-off included); /healthz polled ${statuses.length} times meanwhile\n`);
  expect(statuses.length).toBeGreaterThan(5);
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  // The rest kept running: the other parts have their PIDs of before.
  expect(rest()).toEqual(restBefore);
  expect(first.output()).not.toContain('stopping everything');
}, 180_000);

it('a second start on the same data folder names the running one instead of a taken port', async () => {
  const second = start(env());
  expect(await second.exited).toBe(1);
  expect(second.output()).toContain(`mynaflow is already running on ${dataDir} (npm start, pid ${first.child.pid})`);
  expect(second.output()).toContain(`kill ${first.child.pid}`);
  expect(second.output()).not.toContain('already in use');
  // It left the running stack's record alone.
  expect(state().supervisor.pid).toBe(first.child.pid);
}, 60_000);

it('the supervisor killed with SIGKILL takes every part with it within seconds', async () => {
  const recorded = state().parts;
  expect(recorded.length).toBeGreaterThanOrEqual(5);
  const killedAt = Date.now();
  process.kill(first.child.pid!, 'SIGKILL');
  // Not the group: only the supervisor dies; the parts must notice by themselves.
  const survivors = () => recorded.filter((p) => isAlive(p));
  await until(async () => survivors().length === 0, 'every part to end', 30_000, 100).catch(() => {
    throw new Error(`still running: ${survivors().map((p) => `${p.name} ${p.pid}`).join(', ')}`);
  });
  const goneMs = Date.now() - killedAt;
  // Also as the plain signal-0 probe sees it: gone, or a zombie only waiting for its reaper.
  for (const p of recorded) {
    let probe = 'gone';
    try {
      process.kill(p.pid, 0);
      probe = fs.readFileSync(`/proc/${p.pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z') ? 'gone' : 'alive';
    } catch {
      // ESRCH, or /proc gone between the two reads
    }
    expect([p.name, p.pid, probe]).toEqual([p.name, p.pid, 'gone']);
  }
  process.stdout.write(`supervisor SIGKILLed: all ${recorded.length} part processes gone in ${goneMs} ms\n`);
  expect(goneMs).toBeLessThan(15_000);
}, 60_000);

it('parts a killed supervisor left running are named, with the command that stops them', async () => {
  // Simulated: setpriv makes real leftovers rare. A stand-in process recorded as the API.
  const standIn = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  others.push(standIn);
  await until(async () => isAlive({ pid: standIn.pid! }), 'the stand-in to run', 5000);
  const s = state();
  writeStackState(dataDir, { supervisor: s.supervisor, parts: [...s.parts, describeProcess('api', standIn.pid!, [ports.PORT!])] });
  const blocked = start(env());
  expect(await blocked.exited).toBe(1);
  expect(blocked.output()).toMatch(new RegExp(`killed and left these running: api \\(pid ${standIn.pid}, port ${ports.PORT}\\)\\.`));
  expect(blocked.output()).toMatch(new RegExp(`Stop them with: kill ${standIn.pid}\\b`));
  standIn.kill('SIGKILL');
  await until(async () => !isAlive({ pid: standIn.pid! }), 'the stand-in to end', 5000);
}, 60_000);

it('the next start comes up on the same ports and data; Ctrl-C stops it and removes the record', async () => {
  const t0 = Date.now();
  const next = start(env());
  await waitForOutput(next, /mynaflow is running/, 'the "running" banner', 180_000);
  process.stdout.write(`npm start up again in ${Date.now() - t0} ms\n`);
  expect(next.output()).toContain('database schema is up to date');
  expect(next.output()).not.toContain('First start');
  expect((await fetch(`${api()}/healthz`)).status).toBe(200);
  expect(state().supervisor.pid).toBe(next.child.pid);
  // Each part in a process group of its own: the terminal's Ctrl-C reaches the supervisor only, which
  // stops them in order (API and worker drain while PostgreSQL and Temporal still serve them).
  const groupOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
  const parts = state().parts;
  expect([...new Set(parts.map((p) => p.name))].sort()).toEqual(['api', 'outbox', 'postgres', 'temporal', 'worker']);
  expect(parts.filter((p) => groupOf(p.pid) === next.child.pid).map((p) => p.name)).toEqual([]);

  process.kill(-next.child.pid!, 'SIGINT');
  expect(await next.exited).toBe(0);
  expect(fs.existsSync(stackFile(dataDir))).toBe(false);
  expect(next.output()).not.toContain('stopped unexpectedly');
}, 240_000);
