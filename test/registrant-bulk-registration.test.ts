/**
 * Bulk manual entry (複数一括登録) and quick add with invitations (スマホで収集・簡易登録) over HTTP, on
 * a real Temporal dev server with a worker, real PostgreSQL and the SMTP capture: people stored
 * completed with sealed numbers and era dates, workflows started after the commit with that status
 * and no mail, the history without numbers; all-or-nothing validation in Japanese with exact paths;
 * invitations carrying the sender's message, Reply-To and a copy to the sender.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import type { ConnectorCaller } from '../services/connectors/connectors';
import { createWebhookService } from '../services/connectors/webhooks';
import { invitationSubject } from '../services/mail/invitation-mail';
import { createTemporalClient } from '../services/temporal/client';
import { lifecycleQuery, registrantWorkflowId } from '../shared';
import { createLoginUser, createTenant, loginAs, memoryLogger, testApp, testVault, type Agent, type TestUser } from './support/fixtures';
import { containsAny, randomMyNumber, typedFullWidth } from './support/leak-scan';
import { holdHistoryLock } from './support/history-lock';
import { JAPANESE } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

/** The invitation's subject as this file's company gets it. */
const INVITATION_SUBJECT = invitationSubject('invitation', '簡易登録株式会社');

const TASK_QUEUE = 'registrant-bulk-registration';

const { logger, lines } = memoryLogger();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger });
let receiver: http.Server;
let hookBase: string;
const received: { path: string; body: string }[] = [];
/** Every number a test typed: none may show up anywhere but the reveal's answer. */
const numbers: string[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookBase = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // Nothing the product logged and nothing a webhook carried holds a number typed here.
  expect(containsAny(lines.join('\n'), numbers)).toEqual([]);
  expect(containsAny(received.map((r) => r.body).join('\n'), numbers)).toEqual([]);
  await new Promise((resolve) => receiver?.close(resolve));
});

/** A tenant with a manager (and their login user, for the password and the e-mail) logged in. */
async function hrOf(name: string): Promise<{ tenantId: string; agent: Agent; user: TestUser }> {
  const tenantId = await createTenant(harness.prisma, name);
  const user = await createLoginUser(harness.prisma, tenantId, 'manager', `${name} 人事`);
  return { tenantId, user, agent: await harness.login(user) };
}

/** A fresh valid number, remembered for the leak scans. */
function number(): string {
  const n = randomMyNumber();
  numbers.push(n);
  return n;
}
/** The same number with a wrong check digit. */
const wrongCheckDigit = (n: string) => `${n.slice(0, 11)}${(Number(n[11]) + 1) % 10}`;

/** What the tenant has stored: registrants, dependents, sealed secrets and history rows. */
async function stored(tenantId: string) {
  return {
    registrants: await harness.prisma.registrant.count({ where: { tenantId } }),
    dependents: await harness.prisma.dependent.count({ where: { registrant: { tenantId } } }),
    secrets: await harness.prisma.vaultSecret.count({ where: { tenantId } }),
    events: await harness.prisma.operationEvent.count({ where: { tenantId } }),
  };
}

/** Every workflow history of the tenant's registrants, payloads shown as text and base64. */
async function histories(tenantId: string, ids: string[]): Promise<string> {
  const out: string[] = [];
  for (const id of ids) {
    const history = await harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id)).fetchHistory();
    out.push(JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? `${Buffer.from(v).toString('utf8')} ${Buffer.from(v).toString('base64')}` : v)));
  }
  return out.join('\n');
}

const email = (who: string) => `${who}-${randomUUID().slice(0, 8)}@example.co.jp`;

const person = (code: string, extra: Record<string, unknown> = {}) => {
  const n = number();
  return { employeeCode: code, familyName: '一括', givenName: code, myNumber: n, myNumberConfirmation: n, ...extra };
};

describe('bulk manual entry (複数一括登録)', () => {
  it('stores up to 10 people with dependents and era dates as completed, numbers sealed and shown only by the reveal, workflows running completed with no mail, recorded without numbers', async () => {
    const { tenantId, agent, user } = await hrOf('一括登録株式会社');
    const tenant = await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    const client = await harness.prisma.apiClient.create({ data: { tenantId, name: '給与ソフト', clientId: randomUUID(), secretHash: 'x', scopes: ['registrants:read'], allowedPurposes: ['withholding_slip'], ipAllowlist: [] } });
    await createWebhookService({ prisma: harness.prisma, vault: testVault(harness.prisma), allowHttp: true }).subscribe({ client, tenant, scopes: [], ip: null, userAgent: null } as ConnectorCaller, {
      url: `${hookBase}/bulk`,
      events: ['registrant_completed'],
    });

    const [a, spouse, child, b, c, cChild] = [number(), number(), number(), number(), number(), number()];
    const aEmail = `yamada-${randomUUID().slice(0, 8)}@example.co.jp`;
    const body = {
      people: [
        {
          employeeCode: '00007',
          category: 'employee',
          familyName: '山田',
          givenName: '太郎',
          familyNameKana: 'やまだ',
          givenNameKana: 'ﾀﾛｳ',
          email: aEmail,
          birthDate: 's55/1/1',
          gender: 'male',
          hireDate: 'H14.4.1',
          // As typed on a Japanese keyboard: full-width digits with hyphens.
          myNumber: typedFullWidth(a),
          myNumberConfirmation: a,
          dependents: [
            { relationship: '配偶者', kind: 'category3', familyName: '山田', givenName: '花子', familyNameKana: 'ヤマダ', givenNameKana: 'ハナコ', birthDate: '昭和57年2月2日', gender: 'female', myNumber: spouse, myNumberConfirmation: spouse },
            { relationship: '子', familyName: '山田', givenName: '一郎', birthDate: 'r2/5/1', gender: 'male', myNumber: child, myNumberConfirmation: typedFullWidth(child) },
          ],
        },
        { employeeCode: '０００１２', category: 'part_time', familyName: '佐藤', givenName: '花子', birthDate: 'h2/4/1', gender: 'female', hireDate: '令和元年5月1日', myNumber: b, myNumberConfirmation: b },
        {
          employeeCode: 'E-003',
          category: 'contractor',
          familyName: '鈴木',
          givenName: '一郎',
          familyNameKana: 'すずき',
          birthDate: '1990-12-31',
          hireDate: 'R5/1/1',
          myNumber: c,
          myNumberConfirmation: c,
          dependents: [{ relationship: '子', familyName: '鈴木', givenName: '元', birthDate: 'R元/6/1', myNumber: cChild, myNumberConfirmation: cChild }],
        },
      ],
    };
    const res = await agent.post('/v1/registrants/bulk-entry').send(body).expect(201);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ created: 3, dependents: 3 });
    expect(res.body.message).toMatch(JAPANESE);
    expect(res.body.people.map((p: { index: number; employeeCode: string; status: string; workflowStarted: boolean; dependentIds: string[] }) => [p.index, p.employeeCode, p.status, p.workflowStarted, p.dependentIds.length])).toEqual([
      [0, '00007', 'completed', true, 2],
      [1, '00012', 'completed', true, 0],
      [2, 'E-003', 'completed', true, 1],
    ]);
    const ids: string[] = res.body.people.map((p: { registrantId: string }) => p.registrantId);
    const [aId, , cId] = ids as [string, string, string];

    // Stored completed, login locked as after an approval; era dates converted; kana made katakana.
    const rows = await harness.prisma.registrant.findMany({ where: { tenantId }, orderBy: { employeeCode: 'asc' } });
    const day = (d: Date | null) => d?.toISOString().slice(0, 10) ?? null;
    expect(rows.map((r) => [r.employeeCode, r.category, r.status, r.loginLocked, r.invitationState, day(r.birthDate), day(r.hireDate), r.familyNameKana, r.givenNameKana, r.gender, r.myNumberSecretId !== null])).toEqual([
      ['00007', 'employee', 'completed', true, null, '1980-01-01', '2002-04-01', 'ヤマダ', 'タロウ', 'male', true],
      ['00012', 'part_time', 'completed', true, null, '1990-04-01', '2019-05-01', null, null, 'female', true],
      ['E-003', 'contractor', 'completed', true, null, '1990-12-31', '2023-01-01', 'スズキ', null, null, true],
    ]);
    const deps = await harness.prisma.dependent.findMany({ where: { registrantId: { in: ids } }, orderBy: { birthDate: 'asc' } });
    expect(deps.map((d) => [d.registrantId, d.relationship, d.kind, d.givenName, day(d.birthDate), d.status, d.draft, d.noLongerDependentAt])).toEqual([
      [aId, '配偶者', 'category3', '花子', '1982-02-02', 'completed', false, null],
      [cId, '子', 'dependent', '元', '2019-06-01', 'completed', false, null],
      [aId, '子', 'dependent', '一郎', '2020-05-01', 'completed', false, null],
    ]);
    expect(res.body.people[0].dependentIds).toEqual([deps[0]!.id, deps[2]!.id]);

    // Sealed: the rows hold no number, the vault opens each to what was typed.
    const vault = testVault(harness.prisma);
    expect(containsAny(JSON.stringify([rows, deps]), numbers)).toEqual([]);
    const opened = async (secretId: string | null) => (await vault.open(secretId!, tenantId)).toString('utf8');
    expect(await Promise.all(rows.map((r) => opened(r.myNumberSecretId)))).toEqual([a, b, c]);
    expect(await Promise.all(deps.map((d) => opened(d.myNumberSecretId)))).toEqual([spouse, cChild, child]);

    // HR sees them masked; the number comes back only through the reveal (password + purpose).
    const view = await agent.get(`/v1/registrants/${aId}`).expect(200);
    expect(view.body).toMatchObject({ status: 'completed', loginLocked: true, dependentsStatus: 'completed', invitation: null, myNumber: { registered: true, masked: '************' } });
    expect((await agent.post(`/v1/registrants/${aId}/my-number/reveal`).send({ password: user.password }).expect(400)).body.errors.map((e: { path: string }) => e.path)).toContain('/body/purpose');
    const revealed = await agent.post(`/v1/registrants/${aId}/my-number/reveal`).send({ password: user.password, purpose: 'withholding_slip' }).expect(200);
    expect(revealed.body.myNumber).toBe(a);
    expect(containsAny(JSON.stringify([res.body, view.body]), numbers)).toEqual([]);

    // Workflows run with the completed status and no invitation; nobody got a mail.
    for (const id of ids) {
      const handle = harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id));
      expect(await handle.query(lifecycleQuery)).toMatchObject({ status: 'completed', loginLocked: true, invitation: null, retired: false, deleted: false });
      expect((await handle.describe()).status.name).toBe('RUNNING');
    }
    // Locked like an approved person: no invitation until HR unlocks the login.
    const refused = await agent.post(`/v1/registrants/${aId}/invitation`).send({}).expect(409);
    expect(refused.body.code).toBe('NOT_INVITABLE_LOCKED');
    await new Promise((r) => setTimeout(r, 1000));
    expect(harness.outbox.mails.filter((m) => m.to.includes(aEmail))).toEqual([]);
    expect(await harness.prisma.invitation.count({ where: { registrantId: { in: ids } } })).toBe(0);
    expect(containsAny(await histories(tenantId, ids), numbers)).toEqual([]);

    // Recorded per person: created, then each number registered (own, then each dependent's) — never a number.
    const events = await harness.prisma.operationEvent.findMany({ where: { tenantId, registrantId: aId }, orderBy: { id: 'asc' } });
    expect(events.slice(0, 4).map((e) => [e.operation, e.actorType, e.actorLabel, e.detail])).toEqual([
      ['registrant_created', 'login_user', '一括登録株式会社 人事', { source: 'bulk_entry', status: 'completed', dependents: 2 }],
      ['number_registered', 'login_user', '一括登録株式会社 人事', { source: 'bulk_entry' }],
      ['number_registered', 'login_user', '一括登録株式会社 人事', { source: 'bulk_entry', dependentId: deps[0]!.id }],
      ['number_registered', 'login_user', '一括登録株式会社 人事', { source: 'bulk_entry', dependentId: deps[2]!.id }],
    ]);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId, operation: 'registrant_created' } })).toBe(3);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId, operation: 'number_registered' } })).toBe(6);
    const all = await harness.prisma.operationEvent.findMany({ where: { tenantId } });
    expect(containsAny(JSON.stringify(all, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), numbers)).toEqual([]);

    // Payroll's webhook hears of each completion (ids, codes and statuses only).
    await until(async () => received.filter((r) => r.path === '/bulk').length === 3, 'the three webhook deliveries');
    const told = received.filter((r) => r.path === '/bulk').map((r) => JSON.parse(r.body) as { event: string; data: { registrantId: string; status: string } });
    expect(told.map((t) => [t.event, t.data.status]).every(([e, s]) => e === 'registrant_completed' && s === 'completed')).toBe(true);
    expect(told.map((t) => t.data.registrantId).sort()).toEqual([...ids].sort());
  });

  it('takes exactly 10 people; 11 or none are refused in Japanese and nothing is stored', async () => {
    const { tenantId, agent } = await hrOf('十人株式会社');
    const eleven = Array.from({ length: 11 }, (_, i) => person(`T${i + 1}`));
    const before = await stored(tenantId);
    const tooMany = await agent.post('/v1/registrants/bulk-entry').send({ people: eleven }).expect(400);
    expect(tooMany.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(tooMany.body.code).toBe('BULK_ENTRY_INVALID');
    expect(tooMany.body.title).toMatch(JAPANESE);
    expect(tooMany.body.errors).toEqual([{ path: '/body/people', code: 'TOO_MANY_PEOPLE', message: '一度に登録できるのは10人までです（11人分あります）。分けて登録してください' }]);
    const none = await agent.post('/v1/registrants/bulk-entry').send({ people: [] }).expect(400);
    expect(none.body.errors).toEqual([{ path: '/body/people', code: 'PEOPLE_REQUIRED', message: '登録する人を1人以上入力してください' }]);
    expect(await stored(tenantId)).toEqual(before);

    const ten = await agent.post('/v1/registrants/bulk-entry').send({ people: eleven.slice(0, 10) }).expect(201);
    expect(ten.body.created).toBe(10);
    expect(await harness.prisma.registrant.count({ where: { tenantId, status: 'completed' } })).toBe(10);
  });

  it('reports every wrong field in Japanese at its exact path — check digit, confirmation, era date, duplicate and taken codes — and stores nothing', async () => {
    const { tenantId, agent } = await hrOf('誤り株式会社');
    const existing = randomUUID();
    await harness.prisma.registrant.create({ data: { id: existing, tenantId, employeeCode: 'EXIST1', familyName: '既存', givenName: '社員', workflowId: registrantWorkflowId(tenantId, existing) } });
    const bad = number();
    const okDependent = () => {
      const n = number();
      return { relationship: '子', familyName: '一括', givenName: '子', birthDate: 'h20/1/1', myNumber: n, myNumberConfirmation: n };
    };
    const body = {
      people: [
        person('D001', { dependents: [okDependent()] }),
        person('D002', { myNumberConfirmation: number() }),
        person('D001', { birthDate: 'H31/5/1' }),
        person('EXIST1', { dependents: [{ ...okDependent(), myNumber: wrongCheckDigit(bad), myNumberConfirmation: wrongCheckDigit(bad) }, { ...okDependent(), relationship: '' }] }),
      ],
    };
    const before = await stored(tenantId);
    const res = await agent.post('/v1/registrants/bulk-entry').send(body).expect(400);
    expect(res.body).toMatchObject({ status: 400, code: 'BULK_ENTRY_INVALID', title: '入力内容に誤りがあるため、1人も登録していません（6件）。表示された項目を直してから、もう一度登録してください' });
    expect(res.body.errors).toEqual([
      { path: '/body/people/1/myNumberConfirmation', code: 'NUMBER_MISMATCH', message: '確認用に入力したマイナンバーが一致しません' },
      { path: '/body/people/2/employeeCode', code: 'DUPLICATE_IN_REQUEST', message: '社員コード「D001」は1人目と重複しています' },
      { path: '/body/people/2/birthDate', code: 'DATE_INVALID', message: '生年月日：平成31年5月1日は平成の期間外です（平成は1989年1月8日から2019年4月30日まで）' },
      { path: '/body/people/3/employeeCode', code: 'EMPLOYEE_CODE_TAKEN', message: '社員コード「EXIST1」は既に登録されています' },
      { path: '/body/people/3/dependents/0/myNumber', code: 'NUMBER_CHECK_DIGIT', message: 'マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください' },
      { path: '/body/people/3/dependents/1/relationship', code: 'REQUIRED', message: '続柄を入力してください' },
    ]);
    expect(containsAny(JSON.stringify(res.body), [...numbers, wrongCheckDigit(bad)])).toEqual([]);
    expect(await stored(tenantId)).toEqual(before);

    // More of the same kind: names, kana, e-mail, dates out of order, a number typed twice, a payee's dependents.
    const twice = number();
    const more = await agent
      .post('/v1/registrants/bulk-entry')
      .send({
        people: [
          person('M001', { familyName: ' ', familyNameKana: 'yamada', email: 'not-an-address', birthDate: '2099/1/1', myNumber: twice, myNumberConfirmation: twice }),
          person('M002', { birthDate: '1990/4/1', hireDate: 'S60/4/1', myNumber: twice, myNumberConfirmation: twice }),
          person('M003', { category: 'payee', employeeCode: 'ｍ００３', dependents: [okDependent()] }),
          person('ｍ００３', { birthDate: '2023/2/29' }),
        ],
      })
      .expect(400);
    expect(more.body.errors).toEqual([
      { path: '/body/people/0/familyName', code: 'REQUIRED', message: '姓を入力してください' },
      { path: '/body/people/0/familyNameKana', code: 'KANA', message: 'フリガナ（姓）はカタカナで入力してください' },
      { path: '/body/people/0/email', code: 'EMAIL_FORMAT', message: 'メールアドレスの形式が正しくありません' },
      { path: '/body/people/0/birthDate', code: 'DATE_IN_FUTURE', message: '生年月日に未来の日付は指定できません' },
      { path: '/body/people/1/hireDate', code: 'DATE_ORDER', message: '入社日が生年月日より前です' },
      { path: '/body/people/1/myNumber', code: 'NUMBER_DUPLICATE_IN_REQUEST', message: 'このマイナンバーは1人目の本人と同じです' },
      { path: '/body/people/2/dependents', code: 'DEPENDENTS_NOT_ALLOWED', message: '報酬支払の登録者には扶養家族を登録できません' },
      { path: '/body/people/3/employeeCode', code: 'DUPLICATE_IN_REQUEST', message: '社員コード「m003」は3人目と重複しています' },
      { path: '/body/people/3/birthDate', code: 'DATE_INVALID', message: '生年月日：2023年2月29日は存在しない日付です（2月は28日まで）' },
    ]);
    expect(await stored(tenantId)).toEqual(before);
    // What the contract itself refuses (an unknown field) is a 400 too, and stores nothing.
    const unknown = await agent.post('/v1/registrants/bulk-entry').send({ people: [person('X1', { status: 'pending' })] }).expect(400);
    expect(unknown.body.code).toBe('VALIDATION_FAILED');
    expect(await stored(tenantId)).toEqual(before);
  });
});

describe('quick add and invitation (スマホで収集・簡易登録)', () => {
  it('簡易登録 only (invite: false): stored 未登録, nobody mailed until HR sends from the review list', async () => {
    const { tenantId, agent } = await hrOf('簡易登録のみ株式会社');
    const people = [
      { familyName: '山田', givenName: '一', email: email('yamada') },
      { familyName: '佐藤', givenName: '二', email: email('sato') },
    ];
    const res = await agent.post('/v1/registrants/quick-add').send({ people, invite: false }).expect(201);
    expect(res.body).toMatchObject({ created: 2, invited: 0, queued: 0, message: '2人を登録しました。送信リストを確認して、収集メールを送信してください' });
    const ids: string[] = res.body.people.map((p: { registrantId: string }) => p.registrantId);
    await until(async () => (await harness.prisma.registrant.count({ where: { tenantId, workflowPendingSince: null } })) === 2, 'the workflows to start');
    await new Promise((r) => setTimeout(r, 500));
    expect(harness.outbox.mails.filter((m) => people.some((p) => m.to.includes(p.email)))).toEqual([]);
    expect((await harness.prisma.registrant.findMany({ where: { tenantId } })).map((r) => [r.status, r.invitationState])).toEqual([['unregistered', null], ['unregistered', null]]);

    // The review (both ticked), then the send of the one HR kept ticked.
    const review = await agent.post('/v1/registrants/invitation-review').send({ channel: 'mail', registrantIds: ids }).expect(200);
    expect(review.body).toMatchObject({ total: 2, invitable: 2 });
    await agent.post('/v1/registrants/invitations').send({ registrantIds: [ids[1]] }).expect(200);
    await harness.outbox.waitFor((m) => m.to.includes(people[1]!.email), 15_000);
    expect(harness.outbox.mails.some((m) => m.to.includes(people[0]!.email))).toBe(false);
  });

  it('stores everyone and mails each an invitation carrying the message, with Reply-To and a copy to the sender', async () => {
    const { tenantId, agent, user } = await hrOf('簡易登録株式会社');
    const people = [
      { category: 'employee', familyName: '田中', givenName: '一郎', email: email('tanaka') },
      { category: 'part_time', familyName: '高橋', givenName: '二郎', email: email('takahashi') },
      { familyName: '伊藤', givenName: '三郎', email: email('ito') },
    ];
    const due = new Date(Date.now() + 9 * 3_600_000 + 20 * 86_400_000).toISOString().slice(0, 10);
    const res = await agent.post('/v1/registrants/quick-add').send({ people, message: '今月末までにご登録をお願いします。', replyTo: 'jinji@example.co.jp', copyToSelf: true, submissionDueDate: due }).expect(201);
    expect(res.body).toMatchObject({ created: 3, invited: 3 });
    expect(res.body.message).toMatch(JAPANESE);
    expect(res.body.people.map((p: { index: number; email: string; invited: boolean }) => [p.index, p.email, p.invited])).toEqual(people.map((p, i) => [i, p.email, true]));
    const ids: string[] = res.body.people.map((p: { registrantId: string }) => p.registrantId);

    for (const [i, p] of people.entries()) {
      const mail = await harness.outbox.waitFor((m) => m.to.includes(p.email), 15_000);
      expect(mail.subject).toBe(INVITATION_SUBJECT);
      expect(mail.text).toContain(`${p.familyName} ${p.givenName} 様`);
      expect(mail.text).toContain('今月末までにご登録をお願いします。');
      expect(mail.text).toContain(`【提出期限】${Number(due.slice(0, 4))}年${Number(due.slice(5, 7))}月${Number(due.slice(8, 10))}日`);
      expect(mail.text).toMatch(/http:\/\/mynaflow\.test\/i\/#k=[A-Za-z0-9_-]{43}/);
      expect(mail.replyTo).toBe('jinji@example.co.jp');
      // HR's address is where questions go.
      expect(mail.text).toContain('ご不明な点は、このメールに返信するか jinji@example.co.jp までお問い合わせください。');
      expect(mail.cc).toEqual([user.email]);
      await until(async () => (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: ids[i]! } })).invitationState === 'open', 'the invitation to open');
    }
    const rows = await harness.prisma.registrant.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
    expect(rows.map((r) => r.submissionDueDate?.toISOString().slice(0, 10))).toEqual([due, due, due]);
    expect(rows.map((r) => [r.id, r.category, r.status, r.loginLocked, r.myNumberSecretId]).sort()).toEqual(
      [
        [ids[0], 'employee', 'unregistered', false, null],
        [ids[1], 'part_time', 'unregistered', false, null],
        [ids[2], 'employee', 'unregistered', false, null],
      ].sort(),
    );
    const links = await harness.prisma.invitation.findMany({ where: { registrantId: { in: ids } } });
    expect(links.map((l) => [l.message, l.replyTo, l.copyTo])).toEqual(Array(3).fill(['今月末までにご登録をお願いします。', 'jinji@example.co.jp', user.email]));
    for (const id of ids) {
      // The mail and the row come from the activity; the workflow takes its result a moment later.
      const handle = harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id));
      await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the workflow to hold the open invitation');
      expect(await handle.query(lifecycleQuery)).toMatchObject({ status: 'unregistered', loginLocked: false, invitation: { round: 1, state: 'open' } });
      const created = await harness.prisma.operationEvent.findFirstOrThrow({ where: { registrantId: id, operation: 'registrant_created' } });
      expect(created).toMatchObject({ actorType: 'login_user', actorLabel: '簡易登録株式会社 人事', detail: { source: 'quick_add', invite: true } });
      await until(async () => (await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'invitation_sent' } })) === 1, 'the invitation to be recorded');
      // The first invitation is the HR user's, not the system's: they asked for it.
      const sent = await harness.prisma.operationEvent.findFirstOrThrow({ where: { registrantId: id, operation: 'invitation_sent' } });
      expect(sent).toMatchObject({ actorType: 'login_user', actorId: user.id, actorLabel: '簡易登録株式会社 人事' });
      expect(sent.ip).toBeTruthy();
    }

    // Without copyToSelf, message or reply-to: a plain invitation, nobody copied.
    const plain = { familyName: '渡辺', givenName: '四郎', email: email('watanabe') };
    await agent.post('/v1/registrants/quick-add').send({ people: [plain] }).expect(201);
    const mail = await harness.outbox.waitFor((m) => m.to.includes(plain.email), 15_000);
    expect(mail.cc).toEqual([]);
    expect(mail.replyTo).toBe('');
    expect(mail.text).not.toContain('担当者からのメッセージ');
  });

  it('refuses bad entries in Japanese at their paths (all or nothing), more than 100 people and a bad Reply-To; nothing is stored or mailed', async () => {
    const { tenantId, agent } = await hrOf('簡易誤り株式会社');
    const good = email('good');
    const before = await stored(tenantId);
    const res = await agent
      .post('/v1/registrants/quick-add')
      .send({
        people: [
          { familyName: '山本', givenName: '', email: email('a') },
          { familyName: '中村', givenName: '五郎', email: 'not-an-address' },
          { familyName: '小林', givenName: '六郎', email: '' },
          { familyName: '加藤', givenName: '七郎', email: good },
        ],
        message: '届きませんように',
      })
      .expect(400);
    expect(res.body).toMatchObject({ code: 'QUICK_ADD_INVALID', title: '入力内容に誤りがあるため、1人も登録していません（3件）。表示された項目を直してから、もう一度登録してください' });
    expect(res.body.errors).toEqual([
      { path: '/body/people/0/givenName', code: 'REQUIRED', message: '名を入力してください' },
      { path: '/body/people/1/email', code: 'EMAIL_FORMAT', message: 'メールアドレスの形式が正しくありません' },
      { path: '/body/people/2/email', code: 'REQUIRED', message: 'メールアドレスを入力してください' },
    ]);
    const many = Array.from({ length: 101 }, (_, i) => ({ familyName: '大量', givenName: `${i}`, email: email(`m${i}`) }));
    const tooMany = await agent.post('/v1/registrants/quick-add').send({ people: many }).expect(400);
    expect(tooMany.body.errors).toEqual([{ path: '/body/people', code: 'TOO_MANY_PEOPLE', message: '一度に登録できるのは100人までです（101人分あります）。分けて登録してください' }]);
    const badReply = await agent.post('/v1/registrants/quick-add').send({ people: [{ familyName: '加藤', givenName: '七郎', email: good }], replyTo: 'not-an-address' }).expect(400);
    expect(badReply.body.errors.map((e: { path: string }) => e.path)).toContain('/body/replyTo');
    expect(await stored(tenantId)).toEqual(before);
    await new Promise((r) => setTimeout(r, 500));
    expect(harness.outbox.mails.filter((m) => m.to.includes(good) || m.text.includes('届きませんように'))).toEqual([]);
  });
});

describe('Idempotency-Key', () => {
  it('quick add: a retry and a repeat sent at the same moment get the first answer; everyone is stored once and mailed once', async () => {
    const { tenantId, agent } = await hrOf('冪等簡易株式会社');
    const body = { people: [0, 1, 2].map((i) => ({ familyName: '冪等', givenName: `${i}`, email: email(`once${i}`) })) };
    const key = randomUUID();
    // Both are past the key check and inside their transactions before either commits.
    const lock = await holdHistoryLock(process.env.DATABASE_URL!, tenantId);
    const both = Promise.all([agent.post('/v1/registrants/quick-add').set('Idempotency-Key', key).send(body).then((r) => r), agent.post('/v1/registrants/quick-add').set('Idempotency-Key', key).send(body).then((r) => r)]);
    await lock.waiters(2);
    await lock.release();
    const [a, b] = await both;
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.people.map((p: { registrantId: string }) => p.registrantId)).toEqual(b.body.people.map((p: { registrantId: string }) => p.registrantId));
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].filter(Boolean)).toEqual(['true']);
    const retry = await agent.post('/v1/registrants/quick-add').set('Idempotency-Key', key).send(body).expect(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.body).toEqual(a.headers['idempotent-replayed'] ? b.body : a.body);
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(3);
    for (const p of body.people) await harness.outbox.waitFor((m) => m.to.includes(p.email));
    await new Promise((r) => setTimeout(r, 500));
    expect(body.people.map((p) => harness.outbox.mails.filter((m) => m.to.includes(p.email)).length)).toEqual([1, 1, 1]);

    const other = await agent.post('/v1/registrants/quick-add').set('Idempotency-Key', key).send({ people: [{ familyName: '別', givenName: '件', email: email('other') }] }).expect(409);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', title: expect.stringMatching(JAPANESE) });
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(3);
  });

  it('quick add: two different requests under one key at the same moment: one is carried out, the other refused (409), nothing stored twice', async () => {
    const { tenantId, agent } = await hrOf('冪等競合株式会社');
    const key = randomUUID();
    const bodies = ['一', '二'].map((who) => ({ people: [{ familyName: '競合', givenName: who, email: email(`race-${who}`) }] }));
    const lock = await holdHistoryLock(process.env.DATABASE_URL!, tenantId);
    const both = Promise.all(bodies.map((b) => agent.post('/v1/registrants/quick-add').set('Idempotency-Key', key).send(b).then((r) => r)));
    await lock.waiters(2);
    await lock.release();
    const answers = await both;
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(answers.find((r) => r.status === 409)!.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', title: expect.stringMatching(JAPANESE) });
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(1);
  });

  it('bulk entry: a retry after the people were stored gets the first answer, not "employee code taken"', async () => {
    const { tenantId, agent } = await hrOf('冪等一括株式会社');
    const body = { people: [person('K1'), person('K2')] };
    const key = randomUUID();
    const first = await agent.post('/v1/registrants/bulk-entry').set('Idempotency-Key', key).send(body).expect(201);
    const again = await agent.post('/v1/registrants/bulk-entry').set('Idempotency-Key', key).send(body).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(2);
    // The request (numbers in it) is kept as a keyed fingerprint: no plain hash to test guesses against.
    const [kept] = await harness.prisma.requestRecord.findMany({ where: { key } });
    expect(kept!.requestHash).toMatch(/^[0-9a-f]{16}\.[0-9a-f]{64}$/);
    expect(kept!.requestHash).not.toContain(createHash('sha256').update(JSON.stringify(body)).digest('hex'));
    expect(containsAny(JSON.stringify(kept), numbers)).toEqual([]);
    // Without the key the same people are a new request: their codes are taken now.
    expect((await agent.post('/v1/registrants/bulk-entry').send(body).expect(400)).body.errors.map((e: { code: string }) => e.code)).toContain('EMPLOYEE_CODE_TAKEN');
  });

  it('CSV import: a retried upload gets the first report and stores nobody twice; a dry run needs no key', async () => {
    const { tenantId, agent } = await hrOf('冪等CSV株式会社');
    const csv = Buffer.from('社員コード,姓,名\nC1,取込,一\nC2,取込,二\n', 'utf8');
    const key = randomUUID();
    const upload = () => agent.post('/v1/registrants/import').set('Idempotency-Key', key).set('Content-Type', 'text/csv').send(csv);
    const first = await upload().expect(201);
    const again = await upload().expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(2);
    await agent.post('/v1/registrants/import?dryRun=true').set('Idempotency-Key', key).set('Content-Type', 'text/csv').send(csv).expect(200);
  });
});

describe('Temporal unreachable', () => {
  it('stores nobody and answers 503 for both', async () => {
    const tenantId = await createTenant(harness.prisma, '停止中株式会社');
    const user = await createLoginUser(harness.prisma, tenantId, 'owner');
    const down = createTemporalClient('127.0.0.1:1', 'default');
    try {
      const agent = await loginAs(testApp({ prisma: harness.prisma, logger, outbox: harness.outbox, temporalClient: down, taskQueue: TASK_QUEUE }).app, harness.outbox, user);
      const before = await stored(tenantId);
      expect((await agent.post('/v1/registrants/bulk-entry').send({ people: [person('S1')] }).expect(503)).body.code).toBe('TEMPORAL_UNAVAILABLE');
      expect((await agent.post('/v1/registrants/quick-add').send({ people: [{ familyName: '停止', givenName: '中', email: email('down') }] }).expect(503)).body.code).toBe('TEMPORAL_UNAVAILABLE');
      expect(await stored(tenantId)).toEqual(before);
    } finally {
      await down.connection.close();
    }
  });
});

describe('roles', () => {
  it('a viewer may neither bulk-enter nor quick-add (403), and nothing is stored', async () => {
    const { tenantId } = await hrOf('閲覧株式会社');
    const viewer = await harness.agent(tenantId, 'viewer');
    const before = await stored(tenantId);
    expect((await viewer.post('/v1/registrants/bulk-entry').send({ people: [person('V1')] }).expect(403)).body.code).toBe('FORBIDDEN');
    expect((await viewer.post('/v1/registrants/quick-add').send({ people: [{ familyName: '閲覧', givenName: '者', email: email('viewer') }] }).expect(403)).body.code).toBe('FORBIDDEN');
    expect(await stored(tenantId)).toEqual(before);
  });
});
