/**
 * Import jobs on real PostgreSQL and a real Temporal dev server with the product's worker: the file
 * checked whole at the upload (a bad line: no job), then stored a batch at a time with progress;
 * a cancel stops it between batches and keeps exactly what was stored; a batch refused because an
 * employee code was added meanwhile fails the job and keeps the batches before it; the file is
 * shredded whenever the job ends; a job whose start Temporal never confirmed is started by the
 * reconciler's round. Numbers are scanned for in every answer and log line.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { Acting } from '../services/login-users/login-users';
import { checkDigit } from '../services/mynumber/validate';
import type { ImportJobView } from '../services/registrants/import-jobs';
import type { NumbersImportReport } from '../services/registrants/numbers-import';
import { importJobWorkflowId, registrantWorkflowId } from '../shared';
import { createLoginUser, createTenant, memoryLogger, testApp, type Agent, type TestUser } from './support/fixtures';
import { containsAny } from './support/leak-scan';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'registrant-import-jobs';
const log = memoryLogger();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger: log.logger });
const used: string[] = [];
const answers: string[] = [];

function validNumber(): string {
  const first11 = `${String(1 + randomInt(9))}${Array.from({ length: 10 }, () => String(randomInt(10))).join('')}`;
  const n = `${first11}${checkDigit(first11)}`;
  used.push(n);
  return n;
}
const HEADER = '社員コード,本人・扶養の別,続柄,姓,名,区分,マイナンバー';
/** `count` registrants J<prefix>0001…, each with a number, every third with a child who has one too. */
function file(prefix: string, count: number): Buffer {
  const lines = [HEADER];
  for (let i = 1; i <= count; i++) {
    const code = `${prefix}${String(i).padStart(4, '0')}`;
    lines.push(`${code},本人,,取込,${i}郎,従業員1,${validNumber()}`);
    if (i % 3 === 0) lines.push(`${code},扶養家族,子,取込,${i}子,扶養親族,${validNumber()}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

async function hrOf(name: string): Promise<{ tenantId: string; user: TestUser; agent: Agent; acting: Acting }> {
  const tenantId = await createTenant(harness.prisma, name);
  const user = await createLoginUser(harness.prisma, tenantId, 'manager', `${name} 人事`);
  const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
  return { tenantId, user, agent: await harness.login(user), acting: { user: row, tenantId, ip: null, userAgent: null } };
}
/** The jobs service as the API has it, for batch sizes smaller than the product's. */
const jobs = () => testApp({ prisma: harness.prisma, logger: log.logger, outbox: harness.outbox, temporalClient: harness.env.client, taskQueue: TASK_QUEUE }).services.importJobs;
const jobRow = (id: string) => harness.prisma.importJob.findUniqueOrThrow({ where: { id } });
const ended = (id: string) => until(async () => ['succeeded', 'cancelled', 'failed'].includes((await jobRow(id)).status), `job ${id} to end`, 60_000);
const importFiles = (tenantId: string) => harness.prisma.vaultSecret.count({ where: { tenantId, kind: 'import_file' } });
const events = (tenantId: string, operation: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });

afterAll(() => {
  expect(containsAny(answers.join('\n'), used)).toEqual([]);
  expect(containsAny(log.lines.join('\n'), used)).toEqual([]);
});

describe('POST /v1/import-jobs', () => {
  it('checks the whole file first, then stores it as a job: 202 with where to follow it, progress to the end, the file shredded', async () => {
    const hr = await hrOf('取込ジョブ株式会社');
    const bytes = file('A', 12);
    const post = () => hr.agent.post('/v1/import-jobs').attach('file', bytes, 'numbers.csv');
    const dry = await post().field('dryRun', 'true');
    answers.push(JSON.stringify(dry.body));
    expect(dry.status).toBe(200);
    expect(dry.body as NumbersImportReport).toMatchObject({ ok: true, rows: 16, registrants: 12, dependents: 4, numbers: 16 });
    expect(await harness.prisma.importJob.count({ where: { tenantId: hr.tenantId } })).toBe(0);

    const res = await post().field('password', hr.user.password).field('reason', '前のサービスからの移行');
    answers.push(JSON.stringify(res.body));
    expect(res.status).toBe(202);
    const job = res.body as ImportJobView;
    expect(res.headers.location).toBe(`/v1/import-jobs/${job.id}`);
    expect(job).toMatchObject({ registrants: 12, dependents: 4, numbers: 16, batches: 1, createdBy: '取込ジョブ株式会社 人事' });
    await ended(job.id);
    const done = (await hr.agent.get(res.headers.location!)).body as ImportJobView;
    expect(done).toMatchObject({ status: 'succeeded', statusLabel: '完了', doneBatches: 1, doneRegistrants: 12, doneNumbers: 16, percent: 100, error: null });
    expect(done.message).toBe('本人12人と扶養家族4人を登録し、マイナンバー16件を保管しました');
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId, status: 'completed' } })).toBe(12);
    expect(await harness.prisma.dependent.count({ where: { registrant: { tenantId: hr.tenantId }, status: 'completed' } })).toBe(4);
    // Nothing of the file is kept after the job.
    expect(await importFiles(hr.tenantId)).toBe(0);
    expect((await jobRow(job.id)).fileSecretId).toBeNull();
    expect((await events(hr.tenantId, 'numbers_import_started'))[0]!.detail).toMatchObject({ jobId: job.id, reason: '前のサービスからの移行', registrants: 12 });
    expect((await events(hr.tenantId, 'numbers_imported'))[0]!.detail).toMatchObject({ jobId: job.id, outcome: 'succeeded', registrants: 12, numbers: 16 });
    const listed = await hr.agent.get('/v1/import-jobs');
    expect(listed.body.items.map((j: ImportJobView) => j.id)).toEqual([job.id]);
    // A cancel after the end answers the job as it is.
    expect((await hr.agent.post(`/v1/import-jobs/${job.id}/cancel`)).body).toMatchObject({ status: 'succeeded' });
  });

  it('a bad line refuses the file with the report; no job, nothing sealed', async () => {
    const hr = await hrOf('取込ジョブ誤り株式会社');
    const bytes = Buffer.from(`${HEADER}\r\nB1,本人,,正常,一郎,,${validNumber()}\r\nB2,本人,,誤り,二郎,,123456789012\r\n`);
    const res = await hr.agent.post('/v1/import-jobs').attach('file', bytes, 'numbers.csv').field('password', hr.user.password).field('reason', '移行');
    answers.push(JSON.stringify(res.body));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'CSV_IMPORT_INVALID', report: { invalid: 1 } });
    expect(await harness.prisma.importJob.count({ where: { tenantId: hr.tenantId } })).toBe(0);
    expect(await importFiles(hr.tenantId)).toBe(0);
    expect((await hr.agent.get(`/v1/import-jobs/${randomUUID()}`)).status).toBe(404);
  });
  it('a retry with the same Idempotency-Key (also at the same time) answers the one job, never a second', async () => {
    const hr = await hrOf('取込ジョブ再送株式会社');
    const bytes = file('F', 3);
    const key = randomUUID();
    const post = () => hr.agent.post('/v1/import-jobs').set('Idempotency-Key', key).attach('file', bytes, 'numbers.csv').field('password', hr.user.password).field('reason', '移行');
    const [a, b] = await Promise.all([post(), post()]);
    answers.push(JSON.stringify(a.body), JSON.stringify(b.body));
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.id).toBe(a.body.id);
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].filter(Boolean)).toEqual(['true']);
    await ended(a.body.id);
    expect(await harness.prisma.importJob.count({ where: { tenantId: hr.tenantId } })).toBe(1);
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(3);
    const again = await post();
    expect(again.body).toMatchObject({ id: a.body.id, status: 'succeeded' });
  });
});

describe('batches', () => {
  it('a cancel stops the job between batches: what was stored stays whole, the rest is not stored, the file is shredded', async () => {
    const hr = await hrOf('取込ジョブ中止株式会社');
    const out = await jobs().start(hr.acting, file('C', 120), { dryRun: false, password: hr.user.password, reason: '移行' }, { batchSize: 1 });
    if (!('job' in out)) throw new Error('no job');
    const id = out.job.id;
    await until(async () => (await jobRow(id)).doneBatches >= 3, 'three batches stored', 30_000);
    const cancelling = await hr.agent.post(`/v1/import-jobs/${id}/cancel`);
    answers.push(JSON.stringify(cancelling.body));
    expect(['cancelling', 'cancelled']).toContain(cancelling.body.status);
    await ended(id);
    const job = await jobRow(id);
    expect(job.status).toBe('cancelled');
    expect(job.doneRegistrants).toBeLessThan(120);
    // Whole batches only: every registrant counted is stored, with every dependent of theirs.
    const stored = await harness.prisma.registrant.findMany({ where: { tenantId: hr.tenantId }, include: { dependents: true }, orderBy: { employeeCode: 'asc' } });
    expect(stored).toHaveLength(job.doneRegistrants);
    expect(stored.map((r) => r.employeeCode)).toEqual(Array.from({ length: job.doneRegistrants }, (_, i) => `C${String(i + 1).padStart(4, '0')}`));
    expect(stored.map((r) => r.dependents.length)).toEqual(stored.map((_, i) => ((i + 1) % 3 === 0 ? 1 : 0)));
    expect(await importFiles(hr.tenantId)).toBe(0);
    expect((await events(hr.tenantId, 'numbers_import_cancelled')).length).toBe(1);
    expect((await events(hr.tenantId, 'numbers_imported'))[0]!.detail).toMatchObject({ outcome: 'cancelled', registrants: job.doneRegistrants });
    const view = (await hr.agent.get(`/v1/import-jobs/${id}`)).body as ImportJobView;
    expect(view.message).toBe(`中止しました。それまでに本人${job.doneRegistrants}人を登録し、マイナンバー${job.doneNumbers}件を保管しました（残りは登録していません）`);
  });

  it('an employee code added meanwhile fails the job at its batch, without retrying; the batches before it stay', async () => {
    const hr = await hrOf('取込ジョブ競合株式会社');
    const out = await jobs().start(hr.acting, file('D', 60), { dryRun: false, password: hr.user.password, reason: '移行' }, { batchSize: 1 });
    if (!('job' in out)) throw new Error('no job');
    // Someone adds the file's last person by hand while the job runs.
    const id = randomUUID();
    await harness.prisma.registrant.create({ data: { id, tenantId: hr.tenantId, employeeCode: 'D0060', familyName: '手入力', givenName: '太郎', workflowId: registrantWorkflowId(hr.tenantId, id) } });
    await ended(out.job.id);
    const job = await jobRow(out.job.id);
    expect(job).toMatchObject({ status: 'failed', doneRegistrants: 59, doneBatches: 59, error: '60人目からの1人に、他の操作で同時に追加された社員コードと同じ人がいます' });
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(60);
    expect(await importFiles(hr.tenantId)).toBe(0);
    // Refused, not retried: the batch ran once.
    const history = await harness.env.client.workflow.getHandle(importJobWorkflowId(out.job.id)).fetchHistory();
    const failedAttempts = history.events!.filter((e) => e.activityTaskFailedEventAttributes).length;
    expect(failedAttempts).toBe(1);
  });

  /** A job as a crash between its commit and its start leaves it: the row, its sealed file, no workflow. */
  async function parkedJob(name: string, prefix: string, count: number) {
    const hr = await hrOf(name);
    const withoutTemporal = testApp({ prisma: harness.prisma, logger: log.logger, outbox: harness.outbox, temporalClient: harness.env.client, taskQueue: 'nobody-polls-this' }).services.importJobs;
    const out = await withoutTemporal.start(hr.acting, file(prefix, count), { dryRun: false, password: hr.user.password, reason: '移行' });
    if (!('job' in out)) throw new Error('no job');
    await harness.env.client.workflow.getHandle(importJobWorkflowId(out.job.id)).terminate('as if never started');
    return { hr, id: out.job.id };
  }
  /** The reconciler's round for the tenant, once the job has been still for longer than it waits. */
  async function reconcilerRound(tenantId: string, id: string): Promise<number> {
    await harness.prisma.$executeRaw`UPDATE import_jobs SET updated_at = now() - interval '1 minute' WHERE id = ${id}::uuid`;
    const { startQueuedImportJobs } = await import('../services/registrants/import-jobs');
    return startQueuedImportJobs(harness.prisma, { client: harness.env.client, taskQueue: TASK_QUEUE }, { tenantId });
  }

  it('a job whose start Temporal never confirmed is started by the reconciler\'s round', async () => {
    const { hr, id } = await parkedJob('取込ジョブ再開株式会社', 'E', 5);
    expect(await reconcilerRound(hr.tenantId, id)).toBe(1);
    await ended(id);
    expect(await jobRow(id)).toMatchObject({ status: 'succeeded', doneRegistrants: 5 });
    // A running or ended job is left alone.
    expect(await reconcilerRound(hr.tenantId, id)).toBe(0);
  });

  it('a job cancelled before its workflow ever started still ends: cancelled, nothing stored, the file shredded', async () => {
    const { hr, id } = await parkedJob('取込ジョブ開始前中止株式会社', 'G', 5);
    expect((await hr.agent.post(`/v1/import-jobs/${id}/cancel`)).body).toMatchObject({ status: 'cancelling' });
    expect(await reconcilerRound(hr.tenantId, id)).toBe(1);
    await ended(id);
    expect(await jobRow(id)).toMatchObject({ status: 'cancelled', doneRegistrants: 0, fileSecretId: null });
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(0);
    expect(await importFiles(hr.tenantId)).toBe(0);
    expect(await events(hr.tenantId, 'numbers_import_cancelled')).toHaveLength(1);
  });

  it('a file read differently from the upload (another release between them) fails the job instead of storing anyone twice or not at all', async () => {
    const { hr, id } = await parkedJob('取込ジョブ読み違い株式会社', 'H', 5);
    await harness.prisma.importJob.update({ where: { id }, data: { layout: 'as-another-release-read-it' } });
    expect(await reconcilerRound(hr.tenantId, id)).toBe(1);
    await ended(id);
    expect(await jobRow(id)).toMatchObject({ status: 'failed', error: 'ファイルの内容を確認できませんでした（アップロード時の確認と結果が違います）', doneRegistrants: 0, fileSecretId: null });
    expect(await harness.prisma.registrant.count({ where: { tenantId: hr.tenantId } })).toBe(0);
  });
});
