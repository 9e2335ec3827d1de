/**
 * One supervised stack's life (`npm start`, `npm run cluster`): the data folder claimed (a stack
 * still running on it is named), the supervisor made and its processes recorded in stack.json as
 * they change, Ctrl-C and SIGTERM stopping the parts in reverse order, and a failed start reported
 * and everything stopped.
 */
import fs from 'node:fs';
import { ConfigError } from '../config/config';
import { StartError } from './parts';
import { clearStackState, describeProcess, staleStackMessage, writeStackState } from './stack-state';
import { Supervisor } from './supervisor';

export class StackLifecycle {
  supervisor: Supervisor | undefined;
  stopping = false;
  private dataDir: string | undefined;

  /** `name` is recorded as the supervisor's (e.g. "npm start"); `prefix` heads every line. */
  constructor(private readonly name: string, private readonly prefix: string) {}

  readonly log = (message: string) => void process.stdout.write(`[${this.prefix}] ${message}\n`);
  readonly warn = (message: string) => console.error(`[${this.prefix}] ${message}`);

  /** Claims the data folder and makes the supervisor; throws StartError when a stack runs on it. */
  begin(dataDir: string, stopTimeoutMs: number): Supervisor {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    process.on('SIGINT', () => void this.shutdown(0));
    process.on('SIGTERM', () => void this.shutdown(0));
    // Before the ports: a stack still running on this data folder is named, not "port in use".
    const stale = staleStackMessage(dataDir);
    if (stale) throw new StartError(stale);
    this.supervisor = new Supervisor({
      log: this.log,
      warn: this.warn,
      onFatal: (message) => {
        this.warn(message);
        void this.shutdown(1);
      },
      onChange: () => this.record(),
      stopTimeoutMs,
    });
    this.dataDir = dataDir;
    this.record();
    return this.supervisor;
  }

  private record(): void {
    if (this.dataDir && this.supervisor) writeStackState(this.dataDir, { supervisor: describeProcess(this.name, process.pid), parts: this.supervisor.processes() });
  }

  /** Stops the parts in the reverse of their start (the apps drain while their services still serve), then exits. */
  async shutdown(code: number): Promise<never> {
    if (this.stopping) return new Promise<never>(() => undefined);
    this.stopping = true;
    if (this.supervisor) {
      this.log('stopping…');
      await this.supervisor.stopAll();
      this.log('stopped');
    }
    if (this.dataDir) clearStackState(this.dataDir);
    process.exit(code);
  }

  /** Runs the start; a failure is told (a setting's or the start's own message, else the stack) and everything stops. */
  run(start: () => Promise<void>, what: string): void {
    start().catch(async (err) => {
      const message = err instanceof ConfigError || err instanceof StartError ? err.message : `unexpected error: ${(err as Error).stack}`;
      console.error(`[${this.prefix}] cannot start ${what}:\n${message.replace(/^\s*/gm, '        ')}`);
      await this.shutdown(1);
    });
  }
}
