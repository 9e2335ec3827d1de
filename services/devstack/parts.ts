/**
 * Starting the stack's processes as supervised parts (services/devstack/supervisor.ts): their output
 * prefixed with their name, a readiness wait that gives up when the process dies, and the Node parts
 * (outbox, worker, API) run compiled with the parent-death signal — shared by `npm start`
 * (scripts/start.ts) and `npm run cluster` (scripts/cluster.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { appArgs, appEnv, type AppEntry } from '../build/app-build';
import { withParentDeathSignal } from './parent-death';
import type { PartSpec } from './supervisor';

const ROOT = path.resolve(__dirname, '..', '..');

export class StartError extends Error {}

/** Calls `onLine` with each whole line a child writes to stdout or stderr. */
export function eachLine(child: ChildProcess, onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop() ?? '';
      lines.forEach(onLine);
    });
  }
}

/** Streams a child's output line by line with a name prefix (nothing while `quiet()` holds). */
export function prefixOutput(name: string, child: ChildProcess, quiet: () => boolean = () => false, width = 11): void {
  const label = `[${name}]`.padEnd(width);
  eachLine(child, (line) => {
    if (!quiet() && line.trim()) process.stdout.write(`${label} ${line}\n`);
  });
}

/** Waits for a just spawned part to serve; kills it when it does not. */
export async function startChild(child: ChildProcess, ready: (child: ChildProcess) => Promise<void>): Promise<ChildProcess> {
  try {
    await ready(child);
    return child;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, dead?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (dead && (dead.exitCode !== null || dead.signalCode !== null)) throw new StartError(`${what} exited while starting`);
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new StartError(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s`);
}

export const tcpOpen = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });

/** A process of the stack: its own process group (a Ctrl-C reaches only the supervisor), dies with us. */
export function spawnPart(name: string, cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; ipc?: boolean; quiet?: () => boolean; deathSignal?: NodeJS.Signals }): ChildProcess {
  const [c, a] = withParentDeathSignal(cmd, args, opts.deathSignal ?? 'SIGTERM');
  const child = spawn(c, a, { cwd: ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe', ...(opts.ipc ? (['ipc'] as const) : [])], detached: true });
  prefixOutput(name, child, opts.quiet);
  return child;
}

/** A Node part (outbox, worker, API), compiled; it gets SIGTERM, and stops as on a deploy, when we die. */
export function nodePart(name: string, entry: AppEntry, env: NodeJS.ProcessEnv, ready: (child: ChildProcess) => Promise<void>, ports?: number[]): PartSpec {
  return {
    name,
    ports,
    // The IPC channel carries the worker's "ready".
    start: () => startChild(spawnPart(name, process.execPath, appArgs(entry), { env: appEnv(entry, env), ipc: true }), ready),
  };
}

/** Resolves once a worker started by nodePart says it is ready. */
export const workerReady = (what: string) => (child: ChildProcess) => {
  let ready = false;
  child.on('message', (m) => (ready ||= m === 'ready'));
  return waitFor(what, async () => ready, 120_000, child);
};
