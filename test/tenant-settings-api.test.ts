/**
 * 契約者設定 over HTTP: every role reads the settings (whether a passcode is set, never the
 * passcode or its hash); owners and managers change seed 001's 契約者情報 and the passcode (管理担当者:
 * everything but the plan and cancelling), owners alone the data-protection settings. The corporate number's check digit, the purposes
 * in use, the reminder days and the passcode are checked before anything is written, so a PATCH
 * with one bad field changes nothing at all. The passcode is stored as a hash, and the history names
 * the settings that really changed, never the passcode.
 *
 * tenants and operation_events are shared by every test file: everything here works on tenants of
 * its own, and every count is scoped to them. Corporate numbers are 13 digits; the ones made here
 * have no 12-digit run that would pass as a My Number, so none can appear in any output.
 */
import { randomInt, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { OperationEvent, Purpose, Tenant } from '../prisma/generated/client';
import { hashPassword, verifyPassword } from '../services/auth/passwords';
import { checkDigit, corporateCheckDigit } from '../services/mynumber/validate';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, TEST_PASSWORD, type Agent, type TestUser } from './support/fixtures';
import { expectProblemDetails, JAPANESE } from './support/problems';
import { ALL_PURPOSES } from './support/purposes';

// Many logins from one address: the per-address limits have their own test.
const generous = { limit: 10_000, windowMinutes: 15 };
const harness = useApiHarness({ taskQueue: 'tenant-settings-api', authRateLimits: { attempts: generous, mailings: generous } });

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

const TENANT_NAME = '契約設定株式会社';
const SETTINGS_KEYS = ['contractDetails', 'corporateNumber', 'customerNumber', 'deletionMode', 'deletionScope', 'employeeNotices', 'id', 'name', 'passcodeSet', 'passcodeViewable', 'purposes', 'reminderDays', 'retentionRule', 'submissionDigest'];
const CLIENT_IP = '198.51.100.77';
const INVALID = '入力内容に誤りがあります';

/** A 400 naming one field, with the product's code and a Japanese message for it. */
function expectFieldError(res: request.Response, path: string, code: string, message: string | RegExp = JAPANESE): void {
  expectProblemDetails(res, 400, 'VALIDATION_FAILED', INVALID);
  expect(res.body.errors).toEqual([{ path, code, message: expect.stringMatching(message) }]);
}

/**
 * The check digit of a corporate number by the published rule (国税庁: 9 − (Σ Pn·Qn mod 9), n
 * counted from the right of the 12 base digits, Qn = 1 for odd n and 2 for even n), written here
 * apart from the product's.
 */
function publishedCheckDigit(base12: string): number {
  let sum = 0;
  for (let n = 1; n <= 12; n++) sum += Number(base12[12 - n]) * (n % 2 === 1 ? 1 : 2);
  return 9 - (sum % 9);
}

const passesAsMyNumber = (twelve: string) => checkDigit(twelve.slice(0, 11)) === Number(twelve[11]);

/** A fresh valid corporate number with no 12-digit run inside it that is a valid My Number. */
function corporateNumber(): string {
  for (;;) {
    const base = Array.from({ length: 12 }, () => String(randomInt(10))).join('');
    const cd = corporateCheckDigit(base);
    expect(cd).toBe(publishedCheckDigit(base));
    const n = `${cd}${base}`;
    if (!passesAsMyNumber(n.slice(0, 12)) && !passesAsMyNumber(n.slice(1))) return n;
  }
}

/** The same base digits under another leading digit (again with no My Number inside). */
function withWrongCheckDigit(n: string): string {
  for (;;) {
    const wrong = `${(Number(n[0]) + 1 + randomInt(9)) % 10}${n.slice(1)}`;
    if (!passesAsMyNumber(wrong.slice(0, 12))) return wrong;
  }
}

const FULL_WIDTH = (s: string) => [...s].map((c) => (/[0-9]/.test(c) ? String.fromCharCode(c.charCodeAt(0) - 0x30 + 0xff10) : c)).join('');

const settingsOf = (tenantId: string) => harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } });
const changes = (tenantId: string): Promise<OperationEvent[]> =>
  harness.prisma.operationEvent.findMany({ where: { tenantId, operation: 'tenant_settings_changed' }, orderBy: { id: 'asc' } });
/** A PATCH as the console sends it: a passcode goes with the caller's password (every test user's is TEST_PASSWORD). */
const save = (agent: Agent, body: Record<string, unknown>) =>
  agent.patch('/v1/tenant').set('X-Forwarded-For', CLIENT_IP).send('passcode' in body && !('password' in body) ? { ...body, password: TEST_PASSWORD } : body);
const get = async (agent: Agent) => {
  const res = await agent.get('/v1/tenant');
  expect(res.status).toBe(200);
  return res.body as { id: string; name: string; customerNumber: string; corporateNumber: string | null; passcodeSet: boolean; purposes: Purpose[]; reminderDays: number[] };
};

/** Asserts the tenant row and its history are as they were. */
async function expectUnchanged(tenantId: string, before: Tenant, eventsBefore: number): Promise<void> {
  expect(await settingsOf(tenantId)).toEqual(before);
  expect(await changes(tenantId)).toHaveLength(eventsBefore);
}

beforeAll(async () => {
  tenant = await createTenant(harness.prisma, TENANT_NAME);
  other = await createTenant(harness.prisma, '契約設定別会社');
  [owner, manager, viewer, otherOwner] = await Promise.all([
    createLoginUser(harness.prisma, tenant, 'owner', '設定 オーナー'),
    createLoginUser(harness.prisma, tenant, 'manager', '設定 担当'),
    createLoginUser(harness.prisma, tenant, 'viewer', '設定 閲覧'),
    createLoginUser(harness.prisma, other, 'owner', '別会社 オーナー'),
  ]);
  [ownerAgent, managerAgent, viewerAgent, otherAgent] = await Promise.all([harness.login(owner), harness.login(manager), harness.login(viewer), harness.login(otherOwner)]);
});

describe('corporate numbers used here', () => {
  it("the product's check digit agrees with the published rule, and with a published number (国税庁 7000012050002)", async () => {
    expect(corporateCheckDigit('000012050002')).toBe(7);
    expect(publishedCheckDigit('000012050002')).toBe(7);
    for (let i = 0; i < 200; i++) {
      const base = String(randomInt(10 ** 12)).padStart(12, '0');
      expect(corporateCheckDigit(base)).toBe(publishedCheckDigit(base));
    }
    const c = await createTenant(harness.prisma, '検査用数字株式会社');
    const agent = await harness.agent(c, 'owner', '検査 オーナー');
    const res = await save(agent, { corporateNumber: '7000012050002' });
    expect(res.status).toBe(200);
    expect(res.body.corporateNumber).toBe('7000012050002');
  });
});

describe('GET /v1/tenant', () => {
  it('every role sees the settings: the defaults of a new tenant, exactly the fields of the contract', async () => {
    const t = await settingsOf(tenant);
    for (const agent of [ownerAgent, managerAgent, viewerAgent]) {
      const res = await agent.get('/v1/tenant');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        id: tenant,
        name: TENANT_NAME,
        customerNumber: t.customerNumber,
        corporateNumber: null,
        passcodeSet: false,
        passcodeViewable: false,
        purposes: ALL_PURPOSES,
        reminderDays: [7, 30, 80],
        submissionDigest: 'daily',
        employeeNotices: true,
        retentionRule: 'dependents_declaration_7y',
        deletionScope: 'all_personal_data',
        deletionMode: 'automatic',
        contractDetails: null,
      });
      expect(Object.keys(res.body).sort()).toEqual(SETTINGS_KEYS);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('says whether a passcode is set, never the passcode or its hash', async () => {
    const c = await createTenant(harness.prisma, 'パスコード表示株式会社');
    const [o, v] = await Promise.all([createLoginUser(harness.prisma, c, 'owner', '表示 オーナー'), createLoginUser(harness.prisma, c, 'viewer', '表示 閲覧')]);
    const [oAgent, vAgent] = await Promise.all([harness.login(o), harness.login(v)]);
    expect((await get(vAgent)).passcodeSet).toBe(false);
    const passcode = 'Kaisha#2026';
    const res = await save(oAgent, { passcode });
    expect(res.status).toBe(200);
    expect(res.body.passcodeSet).toBe(true);
    const { passcodeHash } = await settingsOf(c);
    for (const agent of [oAgent, vAgent]) {
      const got = await agent.get('/v1/tenant');
      expect(got.body.passcodeSet).toBe(true);
      expect(got.text).not.toContain(passcode);
      expect(got.text).not.toContain(passcodeHash!);
      expect(got.text).not.toMatch(/scrypt|passcodeHash|"passcode"/);
    }
    expect(res.text).not.toContain(passcode);
    expect(res.text).not.toMatch(/scrypt|passcodeHash|"passcode"/);
  });

  it("shows the caller's own tenant only", async () => {
    const ours = await get(viewerAgent);
    const theirs = await get(otherAgent);
    expect(ours.id).toBe(tenant);
    expect(theirs.id).toBe(other);
    expect(theirs.name).toBe('契約設定別会社');
    expectProblemDetails(await viewerAgent.get('/v1/tenant').query({ tenantId: other }), 400, 'VALIDATION_FAILED');
  });

  it('needs a login', async () => {
    expectProblemDetails(await request(harness.app).get('/v1/tenant'), 401, 'UNAUTHENTICATED', 'ログインしてください');
    expectProblemDetails(await request(harness.app).patch('/v1/tenant').send({ name: '匿名' }), 401, 'UNAUTHENTICATED');
  });
});

describe('PATCH /v1/tenant', () => {
  it('an owner sets how often HR hears of new submissions and whether employees get receipts: stored, recorded with before and after; an unknown frequency is refused', async () => {
    const c = await createTenant(harness.prisma, '通知設定株式会社');
    const agent = await harness.agent(c, 'owner', '通知 オーナー');
    const res = await save(agent, { submissionDigest: 'hourly', employeeNotices: false });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ submissionDigest: 'hourly', employeeNotices: false });
    expect(await settingsOf(c)).toMatchObject({ submissionDigest: 'hourly', employeeNotices: false });
    expect((await changes(c)).map((e) => e.detail)).toEqual([
      { changed: ['submissionDigest', 'employeeNotices'], before: { submissionDigest: 'daily', employeeNotices: true }, after: { submissionDigest: 'hourly', employeeNotices: false } },
    ]);
    expect((await save(agent, { submissionDigest: 'weekly' })).status).toBe(400);
    expect((await save(agent, { submissionDigest: 'off' })).body.submissionDigest).toBe('off');
  });

  it('an owner chooses the retention rule, what a scheduled deletion deletes and whether HR confirms it: stored, recorded with before and after, read back as the current rule; an unknown rule is refused, a manager may not', async () => {
    const c = await createTenant(harness.prisma, '保存期間設定株式会社');
    const [agent, mgr] = await Promise.all([harness.agent(c, 'owner', '保存 オーナー'), harness.agent(c, 'manager', '保存 管理')]);
    const res = await save(agent, { retentionRule: 'employment_insurance_4y', deletionScope: 'numbers', deletionMode: 'confirmed' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ retentionRule: 'employment_insurance_4y', deletionScope: 'numbers', deletionMode: 'confirmed' });
    expect(await settingsOf(c)).toMatchObject({ retentionRule: 'employment_insurance_4y', deletionScope: 'numbers', deletionMode: 'confirmed' });
    expect((await changes(c)).map((e) => e.detail)).toEqual([
      {
        changed: ['retentionRule', 'deletionScope', 'deletionMode'],
        before: { retentionRule: 'dependents_declaration_7y', deletionScope: 'all_personal_data', deletionMode: 'automatic' },
        after: { retentionRule: 'employment_insurance_4y', deletionScope: 'numbers', deletionMode: 'confirmed' },
      },
    ]);
    expect((await save(agent, { deletionMode: 'never' })).status).toBe(400);
    expect((await harness.agent(c, 'viewer')).get('/v1/retention-rules').then((r) => r.body.current)).resolves.toBe('employment_insurance_4y');
    const unknown = await save(agent, { retentionRule: 'forever' });
    expectProblemDetails(unknown, 400, 'VALIDATION_FAILED');
    expect(unknown.body.errors).toEqual([expect.objectContaining({ path: '/body/retentionRule', code: 'RETENTION_RULE_UNKNOWN', message: '保存期間のルールを一覧から選んでください' })]);
    expect((await save(agent, { deletionScope: 'everything' })).status).toBe(400);
    expectProblemDetails(await save(mgr, { deletionScope: 'all_personal_data' }), 403, 'FORBIDDEN');
    expect(await settingsOf(c)).toMatchObject({ retentionRule: 'employment_insurance_4y', deletionScope: 'numbers' });
  });

  it('an owner fills in the rest of 契約者情報 (seed 001): normalised, every problem at its field, recorded as changed without its values', async () => {
    const c = await createTenant(harness.prisma, '連絡先設定株式会社');
    const agent = await harness.agent(c, 'owner', '連絡先 オーナー');
    const details = { businessType: 'corporation', department: '総務部', applicantName: 'マイナ 太郎', email: 'Soumu@Example.CO.JP', postalCode: '１５０－００３６', prefecture: '東京都', city: '渋谷区南平台町15-10', building: '南平台ビル3F', phone: '03-1234-5678', industry: 'その他情報関連サービス', newsletter: false };
    const res = await save(agent, { contractDetails: details });
    expect(res.status).toBe(200);
    expect(res.body.contractDetails).toEqual({ ...details, email: 'soumu@example.co.jp', postalCode: '1500036', phone: '0312345678' });
    const recorded = (await changes(c)).map((e) => e.detail);
    expect(recorded).toEqual([{ changed: ['contractDetails'], before: {}, after: {} }]);
    expect(JSON.stringify(recorded)).not.toContain('マイナ');
    const bad = await save(agent, { contractDetails: { ...details, postalCode: '150', prefecture: '東京', phone: '1234', email: 'not-an-address', applicantName: ' ' } });
    expectProblemDetails(bad, 400, 'VALIDATION_FAILED');
    expect((bad.body.errors as { path: string; message: string }[]).map((e) => [e.path, e.message])).toEqual([
      ['/body/contractDetails/postalCode', '郵便番号は7桁の数字で入力してください（例：150-0036）'],
      ['/body/contractDetails/prefecture', '都道府県を正しく入力してください（例：東京都）'],
      ['/body/contractDetails/phone', '電話番号は0から始まる10桁または11桁の数字で入力してください'],
      ['/body/contractDetails/email', 'メールアドレスの形式が正しくありません'],
      ['/body/contractDetails/applicantName', '申請者氏名を入力してください'],
    ]);
    expect((await settingsOf(c)).contractDetails).toMatchObject({ postalCode: '1500036' });
  });

  it('an owner changes name, corporate number, purposes and reminder days: 200 with the new settings, stored as shown', async () => {
    const cn = corporateNumber();
    const purposes: Purpose[] = ['withholding_slip', 'employment_insurance', 'dividends'];
    const res = await save(ownerAgent, { name: '　契約設定ホールディングス株式会社 ', corporateNumber: cn, purposes, reminderDays: [3, 14, 60] });
    expect(res.status).toBe(200);
    const t = await settingsOf(tenant);
    const expected = {
      id: tenant,
      name: '契約設定ホールディングス株式会社',
      customerNumber: t.customerNumber,
      corporateNumber: cn,
      passcodeSet: false,
      passcodeViewable: false,
      purposes,
      reminderDays: [3, 14, 60],
      submissionDigest: 'daily',
      employeeNotices: true,
      retentionRule: 'dependents_declaration_7y',
      deletionScope: 'all_personal_data',
      deletionMode: 'automatic',
      contractDetails: null,
    };
    expect(res.body).toEqual(expected);
    expect(t).toMatchObject({ name: expected.name, corporateNumber: cn, purposes, reminderDays: [3, 14, 60], passcodeHash: null });
    // everyone sees the same
    expect(await get(viewerAgent)).toEqual(expected);
    // the new name is in force at once: the session's own view of its tenant follows
    expect((await managerAgent.get('/v1/auth/me')).body.tenant.name).toBe(expected.name);
    // one field alone leaves the others
    const one = await save(ownerAgent, { reminderDays: [10] });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ ...expected, reminderDays: [10] });
  });

  it('accepts a corporate number as people type it (full-width digits, hyphens, spaces) and stores the 13 digits; null or "" clears it', async () => {
    const cn = corporateNumber();
    const typed = `${FULL_WIDTH(cn.slice(0, 1))}－${FULL_WIDTH(cn.slice(1, 5))} ${cn.slice(5, 9)}-${FULL_WIDTH(cn.slice(9))}`;
    const res = await save(ownerAgent, { corporateNumber: typed });
    expect(res.status).toBe(200);
    expect(res.body.corporateNumber === cn).toBe(true);
    expect((await settingsOf(tenant)).corporateNumber === cn).toBe(true);
    for (const cleared of [null, '', '  ']) {
      expect((await save(ownerAgent, { corporateNumber: cn })).body.corporateNumber === cn).toBe(true);
      const c = await save(ownerAgent, { corporateNumber: cleared });
      expect(c.status).toBe(200);
      expect(c.body.corporateNumber).toBeNull();
      expect((await settingsOf(tenant)).corporateNumber).toBeNull();
    }
  });

  it('lists each purpose once, whatever was sent; a purpose switched off can no longer be used to reveal a number', async () => {
    const res = await save(ownerAgent, { purposes: ['dividends', 'withholding_slip', 'dividends'] });
    expect(res.status).toBe(200);
    expect(res.body.purposes).toEqual(['dividends', 'withholding_slip']);
    expect((await settingsOf(tenant)).purposes).toEqual(['dividends', 'withholding_slip']);
    // checked before the registrant is even looked up: no number is needed to see it refused
    const reveal = (purpose: Purpose) => viewerAgent.post(`/v1/registrants/${randomUUID()}/my-number/reveal`).send({ password: viewer.password, purpose });
    expectProblemDetails(await reveal('real_estate'), 400, 'PURPOSE_DISABLED', 'この利用目的は契約者設定で使用しないことになっています');
    expect((await reveal('dividends')).status).toBe(404);
    expect((await save(ownerAgent, { purposes: ALL_PURPOSES })).status).toBe(200);
    expect((await reveal('real_estate')).status).toBe(404);
  });

  it('stores the passcode hashed (scrypt): it verifies, the old one no longer does; the response says passcodeSet only', async () => {
    const c = await createTenant(harness.prisma, 'パスコード株式会社');
    const agent = await harness.agent(c, 'owner', 'パス オーナー');
    const first = 'Ab#1';
    const res = await save(agent, { passcode: first });
    expect(res.status).toBe(200);
    expect(res.body.passcodeSet).toBe(true);
    expect(res.text).not.toContain(first);
    const stored = (await settingsOf(c)).passcodeHash!;
    expect(stored).toMatch(/^scrypt\$/);
    expect(stored).not.toContain(first);
    expect(await verifyPassword(first, stored)).toBe(true);
    expect(await verifyPassword('Ab#2', stored)).toBe(false);

    const second = `~!${'x'.repeat(28)}9Z`; // 32 characters, the most allowed
    expect((await save(agent, { passcode: second })).status).toBe(200);
    const next = (await settingsOf(c)).passcodeHash!;
    expect(next).not.toBe(stored);
    expect(await verifyPassword(second, next)).toBe(true);
    expect(await verifyPassword(first, next)).toBe(false);
    // the same passcode again is hashed afresh (new salt)
    expect((await save(agent, { passcode: second })).status).toBe(200);
    const again = (await settingsOf(c)).passcodeHash!;
    expect(again).not.toBe(next);
    expect(await verifyPassword(second, again)).toBe(true);
  });

  it('records tenant_settings_changed with the actor, IP and user agent, listing what really changed; never the passcode', async () => {
    const c = await createTenant(harness.prisma, '設定履歴株式会社');
    const o = await createLoginUser(harness.prisma, c, 'owner', '履歴 オーナー');
    const agent = await harness.login(o);
    const passcode = 'Himitsu-2026!';
    const cn = corporateNumber();

    const res = await save(agent, { name: '設定履歴株式会社', passcode, corporateNumber: cn, purposes: ['dividends', 'withholding_slip'], reminderDays: [7, 30, 80] }).set('User-Agent', 'HR-Console/2.0');
    expect(res.status).toBe(200);
    const [event, ...rest] = await changes(c);
    expect(rest).toHaveLength(0);
    expect(event).toMatchObject({
      actorType: 'login_user',
      actorId: o.id,
      actorLabel: '履歴 オーナー',
      label: '契約者設定の変更',
      ip: CLIENT_IP,
      userAgent: 'HR-Console/2.0',
      registrantId: null,
    });
    // the name and the reminder days were sent as they already were: not changes
    expect(event!.detail).toEqual({
      changed: ['corporateNumber', 'passcode', 'purposes'],
      before: { purposes: ALL_PURPOSES },
      after: { purposes: ['dividends', 'withholding_slip'] },
    });

    // one field
    expect((await save(agent, { reminderDays: [5, 20] })).status).toBe(200);
    expect((await changes(c)).at(-1)!.detail).toEqual({ changed: ['reminderDays'], before: { reminderDays: [7, 30, 80] }, after: { reminderDays: [5, 20] } });
    // the passcode alone: named, never shown
    expect((await save(agent, { passcode: `${passcode}2` })).status).toBe(200);
    expect((await changes(c)).at(-1)!.detail).toEqual({ changed: ['passcode'], before: {}, after: {} });
    // a save that changes nothing (purposes in another order, the same days) records nothing
    const count = (await changes(c)).length;
    const same = await save(agent, { purposes: ['withholding_slip', 'dividends'], reminderDays: [5, 20], name: '設定履歴株式会社' });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ purposes: ['dividends', 'withholding_slip'], reminderDays: [5, 20] });
    expect(await changes(c)).toHaveLength(count);

    // nowhere in this tenant's history: not the passcode, not its hash, not the corporate number's digits
    const { passcodeHash } = await settingsOf(c);
    const everything = await harness.prisma.operationEvent.findMany({ where: { tenantId: c } });
    const text = JSON.stringify(everything, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    for (const secret of [passcode, `${passcode}2`, passcodeHash!, passcodeHash!.split('$').at(-1)!]) expect(text.includes(secret)).toBe(false);
    expect(text.includes(cn)).toBe(false);
    // and the history API shows the change
    const shown = await agent.get('/v1/operation-history').query({ operation: 'tenant_settings_changed' });
    expect(shown.body.items).toHaveLength(3);
    expect(shown.body.items[0]).toMatchObject({ label: '契約者設定の変更', actor: { id: o.id, label: '履歴 オーナー' }, ip: CLIENT_IP });
    expect(shown.text.includes(passcode)).toBe(false);
  });

  it("viewers change nothing, managers none of the owners' data-protection settings: 403 with a Japanese title, and nothing changes", async () => {
    const before = await settingsOf(tenant);
    const eventsBefore = (await changes(tenant)).length;
    for (const body of [{ name: '乗っ取り株式会社' }, { passcode: 'steal-it' }, { corporateNumber: corporateNumber() }, { purposes: ['dividends'] }, { reminderDays: [1] }]) {
      expectProblemDetails(await save(viewerAgent, body), 403, 'FORBIDDEN', 'この操作を行う権限がありません');
    }
    const policy = [{ purposes: ['dividends'] }, { reminderDays: [1] }, { submissionDigest: 'off' }, { employeeNotices: false }, { retentionRule: before.retentionRule }, { deletionMode: 'confirmed' }, { name: '混ぜた株式会社', deletionScope: 'numbers' }];
    for (const body of policy) {
      const res = await save(managerAgent, body);
      expectProblemDetails(res, 403, 'FORBIDDEN');
      expect(res.body.title).toContain('最高権限のユーザだけです');
    }
    // A refused passcode change asks no password, so nothing counts towards the lock.
    expectProblemDetails(await save(managerAgent, { passcode: 'Mazeta#1', password: 'wrong-password', purposes: ['dividends'] }), 403, 'FORBIDDEN');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: manager.id } })).failedLogins).toBe(0);
    await expectUnchanged(tenant, before, eventsBefore);
    // without the CSRF token, not even an owner
    expectProblemDetails(await ownerAgent.patch('/v1/tenant').set('X-CSRF-Token', 'forged').send({ name: '偽造株式会社' }), 403, 'CSRF_TOKEN_INVALID');
    await expectUnchanged(tenant, before, eventsBefore);
    // another tenant's owner changes their own tenant only
    expect((await save(otherAgent, { name: '契約設定別会社（新）' })).status).toBe(200);
    await expectUnchanged(tenant, before, eventsBefore);
    expect((await settingsOf(other)).name).toBe('契約設定別会社（新）');
  });

  it("a manager changes seed 001's 契約者情報 (name, corporate number, contact details) and sets the passcode with their password; recorded under their name", async () => {
    const c = await createTenant(harness.prisma, '管理担当者契約株式会社');
    const m = await createLoginUser(harness.prisma, c, 'manager', '契約 担当');
    const agent = await harness.login(m);
    const cn = corporateNumber();
    const res = await save(agent, { name: '管理担当者契約株式会社（新）', corporateNumber: cn });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: '管理担当者契約株式会社（新）', corporateNumber: cn });
    expectProblemDetails(await save(agent, { passcode: 'Tantou#1', password: 'wrong-password' }), 400, 'PASSWORD_INCORRECT');
    expect((await save(agent, { passcode: 'Tantou#1', password: m.password })).body).toMatchObject({ passcodeSet: true });
    expect(await verifyPassword('Tantou#1', (await settingsOf(c)).passcodeHash!)).toBe(true);
    const recorded = await changes(c);
    expect(recorded.map((e) => (e.detail as { changed: string[] }).changed)).toEqual([['name', 'corporateNumber'], ['passcode']]);
    expect(recorded.every((e) => e.actorId === m.id)).toBe(true);
  });

  it('a corporate number with a wrong check digit or form: 400 at /body/corporateNumber in Japanese, and nothing else in the PATCH is applied', async () => {
    const before = await settingsOf(tenant);
    const eventsBefore = (await changes(tenant)).length;
    const good = corporateNumber();
    const rest = { name: '適用されない株式会社', purposes: ['dividends'], reminderDays: [1, 2], passcode: 'never-set' };
    const cases: [string, string, string][] = [
      [withWrongCheckDigit(good), 'CORPORATE_NUMBER_CHECK_DIGIT', '法人番号に誤りがあります（最初の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください'],
      [FULL_WIDTH(withWrongCheckDigit(good)), 'CORPORATE_NUMBER_CHECK_DIGIT', '法人番号に誤りがあります（最初の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください'],
      [good.slice(1), 'CORPORATE_NUMBER_FORMAT', '法人番号は13桁の数字で入力してください'],
      [`${good}0`, 'CORPORATE_NUMBER_FORMAT', '法人番号は13桁の数字で入力してください'],
      [`${good.slice(0, 12)}A`, 'CORPORATE_NUMBER_FORMAT', '法人番号は13桁の数字で入力してください'],
    ];
    for (const [corporate, code, message] of cases) {
      const res = await save(ownerAgent, { ...rest, corporateNumber: corporate });
      expectFieldError(res, '/body/corporateNumber', code, message);
      // the problem never echoes what was typed
      expect(res.text.includes(corporate)).toBe(false);
      expect(res.text.includes(good.slice(1))).toBe(false);
    }
    await expectUnchanged(tenant, before, eventsBefore);
    // longer than the contract allows
    expectProblemDetails(await save(ownerAgent, { ...rest, corporateNumber: `${good}-${good}` }), 400, 'VALIDATION_FAILED', INVALID);
    await expectUnchanged(tenant, before, eventsBefore);
  });

  it('purposes: none at all → 400 PURPOSES_EMPTY; an unknown one → 400; nothing applied', async () => {
    const before = await settingsOf(tenant);
    const eventsBefore = (await changes(tenant)).length;
    const res = await save(ownerAgent, { purposes: [], name: '適用されない株式会社' });
    expectFieldError(res, '/body/purposes', 'PURPOSES_EMPTY', '利用目的を1つ以上選んでください');
    expectProblemDetails(await save(ownerAgent, { purposes: ['marketing'], name: '適用されない株式会社' }), 400, 'VALIDATION_FAILED', INVALID);
    expectProblemDetails(await save(ownerAgent, { purposes: 'dividends' }), 400, 'VALIDATION_FAILED', INVALID);
    await expectUnchanged(tenant, before, eventsBefore);
  });

  it('reminder days: whole days from 1 to 89, in ascending order', async () => {
    const before = await settingsOf(tenant);
    const eventsBefore = (await changes(tenant)).length;
    for (const days of [[0], [90], [-1], [30, 7], [7, 7], [1, 89, 90], [7, 30, 200]]) {
      const res = await save(ownerAgent, { reminderDays: days, name: '適用されない株式会社' });
      expectFieldError(res, '/body/reminderDays', 'REMINDER_DAYS_INVALID', 'リマインド日は1〜89日の範囲で、小さい順に指定してください');
    }
    for (const days of [[1.5], ['7'], [7, null]]) {
      expectProblemDetails(await save(ownerAgent, { reminderDays: days }), 400, 'VALIDATION_FAILED', INVALID);
    }
    await expectUnchanged(tenant, before, eventsBefore);
    for (const days of [[1], [89], [1, 2, 88, 89], [7, 30, 80]]) {
      const res = await save(ownerAgent, { reminderDays: days });
      expect(res.status).toBe(200);
      expect(res.body.reminderDays).toEqual(days);
      expect((await settingsOf(tenant)).reminderDays).toEqual(days);
    }
  });

  it('passcode: 4 to 32 half-width letters, digits or symbols; otherwise 400 at /body/passcode, nothing applied', async () => {
    const c = await createTenant(harness.prisma, 'パスコード規則株式会社');
    const agent = await harness.agent(c, 'owner', '規則 オーナー');
    const oldHash = await hashPassword('Old#pass');
    await harness.prisma.tenant.update({ where: { id: c }, data: { passcodeHash: oldHash } });
    const before = await settingsOf(c);
    for (const passcode of ['abc', '', 'ab cd', 'ｐａｓｓ１２３４', '合言葉です', 'tab\there', 'new\nline']) {
      const res = await save(agent, { passcode, name: '適用されない株式会社' });
      expectFieldError(res, '/body/passcode', 'PASSCODE_INVALID', 'パスコードは4〜32文字の半角英数字・記号で入力してください');
      if (passcode.length >= 4) expect(res.text.includes(passcode)).toBe(false);
    }
    expectProblemDetails(await save(agent, { passcode: 'x'.repeat(33) }), 400, 'VALIDATION_FAILED', INVALID);
    expectProblemDetails(await save(agent, { passcode: null }), 400, 'VALIDATION_FAILED', INVALID);
    await expectUnchanged(c, before, 0);
    expect(await verifyPassword('Old#pass', (await settingsOf(c)).passcodeHash!)).toBe(true);
    for (const passcode of ['abcd', 'A1!~', '{|}[]', 'x'.repeat(32)]) {
      expect((await save(agent, { passcode })).status).toBe(200);
      expect(await verifyPassword(passcode, (await settingsOf(c)).passcodeHash!)).toBe(true);
    }
  });

  it("a passcode is set only with the caller's password (whoever sets it knows it): none or a wrong one changes nothing, and a wrong one counts", async () => {
    const c = await createTenant(harness.prisma, 'パスコード本人確認株式会社');
    const o = await createLoginUser(harness.prisma, c, 'owner', '本人確認 オーナー');
    const agent = await harness.login(o);
    const before = await settingsOf(c);
    const none = await agent.patch('/v1/tenant').send({ passcode: 'Shiranai#1' });
    expectFieldError(none, '/body/password', 'PASSWORD_REQUIRED', 'パスコードを変更するには、ご自身のパスワードを入力してください');
    expectProblemDetails(await agent.patch('/v1/tenant').send({ passcode: 'Shiranai#1', password: 'not-mine' }), 400, 'PASSWORD_INCORRECT');
    await expectUnchanged(c, before, 0);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: o.id } })).failedLogins).toBe(1);
    expect((await agent.patch('/v1/tenant').send({ passcode: 'Shitteru#1', password: o.password })).status).toBe(200);
    expect(await verifyPassword('Shitteru#1', (await settingsOf(c)).passcodeHash!)).toBe(true);
  });

  it('refuses a malformed PATCH (400, Japanese title): empty, unknown or read-only fields, blank name', async () => {
    const before = await settingsOf(tenant);
    const eventsBefore = (await changes(tenant)).length;
    for (const body of [
      {},
      { customerNumber: '1234567' },
      { id: other },
      { passcodeHash: 'scrypt$15$8$1$AAAA$BBBB' },
      { passcodeSet: false },
      { name: '   ' },
      { name: '' },
      { name: 'x'.repeat(101) },
      { name: null },
      { reminderDays: Array.from({ length: 11 }, (_, i) => i + 1) },
    ] as Record<string, unknown>[]) {
      const res = await save(ownerAgent, body);
      expectProblemDetails(res, 400, 'VALIDATION_FAILED', INVALID);
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expectProblemDetails(await ownerAgent.patch('/v1/tenant').set('Content-Type', 'application/json').send('{"name":'), 400, 'MALFORMED_JSON');
    await expectUnchanged(tenant, before, eventsBefore);
  });

  it('two owners saving at the same moment: both applied, each change recorded once against what it replaced', async () => {
    const c = await createTenant(harness.prisma, '同時保存株式会社');
    const [a, b] = await Promise.all([createLoginUser(harness.prisma, c, 'owner', '同時 A'), createLoginUser(harness.prisma, c, 'owner', '同時 B')]);
    const [aAgent, bAgent] = await Promise.all([harness.login(a), harness.login(b)]);
    const [ra, rb] = await Promise.all([save(aAgent, { reminderDays: [10, 20] }), save(bAgent, { purposes: ['dividends'] })]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    expect(await settingsOf(c)).toMatchObject({ reminderDays: [10, 20], purposes: ['dividends'] });
    const recorded = await changes(c);
    expect(recorded.map((e) => (e.detail as { changed: string[] }).changed).sort()).toEqual([['purposes'], ['reminderDays']]);

    // the same field at once: the one saved second names the first one's value as "before"
    const [r1, r2] = await Promise.all([save(aAgent, { reminderDays: [1] }), save(bAgent, { reminderDays: [2] })]);
    expect([r1.status, r2.status]).toEqual([200, 200]);
    const [first, second] = (await changes(c)).slice(-2) as [OperationEvent, OperationEvent];
    const d1 = first.detail as { before: { reminderDays: number[] }; after: { reminderDays: number[] } };
    const d2 = second.detail as { before: { reminderDays: number[] }; after: { reminderDays: number[] } };
    expect(d1.before.reminderDays).toEqual([10, 20]);
    expect(d2.before.reminderDays).toEqual(d1.after.reminderDays);
    expect((await settingsOf(c)).reminderDays).toEqual(d2.after.reminderDays);
  });
});

describe('the passcode again, or a new one (owners and managers, behind their password)', () => {
  const reveal = (agent: Agent, password: string) => agent.post('/v1/tenant/passcode/reveal').send({ password });
  const regenerate = (agent: Agent, password: string) => agent.post('/v1/tenant/passcode').send({ password });
  const revealed = (tenantId: string) => harness.prisma.operationEvent.count({ where: { tenantId, operation: 'passcode_revealed' } });

  it('an owner sees the passcode set in the settings again: sealed beside its hash, never cached, recorded; the old sealed one is shredded on change', async () => {
    const c = await createTenant(harness.prisma, 'パスコード再表示株式会社');
    const o = await createLoginUser(harness.prisma, c, 'owner', '再表示 オーナー');
    const agent = await harness.login(o);
    expectProblemDetails(await reveal(agent, o.password), 404, 'PASSCODE_NOT_SET');
    expect((await save(agent, { passcode: 'Minna#2026' })).body).toMatchObject({ passcodeSet: true, passcodeViewable: true });
    const sealed = (await settingsOf(c)).passcodeSecretId!;
    expect((await harness.prisma.vaultSecret.findUniqueOrThrow({ where: { id: sealed } })).kind).toBe('passcode');
    const res = await reveal(agent, o.password);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toEqual({ passcode: 'Minna#2026' });
    expect(await revealed(c)).toBe(1);

    // Changed: the new one is shown, the old sealed copy is gone.
    expect((await save(agent, { passcode: 'Atarashii#1' })).status).toBe(200);
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: sealed } })).toBeNull();
    expect((await reveal(agent, o.password)).body).toEqual({ passcode: 'Atarashii#1' });
  });

  it('two owners changing the passcode at the same moment: one wins, exactly one sealed copy is left and it is the one in use', async () => {
    const c = await createTenant(harness.prisma, 'パスコード同時株式会社');
    const [a, b] = await Promise.all([createLoginUser(harness.prisma, c, 'owner', '同時 A'), createLoginUser(harness.prisma, c, 'owner', '同時 B')]);
    const [aAgent, bAgent] = await Promise.all([harness.login(a), harness.login(b)]);
    expect((await save(aAgent, { passcode: 'Hajime#0' })).status).toBe(200);
    const [ra, rb] = await Promise.all([save(aAgent, { passcode: 'Douji#A1' }), save(bAgent, { passcode: 'Douji#B2' })]);
    expect([ra.status, rb.status]).toEqual([200, 200]);
    const t = await settingsOf(c);
    const sealed = await harness.prisma.vaultSecret.findMany({ where: { tenantId: c, kind: 'passcode' }, select: { id: true } });
    expect(sealed).toEqual([{ id: t.passcodeSecretId }]);
    // The hash and the sealed copy are of the same passcode.
    const shown = (await reveal(aAgent, a.password)).body.passcode as string;
    expect(['Douji#A1', 'Douji#B2']).toContain(shown);
    expect(await verifyPassword(shown, t.passcodeHash!)).toBe(true);
  });

  it('a wrong password shows nothing and counts towards the lock; a manager sees it and issues a new one; viewers are refused', async () => {
    const c = await createTenant(harness.prisma, 'パスコード拒否株式会社');
    const [o, m, v] = await Promise.all([createLoginUser(harness.prisma, c, 'owner', '拒否 オーナー'), createLoginUser(harness.prisma, c, 'manager', '拒否 担当'), createLoginUser(harness.prisma, c, 'viewer', '拒否 閲覧')]);
    const [oAgent, mAgent, vAgent] = await Promise.all([harness.login(o), harness.login(m), harness.login(v)]);
    expect((await save(oAgent, { passcode: 'Himitsu#9' })).status).toBe(200);
    const wrong = await reveal(oAgent, `${o.password}x`);
    expectProblemDetails(wrong, 400, 'PASSWORD_INCORRECT');
    expect(wrong.text).not.toContain('Himitsu#9');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: o.id } })).failedLogins).toBe(1);
    for (const res of [await reveal(vAgent, v.password), await regenerate(vAgent, v.password)]) {
      expectProblemDetails(res, 403, 'FORBIDDEN');
      expect(res.text).not.toContain('Himitsu#9');
    }
    expect(await revealed(c)).toBe(0);
    // 管理担当者 (seed 001): everything but the plan and cancelling, the passcode included.
    expect((await reveal(mAgent, m.password)).body).toEqual({ passcode: 'Himitsu#9' });
    expect(await revealed(c)).toBe(1);
    const made = await regenerate(mAgent, m.password);
    expect(made.status).toBe(200);
    expect((await reveal(oAgent, o.password)).body).toEqual({ passcode: made.body.passcode });
  });

  it('a passcode set before it was kept sealed cannot be shown (409, say to issue a new one); a new one is made, works at the first visit, and is shown again', async () => {
    const c = await createTenant(harness.prisma, 'パスコード旧方式株式会社');
    const o = await createLoginUser(harness.prisma, c, 'owner', '旧方式 オーナー');
    const agent = await harness.login(o);
    await harness.prisma.tenant.update({ where: { id: c }, data: { passcodeHash: await hashPassword('Old#pass') } });
    expect((await get(agent)) as unknown).toMatchObject({ passcodeSet: true, passcodeViewable: false });
    const old = await reveal(agent, o.password);
    expectProblemDetails(old, 409, 'PASSCODE_NOT_VIEWABLE');
    expect(old.body.title).toContain('新しいパスコードを発行してください');

    const made = await regenerate(agent, o.password);
    expect(made.status).toBe(200);
    expect(made.headers['cache-control']).toBe('no-store');
    expect(made.body.passcode).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    expect(made.body.settings).toMatchObject({ passcodeSet: true, passcodeViewable: true });
    const stored = await settingsOf(c);
    expect(await verifyPassword(made.body.passcode, stored.passcodeHash!)).toBe(true);
    expect(await verifyPassword('Old#pass', stored.passcodeHash!)).toBe(false);
    expect((await reveal(agent, o.password)).body).toEqual({ passcode: made.body.passcode });
    // Recorded as a settings change naming the passcode, never its value.
    const [change] = await changes(c);
    expect((change!.detail as { changed: string[] }).changed).toEqual(['passcode']);
    expect(JSON.stringify(change!.detail)).not.toContain(made.body.passcode);
    expectProblemDetails(await regenerate(agent, 'wrong-password'), 400, 'PASSWORD_INCORRECT');
    expect((await settingsOf(c)).passcodeHash).toBe(stored.passcodeHash);
  });
});
