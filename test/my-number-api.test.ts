/**
 * The registrant's own number over HTTP: set (entered twice, normalised, checked), correct (the old
 * sealed secret shredded), reveal (password again + an enabled purpose, recorded, never cached,
 * counted towards the login lock), delete (shredded, recorded), the masked display, roles and
 * tenant isolation.
 *
 * Registrants are inserted directly (POST /v1/registrants needs Temporal); nothing here listens on
 * Temporal, so GET /v1/registrants/:id answers with invitation null.
 *
 * Numbers are never printed: comparisons of numbers are made as booleans, so a failure shows
 * true/false and not the number. The log and every response but a reveal are checked for them.
 */
import { randomInt, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Purpose } from '../prisma/generated/client';
import { checkDigit, MASKED_NUMBER, normalizeDigits } from '../services/mynumber/validate';
import { registrantWorkflowId } from '../shared';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, memoryLogger, testVault, type Agent, type TestUser, TEST_PASSWORD } from './support/fixtures';
import { containsAny } from './support/leak-scan';

const log = memoryLogger();
// Nothing listens here: these routes do not need Temporal (GET answers invitation null).
const harness = useApiHarness({ taskQueue: 'my-number-api', logger: log.logger });

let tenantA: string;
let tenantB: string;
let owner: TestUser;
let manager: TestUser;
let viewer: TestUser;
let otherManager: TestUser;
let ownerAgent: Agent;
let hr: Agent;
let viewerAgent: Agent;
let otherHr: Agent;

/** Every number this file used, valid or not: none may reach the log or a non-reveal response. */
const used: string[] = [];
/** Bodies of every response except successful reveals. */
const responses: string[] = [];
const keep = (res: request.Response) => (responses.push(res.text ?? ''), res);

/** A fresh valid individual number, its check digit from the product's own function. */
function validNumber(): string {
  for (;;) {
    const first11 = Array.from({ length: 11 }, () => String(randomInt(10))).join('');
    const n = `${first11}${checkDigit(first11)}`;
    if (!used.includes(n)) {
      used.push(n);
      return n;
    }
  }
}

/** The same first 11 digits with a wrong check digit. */
function withWrongCheckDigit(n: string): string {
  const wrong = `${n.slice(0, 11)}${(Number(n[11]) + 1 + randomInt(9)) % 10}`;
  used.push(wrong);
  return wrong;
}

const FULL_WIDTH = (s: string) => [...s].map((c) => (/[0-9]/.test(c) ? String.fromCharCode(c.charCodeAt(0) - 0x30 + 0xff10) : c)).join('');

async function newRegistrant(tenantId: string, familyName = '山田', givenName = '太郎') {
  const id = randomUUID();
  return harness.prisma.registrant.create({ data: { id, tenantId, familyName, givenName, email: `${id.slice(0, 8)}@example.co.jp`, workflowId: registrantWorkflowId(tenantId, id) } });
}

const numberUrl = (id: string) => `/v1/registrants/${id}/my-number`;
const setNumber = (agent: Agent, id: string, myNumber: string, myNumberConfirmation: string) =>
  agent.put(numberUrl(id)).send({ myNumber, myNumberConfirmation }).then(keep);
const reveal = (agent: Agent, id: string, password: string, purpose: Purpose = 'withholding_slip') =>
  agent.post(`${numberUrl(id)}/reveal`).send({ password, purpose });

/** The number a reveal answers, compared without ever printing it. */
async function revealsAs(agent: Agent, user: TestUser, id: string, expected: string): Promise<void> {
  const res = await reveal(agent, id, user.password);
  expect(res.status).toBe(200);
  expect(res.body.myNumber === expected).toBe(true);
}

const numberSecrets = (tenantId: string) => harness.prisma.vaultSecret.findMany({ where: { tenantId, kind: 'my_number' }, select: { id: true } });
/** What was done to the number (views of the record are asserted on their own). */
const eventsOf = (registrantId: string) =>
  harness.prisma.operationEvent.findMany({ where: { registrantId, operation: { not: 'registrant_viewed' } }, orderBy: { id: 'asc' } });
const viewsOf = (registrantId: string) => harness.prisma.operationEvent.findMany({ where: { registrantId, operation: 'registrant_viewed' }, orderBy: { id: 'asc' } });

beforeAll(async () => {
  tenantA = await createTenant(harness.prisma, '番号テスト株式会社');
  tenantB = await createTenant(harness.prisma, '別会社株式会社');
  [owner, manager, viewer, otherManager] = await Promise.all([
    createLoginUser(harness.prisma, tenantA, 'owner', '番号 オーナー'),
    createLoginUser(harness.prisma, tenantA, 'manager', '番号 担当'),
    createLoginUser(harness.prisma, tenantA, 'viewer', '番号 閲覧'),
    createLoginUser(harness.prisma, tenantB, 'manager', '別会社 担当'),
  ]);
  [ownerAgent, hr, viewerAgent, otherHr] = await Promise.all([harness.login(owner), harness.login(manager), harness.login(viewer), harness.login(otherManager)]);
});

describe('PUT /v1/registrants/:id/my-number', () => {
  it('stores the number sealed, normalising full-width digits, hyphens and spaces, and records it', async () => {
    const r = await newRegistrant(tenantA, '佐藤', '花子');
    const n = validNumber();
    const before = (await numberSecrets(tenantA)).length;
    // full-width digits with full-width hyphens; the confirmation with an ideographic space and a long-vowel mark
    const typed = `${FULL_WIDTH(n.slice(0, 4))}－${FULL_WIDTH(n.slice(4, 8))}－${FULL_WIDTH(n.slice(8))}`;
    const confirmation = ` ${n.slice(0, 4)}\u3000${n.slice(4, 8)}ー${n.slice(8)} `;
    const res = await setNumber(hr, r.id, typed, confirmation);
    expect(res.status).toBe(204);
    expect(res.text).toBe('');

    const stored = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
    expect(stored.myNumberSecretId).not.toBeNull();
    const secret = await harness.prisma.vaultSecret.findUniqueOrThrow({ where: { id: stored.myNumberSecretId! } });
    expect(secret).toMatchObject({ tenantId: tenantA, kind: 'my_number' });
    // sealed: neither the digits nor their bytes are in the row
    expect(Buffer.from(secret.ciphertext).includes(Buffer.from(n))).toBe(false);
    expect(containsAny(JSON.stringify(secret), [n]).length).toBe(0);
    expect((await numberSecrets(tenantA)).length).toBe(before + 1);

    const events = await eventsOf(r.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      tenantId: tenantA,
      operation: 'number_registered',
      label: 'マイナンバーの登録',
      actorType: 'login_user',
      actorId: manager.id,
      actorLabel: '番号 担当',
      registrantLabel: '佐藤 花子',
      purpose: null,
    });
    expect(events[0]!.ip).toBeTruthy();
    expect(containsAny(JSON.stringify(events[0], (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)), [n]).length).toBe(0);

    // stored as the plain 12 digits
    await revealsAs(hr, manager, r.id, n);
  });

  it('an owner may set a number too', async () => {
    const r = await newRegistrant(tenantA);
    const n = validNumber();
    expect((await setNumber(ownerAgent, r.id, n, n)).status).toBe(204);
    await revealsAs(ownerAgent, owner, r.id, n);
  });

  describe('refuses bad input with the real code and a Japanese title, storing nothing', () => {
    const cases: [string, () => { myNumber: string; myNumberConfirmation: string }, string, string, string][] = [
      [
        'a wrong check digit',
        () => {
          const bad = withWrongCheckDigit(validNumber());
          return { myNumber: bad, myNumberConfirmation: bad };
        },
        'NUMBER_CHECK_DIGIT',
        'マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください',
        '/body/myNumber',
      ],
      [
        'a wrong check digit typed full-width with hyphens',
        () => {
          const bad = withWrongCheckDigit(validNumber());
          const typed = `${FULL_WIDTH(bad.slice(0, 4))}-${FULL_WIDTH(bad.slice(4, 8))}-${FULL_WIDTH(bad.slice(8))}`;
          return { myNumber: typed, myNumberConfirmation: typed };
        },
        'NUMBER_CHECK_DIGIT',
        'マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください',
        '/body/myNumber',
      ],
      [
        'a confirmation that differs',
        () => ({ myNumber: validNumber(), myNumberConfirmation: validNumber() }),
        'NUMBER_MISMATCH',
        '確認用に入力したマイナンバーが一致しません',
        '/body/myNumberConfirmation',
      ],
      [
        'a confirmation one digit short',
        () => {
          const n = validNumber();
          return { myNumber: n, myNumberConfirmation: n.slice(0, 11) };
        },
        'NUMBER_MISMATCH',
        '確認用に入力したマイナンバーが一致しません',
        '/body/myNumberConfirmation',
      ],
      [
        '11 digits',
        () => {
          const short = validNumber().slice(0, 11);
          return { myNumber: short, myNumberConfirmation: short };
        },
        'NUMBER_FORMAT',
        'マイナンバーは12桁の数字で入力してください',
        '/body/myNumber',
      ],
      [
        '13 digits',
        () => {
          const long = `${validNumber()}${randomInt(10)}`;
          return { myNumber: long, myNumberConfirmation: long };
        },
        'NUMBER_FORMAT',
        'マイナンバーは12桁の数字で入力してください',
        '/body/myNumber',
      ],
      [
        'a letter among the digits',
        () => {
          const n = validNumber();
          const odd = `${n.slice(0, 5)}O${n.slice(6)}`;
          return { myNumber: odd, myNumberConfirmation: odd };
        },
        'NUMBER_FORMAT',
        'マイナンバーは12桁の数字で入力してください',
        '/body/myNumber',
      ],
      ['only separators', () => ({ myNumber: '－ －', myNumberConfirmation: '－ －' }), 'NUMBER_REQUIRED', 'マイナンバーを入力してください', '/body/myNumber'],
    ];

    it.each(cases)('%s', async (_name, input, code, title, path) => {
      for (const existing of [null, validNumber()]) {
        const r = await newRegistrant(tenantA);
        if (existing) expect((await setNumber(hr, r.id, existing, existing)).status).toBe(204);
        const [before, secretsBefore, eventsBefore] = [await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } }), await numberSecrets(tenantA), await eventsOf(r.id)];

        const body = input();
        const res = await setNumber(hr, r.id, body.myNumber, body.myNumberConfirmation);
        expect(res.status).toBe(400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.body).toMatchObject({ status: 400, code, title });
        expect(res.body.errors).toEqual([{ path, message: title, code }]);
        // the problem never echoes what was typed
        expect(containsAny(res.text, [body.myNumber, body.myNumberConfirmation].map((s) => normalizeDigits(s)).filter((s) => /^[0-9]{11,13}$/.test(s))).length).toBe(0);
        expect(res.text.includes(body.myNumber)).toBe(false);

        // nothing stored: no vault row added, registrant unchanged, nothing recorded
        expect((await numberSecrets(tenantA)).map((s) => s.id).sort()).toEqual(secretsBefore.map((s) => s.id).sort());
        expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).toEqual(before);
        expect((await eventsOf(r.id)).length).toBe(eventsBefore.length);
        if (existing) await revealsAs(hr, manager, r.id, existing);
        else expect((await reveal(hr, r.id, manager.password)).body.code).toBe('NUMBER_NOT_REGISTERED');
      }
    });

    it.each([
      ['a number longer than the contract allows', () => ({ myNumber: '1'.repeat(41), myNumberConfirmation: '1'.repeat(41) })],
      ['a missing confirmation', () => ({ myNumber: validNumber() })],
      ['an empty number', () => ({ myNumber: '', myNumberConfirmation: '' })],
      ['an extra field', () => ({ myNumber: 'x', myNumberConfirmation: 'x', note: 'x' })],
      ['a number sent as a JSON number', () => ({ myNumber: 1, myNumberConfirmation: 1 })],
    ])('%s → 400 VALIDATION_FAILED', async (_name, body) => {
      const r = await newRegistrant(tenantA);
      const secretsBefore = await numberSecrets(tenantA);
      const res = keep(await hr.put(numberUrl(r.id)).send(body()));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', title: '入力内容に誤りがあります' });
      expect((await numberSecrets(tenantA)).length).toBe(secretsBefore.length);
      expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId).toBeNull();
    });
  });

  it('POST is not the way to set a number: 405, nothing stored', async () => {
    const r = await newRegistrant(tenantA);
    const n = validNumber();
    const res = keep(await hr.post(numberUrl(r.id)).send({ myNumber: n, myNumberConfirmation: n }));
    expect(res.status).toBe(405);
    expect(res.body.code).toBe('METHOD_NOT_ALLOWED');
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId).toBeNull();
  });

  it('a correction shreds the old sealed secret (its vault row is gone) and is recorded as an update', async () => {
    const r = await newRegistrant(tenantA, '訂正', '一郎');
    const [first, second] = [validNumber(), validNumber()];
    expect((await setNumber(hr, r.id, first, first)).status).toBe(204);
    const oldSecret = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId!;
    const count = (await numberSecrets(tenantA)).length;

    expect((await setNumber(hr, r.id, second, FULL_WIDTH(second))).status).toBe(204);
    const newSecret = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId!;
    expect(newSecret).not.toBe(oldSecret);
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: oldSecret } })).toBeNull();
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: newSecret } })).not.toBeNull();
    expect((await numberSecrets(tenantA)).length).toBe(count);
    expect((await eventsOf(r.id)).map((e) => e.operation)).toEqual(['number_registered', 'number_updated']);
    await revealsAs(hr, manager, r.id, second);
  });

  it('concurrent corrections leave exactly one sealed number, every other secret shredded', async () => {
    const r = await newRegistrant(tenantA, '同時', '更新');
    const first = validNumber();
    expect((await setNumber(hr, r.id, first, first)).status).toBe(204);
    const count = (await numberSecrets(tenantA)).length;
    const numbers = Array.from({ length: 6 }, () => validNumber());
    const results = await Promise.all(numbers.map((n) => setNumber(hr, r.id, n, n)));
    expect(results.map((x) => x.status)).toEqual(numbers.map(() => 204));

    const stored = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
    // no orphan: the tenant has as many number secrets as before (one per registrant)
    expect((await numberSecrets(tenantA)).length).toBe(count);
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: stored.myNumberSecretId! } })).not.toBeNull();
    const events = await eventsOf(r.id);
    expect(events.map((e) => e.operation)).toEqual(['number_registered', ...numbers.map(() => 'number_updated')]);
    const res = await reveal(hr, r.id, manager.password);
    expect(numbers.includes(res.body.myNumber as string)).toBe(true);
  });

  it('a correction racing a deletion leaves no orphaned secret', async () => {
    const r = await newRegistrant(tenantA, '競合', '削除');
    const first = validNumber();
    expect((await setNumber(hr, r.id, first, first)).status).toBe(204);
    const count = (await numberSecrets(tenantA)).length;
    const second = validNumber();
    const [put, del] = await Promise.all([setNumber(hr, r.id, second, second), hr.delete(numberUrl(r.id)).send({ password: TEST_PASSWORD }).then(keep)]);
    expect(put.status).toBe(204);
    expect([204, 404]).toContain(del.status);
    const stored = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
    const secrets = await numberSecrets(tenantA);
    // either the correction came last (one secret, referenced) or the deletion did (none left)
    expect(secrets.length).toBe(stored.myNumberSecretId ? count : count - 1);
    if (stored.myNumberSecretId) expect(secrets.map((s) => s.id)).toContain(stored.myNumberSecretId);
  });

  it('a viewer may not set a number (403), and nothing is stored', async () => {
    const r = await newRegistrant(tenantA);
    const n = validNumber();
    const res = await setNumber(viewerAgent, r.id, n, n);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', title: 'この操作を行う権限がありません' });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId).toBeNull();
    expect(await eventsOf(r.id)).toEqual([]);
  });

  it('without the CSRF token nothing is stored (403)', async () => {
    const r = await newRegistrant(tenantA);
    const n = validNumber();
    const res = keep(await hr.put(numberUrl(r.id)).set('X-CSRF-Token', 'forged').send({ myNumber: n, myNumberConfirmation: n }));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId).toBeNull();
  });
});

describe('POST /v1/registrants/:id/my-number/reveal', () => {
  let r: { id: string };
  let n: string;
  beforeAll(async () => {
    r = await newRegistrant(tenantA, '表示', '太郎');
    n = validNumber();
    expect((await setNumber(hr, r.id, n, n)).status).toBe(204);
  });

  it.each([
    ['owner', () => [ownerAgent, owner] as const],
    ['manager', () => [hr, manager] as const],
    ['viewer', () => [viewerAgent, viewer] as const],
  ])('%s: sees the number once, never cached, and the reveal is recorded with its purpose', async (_role, who) => {
    const [agent, user] = who();
    const purpose: Purpose = 'employment_insurance';
    const before = (await eventsOf(r.id)).length;
    const res = await agent.post(`${numberUrl(r.id)}/reveal`).set('User-Agent', 'reveal-test').send({ password: user.password, purpose });
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(Object.keys(res.body)).toEqual(['myNumber']);
    expect(res.body.myNumber === n).toBe(true);

    const events = await eventsOf(r.id);
    expect(events).toHaveLength(before + 1);
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({
      tenantId: tenantA,
      operation: 'number_revealed',
      label: 'マイナンバーの表示',
      purpose,
      actorType: 'login_user',
      actorId: user.id,
      registrantId: r.id,
      registrantLabel: '表示 太郎',
      userAgent: 'reveal-test',
    });
    expect(last.ip).toBeTruthy();
  });

  it('the reveal shows in the operation history over HTTP with the purpose name', async () => {
    const res = keep(await viewerAgent.get('/v1/operation-history').query({ registrant: r.id, operation: 'number_revealed' }));
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThanOrEqual(3);
    expect(res.body.items[0]).toMatchObject({ purpose: 'employment_insurance', purposeLabel: '雇用保険届出事務', registrant: { id: r.id, label: '表示 太郎' } });
  });

  it('a wrong password: 400 PASSWORD_INCORRECT, no number, no reveal recorded, a failed login counted', async () => {
    const user = await createLoginUser(harness.prisma, tenantA, 'manager', '誤入力 担当');
    const agent = await harness.login(user);
    const before = (await eventsOf(r.id)).length;
    const res = keep(await reveal(agent, r.id, `${user.password}x`));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'PASSWORD_INCORRECT', title: 'パスワードが正しくありません' });
    expect(res.body.myNumber).toBeUndefined();
    expect((await eventsOf(r.id)).length).toBe(before);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).failedLogins).toBe(1);
    const failed = await harness.prisma.operationEvent.findMany({ where: { tenantId: tenantA, actorId: user.id, operation: 'login_failed' } });
    expect(failed.map((e) => e.detail)).toEqual([{ reason: 'reauthentication', consecutiveFailures: 1 }]);
    // the right password afterwards clears the count
    await revealsAs(agent, user, r.id, n);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).failedLogins).toBe(0);
  });

  it('five wrong passwords in a row lock the account (423 LOGIN_LOCKED) and end all its sessions', async () => {
    const user = await createLoginUser(harness.prisma, tenantA, 'viewer', 'ロック 閲覧');
    const agent = await harness.login(user);
    const second = await harness.login(user);
    expect(await harness.prisma.session.count({ where: { loginUserId: user.id, secondFactorDone: true } })).toBe(2);

    for (let i = 1; i <= 4; i++) {
      const res = keep(await reveal(agent, r.id, `wrong-${i}`));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('PASSWORD_INCORRECT');
    }
    const locked = keep(await reveal(agent, r.id, 'wrong-5'));
    expect(locked.status).toBe(423);
    expect(locked.body).toMatchObject({
      code: 'LOGIN_LOCKED',
      title: '連続してログインに失敗したため、ログインがロックされています。しばらくしてから再度お試しいただくか、管理者に解除を依頼してください',
    });
    expect(locked.body.myNumber).toBeUndefined();

    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.lockedAt).not.toBeNull();
    expect(await harness.prisma.session.count({ where: { loginUserId: user.id } })).toBe(0);
    // both sessions are over, even with the right password
    expect((await reveal(agent, r.id, user.password)).status).toBe(401);
    expect((await reveal(second, r.id, user.password)).status).toBe(401);
    expect((await second.get('/v1/auth/me')).status).toBe(401);
    // and logging in again is refused while locked
    const relogin = keep(await request(harness.app).post('/v1/auth/login').send({ email: user.email, password: user.password }));
    expect(relogin.status).toBe(423);
    expect(relogin.body.code).toBe('LOGIN_LOCKED');

    const ops = (await harness.prisma.operationEvent.findMany({ where: { tenantId: tenantA, actorId: user.id }, orderBy: { id: 'asc' } })).map((e) => e.operation);
    expect(ops.filter((o) => o === 'login_locked')).toHaveLength(1);
    expect(ops).not.toContain('number_revealed');
  });

  it('a purpose the tenant switched off: 400 PURPOSE_DISABLED, nothing recorded; the others still work', async () => {
    const settings = keep(await ownerAgent.get('/v1/tenant').expect(200));
    const all = settings.body.purposes as Purpose[];
    expect(all).toContain('dividends');
    keep(await ownerAgent.patch('/v1/tenant').send({ purposes: all.filter((p) => p !== 'dividends') }).expect(200));
    try {
      const before = (await eventsOf(r.id)).length;
      const res = keep(await reveal(viewerAgent, r.id, viewer.password, 'dividends'));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'PURPOSE_DISABLED', title: 'この利用目的は契約者設定で使用しないことになっています' });
      expect(res.body.myNumber).toBeUndefined();
      expect((await eventsOf(r.id)).length).toBe(before);

      const ok = await reveal(viewerAgent, r.id, viewer.password, 'withholding_slip');
      expect(ok.status).toBe(200);
      expect(ok.body.myNumber === n).toBe(true);
    } finally {
      keep(await ownerAgent.patch('/v1/tenant').send({ purposes: all }).expect(200));
    }
    expect((await reveal(viewerAgent, r.id, viewer.password, 'dividends')).status).toBe(200);
  });

  it('an unknown purpose or a missing password is refused by the contract', async () => {
    for (const body of [{ password: viewer.password, purpose: 'marketing' }, { purpose: 'withholding_slip' }, { password: viewer.password, reason: 'curiosity' }]) {
      const res = keep(await viewerAgent.post(`${numberUrl(r.id)}/reveal`).send(body));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    // Why is one of the two, never neither nor both.
    for (const body of [{ password: viewer.password }, { password: viewer.password, purpose: 'withholding_slip', reason: 'collection_check' }]) {
      const res = keep(await viewerAgent.post(`${numberUrl(r.id)}/reveal`).send(body));
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('REVEAL_REASON_REQUIRED');
      expect(res.body.myNumber).toBeUndefined();
    }
  });

  it('the collection check (取得時の確認): an approver, while the person or dependent awaits approval; recorded without a purpose', async () => {
    const p = await newRegistrant(tenantA, '照合', '待子');
    const own = validNumber();
    expect((await setNumber(hr, p.id, own, own)).status).toBe(204);
    const dep = await harness.prisma.dependent.create({ data: { registrantId: p.id, relationship: '子', familyName: '照合', givenName: '一子', status: 'pending' } });
    const depNumber = validNumber();
    expect(keep(await hr.put(`/v1/registrants/${p.id}/dependents/${dep.id}/my-number`).send({ myNumber: depNumber, myNumberConfirmation: depNumber })).status).toBe(204);
    const check = (agent: Agent, user: TestUser, body: Record<string, string> = {}) =>
      // Only refusals go to the leak scan (a reveal answers the number by design).
      agent.post(`${numberUrl(p.id)}/reveal`).send({ password: user.password, reason: 'collection_check', ...body }).then((res) => (res.status === 200 ? res : keep(res)));

    // Not awaiting approval yet (unregistered): refused, nothing shown or recorded.
    const before = (await eventsOf(p.id)).length;
    const early = await check(hr, manager);
    expect(early.status).toBe(400);
    expect(early.body).toMatchObject({ code: 'COLLECTION_CHECK_NOT_APPLICABLE', errors: [{ path: '/body/reason' }] });
    expect(early.body.myNumber).toBeUndefined();
    // The dependent awaits approval: their number may be checked, the person's not.
    const depRes = await check(hr, manager, { dependentId: dep.id });
    expect(depRes.status).toBe(200);
    expect(depRes.body.myNumber === depNumber).toBe(true);

    await harness.prisma.registrant.update({ where: { id: p.id }, data: { status: 'pending' } });
    const ownRes = await check(ownerAgent, owner);
    expect(ownRes.status).toBe(200);
    expect(ownRes.body.myNumber === own).toBe(true);
    // A viewer cannot approve, so cannot give the approver's reason either.
    const viewerRes = await check(viewerAgent, viewer);
    expect(viewerRes.status).toBe(403);
    expect(viewerRes.body.myNumber).toBeUndefined();

    const reveals = (await eventsOf(p.id)).slice(before).filter((e) => e.operation === 'number_revealed');
    expect(reveals.map((e) => [e.purpose, e.detail, e.actorId])).toEqual([
      [null, { dependentId: dep.id, reason: 'collection_check' }, manager.id],
      [null, { reason: 'collection_check' }, owner.id],
    ]);
    // The history names what it was, in place of a purpose.
    const listed = keep(await hr.get('/v1/operation-history').query({ registrant: p.id, operation: 'number_revealed' }).expect(200));
    expect(listed.body.items.map((i: { purpose: string | null; purposeLabel: string }) => [i.purpose, i.purposeLabel])).toEqual([
      [null, '取得時の確認（承認のための確認）'],
      [null, '取得時の確認（承認のための確認）'],
    ]);
    // Approved: a purpose of use again.
    await harness.prisma.registrant.update({ where: { id: p.id }, data: { status: 'completed' } });
    expect((await check(hr, manager)).body.code).toBe('COLLECTION_CHECK_NOT_APPLICABLE');
  });

  it("HR sets and corrects a dependent's number: the old secret shredded, both recorded with the dependent; drafts and others' dependents are 404", async () => {
    const owner = await newRegistrant(tenantA, '扶養', '設定');
    const dep = await harness.prisma.dependent.create({ data: { registrantId: owner.id, relationship: '子', familyName: '扶養', givenName: '一子', status: 'completed' } });
    const url = `/v1/registrants/${owner.id}/dependents/${dep.id}/my-number`;
    const first = validNumber();
    expect(keep(await hr.put(url).send({ myNumber: first, myNumberConfirmation: first })).status).toBe(204);
    const sealed = (await harness.prisma.dependent.findUniqueOrThrow({ where: { id: dep.id } })).myNumberSecretId!;
    const second = validNumber();
    expect(keep(await hr.put(url).send({ myNumber: FULL_WIDTH(second), myNumberConfirmation: second })).status).toBe(204);
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: sealed } })).toBeNull();
    const res = await hr.post(`${numberUrl(owner.id)}/reveal`).send({ password: manager.password, purpose: 'withholding_slip', dependentId: dep.id });
    expect(res.body.myNumber === second).toBe(true);
    expect((await eventsOf(owner.id)).filter((e) => e.operation !== 'number_revealed').map((e) => [e.operation, e.detail])).toEqual([
      ['number_registered', { dependentId: dep.id }],
      ['number_updated', { dependentId: dep.id }],
    ]);
    // The registrant's own number is untouched.
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: owner.id } })).myNumberSecretId).toBeNull();

    const bad = keep(await hr.put(url).send({ myNumber: withWrongCheckDigit(validNumber()), myNumberConfirmation: 'x' }));
    expect(bad.status).toBe(400);
    const elsewhere = await newRegistrant(tenantA);
    const n = validNumber();
    expect(keep(await hr.put(`/v1/registrants/${elsewhere.id}/dependents/${dep.id}/my-number`).send({ myNumber: n, myNumberConfirmation: n })).body.code).toBe('DEPENDENT_NOT_FOUND');
    expect(keep(await viewerAgent.put(url).send({ myNumber: n, myNumberConfirmation: n })).status).toBe(403);
  });

  it("a dependent's number with dependentId: recorded against the registrant with the dependent named; another's dependent is 404", async () => {
    const dn = validNumber();
    const secretId = await testVault(harness.prisma).seal({ tenantId: tenantA, kind: 'my_number', plaintext: Buffer.from(dn) });
    const dep = await harness.prisma.dependent.create({ data: { registrantId: r.id, relationship: '子', familyName: '表示', givenName: '次郎', status: 'pending', myNumberSecretId: secretId } });
    const res = await hr.post(`${numberUrl(r.id)}/reveal`).send({ password: manager.password, purpose: 'withholding_slip', dependentId: dep.id });
    expect(res.status).toBe(200);
    expect(res.body.myNumber === dn).toBe(true);
    const last = (await eventsOf(r.id)).at(-1)!;
    expect(last).toMatchObject({ operation: 'number_revealed', purpose: 'withholding_slip', detail: { dependentId: dep.id } });

    // A dependent of someone else, or one still in the employee's draft, is not found through this registrant.
    const other = await newRegistrant(tenantA);
    const wrong = keep(await hr.post(`${numberUrl(other.id)}/reveal`).send({ password: manager.password, purpose: 'withholding_slip', dependentId: dep.id }));
    expect(wrong.status).toBe(404);
    expect(wrong.body).toMatchObject({ code: 'DEPENDENT_NOT_FOUND', title: '扶養家族が見つかりません' });
    await harness.prisma.dependent.update({ where: { id: dep.id }, data: { draft: true } });
    expect(keep(await hr.post(`${numberUrl(r.id)}/reveal`).send({ password: manager.password, purpose: 'withholding_slip', dependentId: dep.id })).status).toBe(404);
  });

  it('a registrant without a number: 404 NUMBER_NOT_REGISTERED', async () => {
    const empty = await newRegistrant(tenantA);
    const res = keep(await reveal(hr, empty.id, manager.password));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'NUMBER_NOT_REGISTERED', title: 'マイナンバーは登録されていません' });
    expect(await eventsOf(empty.id)).toEqual([]);
  });
});

describe('DELETE /v1/registrants/:id/my-number', () => {
  it('shreds the number, records it; then reveal and a second delete answer 404 NUMBER_NOT_REGISTERED', async () => {
    const r = await newRegistrant(tenantA, '削除', '花子');
    const n = validNumber();
    expect((await setNumber(hr, r.id, n, n)).status).toBe(204);
    const secretId = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId!;
    const count = (await numberSecrets(tenantA)).length;

    const res = keep(await ownerAgent.delete(numberUrl(r.id)).send({ password: TEST_PASSWORD }));
    expect(res.status).toBe(204);
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: secretId } })).toBeNull();
    expect((await numberSecrets(tenantA)).length).toBe(count - 1);
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId).toBeNull();
    const events = await eventsOf(r.id);
    expect(events.map((e) => e.operation)).toEqual(['number_registered', 'number_deleted']);
    expect(events[1]).toMatchObject({ label: 'マイナンバーの削除', actorId: owner.id, registrantLabel: '削除 花子', purpose: null });

    const revealed = keep(await reveal(hr, r.id, manager.password));
    expect(revealed.status).toBe(404);
    expect(revealed.body).toMatchObject({ code: 'NUMBER_NOT_REGISTERED', title: 'マイナンバーは登録されていません' });
    const again = keep(await hr.delete(numberUrl(r.id)).send({ password: TEST_PASSWORD }));
    expect(again.status).toBe(404);
    expect(again.body.code).toBe('NUMBER_NOT_REGISTERED');
    expect((await eventsOf(r.id)).length).toBe(2);

    const view = keep(await hr.get(`/v1/registrants/${r.id}`).expect(200));
    expect(view.body.myNumber).toEqual({ registered: false, masked: null });

    // a new number can be registered afterwards
    const next = validNumber();
    expect((await setNumber(hr, r.id, next, next)).status).toBe(204);
    expect((await eventsOf(r.id)).map((e) => e.operation)).toEqual(['number_registered', 'number_deleted', 'number_registered']);
  });

  it('a viewer may not delete a number (403); it stays', async () => {
    const r = await newRegistrant(tenantA);
    const n = validNumber();
    expect((await setNumber(hr, r.id, n, n)).status).toBe(204);
    const res = keep(await viewerAgent.delete(numberUrl(r.id)).send({ password: TEST_PASSWORD }));
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('FORBIDDEN');
    await revealsAs(viewerAgent, viewer, r.id, n);
  });
});

describe('GET /v1/registrants/:id', () => {
  it('shows only whether a number is registered, masked, to every role', async () => {
    const r = await newRegistrant(tenantA, '表示', '花子');
    const n = validNumber();
    const before = keep(await viewerAgent.get(`/v1/registrants/${r.id}`).expect(200));
    expect(before.body.myNumber).toEqual({ registered: false, masked: null });

    expect((await setNumber(hr, r.id, FULL_WIDTH(n), n)).status).toBe(204);
    for (const agent of [ownerAgent, hr, viewerAgent]) {
      const res = keep(await agent.get(`/v1/registrants/${r.id}`).expect(200));
      expect(res.body).toMatchObject({ id: r.id, familyName: '表示', givenName: '花子', invitation: null });
      expect(res.body.myNumber).toEqual({ registered: true, masked: MASKED_NUMBER });
      expect(res.body.myNumber.masked).toBe('************');
      expect(containsAny(res.text, [n]).length).toBe(0);
      expect(res.text.includes(n.slice(-4))).toBe(false);
    }
  });

  it('records every view in the operation history: who, whom, from where', async () => {
    const r = await newRegistrant(tenantA, '閲覧', '記録');
    await viewerAgent.get(`/v1/registrants/${r.id}`).set('User-Agent', 'HR-Browser/1.0').expect(200);
    await hr.get(`/v1/registrants/${r.id}`).expect(200);
    const views = await viewsOf(r.id);
    expect(views.map((v) => [v.actorId, v.label, v.registrantLabel])).toEqual([
      [viewer.id, '登録者情報の閲覧', '閲覧 記録'],
      [manager.id, '登録者情報の閲覧', '閲覧 記録'],
    ]);
    expect(views[0]).toMatchObject({ userAgent: 'HR-Browser/1.0', ip: expect.any(String), purpose: null });
    // a registrant that is not there is not "viewed"
    await hr.get(`/v1/registrants/${randomUUID()}`).expect(404);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId: tenantA, operation: 'registrant_viewed', registrantId: null } })).toBe(0);
  });
});

describe('tenant isolation', () => {
  it("another tenant's registrant is not found (404) by any route, and stays as it was", async () => {
    const r = await newRegistrant(tenantA, '他社', '秘密');
    const n = validNumber();
    expect((await setNumber(hr, r.id, n, n)).status).toBe(204);
    const before = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
    const eventsBefore = (await eventsOf(r.id)).length;
    const other = validNumber();

    const calls = [
      otherHr.get(`/v1/registrants/${r.id}`),
      otherHr.put(numberUrl(r.id)).send({ myNumber: other, myNumberConfirmation: other }),
      otherHr.delete(numberUrl(r.id)).send({ password: TEST_PASSWORD }),
      reveal(otherHr, r.id, otherManager.password),
    ];
    for (const call of calls) {
      const res = keep(await call);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ code: 'REGISTRANT_NOT_FOUND', title: '登録者が見つかりません' });
    }
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).toEqual(before);
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: before.myNumberSecretId! } })).not.toBeNull();
    expect((await eventsOf(r.id)).length).toBe(eventsBefore);
    expect(await numberSecrets(tenantB)).toEqual([]);
    await revealsAs(hr, manager, r.id, n);
  });

  it('an unknown id is 404 and a malformed one 400', async () => {
    const n = validNumber();
    const unknown = randomUUID();
    expect(keep(await hr.put(numberUrl(unknown)).send({ myNumber: n, myNumberConfirmation: n })).body.code).toBe('REGISTRANT_NOT_FOUND');
    expect(keep(await hr.delete(numberUrl(unknown)).send({ password: TEST_PASSWORD })).status).toBe(404);
    expect(keep(await reveal(hr, unknown, manager.password)).status).toBe(404);
    for (const res of [
      await hr.put(numberUrl('not-a-uuid')).send({ myNumber: n, myNumberConfirmation: n }),
      await hr.delete(numberUrl('not-a-uuid')).send({ password: TEST_PASSWORD }),
      await reveal(hr, 'not-a-uuid', manager.password),
    ]) {
      keep(res);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('no number leaks', () => {
  it('no log line and no response (but a reveal) contains any number used here', () => {
    expect(used.length).toBeGreaterThan(20);
    expect(log.lines.length).toBeGreaterThan(50);
    // the log saw the number routes (so it is the right log), without their bodies
    expect(log.lines.some((l) => l.includes('/my-number'))).toBe(true);
    expect(containsAny(log.lines.join('\n'), used).length).toBe(0);
    expect(containsAny(responses.join('\n'), used).length).toBe(0);
  });
});
