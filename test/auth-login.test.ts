/**
 * Login of HR staff on real PostgreSQL, the real vault and history and a real SMTP capture:
 * password step, e-mailed second factor, lockout, customer number, session timeouts, password
 * change. Only the clock is injected, to make codes and sessions expire.
 */
import { randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { verifyPassword } from '../services/auth/passwords';
import { LOGIN_CODE_SUBJECT, LOGIN_LOCKED_SUBJECT, PASSWORD_RESET_SUBJECT } from '../services/auth/auth-mail';
import { MAX_SECOND_FACTOR_FAILURES } from '../services/auth/auth-service';
import { checkSecurityCode, issueSecurityCode, rowKeyedHasher } from '../services/auth/security-codes';
import { hashSessionToken } from '../services/auth/sessions';
import { startOutbox } from '../services/outbox/outbox';
import { holdHistoryLock } from './support/history-lock';
import { ABSOLUTE_HOURS, appError, codeOf, IDLE_MINUTES, LOCK_MINUTES, META, MINUTE, useAuthHarness, wrongCodeFor } from './support/auth-harness';

const harness = useAuthHarness();
const { service, newTenant, newUser, nextMail, events, fullLogin } = harness;

describe('password step and e-mailed second factor', () => {
  test('password, then the mailed code: only then is the session authenticated', async () => {
    const { auth } = service();
    const tenant = await newTenant('株式会社二段階');
    const user = await newUser({ tenantId: tenant.id, name: '認証 太郎' });

    const res = await auth.login({ email: user.email, password: user.password, ...META });
    expect(res.secondFactor).toBe('email');
    expect(res.sessionToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only the token's hash is stored.
    const row = await harness.prisma.session.findUniqueOrThrow({ where: { id: hashSessionToken(res.sessionToken) } });
    expect(row.secondFactorDone).toBe(false);
    expect(await harness.prisma.session.count({ where: { id: res.sessionToken } })).toBe(0);

    expect(await auth.authenticate(res.sessionToken)).toBeNull();
    const pending = await auth.authenticate(res.sessionToken, { allowSecondFactorPending: true });
    expect(pending?.session.secondFactorDone).toBe(false);

    const mail = await nextMail(user.email, LOGIN_CODE_SUBJECT);
    expect(mail.subject).toBe('【マイナンバー管理】第二認証コードのお知らせ');
    expect(mail.text).toContain('認証 太郎 様');
    expect(mail.text).toContain('株式会社二段階');
    const code = codeOf(mail);

    const ctx = await auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META });
    expect(ctx.session.secondFactorDone).toBe(true);
    const found = await auth.authenticate(res.sessionToken);
    expect(found?.user.id).toBe(user.id);
    expect(found?.tenant.id).toBe(tenant.id);
    expect(found?.session.csrfToken).toBe(res.csrfToken);

    const ok = await events(tenant.id, 'login_succeeded');
    expect(ok).toHaveLength(1);
    expect(ok[0]).toMatchObject({ actorType: 'login_user', actorId: user.id, actorLabel: '認証 太郎', ip: META.ip, userAgent: 'jest' });
    expect(ok[0]!.detail).toEqual({ method: 'email' });
  });

  test('the e-mail address is matched without regard to case or surrounding spaces', async () => {
    const { auth } = service();
    const user = await newUser();
    const res = await auth.login({ email: `  ${user.email.toUpperCase()} `, password: user.password, ...META });
    expect(res.secondFactor).toBe('email');
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
  });

  test('a mailed code works once', async () => {
    const { auth } = service();
    const user = await newUser();
    const first = await auth.login({ email: user.email, password: user.password, ...META });
    const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    await auth.verifySecondFactor({ sessionToken: first.sessionToken, code, ...META });

    // A second login gets its own code; the used one is refused there.
    const second = await auth.login({ email: user.email, password: user.password, ...META });
    const secondCode = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    if (secondCode !== code) {
      const err = await appError(auth.verifySecondFactor({ sessionToken: second.sessionToken, code, ...META }));
      expect(err).toMatchObject({ status: 401, code: 'INVALID_CODE', title: '認証コードが正しくないか、有効期限が切れています' });
    }
    await auth.verifySecondFactor({ sessionToken: second.sessionToken, code: secondCode, ...META });

    // At the code level: the same code twice, even at the same moment, succeeds once.
    const at = new Date();
    const issued = await issueSecurityCode(harness.prisma, { loginUserId: user.id, purpose: 'login', now: at });
    const both = await Promise.all([1, 2].map(() => checkSecurityCode(harness.prisma, { loginUserIds: [user.id], purpose: 'login', code: issued.code, now: at })));
    expect(both.filter((r) => r.ok)).toHaveLength(1);
  });

  test('the code expires after 10 minutes; a resent code works', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    clock.advance(10 * MINUTE);
    const err = await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META }));
    expect(err.code).toBe('INVALID_CODE');

    await auth.resendLoginCode(res.sessionToken);
    const fresh = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    await auth.verifySecondFactor({ sessionToken: res.sessionToken, code: fresh, ...META });
    expect(await auth.authenticate(res.sessionToken)).not.toBeNull();
  });

  test('a code is stored only as a hash keyed by the server\'s master key: the database alone cannot test the million codes', async () => {
    const { auth } = service();
    const user = await newUser();
    await auth.login({ email: user.email, password: user.password, ...META });
    const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    const rows = await harness.prisma.securityCode.findMany({ where: { loginUserId: user.id } });
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.codeHash).toMatch(/^[0-9a-f]{16}\.[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(code);
    // What the database holds (the row id among it) does not reproduce the hash of the right code.
    const fromDatabaseAlone = Array.from({ length: 1000 }, (_, i) => rowKeyedHasher.hash(row.id, String(Number(code) - 500 + i).padStart(6, '0')));
    expect(fromDatabaseAlone.some((h) => row.codeHash.includes(h))).toBe(false);
  });

  test('5 wrong codes kill the code, end the session and are counted for the account', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    const wrong = wrongCodeFor(code);

    for (let i = 1; i <= 4; i++) {
      const err = await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrong, ...META }));
      expect(err).toMatchObject({ status: 401, code: 'INVALID_CODE' });
    }
    const fifth = await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrong, ...META }));
    expect(fifth).toMatchObject({ status: 401, code: 'SECOND_FACTOR_ATTEMPTS_EXCEEDED' });

    // The right code is now useless: the session is gone (log in again).
    const after = await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META }));
    expect(after.code).toBe('SESSION_EXPIRED');
    expect(await auth.authenticate(res.sessionToken, { allowSecondFactorPending: true })).toBeNull();
    expect(await harness.prisma.securityCode.findFirst({ where: { loginUserId: user.id, purpose: 'login' } })).toMatchObject({ attempts: 5, usedAt: null });

    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ secondFactorFailures: 5, lockedAt: null });
    expect(await events(tenant.id, 'second_factor_failed')).toHaveLength(5);
  });

  test('wrong codes count across logins (the right password does not reset them): the account locks, the next login is 423 and the user is mailed', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    let rounds = 0;
    let lockedAt: number | null = null;
    // Someone who knows the password: password, five wrong codes, password again…
    for (; rounds < 6 && lockedAt === null; rounds++) {
      const res = await auth.login({ email: user.email, password: user.password, ...META });
      const wrong = wrongCodeFor(codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT)));
      for (let i = 0; i < 5; i++) {
        const err = await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrong, ...META }));
        if (err.code === 'LOGIN_LOCKED') {
          lockedAt = rounds * 5 + i + 1;
          break;
        }
        expect(err.code).toMatch(/^(INVALID_CODE|SECOND_FACTOR_ATTEMPTS_EXCEEDED)$/);
      }
    }
    expect(lockedAt).toBe(MAX_SECOND_FACTOR_FAILURES);
    expect((await appError(auth.login({ email: user.email, password: user.password, ...META }))).code).toBe('LOGIN_LOCKED');
    const mail = await nextMail(user.email, LOGIN_LOCKED_SUBJECT);
    expect(mail.text).toContain('第二認証コードが続けて間違えられました');
    expect((await events(tenant.id, 'login_locked')).map((e) => e.detail)).toEqual([expect.objectContaining({ reason: 'second_factor', consecutiveFailures: MAX_SECOND_FACTOR_FAILURES })]);
    // The lock used up the count: once it runs out, one typo does not lock the account again.
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).secondFactorFailures).toBe(0);
  });

  test('a correct code clears the count of wrong ones', async () => {
    const { auth } = service();
    const user = await newUser();
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    for (let i = 0; i < 3; i++) await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(code), ...META }));
    await auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META });
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).secondFactorFailures).toBe(0);
  });

  test('a resent code keeps the tries already used', async () => {
    const { auth } = service();
    const user = await newUser();
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const first = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    for (let i = 0; i < 3; i++) await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(first), ...META }));
    await auth.resendLoginCode(res.sessionToken);
    const second = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    // The resend replaced the first code.
    if (first !== second) expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: first, ...META }))).code).toBe('INVALID_CODE');
    else await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(second), ...META }));
    const last = await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(second), ...META }));
    expect(last.code).toBe('SECOND_FACTOR_ATTEMPTS_EXCEEDED');
  });

  test('when the code mail cannot be sent: 503 and no session is left behind', async () => {
    const closed = await startOutbox();
    const port = closed.smtpPort;
    await closed.close();
    const { auth } = service({ smtpPort: port });
    const user = await newUser();
    const err = await appError(auth.login({ email: user.email, password: user.password, ...META }));
    expect(err).toMatchObject({ status: 503, code: 'MAIL_UNAVAILABLE' });
    expect(await harness.prisma.session.count({ where: { loginUserId: user.id } })).toBe(0);
  });
});

describe('wrong passwords and lockout', () => {
  test('unknown e-mail and wrong password give the same 401, at a similar cost', async () => {
    const { auth } = service();
    const user = await newUser();
    // warm-up: the dummy hash is made on first use
    await appError(auth.login({ email: 'nobody@example.invalid', password: 'whatever-123', ...META }));

    let t = process.hrtime.bigint();
    const wrong = await appError(auth.login({ email: user.email, password: 'not-the-password', ...META }));
    const wrongMs = Number(process.hrtime.bigint() - t) / 1e6;
    t = process.hrtime.bigint();
    const unknown = await appError(auth.login({ email: `nobody-${randomUUID()}@example.co.jp`, password: 'not-the-password', ...META }));
    const unknownMs = Number(process.hrtime.bigint() - t) / 1e6;

    for (const err of [wrong, unknown]) {
      expect(err).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS', title: 'メールアドレスまたはパスワードが正しくありません' });
    }
    // Both spend one scrypt; a lookup that skipped it would take a few milliseconds.
    expect(unknownMs).toBeGreaterThan(wrongMs * 0.3);
  });

  test('5 wrong passwords in a row lock that source out of the account, not the account: the owner elsewhere logs in, sessions go on, the user is mailed', async () => {
    const { auth, clock } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const live = await fullLogin(auth, user);
    const attacker = { ip: '198.51.100.66', userAgent: 'guesser' };

    for (let i = 1; i <= 4; i++) {
      expect((await appError(auth.login({ email: user.email, password: `wrong-${i}-pass`, ...attacker }))).code).toBe('INVALID_CREDENTIALS');
    }
    const fifth = await appError(auth.login({ email: user.email, password: 'wrong-5-pass', ...attacker }));
    expect(fifth).toMatchObject({
      status: 423,
      code: 'LOGIN_LOCKED',
      title: '連続してログインに失敗したため、ログインがロックされています。しばらくしてから再度お試しいただくか、管理者に解除を依頼してください',
    });
    // Even the right password is refused from there while locked, and nothing is mailed.
    expect((await appError(auth.login({ email: user.email, password: user.password, ...attacker }))).code).toBe('LOGIN_LOCKED');
    const mail = await nextMail(user.email, LOGIN_LOCKED_SUBJECT);
    expect(mail.text).toContain('198.51.100.66');
    expect(mail.text).toContain('ほかの場所からは、いつもどおりログインできます');

    // The account itself is not locked: its session goes on, and its owner logs in from elsewhere.
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ lockedAt: null });
    expect(await auth.authenticate(live.sessionToken)).not.toBeNull();
    await fullLogin(auth, user);

    expect((await events(tenant.id, 'login_locked')).map((e) => e.detail)).toEqual([expect.objectContaining({ reason: 'password', lockMinutes: LOCK_MINUTES, locks: 1 })]);
    const reasons = (await events(tenant.id, 'login_failed')).map((e) => (e.detail as { reason: string }).reason);
    expect(reasons).toEqual(['password', 'password', 'password', 'password', 'password', 'locked']);

    // The lock runs out after loginLockMinutes; the next one from the same source lasts twice as long.
    clock.advance(LOCK_MINUTES * MINUTE - 1000);
    expect((await appError(auth.login({ email: user.email, password: user.password, ...attacker }))).code).toBe('LOGIN_LOCKED');
    clock.advance(1000);
    for (let i = 1; i <= 4; i++) expect((await appError(auth.login({ email: user.email, password: 'wrong-again', ...attacker }))).code).toBe('INVALID_CREDENTIALS');
    expect((await appError(auth.login({ email: user.email, password: 'wrong-again', ...attacker }))).code).toBe('LOGIN_LOCKED');
    clock.advance(2 * LOCK_MINUTES * MINUTE - 1000);
    expect((await appError(auth.login({ email: user.email, password: user.password, ...attacker }))).code).toBe('LOGIN_LOCKED');
    clock.advance(1000);
    const res = await auth.login({ email: user.email, password: user.password, ...attacker });
    expect(res.secondFactor).toBe('email');
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    // The right password from there starts that source afresh.
    expect(await harness.prisma.loginSourceLock.findMany({ where: { loginUserId: user.id } })).toEqual([]);
  });

  test('guessing spread over many addresses locks the account itself at 50 wrong passwords in a day, and the owner is mailed', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const codes: string[] = [];
    for (let a = 1; a <= 10; a++) {
      for (let i = 0; i < 5; i++) codes.push((await appError(auth.login({ email: user.email, password: `guess-${a}-${i}`, ip: `198.51.100.${a}`, userAgent: 'bot' }))).code);
    }
    expect(codes.at(-1)).toBe('LOGIN_LOCKED');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).lockedAt).not.toBeNull();
    // Now from anywhere, even with the right password.
    expect((await appError(auth.login({ email: user.email, password: user.password, ip: '192.0.2.200', userAgent: 'owner' }))).code).toBe('LOGIN_LOCKED');
    await harness.outbox.waitFor((m) => m.to.includes(user.email) && m.subject === LOGIN_LOCKED_SUBJECT && m.text.includes('多数の場所から'));
    expect((await events(tenant.id, 'login_locked')).map((e) => (e.detail as { reason: string }).reason)).toContain('password_spread');
  });

  test('an IPv6 /64 is one source; a long-running attack from one address never overflows its lock time', async () => {
    const { auth } = service();
    const user = await newUser();
    for (let i = 1; i <= 5; i++) await appError(auth.login({ email: user.email, password: 'wrong-password', ip: `2001:db8:aa:bb::${i}`, userAgent: 'rotating' }));
    expect((await appError(auth.login({ email: user.email, password: user.password, ip: '2001:db8:aa:bb:ffff::7', userAgent: 'rotating' }))).code).toBe('LOGIN_LOCKED');
    expect(await harness.prisma.loginSourceLock.findMany({ where: { loginUserId: user.id } })).toEqual([expect.objectContaining({ source: '2001:db8:aa:bb::/64', locks: 1 })]);
    // Weeks of locks from one address: the next lock is capped at a day, not an integer overflow.
    const attacker = { ip: '203.0.113.99', userAgent: 'patient' };
    await harness.prisma.loginSourceLock.create({ data: { loginUserId: user.id, source: attacker.ip, locks: 40 } });
    for (let i = 0; i < 4; i++) expect((await appError(auth.login({ email: user.email, password: 'wrong-password', ...attacker }))).code).toBe('INVALID_CREDENTIALS');
    expect((await appError(auth.login({ email: user.email, password: 'wrong-password', ...attacker }))).code).toBe('LOGIN_LOCKED');
    const row = await harness.prisma.loginSourceLock.findUniqueOrThrow({ where: { loginUserId_source: { loginUserId: user.id, source: attacker.ip } } });
    expect(row.lockedUntil!.getTime() - Date.now()).toBeLessThanOrEqual(24 * 60 * MINUTE + 60_000);
  });

  test('after a lock runs out, counting starts again from zero', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    for (let i = 0; i < 5; i++) await appError(auth.login({ email: user.email, password: 'wrong-password', ...META }));
    clock.advance(LOCK_MINUTES * MINUTE);
    expect((await appError(auth.login({ email: user.email, password: 'wrong-password', ...META }))).code).toBe('INVALID_CREDENTIALS');
    expect(await harness.prisma.loginSourceLock.findMany({ where: { loginUserId: user.id } })).toEqual([expect.objectContaining({ source: META.ip, failures: 1, locks: 1 })]);
  });

  test('a successful password resets the count', async () => {
    const { auth } = service();
    const user = await newUser();
    for (let i = 0; i < 4; i++) await appError(auth.login({ email: user.email, password: 'wrong-password', ...META }));
    await auth.login({ email: user.email, password: user.password, ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    for (let i = 0; i < 4; i++) expect((await appError(auth.login({ email: user.email, password: 'wrong-password', ...META }))).code).toBe('INVALID_CREDENTIALS');
  });

  test('a password hashed at the earlier scrypt cost logs in and is hashed again at today\'s', async () => {
    const { auth } = service();
    const user = await newUser();
    const salt = randomBytes(16);
    const key = scryptSync(user.password.normalize('NFC'), salt, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 2 ** 26 });
    const old = ['scrypt', 15, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { passwordHash: old } });
    await auth.login({ email: user.email, password: user.password, ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    const stored = (await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).passwordHash;
    expect(stored).toMatch(/^scrypt\$16\$8\$2\$/);
    await expect(verifyPassword(user.password, stored)).resolves.toBe(true);
  });

  test('unlockUser clears every lock and count', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    for (let i = 0; i < 5; i++) await appError(auth.login({ email: user.email, password: 'wrong-password', ...META }));
    await auth.unlockUser(user.id, { actor: { type: 'login_user', id: randomUUID(), label: '管理 者' }, ...META });
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ failedLogins: 0, secondFactorFailures: 0, lockedAt: null });
    expect(await harness.prisma.loginSourceLock.count({ where: { loginUserId: user.id } })).toBe(0);
    await auth.login({ email: user.email, password: user.password, ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    expect((await events(tenant.id, 'login_unlocked'))[0]).toMatchObject({ actorLabel: '管理 者' });
  });

  test('a deleted login user cannot log in', async () => {
    const { auth } = service();
    const user = await newUser();
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { deletedAt: new Date() } });
    expect((await appError(auth.login({ email: user.email, password: user.password, ...META }))).code).toBe('INVALID_CREDENTIALS');
  });
});

describe('no account enumeration', () => {
  /** Status codes of `n` wrong passwords from one address, the clock moved on by `gapMs` after each. */
  async function statuses(auth: ReturnType<typeof service>['auth'], clock: ReturnType<typeof service>['clock'], email: string, meta: typeof META, n: number, gapMs = 0) {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      out.push((await appError(auth.login({ email, password: `wrong-${i}-pass`, ...meta }))).status);
      clock.advance(gapMs);
    }
    return out;
  }

  test('an address with no account is locked exactly like an account: 423 from the fifth wrong password, and again after each doubled wait', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const nobody = `nobody-${randomUUID().slice(0, 8)}@example.co.jp`;
    const at = { ip: '198.51.100.81', userAgent: 'guesser' };
    // five wrong, then the lock: tried again just before it ends (still locked) and just after (five more)
    const pattern = async (email: string) => {
      const seen = await statuses(auth, clock, email, at, 5);
      clock.advance((LOCK_MINUTES - 1) * MINUTE);
      seen.push(...(await statuses(auth, clock, email, at, 1)));
      clock.advance(2 * MINUTE);
      seen.push(...(await statuses(auth, clock, email, at, 5)));
      // the second lock lasts twice as long: still locked just after the first one's length
      clock.advance((LOCK_MINUTES + 1) * MINUTE);
      seen.push(...(await statuses(auth, clock, email, at, 1)));
      return seen;
    };
    const forAccount = await pattern(user.email);
    const forNobody = await pattern(nobody);
    expect(forAccount).toEqual([401, 401, 401, 401, 423, 423, 401, 401, 401, 401, 423, 423]);
    expect(forNobody).toEqual(forAccount);
    // the table keeps no address in plain
    expect(await harness.prisma.unknownLoginLock.count({ where: { addressKey: { contains: 'nobody' } } })).toBe(0);
  });

  test('guessing spread over many addresses locks an address with no account as it does an account', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const nobody = `nobody-${randomUUID().slice(0, 8)}@example.co.jp`;
    for (const email of [user.email, nobody]) {
      for (let s = 0; s < 12; s++) await statuses(auth, clock, email, { ip: `203.0.113.${100 + s}`, userAgent: 'botnet' }, 4);
    }
    // 48 wrong; the 50th in the day from yet another address locks either
    const fresh = { ip: '192.0.2.200', userAgent: 'botnet' };
    expect(await statuses(auth, clock, user.email, fresh, 2)).toEqual([401, 423]);
    expect(await statuses(auth, clock, nobody, fresh, 2)).toEqual([401, 423]);
    expect(await statuses(auth, clock, user.email, { ip: '192.0.2.201', userAgent: 'botnet' }, 1)).toEqual([423]);
    expect(await statuses(auth, clock, nobody, { ip: '192.0.2.201', userAgent: 'botnet' }, 1)).toEqual([423]);
  });

  test('a password reset or customer-number reminder answers without waiting for the account\'s work', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    // The account's history row cannot be written while the lock is held: the answer comes anyway.
    const lock = await holdHistoryLock(process.env.DATABASE_URL!, tenant.id);
    try {
      await auth.requestPasswordReset({ email: user.email, ...META });
      await auth.requestCustomerNumberReminder({ email: user.email, ...META });
      await lock.waiters(1);
      expect(harness.outbox.mails.filter((m) => m.to.includes(user.email) && m.subject === PASSWORD_RESET_SUBJECT)).toHaveLength(0);
    } finally {
      await lock.release();
    }
    // …and the work follows
    await nextMail(user.email, PASSWORD_RESET_SUBJECT);
    expect((await events(tenant.id, 'password_reset_requested')).length).toBe(1);
  });
});

describe('オプションログイン: one e-mail address in several tenants', () => {
  test('that the address has several accounts is said only to someone who knows one\'s password', async () => {
    const { auth } = service();
    const email = `kenmu-${randomUUID().slice(0, 8)}@example.co.jp`;
    const [a, b] = [await newTenant('株式会社シー'), await newTenant('株式会社ディー')];
    await newUser({ tenantId: a.id, email, password: 'password-of-C' });
    await newUser({ tenantId: b.id, email, password: 'password-of-D' });
    const wrong = await appError(auth.login({ email, password: 'a-wrong-password', ...META }));
    expect(wrong).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    expect(await appError(auth.login({ email, password: 'password-of-D', ...META }))).toMatchObject({ status: 400, code: 'CUSTOMER_NUMBER_REQUIRED' });
  });

  test('the customer number is required, and picks the account', async () => {
    const { auth } = service();
    const email = `shigyo-${randomUUID().slice(0, 8)}@example.co.jp`;
    const [a, b] = [await newTenant('株式会社エー'), await newTenant('株式会社ビー')];
    const userA = await newUser({ tenantId: a.id, email, password: 'password-of-A' });
    const userB = await newUser({ tenantId: b.id, email, password: 'password-of-B' });

    const err = await appError(auth.login({ email, password: 'password-of-A', ...META }));
    expect(err).toMatchObject({
      status: 400,
      code: 'CUSTOMER_NUMBER_REQUIRED',
      title: 'このメールアドレスは複数の契約で使われています。お客様番号を入力してください',
    });

    const res = await auth.login({ email, password: 'password-of-B', customerNumber: b.customerNumber, ...META });
    await auth.verifySecondFactor({ sessionToken: res.sessionToken, code: codeOf(await nextMail(email, LOGIN_CODE_SUBJECT)), ...META });
    const ctx = await auth.authenticate(res.sessionToken);
    expect(ctx?.tenant.id).toBe(b.id);
    expect(ctx?.user.id).toBe(userB.id);

    // The other tenant's password with this customer number, or an unknown number: plain 401.
    expect((await appError(auth.login({ email, password: 'password-of-A', customerNumber: b.customerNumber, ...META }))).code).toBe('INVALID_CREDENTIALS');
    expect((await appError(auth.login({ email, password: 'password-of-A', customerNumber: '0000000000000', ...META }))).code).toBe('INVALID_CREDENTIALS');
    // Failures count on the account the customer number named.
    const failuresOf = async (id: string) => (await harness.prisma.loginSourceLock.findMany({ where: { loginUserId: id } })).map((l) => l.failures);
    expect(await failuresOf(userB.id)).toEqual([1]);
    expect(await failuresOf(userA.id)).toEqual([]);
  });

  test('with a single account the customer number is optional but must match if given', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    await auth.login({ email: user.email, password: user.password, customerNumber: tenant.customerNumber, ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    expect((await appError(auth.login({ email: user.email, password: user.password, customerNumber: '9999999999999', ...META }))).code).toBe('INVALID_CREDENTIALS');
  });
});

describe('sessions', () => {
  test('idle timeout: each use keeps the session alive; 30 idle minutes end it', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const { sessionToken } = await fullLogin(auth, user);
    for (let i = 0; i < 3; i++) {
      clock.advance((IDLE_MINUTES - 1) * MINUTE);
      expect(await auth.authenticate(sessionToken)).not.toBeNull();
    }
    clock.advance(IDLE_MINUTES * MINUTE);
    expect(await auth.authenticate(sessionToken)).toBeNull();
    expect(await harness.prisma.session.count({ where: { id: hashSessionToken(sessionToken) } })).toBe(0);
  });

  test('absolute timeout: 12 hours after login, however active', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const { sessionToken } = await fullLogin(auth, user);
    for (let elapsed = 0; elapsed + 20 * MINUTE < ABSOLUTE_HOURS * 60 * MINUTE; elapsed += 20 * MINUTE) {
      clock.advance(20 * MINUTE);
      expect(await auth.authenticate(sessionToken)).not.toBeNull();
    }
    clock.advance(20 * MINUTE);
    expect(await auth.authenticate(sessionToken)).toBeNull();
    expect(await harness.prisma.session.count({ where: { id: hashSessionToken(sessionToken) } })).toBe(0);
  });

  test('last use is written at most once a minute', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const { sessionToken } = await fullLogin(auth, user);
    const id = hashSessionToken(sessionToken);
    const before = (await harness.prisma.session.findUniqueOrThrow({ where: { id } })).lastSeenAt;
    clock.advance(30_000);
    await auth.authenticate(sessionToken);
    expect((await harness.prisma.session.findUniqueOrThrow({ where: { id } })).lastSeenAt).toEqual(before);
    clock.advance(31_000);
    await auth.authenticate(sessionToken);
    expect((await harness.prisma.session.findUniqueOrThrow({ where: { id } })).lastSeenAt.getTime()).toBe(before.getTime() + 61_000);
  });

  test('a session ends when its user is locked or deleted', async () => {
    const { auth } = service();
    const user = await newUser();
    const one = await fullLogin(auth, user);
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { lockedAt: new Date() } });
    expect(await auth.authenticate(one.sessionToken)).toBeNull();
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { lockedAt: null } });
    const two = await fullLogin(auth, user);
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { deletedAt: new Date() } });
    expect(await auth.authenticate(two.sessionToken)).toBeNull();
  });

  test('unknown, malformed and empty tokens are simply not sessions', async () => {
    const { auth } = service();
    for (const token of ['', 'x', randomBytes(32).toString('base64url'), 'a'.repeat(10_000)]) {
      expect(await auth.authenticate(token)).toBeNull();
    }
    expect((await appError(auth.verifySecondFactor({ sessionToken: 'nope', code: '123456' }))).code).toBe('SESSION_EXPIRED');
  });

  test('logout ends the session and is recorded', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const { sessionToken } = await fullLogin(auth, user);
    await auth.logout(sessionToken, META);
    expect(await auth.authenticate(sessionToken)).toBeNull();
    expect(await events(tenant.id, 'logout')).toHaveLength(1);
    await auth.logout(sessionToken, META); // twice is harmless
  });
});

describe('changePassword', () => {
  test('checks the current password and the policy, then ends the other sessions', async () => {
    const { auth } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const mine = await fullLogin(auth, user);
    const other = await fullLogin(auth, user);

    expect(await appError(auth.changePassword(user.id, 'not-current', 'new-password-1'))).toMatchObject({ status: 400, code: 'INVALID_CURRENT_PASSWORD' });
    expect(await appError(auth.changePassword(user.id, user.password, 'short'))).toMatchObject({ status: 400, code: 'WEAK_PASSWORD' });
    expect(await auth.authenticate(other.sessionToken)).not.toBeNull(); // nothing changed yet

    const result = await auth.changePassword(user.id, user.password, 'new-password-1', { keepSessionToken: mine.sessionToken, ...META });
    expect(result.revokedSessions).toBe(1);
    expect(await auth.authenticate(mine.sessionToken)).not.toBeNull();
    expect(await auth.authenticate(other.sessionToken)).toBeNull();

    expect((await appError(auth.login({ email: user.email, password: user.password, ...META }))).code).toBe('INVALID_CREDENTIALS');
    await auth.login({ email: user.email, password: 'new-password-1', ...META });
    await nextMail(user.email, LOGIN_CODE_SUBJECT);
    expect(await events(tenant.id, 'password_changed')).toHaveLength(1);
  });
});

test('no password or code ever reaches the operation history', async () => {
  const { auth } = service();
  const tenant = await newTenant();
  const user = await newUser({ tenantId: tenant.id, password: 'Secret-Password-42' });
  await appError(auth.login({ email: user.email, password: 'Wrong-Password-42', ...META }));
  const res = await auth.login({ email: user.email, password: user.password, ...META });
  const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
  await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(code), ...META }));
  await auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META });
  const all = JSON.stringify(await events(tenant.id), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  for (const secret of ['Secret-Password-42', 'Wrong-Password-42', code, wrongCodeFor(code), res.sessionToken, res.csrfToken]) {
    expect(all).not.toContain(secret);
  }
});
