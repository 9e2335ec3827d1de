/**
 * `npm run bench` still runs end to end: a tiny lifecycle bench (20 registrants) on its own
 * throwaway stack must print its figures, receive every invitation once and clean up after itself.
 * The figures themselves are not checked here (see README, Benchmarks).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { capture } from './support/capture';
import { APP_LAUNCH } from '../services/build/app-build';

const ROOT = path.resolve(__dirname, '..');

/** Runs `npm run bench`'s entry with these arguments; its exit code and everything it printed (also captured as `name`). */
async function runBench(name: string, nodeFlags: string[], args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', 'scripts/bench/index.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  capture(name, out);
  return { code, out };
}

const benchTempDirs = () => new Set(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith('mynaflow-bench-')));

it('runs the lifecycle bench with --count 20 and passes its checks', async () => {
  const before = benchTempDirs();
  const { code, out } = await runBench('bench-smoke', [], ['--count', '20', '--concurrency', '8', '--only', 'lifecycle']);

  expect({ code, out }).toMatchObject({ code: 0 });
  expect(out).toMatch(/no-op starts\s+20 in /);
  expect(out).toMatch(/registrant creates\s+20 in /);
  expect(out).toMatch(/invitation mails\s+20 received, 20 distinct recipients, 0 recipients with more than one/);
  expect(out).toMatch(/20\s+sleeping\s+RSS \d+ MiB/);
  // The worker measured is launched as the product launches it.
  expect(out).toContain(`node flags: ${APP_LAUNCH.worker.nodeFlags.join(' ')}; MALLOC_ARENA_MAX=${APP_LAUNCH.worker.env.MALLOC_ARENA_MAX}`);
  // The bulk paths add 20 people each, every one mailed once.
  expect(out).toMatch(/quick add\s+20 in [\d.]+ s = [\d.]+\/s, \d+ left queued for the reconciler; ratio to no-op [\d.]+/);
  expect(out).toMatch(/CSV import\s+20 in [\d.]+ s = [\d.]+\/s, \d+ left queued for the reconciler; ratio to no-op [\d.]+/);
  expect(out).toContain('PASS  60 mails (20 from single creates), none twice');
  // 10 × the count asleep at the end: 140 more people, not invited, started as the product starts them.
  expect(out).toMatch(/asleep 200\s+140 more started in [\d.]+ s \([\d.]+\/s\); 200 lifecycle workflows running; worker RSS \d+ MiB/);
  // No check failed; the goals are printed with their verdict (at 20 people they say little).
  expect(out).not.toMatch(/^FAIL {2}(?!goal: )/m);
  expect(out).toMatch(/^(PASS|FAIL) {2}goal: creates \/ no-op starts [\d.]+× \(goal ≥ 0\.7×\)$/m);
  expect(out).toMatch(/^(PASS|FAIL) {2}goal: worker RSS with 20 sleeping \d+ MiB \(goal < 400 MiB\)$/m);
  expect(out).toMatch(/^(PASS|FAIL) {2}goal: quick add \/ no-op starts [\d.]+× \(goal ≥ 0\.9×\)$/m);
  expect(out).toMatch(/^(PASS|FAIL) {2}goal: CSV import \/ no-op starts [\d.]+× \(goal ≥ 0\.9×\)$/m);
  expect(out).toMatch(/^(PASS|FAIL) {2}goal: worker RSS with 200 lifecycle workflows asleep \d+ MiB \(goal < 500 MiB, the issue's bound at 100,000\)$/m);
  // Its temporary folder (database cluster, Temporal file, worker keyring) is gone.
  expect([...benchTempDirs()].filter((d) => !before.has(d))).toEqual([]);
}, 180_000);

it('runs the HR-read bench with --count 20 --seconds 1: the app and the bare handler answer every request, and each goal is printed', async () => {
  const { code, out } = await runBench('bench-smoke-hr-reads', ['--expose-gc'], ['--count', '20', '--seconds', '1', '--only', 'hr-reads']);

  // A non-2xx answer or a socket error under load is a failed check (exit 1), not a figure.
  expect({ code, out }).toMatchObject({ code: 0 });
  expect(out).not.toMatch(/^FAIL {2}(?!goal: )/m);
  expect(out).toMatch(/registrant read \(tenant of 1000\), 50 connections, 1 s: app \d+ req\/s.*bare Express \+ pg, same SQL \d+ req\/s/);
  expect(out).toMatch(/for scale: bare SELECTs only \(the read recorded nowhere\) \d+ req\/s/);
  expect(out).toMatch(/registrant CSV export of 200: 201 lines/);
  for (const goal of [/registrant read \d+ req\/s \(goal ≥ 1500\)/, /summary counts p99 \d+ ms \(goal ≤ 50 ms\)/, /registrant list \(50 a page\) at 200: p97\.5 \d+ ms/, /CSV export of 200: heap growth/]) {
    expect(out).toMatch(new RegExp(`^(PASS|FAIL) {2}goal: ${goal.source}`, 'm'));
  }
}, 180_000);

it('runs the pull bench with --count 100: the CSV over HTTP is the in-process CSV, the history has a row per person served, and each goal is printed', async () => {
  const { code, out } = await runBench('bench-smoke-pull', ['--expose-gc'], ['--count', '100', '--only', 'pull']);

  // Differing CSVs, or a pull whose memory is not flat, fail the bench (exit 1).
  expect({ code, out }).toMatchObject({ code: 0 });
  expect(out).not.toMatch(/^FAIL {2}(?!goal: )/m);
  expect(out).toMatch(/pull 100 numbers as Shift_JIS CSV: in process [\d.]+ s \(\d+\/s\), over HTTP [\d.]+ s/);
  expect(out).toMatch(/pull: \d+ number_pulled history rows written/);
  for (const goal of [/pull 100 over HTTP [\d.]+ s \(goal ≤ 0\.0 s/, /pull over HTTP [\d.]+× the in-process path/, /pull 1000 over HTTP [\d.]+ s/, /pull memory [\d.]+ MiB for 1000 rows/]) {
    expect(out).toMatch(new RegExp(`^(PASS|FAIL) {2}goal: ${goal.source}`, 'm'));
  }
}, 180_000);

it('runs the import bench with --count 20: a migration file of 100 lines stored as a job by the product\'s worker, each person once, the file shredded, each goal printed', async () => {
  const { code, out } = await runBench('bench-smoke-import', [], ['--count', '20', '--only', 'import']);

  // A person stored twice or missing, a number not sealed, or the file kept fails the bench (exit 1).
  expect({ code, out }).toMatchObject({ code: 0 });
  expect(out).not.toMatch(/^FAIL {2}(?!goal: )/m);
  expect(out).toMatch(/import 100 lines as a job: checked in [\d.]+ s, stored in [\d.]+ s \(\d+ lines\/s, 1 batches of 500 registrants\); 80 registrants, 20 dependents, 100 numbers, file shredded: yes/);
  for (const goal of [/import 100 lines in [\d.]+ s \(goal ≤ [\d.]+ s: 50,000 in 10 minutes\)/, /check 100 lines in [\d.]+ s/]) {
    expect(out).toMatch(new RegExp(`^(PASS|FAIL) {2}goal: ${goal.source}`, 'm'));
  }
}, 180_000);
