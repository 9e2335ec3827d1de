/**
 * Replay: the current workflow code must reproduce, command for command, the histories that
 * earlier releases and this one wrote on a real server. A change that would break a running
 * registrant's workflow fails here (DeterminismViolationError) instead of in production.
 *
 * test/histories/ holds one frozen history (at least) of every released workflow version:
 * - v1-*.json: the first release (invitation only);
 * - v2-*.json: the lifecycle; v3-*.json: the lifecycle reporting to payroll webhooks;
 * - v3-upgraded-to-v4.json: a v3 run that moved to the current lifecycle at its next wake;
 * - v4-*.json: the lifecycle with one step at a time and outage-proof steps;
 * - v5-*.json / v6-*.json: the lifecycle with next-timer search attributes, operators' steps, activity summaries;
 * - v7-*.json / v8-*.json / v9-*.json: the lifecycle with statuses set by hand and reminder days changed,
 *   paper invitations, reminder days moved to an earlier next day;
 * - notice-v1.json / notice-v2.json: the deletion notice before and after it mailed late arrivals;
 * - import-job-v1.json: an import job's batches, a cancel between them and its end;
 * - reconciler-v1.json … reconciler-v4.json: a reconciler round before and after it forgot old
 *   idempotency keys, once it also sent the notices, and once it also told changed reminder days.
 * `RECORD_HISTORIES=1 npx jest test/workflow-replay.test.ts` writes the histories the tests below
 * make, but only under names not taken yet: a released history is never overwritten.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { PrismaClient } from '../services/db/client';
import type { Outbox } from '../services/outbox/outbox';
import { createDraftStore } from '../services/registrants/draft-store';
import { startOptions } from '../services/registrants/workflow-starts';
import {
  approveUpdate,
  changeStatusUpdate,
  deletionDueSignal,
  deletionNoticeWorkflowId,
  extendLinkUpdate,
  importJobWorkflowId,
  inviteUpdate,
  japanDate,
  lifecycleQuery,
  registrantWorkflowId,
  remandUpdate,
  reminderDaysSignal,
  remindNowUpdate,
  retryNowUpdate,
  setRetirementUpdate,
  startOfJapanDay,
  submitUpdate,
  upcomingQuery,
  type DeletionNoticeInput,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../shared';
import { NOTICE_PATCH } from '../workflows/deletion-notice';
import { UPGRADE_PATCH } from '../workflows/lifecycle-v3';
import { SAFE_STEPS_PATCH } from '../workflows/registrant';
import { FIRST_PUBLISH_PATCH, NEXT_TIMER_PATCH, REMINDER_DAYS_BY_DAY_PATCH, RETRY_NOW_PATCH } from '../workflows/lifecycle';
import { createPayloadCodec, dataConverterFor, ENCRYPTED_ENCODING } from '../services/temporal/payload-codec';
import { testKeyring } from './support/keys';
import { createLoginUser, createTenant, memoryLogger, startOutbox, startWorker, testApp, testPrisma, testVault, type WorkerHandle } from './support/fixtures';
import { completeDraft } from './support/lifecycle';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { createTimeSkippingEnv, quietRuntime, releasedWorkflowBundle, workflowBundle } from './support/temporal';
import { until } from './support/until';

const HISTORIES = path.join(__dirname, 'histories');
/** The last commit before the patch reminder-days-by-day-v1: its workflows ran where that patch is unknown. */
const RELEASE_BEFORE_BY_DAY = 'ffefb194b9b801a6bd587b4d99c69f9d597737bb';
const DAY_MS = 86_400_000;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

/** Replays a history (JSON as `temporal workflow show -o json` prints it, or a fetched one). */
const replay = async (history: unknown, workflowId: string) => {
  quietRuntime();
  // With the payload codec, as a worker runs: histories of releases before it (plain payloads) pass through.
  return Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: dataConverterFor(testKeyring()) }, history, workflowId);
};

/**
 * With RECORD_HISTORIES set, keeps a history under a name not taken yet (never overwrites), its
 * payloads decrypted: the file's keys die with this process, and the codec passes plain payloads.
 */
async function record(name: string, json: unknown) {
  if (!process.env.RECORD_HISTORIES) return;
  const file = path.join(HISTORIES, name);
  if (fs.existsSync(file)) return;
  fs.writeFileSync(file, `${JSON.stringify(await decrypted(json), null, 2)}\n`, { flag: 'wx' });
}

/** Every encrypted payload (as historyToJSON writes it: base64 metadata and data) decoded. */
async function decrypted(node: unknown): Promise<unknown> {
  if (Array.isArray(node)) return Promise.all(node.map(decrypted));
  if (!node || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  const meta = o.metadata as Record<string, string> | undefined;
  if (meta && typeof o.data === 'string' && meta.encoding && Buffer.from(meta.encoding, 'base64').toString() === ENCRYPTED_ENCODING) {
    const b64 = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    const [plain] = await createPayloadCodec(testKeyring()).decode([{ metadata: b64(meta), data: Buffer.from(o.data, 'base64') }]);
    return {
      metadata: Object.fromEntries(Object.entries(plain!.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(plain!.data ?? new Uint8Array()).toString('base64'),
    };
  }
  return Object.fromEntries(await Promise.all(Object.entries(o).map(async ([k, v]) => [k, await decrypted(v)])));
}

/** The patch ids a history's markers record. */
const patchesOf = (json: { events: { markerRecordedEventAttributes?: { details?: { 'patch-data'?: { payloads: { data: string }[] } } } }[] }) =>
  json.events.flatMap((e) => (e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? []).map((p) => (JSON.parse(Buffer.from(p.data, 'base64').toString()) as { id: string }).id));

const historyOf = async (handle: { fetchHistory(): Promise<Parameters<typeof historyToJSON>[0]> }) => JSON.parse(historyToJSON(await handle.fetchHistory()));

describe('histories of released versions replay on the current code', () => {
  const files = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

  it('has histories of every release to check', () => {
    for (const [prefix, least] of [['v1-', 2], ['v2-', 1], ['v3-', 1], ['v3-upgraded-to-v4', 1], ['v4-', 1], ['v5-', 1], ['v6-', 1], ['v7-', 1], ['v8-', 1], ['v9-', 1], ['notice-v1', 1], ['notice-v2', 1], ['reconciler-v1', 1], ['reconciler-v2', 1], ['reconciler-v3', 1], ['reconciler-v4', 1], ['import-job-v1', 1]] as const) {
      expect([prefix, files.filter((f) => f.startsWith(prefix)).length >= least]).toEqual([prefix, true]);
    }
  });

  it.each(files)('%s', async (file) => {
    const json = JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8'));
    await expect(replay(json, file)).resolves.toBeUndefined();
  });
});

describe('a whole journey on the time-skipping server replays', () => {
  let env: TestWorkflowEnvironment;
  let prisma: PrismaClient;
  let outbox: Outbox;
  let worker: WorkerHandle;
  const { logger } = memoryLogger();

  beforeAll(async () => {
    [env, outbox] = await Promise.all([createTimeSkippingEnv(), startOutbox()]);
    prisma = testPrisma();
    worker = await startWorker(env, { prisma, outbox, logger, taskQueue: 'replay' });
  });
  afterAll(async () => {
    await worker?.stop();
    await env?.teardown();
    await outbox?.close();
    await prisma?.$disconnect();
  });

  // First: after the journey below (which leaves its deletion's children running) the clock skip here never returned.
  it('reminder days moved to an earlier next day replay: day 14\'s reminder after day 7\'s, its own key', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ前倒し');
    const id = randomUUID();
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '再生', givenName: '前倒し', email: `replay-${id.slice(0, 8)}@example.co.jp`, workflowId } });
    const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [7, 30, 80] };
    const handle = await env.client.workflow.start('registrantWorkflow', { taskQueue: 'replay', workflowId, args: [input], ...startOptions(input) });
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
    const invitedAt = Date.parse((await handle.query(lifecycleQuery)).invitation!.invitedAt);
    await env.sleep(invitedAt + 8 * DAY_MS - (await env.currentTimeMs()));
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.remindersSent === 1, 'day 7\'s reminder');
    await handle.signal(reminderDaysSignal, { days: [14, 60] });
    await until(async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at === new Date(invitedAt + 14 * DAY_MS).toISOString(), 'day 14 as the next reminder');
    await env.sleep(invitedAt + 15 * DAY_MS - (await env.currentTimeMs()));
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.remindersMailed === 2, 'day 14\'s reminder');
    const json = await historyOf(handle);
    expect(patchesOf(json)).toContain(REMINDER_DAYS_BY_DAY_PATCH);
    await expect(replay(json, workflowId)).resolves.toBeUndefined();
    await record('v9-reminder-days-earlier.json', json);
    // Ended, so that its later timers do not run into the next tests' skipped time.
    await handle.terminate();
  });

  it('invite, reminder, link extended and a reminder sent now by an operator, one paused and retried now, resend, submit, remand, resubmit, approve, retire, notice and deletion, reported to a webhook', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ');
    const hr = await createLoginUser(prisma, tenantId, 'manager');
    // A payroll connector subscribed to every event: decisions and the deletion start delivery children.
    const receiver = http.createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const client = await prisma.apiClient.create({ data: { tenantId, name: 'リプレイ給与', clientId: `mfc_${randomUUID()}`, secretHash: 'x', scopes: ['registrants:read'] } });
    const secretId = await testVault(prisma).seal({ tenantId, kind: 'webhook_secret', plaintext: Buffer.from('whsec_replay') });
    await prisma.webhook.create({ data: { tenantId, apiClientId: client.id, url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['registrant_completed', 'registrant_remanded', 'registrant_deleted'], secretId } });
    const actor: StepActor = { type: 'login_user', id: hr.id };
    const employee: StepActor = { type: 'registrant', id: null };
    const id = randomUUID();
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '再生', givenName: '太郎', email: `replay-${id.slice(0, 8)}@example.co.jp`, workflowId } });
    const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [7, 30, 80] };
    const handle = await env.client.workflow.start('registrantWorkflow', { taskQueue: 'replay', workflowId, args: [input], ...startOptions(input) });
    const drafts = createDraftStore({ prisma, vault: testVault(prisma) });
    const numbers: string[] = [];
    const fill = async () => {
      numbers.push(randomMyNumber());
      await drafts.save(id, { myNumber: numbers.at(-1)!, gender: 'male', birthDate: '1970-01-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
      for (const side of ['front', 'back'] as const) await drafts.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
    };

    await env.sleep(8 * DAY_MS);
    const operator: StepActor = { type: 'login_user', id: hr.id };
    await handle.executeUpdate(extendLinkUpdate, { args: [{ actor: operator, days: 30 }] });
    await handle.executeUpdate(remindNowUpdate, { args: [{ actor: operator }] });
    expect((await handle.query(lifecycleQuery)).invitation).toMatchObject({ round: 1, remindersSent: 2 });
    // The last reminder falls due while an operator has paused the tenant's mail: it waits out its
    // back-off until resumed and retried now.
    await prisma.tenant.update({ where: { id: tenantId }, data: { mailPausedAt: new Date() } });
    const reminder = (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')!;
    await env.sleep(Date.parse(reminder.at) - (await env.currentTimeMs()) + 1000);
    await until(async () => Boolean((await handle.query(lifecycleQuery)).attention?.[reminder.name]), 'the paused reminder to wait');
    await prisma.tenant.update({ where: { id: tenantId }, data: { mailPausedAt: null } });
    await handle.executeUpdate(retryNowUpdate, { args: [{ actor: operator }] });
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.remindersSent === 3, 'the reminder retried now');
    expect((await handle.query(lifecycleQuery)).attention).toEqual({});
    await handle.executeUpdate(inviteUpdate, { args: [{ actor, options: { message: '再送です' } }] });
    await fill();
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await handle.executeUpdate(remandUpdate, { args: [{ actor, reason: '裏面がありません' }] });
    await fill();
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
    const today = japanDate(await env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) + 10 * DAY_MS);
    const dueDate = japanDate(startOfJapanDay(today) + 100 * DAY_MS);
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate, deletion: { dueDate, rule: 'manual' } }] });
    expect((await handle.query(lifecycleQuery)).status).toBe('completed');
    expect(await handle.result()).toMatchObject({ deleted: true, retired: true });

    const history = await handle.fetchHistory();
    const json = JSON.parse(historyToJSON(history));
    const kinds = new Set((json.events as { eventType: string }[]).map((e) => e.eventType));
    receiver.close();
    for (const kind of ['EVENT_TYPE_TIMER_FIRED', 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED', 'EVENT_TYPE_MARKER_RECORDED', 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED']) {
      expect(kinds).toContain(kind);
    }
    // Nothing personal in the history: ids, states and dates only.
    expect(containsAny(historyToJSON(history), numbers)).toEqual([]);
    await expect(replay(json, workflowId)).resolves.toBeUndefined();
    expect(patchesOf(json)).toEqual(expect.arrayContaining([NEXT_TIMER_PATCH, RETRY_NOW_PATCH, FIRST_PUBLISH_PATCH]));
    await record('v6-journey.json', json);

    // The deletion notice that went out 30 days before (a workflow of its own) replays too.
    const notice = await historyOf(env.client.workflow.getHandle(deletionNoticeWorkflowId(tenantId, dueDate)));
    await expect(replay(notice, 'notice')).resolves.toBeUndefined();
    await record('notice-v2.json', notice);
  });

  it('statuses set by hand replay: new reminder days told, refused before any submission, taken back, completed with a number HR verified', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ手動');
    const hr = await createLoginUser(prisma, tenantId, 'manager');
    const actor: StepActor = { type: 'login_user', id: hr.id };
    const id = randomUUID();
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '再生', givenName: '手動', email: `replay-${id.slice(0, 8)}@example.co.jp`, workflowId } });
    const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [7, 30, 80] };
    const handle = await env.client.workflow.start('registrantWorkflow', { taskQueue: 'replay', workflowId, args: [input], ...startOptions(input) });
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
    // The tenant changed its reminder days meanwhile (a signal from the reconciler's round).
    const invitedAt = Date.parse((await handle.query(lifecycleQuery)).invitation!.invitedAt);
    await handle.signal(reminderDaysSignal, { days: [3, 14] });
    await until(async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at === new Date(invitedAt + 3 * DAY_MS).toISOString(), 'the new first reminder day');
    await handle.executeUpdate(changeStatusUpdate, { args: [{ actor, status: 'refused', reason: '提供拒否の申出' }] });
    await handle.executeUpdate(changeStatusUpdate, { args: [{ actor, status: 'unregistered', reason: '申出の撤回' }] });
    await prisma.registrant.update({ where: { id }, data: { myNumberSecretId: await testVault(prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) }) } });
    await handle.executeUpdate(changeStatusUpdate, { args: [{ actor, status: 'completed', verificationMethod: 'my_number_card' }] });
    expect(await handle.query(lifecycleQuery)).toMatchObject({ status: 'completed', loginLocked: true, invitation: { state: 'closed' } });
    const json = await historyOf(handle);
    await expect(replay(json, workflowId)).resolves.toBeUndefined();
    await record('v7-status-by-hand.json', json);
  });

  it('paper invitations replay: a round opened without a mail for a person without an address, a second paper request joining it', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ紙');
    const hr = await createLoginUser(prisma, tenantId, 'manager');
    const actor: StepActor = { type: 'login_user', id: hr.id };
    const id = randomUUID();
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '再生', givenName: '紙', workflowId } });
    const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [7], invite: false };
    const handle = await env.client.workflow.start('registrantWorkflow', { taskQueue: 'replay', workflowId, args: [input], ...startOptions(input) });
    await handle.executeUpdate(inviteUpdate, { args: [{ actor, options: { paper: true } }] });
    await handle.executeUpdate(inviteUpdate, { args: [{ actor, options: { paper: true } }] });
    expect((await handle.query(lifecycleQuery)).invitation).toMatchObject({ state: 'open', round: 1 });
    const json = await historyOf(handle);
    await expect(replay(json, workflowId)).resolves.toBeUndefined();
    await record('v8-paper.json', json);
  });

  it('a reconciler round replays, forgets idempotency keys older than a day and sends the notices queued', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ照合');
    const hr = await createLoginUser(prisma, tenantId, 'manager');
    const scope = `${hr.id}/quick-add`;
    await prisma.requestRecord.createMany({
      data: [
        { scope, key: 'yesterday', requestHash: 'x', status: 201, response: {}, createdAt: new Date(Date.now() - 25 * 3_600_000) },
        { scope, key: 'today', requestHash: 'x', status: 201, response: {}, createdAt: new Date(Date.now() - 23 * 3_600_000) },
      ],
    });
    const handle = await env.client.workflow.start('reconcilerWorkflow', { taskQueue: 'replay', workflowId: `round-${randomUUID()}`, args: [{ tenantId }] });
    expect(await handle.result()).toMatchObject({ expired: expect.any(Number), noticesSent: 0, failed: expect.not.arrayContaining(['sendNotices']) });
    expect((await prisma.requestRecord.findMany({ where: { scope } })).map((r) => r.key)).toEqual(['today']);
    const json = await historyOf(handle);
    await expect(replay(json, 'round')).resolves.toBeUndefined();
    await record('reconciler-v4.json', json);
  });

  it('an import job replays: batches, a cancel signal between them, the end with the file shredded', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ取込');
    const user = await createLoginUser(prisma, tenantId, 'manager');
    const acting = { user: await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } }), tenantId, ip: null, userAgent: null };
    const jobs = testApp({ prisma, logger, outbox, temporalClient: env.client, taskQueue: 'replay' }).services.importJobs;
    const lines = ['社員コード,本人・扶養の別,続柄,姓,名,マイナンバー', ...Array.from({ length: 40 }, (_, i) => `RP${i},本人,,再生,${i},${randomMyNumber()}`)];
    const out = await jobs.start(acting, Buffer.from(lines.join('\r\n')), { dryRun: false, password: user.password, reason: '移行' }, { batchSize: 1 });
    if (!('job' in out)) throw new Error('no job');
    await until(async () => (await prisma.importJob.findUniqueOrThrow({ where: { id: out.job.id } })).doneBatches >= 2, 'two batches stored', 30_000);
    await jobs.cancel(acting, out.job.id);
    const handle = env.client.workflow.getHandle(importJobWorkflowId(out.job.id));
    expect(await handle.result()).toBe('cancelled');
    const json = await historyOf(handle);
    expect(JSON.stringify(json)).toContain('cancelImport');
    await expect(replay(json, 'import-job')).resolves.toBeUndefined();
    await record('import-job-v1.json', json);
  });

  it('a history whose commands differ from what the code does is refused (the check can fail)', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(HISTORIES, 'v1-invited-then-withdrawn.json'), 'utf8'));
    // As if the first release had scheduled some other activity first.
    const scheduled = json.events.find((e: { eventType: string }) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
    await expect(replay(json, 'tampered')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});

describe('runs of earlier releases on the time-skipping server', () => {
  let env: TestWorkflowEnvironment;
  let prisma: PrismaClient;
  let outbox: Outbox;
  const { logger } = memoryLogger();

  beforeAll(async () => {
    [env, outbox] = await Promise.all([createTimeSkippingEnv(), startOutbox()]);
    prisma = testPrisma();
  });
  afterAll(async () => {
    await env?.teardown();
    await outbox?.close();
    await prisma?.$disconnect();
  });

  /** A worker that decides patches as the release before this one did (none of these existed then). */
  const asReleased = (taskQueue: string, unknownPatches: string[]) =>
    startWorker(env, { prisma, outbox, logger, taskQueue, options: { patchActivationCallback: ({ patchId }) => !unknownPatches.includes(patchId) } });

  it('reminder days changed on the release before reminder-days-by-day, the run going on on this code: every day\'s reminder goes out, no key used twice', async () => {
    const taskQueue = 'replay-reminder-keys';
    const tenantId = await createTenant(prisma, '株式会社鍵番号');
    const id = randomUUID();
    const email = `keys-${id.slice(0, 8)}@example.co.jp`;
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '鍵', givenName: '三郎', email, workflowId } });
    const reminders = () => outbox.mails.filter((m) => m.to.includes(email) && m.subject.includes('再通知'));
    const skipTo = async (at: number) => env.sleep(at - (await env.currentTimeMs()));

    // The release (its workflows/ and shared/ from git): invited, day 3's reminder, then the tenant's
    // days change on day 10 (days 5 and 8 count as past) and day 60's reminder goes out.
    const released = await startWorker(env, { prisma, outbox, logger, taskQueue, workflowBundle: await releasedWorkflowBundle(RELEASE_BEFORE_BY_DAY) });
    const handle = await env.client.workflow.start('registrantWorkflow', { taskQueue, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [3, 60, 70, 80] }] });
    await outbox.waitFor((m) => m.to.includes(email), 15_000);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
    const invitedAt = Date.parse((await handle.query(lifecycleQuery)).invitation!.invitedAt);
    await skipTo(invitedAt + 3 * DAY_MS + 60_000);
    await until(async () => reminders().length === 1, 'day 3\'s reminder');
    await skipTo(invitedAt + 10 * DAY_MS);
    await handle.signal(reminderDaysSignal, { days: [3, 5, 8, 60, 70, 80] });
    await until(async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at === new Date(invitedAt + 60 * DAY_MS).toISOString(), 'day 60 as the next reminder');
    await skipTo(invitedAt + 60 * DAY_MS + 60_000);
    await until(async () => reminders().length === 2, 'day 60\'s reminder');
    await released.stop();

    // This code takes over from the history: days 70 and 80 each get their own mail.
    const current = await startWorker(env, { prisma, outbox, logger, taskQueue });
    try {
      await skipTo(invitedAt + 81 * DAY_MS);
      await until(async () => (await handle.query(lifecycleQuery)).invitation?.remindersSent === 6, 'days 70 and 80 dealt with');
      expect(reminders()).toHaveLength(4);
      expect(new Set(reminders().map((m) => m.messageId)).size).toBe(4);
      await expect(replay(await historyOf(handle), workflowId)).resolves.toBeUndefined();
      await handle.terminate('test finished');
    } finally {
      await current.stop();
    }
  });

  it('a v3 run moves to the current lifecycle at its next wake: one new run carrying its state, no mail twice, both runs replay', async () => {
    const taskQueue = 'replay-upgrade';
    const tenantId = await createTenant(prisma, '株式会社アップグレード');
    const hr = await createLoginUser(prisma, tenantId, 'manager');
    const actor: StepActor = { type: 'login_user', id: hr.id };
    const id = randomUUID();
    const email = `upgrade-${id.slice(0, 8)}@example.co.jp`;
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '移行', givenName: '次郎', email, workflowId } });

    // Started while the v3 release ran: it invites and sleeps until the reminder day.
    const v3 = await asReleased(taskQueue, [SAFE_STEPS_PATCH, UPGRADE_PATCH]);
    const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [3] }] })) as WorkflowHandleWithFirstExecutionRunId;
    await outbox.waitFor((m) => m.to.includes(email), 15_000);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
    expect((await handle.query(lifecycleQuery)).attention).toBeUndefined(); // v3 state has none
    await v3.stop();

    // The upgrade is deployed; the reminder day comes.
    const current = await startWorker(env, { prisma, outbox, logger, taskQueue });
    try {
      await env.sleep(3 * DAY_MS + 60_000);
      await outbox.waitFor((m) => m.to.includes(email) && m.subject.includes('再通知'), 15_000);
      const latest = env.client.workflow.getHandle(workflowId);
      await until(async () => (await latest.query(lifecycleQuery)).invitation?.remindersSent === 1, 'the reminder on the new run');
      const { runId } = await latest.describe();
      expect(runId).not.toBe(handle.firstExecutionRunId);

      // The first run ended in continue-as-new at the wake, before the reminder, under the upgrade marker.
      const first = await historyOf(env.client.workflow.getHandle(workflowId, handle.firstExecutionRunId));
      const events = first.events as { eventType: string; markerRecordedEventAttributes?: { details?: Record<string, { payloads?: { data?: string }[] }> } }[];
      expect(events.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
      const patches = events
        .flatMap((e) => e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? [])
        .map((p) => (JSON.parse(Buffer.from(p.data ?? '', 'base64').toString('utf8')) as { id: string }).id);
      expect(patches).toContain(UPGRADE_PATCH);
      expect(patches).not.toContain(SAFE_STEPS_PATCH);
      expect(events.filter((e) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toHaveLength(1); // the invitation only
      await expect(replay(first, workflowId)).resolves.toBeUndefined();
      await record('v3-upgraded-to-v4.json', first);

      // The new run is the current lifecycle: its steps work, with the state carried over.
      await completeDraft(prisma, id);
      expect(await latest.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] })).toMatchObject({ status: 'pending', attention: {} });
      expect(await latest.executeUpdate(approveUpdate, { args: [{ actor }] })).toMatchObject({ status: 'completed', invitation: { round: 1, remindersSent: 1 } });
      expect(outbox.mails.filter((m) => m.to.includes(email))).toHaveLength(2);
      await expect(replay(await historyOf(latest), workflowId)).resolves.toBeUndefined();
      await latest.terminate('test finished');
    } finally {
      await current.stop();
    }
  });

  it('the deletion notice as first released mails once and replays (late arrivals are the current version\'s)', async () => {
    const taskQueue = 'replay-notice-v1';
    const tenantId = await createTenant(prisma, '株式会社お知らせ');
    await createLoginUser(prisma, tenantId, 'owner');
    const dueDate = japanDate(startOfJapanDay(japanDate(await env.currentTimeMs())) + 60 * DAY_MS);
    const ids = [randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      await prisma.registrant.create({ data: { id, tenantId, familyName: '通知', givenName: `${i + 1}郎`, workflowId: registrantWorkflowId(tenantId, id), retirementDate: new Date(), deletionDueDate: new Date(`${dueDate}T00:00:00Z`), deletionRule: 'manual' } });
    }
    const v1 = await asReleased(taskQueue, [NOTICE_PATCH]);
    try {
      const input: DeletionNoticeInput = { tenantId, dueDate };
      const handle = await env.client.workflow.signalWithStart('deletionNoticeWorkflow', { taskQueue, workflowId: deletionNoticeWorkflowId(tenantId, dueDate), args: [input], signal: deletionDueSignal, signalArgs: [{ registrantId: ids[0]! }] });
      await handle.signal(deletionDueSignal, { registrantId: ids[1]! });
      expect(await handle.result()).toBe(2);
      const json = await historyOf(handle);
      await expect(replay(json, 'notice-v1')).resolves.toBeUndefined();
      await record('notice-v1.json', json);
    } finally {
      await v1.stop();
    }
  });

});
