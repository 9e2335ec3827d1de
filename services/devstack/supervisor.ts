/**
 * Keeps `npm start`'s parts running. While the stack comes up, a part that exits is fatal (the start
 * stops with a message: most likely a setting is wrong). Once it is up, a part that exits
 * unexpectedly is started again after a back-off (1, 2, 4 … 30 s; back to 1 s once it had run for a
 * minute) while the rest keeps running. Stopping stops the parts in the reverse order of their start.
 */
import type { ChildProcess } from 'node:child_process';
import { describeProcess, type StackProcess } from './stack-state';

export interface PartSpec {
  name: string;
  /** Starts the process; resolves once it serves, rejects (leaving nothing running) if it cannot. */
  start(): Promise<ChildProcess>;
  /** Stops it; by default SIGTERM, then SIGKILL after the supervisor's stop timeout. */
  stop?(child: ChildProcess): Promise<void>;
  /** Processes of the part besides the child itself (postgres behind runuser). */
  morePids?(child: ChildProcess): number[];
  ports?: number[];
}

export const FIRST_RESTART_DELAY_MS = 1000;
export const MAX_RESTART_DELAY_MS = 30_000;
/** A part that ran this long before it exited starts again after the first delay. */
export const STABLE_AFTER_MS = 60_000;

export const restartDelayMs = (failures: number) => Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** failures);

interface Part {
  spec: PartSpec;
  child?: ChildProcess;
  since: number;
  /** Exits in a row without a stable run in between. */
  failures: number;
  timer?: NodeJS.Timeout;
}

export interface SupervisorOptions {
  log(message: string): void;
  /** A part stopped unexpectedly or could not be restarted. */
  warn(message: string): void;
  /** A part exited while the stack was still coming up: stop everything. */
  onFatal(message: string): void;
  /** The set of running processes changed (to record them). */
  onChange(): void;
  /** How long a part gets to stop after SIGTERM before it is killed. */
  stopTimeoutMs: number;
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

const duration = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 90_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`);

export class Supervisor {
  private readonly parts: Part[] = [];
  stopping = false;
  /** Set once the stack is up: from then on a part that exits is restarted. */
  healing = false;

  constructor(private readonly opts: SupervisorOptions) {}

  /** Starts a part and keeps it running; rejects if it does not come up. */
  async add(spec: PartSpec): Promise<ChildProcess> {
    const part: Part = { spec, since: Date.now(), failures: 0 };
    this.parts.push(part);
    const child = await spec.start();
    this.attach(part, child);
    return child;
  }

  /** The running processes, for the stack file. */
  processes(): StackProcess[] {
    return this.parts.flatMap(({ spec, child }) => {
      if (!child?.pid || exited(child)) return [];
      const pids = [child.pid, ...(spec.morePids?.(child) ?? [])];
      return pids.map((pid) => describeProcess(spec.name, pid, spec.ports));
    });
  }

  /** Stops every part, the last started first; no restart happens after this. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const part of this.parts) clearTimeout(part.timer);
    for (const { spec, child } of [...this.parts].reverse()) {
      if (!child || exited(child)) continue;
      await this.stopChild(spec, child).catch((err: Error) => this.opts.warn(`stopping ${spec.name}: ${err.message}`));
    }
  }

  private async stopChild(spec: PartSpec, child: ChildProcess): Promise<void> {
    if (spec.stop) return spec.stop(child);
    if (exited(child)) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.opts.stopTimeoutMs);
    await done;
    clearTimeout(timer);
  }

  private attach(part: Part, child: ChildProcess): void {
    part.child = child;
    part.since = Date.now();
    if (exited(child)) this.exited(part, child, child.exitCode, child.signalCode);
    else child.once('exit', (code, signal) => this.exited(part, child, code, signal));
    this.opts.onChange();
  }

  private exited(part: Part, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || part.child !== child) return;
    this.opts.onChange();
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!this.healing) return this.opts.onFatal(`${part.spec.name} stopped unexpectedly (${how}); stopping everything`);
    const ranMs = Date.now() - part.since;
    if (ranMs >= STABLE_AFTER_MS) part.failures = 0;
    this.restartLater(part, `${part.spec.name} (pid ${child.pid}) stopped unexpectedly (${how}) after ${duration(ranMs)}`);
  }

  private restartLater(part: Part, why: string): void {
    const delay = restartDelayMs(part.failures++);
    const at = new Date(Date.now() + delay).toTimeString().slice(0, 8);
    this.opts.warn(`${why}; restarting it in ${delay / 1000} s (at ${at}), the rest keeps running`);
    part.timer = setTimeout(() => void this.restart(part), delay);
  }

  private async restart(part: Part): Promise<void> {
    part.timer = undefined;
    if (this.stopping) return;
    const started = Date.now();
    let child: ChildProcess;
    try {
      child = await part.spec.start();
    } catch (err) {
      if (!this.stopping) this.restartLater(part, `${part.spec.name} did not come back: ${(err as Error).message.split('\n')[0]}`);
      return;
    }
    if (this.stopping) {
      await this.stopChild(part.spec, child).catch(() => undefined);
      return;
    }
    this.attach(part, child);
    this.opts.log(`${part.spec.name} is running again (pid ${child.pid}, up in ${duration(Date.now() - started)})`);
  }
}
