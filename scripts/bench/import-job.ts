/**
 * `npm run bench -- --only import`: moving in with numbers as a job (README "Moving in with
 * numbers"). A file of 5 × --count lines (50,000 at the default: four registrants in five lines,
 * every fourth with a dependent, each with an invented number) is checked whole, then stored by
 * the product's worker — npm start's compiled worker, a child process — a batch at a time while the
 * bench follows its progress as the console does. Checked afterwards: every person stored once,
 * every number sealed once, the file shredded. Goals: the whole file within 10 minutes (a company
 * of 40,000 moving in during a lunch break), the upload's check within 10 s.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import path from 'node:path';
import { appArgs, appEnv } from '../../services/build/app-build';
import { loadConfig } from '../../services/config/config';
import { createServices } from '../../services/container';
import { createPrisma } from '../../services/db/client';
import { createMailTransport } from '../../services/mail/transport';
import { checkDigit } from '../../services/mynumber/validate';
import { createTenantWithOwner } from '../../services/tenants/bootstrap';
import { createTemporalClient } from '../../services/temporal/client';
import { loadKeyring } from '../../services/vault/keyring';
import { createVault } from '../../services/vault/vault';
import { startSmtpCapture } from './smtp-capture';
import { ROOT, say, secs, stopChild, type Cleanup, type Stack } from './stack';

const TASK_QUEUE = 'mynaflow-bench-import';
const GOAL_JOB_MS = 10 * 60_000;
const GOAL_CHECK_MS = 10_000;
/** Give up when the job has not moved for this long. */
const STALL_MS = 120_000;

/** Invented numbers, never the same twice in a file (the check refuses a number on two lines). */
const inventedNumbers = () => {
  const seen = new Set<string>();
  return () => {
    for (;;) {
      const first11 = `${1 + randomInt(9)}${Array.from({ length: 10 }, () => randomInt(10)).join('')}`;
      if (seen.has(first11)) continue;
      seen.add(first11);
      return `${first11}${checkDigit(first11)}`;
    }
  };
};

/** Lines: four registrants in five lines, every fourth registrant followed by a dependent. */
function migrationFile(lines: number): { bytes: Buffer; registrants: number; dependents: number } {
  const out = ['社員コード,本人・扶養の別,続柄,姓,名,フリガナ（姓）,フリガナ（名）,生年月日,性別,区分,マイナンバー'];
  const invented = inventedNumbers();
  let registrants = 0;
  let dependents = 0;
  while (registrants + dependents < lines) {
    registrants++;
    const code = `M${String(registrants).padStart(6, '0')}`;
    out.push(`${code},本人,,移行,${registrants}郎,イコウ,タロウ,S55/1/1,男性,従業員1,${invented()}`);
    if (registrants % 4 === 0 && registrants + dependents < lines) {
      dependents++;
      out.push(`${code},扶養家族,子,移行,${registrants}子,イコウ,ハナコ,H20/4/1,女性,扶養親族,${invented()}`);
    }
  }
  return { bytes: Buffer.from(out.join('\r\n') + '\r\n'), registrants, dependents };
}

export async function runImportJobBench(stack: Stack, cleanup: Cleanup, opts: { count: number }): Promise<boolean> {
  const lines = opts.count * 5;
  const databaseUrl = await stack.migratedDatabase('bench_import');
  const smtp = await startSmtpCapture();
  cleanup.add('close the SMTP capture (import)', () => smtp.close());
  const masterKey = randomBytes(32).toString('base64');
  const env = appEnv('worker', {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_NAMESPACE: stack.namespace,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    PUBLIC_URL: 'http://bench.mynaflow.test',
    DATA_DIR: path.join(stack.tmpDir, 'import-worker'),
    MASTER_KEY: masterKey,
    LOG_LEVEL: 'warn',
  });
  delete env.MASTER_KEY_FILE;
  delete env.MASTER_KEY_PREVIOUS;
  const child = spawn(process.execPath, appArgs('worker'), { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  cleanup.add('stop the import worker', () => stopChild(child));
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`unexpected message ${String(m)}`))));
    child.once('exit', (code, signal) => reject(new Error(`the import worker exited (${code ?? signal}) before it was ready`)));
  });
  say(`import: the product's worker (compiled, as npm start runs it) is pid ${child.pid}`);

  const prisma = createPrisma(databaseUrl);
  cleanup.add('disconnect Prisma (import)', () => prisma.$disconnect());
  const keyring = loadKeyring(loadConfig({ MASTER_KEY: masterKey }));
  const vault = createVault({ prisma, keyring });
  // Payloads encrypted as the product's API sends them (ids only here, but the same path).
  const client = createTemporalClient(stack.temporalAddress, stack.namespace, keyring);
  cleanup.add('close the Temporal client (import)', () => client.connection.close());
  const services = createServices({
    prisma,
    temporal: { client, taskQueue: TASK_QUEUE },
    vault,
    mailer: createMailTransport(`smtp://127.0.0.1:${smtp.port}`),
    mailFrom: 'bench <bench@mynaflow.localhost>',
    publicUrl: 'http://bench.mynaflow.test',
    inviteReminderDays: [7, 30, 80],
    loginLockMinutes: 30,
    session: { idleMinutes: 30, absoluteHours: 12 },
  });
  const password = `Bench-${randomBytes(9).toString('base64url')}`;
  const { tenant, owner } = await createTenantWithOwner(prisma, services.history, { tenantName: '移行ベンチ株式会社', ownerName: '移行 担当', ownerEmail: 'owner@bench.mynaflow.test', ownerPassword: password });
  const acting = { user: owner, tenantId: tenant.id, ip: null, userAgent: null };

  const file = migrationFile(lines);
  say(`import: ${lines} lines (${file.registrants} registrants, ${file.dependents} dependents, as many numbers), ${(file.bytes.length / 1024 / 1024).toFixed(1)} MiB`);
  let t = Date.now();
  const dry = await services.importJobs.start(acting, file.bytes, { dryRun: true });
  const checkMs = Date.now() - t;
  if (!('report' in dry) || !dry.report.ok) throw new Error('the bench file did not pass its check');
  t = Date.now();
  const started = await services.importJobs.start(acting, file.bytes, { dryRun: false, password, reason: 'ベンチ' });
  if (!('job' in started)) throw new Error('no job');
  const id = started.job.id;
  let last = -1;
  let lastMove = Date.now();
  let shownAt = 0;
  for (;;) {
    const job = await services.importJobs.get(acting, id);
    if (job.doneRegistrants !== last) {
      last = job.doneRegistrants;
      lastMove = Date.now();
    }
    if (Date.now() - shownAt > 15_000) {
      shownAt = Date.now();
      say(`import: ${job.percent}% — ${job.message}`);
    }
    if (['succeeded', 'cancelled', 'failed'].includes(job.status)) break;
    if (Date.now() - lastMove > STALL_MS) throw new Error(`the import job stalled at ${job.doneRegistrants} registrants`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const jobMs = Date.now() - t;
  const job = await prisma.importJob.findUniqueOrThrow({ where: { id } });

  // Everyone once, every number sealed once, nothing of the file kept.
  const failures: string[] = [];
  const [registrants, codes, dependents, numbers, files] = await Promise.all([
    prisma.registrant.count({ where: { tenantId: tenant.id } }),
    prisma.$queryRaw<{ n: bigint }[]>`SELECT count(DISTINCT employee_code) AS n FROM registrants WHERE tenant_id = ${tenant.id}::uuid`,
    prisma.dependent.count({ where: { registrant: { tenantId: tenant.id } } }),
    prisma.vaultSecret.count({ where: { tenantId: tenant.id, kind: 'my_number' } }),
    prisma.vaultSecret.count({ where: { tenantId: tenant.id, kind: 'import_file' } }),
  ]);
  if (job.status !== 'succeeded') failures.push(`the job ended ${job.status}: ${job.error ?? ''}`);
  if (registrants !== file.registrants || Number(codes[0]!.n) !== file.registrants) failures.push(`${registrants} registrants stored (${codes[0]!.n} codes) for ${file.registrants}`);
  if (dependents !== file.dependents) failures.push(`${dependents} dependents stored for ${file.dependents}`);
  if (numbers !== file.registrants + file.dependents) failures.push(`${numbers} numbers sealed for ${file.registrants + file.dependents}`);
  if (files !== 0) failures.push('the file was not shredded');
  say(`import ${lines} lines as a job: checked in ${secs(checkMs)}, stored in ${secs(jobMs)} (${(lines / (jobMs / 1000)).toFixed(0)} lines/s, ${job.batches} batches of ${job.batchSize} registrants); ${registrants} registrants, ${dependents} dependents, ${numbers} numbers, file shredded: ${files === 0 ? 'yes' : 'NO'}`);
  const goal = (ok: boolean, text: string) => console.log(`${ok ? 'PASS' : 'FAIL'}  goal: ${text}`);
  goal(jobMs <= GOAL_JOB_MS * (lines / 50_000), `import ${lines} lines in ${secs(jobMs)} (goal ≤ ${secs(GOAL_JOB_MS * (lines / 50_000))}: 50,000 in 10 minutes)`);
  goal(checkMs <= GOAL_CHECK_MS * (lines / 50_000), `check ${lines} lines in ${secs(checkMs)} (goal ≤ ${secs(GOAL_CHECK_MS * (lines / 50_000))}: 50,000 in 10 s)`);
  for (const f of failures) console.log(`FAIL  ${f}`);
  return failures.length === 0;
}
