/**
 * The benchmarks' own throwaway local stack, like the tests' and `npm start`'s: a private PostgreSQL
 * cluster in a temporary folder, the Temporal dev server from the project venv, and a list of
 * clean-ups that runs in reverse order at the end, also after a failure or Ctrl-C.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import inspector from 'node:inspector';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { clusterInfo, createDatabase, ensureCluster, startPostgres, stopPostgres, type ClusterInfo } from '../../services/devstack/postgres';
import { freePort } from '../../services/devstack/ports';

export const ROOT = path.resolve(__dirname, '..', '..');
const TEMPORAL_CLI = path.join(ROOT, '.tools', 'venv', 'bin', 'temporal');
const run = promisify(execFile);

const T0 = Date.now();
/** A progress line, with the seconds since the bench started. */
export const say = (msg: string) => console.log(`[bench ${((Date.now() - T0) / 1000).toFixed(0).padStart(4)} s] ${msg}`);

/** Clean-ups, run last-in first-out; each runs once, whatever the others do. */
export class Cleanup {
  private readonly steps: { what: string; fn: () => Promise<void> | void }[] = [];

  add(what: string, fn: () => Promise<void> | void): void {
    this.steps.push({ what, fn });
  }

  private running?: Promise<void>;

  /** Runs the clean-ups; a second call (Ctrl-C during the first) waits for the same run. */
  run(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    while (this.steps.length) {
      const step = this.steps.pop()!;
      try {
        const t = Date.now();
        await step.fn();
        if (Date.now() - t > 2000) say(`clean-up: ${step.what} took ${secs(Date.now() - t)}`);
      } catch (err) {
        console.error(`[bench] clean-up "${step.what}" failed: ${(err as Error).message}`);
      }
    }
  }
}

/** Stops a child with SIGTERM (SIGKILL after a grace time) and waits for it to exit. */
export async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export interface Stack {
  tmpDir: string;
  temporalAddress: string;
  namespace: string;
  /** A fresh database on the private cluster with every migration applied. */
  migratedDatabase(name: string): Promise<string>;
}

export interface StackOptions {
  /**
   * Where the Temporal dev server keeps its state: in memory (as the tests' createLocal does), or in
   * a SQLite file (as `npm start` does; every write waits for the disk).
   */
  temporalDb: 'memory' | 'file';
}

export async function startStack(cleanup: Cleanup, opts: StackOptions): Promise<Stack> {
  if (!fs.existsSync(TEMPORAL_CLI)) throw new Error(`the Temporal CLI is missing (${TEMPORAL_CLI}): run bash scripts/setup.sh`);
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-bench-'));
  cleanup.add('remove the temporary folder', () => fs.rmSync(tmpDir, { recursive: true, force: true }));

  const [pg, temporalAddress] = await Promise.all([startDatabaseCluster(tmpDir, cleanup), startTemporal(tmpDir, opts.temporalDb, cleanup)]);
  return {
    tmpDir,
    temporalAddress,
    namespace: 'default',
    async migratedDatabase(name) {
      await createDatabase(pg, name);
      const url = pg.url(name);
      await run(path.join(ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], { cwd: ROOT, env: { ...process.env, DATABASE_URL: url } });
      return url;
    },
  };
}

async function startDatabaseCluster(tmpDir: string, cleanup: Cleanup): Promise<ClusterInfo> {
  const dataDir = path.join(tmpDir, 'pg');
  const { password } = ensureCluster(dataDir);
  const info = clusterInfo(dataDir, await freePort(), password);
  const child = await startPostgres(info, { logFile: path.join(tmpDir, 'postgres.log') });
  cleanup.add('stop PostgreSQL', () => stopPostgres(child));
  say(`PostgreSQL: private cluster on 127.0.0.1:${info.port}`);
  return info;
}

const SHOWN_SERVER_ERRORS = 3;
let temporalErrors = 0;
/** Error lines the Temporal dev server printed so far. */
export const temporalServerErrors = () => temporalErrors;

/** The dev server as `npm start` runs it, without the Web UI; only errors printed. */
async function startTemporal(tmpDir: string, db: StackOptions['temporalDb'], cleanup: Cleanup): Promise<string> {
  const [port, httpPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(
    TEMPORAL_CLI,
    [
      'server', 'start-dev', '--headless',
      ...(db === 'file' ? ['--db-filename', path.join(tmpDir, 'temporal.db')] : []),
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--http-port', String(httpPort),
      '--metrics-port', String(metricsPort),
      '--log-level', 'error',
      // BENCH_TEMPORAL_DYNAMIC_CONFIG="key=value …": server settings to try against the default.
      ...(process.env.BENCH_TEMPORAL_DYNAMIC_CONFIG ?? '').split(' ').filter(Boolean).flatMap((kv) => ['--dynamic-config-value', kv]),
    ],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stopping = false;
  cleanup.add('stop the Temporal dev server', () => ((stopping = true), stopChild(child)));
  // An overloaded server logs an error per slow store operation: show a few, count the rest.
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (stopping) return;
    for (const line of chunk.split('\n')) {
      if (!line.trim()) continue;
      if (++temporalErrors <= SHOWN_SERVER_ERRORS) process.stderr.write(`[temporal] ${line.slice(0, 400)}\n`);
      if (temporalErrors === SHOWN_SERVER_ERRORS) process.stderr.write('[temporal] (further server errors are only counted)\n');
    }
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the Temporal dev server exited while starting');
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
      } finally {
        await connection.close();
      }
      say(`Temporal: dev server on ${address} (SQLite ${db === 'file' ? 'file' : 'in memory'}, headless)`);
      return address;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the Temporal dev server did not become ready: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight; returns failures. */
export async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<{ errors: number; firstError?: Error }> {
  let next = 0;
  let errors = 0;
  let firstError: Error | undefined;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      try {
        await task(i);
      } catch (err) {
        errors++;
        firstError ??= err as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return { errors, ...(firstError ? { firstError } : {}) };
}

/** Latency percentiles of a set of samples in milliseconds. */
export function percentiles(samples: number[]): { p50: number; p95: number; max: number } {
  if (!samples.length) return { p50: NaN, p95: NaN, max: NaN };
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1]! };
}

export const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const rate = (n: number, ms: number) => (n / (ms / 1000)).toFixed(1);

/** The machine the figures were measured on. */
export function machine(): string {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' ');
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB, ${os.type()} ${os.release()}, Node ${process.version}; load average ${load}`;
}

/**
 * Peak live heap growth while `fn` runs: every 100 ms a full GC, then the heap in use (without the
 * GC, the figure would be uncollected garbage, which V8 lets grow as it likes).
 */
export async function heapPeak<T>(fn: () => Promise<T>): Promise<{ result: T; peak: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run bench does)');
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed - base);
  }, 100);
  try {
    const result = await fn();
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

/** Runs `fn` under the V8 CPU profiler and writes the profile (a .cpuprofile, for DevTools) to `file`. */
/** BENCH_CPU_PROFILE=name.cpuprofile: the file for one part's profile, name-<part>.cpuprofile (none when unset). */
export const profileFileFor = (part: string): string | undefined =>
  process.env.BENCH_CPU_PROFILE ? path.resolve(process.env.BENCH_CPU_PROFILE.replace(/(\.cpuprofile)?$/, `-${part}.cpuprofile`)) : undefined;

export async function cpuProfile<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = (await post('Profiler.stop')) as { profile: object };
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    say(`CPU profile written to ${file}`);
  }
}
