/**
 * The processes of a running `npm start`, kept in DATA_DIR/stack.json: rewritten whenever a part
 * starts or stops, removed on a clean stop. A start that finds any of them still alive (another
 * `npm start` on the same data, or parts a killed one left behind) names them and how to stop them,
 * instead of failing later on a taken port or a locked database cluster.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface StackProcess {
  name: string;
  pid: number;
  /** The process' start time (Linux /proc): a PID the system has since reused is not taken for it. */
  started?: string;
  ports?: number[];
}

export interface StackState {
  supervisor: StackProcess;
  parts: StackProcess[];
}

export const stackFile = (dataDir: string) => path.join(dataDir, 'stack.json');

/** State and start time from /proc/<pid>/stat; undefined where there is no such entry. */
function procStat(pid: number): { state: string; started: string } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (2nd field) may hold spaces and parentheses: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, started: fields[19]! };
  } catch {
    return undefined;
  }
}

export function describeProcess(name: string, pid: number, ports?: number[]): StackProcess {
  return { name, pid, started: procStat(pid)?.started, ...(ports?.length ? { ports } : {}) };
}

/** Whether the process still runs (a zombie waiting to be reaped does not count). */
export function isAlive(p: Pick<StackProcess, 'pid' | 'started'>): boolean {
  const stat = procStat(p.pid);
  if (stat) return !['Z', 'X'].includes(stat.state) && (p.started === undefined || p.started === stat.started);
  if (fs.existsSync('/proc/self/stat')) return false;
  try {
    process.kill(p.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function readStackState(dataDir: string): StackState | null {
  try {
    return JSON.parse(fs.readFileSync(stackFile(dataDir), 'utf8')) as StackState;
  } catch {
    return null;
  }
}

export function writeStackState(dataDir: string, state: StackState): void {
  // Written aside and renamed: a start reading it never sees half a file.
  const tmp = `${stackFile(dataDir)}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, stackFile(dataDir));
}

export function clearStackState(dataDir: string): void {
  fs.rmSync(stackFile(dataDir), { force: true });
}

/** A postgres serving this data folder's cluster, from the cluster's own lock file. */
function clusterPostmaster(dataDir: string): StackProcess | null {
  try {
    const [pid, , , port] = fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n');
    const p = { name: 'postgres', pid: Number(pid), ports: port ? [Number(port)] : undefined };
    if (!(p.pid > 0) || !isAlive(p)) return null;
    // The file outlives a killed postgres: its PID may since belong to another process.
    const cmdline = fs.existsSync(`/proc/${p.pid}/cmdline`) ? fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8') : null;
    return cmdline === null || cmdline.includes(path.resolve(dataDir, 'pg')) ? p : null;
  } catch {
    return null;
  }
}

const shown = (p: StackProcess) => `${p.name} (pid ${p.pid}${p.ports?.length ? `, port${p.ports.length > 1 ? 's' : ''} ${p.ports.join(', ')}` : ''})`;

/**
 * Why this data folder cannot be started now: what an earlier stack on it still runs, and the
 * command that stops it. Null when nothing does.
 */
export function staleStackMessage(dataDir: string): string | null {
  const state = readStackState(dataDir);
  if (state && isAlive(state.supervisor)) {
    return (
      `mynaflow is already running on ${dataDir} (npm start, pid ${state.supervisor.pid}).\n` +
      `Stop it with Ctrl-C in its terminal, or: kill ${state.supervisor.pid}`
    );
  }
  const left = (state?.parts ?? []).filter(isAlive);
  const postmaster = clusterPostmaster(dataDir);
  if (postmaster && !left.some((p) => p.pid === postmaster.pid)) left.push(postmaster);
  if (!left.length) return null;
  return (
    `an earlier npm start on ${dataDir} was killed and left these running: ${left.map(shown).join(', ')}.\n` +
    `Stop them with: kill ${left.map((p) => p.pid).join(' ')}   (then start again)`
  );
}
