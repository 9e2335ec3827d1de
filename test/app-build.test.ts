/**
 * `npm run build`'s compiled entries (dist/app, built for this run by the global set-up) run on plain
 * Node, without tsx, and find the project's files from there. The API and the worker compiled are
 * exercised as processes by the crash, shutdown, multi-instance and SIGKILL tests.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { APP_ENTRIES, appEntryFile, type AppEntry } from '../services/build/app-build';

const run = promisify(execFile);
const plainNode = { PATH: process.env.PATH, HOME: process.env.HOME };

async function runEntry(entry: AppEntry, args: string[] = []) {
  try {
    const { stdout, stderr } = await run(process.execPath, [appEntryFile(entry), ...args], { env: plainNode, timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

it('every production entry is compiled to one JavaScript file that loads no TypeScript at run time', () => {
  for (const entry of Object.keys(APP_ENTRIES) as AppEntry[]) {
    const code = fs.readFileSync(appEntryFile(entry), 'utf8');
    // The project's modules are inside; only packages are required (none of them tsx).
    expect([entry, /require\("(\.\.?\/|tsx)/.test(code)]).toEqual([entry, false]);
  }
});

it('the compiled migration explains a missing database URL, as the source does', async () => {
  const { code, output } = await runEntry('migrate');
  expect(code).toBe(2);
  expect(output).toContain("[migrate] DATABASE_URL: required (the database owner's URL)");
});

it("the compiled operators' CLI, given no command, prints its usage and fails", async () => {
  const { code, output } = await runEntry('ops');
  expect(output).toContain('usage: npm run ops -- <command>');
  expect(output).toContain('verify-history');
  expect(code).toBe(2);
});
