/**
 * The authenticator-app second factor on real PostgreSQL, vault, history and SMTP capture:
 * enrolment (QR code, confirm with a code), TOTP login with replay protection, and switching back
 * to e-mail, which needs a mailed code. The injected clock drives the TOTP time steps.
 */
import { randomUUID } from 'node:crypto';
import { EMAIL_METHOD_SUBJECT, LOGIN_CODE_SUBJECT, TOTP_ENROLLED_SUBJECT } from '../services/auth/auth-mail';
import type { AuthService } from '../services/auth/auth-service';
import { totpCode } from '../services/auth/totp';
import { appError, codeOf, META, useAuthHarness, wrongCodeFor, type TestClock } from './support/auth-harness';

const harness = useAuthHarness();
const { service, newUser, newTenant, nextMail, events, fullLogin } = harness;

const secretOf = (otpauthUri: string) => new URL(otpauthUri).searchParams.get('secret')!;
const STEP = 30_000;

/** Enrols the user's authenticator; returns its secret (as the app would hold it). */
async function enrol(auth: AuthService, clock: TestClock, userId: string, password: string) {
  const enrolment = await auth.startTotpEnrolment(userId, password, META);
  const secret = secretOf(enrolment.otpauthUri);
  await auth.confirmTotpEnrolment(userId, await totpCode(secret, clock.now()), META);
  await auth.drain(); // the notice of the change is delivered now, not during the test's next step
  clock.advance(STEP); // the confirming code's step is used up
  return secret;
}

describe('TOTP enrolment', () => {
  test('start: a pending secret sealed in the vault, an otpauth URI and a QR code; the method is unchanged', async () => {
    const { auth } = service();
    const user = await newUser({ email: `totp-${randomUUID().slice(0, 8)}@example.co.jp` });
    const enrolment = await auth.startTotpEnrolment(user.id, user.password, META);
    const uri = new URL(enrolment.otpauthUri);
    expect(decodeURIComponent(uri.pathname)).toBe(`/mynaflow:${user.email}`);
    expect(uri.searchParams.get('issuer')).toBe('mynaflow');
    expect(enrolment.qrPngDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(enrolment.qrSvg).toContain('<svg');

    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.twoFactorMethod).toBe('email');
    expect(row.totpSecretId).toBeNull();
    const sealed = await harness.prisma.vaultSecret.findUniqueOrThrow({ where: { id: row.pendingTotpSecretId! } });
    expect(sealed).toMatchObject({ kind: 'totp', tenantId: user.tenantId });
    // Sealed, not stored: the Base32 secret is nowhere in the row.
    const secret = secretOf(enrolment.otpauthUri);
    expect(Buffer.from(sealed.ciphertext).toString('utf8')).not.toContain(secret);
    expect((await harness.vault.open(sealed.id, user.tenantId)).toString('utf8')).toBe(secret);
  });

  test('starting again shreds the previous pending secret', async () => {
    const { auth } = service();
    const user = await newUser();
    await auth.startTotpEnrolment(user.id, user.password, META);
    const first = (await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).pendingTotpSecretId!;
    await auth.startTotpEnrolment(user.id, user.password, META);
    const second = (await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).pendingTotpSecretId!;
    expect(second).not.toBe(first);
    expect(await harness.prisma.vaultSecret.count({ where: { id: first } })).toBe(0);
    expect(await harness.prisma.vaultSecret.count({ where: { id: second } })).toBe(1);
  });

  test('confirm: a wrong code changes nothing; the right one switches to TOTP', async () => {
    const { auth, clock } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    expect(await appError(auth.confirmTotpEnrolment(user.id, '123456'))).toMatchObject({ status: 400, code: 'TOTP_ENROLMENT_NOT_STARTED' });
    const enrolment = await auth.startTotpEnrolment(user.id, user.password, META);
    const secret = secretOf(enrolment.otpauthUri);
    const code = await totpCode(secret, clock.now());

    expect(await appError(auth.confirmTotpEnrolment(user.id, wrongCodeFor(code)))).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).twoFactorMethod).toBe('email');

    await auth.confirmTotpEnrolment(user.id, code, META);
    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.twoFactorMethod).toBe('totp');
    expect(row.totpSecretId).not.toBeNull();
    expect(row.pendingTotpSecretId).toBeNull();
    expect(row.totpLastStep).toBe(BigInt(Math.floor(clock.now().getTime() / STEP)));
    const changed = await events(tenant.id, 'two_factor_method_changed');
    expect(changed.map((e) => e.detail)).toEqual([{ from: 'email', to: 'totp', revokedSessions: 0 }]);
    expect(JSON.stringify(changed, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(secret);
  });

  test('enrolling a new device shreds the old secret', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    await enrol(auth, clock, user.id, user.password);
    const old = (await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).totpSecretId!;
    await enrol(auth, clock, user.id, user.password);
    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.totpSecretId).not.toBe(old);
    expect(await harness.prisma.vaultSecret.count({ where: { id: old } })).toBe(0);
  });
});

describe('TOTP login', () => {
  test('the authenticator code completes the login; nothing is mailed', async () => {
    const { auth, clock } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const secret = await enrol(auth, clock, user.id, user.password);
    const before = harness.outbox.mails.length;
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    expect(res.secondFactor).toBe('totp');
    expect((await appError(auth.resendLoginCode(res.sessionToken))).code).toBe('NOT_EMAIL_METHOD');
    const ctx = await auth.verifySecondFactor({ sessionToken: res.sessionToken, code: await totpCode(secret, clock.now()), ...META });
    expect(ctx.user.id).toBe(user.id);
    expect(await auth.authenticate(res.sessionToken)).not.toBeNull();
    expect(harness.outbox.mails.slice(before).filter((m) => m.to.some((t) => t.includes(user.email)))).toHaveLength(0);
    expect((await events(tenant.id, 'login_succeeded')).map((e) => e.detail)).toEqual([{ method: 'totp' }]);
  });

  test('replay: an accepted code is refused on the next login, the next step works', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id, user.password);
    const code = await totpCode(secret, clock.now());
    const first = await auth.login({ email: user.email, password: user.password, ...META });
    await auth.verifySecondFactor({ sessionToken: first.sessionToken, code, ...META });

    const second = await auth.login({ email: user.email, password: user.password, ...META });
    expect(await appError(auth.verifySecondFactor({ sessionToken: second.sessionToken, code, ...META }))).toMatchObject({ status: 401, code: 'INVALID_CODE' });
    clock.advance(STEP);
    await auth.verifySecondFactor({ sessionToken: second.sessionToken, code: await totpCode(secret, clock.now()), ...META });
  });

  test('the same code sent twice at once logs in only one session', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id, user.password);
    const a = await auth.login({ email: user.email, password: user.password, ...META });
    const code = await totpCode(secret, clock.now());
    const results = await Promise.allSettled([
      auth.verifySecondFactor({ sessionToken: a.sessionToken, code, ...META }),
      auth.verifySecondFactor({ sessionToken: a.sessionToken, code, ...META }),
    ]);
    // One succeeds; the other either fails or finds the session already done: one login, not two.
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    expect(await events(user.tenantId, 'login_succeeded')).toHaveLength(1);
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).totpLastStep).toBe(BigInt(Math.floor(clock.now().getTime() / STEP)));
  });

  test('a clock one step off is accepted; two steps off is refused', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id, user.password);
    clock.advance(10 * STEP);
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const twoAhead = await totpCode(secret, new Date(clock.now().getTime() + 2 * STEP));
    const twoBehind = await totpCode(secret, new Date(clock.now().getTime() - 2 * STEP));
    for (const code of [twoAhead, twoBehind]) {
      expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META }))).code).toBe('INVALID_CODE');
    }
    await auth.verifySecondFactor({ sessionToken: res.sessionToken, code: await totpCode(secret, new Date(clock.now().getTime() - STEP)), ...META });

    clock.advance(10 * STEP);
    const again = await auth.login({ email: user.email, password: user.password, ...META });
    await auth.verifySecondFactor({ sessionToken: again.sessionToken, code: await totpCode(secret, new Date(clock.now().getTime() + STEP)), ...META });
  });

  test('5 wrong codes end the login and are counted for the account', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id, user.password);
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const right = await totpCode(secret, clock.now());
    for (let i = 0; i < 4; i++) await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(right), ...META }));
    expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(right), ...META }))).code).toBe('SECOND_FACTOR_ATTEMPTS_EXCEEDED');
    expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: right, ...META }))).code).toBe('SESSION_EXPIRED');
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).secondFactorFailures).toBe(5);
  });

  test('the code must follow the password within 10 minutes', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id, user.password);
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    clock.advance(10 * 60_000);
    expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: await totpCode(secret, clock.now()), ...META }))).code).toBe('SESSION_EXPIRED');
  });
});

describe('switching back to e-mail', () => {
  test('needs a code mailed to the address; then the TOTP secret is shredded', async () => {
    const { auth, clock } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    await enrol(auth, clock, user.id, user.password);
    const secretId = (await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).totpSecretId!;

    // Without a mailed code there is nothing to confirm with.
    expect((await appError(auth.confirmEmailMethodSwitch(user.id, '123456'))).code).toBe('INVALID_CODE');

    await auth.startEmailMethodSwitch(user.id);
    const mail = await nextMail(user.email, EMAIL_METHOD_SUBJECT);
    const code = codeOf(mail);
    expect(await appError(auth.confirmEmailMethodSwitch(user.id, wrongCodeFor(code)))).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    expect((await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).twoFactorMethod).toBe('totp');

    await auth.confirmEmailMethodSwitch(user.id, code, META);
    const row = await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row).toMatchObject({ twoFactorMethod: 'email', totpSecretId: null, pendingTotpSecretId: null, totpLastStep: null });
    expect(await harness.prisma.vaultSecret.count({ where: { id: secretId } })).toBe(0);
    const changed = await events(tenant.id, 'two_factor_method_changed');
    expect(changed.map((e) => e.detail)).toEqual([{ from: 'email', to: 'totp', revokedSessions: 0 }, { from: 'totp', to: 'email' }]);

    // And the next login mails a code again.
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    expect(res.secondFactor).toBe('email');
    await auth.verifySecondFactor({ sessionToken: res.sessionToken, code: codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT)), ...META });
  });

  test('an e-mail user cannot "switch" to e-mail', async () => {
    const { auth } = service();
    const user = await newUser();
    expect(await appError(auth.startEmailMethodSwitch(user.id))).toMatchObject({ status: 400, code: 'TWO_FACTOR_METHOD_UNCHANGED' });
  });

  test('unknown or deleted users are 404', async () => {
    const { auth } = service();
    const user = await newUser();
    await harness.prisma.loginUser.update({ where: { id: user.id }, data: { deletedAt: new Date() } });
    for (const id of [user.id, randomUUID()]) {
      expect(await appError(auth.startTotpEnrolment(id, user.password, META))).toMatchObject({ status: 404, code: 'LOGIN_USER_NOT_FOUND' });
    }
  });
});

describe('TOTP enrolment is guarded', () => {
  test('starting needs the password: a wrong one starts nothing and counts towards the account lock', async () => {
    const { auth } = service();
    const user = await newUser();
    expect(await appError(auth.startTotpEnrolment(user.id, 'not-my-password', META))).toMatchObject({ status: 400, code: 'PASSWORD_INCORRECT' });
    expect(await harness.prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).toMatchObject({ pendingTotpSecretId: null, failedLogins: 1 });
  });

  test('confirming ends the user\'s other sessions (not this one) and mails the user', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const other = await fullLogin(auth, user);
    const mine = await fullLogin(auth, user);
    const enrolment = await auth.startTotpEnrolment(user.id, user.password, META);
    await auth.confirmTotpEnrolment(user.id, await totpCode(secretOf(enrolment.otpauthUri), clock.now()), { ...META, keepSessionToken: mine.sessionToken });
    expect(await auth.authenticate(other.sessionToken)).toBeNull();
    expect(await auth.authenticate(mine.sessionToken)).not.toBeNull();
    const mail = await nextMail(user.email, TOTP_ENROLLED_SUBJECT);
    expect(mail.text).toContain('ほかの端末のログイン（1件）は終了しました');
  });
});
