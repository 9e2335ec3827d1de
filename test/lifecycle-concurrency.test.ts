/**
 * One step at a time, on the time-skipping Temporal server with real PostgreSQL and the SMTP
 * capture. Steps are made to overlap for real: a step's activity waits for the registrant's row,
 * held by another connection, or for the SMTP server's answer, held at the capture, while more
 * steps and a timer arrive. Of steps that exclude each other exactly one applies and the other gets
 * its documented refusal; the workflow's state and the database agree.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { DELETION_NOTICE_SUBJECT } from '../activities/deletion-notices';
import {
  approveUpdate,
  deletionDueSignal,
  deletionNoticeWorkflowId,
  inviteUpdate,
  japanDate,
  lifecycleQuery,
  registrantWorkflowId,
  remandUpdate,
  setRetirementUpdate,
  startOfJapanDay,
  submitUpdate,
  type LifecycleState,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../shared';
import { createLoginUser, createTenant } from './support/fixtures';
import { activityRunning, completeDraft, holdRow, refusal } from './support/lifecycle';
import { isTo, mailGate } from './support/mail-gate';
import { createTimeSkippingEnv } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'lifecycle-concurrency';
const DAY_MS = 86_400_000;

/** The capture's say over each mail: tests hold one while steps pile up behind it. */
const gate = mailGate();
/** Mailboxes the capture refuses with 550, as a server refuses a mistyped address. */
const NOBODY = 'nobody-';
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, env: createTimeSkippingEnv, outbox: { decide: gate.decide, rejectRecipient: (a) => a.startsWith(NOBODY) } });

let tenantId: string;
let actor: StepActor;
const employee: StepActor = { type: 'registrant', id: null };
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社同時操作');
  actor = { type: 'login_user', id: (await createLoginUser(harness.prisma, tenantId, 'manager', '人事 同時')).id };
});
afterEach(async () => {
  gate.clear();
  await Promise.all(started.splice(0).map((h) => h.terminate('test finished').catch(() => undefined)));
});

const mailsTo = (email: string) => harness.outbox.mails.filter((m) => isTo(m, email));
const state = (handle: WorkflowHandle): Promise<LifecycleState> => handle.query(lifecycleQuery);
const operations = async (registrantId: string) => (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);
const timersFired = async (handle: WorkflowHandle) => ((await handle.fetchHistory()).events ?? []).filter((e) => e.timerFiredEventAttributes).length;
const row = (id: string) => harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
const today = async () => japanDate(await harness.env.currentTimeMs());
const day = async (n: number) => japanDate(startOfJapanDay(await today()) + n * DAY_MS);

async function invited(label: string, reminderDays: number[] = []) {
  const id = randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.co.jp`;
  const workflowId = registrantWorkflowId(tenantId, id);
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '並行', givenName: label, email, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays };
  const handle = (await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] })) as WorkflowHandle;
  started.push(handle);
  await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
  await until(async () => (await state(handle)).invitation?.state === 'open', 'the invitation to be open');
  return { id, email, handle };
}

async function submitted(label: string) {
  const person = await invited(label);
  await completeDraft(harness.prisma, person.id);
  await person.handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
  return person;
}

/** A slow step first: HR's retirement date, whose activity waits for the row held elsewhere. */
async function slowStepInFlight(handle: WorkflowHandle, registrantId: string) {
  const lock = await holdRow(registrantId);
  const slow = handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate: await day(200), deletion: { dueDate: await day(600), rule: 'manual' } }] });
  await activityRunning(handle, 'recordStep');
  return { lock, slow };
}

describe('two HR decisions queued behind a slow step', () => {
  it('approve and remand: exactly one applies, the other is refused NOT_PENDING; state and database agree', async () => {
    const { id, email, handle } = await submitted('承認差戻');
    const { lock, slow } = await slowStepInFlight(handle, id);

    // Both are accepted while the person is still pending, and wait their turn.
    const approve = await handle.startUpdate(approveUpdate, { args: [{ actor }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    const remand = await handle.startUpdate(remandUpdate, { args: [{ actor, reason: '裏面が不鮮明です' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    await lock.release();
    await slow;

    const [approved, remanded] = await Promise.allSettled([approve.result(), remand.result()]);
    expect([approved.status, remanded.status].filter((s) => s === 'fulfilled')).toHaveLength(1);
    // The mutex is fair: the first to ask goes first.
    expect(approved.status).toBe('fulfilled');
    expect(await refusal(remand.result())).toMatchObject({ type: 'LifecycleRefusal', message: 'NOT_PENDING' });

    const s = await state(handle);
    expect(s).toMatchObject({ status: 'completed', loginLocked: true, invitation: { state: 'closed', round: 1 } });
    expect(await row(id)).toMatchObject({ status: 'completed', loginLocked: true, invitationState: 'closed', statusReason: null });
    expect((await operations(id)).filter((o) => o === 'approved' || o === 'remanded')).toEqual(['approved']);
    // No remand mail: only the first invitation went out.
    expect(mailsTo(email)).toHaveLength(1);
  });
});

describe('a remand in flight and a resend', () => {
  it('the resend is refused at once (NOT_INVITABLE_PENDING) while the remand mail is at the SMTP server; one new round, its link works', async () => {
    const { id, email, handle } = await submitted('差戻再送');
    const mail = gate.holdFirstMailTo(email);
    const remanding = handle.executeUpdate(remandUpdate, { args: [{ actor, reason: '氏名の漢字を確認してください' }] });
    // The decision is in the database and the remand mail waits for the server's answer.
    await mail.held;
    expect(await row(id)).toMatchObject({ status: 'remanded' });

    // Another HR member clicks "resend": the step in flight has not finished, so the person is still pending.
    expect(await refusal(handle.executeUpdate(inviteUpdate, { args: [{ actor }] }))).toMatchObject({ message: 'NOT_INVITABLE_PENDING' });
    mail.release('accept');
    expect(await remanding).toMatchObject({ status: 'remanded', invitation: { round: 2, state: 'open' } });

    expect(mailsTo(email)).toHaveLength(2); // the invitation and the remand, nothing more
    expect((await operations(id)).filter((o) => o === 'invitation_sent')).toHaveLength(2);
    const live = await harness.prisma.invitation.findMany({ where: { registrantId: id, revokedAt: null } });
    expect(live.map((l) => l.issueKey)).toEqual([expect.stringMatching(/\/round\/2\/remand$/)]);
  });
});

describe('a timer firing while an update waits its turn', () => {
  it('the link expiry and the employee\'s submission behind a slow step: exactly one applies and the state says what the database says', async () => {
    const { id, handle } = await invited('期限提出');
    await completeDraft(harness.prisma, id);
    const { expiresAt } = (await state(handle)).invitation!;
    // Up to seconds before the link's 90 days end. The test server skips no time while an activity
    // runs, so from here on its clock runs in real time.
    await harness.env.sleep(Date.parse(expiresAt) - (await harness.env.currentTimeMs()) - 4000);
    expect((await state(handle)).invitation?.state).toBe('open');

    const { lock, slow } = await slowStepInFlight(handle, id);
    const submit = await handle.startUpdate(submitUpdate, { args: [{ actor: employee }], waitForStage: WorkflowUpdateStage.ACCEPTED });
    // The expiry timer fires while both wait, and queues behind them.
    await until(async () => (await timersFired(handle)) > 0, 'the expiry timer to fire', 30_000);
    await lock.release();
    await slow;
    const outcome = await submit.result().then(
      () => 'submitted',
      () => 'refused',
    );
    await until(async () => !(await handle.describe()).raw.pendingActivities?.length, 'no step in flight');

    const s = await state(handle);
    const r = await row(id);
    expect(s.invitation!.state).toBe(r.invitationState);
    expect(s.status).toBe(r.status);
    const ops = await operations(id);
    if (outcome === 'submitted') {
      expect(r).toMatchObject({ status: 'pending', invitationState: 'submitted' });
      expect(ops).not.toContain('invitation_expired');
    } else {
      expect(r).toMatchObject({ status: 'unregistered', invitationState: 'expired' });
      expect(ops).not.toContain('submitted');
    }
    // First come, first served: the employee asked before the day ended.
    expect(outcome).toBe('submitted');
  });
});

describe('the deletion notice while its mail goes out', () => {
  it('a registrant whose workflow signals in while the list is at the SMTP server is mailed too, in a mail of its own', async () => {
    const owner = await createLoginUser(harness.prisma, tenantId, 'owner', '総務 通知');
    const dueDate = await day(45);
    const ids = [randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) {
      await harness.prisma.registrant.create({
        data: { id, tenantId, familyName: '通知', givenName: ['一郎', '二郎'][i]!, workflowId: registrantWorkflowId(tenantId, id), retirementDate: new Date(), deletionDueDate: new Date(`${dueDate}T00:00:00Z`), deletionRule: 'manual' },
      });
    }
    const mail = gate.holdFirstMailTo(owner.email);
    const notice = await harness.env.client.workflow.signalWithStart('deletionNoticeWorkflow', {
      taskQueue: TASK_QUEUE,
      workflowId: deletionNoticeWorkflowId(tenantId, dueDate),
      args: [{ tenantId, dueDate }],
      signal: deletionDueSignal,
      signalArgs: [{ registrantId: ids[0]! }],
    });
    started.push(notice as WorkflowHandle);
    // The gathering ends after 10 quiet minutes; the list with the first person reaches the server.
    // (Once the mail activity runs the test server's clock runs in real time: sleep just past it.)
    await harness.env.sleep(10 * 60_000 + 2000);
    const first = await mail.held;
    expect(first.text).toContain('通知 一郎');
    // The second person's workflow signals in now, while the first mail waits for the server's answer.
    await notice.signal(deletionDueSignal, { registrantId: ids[1]! });
    mail.release('accept');
    expect(await notice.result()).toBe(2);
    const lists = mailsTo(owner.email).filter((m) => m.subject === DELETION_NOTICE_SUBJECT);
    expect(lists).toHaveLength(2);
    expect(lists[1]!.text).toContain('通知 二郎');
    expect(lists[1]!.text).not.toContain('通知 一郎');
  });
});

describe('a mailbox the mail server refuses (550)', () => {
  it('is not an outage: the first invitation is dropped at once, a resend is refused MailRejected, and the person\'s turn is never held', async () => {
    const id = randomUUID();
    const email = `${NOBODY}${id.slice(0, 8)}@example.co.jp`;
    const workflowId = registrantWorkflowId(tenantId, id);
    await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '宛先', givenName: '不明', email, workflowId } });
    const handle = (await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [7] }] })) as WorkflowHandle;
    started.push(handle);
    await until(async () => (await state(handle)).mailDue === undefined, 'the first invitation to be given up');
    expect(await state(handle)).toMatchObject({ invitation: null, attention: {} });
    expect(await harness.prisma.invitation.count({ where: { registrantId: id } })).toBe(0);
    expect(await harness.prisma.mailDelivery.findMany({ where: { key: { startsWith: workflowId } } })).toEqual([expect.objectContaining({ status: 'sending' })]);

    expect(await refusal(handle.executeUpdate(inviteUpdate, { args: [{ actor }] }))).toMatchObject({ type: 'MailRejected' });
    // HR corrects the address and sends again: it goes out.
    const fixed = `fixed-${id.slice(0, 8)}@example.co.jp`;
    await harness.prisma.registrant.update({ where: { id }, data: { email: fixed } });
    expect(await handle.executeUpdate(inviteUpdate, { args: [{ actor }] })).toMatchObject({ invitation: { round: 1, state: 'open' } });
    expect(mailsTo(fixed)).toHaveLength(1);
    expect(mailsTo(email)).toHaveLength(0);
  });
});
