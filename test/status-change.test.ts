/**
 * HR sets a status by hand (POST /status), on a real Temporal dev server, PostgreSQL and the SMTP
 * capture: a number HR typed and verified completes a 未登録 person, a person is refused before
 * they submit (reminders end, the links die, the unsubmitted draft is shredded), a refusal is taken
 * back; moves the rules do not allow are refused with nothing changed; two HR decisions at once
 * apply exactly one. A draft left when a link expires is shredded too (the activity, as the timer
 * runs it).
 */
import { randomUUID } from 'node:crypto';
import { createLifecycleActivities } from '../activities/lifecycle';
import { createDraftStore } from '../services/registrants/draft-store';
import { lifecycleQuery, submitUpdate, upcomingQuery } from '../shared';
import { createTenant, testVault, type Agent } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';
import { expectProblem } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const harness = useWorkerHarness({ taskQueue: 'status-change' });
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
let tenantId: string;
let hr: Agent;
let viewer: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社ステータス変更');
  [hr, viewer] = await Promise.all([harness.agent(tenantId, 'manager', '人事 花子'), harness.agent(tenantId, 'viewer')]);
});

const row = (id: string) => harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
const workflow = (workflowId: string) => harness.env.client.workflow.getHandle(workflowId);
const drafts = () => createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
const secretExists = async (id: string) => (await harness.prisma.vaultSecret.count({ where: { id } })) === 1;
const events = async (registrantId: string, operation: string) =>
  (await harness.prisma.operationEvent.findMany({ where: { registrantId, operation }, orderBy: { id: 'asc' } })).map((e) => e.detail);

/** Invited through the API, the link open; with `draft`, the employee has entered a number and a photo and not submitted. */
async function invited(label: string, opts: { draft?: boolean } = {}) {
  const email = `s-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName: '状態', givenName: label, email }).expect(201);
  await until(async () => (await workflow(res.body.workflowId).query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
  const id = res.body.id as string;
  if (opts.draft) {
    await drafts().save(id, { myNumber: randomMyNumber(), gender: 'female', birthDate: '1990-01-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
    await drafts().addDocument(id, { purpose: 'identity', type: 'my_number_card', side: 'front', mimeType: 'image/png', image: PNG });
  }
  return { id, workflowId: res.body.workflowId as string, email };
}

/** What the employee left unsubmitted: the sealed draft and the draft images, with their secrets. */
async function draftOf(id: string) {
  const r = await row(id);
  const docs = await harness.prisma.document.findMany({ where: { registrantId: id, draft: true } });
  return { secretIds: [r.draftSecretId, ...docs.map((d) => d.imageSecretId)].filter((x): x is string => !!x), documents: docs.length };
}

async function expectDraftShredded(id: string, secretIds: string[]) {
  expect((await row(id)).draftSecretId).toBeNull();
  expect(await harness.prisma.document.count({ where: { registrantId: id, draft: true } })).toBe(0);
  for (const s of secretIds) expect(await secretExists(s)).toBe(false);
}

const enterNumber = (id: string, n = randomMyNumber()) => hr.put(`/v1/registrants/${id}/my-number`).send({ myNumber: n, myNumberConfirmation: n }).expect(204);

describe('HR completes a person with a number they verified', () => {
  it('未登録 with the number HR typed becomes 完了: login locked, links dead, reminders end, the draft shredded, recorded with the method', async () => {
    const { id, workflowId } = await invited('検証済み', { draft: true });
    const left = await draftOf(id);
    expect(left.secretIds).toHaveLength(2);
    await enterNumber(id);
    // The number alone does not complete anyone (the status HR sees stays 未登録).
    expect((await row(id)).status).toBe('unregistered');

    // The method is required, said at its field in Japanese.
    const noMethod = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'completed' });
    expectProblem(noMethod, 400, 'VALIDATION_FAILED');
    expect(noMethod.body.errors).toEqual([expect.objectContaining({ path: '/body/verificationMethod', message: '本人確認の方法を選択してください' })]);

    const done = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'completed', verificationMethod: 'notification_card_with_id' }).expect(200);
    expect(done.body).toMatchObject({ status: 'completed', loginLocked: true, invitation: { state: 'closed' }, myNumber: { registered: true } });
    expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);
    const state = await workflow(workflowId).query(lifecycleQuery);
    expect(state).toMatchObject({ status: 'completed', loginLocked: true, invitation: { state: 'closed' } });
    // Nothing is waited for any more: no reminder, no link expiry.
    expect(await workflow(workflowId).query(upcomingQuery)).toEqual([]);
    await expectDraftShredded(id, left.secretIds);
    expect(await events(id, 'status_changed')).toEqual([{ from: 'unregistered', to: 'completed', verifiedBy: 'employer', verificationMethod: 'notification_card_with_id' }]);
    expect(await events(id, 'draft_discarded')).toEqual([{ why: 'decided', documents: 1, dependents: 0 }]);

    // Already there: said so, nothing recorded again.
    expectProblem(await hr.post(`/v1/registrants/${id}/status`).send({ status: 'completed', verificationMethod: 'my_number_card' }), 409, 'STATUS_UNCHANGED');
    expect(await events(id, 'status_changed')).toHaveLength(1);
  });

  it('without a registered number it is refused and nothing changes', async () => {
    const { id, workflowId } = await invited('番号なし');
    const res = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'completed', verificationMethod: 'my_number_card' });
    expectProblem(res, 409, 'NUMBER_NOT_REGISTERED');
    expect(res.body.title).toContain('マイナンバーが登録されていない');
    expect(await row(id)).toMatchObject({ status: 'unregistered', invitationState: 'open' });
    expect((await workflow(workflowId).query(lifecycleQuery)).invitation?.state).toBe('open');
  });

  it('a submission HR completes by hand carries its dependents with numbers, not one HR sent back; a viewer may not', async () => {
    const { id, workflowId } = await invited('提出済み');
    const child = { id: randomUUID(), relationship: '子', kind: 'dependent' as const, familyName: '状態', givenName: '一郎', birthDate: '2015-05-05', myNumber: randomMyNumber() };
    const sentBack = { ...child, id: randomUUID(), givenName: '二郎', myNumber: randomMyNumber() };
    await drafts().save(id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents: [child, sentBack], removedDocumentIds: [], removedDependentIds: [] });
    for (const side of ['front', 'back'] as const) await drafts().addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
    await workflow(workflowId).executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '二郎さんの番号が書類と違います', dependentId: sentBack.id }).expect(200);

    expectProblem(await viewer.post(`/v1/registrants/${id}/status`).send({ status: 'completed', verificationMethod: 'my_number_card' }), 403, 'FORBIDDEN');
    await hr.post(`/v1/registrants/${id}/status`).send({ status: 'completed', verificationMethod: 'my_number_card' }).expect(200);
    const deps = await harness.prisma.dependent.findMany({ where: { registrantId: id } });
    expect(deps.find((d) => d.id === child.id)).toMatchObject({ status: 'completed' });
    expect(deps.find((d) => d.id === child.id)!.approvedNumberSecretId).not.toBeNull();
    // The one sent back waits for its own correction and decision: not completed, its number not served.
    expect(deps.find((d) => d.id === sentBack.id)).toMatchObject({ status: 'remanded', approvedNumberSecretId: null });
    expect(await events(id, 'status_changed')).toEqual([{ from: 'remanded', to: 'completed', verifiedBy: 'employer', verificationMethod: 'my_number_card' }]);
  });
});

describe('refusal before submission, and taking it back', () => {
  it('a 未登録 person is refused with a reason: reminders end, the links die, the draft is shredded; the reason stands beside it', async () => {
    const { id, workflowId } = await invited('拒否前', { draft: true });
    const left = await draftOf(id);
    const before = await workflow(workflowId).query(upcomingQuery);
    expect(before.map((s) => s.kind)).toContain('reminder');

    const noReason = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'refused', reason: '   ' });
    expectProblem(noReason, 400, 'VALIDATION_FAILED');
    expect(noReason.body.errors).toEqual([expect.objectContaining({ path: '/body/reason', message: '拒否理由を入力してください' })]);

    const refused = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'refused', reason: '提供を拒否する旨の書面を受領' }).expect(200);
    expect(refused.body).toMatchObject({ status: 'refused', statusReason: '提供を拒否する旨の書面を受領', invitation: { state: 'closed' } });
    expect(await workflow(workflowId).query(upcomingQuery)).toEqual([]);
    expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);
    await expectDraftShredded(id, left.secretIds);
    // The reason is on the person's row, beside the change in the 経過, never in the chained history.
    const timeline = (await hr.get(`/v1/registrants/${id}/timeline`).expect(200)).body as { past: { operation: string; reason?: string }[] };
    expect(timeline.past.find((e) => e.operation === 'status_changed')).toMatchObject({ reason: '提供を拒否する旨の書面を受領' });
    expect(JSON.stringify(await events(id, 'status_changed'))).not.toContain('書面');

    // Taken back: 未登録 again, and HR may invite again (a new link).
    expectProblem(await hr.post(`/v1/registrants/${id}/status`).send({ status: 'unregistered' }), 400, 'VALIDATION_FAILED');
    const back = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'unregistered', reason: '本人から提供の申し出' }).expect(200);
    expect(back.body).toMatchObject({ status: 'unregistered', statusReason: '本人から提供の申し出' });
    const again = await hr.post(`/v1/registrants/${id}/invitation`).send({}).expect(200);
    expect(again.body.invitation).toMatchObject({ state: 'open' });
    expect((await events(id, 'status_changed')).map((d) => (d as { to: string }).to)).toEqual(['refused', 'unregistered']);
  });

  it('moves the rules do not allow are refused in Japanese and change nothing', async () => {
    const { id, workflowId } = await invited('規則');
    // 未登録 → 未登録, and a refusal cannot be taken back from 未登録
    expectProblem(await hr.post(`/v1/registrants/${id}/status`).send({ status: 'unregistered', reason: 'x' }), 409, 'STATUS_UNCHANGED');
    await enterNumber(id);
    await hr.post(`/v1/registrants/${id}/status`).send({ status: 'completed', verificationMethod: 'other' }).expect(200);
    // completed → refused / unregistered: not by hand (deletion of the number is its own step)
    const res = await hr.post(`/v1/registrants/${id}/status`).send({ status: 'refused', reason: '誤り' });
    expectProblem(res, 409, 'STATUS_CHANGE_NOT_ALLOWED');
    expect(res.body.title).toBe('現在のステータスからは、そのステータスに変更できません');
    expectProblem(await hr.post(`/v1/registrants/${id}/status`).send({ status: 'unregistered', reason: '誤り' }), 409, 'STATUS_CHANGE_NOT_ALLOWED');
    // pending is the employee's own submission
    expectProblem(await hr.post(`/v1/registrants/${id}/status`).send({ status: 'pending' }), 400, 'VALIDATION_FAILED');
    expect((await row(id)).status).toBe('completed');
    expect((await workflow(workflowId).query(lifecycleQuery)).status).toBe('completed');
  });

  it('an approval and a refusal by hand at the same moment: exactly one applies', async () => {
    const { id, workflowId } = await invited('同時');
    await drafts().save(id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
    for (const side of ['front', 'back'] as const) await drafts().addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
    await workflow(workflowId).executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });

    const [approve, refuse] = await Promise.all([
      hr.post(`/v1/registrants/${id}/approval`).send({}),
      hr.post(`/v1/registrants/${id}/status`).send({ status: 'refused', reason: '同時の拒否' }),
    ]);
    expect([approve.status, refuse.status].sort()).toEqual([200, 409]);
    const final = await row(id);
    expect(final.status).toBe(approve.status === 200 ? 'completed' : 'refused');
    expect((await workflow(workflowId).query(lifecycleQuery)).status).toBe(final.status);
    const decided = await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: { in: ['approved', 'status_changed'] } } });
    expect(decided).toBe(1);
  });
});

describe('unsubmitted drafts end with their link', () => {
  it('withdrawn: the draft, its number and its images are shredded, and that is recorded', async () => {
    const { id } = await invited('取り下げ', { draft: true });
    const left = await draftOf(id);
    await hr.post(`/v1/registrants/${id}/withdraw`).expect(200);
    await expectDraftShredded(id, left.secretIds);
    expect(await events(id, 'draft_discarded')).toEqual([{ why: 'withdrawn', documents: 1, dependents: 0 }]);
  });

  it('expired: the timer\'s step shreds the draft, once (a retry finds nothing more to do)', async () => {
    const { id } = await invited('期限切れ', { draft: true });
    // The workflow's own timer is 90 days away: its activity is run as the timer runs it.
    const acts = createLifecycleActivities({ prisma: harness.prisma, vault: testVault(harness.prisma) });
    const left = await draftOf(id);
    await acts.closeInvitation({ registrantId: id, state: 'expired' });
    await acts.closeInvitation({ registrantId: id, state: 'expired' });
    await expectDraftShredded(id, left.secretIds);
    expect(await row(id)).toMatchObject({ invitationState: 'expired' });
    expect(await events(id, 'draft_discarded')).toEqual([{ why: 'expired', documents: 1, dependents: 0 }]);
  });
});
