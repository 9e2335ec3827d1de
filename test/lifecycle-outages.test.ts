/**
 * Outages delay, never cancel — with real parts taken away: the SMTP capture is closed (connections
 * refused) and opened again on its port, and this file's own PostgreSQL cluster is stopped and
 * started, while the time-skipping Temporal server makes the days pass. The workflow waits out each
 * outage (flagged in its state and in the MynaflowNeedsAttention search attribute), never fails, and
 * does each step and sends each mail once when the dependency is back.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateStage, type WorkflowHandleWithFirstExecutionRunId as WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { clusterInfo, createDatabase, ensureCluster, startPostgres, stopPostgres, type ClusterInfo } from '../services/devstack/postgres';
import { freePort } from '../services/devstack/ports';
import { invitationSubject } from '../services/mail/invitation-mail';
import type { CapturedMail, Outbox } from '../services/outbox/outbox';
import {
  japanDate,
  lifecycleQuery,
  registrantWorkflowId,
  SEARCH_ATTRIBUTES,
  remandUpdate,
  setRetirementUpdate,
  startOfJapanDay,
  submitUpdate,
  type LifecycleState,
  type RegistrantWorkflowInput,
} from '../shared';
import { createLoginUser, createTenant, loginAs, memoryLogger, startOutbox, startWorker, testApp, testVault, type WorkerHandle } from './support/fixtures';
import { completeDraft } from './support/lifecycle';
import { randomMyNumber } from './support/leak-scan';
import { isTo, mailGate } from './support/mail-gate';
import { createTimeSkippingEnv } from './support/temporal';
import { until } from './support/until';
import { migrateAsOwner } from './support/migrate';
import { createTimeline } from '../services/registrants/timeline';

/** The invitation's subject as this file's company gets it. */
const INVITATION_SUBJECT = invitationSubject('invitation', '株式会社障害対応');

const TASK_QUEUE = 'lifecycle-outages';
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

let dir: string;
let cluster: ClusterInfo;
let postgres: ChildProcess;
let databaseUrl: string;
let prisma: PrismaClient;
let owner: PrismaClient;
let env: TestWorkflowEnvironment;
let smtpPort: number;
let outbox: Outbox | undefined;
/** Every mail any incarnation of the capture took. */
const mails: CapturedMail[] = [];
let worker: WorkerHandle;
let tenantId: string;
const gate = mailGate();
const started: WorkflowHandle[] = [];

async function openOutbox() {
  outbox = await startOutbox({ smtpPort, decide: gate.decide });
  const kept = outbox.mails;
  // Mirror what this incarnation keeps into the file's list.
  outbox.mails.push = (...items: CapturedMail[]) => (mails.push(...items), Array.prototype.push.apply(kept, items));
}
async function closeOutbox() {
  await outbox?.close();
  outbox = undefined;
}
const pgDown = () => stopPostgres(postgres);
const pgUp = async () => {
  postgres = await startPostgres(cluster, { logFile: path.join(dir, 'postgres.log') });
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-outages-'));
  const dataDir = path.join(dir, 'pg');
  const { password } = ensureCluster(dataDir);
  cluster = clusterInfo(dataDir, await freePort(), password);
  await pgUp();
  await createDatabase(cluster, 'outages');
  // The product as the app role; failures are injected as the owner (a trigger the app may not add).
  databaseUrl = await migrateAsOwner(cluster.url('outages'), { login: true });
  prisma = createPrisma(databaseUrl);
  owner = createPrisma(cluster.url('outages'));
  env = await createTimeSkippingEnv();
  smtpPort = await freePort();
  await openOutbox();
  // With a workflow cache, as in production: days of retry rounds make a long history, and replaying
  // it whole for every task (the other files' setting) would make this file slow, not stricter.
  worker = await startWorker(env, { prisma, outbox: outbox!, smtpPort, logger: memoryLogger().logger, taskQueue: TASK_QUEUE, options: { maxCachedWorkflows: 100 } });
  tenantId = await createTenant(prisma, '株式会社障害対応');
}, 180_000);

afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
  await closeOutbox();
  await prisma?.$disconnect();
  await owner?.$disconnect();
  if (postgres) await stopPostgres(postgres);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  gate.clear();
  // A workflow left retrying would keep the worker busy for the next test.
  await Promise.all(started.splice(0).map((h) => h.terminate('test finished').catch(() => undefined)));
});

const mailsTo = (email: string) => mails.filter((m) => isTo(m, email));
const state = (handle: WorkflowHandle): Promise<LifecycleState> => handle.query(lifecycleQuery);
const needsAttention = async (handle: WorkflowHandle) => (await handle.describe()).typedSearchAttributes.get(SEARCH_ATTRIBUTES.needsAttention);
const operations = async (registrantId: string) => (await prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);

async function startRegistrant(label: string, input: Partial<RegistrantWorkflowInput> = {}) {
  const id = randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.co.jp`;
  const workflowId = registrantWorkflowId(tenantId, id);
  await prisma.registrant.create({ data: { id, tenantId, familyName: '障害', givenName: label, email, workflowId, ...(input.status ? { status: input.status, loginLocked: true } : {}) } });
  const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [], ...input }] })) as WorkflowHandle;
  started.push(handle);
  return { id, email, workflowId, handle };
}

/**
 * Lets server time pass in steps (so retries due meanwhile run) until `done` holds: up to an hour,
 * more than the longest back-off of a failing step (30 minutes) and a round (5). Answers the server
 * time it took, to the step.
 */
async function passUntil(done: () => Promise<boolean>, what: string, stepMs = 5 * MINUTE_MS, steps = 12): Promise<number> {
  const from = await env.currentTimeMs();
  for (let i = 0; i < steps; i++) {
    if (await done()) return (await env.currentTimeMs()) - from;
    await env.sleep(stepMs);
  }
  await until(done, what);
  return (await env.currentTimeMs()) - from;
}

/**
 * "Within about half an hour of the dependency's return", as passUntil can see it: the longest
 * back-off (30 minutes) and a round's minute, sampled in 5-minute steps, one more step allowed for a
 * loaded machine whose worker is still busy when the server's clock moves on. A back-off of an hour
 * would fail it.
 */
const WITHIN_HALF_AN_HOUR = 45 * MINUTE_MS;

describe('SMTP refusing connections for 3 days across a reminder day', () => {
  it('keeps the workflow running and flagged meanwhile; the reminder goes out once when the server is back, with one working link', async () => {
    const { id, email, workflowId, handle } = await startRegistrant('メール停止', { reminderDays: [7] });
    await until(async () => mailsTo(email).length === 1 && (await state(handle)).invitation?.state === 'open', 'the invitation');
    const { invitedAt } = (await state(handle)).invitation!;

    await closeOutbox();
    // The reminder day passes with the mail server refusing every connection.
    await env.sleep(Date.parse(invitedAt) + 7 * DAY_MS + HOUR_MS - (await env.currentTimeMs()));
    const waiting = await state(handle);
    expect(waiting.attention?.['reminder-1-1']).toMatchObject({ errorType: expect.any(String), rounds: expect.any(Number) });
    expect(waiting.invitation).toMatchObject({ remindersSent: 0, state: 'open' });
    expect(await needsAttention(handle)).toBe(true);

    // Three days in all without mail.
    await env.sleep(3 * DAY_MS - HOUR_MS);
    const { status } = await handle.describe();
    expect(status.name).toBe('RUNNING');
    const flagged = (await state(handle)).attention?.['reminder-1-1'];
    expect(flagged!.rounds).toBeGreaterThan(3);
    expect(Date.parse(flagged!.since)).toBeLessThan(Date.parse(invitedAt) + 7 * DAY_MS + HOUR_MS);
    expect(mailsTo(email)).toHaveLength(1);

    await openOutbox();
    expect(await passUntil(async () => mailsTo(email).length >= 2, 'the reminder after the outage')).toBeLessThanOrEqual(WITHIN_HALF_AN_HOUR);
    await until(async () => (await state(handle)).invitation?.remindersSent === 1, 'the reminder to be counted');
    expect(mailsTo(email).map((m) => m.subject)).toEqual([INVITATION_SUBJECT, invitationSubject('reminder', '株式会社障害対応')]);
    expect((await state(handle)).attention).toEqual({});
    await until(async () => (await needsAttention(handle)) === false, 'the flag to clear');

    // Once: one reminder in the ledger and the history; the retries left no dangling links behind.
    expect(await prisma.mailDelivery.findMany({ where: { key: { startsWith: workflowId }, kind: 'reminder' } })).toEqual([expect.objectContaining({ status: 'sent' })]);
    expect((await operations(id)).filter((o) => o === 'reminder_sent')).toHaveLength(1);
    const reminderLinks = await prisma.invitation.findMany({ where: { registrantId: id, issueKey: { contains: '/reminder/' } } });
    expect(reminderLinks).toHaveLength(1);
    // A few more days pass: nothing is sent twice.
    await env.sleep(2 * DAY_MS);
    expect(mailsTo(email)).toHaveLength(2);
    // Some 430 attempts against a closed port pass in server time; on a loaded machine that takes a while.
  }, 300_000);
});

describe('HR and the first invitation while the mail server refuses', () => {
  const actor = { type: 'system', id: null } as const;

  it('the first invitation waits for the server without holding the person\'s turn: HR\'s retirement date goes through meanwhile', async () => {
    await closeOutbox();
    const { id, email, handle } = await startRegistrant('初回停止', { reminderDays: [7] });
    await env.sleep(10 * MINUTE_MS);
    expect(await state(handle)).toMatchObject({ invitation: null, mailDue: { kind: 'invitation', round: 1 } });
    expect((await state(handle)).attention?.['invitation-mail-1']).toBeDefined();
    // HR's timeline says so: the mail is asked for, not accepted, and its step is retrying.
    const timeline = createTimeline({ prisma, temporal: { client: env.client } });
    const failing = await timeline.forRegistrant(tenantId, id);
    expect(failing.mails.map((m) => [m.kind, m.status])).toEqual([['invitation', 'sending']]);
    expect(failing.upcoming).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'invitation-mail-1', label: '登録依頼メール', attention: expect.objectContaining({ errorType: expect.any(String), rounds: expect.any(Number) }) })]));
    // The person's turn is not held for the outage: HR's step is carried out within a round (5 minutes).
    const today = japanDate(await env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) + 200 * DAY_MS);
    const retire = await handle.startUpdate(setRetirementUpdate, { args: [{ actor, retirementDate, deletion: null }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await env.sleep(6 * MINUTE_MS);
    expect(await retire.result()).toMatchObject({ retirementDate, invitation: null, mailDue: { kind: 'invitation' } });

    await openOutbox();
    expect(await passUntil(async () => mailsTo(email).length === 1, 'the invitation after the outage')).toBeLessThanOrEqual(WITHIN_HALF_AN_HOUR);
    await until(async () => (await state(handle)).invitation?.state === 'open', 'the round to begin');
    expect(await state(handle)).toMatchObject({ invitation: { round: 1, remindersSent: 0 }, attention: {} });
    expect((await state(handle)).mailDue).toBeUndefined();
    // …then sent, and what comes next is the reminder, the link's end and the retirement HR set, none failing.
    const sent = await timeline.forRegistrant(tenantId, id);
    expect(sent.mails.map((m) => [m.kind, m.status])).toEqual([['invitation', 'sent']]);
    expect(sent.upcoming!.map((u) => [u.name, u.attention])).toEqual([['reminder-1-1', undefined], ['expiry-1', undefined], ['retirement', undefined]]);
    expect((await prisma.registrant.findUniqueOrThrow({ where: { id } })).invitationState).toBe('open');
  });

  it('HR\'s resend over the API answers 202, and its operation reads failed DEPENDENCY_UNAVAILABLE after its rounds (about 20 minutes) with nothing changed, and the old link still works; a remand keeps its decision and mails when the server is back', async () => {
    const { id, email, handle } = await startRegistrant('再送停止');
    await until(async () => mailsTo(email).length === 1 && (await state(handle)).invitation?.state === 'open', 'the invitation');
    const liveBefore = await prisma.invitation.findMany({ where: { registrantId: id, revokedAt: null } });
    expect(liveBefore).toHaveLength(1);
    const { app } = testApp({ prisma, logger: memoryLogger().logger, outbox: outbox!, temporalClient: env.client, taskQueue: TASK_QUEUE, stepAnswerWithinMs: 2000 });
    const hr = await loginAs(app, outbox!, await createLoginUser(prisma, tenantId, 'manager'));

    await closeOutbox();
    const resend = await hr.post(`/v1/registrants/${id}/invitation`).send({}).expect(202);
    await env.sleep(25 * MINUTE_MS);
    await until(async () => (await hr.get(resend.headers.location!)).body.status !== 'pending', 'the resend to end');
    const gaveUp = (await hr.get(resend.headers.location!).expect(200)).body;
    expect(gaveUp).toMatchObject({ status: 'failed', error: { status: 503, code: 'DEPENDENCY_UNAVAILABLE', title: expect.stringContaining('メールサーバーまたはデータベースが応答しない') } });
    expect(await state(handle)).toMatchObject({ invitation: { round: 1, state: 'open' }, attention: {} });
    expect((await prisma.invitation.findMany({ where: { registrantId: id, revokedAt: null } })).map((l) => l.id)).toEqual(liveBefore.map((l) => l.id));
    expect(await operations(id)).toEqual(['invitation_sent']);

    // The employee sends; HR remands while the server still refuses: the decision stands.
    await completeDraft(prisma, id);
    await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    const remand = await handle.startUpdate(remandUpdate, { args: [{ actor, reason: '裏面を撮り直してください' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await env.sleep(25 * MINUTE_MS);
    expect(await remand.result()).toMatchObject({ status: 'remanded', mailDue: { kind: 'remand', round: 2 } });
    expect((await prisma.registrant.findUniqueOrThrow({ where: { id } })).status).toBe('remanded');

    await openOutbox();
    expect(await passUntil(async () => mailsTo(email).length === 2, 'the remand mail after the outage')).toBeLessThanOrEqual(WITHIN_HALF_AN_HOUR);
    const remandMail = mailsTo(email)[1]!;
    expect(remandMail.subject).toContain('差戻し');
    expect(remandMail.text).toContain('裏面を撮り直してください');
    await until(async () => (await state(handle)).invitation?.round === 2, 'the remand round');
    expect((await prisma.invitation.findMany({ where: { registrantId: id, revokedAt: null } })).map((l) => l.issueKey)).toEqual([expect.stringMatching(/\/round\/2\/remand$/)]);
  });
});

describe('PostgreSQL unreachable for 2 hours on the deletion due date', () => {
  it('deletes once the database is back, with its deletion record; the workflow never fails', async () => {
    const { id, handle, workflowId } = await startRegistrant('削除停止', { invite: false, status: 'completed' });
    const today = japanDate(await env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) + DAY_MS);
    const dueDate = japanDate(startOfJapanDay(today) + 40 * DAY_MS);
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor: { type: 'system', id: null }, retirementDate, deletion: { dueDate, rule: 'manual' } }] });
    // Something to delete: the person's number in the vault.
    const secretId = await testVault(prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) });
    await prisma.registrant.update({ where: { id }, data: { myNumberSecretId: secretId } });

    await env.sleep(startOfJapanDay(dueDate) - 10 * MINUTE_MS - (await env.currentTimeMs()));
    expect(await state(handle)).toMatchObject({ retired: true, deleted: false, deletion: { dueDate, noticeSent: true } });

    await pgDown();
    try {
      await env.sleep(2 * HOUR_MS);
      const waiting = await state(handle);
      expect(waiting).toMatchObject({ deleted: false, deletion: { dueDate } });
      expect(waiting.attention?.deletion).toMatchObject({ errorType: expect.any(String) });
      expect(await needsAttention(handle)).toBe(true);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await pgUp();
    }

    expect(await passUntil(async () => (await handle.describe()).status.name !== 'RUNNING', 'the deletion after the outage')).toBeLessThanOrEqual(WITHIN_HALF_AN_HOUR);
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await handle.result()).toMatchObject({ deleted: true, attention: {} });
    expect(await prisma.registrant.findUnique({ where: { id } })).toBeNull();
    expect(await prisma.vaultSecret.findUnique({ where: { id: secretId } })).toBeNull();
    const records = await prisma.deletionRecord.findMany({ where: { registrantId: id } });
    expect(records).toEqual([expect.objectContaining({ kind: 'registrant', rule: 'manual', dueDate: new Date(`${dueDate}T00:00:00Z`), actorType: 'system' })]);
    expect(records[0]!.stepKey.startsWith(`${workflowId}/${handle.firstExecutionRunId}/scheduled-deletion/1/`)).toBe(true);
  });
});

describe('the database after the SMTP server accepted a mail', () => {
  const invitationRecorded = async (id: string, workflowId: string, handle: WorkflowHandle) => {
    const key = `${workflowId}/${handle.firstExecutionRunId}/round/1/invitation`;
    await until(async () => (await prisma.mailDelivery.findUnique({ where: { key } }))?.recordedAt != null, 'the mail to be recorded');
    expect(await prisma.mailDelivery.findUniqueOrThrow({ where: { key } })).toMatchObject({ status: 'sent' });
    expect((await operations(id)).filter((o) => o === 'invitation_sent')).toHaveLength(1);
  };

  it('fails twice to write "sent", then succeeds: one mail, one history row, no second attempt of the activity', async () => {
    const marker = `fail-${randomUUID().slice(0, 8)}`;
    // A real failure of the database's: a trigger refuses the first two writes of "sent" for this address.
    await owner.$executeRawUnsafe(`CREATE SEQUENCE "${marker}"`);
    await owner.$executeRawUnsafe(`CREATE FUNCTION "${marker}"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.recipient LIKE '${marker}%' AND nextval('"${marker}"') <= 2 THEN RAISE EXCEPTION 'injected failure'; END IF;
        RETURN NEW;
      END $$`);
    await owner.$executeRawUnsafe(`CREATE TRIGGER "${marker}" BEFORE UPDATE ON mail_deliveries FOR EACH ROW WHEN (NEW.status = 'sent' AND OLD.status <> 'sent') EXECUTE FUNCTION "${marker}"()`);
    try {
      const id = randomUUID();
      const email = `${marker}@example.co.jp`;
      const workflowId = registrantWorkflowId(tenantId, id);
      await prisma.registrant.create({ data: { id, tenantId, familyName: '障害', givenName: '記録', email, workflowId } });
      const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [] }] })) as WorkflowHandle;
      started.push(handle);
      await invitationRecorded(id, workflowId, handle);
      expect(Number((await prisma.$queryRawUnsafe<{ last_value: bigint }[]>(`SELECT last_value FROM "${marker}"`))[0]!.last_value)).toBe(3);
      expect(mailsTo(email)).toHaveLength(1);
      await until(async () => (await state(handle)).invitation?.state === 'open', 'the invitation to be open');
      const attempts = ((await handle.fetchHistory()).events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
      expect(attempts).toEqual([1]);
    } finally {
      await owner.$executeRawUnsafe(`DROP TRIGGER "${marker}" ON mail_deliveries`);
      await owner.$executeRawUnsafe(`DROP FUNCTION "${marker}"()`);
      await owner.$executeRawUnsafe(`DROP SEQUENCE "${marker}"`);
    }
  });

  it('PostgreSQL stops the moment the server accepts and is back seconds later: one mail', async () => {
    const id = randomUUID();
    const email = `pgstop-${id.slice(0, 8)}@example.co.jp`;
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '障害', givenName: '停止', email, workflowId } });
    const mail = gate.holdFirstMailTo(email);
    const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [] }] })) as WorkflowHandle;
    started.push(handle);
    await mail.held;
    await pgDown();
    try {
      mail.release('accept');
      // The worker heard "250 OK" and is trying to write it down meanwhile.
      await new Promise((resolve) => setTimeout(resolve, 3000));
    } finally {
      await pgUp();
    }
    await invitationRecorded(id, workflowId, handle);
    expect(mailsTo(email)).toHaveLength(1);
  });
});
