/**
 * The registrant lifecycle on the time-skipping Temporal test server, with real PostgreSQL, the real
 * vault and the SMTP capture: submission, remand, approval, refusal, resend, retirement and the
 * scheduled deletion years later. HR and the employee act through the workflow's updates, as the API
 * does.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { hashToken } from '../services/auth/token-hash';
import { DELETION_NOTICE_SUBJECT } from '../activities/deletion-notices';
import { invitationSubject } from '../services/mail/invitation-mail';
import { createDraftStore } from '../services/registrants/draft-store';
import { stateFromDatabase } from '../services/registrants/carried-state';
import { retentionRule } from '../services/retention/rules';
import {
  approveUpdate,
  inviteUpdate,
  japanDate,
  lifecycleQuery,
  refuseUpdate,
  registrantWorkflowId,
  remandUpdate,
  scheduleDeletionUpdate,
  setRetirementUpdate,
  startOfJapanDay,
  submitUpdate,
  unlockLoginUpdate,
  type LifecycleState,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../shared';
import { createLoginUser, createTenant, testVault, type TestUser } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';
import { createTimeSkippingEnv } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';
import { tokenOf } from './support/mail-gate';

/** The invitation's subject as this file's company gets it. */
const INVITATION_SUBJECT = invitationSubject('invitation', '株式会社ライフサイクル');

const TASK_QUEUE = 'registrant-lifecycle';
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5a1e5e40000000049454e44ae426082', 'hex');

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, env: createTimeSkippingEnv });
let tenantId: string;
let hr: TestUser;
let actor: StepActor;
const employee: StepActor = { type: 'registrant', id: null, ip: '198.51.100.7' };
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社ライフサイクル');
  hr = await createLoginUser(harness.prisma, tenantId, 'manager', '人事 太郎');
  actor = { type: 'login_user', id: hr.id, ip: '203.0.113.9', userAgent: 'jest' };
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.terminate('test finished').catch(() => undefined)));
});

const drafts = () => createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });

async function startRegistrant(label: string, reminderDays = [7, 30, 80]) {
  const id = randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.co.jp`;
  const workflowId = registrantWorkflowId(tenantId, id);
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '佐藤', givenName: label, email, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays };
  const handle = await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  started.push(handle);
  await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
  // The mail goes out before the workflow has taken the activity's result in.
  await until(async () => (await state(handle as WorkflowHandle)).invitation?.state === 'open', 'the invitation to be open');
  return { id, email, workflowId, handle: handle as WorkflowHandle };
}


const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
const state = (handle: WorkflowHandle): Promise<LifecycleState> => handle.query(lifecycleQuery);
const events = async (registrantId: string) =>
  (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);

/** A whole draft: a valid number, gender, birth date and both sides of a My Number card. */
async function completeDraft(registrantId: string, myNumber = randomMyNumber()) {
  const store = drafts();
  await store.save(registrantId, { myNumber, gender: 'female', birthDate: '1990-04-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
  for (const side of ['front', 'back'] as const) {
    await store.addDocument(registrantId, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
  }
  return myNumber;
}

/** The update's refusal: the validator's code, or an activity's business error type. */
async function refusal(p: Promise<unknown>): Promise<{ type?: string; message: string; details?: unknown[] }> {
  const err = await p.then(
    () => {
      throw new Error('expected the update to be refused');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (err as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  const inner = cause as ApplicationFailure;
  return { type: inner.type ?? undefined, message: inner.message, details: inner.details ?? undefined };
}

async function numberOf(registrantId: string): Promise<string | null> {
  const r = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: registrantId } });
  return r.myNumberSecretId ? (await testVault(harness.prisma).open(r.myNumberSecretId, tenantId)).toString() : null;
}

describe('submission, remand and approval', () => {
  it('a half-finished draft is never submitted; a whole one becomes pending, then remanded with a fresh link, resubmitted and approved', async () => {
    const { id, email, handle, workflowId } = await startRegistrant('提出');
    const firstToken = tokenOf(mailsTo(email)[0]!);

    // Nothing entered yet, then a number without documents: refused with what is missing, nothing stored.
    expect(await refusal(handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] }))).toMatchObject({ type: 'DraftIncomplete' });
    await drafts().save(id, { myNumber: randomMyNumber(), gender: 'male', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
    const incomplete = await refusal(handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] }));
    expect(incomplete.type).toBe('DraftIncomplete');
    const issues = (incomplete.details?.[0] ?? []) as { path: string; code: string }[];
    expect(issues.map((i) => i.code).sort()).toEqual(['BIRTH_DATE_REQUIRED', 'IDENTITY_DOCUMENT_REQUIRED', 'NUMBER_DOCUMENT_REQUIRED']);
    expect(JSON.stringify(incomplete)).not.toMatch(/\d{12}/);
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'unregistered', myNumberSecretId: null });
    expect((await state(handle)).status).toBe('unregistered');

    // HR cannot decide on what was not submitted.
    expect((await refusal(handle.executeUpdate(approveUpdate, { args: [{ actor }] }))).message).toBe('NOT_PENDING');

    const first = await completeDraft(id);
    const submitted = await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    expect(submitted).toMatchObject({ status: 'pending', invitation: { state: 'submitted' } });
    expect(await numberOf(id)).toBe(first);
    const row = await harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
    expect(row).toMatchObject({ status: 'pending', invitationState: 'submitted', draftSecretId: null, gender: 'female' });
    expect(await harness.prisma.document.count({ where: { registrantId: id, draft: false } })).toBe(2);

    // Submitted: nothing changes until HR remands; a remand needs a reason.
    expect((await refusal(handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] }))).message).toBe('NOT_EDITABLE');
    expect((await refusal(handle.executeUpdate(remandUpdate, { args: [{ actor, reason: '  ' }] }))).message).toBe('REASON_REQUIRED');

    const remanded = await handle.executeUpdate(remandUpdate, { args: [{ actor, reason: 'カードの裏面が読み取れません' }] });
    expect(remanded).toMatchObject({ status: 'remanded', invitation: { round: 2, state: 'open', remindersSent: 0 } });
    const remandMail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.subject.includes('差戻し'), 15_000);
    expect(remandMail.subject).toBe(invitationSubject('remand', '株式会社ライフサイクル'));
    expect(remandMail.text).toContain('カードの裏面が読み取れません');
    const secondToken = tokenOf(remandMail);
    const links = await harness.prisma.invitation.findMany({ where: { registrantId: id } });
    expect(links.find((l) => l.tokenHash === hashToken(firstToken))!.revokedAt).not.toBeNull();
    expect(links.find((l) => l.tokenHash === hashToken(secondToken))!.revokedAt).toBeNull();
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).statusReason).toBe('カードの裏面が読み取れません');

    // The employee fixes it: a new number and documents replace the old ones, which are shredded.
    const oldSecret = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).myNumberSecretId!;
    const second = await completeDraft(id);
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    expect(await numberOf(id)).toBe(second);
    await expect(testVault(harness.prisma).open(oldSecret, tenantId)).rejects.toThrow();

    const approved = await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
    expect(approved).toMatchObject({ status: 'completed', loginLocked: true, invitation: { state: 'closed' } });
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', loginLocked: true, statusReason: null });
    expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);

    // Approved people are not invited again until HR unlocks their login.
    expect((await refusal(handle.executeUpdate(inviteUpdate, { args: [{ actor }] }))).message).toBe('NOT_INVITABLE_LOCKED');
    expect(await handle.executeUpdate(unlockLoginUpdate, { args: [{ actor }] })).toMatchObject({ loginLocked: false });
    expect((await refusal(handle.executeUpdate(unlockLoginUpdate, { args: [{ actor }] }))).message).toBe('NOT_LOCKED');

    expect(await events(id)).toEqual(['invitation_sent', 'submitted', 'remanded', 'invitation_sent', 'submitted', 'approved', 'registrant_login_unlocked']);
    const approval = await harness.prisma.operationEvent.findFirstOrThrow({ where: { registrantId: id, operation: 'approved' } });
    expect(approval).toMatchObject({ actorType: 'login_user', actorId: hr.id, ip: '203.0.113.9' });

    // No reminder once submitted, even after the days pass (the remand round was answered).
    await harness.env.sleep(100 * DAY_MS);
    expect(mailsTo(email).filter((m) => m.subject.includes('再通知'))).toHaveLength(0);
    expect(await harness.prisma.mailDelivery.count({ where: { key: { startsWith: workflowId }, kind: { in: ['invitation', 'reminder', 'remand'] } } })).toBe(2);
    // A receipt per submission, one mail on approval: queued for the reconciler's round.
    expect((await harness.prisma.mailDelivery.findMany({ where: { key: { startsWith: `${workflowId}/notice/` } }, orderBy: { createdAt: 'asc' } })).map((d) => d.kind)).toEqual(['receipt', 'receipt', 'approval']);
  });

  it('refusal needs a reason, closes the links and stops the reminders', async () => {
    const { id, email, handle } = await startRegistrant('拒否', [7]);
    await completeDraft(id);
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    expect((await refusal(handle.executeUpdate(refuseUpdate, { args: [{ actor }] }))).message).toBe('REASON_REQUIRED');
    expect((await state(handle)).status).toBe('pending');

    const refused = await handle.executeUpdate(refuseUpdate, { args: [{ actor, reason: '在籍確認ができません' }] });
    expect(refused).toMatchObject({ status: 'refused', invitation: { state: 'closed' } });
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'refused', statusReason: '在籍確認ができません', invitationState: 'closed' });
    expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);
    expect((await refusal(handle.executeUpdate(approveUpdate, { args: [{ actor }] }))).message).toBe('NOT_PENDING');
    await harness.env.sleep(30 * DAY_MS);
    expect(mailsTo(email)).toHaveLength(1);
    expect(await events(id)).toEqual(['invitation_sent', 'submitted', 'refused']);
  });

  it('a refusal whose person is gone from the database fails as RegistrantNotFound (the API answers 404, not 503)', async () => {
    const { id, handle } = await startRegistrant('消失');
    await completeDraft(id);
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await harness.prisma.registrant.delete({ where: { id } });
    expect(await refusal(handle.executeUpdate(refuseUpdate, { args: [{ actor, reason: '確認できません' }] }))).toMatchObject({ type: 'RegistrantNotFound' });
  });
});

describe('resend', () => {
  it('makes a new link (the old one dies) and restarts the 90 days and the reminders', async () => {
    const { id, email, handle } = await startRegistrant('再送', [7, 30, 80]);
    const invitedAt = Date.parse((await state(handle)).invitation!.invitedAt);
    await harness.env.sleep(60 * DAY_MS + HOUR_MS);
    await harness.outbox.waitFor((m) => m.to.includes(email) && m.subject.includes('再通知') && mailsTo(email).length >= 3, 15_000);

    const resent = await handle.executeUpdate(inviteUpdate, { args: [{ actor, options: { message: '至急ご登録ください', replyTo: 'jinji@example.co.jp', copyTo: 'jinji@example.co.jp' } }] });
    const resentAt = Date.parse(resent.invitation!.invitedAt);
    expect(resentAt - invitedAt).toBeGreaterThanOrEqual(60 * DAY_MS);
    expect(resent.invitation).toMatchObject({ round: 2, state: 'open', remindersSent: 0 });
    expect(Date.parse(resent.invitation!.expiresAt) - resentAt).toBe(90 * DAY_MS);
    const mail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('至急ご登録ください'), 15_000);
    expect(mail.subject).toBe(INVITATION_SUBJECT);
    expect(mail.replyTo).toBe('jinji@example.co.jp');
    expect(mail.cc).toContain('jinji@example.co.jp');
    const live = await harness.prisma.invitation.findMany({ where: { registrantId: id, revokedAt: null } });
    expect(live.map((l) => l.tokenHash)).toEqual([hashToken(tokenOf(mail))]);

    // Day 90 of the first round passes quietly; the new round expires on its own day 90.
    await harness.env.sleep(40 * DAY_MS);
    expect((await state(handle)).invitation).toMatchObject({ round: 2, state: 'open', remindersSent: 2 });
    await harness.env.sleep(resentAt + 90 * DAY_MS + HOUR_MS - (await harness.env.currentTimeMs()));
    expect((await state(handle)).invitation).toMatchObject({ round: 2, state: 'expired', remindersSent: 3 });
    expect(mailsTo(email).filter((m) => m.subject.includes('再通知'))).toHaveLength(2 + 3);
  });
});

describe('retirement and scheduled deletion', () => {
  it('retires on the date, mails HR 30 days ahead, and years later shreds everything leaving a deletion record', async () => {
    const { id, handle } = await startRegistrant('退職');
    const myNumber = await completeDraft(id);
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
    const secretId = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).myNumberSecretId!;
    expect(await numberOf(id)).toBe(myNumber);

    const today = japanDate(await harness.env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) + 20 * DAY_MS);
    const dueDate = retentionRule('dependents_declaration_7y')!.dueDate(retirementDate);
    expect(dueDate).toBe(`${Number(retirementDate.slice(0, 4)) + 8}-01-11`);
    const set = await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate, deletion: { dueDate, rule: 'dependents_declaration_7y' } }] });
    expect(set).toMatchObject({ retirementDate, retired: false, deletion: { dueDate, noticeSent: false } });

    // The day before the retirement date: not yet retired. The day after: a retiree, not invitable.
    await harness.env.sleep(startOfJapanDay(retirementDate) - HOUR_MS - (await harness.env.currentTimeMs()));
    expect((await state(handle)).retired).toBe(false);
    await harness.env.sleep(2 * HOUR_MS);
    expect((await state(handle)).retired).toBe(true);
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ retired: true });
    expect((await refusal(handle.executeUpdate(inviteUpdate, { args: [{ actor }] }))).message).toBe('NOT_INVITABLE_RETIRED');

    // 30 days before the due date HR gets the list (after the notice gathers for a few minutes).
    const dueAt = startOfJapanDay(dueDate);
    await harness.env.sleep(dueAt - 30 * DAY_MS - HOUR_MS - (await harness.env.currentTimeMs()));
    expect(harness.outbox.mails.filter((m) => m.to.includes(hr.email) && m.subject === DELETION_NOTICE_SUBJECT)).toHaveLength(0);
    await harness.env.sleep(2 * HOUR_MS);
    const notice = await harness.outbox.waitFor((m) => m.to.includes(hr.email) && m.subject === DELETION_NOTICE_SUBJECT, 15_000);
    expect(notice.text).toContain('佐藤 退職');
    expect(notice.text).toContain(`${dueDate.slice(0, 4)}年1月11日`);
    expect(notice.text).not.toContain(myNumber);

    // Still kept the day before; on the due date it is gone for good.
    await harness.env.sleep(dueAt - HOUR_MS - (await harness.env.currentTimeMs()));
    expect(await numberOf(id)).toBe(myNumber);
    await harness.env.sleep(2 * HOUR_MS);
    const result = (await handle.result()) as LifecycleState;
    expect(result).toMatchObject({ deleted: true });
    expect(await harness.prisma.registrant.findUnique({ where: { id } })).toBeNull();
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: secretId } })).toBeNull();
    await expect(testVault(harness.prisma).open(secretId, tenantId)).rejects.toThrow();
    const record = await harness.prisma.deletionRecord.findFirstOrThrow({ where: { registrantId: id } });
    expect(record).toMatchObject({ kind: 'registrant', rule: 'dependents_declaration_7y', actorType: 'system', dueDate: new Date(`${dueDate}T00:00:00Z`) });
    expect(record.items).toEqual({ numbers: 1, documents: 2, dependents: 0 });
    expect(JSON.stringify(record)).not.toContain(myNumber);
    expect(await events(id)).toEqual(expect.arrayContaining(['retirement_set', 'retired', 'deletion_notice_sent', 'registrant_deleted']));
  });

  it('a tenant that deletes numbers only: on the due date the numbers go, the person stays (unregistered, no due date on the row) and the workflow goes on', async () => {
    const { id, handle } = await startRegistrant('番号のみ');
    await harness.prisma.tenant.update({ where: { id: tenantId }, data: { deletionScope: 'numbers' } });
    try {
      await completeDraft(id);
      await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
      await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
      const secretId = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).myNumberSecretId!;
      const today = japanDate(await harness.env.currentTimeMs());
      const dueDate = japanDate(startOfJapanDay(today) + 40 * DAY_MS);
      await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate: japanDate(startOfJapanDay(today) + DAY_MS), deletion: { dueDate, rule: 'manual' } }] });
      await harness.env.sleep(startOfJapanDay(dueDate) + HOUR_MS - (await harness.env.currentTimeMs()));
      await until(async () => (await state(handle)).deletion === null, 'the scheduled deletion');

      expect(await state(handle)).toMatchObject({ deleted: false, status: 'unregistered', retired: true, deletion: null });
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const row = await harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
      expect(row).toMatchObject({ status: 'unregistered', myNumberSecretId: null, deletionDueDate: null, deletionRule: null });
      expect(await harness.prisma.vaultSecret.findUnique({ where: { id: secretId } })).toBeNull();
      expect(await harness.prisma.deletionRecord.findFirstOrThrow({ where: { registrantId: id } })).toMatchObject({ kind: 'numbers', rule: 'manual' });
      // A workflow taking the person over from the row (after a termination) has nothing left to delete.
      expect(stateFromDatabase(row, [])).toMatchObject({ deletion: null, retired: true });
      // Months later nothing more happens.
      await harness.env.sleep(90 * DAY_MS);
      expect(await harness.prisma.deletionRecord.count({ where: { registrantId: id } })).toBe(1);
    } finally {
      await harness.prisma.tenant.update({ where: { id: tenantId }, data: { deletionScope: 'all_personal_data' } });
    }
  });

  it('a cancelled deletion does not happen; a rescheduled one happens on the new date', async () => {
    const { id, handle } = await startRegistrant('取消');
    await completeDraft(id);
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
    const today = japanDate(await harness.env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) - 400 * DAY_MS);
    const dueDate = japanDate(startOfJapanDay(today) + 40 * DAY_MS);
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate, deletion: { dueDate, rule: 'manual' } }] });
    expect(await handle.executeUpdate(scheduleDeletionUpdate, { args: [{ actor, dueDate: null }] })).toMatchObject({ deletion: null, retired: true });
    expect((await refusal(handle.executeUpdate(scheduleDeletionUpdate, { args: [{ actor, dueDate: null }] }))).message).toBe('NO_DELETION_SCHEDULED');
    expect((await refusal(handle.executeUpdate(scheduleDeletionUpdate, { args: [{ actor, dueDate: japanDate(startOfJapanDay(today) - DAY_MS) }] }))).message).toBe('DELETION_DATE_PAST');

    await harness.env.sleep(60 * DAY_MS);
    expect(await numberOf(id)).not.toBeNull();
    expect(await harness.prisma.deletionRecord.count({ where: { registrantId: id } })).toBe(0);

    const later = japanDate(await harness.env.currentTimeMs() + 10 * DAY_MS);
    await handle.executeUpdate(scheduleDeletionUpdate, { args: [{ actor, dueDate: later }] });
    await harness.env.sleep(startOfJapanDay(later) + HOUR_MS - (await harness.env.currentTimeMs()));
    expect(await handle.result()).toMatchObject({ deleted: true });
    expect(await harness.prisma.deletionRecord.findFirstOrThrow({ where: { registrantId: id } })).toMatchObject({ rule: 'manual', kind: 'registrant' });
    expect(await events(id)).toEqual(expect.arrayContaining(['deletion_cancelled', 'deletion_scheduled', 'registrant_deleted']));
  });
});
