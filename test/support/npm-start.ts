/**
 * scripts/start.ts (what `npm start` runs after setup) as a child process in its own process group,
 * like a terminal job: Ctrl-C is SIGINT to that group (the parts run in groups of their own). The
 * outer environment's service URLs are dropped so it brings up its embedded stack; its output goes
 * through the leak scan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { capture } from './capture';

const ROOT = path.resolve(__dirname, '..', '..');

export interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

export function runStart(env: NodeJS.ProcessEnv, label = 'npm-start'): Started {
  let out = '';
  const clean = { ...process.env };
  for (const k of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL']) delete clean[k];
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'start.ts')], {
    cwd: ROOT,
    env: { ...clean, LOG_LEVEL: 'warn', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const collect = (d: Buffer) => {
    out += d.toString();
    capture(label, d.toString());
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}
