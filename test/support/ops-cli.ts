/**
 * Runs `npm run ops -- …` the way package.json defines it (tsx on scripts/ops.ts, a child process),
 * with only the environment an operator would set; its output goes to the leak scan's capture.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { capture } from './capture';

const run = promisify(execFile);

export interface OpsOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runOps(env: NodeJS.ProcessEnv, ...args: string[]): Promise<OpsOutcome> {
  const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn' };
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/ops.ts', ...args], { env: { ...base, ...env }, timeout: 60_000 });
    capture('ops-cli', stdout + stderr);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    capture('ops-cli', `${e.stdout ?? ''}${e.stderr ?? ''}`);
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
