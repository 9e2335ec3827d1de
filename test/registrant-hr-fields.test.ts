/**
 * HR manages every field (seed 001's 登録者追加, 登録者編集, 扶養家族の追加・編集), over HTTP on a real
 * Temporal dev server, PostgreSQL and the SMTP capture:
 * - 新規追加 without an e-mail (nobody mailed), with an e-mail but no mail, with gender, dates, note
 *   and group; with a number HR checked on paper and dependents (完了, verified by the employer);
 *   every problem at its field, nothing stored;
 * - the edit of birth date and gender;
 * - a dependent added to an existing person, 扶養親族 ↔ 第3号被保険者, only a dependent's number deleted.
 */
import { randomUUID } from 'node:crypto';
import { lifecycleQuery } from '../shared';
import { createTenant, TEST_PASSWORD, type Agent } from './support/fixtures';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { expectProblem } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const harness = useWorkerHarness({ taskQueue: 'hr-fields' });
let tenantId: string;
let hr: Agent;
let viewer: Agent;
const numbers: string[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社全項目');
  [hr, viewer] = await Promise.all([harness.agent(tenantId, 'manager', '人事 全項目'), harness.agent(tenantId, 'viewer')]);
});

const number = () => {
  const n = randomMyNumber();
  numbers.push(n);
  return n;
};
const row = (id: string) => harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
const events = async (registrantId: string) => (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => [e.operation, e.detail]);
const workflowState = (workflowId: string) => harness.env.client.workflow.getHandle(workflowId).query(lifecycleQuery);
const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));

describe('新規追加 with everything', () => {
  it('without an e-mail: stored 未登録 with gender, dates, note and group, nobody mailed, the workflow waits', async () => {
    const group = await hr.post('/v1/groups').send({ name: `製造部-${randomUUID().slice(0, 4)}` }).expect(201);
    const res = await hr
      .post('/v1/registrants')
      .send({ familyName: '紙', givenName: '太郎', familyNameKana: 'かみ', gender: 'male', birthDate: 's55/1/1', hireDate: 'r2/4/1', note: '工場勤務', groupId: group.body.id, employeeCode: 'F-001' })
      .expect(201);
    expect(res.body).toMatchObject({ status: 'unregistered', email: null, gender: 'male', birthDate: '1980-01-01', hireDate: '2020-04-01', note: '工場勤務', groupId: group.body.id, familyNameKana: 'カミ', invitation: null });
    await until(async () => (await row(res.body.id)).workflowPendingSince === null, 'the workflow to start');
    expect(await workflowState(res.body.workflowId)).toMatchObject({ status: 'unregistered', invitation: null });
    expect(await events(res.body.id)).toEqual([['registrant_created', { source: 'new_registrant' }]]);
    // 収集メール needs an address: said so, the person untouched.
    expectProblem(await hr.post(`/v1/registrants/${res.body.id}/invitation`).send({}), 409, 'NOT_INVITABLE_NO_EMAIL');
  });

  it('with an e-mail and mail turned off: nothing is mailed; asked for without an address: a 400 at the e-mail', async () => {
    const email = `nomail-${randomUUID().slice(0, 8)}@example.co.jp`;
    const res = await hr.post('/v1/registrants').send({ familyName: '送らない', givenName: '花子', email, invite: false }).expect(201);
    expect(res.body).toMatchObject({ email, invitation: null, status: 'unregistered' });
    await until(async () => (await row(res.body.id)).workflowPendingSince === null, 'the workflow to start');
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo(email)).toEqual([]);

    const bad = await hr.post('/v1/registrants').send({ familyName: '送る', givenName: '宛先なし', invite: true });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: '/body/email', message: '収集メールを送るにはメールアドレスを入力してください' })]);
  });

  it('with a number HR checked on paper and dependents: 完了 and locked, numbers sealed, the method recorded, nobody mailed', async () => {
    const own = number();
    const child = number();
    const email = `paper-${randomUUID().slice(0, 8)}@example.co.jp`;
    const res = await hr
      .post('/v1/registrants')
      .send({
        familyName: '書類',
        givenName: '一郎',
        email,
        birthDate: '1975-05-05',
        gender: 'male',
        myNumber: own,
        myNumberConfirmation: own,
        verificationMethod: 'my_number_card',
        dependents: [
          { relationship: '子', familyName: '書類', givenName: '次郎', birthDate: 'h27/5/5', myNumber: child, myNumberConfirmation: child },
          { relationship: '配偶者', kind: 'category3', familyName: '書類', givenName: '花子' },
        ],
      })
      .expect(201);
    expect(res.body).toMatchObject({ status: 'completed', loginLocked: true, myNumber: { registered: true }, invitation: null, dependentsStatus: 'unregistered' });
    expect(containsAny(JSON.stringify(res.body), [own, child])).toEqual([]);
    const deps = await harness.prisma.dependent.findMany({ where: { registrantId: res.body.id }, orderBy: { createdAt: 'asc' } });
    expect(deps.map((d) => [d.givenName, d.kind, d.status, !!d.myNumberSecretId])).toEqual([
      ['次郎', 'dependent', 'completed', true],
      ['花子', 'category3', 'unregistered', false],
    ]);
    await until(async () => (await row(res.body.id)).workflowPendingSince === null, 'the workflow to start');
    expect(await workflowState(res.body.workflowId)).toMatchObject({ status: 'completed', loginLocked: true, invitation: null });
    expect(await events(res.body.id)).toEqual([
      ['registrant_created', { source: 'new_registrant' }],
      ['number_registered', { source: 'new_registrant', numbers: 2, verifiedBy: 'employer', verificationMethod: 'my_number_card' }],
    ]);
    // HR reads it back: the number it typed.
    const shown = await hr.post(`/v1/registrants/${res.body.id}/my-number/reveal`).send({ password: TEST_PASSWORD, purpose: (await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).purposes[0] }).expect(200);
    expect(shown.body.myNumber === own).toBe(true);
    expect(mailsTo(email)).toEqual([]);
  });

  it('every problem at its field in Japanese, nothing stored', async () => {
    const n = number();
    const before = await harness.prisma.registrant.count({ where: { tenantId } });
    const res = await hr.post('/v1/registrants').send({
      familyName: '誤り',
      givenName: '多数',
      birthDate: '2999-01-01',
      hireDate: '昭和99年13月1日',
      myNumber: n,
      myNumberConfirmation: `${n.slice(0, 11)}${(Number(n[11]) + 1) % 10}`,
      invite: true,
      email: 'x@example.co.jp',
      groupId: randomUUID(),
      dependents: [{ relationship: '', familyName: '子', givenName: '番号重複', myNumber: n, myNumberConfirmation: n }],
    });
    expectProblem(res, 400, 'VALIDATION_FAILED');
    const paths = (res.body.errors as { path: string }[]).map((e) => e.path).sort();
    expect(paths).toEqual(
      ['/body/birthDate', '/body/dependents/0/relationship', '/body/groupId', '/body/hireDate', '/body/invite', '/body/myNumberConfirmation', '/body/verificationMethod'].sort(),
    );
    expect(containsAny(JSON.stringify(res.body), [n])).toEqual([]);
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(before);
    expectProblem(await viewer.post('/v1/registrants').send({ familyName: '閲覧', givenName: '者' }), 403, 'FORBIDDEN');
  });

  it('with an Idempotency-Key a retry (or the same request twice at once) stores one person and one number; another body under the key is refused', async () => {
    const n = number();
    const key = randomUUID();
    const body = { familyName: '再送', givenName: '一人', myNumber: n, myNumberConfirmation: n, verificationMethod: 'my_number_card' };
    const [a, b] = await Promise.all([hr.post('/v1/registrants').set('Idempotency-Key', key).send(body), hr.post('/v1/registrants').set('Idempotency-Key', key).send(body)]);
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.id).toBe(b.body.id);
    const again = await hr.post('/v1/registrants').set('Idempotency-Key', key).send(body).expect(201);
    expect(again.body.id).toBe(a.body.id);
    expect(await harness.prisma.registrant.count({ where: { tenantId, familyName: '再送' } })).toBe(1);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: a.body.id, operation: 'number_registered' } })).toBe(1);
    expectProblem(await hr.post('/v1/registrants').set('Idempotency-Key', key).send({ ...body, givenName: '別人' }), 409, 'IDEMPOTENCY_KEY_REUSED');
    // A plain add with a key is kept once too.
    const plainKey = randomUUID();
    const plain = { familyName: '再送', givenName: '招待', email: `again-${randomUUID().slice(0, 8)}@example.co.jp` };
    const first = await hr.post('/v1/registrants').set('Idempotency-Key', plainKey).send(plain).expect(201);
    expect((await hr.post('/v1/registrants').set('Idempotency-Key', plainKey).send(plain).expect(201)).body.id).toBe(first.body.id);
    expect(await harness.prisma.registrant.count({ where: { tenantId, givenName: '招待', familyName: '再送' } })).toBe(1);
  });

  it('a taken employee code is a 409 at the field, nothing stored', async () => {
    await hr.post('/v1/registrants').send({ familyName: '先', givenName: '人', employeeCode: 'DUP-1', invite: false }).expect(201);
    const res = await hr.post('/v1/registrants').send({ familyName: '後', givenName: '人', employeeCode: 'DUP-1', gender: 'female' });
    expectProblem(res, 409, 'EMPLOYEE_CODE_TAKEN');
    expect(await harness.prisma.registrant.count({ where: { tenantId, familyName: '後' } })).toBe(0);
  });
});

describe('登録者編集: birth date and gender', () => {
  it('are corrected, checked, and named in the history', async () => {
    const r = (await hr.post('/v1/registrants').send({ familyName: '編集', givenName: '性別', invite: false }).expect(201)).body;
    const done = await hr.patch(`/v1/registrants/${r.id}`).send({ birthDate: 'h2/4/1', gender: 'female' }).expect(200);
    expect(done.body).toMatchObject({ birthDate: '1990-04-01', gender: 'female' });
    const bad = await hr.patch(`/v1/registrants/${r.id}`).send({ birthDate: '2999-01-01', hireDate: '1980-01-01' });
    expectProblem(bad, 400, 'VALIDATION_FAILED');
    expect((bad.body.errors as { path: string; message: string }[]).map((e) => [e.path, e.message])).toEqual([
      ['/body/birthDate', '生年月日に未来の日付は指定できません'],
      ['/body/hireDate', '入社日が生年月日より前です'],
    ]);
    expect((await row(r.id)).birthDate?.toISOString().slice(0, 10)).toBe('1990-04-01');
    const updated = (await events(r.id)).filter(([op]) => op === 'registrant_updated');
    expect(updated).toEqual([['registrant_updated', { changed: ['birthDate', 'gender'] }]]);
  });
});

describe('扶養家族: added by HR, kind changed, only the number deleted', () => {
  it('adds with and without a number, switches 扶養親族 ↔ 第3号被保険者, deletes only a dependent\'s number behind the password', async () => {
    const r = (await hr.post('/v1/registrants').send({ familyName: '家族', givenName: '本人', invite: false }).expect(201)).body;
    const n = number();
    const withNumber = await hr.post(`/v1/registrants/${r.id}/dependents`).send({ relationship: '子', familyName: '家族', givenName: '長男', birthDate: 'r1/6/1', myNumber: n, myNumberConfirmation: n }).expect(201);
    expect(withNumber.body).toMatchObject({ relationship: '子', kind: 'dependent', status: 'completed', birthDate: '2019-06-01' });
    expect(containsAny(JSON.stringify(withNumber.body), [n])).toEqual([]);
    const without = await hr.post(`/v1/registrants/${r.id}/dependents`).send({ relationship: '配偶者', familyName: '家族', givenName: '妻' }).expect(201);
    expect(without.body).toMatchObject({ status: 'unregistered', kind: 'dependent' });

    const kind = await hr.patch(`/v1/registrants/${r.id}/dependents/${without.body.id}`).send({ kind: 'category3' }).expect(200);
    expect(kind.body.kind).toBe('category3');
    expectProblem(await hr.patch(`/v1/registrants/${r.id}/dependents/${without.body.id}`).send({ kind: 'neither' }), 400, 'VALIDATION_FAILED');

    // Only the number: a wrong password deletes nothing; the right one shreds it, the dependent stays 未登録.
    const secretId = (await harness.prisma.dependent.findUniqueOrThrow({ where: { id: withNumber.body.id } })).myNumberSecretId!;
    expectProblem(await hr.delete(`/v1/registrants/${r.id}/dependents/${withNumber.body.id}/my-number`).send({ password: 'not-it-at-all' }), 400, 'PASSWORD_INCORRECT');
    expect(await harness.prisma.vaultSecret.count({ where: { id: secretId } })).toBe(1);
    await hr.delete(`/v1/registrants/${r.id}/dependents/${withNumber.body.id}/my-number`).send({ password: TEST_PASSWORD }).expect(204);
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: withNumber.body.id } })).toMatchObject({ myNumberSecretId: null, status: 'unregistered', givenName: '長男' });
    expect(await harness.prisma.vaultSecret.count({ where: { id: secretId } })).toBe(0);
    expect((await row(r.id)).myNumberSecretId).toBeNull();
    expectProblem(await hr.delete(`/v1/registrants/${r.id}/dependents/${withNumber.body.id}/my-number`).send({ password: TEST_PASSWORD }), 404, 'NUMBER_NOT_REGISTERED');

    expect((await events(r.id)).map(([op, d]) => [op, (d as { dependentId?: string } | null)?.dependentId ?? null])).toEqual([
      ['registrant_created', null],
      ['dependent_added', withNumber.body.id],
      ['number_registered', withNumber.body.id],
      ['dependent_added', without.body.id],
      ['dependent_updated', without.body.id],
      ['number_deleted', withNumber.body.id],
    ]);
  });

  it('a dependent added again with the same Idempotency-Key is added once', async () => {
    const r = (await hr.post('/v1/registrants').send({ familyName: '家族', givenName: '再送', invite: false }).expect(201)).body;
    const n = number();
    const key = randomUUID();
    const body = { relationship: '子', familyName: '家族', givenName: '一度', myNumber: n, myNumberConfirmation: n };
    const first = await hr.post(`/v1/registrants/${r.id}/dependents`).set('Idempotency-Key', key).send(body).expect(201);
    const second = await hr.post(`/v1/registrants/${r.id}/dependents`).set('Idempotency-Key', key).send(body).expect(201);
    expect(second.body.id).toBe(first.body.id);
    expect(await harness.prisma.dependent.count({ where: { registrantId: r.id } })).toBe(1);
  });

  it('a 報酬支払 registrant has no dependents; a viewer cannot add one', async () => {
    const payee = (await hr.post('/v1/registrants').send({ familyName: '報酬', givenName: '支払', category: 'payee', invite: false }).expect(201)).body;
    expectProblem(await hr.post(`/v1/registrants/${payee.id}/dependents`).send({ relationship: '子', familyName: '報酬', givenName: '子' }), 400, 'VALIDATION_FAILED');
    const r = (await hr.post('/v1/registrants').send({ familyName: '閲覧', givenName: '不可', invite: false }).expect(201)).body;
    expectProblem(await viewer.post(`/v1/registrants/${r.id}/dependents`).send({ relationship: '子', familyName: '閲覧', givenName: '子' }), 403, 'FORBIDDEN');
    expect(await harness.prisma.dependent.count({ where: { registrantId: { in: [payee.id, r.id] } } })).toBe(0);
  });
});
