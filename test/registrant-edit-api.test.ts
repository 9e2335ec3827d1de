/**
 * HR's edit of a registrant and of a submitted dependent (seed 001 ch.11 登録者・扶養家族の編集) over
 * HTTP: only the fields given change, each checked with a Japanese message at its field, the employee
 * code unique in the tenant (409), groups of the tenant only, dates in Western or Japanese era form,
 * the changed field names (never values) in the operation history, an e-mail change that keeps a live
 * invitation link working and sends the next mail to the new address (as the employee-master sync
 * does), draft dependents out of HR's reach, viewers refused, and tenant isolation.
 * People are stored directly (no workflow is involved), so Temporal points nowhere.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createInvitationActivities } from '../activities/invitations';
import { hashToken } from '../services/auth/token-hash';
import { createMailTransport } from '../services/mail/transport';
import { useApiHarness } from './support/api-harness';
import { createTenant, MAIL_FROM, memoryLogger, PUBLIC_URL, testVault, type Agent } from './support/fixtures';
import { expectProblem, JAPANESE } from './support/problems';

const { logger } = memoryLogger();
const harness = useApiHarness({ taskQueue: 'registrant-edit', logger });
let tenantId: string;
let otherTenant: string;
let manager: Agent;
let viewer: Agent;
let otherOwner: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '登録者編集株式会社');
  otherTenant = await createTenant(harness.prisma, '別会社編集株式会社');
  [manager, viewer, otherOwner] = await Promise.all([
    harness.agent(tenantId, 'manager', '人事 編集'),
    harness.agent(tenantId, 'viewer'),
    harness.agent(otherTenant, 'owner'),
  ]);
});

const code = () => `E${randomBytes(4).toString('hex').toUpperCase()}`;

async function registrant(extra: Record<string, unknown> = {}, tenant = tenantId) {
  return harness.prisma.registrant.create({
    data: { tenantId: tenant, familyName: '編集', givenName: '花子', email: `h-${randomUUID().slice(0, 8)}@example.co.jp`, employeeCode: code(), birthDate: new Date('1990-04-01T00:00:00Z'), workflowId: `wf-${randomUUID()}`, ...extra },
  });
}

async function dependent(registrantId: string, extra: Record<string, unknown> = {}) {
  return harness.prisma.dependent.create({ data: { registrantId, relationship: '子', familyName: '編集', givenName: '一郎', status: 'pending', draft: false, ...extra } });
}

const updates = (registrantId: string, operation = 'registrant_updated') => harness.prisma.operationEvent.findMany({ where: { tenantId, registrantId, operation }, orderBy: { id: 'asc' } });

describe('PATCH /v1/registrants/{id}', () => {
  it('changes the fields given (trimmed, kana to katakana, era dates, group, note), returns the Registrant, and records the changed field names only', async () => {
    const r = await registrant();
    const group = await harness.prisma.group.create({ data: { tenantId, name: `経理-${randomUUID().slice(0, 6)}` } });
    const newCode = code();
    const res = await manager
      .patch(`/v1/registrants/${r.id}`)
      .send({ familyName: ' 佐藤 ', familyNameKana: 'さとう', givenNameKana: 'ﾊﾅｺ', employeeCode: `\u3000${newCode.toLowerCase()}\u3000`, category: 'part_time', groupId: group.id, hireDate: 'r2/4/1', note: ' 産休中 ' })
      .expect(200);
    expect(res.body).toMatchObject({
      id: r.id,
      familyName: '佐藤',
      givenName: '花子',
      familyNameKana: 'サトウ',
      givenNameKana: 'ハナコ',
      employeeCode: newCode.toLowerCase(),
      category: 'part_time',
      groupId: group.id,
      hireDate: '2020-04-01',
      note: '産休中',
      birthDate: '1990-04-01',
      email: r.email,
    });
    const row = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
    expect(row).toMatchObject({ familyName: '佐藤', groupId: group.id, note: '産休中', hireDate: new Date('2020-04-01T00:00:00Z') });

    const [event] = await updates(r.id);
    expect(event).toMatchObject({ label: '登録者情報の編集', actorLabel: '人事 編集', registrantLabel: '佐藤 花子' });
    expect((event!.detail as { changed: string[] }).changed.sort()).toEqual(['category', 'employeeCode', 'familyName', 'familyNameKana', 'givenNameKana', 'groupId', 'hireDate', 'note'].sort());
    // Names of fields only: no value is in the history.
    expect(JSON.stringify(event!.detail)).not.toMatch(/佐藤|サトウ|産休|2020|E[0-9A-F]{8}/i);

    // The same values again: nothing changes, nothing is recorded. null clears.
    await manager.patch(`/v1/registrants/${r.id}`).send({ familyName: '佐藤', note: '産休中' }).expect(200);
    expect(await updates(r.id)).toHaveLength(1);
    const cleared = await manager.patch(`/v1/registrants/${r.id}`).send({ groupId: null, note: '', familyNameKana: null, hireDate: null }).expect(200);
    expect(cleared.body).toMatchObject({ groupId: null, note: null, familyNameKana: null, hireDate: null });
    expect((await updates(r.id))[1]!.detail).toEqual({ changed: ['familyNameKana', 'groupId', 'hireDate', 'note'] });
    // The list shows the same.
    const listed = await viewer.get(`/v1/registrants?employeeCode=${newCode.toLowerCase()}`).expect(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ id: r.id, groupId: null, note: null })]);
  });

  it('checks each field with a Japanese message at its path, and changes nothing when one is wrong', async () => {
    const r = await registrant({ retirementDate: new Date('2025-03-31T00:00:00Z') });
    const theirGroup = await harness.prisma.group.create({ data: { tenantId: otherTenant, name: `他社-${randomUUID().slice(0, 6)}` } });
    const res = await manager.patch(`/v1/registrants/${r.id}`).send({
      familyName: '　',
      givenName: '名'.repeat(51),
      familyNameKana: 'Sato',
      email: 'not-an-address',
      employeeCode: 'E 01',
      groupId: theirGroup.id,
      hireDate: '2020-02-30',
      note: '備'.repeat(1001),
    });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const byPath = Object.fromEntries((res.body.errors as { path: string; code: string; message: string }[]).map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual(['/body/email', '/body/employeeCode', '/body/familyName', '/body/familyNameKana', '/body/givenName', '/body/groupId', '/body/hireDate', '/body/note'].sort());
    expect(byPath['/body/familyName']).toMatchObject({ code: 'REQUIRED', message: '姓を入力してください' });
    expect(byPath['/body/groupId']).toMatchObject({ code: 'GROUP_NOT_FOUND', message: 'グループが見つかりません' });
    expect(byPath['/body/note']).toMatchObject({ code: 'TOO_LONG', message: '備考は1000文字以内で入力してください' });
    for (const e of res.body.errors as { message: string }[]) expect(e.message).toMatch(JAPANESE);
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).toMatchObject({ familyName: '編集', email: r.email, employeeCode: r.employeeCode });
    expect(await updates(r.id)).toHaveLength(0);

    const order = await manager.patch(`/v1/registrants/${r.id}`).send({ hireDate: '1989-01-01' });
    expectProblem(order, 400, 'VALIDATION_FAILED');
    expect(order.body.errors).toEqual([{ path: '/body/hireDate', code: 'DATE_ORDER', message: '入社日が生年月日より前です' }]);
    const late = await manager.patch(`/v1/registrants/${r.id}`).send({ hireDate: '2025-04-01' });
    expect(late.body.errors).toEqual([{ path: '/body/hireDate', code: 'DATE_ORDER', message: '入社日が退職日より後です' }]);
    // The contract: at least one field, no unknown ones, category from its list.
    expect((await manager.patch(`/v1/registrants/${r.id}`).send({})).status).toBe(400);
    expect((await manager.patch(`/v1/registrants/${r.id}`).send({ status: 'completed' })).status).toBe(400);
    expect((await manager.patch(`/v1/registrants/${r.id}`).send({ category: 'boss' })).status).toBe(400);
  });

  it('the submission deadline (提出期限): a new one from today to 90 days ahead; a stored one that has passed is kept through other edits; null clears it', async () => {
    const day = (days: number) => new Date(Date.now() + 9 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
    const passed = await registrant({ submissionDueDate: new Date(`${day(-5)}T00:00:00Z`) });
    // The edit form sends every field back: the passed deadline as it is goes through.
    const kept = await manager.patch(`/v1/registrants/${passed.id}`).send({ note: '督促済み', submissionDueDate: day(-5) }).expect(200);
    expect(kept.body).toMatchObject({ note: '督促済み', submissionDueDate: day(-5) });
    const moved = await manager.patch(`/v1/registrants/${passed.id}`).send({ submissionDueDate: day(-4) }).expect(400);
    expect(moved.body.errors).toEqual([{ path: '/body/submissionDueDate', code: 'DUE_DATE_PAST', message: '提出期限に過去の日付は指定できません' }]);
    expect((await manager.patch(`/v1/registrants/${passed.id}`).send({ submissionDueDate: day(91) }).expect(400)).body.errors[0].code).toBe('DUE_DATE_TOO_LATE');
    expect((await manager.patch(`/v1/registrants/${passed.id}`).send({ submissionDueDate: day(30) }).expect(200)).body.submissionDueDate).toBe(day(30));
    expect((await manager.patch(`/v1/registrants/${passed.id}`).send({ submissionDueDate: null }).expect(200)).body.submissionDueDate).toBeNull();
    expect((await updates(passed.id)).map((e) => (e.detail as { changed: string[] }).changed)).toEqual([['note'], ['submissionDueDate'], ['submissionDueDate']]);
    // A link that is open ends on its own day: no deadline after it.
    const linked = await registrant({ invitationState: 'open', invitationExpiresAt: new Date(`${day(20)}T12:00:00+09:00`) });
    const late = await manager.patch(`/v1/registrants/${linked.id}`).send({ submissionDueDate: day(21) }).expect(400);
    expect(late.body.errors).toEqual([{ path: '/body/submissionDueDate', code: 'DUE_DATE_TOO_LATE', message: expect.stringContaining(`登録用リンクの有効期限（${Number(day(20).slice(0, 4))}年${Number(day(20).slice(5, 7))}月${Number(day(20).slice(8, 10))}日）`) }]);
    expect((await manager.patch(`/v1/registrants/${linked.id}`).send({ submissionDueDate: day(20) }).expect(200)).body.submissionDueDate).toBe(day(20));
  });

  it('an employee code someone else in the tenant has is 409 EMPLOYEE_CODE_TAKEN; another tenant may have it', async () => {
    const a = await registrant();
    const b = await registrant();
    const taken = await manager.patch(`/v1/registrants/${b.id}`).send({ employeeCode: a.employeeCode });
    expectProblem(taken, 409, 'EMPLOYEE_CODE_TAKEN');
    expect(taken.body.errors).toEqual([{ path: '/body/employeeCode', code: 'EMPLOYEE_CODE_TAKEN', message: 'この社員コードは他の登録者が使っています' }]);
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: b.id } })).employeeCode).toBe(b.employeeCode);
    const theirs = await registrant({}, otherTenant);
    await manager.patch(`/v1/registrants/${b.id}`).send({ employeeCode: theirs.employeeCode }).expect(200);
    // Clearing it is allowed.
    expect((await manager.patch(`/v1/registrants/${a.id}`).send({ employeeCode: null }).expect(200)).body.employeeCode).toBeNull();
  });

  it('a registrant with submitted dependents cannot become a payee (報酬支払: no dependents)', async () => {
    const r = await registrant();
    await dependent(r.id);
    const res = await manager.patch(`/v1/registrants/${r.id}`).send({ category: 'payee' });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    expect(res.body.errors).toEqual([expect.objectContaining({ path: '/body/category', code: 'DEPENDENTS_NOT_ALLOWED' })]);
    const alone = await registrant();
    expect((await manager.patch(`/v1/registrants/${alone.id}`).send({ category: 'payee' }).expect(200)).body.category).toBe('payee');
  });

  it('a new e-mail address with a live invitation: the link keeps working and the next mail goes to the new address', async () => {
    const r = await registrant({ invitationState: 'open', invitationExpiresAt: new Date(Date.now() + 80 * 86_400_000) });
    const token = randomBytes(32).toString('base64url');
    await harness.prisma.invitation.create({ data: { registrantId: r.id, issueKey: `edit-${randomUUID()}`, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + 80 * 86_400_000) } });
    const email = `new-${randomUUID().slice(0, 8)}@example.co.jp`;
    const res = await manager.patch(`/v1/registrants/${r.id}`).send({ email: ` ${email} ` }).expect(200);
    expect(res.body).toMatchObject({ email, invitation: { state: 'open' } });
    expect((await updates(r.id))[0]!.detail).toEqual({ changed: ['email'] });

    const link = await request(harness.app).post('/v1/registration/link').send({ token }).expect(200);
    expect(link.body.email).toBe(email);
    expect(await harness.prisma.invitation.count({ where: { registrantId: r.id, revokedAt: null } })).toBe(1);

    // The workflow's next mail (a reminder) reads the address when it goes out.
    const activities = createInvitationActivities({ prisma: harness.prisma, mailer: createMailTransport(`smtp://127.0.0.1:${harness.outbox.smtpPort}`), publicUrl: PUBLIC_URL, mailFrom: MAIL_FROM, logger, vault: testVault(harness.prisma) });
    await new MockActivityEnvironment().run(activities.sendInvitationMail, { registrantId: r.id, key: `reminder-${randomUUID()}`, kind: 'reminder' as const, expiresAt: new Date(Date.now() + 80 * 86_400_000).toISOString() });
    const mail = await harness.outbox.waitFor((m) => m.to.includes(email));
    expect(mail.to).not.toContain(r.email!);
    expect(harness.outbox.mails.filter((m) => m.to.includes(r.email!))).toHaveLength(0);
  });

  it('viewers, other tenants and unknown ids change nothing', async () => {
    const r = await registrant();
    expectProblem(await viewer.patch(`/v1/registrants/${r.id}`).send({ familyName: '閲覧' }), 403, 'FORBIDDEN');
    expectProblem(await otherOwner.patch(`/v1/registrants/${r.id}`).send({ familyName: '他社' }), 404, 'REGISTRANT_NOT_FOUND');
    expectProblem(await manager.patch(`/v1/registrants/${randomUUID()}`).send({ familyName: '不明' }), 404, 'REGISTRANT_NOT_FOUND');
    expectProblem(await manager.patch(`/v1/registrants/${r.id}`).set('X-CSRF-Token', 'forged').send({ familyName: '偽造' }), 403, 'CSRF_TOKEN_INVALID');
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).familyName).toBe('編集');
    expect(await updates(r.id)).toHaveLength(0);
  });
});

describe('PATCH /v1/registrants/{id}/dependents/{dependentId}', () => {
  it('changes a submitted dependent, returns it, records the changed names, and marks the registrant changed for payroll', async () => {
    const r = await registrant();
    const d = await dependent(r.id, { birthDate: new Date('2015-05-05T00:00:00Z') });
    const res = await manager
      .patch(`/v1/registrants/${r.id}/dependents/${d.id}`)
      .send({ relationship: ' 長男 ', givenName: '太郎', familyNameKana: 'へんしゅう', givenNameKana: 'タロウ', birthDate: 'H27/5/6', gender: 'male' })
      .expect(200);
    expect(res.body).toEqual({
      id: d.id,
      relationship: '長男',
      kind: 'dependent',
      familyName: '編集',
      givenName: '太郎',
      familyNameKana: 'ヘンシュウ',
      givenNameKana: 'タロウ',
      birthDate: '2015-05-06',
      gender: 'male',
      status: 'pending',
      noLongerDependent: false,
      removalRequested: false,
      myNumber: { registered: false },
    });
    const [event] = await updates(r.id, 'dependent_updated');
    expect(event).toMatchObject({ label: '扶養家族情報の編集', registrantLabel: '編集 花子', detail: { dependentId: d.id, changed: ['relationship', 'givenName', 'familyNameKana', 'givenNameKana', 'birthDate', 'gender'] } });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).updatedAt.getTime()).toBeGreaterThan(r.updatedAt.getTime());
    const listed = await viewer.get(`/v1/registrants?employeeCode=${r.employeeCode}`).expect(200);
    expect(listed.body.items[0].dependents).toEqual([res.body]);
  });

  it('checks the fields in Japanese; a dependent in the employee\'s draft, of another registrant or tenant is 404; viewers 403', async () => {
    const r = await registrant();
    const d = await dependent(r.id);
    const bad = await manager.patch(`/v1/registrants/${r.id}/dependents/${d.id}`).send({ relationship: '', familyName: '', birthDate: '2999-01-01' });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors.map((e: { path: string; code: string }) => [e.path, e.code])).toEqual([
      ['/body/relationship', 'REQUIRED'],
      ['/body/familyName', 'REQUIRED'],
      ['/body/birthDate', 'DATE_IN_FUTURE'],
    ]);
    const draft = await dependent(r.id, { draft: true });
    expectProblem(await manager.patch(`/v1/registrants/${r.id}/dependents/${draft.id}`).send({ givenName: '下書き' }), 404, 'DEPENDENT_NOT_FOUND');
    const other = await registrant();
    expectProblem(await manager.patch(`/v1/registrants/${other.id}/dependents/${d.id}`).send({ givenName: '別人' }), 404, 'DEPENDENT_NOT_FOUND');
    expectProblem(await otherOwner.patch(`/v1/registrants/${r.id}/dependents/${d.id}`).send({ givenName: '他社' }), 404, 'REGISTRANT_NOT_FOUND');
    expectProblem(await viewer.patch(`/v1/registrants/${r.id}/dependents/${d.id}`).send({ givenName: '閲覧' }), 403, 'FORBIDDEN');
    expect((await harness.prisma.dependent.findUniqueOrThrow({ where: { id: d.id } })).givenName).toBe('一郎');
    expect((await harness.prisma.dependent.findUniqueOrThrow({ where: { id: draft.id } })).givenName).toBe('一郎');
    expect(await updates(r.id, 'dependent_updated')).toHaveLength(0);
    expect((await manager.patch(`/v1/registrants/${r.id}/dependents/${d.id}`).send({})).status).toBe(400);
    expect((await manager.patch(`/v1/registrants/${r.id}/dependents/${d.id}`).send({ myNumber: '123' })).status).toBe(400);
  });
});
