/**
 * HR's lifecycle steps over HTTP, on a real Temporal dev server, PostgreSQL and the SMTP capture:
 * each is a workflow update whose refusal comes back as a 409 with the reason in Japanese.
 * The employee's submission goes through the workflow's submit update directly (its pages and API
 * are a later step), with the draft written as the employee API will write it.
 */
import { randomUUID } from 'node:crypto';
import jsQR from 'jsqr';
import { PNG as PngImage } from 'pngjs';
import request from 'supertest';
import type { components } from '../api/generated/openapi';
import { hashToken } from '../services/auth/token-hash';
import type { DraftDependent } from '../services/registrants/draft';
import { createDraftStore } from '../services/registrants/draft-store';
import { addYears, todayInJapan } from '../services/retention/rules';
import { lifecycleQuery, submitUpdate } from '../shared';
import { createTenant, testVault, type Agent, TEST_PASSWORD } from './support/fixtures';
import { bytesOf } from './support/http';
import { randomMyNumber } from './support/leak-scan';
import { expectProblem, JAPANESE } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';
import { INVITATION_LINK, tokenOf } from './support/mail-gate';

const TASK_QUEUE = 'lifecycle-api';
type Schemas = components['schemas'];
const DAY_MS = 86_400_000;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE });
let tenantId: string;
let hr: Agent;
let viewer: Agent;
let outsider: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社ライフサイクルAPI');
  const otherTenant = await createTenant(harness.prisma, '別会社');
  [hr, viewer, outsider] = await Promise.all([
    harness.agent(tenantId, 'manager', '人事 花子'),
    harness.agent(tenantId, 'viewer'),
    harness.agent(otherTenant, 'owner'),
  ]);
});

const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
const row = (id: string) => harness.prisma.registrant.findUnique({ where: { id } });

/** A registrant created through the API, invited, with the link open. */
async function invited(label: string) {
  const email = `p-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName: '田中', givenName: label, email }).expect(201);
  await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
  // The mail and the row come from the activity; the workflow takes its result in a moment later.
  const handle = harness.env.client.workflow.getHandle(res.body.workflowId);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
  return { id: res.body.id as string, workflowId: res.body.workflowId as string, email };
}

/** The employee finishes: a whole draft, then the workflow's submit update (as the employee API will). */
async function submitted(label: string, dependents: DraftDependent[] = []) {
  const r = await invited(label);
  const drafts = createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
  await drafts.save(r.id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents, removedDocumentIds: [], removedDependentIds: [] });
  for (const side of ['front', 'back'] as const) await drafts.addDocument(r.id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
  await harness.env.client.workflow.getHandle(r.workflowId).executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
  return r;
}

/** A dependent as the employee enters it (the row id is made when they add the person). */
const dependent = (givenName: string, relationship: string, extra: Partial<DraftDependent> = {}): DraftDependent => ({
  id: randomUUID(),
  relationship,
  kind: 'dependent',
  familyName: '田中',
  givenName,
  birthDate: '2015-05-05',
  myNumber: randomMyNumber(),
  ...extra,
});

describe('timeline', () => {
  const timeline = async (agent: Agent, id: string) => (await agent.get(`/v1/registrants/${id}/timeline`).expect(200)).body as Schemas['Timeline'];
  const ops = (t: Schemas['Timeline']) => t.past.map((e) => e.operation);

  it('shows what happened (mail accepted, link opened, first visit, answers saved) and what comes next, to every role', async () => {
    const { id, workflowId, email } = await invited('経過');
    let t = await timeline(hr, id);
    expect(t.workflow).toBe('running');
    expect(ops(t)).toEqual(['registrant_created', 'invitation_sent']);
    expect(t.mails).toEqual([{ kind: 'invitation', round: 1, status: 'sent', askedAt: expect.any(String), sentAt: expect.any(String) }]);
    const state = await harness.env.client.workflow.getHandle(workflowId).query(lifecycleQuery);
    const invitedAt = Date.parse(state.invitation!.invitedAt);
    // the tenant's reminder days (7, 30, 80): the first reminder, then the link's end
    expect(t.upcoming).toEqual([
      { name: 'reminder-1-1', kind: 'reminder', at: new Date(invitedAt + 7 * DAY_MS).toISOString(), label: 'リマインダー 1 回目' },
      { name: 'expiry-1', kind: 'link-expiry', at: state.invitation!.expiresAt, label: '登録用リンクの期限' },
    ]);
    expect(t.draftSavedAt).toBeNull();

    // The employee opens the link (twice: recorded once), sets up, saves answers.
    const token = tokenOf(mailsTo(email)[0]!);
    const employee = request.agent(harness.app);
    for (let i = 0; i < 2; i++) await employee.post('/v1/registration/link').send({ token }).expect(200);
    const setup = await employee.post('/v1/registration/setup').send({ token, password: 'employee-pass-1', consentedPurposes: (await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).purposes }).expect(200);
    await employee.put('/v1/registration/profile').set('X-CSRF-Token', setup.body.csrfToken).send({ gender: 'female' }).expect(200);
    t = await timeline(viewer, id);
    expect(ops(t)).toEqual(['registrant_created', 'invitation_sent', 'invitation_opened', 'consented']);
    expect(t.past[2]).toMatchObject({ label: '登録用リンクを開く', actor: { type: 'registrant', label: '田中 経過' } });
    expect(Date.parse(t.draftSavedAt!)).toBeGreaterThan(invitedAt);

    // not another tenant's
    expect((await outsider.get(`/v1/registrants/${id}/timeline`).expect(404)).body.code).toBe('REGISTRANT_NOT_FOUND');
  });

  it('after a remand: the remand mail, the new round\'s reminder and expiry, and the reason beside the remand while it stands', async () => {
    const { id } = await submitted('経過承認');
    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '画像が不鮮明です' }).expect(200);
    await until(async () => (await timeline(hr, id)).mails.some((m) => m.kind === 'remand' && m.status === 'sent'), 'the remand mail');
    const t = await timeline(hr, id);
    expect(ops(t)).toEqual(expect.arrayContaining(['submitted', 'remanded']));
    // The receipt the submission queued waits for the reconciler's round (not running here).
    expect(t.mails.map((m) => [m.kind, m.round, m.status])).toEqual([['invitation', 1, 'sent'], ['receipt', 0, 'sending'], ['remand', 2, 'sent']]);
    expect(t.upcoming!.map((u) => u.name)).toEqual(['reminder-2-1', 'expiry-2']);
    // The reason is read from the person's row (the chained history never holds it), beside that remand only.
    expect(t.past.filter((e) => e.reason).map((e) => [e.operation, e.reason])).toEqual([['remanded', '画像が不鮮明です']]);
    expect(JSON.stringify(await harness.prisma.operationEvent.findMany({ where: { registrantId: id } }), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('画像が不鮮明です');
  });
});

describe('invitation', () => {
  it('resends with the sender\'s message, reply-to and copy: a new link, the old one dead, 90 days from now', async () => {
    const { id, email } = await invited('再送');
    const oldToken = tokenOf(mailsTo(email)[0]!);
    const before = Date.now();
    const me = (await hr.get('/v1/auth/me').expect(200)).body.user.email as string;
    // The copy holds the live link: to the sender's own address only, never elsewhere.
    const elsewhere = await hr.post(`/v1/registrants/${id}/invitation`).send({ copyTo: 'outside@example.net' }).expect(400);
    expect(elsewhere.body).toMatchObject({ code: 'COPY_TO_NOT_SELF', title: 'コピーを送れるのは、ご自身のメールアドレスだけです' });
    // The same for a bulk invitation: refused as a whole (400), not person by person.
    const bulk = await hr.post('/v1/registrants/invitations').send({ registrantIds: [id], copyTo: 'outside@example.net' }).expect(400);
    expect(bulk.body.code).toBe('COPY_TO_NOT_SELF');
    const res = await hr.post(`/v1/registrants/${id}/invitation`).send({ message: '今週中にご登録ください', replyTo: 'jinji@example.co.jp', copyTo: me.toUpperCase() }).expect(200);
    expect(res.body.invitation.state).toBe('open');
    const expiresIn = Date.parse(res.body.invitation.expiresAt) - before;
    expect(expiresIn).toBeGreaterThanOrEqual(90 * DAY_MS - 1000);
    expect(expiresIn).toBeLessThan(90 * DAY_MS + 60_000);

    const mail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('今週中にご登録ください'), 15_000);
    expect(mail.replyTo).toBe('jinji@example.co.jp');
    expect(mail.cc).toContain(me);
    expect(harness.outbox.mails.filter((m) => JSON.stringify(m).includes('outside@example.net'))).toEqual([]);
    const links = await harness.prisma.invitation.findMany({ where: { registrantId: id } });
    expect(links.find((l) => l.tokenHash === hashToken(oldToken))!.revokedAt).not.toBeNull();
    expect(links.find((l) => l.tokenHash === hashToken(tokenOf(mail)))!.revokedAt).toBeNull();
    const sent = await harness.prisma.operationEvent.findMany({ where: { registrantId: id, operation: 'invitation_sent' }, orderBy: { id: 'asc' } });
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ actorType: 'login_user', actorLabel: '人事 花子', detail: { copyTo: me } });
  });

  it('refuses bad addresses, viewers and other tenants, and sends nothing', async () => {
    const { id, email } = await invited('不正');
    const bad = await hr.post(`/v1/registrants/${id}/invitation`).send({ replyTo: 'not-an-address' }).expect(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain('/body/replyTo');
    expect((await viewer.post(`/v1/registrants/${id}/invitation`).send({}).expect(403)).body.code).toBe('FORBIDDEN');
    expect((await outsider.post(`/v1/registrants/${id}/invitation`).send({}).expect(404)).body.code).toBe('REGISTRANT_NOT_FOUND');
    await new Promise((r) => setTimeout(r, 300));
    expect(mailsTo(email)).toHaveLength(1);
  });

  it('invites a selection in bulk, skipping retirees and unknown ids with the reason', async () => {
    const [a, b, retiree] = await Promise.all([invited('一括A'), invited('一括B'), invited('一括退職')]);
    await hr.put(`/v1/registrants/${retiree.id}/retirement`).send({ retirementDate: '2024-03-31' }).expect(200);
    await until(async () => (await row(retiree.id))?.retired === true, 'the retirement to take effect');
    const unknown = randomUUID();
    const res = await hr.post('/v1/registrants/invitations').send({ registrantIds: [a.id, retiree.id, unknown, b.id], message: '一括送信です' }).expect(200);
    expect(res.body).toMatchObject({ sent: 2, skipped: 2 });
    expect(res.body.results).toEqual([
      { registrantId: a.id, outcome: 'sent' },
      { registrantId: retiree.id, outcome: 'skipped', code: 'NOT_INVITABLE_RETIRED', message: '退職者には登録依頼を送信できません' },
      { registrantId: unknown, outcome: 'skipped', code: 'REGISTRANT_NOT_FOUND', message: '登録者が見つかりません' },
      { registrantId: b.id, outcome: 'sent' },
    ]);
    for (const p of [a, b]) await harness.outbox.waitFor((m) => m.to.includes(p.email) && m.text.includes('一括送信です'), 15_000);
    expect(mailsTo(retiree.email).some((m) => m.text.includes('一括送信です'))).toBe(false);
    expectProblem(await hr.post(`/v1/registrants/${retiree.id}/invitation`).send({}), 409, 'NOT_INVITABLE_RETIRED');
  });
});

describe('printed invitation (QR code)', () => {
  it('encodes a working link of the current round as PNG or SVG; the link dies with the round', async () => {
    const { id } = await invited('印刷');
    const png = await bytesOf(hr.post(`/v1/registrants/${id}/invitation/qr`)).expect(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.headers['cache-control']).toBe('no-store');
    const image = PngImage.sync.read(png.body as Buffer);
    const decoded = jsQR(new Uint8ClampedArray(image.data), image.width, image.height);
    const token = INVITATION_LINK.exec(decoded?.data ?? '')?.[1];
    expect(token).toBeDefined();
    const printed = await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(token!) } });
    expect(printed.revokedAt).toBeNull();
    expect(printed.expiresAt).toEqual((await row(id))!.invitationExpiresAt);
    expect(JSON.stringify(await harness.prisma.invitation.findMany({ where: { registrantId: id } }))).not.toContain(token);

    const svg = await hr.post(`/v1/registrants/${id}/invitation/qr?format=svg`).expect(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(String(svg.text ?? svg.body)).toMatch(/^<svg/);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'invitation_printed' } })).toBe(2);
    expect((await viewer.post(`/v1/registrants/${id}/invitation/qr`).expect(403)).body.code).toBe('FORBIDDEN');

    // A resend starts a new round: the printed link is dead too.
    await hr.post(`/v1/registrants/${id}/invitation`).send({}).expect(200);
    expect((await harness.prisma.invitation.findUniqueOrThrow({ where: { id: printed.id } })).revokedAt).not.toBeNull();
    // The withdraw update answers once the links are dead.
    expect((await hr.post(`/v1/registrants/${id}/withdraw`).expect(200)).body.invitation).toMatchObject({ state: 'withdrawn' });
    expect((await row(id))?.invitationState).toBe('withdrawn');
    expectProblem(await hr.post(`/v1/registrants/${id}/invitation/qr`), 409, 'INVITATION_NOT_OPEN');
  });
});

describe('decisions', () => {
  it('approve, remand and refuse answer 409 with the reason in Japanese when the state does not allow them', async () => {
    const { id } = await invited('未提出');
    expectProblem(await hr.post(`/v1/registrants/${id}/approval`).send({}), 409, 'NOT_PENDING');
    expectProblem(await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '不備' }), 409, 'NOT_PENDING');
    expectProblem(await hr.post(`/v1/registrants/${id}/login-unlock`), 409, 'NOT_LOCKED');
    const noReason = await hr.post(`/v1/registrants/${id}/refusal`).send({}).expect(400);
    expect(noReason.body.errors.map((e: { path: string }) => e.path)).toContain('/body/reason');
    expect((await row(id))!.status).toBe('unregistered');
  });

  it('remand mails the reason with a fresh link; approval completes and locks the login until HR unlocks it', async () => {
    const { id, email } = await submitted('承認');
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body).toMatchObject({ status: 'pending', invitation: { state: 'submitted' } });
    expectProblem(await hr.post(`/v1/registrants/${id}/invitation`).send({}), 409, 'NOT_INVITABLE_PENDING');

    const remanded = await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '写真が不鮮明です' }).expect(200);
    expect(remanded.body).toMatchObject({ status: 'remanded', statusReason: '写真が不鮮明です', invitation: { state: 'open' } });
    const mail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('写真が不鮮明です'), 15_000);
    expect(mail.subject).toContain('差戻し');

    const handle = harness.env.client.workflow.getHandle(remanded.body.workflowId);
    await createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) }).save(id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
    await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });

    const approved = await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    expect(approved.body).toMatchObject({ status: 'completed', loginLocked: true, statusReason: null, myNumber: { registered: true } });
    expectProblem(await hr.post(`/v1/registrants/${id}/invitation`).send({}), 409, 'NOT_INVITABLE_LOCKED');
    expect((await hr.post(`/v1/registrants/${id}/login-unlock`).expect(200)).body.loginLocked).toBe(false);
    expect((await handle.query(lifecycleQuery)).loginLocked).toBe(false);
  });

  it('after HR unlocks an approved person and invites again, the person adds a newborn and sends again; HR approves and the login locks again', async () => {
    const { id, email } = await submitted('再登録');
    await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    // Locked: the person's pages refuse changes until HR unlocks.
    await hr.post(`/v1/registrants/${id}/login-unlock`).expect(200);
    const before = mailsTo(email).length;
    await hr.post(`/v1/registrants/${id}/invitation`).send({ message: 'お子さんの登録をお願いします' }).expect(200);
    const mail = await harness.outbox.waitFor((m) => m.to.includes(email) && mailsTo(email).indexOf(m) >= before, 15_000);

    const phone = request.agent(harness.app);
    const link = await phone.post('/v1/registration/link').send({ token: tokenOf(mail) }).expect(200);
    const setUp = await phone
      .post('/v1/registration/setup')
      .send({ token: tokenOf(mail), password: 'reopen-pass-1', consentedPurposes: link.body.purposes.map((p: { code: string }) => p.code) })
      .expect(200);
    const csrf = setUp.body.csrfToken as string;
    const mine = await phone.get('/v1/registration').expect(200);
    // What was approved is the starting point: the number is kept (shown as entered), nothing to type again.
    expect(mine.body).toMatchObject({ status: 'completed', editable: true, draft: { myNumber: { entered: true } } });
    const baby = randomMyNumber();
    await phone.post('/v1/registration/dependents').set('X-CSRF-Token', csrf).send({ relationship: '子', familyName: '田中', givenName: '赤子', birthDate: '2026-10-01', gender: 'female', myNumber: baby, myNumberConfirmation: baby }).expect(201);
    await phone.post('/v1/registration/submission').set('X-CSRF-Token', csrf).expect(200);
    expect((await row(id))!.status).toBe('pending');
    const pending = await hr.get(`/v1/registrants/${id}`).expect(200);
    expect(pending.body.dependents.map((d: { givenName: string; status: string }) => [d.givenName, d.status])).toEqual([['赤子', 'pending']]);

    const again = await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    expect(again.body).toMatchObject({ status: 'completed', loginLocked: true });
    expect((await phone.get('/v1/registration')).status).toBe(401); // the session died with the approval
  });

  it('refusal keeps the reason and closes the link', async () => {
    const { id } = await submitted('拒否');
    const refused = await hr.post(`/v1/registrants/${id}/refusal`).send({ reason: '対象外の方です' }).expect(200);
    expect(refused.body).toMatchObject({ status: 'refused', statusReason: '対象外の方です', invitation: { state: 'closed' } });
    expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);
  });
});

describe('decisions per dependent', () => {
  /** Each dependent's status, by id. */
  const statuses = async (registrantId: string) =>
    Object.fromEntries((await harness.prisma.dependent.findMany({ where: { registrantId } })).map((d) => [d.id, d.status]));
  /** HR's decisions as the operation history holds them: operation and detail. */
  const decisions = async (registrantId: string) =>
    (await harness.prisma.operationEvent.findMany({ where: { registrantId, operation: { in: ['approved', 'remanded', 'refused'] } }, orderBy: { id: 'asc' } })).map((e) => [e.operation, e.detail]);

  it('approving one dependent completes only that one and the registrant stays pending; the column leaves out former dependents; the final approval completes the rest', async () => {
    const spouse = dependent('花子', '配偶者');
    const child = dependent('一郎', '子');
    const former = dependent('次郎', '子', { noLongerDependent: true, myNumber: undefined, birthDate: undefined });
    const { id, workflowId } = await submitted('扶養承認', [spouse, child, former]);
    const handle = harness.env.client.workflow.getHandle(workflowId);
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body).toMatchObject({ status: 'pending', dependentsStatus: 'pending' });
    expect(await statuses(id)).toEqual({ [spouse.id]: 'pending', [child.id]: 'pending', [former.id]: 'pending' });
    expect((await harness.prisma.dependent.findUniqueOrThrow({ where: { id: former.id } })).noLongerDependentAt).not.toBeNull();

    const one = await hr.post(`/v1/registrants/${id}/approval`).send({ dependentId: spouse.id }).expect(200);
    expect(one.body).toMatchObject({ status: 'pending', loginLocked: false, dependentsStatus: 'pending', invitation: { state: 'submitted' } });
    expect(await statuses(id)).toEqual({ [spouse.id]: 'completed', [child.id]: 'pending', [former.id]: 'pending' });
    expect(await handle.query(lifecycleQuery)).toMatchObject({ status: 'pending', loginLocked: false, invitation: { state: 'submitted' } });
    const approval = await harness.prisma.operationEvent.findFirstOrThrow({ where: { registrantId: id, operation: 'approved' } });
    expect(approval).toMatchObject({ actorType: 'login_user', actorLabel: '人事 花子', detail: { dependentId: spouse.id } });

    // Every dependent that counts is done: the column says completed although the former dependent is still pending.
    const two = await hr.post(`/v1/registrants/${id}/approval`).send({ dependentId: child.id }).expect(200);
    expect(two.body).toMatchObject({ status: 'pending', dependentsStatus: 'completed' });
    expect(await statuses(id)).toEqual({ [spouse.id]: 'completed', [child.id]: 'completed', [former.id]: 'pending' });
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body).toMatchObject({ status: 'pending', dependentsStatus: 'completed' });

    const final = await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    expect(final.body).toMatchObject({ status: 'completed', loginLocked: true, dependentsStatus: 'completed', invitation: { state: 'closed' } });
    expect(await statuses(id)).toEqual({ [spouse.id]: 'completed', [child.id]: 'completed', [former.id]: 'completed' });
    expect(await handle.query(lifecycleQuery)).toMatchObject({ status: 'completed', loginLocked: true });
    expect(await decisions(id)).toEqual([
      ['approved', { dependentId: spouse.id }],
      ['approved', { dependentId: child.id }],
      ['approved', null],
    ]);
  });

  it('remanding one dependent remands it with its reason, the registrant goes back to remanded with a fresh link mailed with the reason; after resubmission the final approval completes the dependents still pending', async () => {
    const spouse = dependent('花子', '配偶者');
    const child = dependent('一郎', '子');
    const { id, workflowId, email } = await submitted('扶養差戻し', [spouse, child]);
    const handle = harness.env.client.workflow.getHandle(workflowId);
    const firstToken = tokenOf(mailsTo(email)[0]!);

    const remanded = await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '一郎さんの生年月日をご確認ください', dependentId: child.id }).expect(200);
    expect(remanded.body).toMatchObject({ status: 'remanded', statusReason: '一郎さんの生年月日をご確認ください', dependentsStatus: 'remanded', invitation: { state: 'open' } });
    const rows = await harness.prisma.dependent.findMany({ where: { registrantId: id } });
    expect(rows.find((d) => d.id === child.id)).toMatchObject({ status: 'remanded', statusReason: '一郎さんの生年月日をご確認ください' });
    expect(rows.find((d) => d.id === spouse.id)).toMatchObject({ status: 'pending', statusReason: null });
    expect(await handle.query(lifecycleQuery)).toMatchObject({ status: 'remanded', invitation: { round: 2, state: 'open', remindersSent: 0 } });

    const mail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('一郎さんの生年月日をご確認ください'), 15_000);
    expect(mail.subject).toContain('差戻し');
    expect(mailsTo(email)).toHaveLength(2);
    const links = await harness.prisma.invitation.findMany({ where: { registrantId: id } });
    expect(links.find((l) => l.tokenHash === hashToken(firstToken))!.revokedAt).not.toBeNull();
    expect(links.find((l) => l.tokenHash === hashToken(tokenOf(mail)))!.revokedAt).toBeNull();
    expect(await decisions(id)).toEqual([['remanded', { dependentId: child.id }]]);

    // The employee fixes the child's entry and finishes again: both dependents wait for HR.
    await createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) }).save(id, {
      myNumber: randomMyNumber(),
      gender: 'male',
      birthDate: '1985-10-10',
      dependents: [spouse, { ...child, birthDate: '2016-06-06' }],
      removedDocumentIds: [],
      removedDependentIds: [],
    });
    await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body).toMatchObject({ status: 'pending', statusReason: null, dependentsStatus: 'pending' });
    expect(await statuses(id)).toEqual({ [spouse.id]: 'pending', [child.id]: 'pending' });

    await hr.post(`/v1/registrants/${id}/approval`).send({ dependentId: spouse.id }).expect(200);
    const final = await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    expect(final.body).toMatchObject({ status: 'completed', dependentsStatus: 'completed' });
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: child.id } })).toMatchObject({ status: 'completed', statusReason: null });
    expect(await decisions(id)).toEqual([
      ['remanded', { dependentId: child.id }],
      ['approved', { dependentId: spouse.id }],
      ['approved', null],
    ]);
    expect(mailsTo(email)).toHaveLength(2);
  });

  it('an unknown dependent (or another registrant\'s) is a 404 in Japanese and changes nothing', async () => {
    const own = dependent('花子', '配偶者');
    const other = dependent('三郎', '子');
    const [{ id, workflowId, email }, stranger] = await Promise.all([submitted('扶養不明', [own]), submitted('扶養他人', [other])]);
    const handle = harness.env.client.workflow.getHandle(workflowId);
    const before = {
      registrant: await row(id),
      dependents: await harness.prisma.dependent.findMany({ where: { registrantId: id } }),
      events: await harness.prisma.operationEvent.count({ where: { registrantId: id } }),
      links: await harness.prisma.invitation.findMany({ where: { registrantId: id } }),
      state: await handle.query(lifecycleQuery),
    };

    for (const dependentId of [randomUUID(), other.id]) {
      for (const res of [
        await hr.post(`/v1/registrants/${id}/approval`).send({ dependentId }),
        await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '確認してください', dependentId }),
      ]) {
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ code: 'DEPENDENT_NOT_FOUND', title: '扶養家族が見つかりません' });
      }
    }

    expect(await row(id)).toEqual(before.registrant);
    expect(await harness.prisma.dependent.findMany({ where: { registrantId: id } })).toEqual(before.dependents);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id } })).toBe(before.events);
    expect(await harness.prisma.invitation.findMany({ where: { registrantId: id } })).toEqual(before.links);
    // Only the step counter moved (a key is spent per attempt, never reused).
    const { seq: _seq, ...now } = await handle.query(lifecycleQuery);
    const { seq: _before, ...then } = before.state;
    expect(now).toEqual(then);
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: other.id } })).toMatchObject({ registrantId: stranger.id, status: 'pending' });
    expect(mailsTo(email)).toHaveLength(1);
  });
});

describe('retirement and deletion', () => {
  it('computes the deletion date by the tenant\'s rule, never sooner than 30 days ahead; reschedules and cancels', async () => {
    const { id } = await invited('退職');
    const rules = await hr.get('/v1/retention-rules').expect(200);
    expect(rules.body.current).toBe('dependents_declaration_7y');
    expect(rules.body.rules.map((r: { code: string }) => r.code)).toContain('employment_insurance_4y');

    const set = await hr.put(`/v1/registrants/${id}/retirement`).send({ retirementDate: '2024-03-31' }).expect(200);
    expect(set.body).toMatchObject({ retirementDate: '2024-03-31', deletion: { dueDate: '2032-01-11', rule: 'dependents_declaration_7y' } });
    expect(set.body.deletion.ruleLabel).toMatch(JAPANESE);
    await until(async () => (await row(id))?.retired === true, 'the past retirement date to take effect');
    expectProblem(await hr.put(`/v1/registrants/${id}/retirement`).send({ retirementDate: null }), 409, 'RETIREMENT_FIXED');

    // A retirement long ago: the rule's date has passed, so HR gets 30 days' notice first.
    const { id: old } = await invited('昔の退職');
    const clamped = await hr.put(`/v1/registrants/${old}/retirement`).send({ retirementDate: '2010-03-31' }).expect(200);
    const earliest = new Date(Date.parse(`${todayInJapan()}T00:00:00Z`) + 30 * DAY_MS).toISOString().slice(0, 10);
    expect(clamped.body.deletion.dueDate).toBe(earliest);

    const later = addYears(todayInJapan(), 1);
    expect((await hr.put(`/v1/registrants/${id}/deletion-schedule`).send({ dueDate: later }).expect(200)).body.deletion).toMatchObject({ dueDate: later, rule: 'manual' });
    expectProblem(await hr.put(`/v1/registrants/${id}/deletion-schedule`).send({ dueDate: '2020-01-01' }), 409, 'DELETION_DATE_PAST');
    expect((await hr.delete(`/v1/registrants/${id}/deletion-schedule`).expect(200)).body.deletion).toBeNull();
    expectProblem(await hr.delete(`/v1/registrants/${id}/deletion-schedule`), 409, 'NO_DELETION_SCHEDULED');
    const events = (await harness.prisma.operationEvent.findMany({ where: { registrantId: id }, orderBy: { id: 'asc' } })).map((e) => e.operation);
    expect(events).toEqual(expect.arrayContaining(['retirement_set', 'retired', 'deletion_scheduled', 'deletion_cancelled']));
  });

  it('deleting now asks for the password again: without it or with a wrong one nothing is deleted, and wrong ones count towards the lock', async () => {
    const { id } = await submitted('削除の再認証');
    await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    const before = (await row(id))!.myNumberSecretId;
    expect((await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'registrant' }).expect(400)).body.errors[0].path).toBe('/body/password');
    const wrong = await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'numbers', password: 'not-my-password' }).expect(400);
    expect(wrong.body).toMatchObject({ code: 'PASSWORD_INCORRECT', title: 'パスワードが正しくありません' });
    expect((await hr.delete(`/v1/registrants/${id}/my-number`).send({ password: 'not-my-password' }).expect(400)).body.code).toBe('PASSWORD_INCORRECT');
    expect((await hr.delete(`/v1/registrants/${id}/my-number`).expect(415)).body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    // still there, number and all; the wrong tries are counted on the account
    expect((await row(id))!.myNumberSecretId).toBe(before);
    expect(await harness.prisma.deletionRecord.count({ where: { registrantId: id } })).toBe(0);
    const me = ((await hr.get('/v1/auth/me').expect(200)).body as { user: { id: string } }).user;
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: me.id } })).failedLogins).toBe(2);
    await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'registrant', password: TEST_PASSWORD }).expect(200);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: me.id } })).failedLogins).toBe(0);
  });

  it('deletes now: numbers only keeps the person; the whole registrant leaves only the deletion record', async () => {
    const { id } = await submitted('即時削除');
    await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    const secretId = (await row(id))!.myNumberSecretId!;
    const numbers = await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'numbers', password: TEST_PASSWORD }).expect(200);
    expect(numbers.body).toMatchObject({ status: 'unregistered', myNumber: { registered: false } });
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: secretId } })).toBeNull();
    expect(await harness.prisma.document.count({ where: { registrantId: id } })).toBe(0);

    const bad = await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'dependent', password: TEST_PASSWORD }).expect(400);
    expect(bad.body.errors[0].path).toBe('/body/dependentId');
    expect((await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'dependent', dependentId: randomUUID(), password: TEST_PASSWORD }).expect(404)).body.code).toBe('DEPENDENT_NOT_FOUND');

    await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'registrant', password: TEST_PASSWORD }).expect(200);
    expect((await hr.get(`/v1/registrants/${id}`).expect(404)).body.code).toBe('REGISTRANT_NOT_FOUND');
    const records = await harness.prisma.deletionRecord.findMany({ where: { registrantId: id }, orderBy: { executedAt: 'asc' } });
    expect(records.map((r) => [r.kind, r.rule, r.actorType])).toEqual([
      ['numbers', 'immediate', 'login_user'],
      ['registrant', 'immediate', 'login_user'],
    ]);
  });
});

describe('a registrant whose workflow has ended without deletion', () => {
  it('gets a new lifecycle workflow carrying the database state, and the step goes through', async () => {
    const { id, workflowId, email } = await invited('復旧');
    await harness.env.client.workflow.getHandle(workflowId).terminate('operator error');
    const res = await hr.post(`/v1/registrants/${id}/invitation`).send({ message: '再開しました' }).expect(200);
    expect(res.body.invitation.state).toBe('open');
    await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('再開しました'), 15_000);
    const { status } = await harness.env.client.workflow.getHandle(workflowId).describe();
    expect(status.name).toBe('RUNNING');
    // The new run's keys are its own: its first invitation really went out.
    expect(mailsTo(email)).toHaveLength(2);
  });
});
