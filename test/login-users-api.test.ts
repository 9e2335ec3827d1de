/**
 * ログインユーザ administration over HTTP: the list (own tenant, live users, no secrets, the lock
 * state), adding a user (normalised e-mail, welcome mail without the password, a login that works,
 * the password policy, duplicate addresses), editing (before/after in the history, the new role in
 * force on the next request), deleting (sessions end at once, the address is freed, the history
 * shows the person as deleted), unlocking, the role rules (managers do not administer owners,
 * viewers administer nobody, nobody deletes themselves, the last owner stays) — also when two
 * owners act on each other at the same moment — and tenant isolation.
 *
 * login_users and operation_events are shared by every test file: everything here works on
 * tenants of its own, and every count is scoped to them. Tests that need a precise set of owners
 * make a company of their own.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { OperationEvent, Role } from '../prisma/generated/client';
import { verifyPassword } from '../services/auth/passwords';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, PUBLIC_URL, testVault, type Agent, type TestUser } from './support/fixtures';
import { expectProblemDetails, JAPANESE } from './support/problems';

// Many logins from one address: the per-address limits have their own test.
const generous = { limit: 10_000, windowMinutes: 15 };
const harness = useApiHarness({ taskQueue: 'login-users-api', authRateLimits: { attempts: generous, mailings: generous } });

let tenant: string;
let other: string;
let owner: TestUser;
let manager: TestUser;
let viewer: TestUser;
let otherOwner: TestUser;
let ownerAgent: Agent;
let managerAgent: Agent;
let viewerAgent: Agent;
let otherAgent: Agent;

const TENANT_NAME = 'ログイン管理株式会社';
const WELCOME_SUBJECT = '【マイナンバー管理】ログインユーザに登録されました';
const OWNERS_ONLY = '最高権限のユーザを管理できるのは最高権限のユーザだけです';
const FORBIDDEN = 'この操作を行う権限がありません';
const VIEW_KEYS = ['createdAt', 'department', 'email', 'id', 'kind', 'locked', 'name', 'note', 'pendingEmail', 'pendingEmailExpiresAt', 'role', 'twoFactorMethod'];
const CLIENT_IP = '203.0.113.45';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const address = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}@example.co.jp`;
const password = () => `Init-${randomBytes(6).toString('hex')}`;

const liveUsers = (tenantId: string) => harness.prisma.loginUser.findMany({ where: { tenantId, deletedAt: null }, orderBy: { createdAt: 'asc' } });
const events = (tenantId: string, operation: string): Promise<OperationEvent[]> =>
  harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });
const ownersOf = (tenantId: string) => harness.prisma.loginUser.count({ where: { tenantId, role: 'owner', deletedAt: null } });
const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
const welcomeTo = (email: string) => harness.outbox.waitFor((m) => m.to.includes(email) && m.subject === WELCOME_SUBJECT);

/** Adds a user through the API, as `agent`. */
const add = (agent: Agent, body: Record<string, unknown>) => agent.post('/v1/login-users').set('X-Forwarded-For', CLIENT_IP).send(body);
const patch = (agent: Agent, id: string, body: Record<string, unknown>) => agent.patch(`/v1/login-users/${id}`).set('X-Forwarded-For', CLIENT_IP).send(body);
const remove = (agent: Agent, id: string) => agent.delete(`/v1/login-users/${id}`).set('X-Forwarded-For', CLIENT_IP);
const unlock = (agent: Agent, id: string) => agent.post(`/v1/login-users/${id}/unlock`).set('X-Forwarded-For', CLIENT_IP);
const list = async (agent: Agent) => {
  const res = await agent.get('/v1/login-users');
  expect(res.status).toBe(200);
  return res.body as { id: string; email: string; name: string; role: Role; kind: string; twoFactorMethod: string; locked: boolean; createdAt: string }[];
};
const roleOf = async (agent: Agent) => {
  const res = await agent.get('/v1/auth/me');
  return res.status === 200 ? (res.body.user.role as Role) : res.status;
};

const company = (name: string, roles: Role[]) => harness.company(name, roles);

beforeAll(async () => {
  tenant = await createTenant(harness.prisma, TENANT_NAME);
  other = await createTenant(harness.prisma, 'ログイン管理別会社');
  owner = await createLoginUser(harness.prisma, tenant, 'owner', '管理 太郎');
  manager = await createLoginUser(harness.prisma, tenant, 'manager', '佐藤 花子');
  viewer = await createLoginUser(harness.prisma, tenant, 'viewer', '鈴木 一郎');
  otherOwner = await createLoginUser(harness.prisma, other, 'owner', '他社 オーナー');
  [ownerAgent, managerAgent, viewerAgent, otherAgent] = await Promise.all([harness.login(owner), harness.login(manager), harness.login(viewer), harness.login(otherOwner)]);
});

describe('GET /v1/login-users', () => {
  it("lists the tenant's live users, oldest first, with the contract's fields only (no hash, no TOTP secret)", async () => {
    const c = await company('一覧株式会社', ['owner', 'manager', 'viewer']);
    const gone = await createLoginUser(harness.prisma, c.id, 'manager', '退職 済子');
    await harness.prisma.loginUser.update({ where: { id: gone.id }, data: { deletedAt: new Date() } });
    // one of them uses an authenticator app
    await harness.prisma.loginUser.update({ where: { id: c.users[2]!.id }, data: { twoFactorMethod: 'totp' } });

    for (const agent of c.agents) {
      const res = await agent.get('/v1/login-users');
      expect(res.status).toBe(200);
      const items = res.body as Record<string, unknown>[];
      const db = await liveUsers(c.id);
      expect(db).toHaveLength(3);
      expect(items).toEqual(
        db.map((u) => ({
          id: u.id,
          email: u.email,
          name: u.name,
          role: u.role,
          kind: 'staff',
          department: null,
          note: null,
          pendingEmail: null,
          pendingEmailExpiresAt: null,
          twoFactorMethod: u.twoFactorMethod,
          locked: false,
          createdAt: u.createdAt.toISOString(),
        })),
      );
      for (const item of items) expect(Object.keys(item).sort()).toEqual(VIEW_KEYS);
      expect(items.map((i) => i.role)).toEqual(['owner', 'manager', 'viewer']);
      expect(items[2]!.twoFactorMethod).toBe('totp');
      // nothing secret, whatever it is called
      expect(res.text).not.toMatch(/scrypt|password|totpSecret|csrf|failedLogins|lockedAt|deleted/i);
      expect(res.text).not.toContain(gone.email);
    }
  });

  it("never shows another tenant's users", async () => {
    const ours = await list(ownerAgent);
    const theirs = await list(otherAgent);
    const oursInDb = (await liveUsers(tenant)).map((u) => u.id);
    expect(ours.map((u) => u.id).sort()).toEqual(oursInDb.sort());
    expect(theirs.map((u) => u.id)).not.toContain(owner.id);
    expect(ours.map((u) => u.id)).not.toContain(otherOwner.id);
    expect(theirs.every((u) => u.id !== manager.id && u.id !== viewer.id)).toBe(true);
  });

  it('shows locked only while the lock is in force (LOGIN_LOCK_MINUTES = 30)', async () => {
    const c = await company('ロック表示株式会社', ['owner']);
    const u = await createLoginUser(harness.prisma, c.id, 'viewer', 'ロック 中');
    const lockedOf = async () => (await list(c.agents[0]!)).find((x) => x.id === u.id)!.locked;
    expect(await lockedOf()).toBe(false);
    const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
    await harness.prisma.loginUser.update({ where: { id: u.id }, data: { lockedAt: new Date(), failedLogins: 5 } });
    expect(await lockedOf()).toBe(true);
    await harness.prisma.loginUser.update({ where: { id: u.id }, data: { lockedAt: minutesAgo(29) } });
    expect(await lockedOf()).toBe(true);
    await harness.prisma.loginUser.update({ where: { id: u.id }, data: { lockedAt: minutesAgo(31) } });
    expect(await lockedOf()).toBe(false);
    // failures short of a lock are not a lock
    await harness.prisma.loginUser.update({ where: { id: u.id }, data: { lockedAt: null, failedLogins: 4 } });
    expect(await lockedOf()).toBe(false);
  });

  it('needs a login', async () => {
    expectProblemDetails(await request(harness.app).get('/v1/login-users'), 401, 'UNAUTHENTICATED', 'ログインしてください');
  });
});

describe('POST /v1/login-users', () => {
  it('adds a user: 201, e-mail trimmed and lower-cased, name trimmed, staff by default, password stored hashed', async () => {
    const local = `Sato.Jiro-${randomBytes(3).toString('hex')}`;
    const pw = password();
    const before = await liveUsers(tenant);
    const res = await add(ownerAgent, { email: ` ${local}@Example.CO.JP `, name: '　佐藤 次郎 ', role: 'manager', password: pw });
    expect(res.status).toBe(201);
    const email = `${local.toLowerCase()}@example.co.jp`;
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email,
      name: '佐藤 次郎',
      role: 'manager',
      kind: 'staff',
      department: null,
      note: null,
      pendingEmail: null,
      pendingEmailExpiresAt: null,
      twoFactorMethod: 'email',
      locked: false,
      createdAt: expect.any(String),
    });
    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(row).toMatchObject({ tenantId: tenant, email, name: '佐藤 次郎', role: 'manager', kind: 'staff', deletedAt: null, lockedAt: null, failedLogins: 0 });
    expect(row.createdAt.toISOString()).toBe(res.body.createdAt);
    expect(row.passwordHash).not.toContain(pw);
    expect(await verifyPassword(pw, row.passwordHash)).toBe(true);
    expect(await liveUsers(tenant)).toHaveLength(before.length + 1);
    // and it is listed
    expect((await list(viewerAgent)).find((u) => u.id === row.id)).toEqual(res.body);
    expect(res.text).not.toContain(pw);

    // typed on a Japanese keyboard: full-width letters and ＠, as login compares them (NFKC)
    const wide = `ｗｉｄｅ${randomBytes(3).toString('hex')}`;
    const typed = await add(ownerAgent, { email: `${wide}＠Ｅｘａｍｐｌｅ．ＪＰ\u3000`, name: '全角 入力', role: 'viewer', password: pw });
    expect(typed.status).toBe(201);
    expect(typed.body.email).toBe(`${wide.normalize('NFKC')}@example.jp`);
  });

  it('mails the new user: tenant name, customer number and login page — never the password', async () => {
    const email = address('welcome');
    const pw = password();
    const res = await add(managerAgent, { email, name: '歓迎 三郎', role: 'viewer', password: pw });
    expect(res.status).toBe(201);
    const mail = await welcomeTo(email);
    const { customerNumber } = await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenant } });
    expect(mail.to).toEqual([email]);
    expect(mail.from).toContain('no-reply@mynaflow.test');
    expect(mail.text).toContain('歓迎 三郎 様');
    expect(mail.text).toContain(TENANT_NAME);
    expect(mail.text).toContain(`お客様番号: ${customerNumber}`);
    expect(mail.text).toContain(`${PUBLIC_URL}/console/`);
    expect(mail.text).not.toContain(pw);
    expect(mail.raw.toString('utf8')).not.toContain(pw);
    expect(mail.html).not.toContain(pw);
    // one mail, to the new user only
    expect(mailsTo(email)).toHaveLength(1);
    expect(harness.outbox.mails.filter((m) => m.subject === WELCOME_SUBJECT && m.text.includes('歓迎 三郎')).map((m) => m.to)).toEqual([[email]]);
  });

  it('the new user can log in with the password given, with the role given', async () => {
    const user: TestUser = { id: '', email: address('newbie'), password: password(), role: 'viewer', tenantId: tenant };
    const res = await add(ownerAgent, { email: user.email, name: '新人 四郎', role: 'viewer', password: user.password });
    expect(res.status).toBe(201);
    user.id = res.body.id as string;
    const agent = await harness.login(user);
    const me = await agent.get('/v1/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ id: user.id, email: user.email, role: 'viewer', name: '新人 四郎' });
    expect(me.body.tenant).toMatchObject({ id: tenant, name: TENANT_NAME });
    // a viewer: reads, but does not add anyone
    expect((await agent.get('/v1/login-users')).status).toBe(200);
    expectProblemDetails(await add(agent, { email: address('nope'), name: '追加 不可', role: 'viewer', password: password() }), 403, 'FORBIDDEN', FORBIDDEN);
    // a wrong password is still wrong
    expectProblemDetails(await request(harness.app).post('/v1/auth/login').send({ email: user.email, password: `${user.password}x` }), 401, 'INVALID_CREDENTIALS');
  });

  it('records login_user_created with the actor, IP address and user agent (never the password)', async () => {
    const email = address('recorded');
    const pw = password();
    const res = await add(managerAgent, { email, name: '記録 五郎', role: 'viewer', kind: 'professional', password: pw }).set('User-Agent', 'HR-Console/2.0');
    expect(res.status).toBe(201);
    expect(res.body.kind).toBe('professional');
    const created = (await events(tenant, 'login_user_created')).filter((e) => (e.detail as { loginUserId?: string }).loginUserId === res.body.id);
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      actorType: 'login_user',
      actorId: manager.id,
      actorLabel: '佐藤 花子',
      label: 'ログインユーザの追加',
      ip: CLIENT_IP,
      userAgent: 'HR-Console/2.0',
      registrantId: null,
      detail: { loginUserId: res.body.id, name: '記録 五郎', role: 'viewer', kind: 'professional' },
    });
    expect(JSON.stringify(created[0]!.detail)).not.toContain(pw);
    // and the history API shows it
    const history = await viewerAgent.get('/v1/operation-history').query({ operation: 'login_user_created', actor: manager.id });
    expect(history.status).toBe(200);
    expect(history.body.items[0]).toMatchObject({ operation: 'login_user_created', label: 'ログインユーザの追加', actor: { id: manager.id, label: '佐藤 花子', deleted: false }, ip: CLIENT_IP });
  });

  it('refuses a password under 8 characters with a Japanese message; nothing stored, recorded or mailed', async () => {
    const email = address('weak');
    const before = { users: (await liveUsers(tenant)).length, created: (await events(tenant, 'login_user_created')).length };
    const res = await add(ownerAgent, { email, name: '弱い 六郎', role: 'viewer', password: 'Abc1234' });
    expectProblemDetails(res, 400, 'WEAK_PASSWORD', 'パスワードは8文字以上で入力してください');
    expect(res.body.errors).toEqual([expect.objectContaining({ message: 'パスワードは8文字以上で入力してください', code: 'too_short' })]);
    expect(res.text).not.toContain('Abc1234');
    await sleep(200);
    expect(await harness.prisma.loginUser.count({ where: { email } })).toBe(0);
    expect((await liveUsers(tenant)).length).toBe(before.users);
    expect((await events(tenant, 'login_user_created')).length).toBe(before.created);
    expect(mailsTo(email)).toHaveLength(0);
    // 8 characters (counted as characters, not bytes) are enough
    const ok = await add(ownerAgent, { email, name: '弱い 六郎', role: 'viewer', password: 'パスワード1ab' });
    expect(ok.status).toBe(201);
  });

  it('refuses what the contract does not allow (400, Japanese title), storing nothing', async () => {
    const email = address('invalid');
    const good = { email, name: '不正 七郎', role: 'viewer', password: password() };
    const bodies: Record<string, unknown>[] = [
      { ...good, email: '' },
      { ...good, email: 42 },
      { ...good, name: '   ' },
      { ...good, name: '' },
      { ...good, role: 'admin' },
      { ...good, kind: 'contractor' },
      { ...good, tenantId: other },
      { name: good.name, role: good.role, password: good.password },
      { ...good, password: undefined },
    ];
    for (const body of bodies) {
      const res = await add(ownerAgent, body);
      expectProblemDetails(res, 400, 'VALIDATION_FAILED', '入力内容に誤りがあります');
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    // the form of the address is checked once it is normalised, and reported at the field
    for (const bad of ['not-an-address', 'two words@example.co.jp', 'a@b@example.co.jp', 'sato@', '@example.co.jp', ' ', `${'a'.repeat(250)}@example.co.jp`]) {
      const res = await add(ownerAgent, { ...good, email: bad });
      expectProblemDetails(res, 400, 'VALIDATION_FAILED', '入力内容に誤りがあります');
      expect(res.body.errors).toEqual([expect.objectContaining({ path: '/body/email', message: expect.stringMatching(JAPANESE) })]);
    }
    expect(await harness.prisma.loginUser.count({ where: { email } })).toBe(0);
    expect(await harness.prisma.loginUser.count({ where: { tenantId: tenant, name: good.name } })).toBe(0);
    expect(await harness.prisma.loginUser.count({ where: { tenantId: other, name: good.name } })).toBe(0);
    expectProblemDetails(await ownerAgent.post('/v1/login-users').set('Content-Type', 'application/json').send('{"email":'), 400, 'MALFORMED_JSON');
  });

  it('an address already used in the tenant (in any letter case): 409 LOGIN_USER_EMAIL_TAKEN, nothing stored or mailed', async () => {
    const before = (await liveUsers(tenant)).length;
    const mailsBefore = mailsTo(manager.email).length;
    for (const email of [manager.email, manager.email.toUpperCase(), ` ${manager.email}`]) {
      const res = await add(ownerAgent, { email, name: '重複 八郎', role: 'viewer', password: password() });
      expectProblemDetails(res, 409, 'LOGIN_USER_EMAIL_TAKEN', 'このメールアドレスのログインユーザは既に登録されています');
    }
    await sleep(200);
    expect((await liveUsers(tenant)).length).toBe(before);
    expect(await harness.prisma.loginUser.count({ where: { tenantId: tenant, name: '重複 八郎' } })).toBe(0);
    expect(mailsTo(manager.email).length).toBe(mailsBefore);
    // the original is untouched
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: manager.id } })).toMatchObject({ name: '佐藤 花子', role: 'manager', deletedAt: null });
  });

  it('the same address in another tenant is allowed; login then tells the two apart by customer number', async () => {
    const pw = password();
    const res = await add(otherAgent, { email: viewer.email, name: '兼務 九郎', role: 'viewer', password: pw });
    expect(res.status).toBe(201);
    expect(res.body.email).toBe(viewer.email);
    expect(await harness.prisma.loginUser.count({ where: { email: viewer.email, deletedAt: null } })).toBe(2);
    expect((await list(otherAgent)).map((u) => u.id)).toContain(res.body.id);
    expect((await list(ownerAgent)).filter((u) => u.email === viewer.email).map((u) => u.id)).toEqual([viewer.id]);
    // the welcome mail names the other company and its customer number
    const theirs = await harness.prisma.tenant.findUniqueOrThrow({ where: { id: other } });
    const mail = await harness.outbox.waitFor((m) => m.to.includes(viewer.email) && m.subject === WELCOME_SUBJECT && m.text.includes('兼務 九郎'));
    expect(mail.text).toContain(theirs.name);
    expect(mail.text).toContain(theirs.customerNumber);
    expectProblemDetails(await request(harness.app).post('/v1/auth/login').send({ email: viewer.email, password: pw }), 400, 'CUSTOMER_NUMBER_REQUIRED');
    const login = await request(harness.app).post('/v1/auth/login').send({ email: viewer.email, password: pw, customerNumber: theirs.customerNumber });
    expect(login.status).toBe(200);
  });

  it('a manager adds managers and viewers, never owners (403, Japanese title, nothing stored)', async () => {
    const email = address('owner-by-manager');
    const res = await add(managerAgent, { email, name: '昇格 十郎', role: 'owner', password: password() });
    expectProblemDetails(res, 403, 'FORBIDDEN', OWNERS_ONLY);
    expect(await harness.prisma.loginUser.count({ where: { email } })).toBe(0);
    const ok = await add(managerAgent, { email, name: '昇格 十郎', role: 'manager', password: password() });
    expect(ok.status).toBe(201);
    expect(ok.body.role).toBe('manager');
    // an owner may add an owner
    const o = await add(ownerAgent, { email: address('second-owner'), name: '二番目 オーナー', role: 'owner', password: password() });
    expect(o.status).toBe(201);
    expect(o.body.role).toBe('owner');
  });

  it('a viewer adds nobody; without the CSRF token nobody does (403, nothing stored)', async () => {
    const email = address('by-viewer');
    expectProblemDetails(await add(viewerAgent, { email, name: '閲覧 追加', role: 'viewer', password: password() }), 403, 'FORBIDDEN', FORBIDDEN);
    const csrf = await ownerAgent.post('/v1/login-users').set('X-CSRF-Token', 'forged').send({ email, name: '偽造 追加', role: 'viewer', password: password() });
    expectProblemDetails(csrf, 403, 'CSRF_TOKEN_INVALID');
    expectProblemDetails(await request(harness.app).post('/v1/login-users').send({ email, name: '匿名 追加', role: 'viewer', password: password() }), 401, 'UNAUTHENTICATED');
    expect(await harness.prisma.loginUser.count({ where: { email } })).toBe(0);
  });
});

describe('PATCH /v1/login-users/:id', () => {
  it('renames and changes role and kind; the history keeps before and after, and old events keep the old name', async () => {
    const u = await createLoginUser(harness.prisma, tenant, 'manager', '旧姓 花子');
    const uAgent = await harness.login(u);
    const res = await patch(ownerAgent, u.id, { name: ' 新姓 花子　', role: 'viewer', kind: 'professional' }).set('User-Agent', 'HR-Console/2.0');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, email: u.email, name: '新姓 花子', role: 'viewer', kind: 'professional', locked: false });
    expect(Object.keys(res.body).sort()).toEqual(VIEW_KEYS);
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: u.id } })).toMatchObject({ name: '新姓 花子', role: 'viewer', kind: 'professional' });

    const updated = (await events(tenant, 'login_user_updated')).filter((e) => (e.detail as { loginUserId?: string }).loginUserId === u.id);
    expect(updated).toHaveLength(1);
    expect(updated[0]).toMatchObject({
      actorId: owner.id,
      actorLabel: '管理 太郎',
      label: 'ログインユーザの編集',
      ip: CLIENT_IP,
      userAgent: 'HR-Console/2.0',
      detail: {
        loginUserId: u.id,
        before: { name: '旧姓 花子', role: 'manager', kind: 'staff', department: null },
        after: { name: '新姓 花子', role: 'viewer', kind: 'professional', department: null },
      },
    });
    // 部署 and 備考 (seed 001): set, shown, cleared; the note's text stays out of the history.
    const dept = await patch(ownerAgent, u.id, { department: ' 総務部 ', note: '社労士事務所との窓口' });
    expect(dept.body).toMatchObject({ department: '総務部', note: '社労士事務所との窓口' });
    const recorded = (await events(tenant, 'login_user_updated')).filter((e) => (e.detail as { loginUserId?: string }).loginUserId === u.id).at(-1)!;
    expect(recorded.detail).toMatchObject({ after: { department: '総務部', noteChanged: true } });
    expect(JSON.stringify(recorded.detail)).not.toContain('社労士');
    expect((await patch(ownerAgent, u.id, { department: '', note: null })).body).toMatchObject({ department: null, note: null });
    const tooLong = await patch(ownerAgent, u.id, { department: 'あ'.repeat(101) });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.errors).toEqual([expect.objectContaining({ path: '/body/department', message: '部署は100文字以内で入力してください' })]);
    // the user's own login, recorded under the old name, still says so
    const logins = await ownerAgent.get('/v1/operation-history').query({ actor: u.id, operation: 'login_succeeded' });
    expect(logins.body.items.map((i: { actor: { label: string } }) => i.actor.label)).toEqual(['旧姓 花子']);
    // one field alone leaves the others
    const kindOnly = await patch(ownerAgent, u.id, { kind: 'staff' });
    expect(kindOnly.status).toBe(200);
    expect(kindOnly.body).toMatchObject({ name: '新姓 花子', role: 'viewer', kind: 'staff' });
    expect((await uAgent.get('/v1/auth/me')).body.user).toMatchObject({ name: '新姓 花子', role: 'viewer', kind: 'staff' });
  });

  it("a changed role is in force on the user's next request", async () => {
    const u = await createLoginUser(harness.prisma, tenant, 'manager', '降格 次郎');
    const uAgent = await harness.login(u);
    const first = await add(uAgent, { email: address('before-demotion'), name: '降格前 追加', role: 'viewer', password: password() });
    expect(first.status).toBe(201);

    expect((await patch(ownerAgent, u.id, { role: 'viewer' })).status).toBe(200);
    expect(await roleOf(uAgent)).toBe('viewer');
    const email = address('after-demotion');
    expectProblemDetails(await add(uAgent, { email, name: '降格後 追加', role: 'viewer', password: password() }), 403, 'FORBIDDEN', FORBIDDEN);
    expectProblemDetails(await patch(uAgent, viewer.id, { name: '書き換え' }), 403, 'FORBIDDEN');
    expect(await harness.prisma.loginUser.count({ where: { email } })).toBe(0);
    // reading is still allowed
    expect((await uAgent.get('/v1/login-users')).status).toBe(200);

    expect((await patch(ownerAgent, u.id, { role: 'manager' })).status).toBe(200);
    expect((await add(uAgent, { email, name: '復帰後 追加', role: 'viewer', password: password() })).status).toBe(201);

    // made owner, they may now administer owners and tenant settings
    expect((await patch(ownerAgent, u.id, { role: 'owner' })).status).toBe(200);
    expect(await roleOf(uAgent)).toBe('owner');
    expect((await patch(uAgent, u.id, { role: 'manager' })).status).toBe(200);
    expect(await roleOf(uAgent)).toBe('manager');
  });

  it('a manager edits managers and viewers but not an owner, nor makes anyone an owner (403, nothing changed)', async () => {
    const v = await createLoginUser(harness.prisma, tenant, 'viewer', '閲覧 三子');
    const before = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: owner.id } });
    const updatesBefore = (await events(tenant, 'login_user_updated')).length;
    expectProblemDetails(await patch(managerAgent, owner.id, { name: '乗っ取り' }), 403, 'FORBIDDEN', OWNERS_ONLY);
    expectProblemDetails(await patch(managerAgent, owner.id, { role: 'viewer' }), 403, 'FORBIDDEN', OWNERS_ONLY);
    expectProblemDetails(await patch(managerAgent, v.id, { role: 'owner' }), 403, 'FORBIDDEN', OWNERS_ONLY);
    expectProblemDetails(await patch(managerAgent, manager.id, { role: 'owner' }), 403, 'FORBIDDEN', OWNERS_ONLY);
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: owner.id } })).toEqual(before);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: v.id } })).role).toBe('viewer');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: manager.id } })).role).toBe('manager');
    expect((await events(tenant, 'login_user_updated')).length).toBe(updatesBefore);
    // what a manager may do
    const ok = await patch(managerAgent, v.id, { role: 'manager', name: '閲覧 三子（昇格）' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ role: 'manager', name: '閲覧 三子（昇格）' });
    // a viewer edits nobody, not even themselves
    expectProblemDetails(await patch(viewerAgent, viewer.id, { name: '自分' }), 403, 'FORBIDDEN', FORBIDDEN);
    expectProblemDetails(await patch(viewerAgent, viewer.id, { role: 'owner' }), 403, 'FORBIDDEN', FORBIDDEN);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: viewer.id } })).role).toBe('viewer');
  });

  it('the last owner cannot be demoted (409 LAST_OWNER), not even by themselves; with a second owner it can', async () => {
    const c = await company('単独オーナー株式会社', ['owner', 'manager']);
    const [soleOwner] = c.users as [TestUser, TestUser];
    const [soleAgent] = c.agents as [Agent, Agent];
    for (const role of ['manager', 'viewer']) {
      const res = await patch(soleAgent, soleOwner.id, { role });
      expectProblemDetails(res, 409, 'LAST_OWNER', '最高権限のユーザが1人もいなくなるため、この操作はできません');
    }
    expect(await ownersOf(c.id)).toBe(1);
    expect(await events(c.id, 'login_user_updated')).toHaveLength(0);
    // staying an owner, or a rename, is fine
    expect((await patch(soleAgent, soleOwner.id, { role: 'owner', name: '単独 改名' })).status).toBe(200);

    const second = await add(soleAgent, { email: address('co-owner'), name: '共同 オーナー', role: 'owner', password: password() });
    expect(second.status).toBe(201);
    const res = await patch(soleAgent, soleOwner.id, { role: 'manager' });
    expect(res.status).toBe(200);
    expect(await ownersOf(c.id)).toBe(1);
    // now the one left is the last
    expectProblemDetails(await patch(soleAgent, second.body.id as string, { role: 'viewer' }), 403, 'FORBIDDEN', OWNERS_ONLY);
  });

  it("an unknown id or another tenant's user: 404 LOGIN_USER_NOT_FOUND, and nothing changes there", async () => {
    const before = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: otherOwner.id } });
    const missing = await patch(ownerAgent, randomUUID(), { name: '誰も いない' });
    expectProblemDetails(missing, 404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません');
    const foreign = await patch(ownerAgent, otherOwner.id, { name: '他社 乗っ取り', role: 'viewer' });
    expectProblemDetails(foreign, 404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません');
    // the same answer as for an id that does not exist: nothing tells the two apart
    expect(foreign.body).toEqual(missing.body);
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: otherOwner.id } })).toEqual(before);
    expectProblemDetails(await patch(managerAgent, otherOwner.id, { kind: 'professional' }), 404, 'LOGIN_USER_NOT_FOUND');
    expectProblemDetails(await otherAgent.patch(`/v1/login-users/${viewer.id}`).send({ role: 'owner' }), 404, 'LOGIN_USER_NOT_FOUND');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: viewer.id } })).role).toBe('viewer');
    // a deleted user is gone
    const gone = await createLoginUser(harness.prisma, tenant, 'viewer', '削除 済');
    expect((await remove(ownerAgent, gone.id)).status).toBe(204);
    expectProblemDetails(await patch(ownerAgent, gone.id, { name: '復活' }), 404, 'LOGIN_USER_NOT_FOUND');
    expect(await events(other, 'login_user_updated')).toHaveLength(0);
  });

  it('refuses a malformed request (400): not a uuid, empty patch, blank name, unknown role or field', async () => {
    for (const [id, body] of [
      ['not-a-uuid', { name: 'x' }],
      [viewer.id, {}],
      [viewer.id, { name: '  ' }],
      [viewer.id, { role: 'superuser' }],
      [viewer.id, { email: 'new@example.co.jp' }],
      [viewer.id, { tenantId: other }],
    ] as [string, Record<string, unknown>][]) {
      expectProblemDetails(await patch(ownerAgent, id, body), 400, 'VALIDATION_FAILED', '入力内容に誤りがあります');
    }
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: viewer.id } })).toMatchObject({ tenantId: tenant, email: viewer.email, name: '鈴木 一郎' });
  });
});

describe('DELETE /v1/login-users/:id', () => {
  it("deletes: 204, the user's sessions end at once, the address is freed, the authenticator secret shredded, the history shows them as deleted", async () => {
    const u = await createLoginUser(harness.prisma, tenant, 'manager', '退職 予定');
    const uAgent = await harness.login(u);
    // An authenticator secret in use and one being enrolled: both go with the user.
    const vault = testVault(harness.prisma);
    const [totp, pending] = await Promise.all([0, 1].map(() => vault.seal({ tenantId: tenant, kind: 'totp', plaintext: Buffer.from('JBSWY3DPEHPK3PXP') })));
    await harness.prisma.loginUser.update({ where: { id: u.id }, data: { totpSecretId: totp, pendingTotpSecretId: pending } });
    const second = await harness.login(u);
    expect((await uAgent.get('/v1/login-users')).status).toBe(200);
    expect(await harness.prisma.session.count({ where: { loginUserId: u.id } })).toBe(2);

    const res = await remove(ownerAgent, u.id).set('User-Agent', 'HR-Console/2.0');
    expect(res.status).toBe(204);
    expect(res.text).toBe('');
    expect(await harness.prisma.session.count({ where: { loginUserId: u.id } })).toBe(0);
    expectProblemDetails(await uAgent.get('/v1/login-users'), 401, 'UNAUTHENTICATED');
    expectProblemDetails(await second.post('/v1/login-users').send({ email: address('ghost'), name: '幽霊', role: 'viewer', password: password() }), 401, 'UNAUTHENTICATED');
    expectProblemDetails(await request(harness.app).post('/v1/auth/login').send({ email: u.email, password: u.password }), 401, 'INVALID_CREDENTIALS');
    expect((await list(ownerAgent)).map((x) => x.id)).not.toContain(u.id);
    // the row stays (history refers to it), but with no way in
    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: u.id } });
    expect(row.deletedAt).not.toBeNull();
    expect(row.email).not.toBe(u.email);
    expect(await verifyPassword(u.password, row.passwordHash)).toBe(false);
    expect(row).toMatchObject({ totpSecretId: null, pendingTotpSecretId: null });
    expect(await harness.prisma.vaultSecret.count({ where: { id: { in: [totp!, pending!] } } })).toBe(0);

    const deleted = (await events(tenant, 'login_user_deleted')).filter((e) => (e.detail as { loginUserId?: string }).loginUserId === u.id);
    expect(deleted).toHaveLength(1);
    expect(deleted[0]).toMatchObject({ actorId: owner.id, actorLabel: '管理 太郎', label: 'ログインユーザの削除', ip: CLIENT_IP, userAgent: 'HR-Console/2.0', detail: { loginUserId: u.id, name: '退職 予定', role: 'manager' } });
    // their own past events now show them as deleted, under the name they had
    const theirs = await viewerAgent.get('/v1/operation-history').query({ actor: u.id });
    expect(theirs.body.items.length).toBeGreaterThan(0);
    expect(theirs.body.items.every((i: { actor: { deleted: boolean; label: string } }) => i.actor.deleted && i.actor.label === '退職 予定')).toBe(true);

    // the address can be used again, for a new person
    const again = await add(ownerAgent, { email: u.email, name: '再入社 太郎', role: 'viewer', password: u.password });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(u.id);
    const newcomer = await harness.login({ ...u, id: again.body.id as string, role: 'viewer' });
    expect((await newcomer.get('/v1/auth/me')).body.user).toMatchObject({ id: again.body.id, name: '再入社 太郎', role: 'viewer' });
  });

  it('nobody deletes themselves (409 CANNOT_DELETE_SELF), however the id is written', async () => {
    const c = await company('自己削除株式会社', ['owner', 'owner', 'manager']);
    const [o1, , m] = c.users as [TestUser, TestUser, TestUser];
    const [a1, , am] = c.agents as [Agent, Agent, Agent];
    for (const [agent, user] of [
      [a1, o1],
      [am, m],
    ] as [Agent, TestUser][]) {
      for (const id of [user.id, user.id.toUpperCase()]) {
        expectProblemDetails(await remove(agent, id), 409, 'CANNOT_DELETE_SELF', '自分自身は削除できません');
      }
      expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).deletedAt).toBeNull();
      expect((await agent.get('/v1/login-users')).status).toBe(200);
    }
    expect(await events(c.id, 'login_user_deleted')).toHaveLength(0);
  });

  it('the last owner stays: a manager cannot delete an owner (403), an owner can delete another owner', async () => {
    const c = await company('最後のオーナー株式会社', ['owner', 'owner', 'manager', 'viewer']);
    const [o1, o2, m, v] = c.users as [TestUser, TestUser, TestUser, TestUser];
    const [a1, , am, av] = c.agents as [Agent, Agent, Agent, Agent];
    expectProblemDetails(await remove(am, o1.id), 403, 'FORBIDDEN', OWNERS_ONLY);
    expectProblemDetails(await remove(av, m.id), 403, 'FORBIDDEN', FORBIDDEN);
    expect(await ownersOf(c.id)).toBe(2);
    expect((await remove(a1, o2.id)).status).toBe(204);
    expect(await ownersOf(c.id)).toBe(1);
    expectProblemDetails(await remove(am, o1.id), 403, 'FORBIDDEN', OWNERS_ONLY);
    expectProblemDetails(await remove(a1, o1.id), 409, 'CANNOT_DELETE_SELF');
    expect(await ownersOf(c.id)).toBe(1);
    // a manager deletes a viewer
    expect((await remove(am, v.id)).status).toBe(204);
    expect((await liveUsers(c.id)).map((u) => u.id)).toEqual([o1.id, m.id]);
    expect((await events(c.id, 'login_user_deleted')).map((e) => (e.detail as { loginUserId: string }).loginUserId)).toEqual([o2.id, v.id]);
  });

  it("an unknown, deleted or other tenant's user: 404 LOGIN_USER_NOT_FOUND, nothing deleted there", async () => {
    expectProblemDetails(await remove(ownerAgent, randomUUID()), 404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません');
    const theirs = await createLoginUser(harness.prisma, other, 'viewer', '他社 閲覧');
    const theirAgent = await harness.login(theirs);
    expectProblemDetails(await remove(ownerAgent, theirs.id), 404, 'LOGIN_USER_NOT_FOUND');
    expectProblemDetails(await remove(managerAgent, otherOwner.id), 404, 'LOGIN_USER_NOT_FOUND');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: theirs.id } })).deletedAt).toBeNull();
    expect((await theirAgent.get('/v1/login-users')).status).toBe(200);
    expect(await events(other, 'login_user_deleted')).toHaveLength(0);
    const gone = await createLoginUser(harness.prisma, tenant, 'viewer', '二度 削除');
    expect((await remove(managerAgent, gone.id)).status).toBe(204);
    expectProblemDetails(await remove(managerAgent, gone.id), 404, 'LOGIN_USER_NOT_FOUND');
    expect((await events(tenant, 'login_user_deleted')).filter((e) => (e.detail as { loginUserId: string }).loginUserId === gone.id)).toHaveLength(1);
    expectProblemDetails(await remove(managerAgent, 'nobody'), 400, 'VALIDATION_FAILED');
  });
});

describe('POST /v1/login-users/:id/unlock', () => {
  const wrongLogin = (user: TestUser) => request(harness.app).post('/v1/auth/login').send({ email: user.email, password: 'definitely-wrong' });

  it('lifts a lock made by five wrong passwords: the user logs in again at once; recorded as login_unlocked', async () => {
    const u = await createLoginUser(harness.prisma, tenant, 'viewer', '施錠 太郎');
    const uAgent = await harness.login(u);
    for (let i = 1; i <= 4; i++) expectProblemDetails(await wrongLogin(u), 401, 'INVALID_CREDENTIALS');
    expectProblemDetails(await wrongLogin(u), 423, 'LOGIN_LOCKED');
    // locked out from this address: the right password does not help; the open session goes on
    // (a lock for wrong passwords stops guessing, it does not throw the owner out)
    expectProblemDetails(await request(harness.app).post('/v1/auth/login').send({ email: u.email, password: u.password }), 423, 'LOGIN_LOCKED');
    expect((await uAgent.get('/v1/auth/me')).status).toBe(200);
    expect((await list(managerAgent)).find((x) => x.id === u.id)!.locked).toBe(true);

    const res = await unlock(managerAgent, u.id).set('User-Agent', 'HR-Console/2.0');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, locked: false, role: 'viewer' });
    expect(Object.keys(res.body).sort()).toEqual(VIEW_KEYS);
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: u.id } })).toMatchObject({ lockedAt: null, failedLogins: 0 });
    expect(await harness.prisma.loginSourceLock.count({ where: { loginUserId: u.id } })).toBe(0);
    expect((await list(managerAgent)).find((x) => x.id === u.id)!.locked).toBe(false);
    const again = await harness.login(u);
    expect((await again.get('/v1/auth/me')).body.user).toMatchObject({ id: u.id, locked: false });

    const unlocked = (await events(tenant, 'login_unlocked')).filter((e) => (e.detail as { loginUserId?: string }).loginUserId === u.id);
    expect(unlocked).toHaveLength(1);
    expect(unlocked[0]).toMatchObject({ actorId: manager.id, actorLabel: '佐藤 花子', label: 'ログインロック解除', ip: CLIENT_IP, userAgent: 'HR-Console/2.0', detail: { loginUserId: u.id, name: '施錠 太郎' } });
    // and the count starts again from zero: four more failures do not lock
    for (let i = 1; i <= 4; i++) expectProblemDetails(await wrongLogin(u), 401, 'INVALID_CREDENTIALS');
    expect((await list(managerAgent)).find((x) => x.id === u.id)!.locked).toBe(false);
  });

  it('lifts a lock set in the database, for an owner too (by an owner)', async () => {
    const o = await createLoginUser(harness.prisma, tenant, 'owner', '施錠 オーナー');
    await harness.prisma.loginUser.update({ where: { id: o.id }, data: { lockedAt: new Date(), failedLogins: 5 } });
    expectProblemDetails(await request(harness.app).post('/v1/auth/login').send({ email: o.email, password: o.password }), 423, 'LOGIN_LOCKED');
    // a manager does not administer owners, a viewer nobody
    expectProblemDetails(await unlock(managerAgent, o.id), 403, 'FORBIDDEN', OWNERS_ONLY);
    expectProblemDetails(await unlock(viewerAgent, o.id), 403, 'FORBIDDEN', FORBIDDEN);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: o.id } })).lockedAt).not.toBeNull();
    const res = await unlock(ownerAgent, o.id);
    expect(res.status).toBe(200);
    expect(res.body.locked).toBe(false);
    const agent = await harness.login(o);
    expect(await roleOf(agent)).toBe('owner');
  });

  it("an unknown or other tenant's user: 404, their lock stays", async () => {
    const theirs = await createLoginUser(harness.prisma, other, 'viewer', '他社 施錠');
    await harness.prisma.loginUser.update({ where: { id: theirs.id }, data: { lockedAt: new Date(), failedLogins: 5 } });
    expectProblemDetails(await unlock(ownerAgent, theirs.id), 404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません');
    expectProblemDetails(await unlock(managerAgent, randomUUID()), 404, 'LOGIN_USER_NOT_FOUND');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: theirs.id } })).lockedAt).not.toBeNull();
    expect(await events(other, 'login_unlocked')).toHaveLength(0);
  });
});

describe('two owners at the same moment', () => {
  it('demoting each other never leaves the tenant without an owner', async () => {
    const c = await company('同時降格株式会社', ['owner', 'owner']);
    const [a, b] = c.users as [TestUser, TestUser];
    const [aAgent, bAgent] = c.agents as [Agent, Agent];
    for (let round = 1; round <= 5; round++) {
      await harness.prisma.loginUser.updateMany({ where: { id: { in: [a.id, b.id] } }, data: { role: 'owner' } });
      const updatesBefore = (await events(c.id, 'login_user_updated')).length;
      const [ab, ba] = await Promise.all([patch(aAgent, b.id, { role: 'manager' }), patch(bAgent, a.id, { role: 'manager' })]);
      const statuses = [ab.status, ba.status].sort();
      expect({ round, owners: await ownersOf(c.id) }).toEqual({ round, owners: 1 });
      expect({ round, statuses }).toEqual({ round, statuses: [200, 403] });
      // the loser had just been demoted: a manager does not administer an owner
      expectProblemDetails(ab.status === 200 ? ba : ab, 403, 'FORBIDDEN', OWNERS_ONLY);
      // only what happened is recorded
      expect((await events(c.id, 'login_user_updated')).length).toBe(updatesBefore + 1);
    }
  });

  it('deleting each other never leaves the tenant without an owner', async () => {
    const c = await company('同時削除株式会社', ['owner']);
    for (let round = 1; round <= 3; round++) {
      const [a, b] = [await createLoginUser(harness.prisma, c.id, 'owner', `同時 A${round}`), await createLoginUser(harness.prisma, c.id, 'owner', `同時 B${round}`)];
      // the company's first owner leaves, so that a and b are the only owners
      await harness.prisma.loginUser.updateMany({ where: { tenantId: c.id, id: { notIn: [a.id, b.id] }, role: 'owner' }, data: { role: 'manager' } });
      expect(await ownersOf(c.id)).toBe(2);
      const [aAgent, bAgent] = await Promise.all([harness.login(a), harness.login(b)]);
      const deletesBefore = (await events(c.id, 'login_user_deleted')).length;
      const [ab, ba] = await Promise.all([remove(aAgent, b.id), remove(bAgent, a.id)]);
      expect({ round, owners: await ownersOf(c.id) }).toEqual({ round, owners: 1 });
      expect({ round, statuses: [ab.status, ba.status].sort() }).toEqual({ round, statuses: [204, 401] });
      // the loser no longer exists
      expectProblemDetails(ab.status === 204 ? ba : ab, 401, 'UNAUTHENTICATED');
      expect((await events(c.id, 'login_user_deleted')).length).toBe(deletesBefore + 1);
    }
  });

  it('demoting one while deleting the other never leaves the tenant without an owner', async () => {
    const c = await company('同時操作株式会社', ['owner', 'owner']);
    const [a, b] = c.users as [TestUser, TestUser];
    const [aAgent, bAgent] = c.agents as [Agent, Agent];
    const [demote, del] = await Promise.all([patch(aAgent, b.id, { role: 'viewer' }), remove(bAgent, a.id)]);
    expect(await ownersOf(c.id)).toBe(1);
    expect([demote.status, del.status].filter((s) => s < 300)).toHaveLength(1);
    for (const res of [demote, del]) if (res.status >= 400) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
