/**
 * The invitation reminders of the registrant workflow on the time-skipping Temporal test server:
 * days pass in moments, while PostgreSQL and the SMTP capture are real.
 *
 * Under time skipping the clock only runs ahead while a test awaits `env.sleep()` or a workflow
 * result; otherwise it is locked to real time. So after a sleep the activity it triggered may still
 * be running: positive checks wait for the mail, negative checks first query the workflow (a query is
 * answered only after any pending workflow task) and then look at the outbox.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../activities';
import { hashToken } from '../services/auth/token-hash';
import { invitationSubject } from '../services/mail/invitation-mail';
import { createMailTransport } from '../services/mail/transport';
import type { CapturedMail } from '../services/outbox/outbox';
import { createDraftStore } from '../services/registrants/draft-store';
import {
  approveUpdate,
  lifecycleQuery,
  registrantWorkflowId,
  reminderDaysSignal,
  remindNowUpdate,
  statusQuery,
  submitUpdate,
  upcomingQuery,
  withdrawSignal,
  type InvitationRound,
  type RegistrantWorkflowInput,
  type SendInvitationMailInput,
} from '../shared';
import { createLoginUser, createTenant, testVault, MAIL_FROM, memoryLogger, PUBLIC_URL, startWorker, type WorkerHandle } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';
import { createTimeSkippingEnv } from './support/temporal';
import { until } from './support/until';
import { mailGate, tokenOf } from './support/mail-gate';
import { createReminderDaysSweep } from '../services/reconciler/reminder-days';
import { useWorkerHarness } from './support/worker-harness';

/** The invitation's subject as this file's company gets it. */
const INVITATION_SUBJECT = invitationSubject('invitation', '株式会社リマインド');

const TASK_QUEUE = 'invitation-reminders';
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;
const REMINDER_SUBJECT = invitationSubject('reminder', '株式会社リマインド');

const { logger } = memoryLogger();
/** A test's say over a mail arriving at the outbox (see mailGate). */
const gate = mailGate();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger, env: createTimeSkippingEnv, outbox: { decide: gate.decide } });
let tenantId: string;
/** Every workflow a test started; whatever is still running afterwards is terminated. */
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社リマインド');
});

afterEach(async () => {
  gate.clear();
  await Promise.all(started.splice(0).map((h) => h.terminate('test finished').catch(() => undefined)));
});

/** A registrant row with its derived workflow id and an address no other test uses. */
async function createRegistrant(label: string) {
  const id = randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.co.jp`;
  const workflowId = registrantWorkflowId(tenantId, id);
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '山田', givenName: label, email, workflowId } });
  return { id, email, workflowId };
}

async function startRegistrantWorkflow(label: string, reminderDays: number[], taskQueue = TASK_QUEUE) {
  const registrant = await createRegistrant(label);
  const input: RegistrantWorkflowInput = { tenantId, registrantId: registrant.id, reminderDays };
  const handle = await harness.env.client.workflow.start('registrantWorkflow', {
    taskQueue,
    workflowId: registrant.workflowId,
    args: [input],
  });
  started.push(handle);
  return { ...registrant, handle };
}

const isReminder = (m: CapturedMail) => m.subject === REMINDER_SUBJECT;
const isInvitation = (m: CapturedMail) => m.subject === INVITATION_SUBJECT;
const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
const remindersTo = (email: string) => mailsTo(email).filter(isReminder);
const invitationsTo = (email: string) => mailsTo(email).filter(isInvitation);

/** Resolves once the person has received at least n reminders; returns the n-th. */
async function nthReminder(email: string, n: number): Promise<CapturedMail> {
  await harness.outbox.waitFor((m) => m.to.includes(email) && isReminder(m) && remindersTo(email).length >= n, 15_000);
  return remindersTo(email)[n - 1]!;
}

/** The current invitation round as the workflow holds it. */
async function roundOf(handle: WorkflowHandle): Promise<InvitationRound | null> {
  return (await handle.query(lifecycleQuery)).invitation;
}

/** Polls the lifecycle query (real time; the test server clock stays locked meanwhile). */
async function roundWhen(handle: WorkflowHandle, pred: (s: InvitationRound) => boolean, timeoutMs = 10_000): Promise<InvitationRound> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const round = await roundOf(handle);
    if (round && pred(round)) return round;
    if (Date.now() > deadline) throw new Error(`invitation never matched, last: ${JSON.stringify(round)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** HR's view: the registrant row's invitation state and expiry. */
const invitationRow = (id: string) => harness.prisma.registrant.findUniqueOrThrow({ where: { id }, select: { invitationState: true, invitationExpiresAt: true } });

/**
 * A worker like startWorker's, but without a workflow cache and so without a sticky task queue. The
 * time-skipping test server never moves a workflow task off the sticky queue of a worker that has
 * shut down (no sticky schedule-to-start fallback, ResetStickyTaskQueue unimplemented), so a
 * replacement worker on the normal queue would never see it. A real server reroutes such tasks.
 */
async function startUncachedWorker(taskQueue: string, identity?: string): Promise<WorkerHandle> {
  return startWorker(harness.env, { prisma: harness.prisma, outbox: harness.outbox, logger, taskQueue, options: { maxCachedWorkflows: 0, ...(identity ? { identity } : {}) } });
}

/** Polls a condition in real time. */

async function timersFired(handle: WorkflowHandle): Promise<number> {
  const { events } = await handle.fetchHistory();
  return (events ?? []).filter((e) => e.timerFiredEventAttributes).length;
}

/** Skips the test server clock forward to an absolute time. */
async function sleepUntil(targetMs: number): Promise<void> {
  const now = await harness.env.currentTimeMs();
  if (targetMs <= now) throw new Error(`already past the target by ${now - targetMs} ms`);
  await harness.env.sleep(targetMs - now);
}

/** The invitation went out and the workflow recorded it; returns when it was invited (workflow time). */
async function invited(handle: WorkflowHandle, email: string): Promise<{ invitationMail: CapturedMail; invitedAt: number }> {
  const invitationMail = await harness.outbox.waitFor((m) => m.to.includes(email) && isInvitation(m), 15_000);
  const round = await roundWhen(handle, (s) => s.state === 'open');
  expect(round).toMatchObject({ round: 1, remindersSent: 0 });
  expect(Date.parse(round.expiresAt) - Date.parse(round.invitedAt)).toBe(90 * DAY_MS);
  return { invitationMail, invitedAt: Date.parse(round.invitedAt) };
}

describe('registrant workflow reminders (time-skipping)', () => {
  it('sends no reminder before day 3 and exactly one fresh-link reminder after it', async () => {
    const { handle, email, workflowId, id } = await startRegistrantWorkflow('一日目', [3]);
    const { invitationMail } = await invited(handle, email);
    const invitationToken = tokenOf(invitationMail);

    await harness.env.sleep(3 * DAY_MS - HOUR_MS); // 2 days 23 hours
    expect(await roundOf(handle)).toMatchObject({ state: 'open', remindersSent: 0 });
    expect(remindersTo(email)).toHaveLength(0);

    await harness.env.sleep(2 * HOUR_MS);
    const reminder = await nthReminder(email, 1);
    expect(reminder.subject.endsWith('（再通知）')).toBe(true);
    expect(reminder.text).toContain('山田 一日目 様');
    const reminderToken = tokenOf(reminder);
    expect(reminderToken).not.toBe(invitationToken);
    expect(await roundWhen(handle, (s) => s.remindersSent >= 1)).toMatchObject({ state: 'open', remindersSent: 1 });
    expect(remindersTo(email)).toHaveLength(1);

    // The reminder's link is its own stored invitation (hash only), issued by the reminder step; the
    // invitation's own link still works alongside it.
    const issued = await harness.prisma.invitation.findUniqueOrThrow({ where: { issueKey: `${workflowId}/${handle.firstExecutionRunId}/round/1/reminder/1` } });
    expect(issued).toMatchObject({ registrantId: id, tokenHash: hashToken(reminderToken), revokedAt: null });
    const first = await harness.prisma.invitation.findUniqueOrThrow({ where: { issueKey: `${workflowId}/${handle.firstExecutionRunId}/round/1/invitation` } });
    expect(first).toMatchObject({ tokenHash: hashToken(invitationToken), revokedAt: null });

    // Nothing more until the link expires, and nothing after.
    await harness.env.sleep(120 * DAY_MS);
    expect(await roundOf(handle)).toMatchObject({ state: 'expired', remindersSent: 1 });
    expect(remindersTo(email)).toHaveLength(1);
    expect(invitationsTo(email)).toHaveLength(1);
  });

  it('reminds on days 7, 30 and 80, then expires on day 90: every link dead, HR sees expired, recorded', async () => {
    const { handle, email, id } = await startRegistrantWorkflow('既定', [7, 30, 80]);
    const { invitedAt } = await invited(handle, email);
    const tokens = new Set<string>([tokenOf(invitationsTo(email)[0]!)]);
    expect(await invitationRow(id)).toEqual({ invitationState: 'open', invitationExpiresAt: new Date(invitedAt + 90 * DAY_MS) });

    for (const [i, day] of [7, 30, 80].entries()) {
      await sleepUntil(invitedAt + day * DAY_MS - MINUTE_MS);
      expect(await roundOf(handle)).toMatchObject({ state: 'open', remindersSent: i });
      expect(remindersTo(email)).toHaveLength(i);

      await sleepUntil(invitedAt + day * DAY_MS + MINUTE_MS);
      const reminder = await nthReminder(email, i + 1);
      tokens.add(tokenOf(reminder));
      expect(await roundWhen(handle, (s) => s.remindersSent >= i + 1)).toMatchObject({ remindersSent: i + 1 });
      expect(remindersTo(email)).toHaveLength(i + 1);
    }
    expect(tokens.size).toBe(4);

    // Just before expiry every link still works.
    await sleepUntil(invitedAt + 90 * DAY_MS - MINUTE_MS);
    expect(await roundOf(handle)).toMatchObject({ state: 'open', remindersSent: 3 });
    expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(4);

    await sleepUntil(invitedAt + 90 * DAY_MS + MINUTE_MS);
    expect(await roundWhen(handle, (s) => s.state === 'expired')).toMatchObject({ remindersSent: 3 });
    expect((await invitationRow(id)).invitationState).toBe('expired');
    const invitations = await harness.prisma.invitation.findMany({ where: { registrantId: id } });
    expect(invitations).toHaveLength(4);
    expect(invitations.filter((i) => i.revokedAt === null)).toEqual([]);
    const expired = await harness.prisma.operationEvent.findMany({ where: { registrantId: id, operation: 'invitation_expired' } });
    expect(expired).toHaveLength(1);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'reminder_sent' } })).toBe(3);

    // The workflow stays for what comes next (a resend, a retirement), with no timer left to run.
    const { status } = await handle.describe();
    expect(status.name).toBe('RUNNING');
    await harness.env.sleep(365 * DAY_MS);
    expect(invitationsTo(email)).toHaveLength(1);
    expect(remindersTo(email)).toHaveLength(3);
    expect(mailsTo(email)).toHaveLength(4);
  });

  it('the tenant changes its reminder days on day 8: the reconciler\'s round tells the invited person, days already past are not sent late, the next goes out on its new day', async () => {
    const owner = await harness.agent(tenantId, 'owner');
    const { handle, email } = await startRegistrantWorkflow('変更', [7, 30, 80]);
    const { invitedAt } = await invited(handle, email);
    await sleepUntil(invitedAt + 8 * DAY_MS);
    await nthReminder(email, 1);
    await roundWhen(handle, (s) => s.remindersSent === 1);

    // Days 3 and 5 are already past, day 20 is ahead (and 30 is no more).
    await owner.patch('/v1/tenant').send({ reminderDays: [3, 5, 20] }).expect(200);
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).reminderDaysChangedAt).not.toBeNull();
    // The reconciler round's step, run here directly: awaiting a round's workflow would let the
    // time-skipping clock run on to the next timer. (test/reconciler.test.ts runs the round itself.)
    const sweep = createReminderDaysSweep({ prisma: harness.prisma, client: harness.env.client, inviteReminderDays: [7, 30, 80], logger });
    expect((await sweep.run({ tenantId })).told).toBeGreaterThanOrEqual(1);
    // Told, the mark is cleared; nothing went out at once.
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).reminderDaysChangedAt).toBeNull();
    const upcoming = await handle.query(upcomingQuery);
    expect(upcoming.find((u) => u.kind === 'reminder')).toMatchObject({ at: new Date(invitedAt + 20 * DAY_MS).toISOString() });
    expect(remindersTo(email)).toHaveLength(1);

    await sleepUntil(invitedAt + 20 * DAY_MS - MINUTE_MS);
    expect(remindersTo(email)).toHaveLength(1);
    await sleepUntil(invitedAt + 20 * DAY_MS + MINUTE_MS);
    await nthReminder(email, 2);
    // and none on day 30 any more
    await sleepUntil(invitedAt + 31 * DAY_MS);
    expect(await roundOf(handle)).toMatchObject({ state: 'open', remindersSent: 3 });
    expect(remindersTo(email)).toHaveLength(2);
    await owner.patch('/v1/tenant').send({ reminderDays: [7, 30, 80] }).expect(200);
  });

  it('the days change on day 8 to a list whose next day is earlier than the old one\'s (7, 30, 80 → 14, 60), after malformed signals it drops: day 14\'s reminder goes out, then day 60\'s, each once', async () => {
    const { handle, email } = await startRegistrantWorkflow('前倒し', [7, 30, 80]);
    const { invitedAt } = await invited(handle, email);
    await sleepUntil(invitedAt + 8 * DAY_MS);
    const first = await nthReminder(email, 1);
    await roundWhen(handle, (s) => s.remindersSent === 1);

    // Malformed signals (sent by hand) are dropped: the workflow takes the next good one.
    for (const bad of [{ days: '14' }, null, { days: { 0: 14 } }]) await handle.signal(reminderDaysSignal, bad as never);
    await handle.signal(reminderDaysSignal, { days: [14, 60] });
    await until(async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at === new Date(invitedAt + 14 * DAY_MS).toISOString(), 'day 14 as the next reminder');
    // HR's screen still counts the one mail sent.
    expect((await handle.query(statusQuery)).remindersSent).toBe(1);

    await sleepUntil(invitedAt + 14 * DAY_MS + MINUTE_MS);
    const second = await nthReminder(email, 2);
    // A mail of its own (the first one's key would have sent nothing), with a link that works.
    expect(second.messageId).not.toBe(first.messageId);
    expect(tokenOf(second)).not.toBe(tokenOf(first));
    expect(await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(tokenOf(second)) } })).toMatchObject({ revokedAt: null });
    await sleepUntil(invitedAt + 59 * DAY_MS);
    expect(remindersTo(email)).toHaveLength(2);
    await sleepUntil(invitedAt + 60 * DAY_MS + MINUTE_MS);
    await nthReminder(email, 3);
    await sleepUntil(invitedAt + 85 * DAY_MS);
    expect(remindersTo(email)).toHaveLength(3);
    expect(await roundOf(handle)).toMatchObject({ state: 'open', remindersSent: 2, remindersMailed: 3 });
    expect((await handle.query(statusQuery)).remindersSent).toBe(3);
  });

  it('a reminder an operator sent early covers its day when the days change later: 7 sent on day 3, then 7, 30 → 7, 30, 60 on day 4 sends day 30\'s next, not day 7\'s again', async () => {
    const { handle, email } = await startRegistrantWorkflow('前送り', [7, 30]);
    const { invitedAt } = await invited(handle, email);
    await sleepUntil(invitedAt + 3 * DAY_MS);
    await handle.executeUpdate(remindNowUpdate, { args: [{ actor: { type: 'system', id: null } }] });
    await nthReminder(email, 1);
    await sleepUntil(invitedAt + 4 * DAY_MS);
    await handle.signal(reminderDaysSignal, { days: [7, 30, 60] });
    await until(async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at === new Date(invitedAt + 30 * DAY_MS).toISOString(), 'day 30 as the next reminder');
    await sleepUntil(invitedAt + 29 * DAY_MS);
    expect(remindersTo(email)).toHaveLength(1);
    await sleepUntil(invitedAt + 30 * DAY_MS + MINUTE_MS);
    await nthReminder(email, 2);
  });

  it('sends no reminder after a withdrawal on day 1 and revokes the link', async () => {
    const { handle, email, id } = await startRegistrantWorkflow('取下げ', [2, 7]);
    const { invitedAt } = await invited(handle, email);

    // Day 1, clear of any whole-day timer (a signal at the instant a timer fires trips the test server).
    await sleepUntil(invitedAt + DAY_MS + HOUR_MS);
    expect(await roundOf(handle)).toMatchObject({ state: 'open', remindersSent: 0 });
    await handle.signal(withdrawSignal);
    expect(await roundWhen(handle, (s) => s.state === 'withdrawn')).toMatchObject({ remindersSent: 0 });
    await sleepUntil(invitedAt + 100 * DAY_MS);

    expect(await roundOf(handle)).toMatchObject({ state: 'withdrawn', remindersSent: 0 });
    expect(remindersTo(email)).toHaveLength(0);
    expect(mailsTo(email)).toHaveLength(1);
    expect((await invitationRow(id)).invitationState).toBe('withdrawn');
    const invitations = await harness.prisma.invitation.findMany({ where: { registrantId: id } });
    expect(invitations).toHaveLength(1);
    expect(invitations[0]!.revokedAt).not.toBeNull();
  });

  it('sends the reminder exactly once when the worker is replaced while the workflow waits', async () => {
    const taskQueue = `${TASK_QUEUE}-restart`;
    const workerA = await startUncachedWorker(taskQueue);
    let workerB: WorkerHandle | undefined;
    try {
      const { handle, email, workflowId } = await startRegistrantWorkflow('再起動', [3], taskQueue);
      const { invitedAt } = await invited(handle, email);
      await workerA.stop();

      // No worker at all when the reminder day comes. The test server does not skip time while a
      // workflow task waits for a worker, so the sleep halts right at the fired timer and completes
      // only after worker B has taken over.
      const reminderDue = invitedAt + 3 * DAY_MS;
      const sleeping = sleepUntil(reminderDue + HOUR_MS);
      await until(async () => (await harness.env.currentTimeMs()) >= reminderDue, 'the reminder day to pass without a worker');
      await until(async () => (await timersFired(handle)) === 1, 'the reminder timer to fire without a worker');
      expect(remindersTo(email)).toHaveLength(0);

      workerB = await startWorker(harness.env, { prisma: harness.prisma, outbox: harness.outbox, logger, taskQueue });
      await nthReminder(email, 1);
      await sleeping;
      expect(await roundWhen(handle, (s) => s.remindersSent >= 1)).toMatchObject({ remindersSent: 1 });

      await sleepUntil(invitedAt + 91 * DAY_MS);
      expect(await roundWhen(handle, (s) => s.state === 'expired')).toMatchObject({ remindersSent: 1 });
      expect(remindersTo(email)).toHaveLength(1);
      expect(invitationsTo(email)).toHaveLength(1);
      const deliveries = await harness.prisma.mailDelivery.findMany({ where: { key: { startsWith: workflowId }, kind: 'reminder' } });
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({ key: `${workflowId}/${handle.firstExecutionRunId}/round/1/reminder/1`, status: 'sent', recipient: email });
    } finally {
      await workerA.stop();
      await workerB?.stop();
    }
  });
});

/** Which attempt of an activity succeeded and which worker ran it, from the workflow history. */
async function activityRun(handle: WorkflowHandle, type: string) {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).map((e) => String(e.eventId));
  expect(scheduled).toHaveLength(1);
  const of = (id: unknown) => String(id) === scheduled[0];
  const started = events.find((e) => of(e.activityTaskStartedEventAttributes?.scheduledEventId))?.activityTaskStartedEventAttributes;
  const completed = events.find((e) => of(e.activityTaskCompletedEventAttributes?.scheduledEventId))?.activityTaskCompletedEventAttributes;
  return { attempt: started?.attempt, startedBy: started?.identity, completedBy: completed?.identity };
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5a1e5e40000000049454e44ae426082', 'hex');
const employee = { type: 'registrant', id: null } as const;

describe('a worker killed while the invitation mail is in flight', () => {
  /**
   * Starts a registrant's workflow on worker A and holds the invitation at the outbox. While the
   * mail activity waits for the server's answer, worker A is shut down (its activity is cancelled
   * and stops polling) and its SMTP connection goes down with it, the message `fate` decides; then
   * worker B starts and picks up the retry.
   */
  async function killedMidSend(label: string, fate: 'drop' | 'keep-and-drop', workers: WorkerHandle[]) {
    const taskQueue = `${TASK_QUEUE}-killed-${fate}`;
    const workerA = await startUncachedWorker(taskQueue, 'worker-A');
    workers.push(workerA);
    const registrant = await createRegistrant(label);
    const mail = gate.holdFirstMailTo(registrant.email);
    const input: RegistrantWorkflowInput = { tenantId, registrantId: registrant.id, reminderDays: [7] };
    const handle = await harness.env.client.workflow.start('registrantWorkflow', { taskQueue, workflowId: registrant.workflowId, args: [input] });
    started.push(handle);
    const key = `${registrant.workflowId}/${handle.firstExecutionRunId}/round/1/invitation`;

    await mail.held;
    // Mid-send: the server has the message, the worker waits for its answer, nothing is recorded as sent.
    expect(await harness.prisma.mailDelivery.findUniqueOrThrow({ where: { key } })).toMatchObject({ status: 'sending', messageId: null });
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: registrant.id } })).toBe(0);
    workerA.worker.shutdown();
    mail.release(fate);
    await workerA.running;
    expect(workerA.worker.getState()).toBe('STOPPED');
    expect(mailsTo(registrant.email)).toHaveLength(fate === 'drop' ? 0 : 1);

    workers.push(await startUncachedWorker(taskQueue, 'worker-B'));
    return { ...registrant, handle, key, taskQueue };
  }

  const stopAll = async (workers: WorkerHandle[]) => {
    for (const w of workers.reverse()) await w.stop();
  };

  it('dies before the SMTP server took the mail: the retry on a new worker delivers exactly one invitation; the journey goes on across another restart with one history row per step', async () => {
    const hr = await createLoginUser(harness.prisma, tenantId, 'manager', '人事 再起動');
    const workers: WorkerHandle[] = [];
    try {
      const { id, email, workflowId, handle, key, taskQueue } = await killedMidSend('送信中断', 'drop', workers);
      const mail = await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
      await roundWhen(handle, (s) => s.state === 'open');
      expect(mailsTo(email)).toHaveLength(1);
      expect(await harness.prisma.mailDelivery.findUniqueOrThrow({ where: { key } })).toMatchObject({ status: 'sent', recipient: email, messageId: mail.messageId });
      expect(await activityRun(handle, 'sendInvitationMail')).toEqual({ attempt: 2, startedBy: 'worker-B', completedBy: 'worker-B' });
      // The mailed link is the retry's own; the first attempt's was never mailed and dies with the round.
      expect(await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(tokenOf(mail)) } })).toMatchObject({ registrantId: id, issueKey: `${key}#2`, revokedAt: null });

      // The employee finishes while worker B runs.
      const store = createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
      await store.save(id, { myNumber: randomMyNumber(), gender: 'female', birthDate: '1990-04-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
      for (const side of ['front', 'back'] as const) await store.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
      expect(await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] })).toMatchObject({ status: 'pending' });

      // Worker B goes away; HR approves while no worker runs; worker C takes the step over.
      await workers.at(-1)!.stop();
      const approving = handle.executeUpdate(approveUpdate, { args: [{ actor: { type: 'login_user', id: hr.id } }] });
      workers.push(await startUncachedWorker(taskQueue, 'worker-C'));
      expect(await approving).toMatchObject({ status: 'completed', loginLocked: true, invitation: { state: 'closed' } });
      expect(await activityRun(handle, 'submitDraft')).toEqual({ attempt: 1, startedBy: 'worker-B', completedBy: 'worker-B' });
      expect(await activityRun(handle, 'decide')).toEqual({ attempt: 1, startedBy: 'worker-C', completedBy: 'worker-C' });

      expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', loginLocked: true, invitationState: 'closed' });
      expect((await harness.prisma.operationEvent.findMany({ where: { registrantId: id }, orderBy: { id: 'asc' } })).map((e) => e.operation)).toEqual(['invitation_sent', 'submitted', 'approved']);
      expect(await harness.prisma.mailDelivery.count({ where: { key: { startsWith: workflowId }, kind: 'invitation' } })).toBe(1);
      const steps = await harness.prisma.appliedStep.findMany({ where: { key: { startsWith: workflowId } }, orderBy: { key: 'asc' } });
      expect(steps.map((s) => s.key.split('/').slice(2, 4).join('/'))).toEqual(['approve/1', 'submit/1']);
      expect(steps.every((s) => s.key.startsWith(`${workflowId}/${handle.firstExecutionRunId}/`))).toBe(true);
      expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);
      expect(mailsTo(email)).toHaveLength(1);
    } finally {
      await stopAll(workers);
    }
  });

  it('dies after the SMTP server took the mail but before hearing so: the retry\'s copy carries the same Message-ID for the receiving side to drop, and the link in either copy works', async () => {
    const workers: WorkerHandle[] = [];
    try {
      const { id, email, workflowId, handle, key } = await killedMidSend('送信不明', 'keep-and-drop', workers);
      await harness.outbox.waitFor((m) => m.to.includes(email) && mailsTo(email).length >= 2, 15_000);
      await roundWhen(handle, (s) => s.state === 'open');
      const [first, second] = mailsTo(email);
      expect(mailsTo(email)).toHaveLength(2);
      const delivery = await harness.prisma.mailDelivery.findUniqueOrThrow({ where: { key } });
      expect(delivery).toMatchObject({ status: 'sent', recipient: email });
      expect(first!.messageId).toBe(delivery.messageId);
      expect(second!.messageId).toBe(delivery.messageId);
      expect([first!.subject, second!.subject]).toEqual([INVITATION_SUBJECT, INVITATION_SUBJECT]);
      expect(await activityRun(handle, 'sendInvitationMail')).toEqual({ attempt: 2, startedBy: 'worker-B', completedBy: 'worker-B' });
      // Whichever copy the employee keeps, its link works until the round ends.
      for (const mail of [first!, second!]) {
        expect(await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(tokenOf(mail)) } })).toMatchObject({ registrantId: id, revokedAt: null });
      }
      // Recorded once: one delivery, one history row.
      expect(await harness.prisma.mailDelivery.count({ where: { key: { startsWith: workflowId }, kind: 'invitation' } })).toBe(1);
      expect((await harness.prisma.operationEvent.findMany({ where: { registrantId: id } })).map((e) => e.operation)).toEqual(['invitation_sent']);
    } finally {
      await stopAll(workers);
    }
  });
});

describe('sendInvitationMail activity', () => {
  // The mock environment logs every activity failure at WARN; the expected one is noise here.
  const quietLogger = new DefaultLogger('ERROR');
  const mailer = () => createMailTransport(`smtp://127.0.0.1:${harness.outbox.smtpPort}`);

  it('mails once per key: a second run with the same key sends nothing', async () => {
    const transport = mailer();
    try {
      const activities = createActivities({ prisma: harness.prisma, mailer: transport, publicUrl: PUBLIC_URL, mailFrom: MAIL_FROM, logger, vault: testVault(harness.prisma) });
      const { id, email, workflowId } = await createRegistrant('冪等');
      const input: SendInvitationMailInput = {
        registrantId: id,
        key: `${workflowId}/invitation`,
        kind: 'invitation',
        expiresAt: new Date(Date.now() + 90 * DAY_MS).toISOString(),
      };
      const activityEnv = new MockActivityEnvironment(undefined, { logger: quietLogger });

      await expect(activityEnv.run(activities.sendInvitationMail, input)).resolves.toEqual({ sent: true });
      const mail = await harness.outbox.waitFor((m) => m.to.includes(email), 10_000);
      expect(mail.subject).toBe(INVITATION_SUBJECT);

      await expect(activityEnv.run(activities.sendInvitationMail, input)).resolves.toEqual({ sent: false });
      // The second run returned after the delivery lookup; give a stray mail time to arrive anyway.
      await new Promise((r) => setTimeout(r, 300));
      expect(mailsTo(email)).toHaveLength(1);
      const delivery = await harness.prisma.mailDelivery.findUniqueOrThrow({ where: { key: input.key } });
      expect(delivery).toMatchObject({ status: 'sent', kind: 'invitation', recipient: email });
      const invitations = await harness.prisma.invitation.findMany({ where: { registrantId: id } });
      expect(invitations).toHaveLength(1);
      expect(invitations[0]!.tokenHash).toBe(hashToken(tokenOf(mail)));
    } finally {
      transport.close();
    }
  });

  it('fails non-retryably with RegistrantNotFound for an unknown registrant', async () => {
    const transport = mailer();
    try {
      const activities = createActivities({ prisma: harness.prisma, mailer: transport, publicUrl: PUBLIC_URL, mailFrom: MAIL_FROM, logger, vault: testVault(harness.prisma) });
      const registrantId = randomUUID();
      const key = `registrant-unknown-${registrantId}/invitation`;
      const input: SendInvitationMailInput = { registrantId, key, kind: 'invitation', expiresAt: new Date().toISOString() };
      const error = await new MockActivityEnvironment(undefined, { logger: quietLogger })
        .run(activities.sendInvitationMail, input)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect(error).toMatchObject({ type: 'RegistrantNotFound', nonRetryable: true });
      expect(await harness.prisma.mailDelivery.findUnique({ where: { key } })).toBeNull();
    } finally {
      transport.close();
    }
  });
});
