/**
 * The authenticator-app second factor on real PostgreSQL, vault, history and SMTP capture:
 * enrolment (QR code, confirm with a code), TOTP login with replay protection, and switching back
 * to e-mail, which needs a mailed code. The injected clock drives the TOTP time steps.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TwoFactorMethod } from '../prisma/generated/client';
import { createHistory } from '../services/audit/history';
import { EMAIL_METHOD_SUBJECT, LOGIN_CODE_SUBJECT } from '../services/auth/auth-mail';
import { createAuthService, type AuthService } from '../services/auth/auth-service';
import { hashPassword } from '../services/auth/passwords';
import { totpCode } from '../services/auth/totp';
import { loadConfig } from '../services/config/config';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { AppError } from '../services/errors';
import { createMailTransport } from '../services/mail/transport';
import { startOutbox, type CapturedMail, type Outbox } from '../services/outbox/outbox';
import { loadKeyring } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';

const MAIL_FROM = 'mynaflow <no-reply@mynaflow.test>';
const LOCK_MINUTES = 30;
const IDLE_MINUTES = 30;
const ABSOLUTE_HOURS = 12;
const META = { ip: '203.0.113.7', userAgent: 'jest' };

let prisma: PrismaClient;
let outbox: Outbox;
let vault: ReturnType<typeof createVault>;
let history: ReturnType<typeof createHistory>;

beforeAll(async () => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL missing: jest global set-up did not run');
  prisma = createPrisma(url);
  outbox = await startOutbox();
  vault = createVault({ prisma, keyring: loadKeyring(loadConfig({ DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-auth-totp-')) })) });
  history = createHistory(prisma);
});

afterAll(async () => {
  await outbox?.close();
  await prisma?.$disconnect();
});

/** A service with its own clock, which a test moves forward. */
function service(opts: { smtpPort?: number } = {}): { auth: AuthService; clock: { advance(ms: number): void; now(): Date } } {
  let t = Date.now();
  const clock = { advance: (ms: number) => void (t += ms), now: () => new Date(t) };
  const auth = createAuthService({
    prisma,
    vault,
    history,
    mailer: createMailTransport(`smtp://127.0.0.1:${opts.smtpPort ?? outbox.smtpPort}`),
    mailFrom: MAIL_FROM,
    loginLockMinutes: LOCK_MINUTES,
    session: { idleMinutes: IDLE_MINUTES, absoluteHours: ABSOLUTE_HOURS },
    now: clock.now,
  });
  return { auth, clock };
}

async function newTenant(name = 'ログイン株式会社') {
  return prisma.tenant.create({ data: { name, customerNumber: String(randomBytes(5).readUIntBE(0, 5)).padStart(13, '0') } });
}

async function newUser(opts: { tenantId?: string; email?: string; password?: string; name?: string; method?: TwoFactorMethod } = {}) {
  const tenantId = opts.tenantId ?? (await newTenant()).id;
  const email = opts.email ?? `hr-${randomUUID().slice(0, 8)}@example.co.jp`;
  const password = opts.password ?? `Pw-${randomBytes(6).toString('hex')}`;
  const user = await prisma.loginUser.create({
    data: { tenantId, email, name: opts.name ?? '人事 花子', role: 'manager', passwordHash: await hashPassword(password), twoFactorMethod: opts.method ?? 'email' },
  });
  return { ...user, password };
}

/** Each mail is handed out once, so a test can wait for "the next" code mail. */
const taken = new Set<string>();
async function nextMail(to: string, subject: string): Promise<CapturedMail> {
  const mail = await outbox.waitFor((m) => !taken.has(m.id) && m.subject === subject && m.to.some((t) => t.includes(to)), 10_000);
  taken.add(mail.id);
  return mail;
}
const codeOf = (mail: CapturedMail) => {
  const code = /(?<!\d)(\d{6})(?!\d)/.exec(mail.text)?.[1];
  if (!code) throw new Error(`no code in mail: ${mail.subject}`);
  return code;
};

async function appError(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, but it resolved');
}

const wrongCodeFor = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

const events = (tenantId: string, operation?: string) =>
  prisma.operationEvent.findMany({ where: { tenantId, ...(operation ? { operation } : {}) }, orderBy: { id: 'asc' } });

const secretOf = (otpauthUri: string) => new URL(otpauthUri).searchParams.get('secret')!;
const STEP = 30_000;

/** Enrols the user's authenticator; returns its secret (as the app would hold it). */
async function enrol(auth: AuthService, clock: { now(): Date; advance(ms: number): void }, userId: string) {
  const enrolment = await auth.startTotpEnrolment(userId);
  const secret = secretOf(enrolment.otpauthUri);
  await auth.confirmTotpEnrolment(userId, await totpCode(secret, clock.now()), META);
  clock.advance(STEP); // the confirming code's step is used up
  return secret;
}

describe('TOTP enrolment', () => {
  test('start: a pending secret sealed in the vault, an otpauth URI and a QR code; the method is unchanged', async () => {
    const { auth } = service();
    const user = await newUser({ email: `totp-${randomUUID().slice(0, 8)}@example.co.jp` });
    const enrolment = await auth.startTotpEnrolment(user.id);
    const uri = new URL(enrolment.otpauthUri);
    expect(decodeURIComponent(uri.pathname)).toBe(`/mynaflow:${user.email}`);
    expect(uri.searchParams.get('issuer')).toBe('mynaflow');
    expect(enrolment.qrPngDataUrl).toMatch(/^data:image\/png;base64,/);
    expect(enrolment.qrSvg).toContain('<svg');

    const row = await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.twoFactorMethod).toBe('email');
    expect(row.totpSecretId).toBeNull();
    const sealed = await prisma.vaultSecret.findUniqueOrThrow({ where: { id: row.pendingTotpSecretId! } });
    expect(sealed).toMatchObject({ kind: 'totp', tenantId: user.tenantId });
    // Sealed, not stored: the Base32 secret is nowhere in the row.
    const secret = secretOf(enrolment.otpauthUri);
    expect(Buffer.from(sealed.ciphertext).toString('utf8')).not.toContain(secret);
    expect((await vault.open(sealed.id, user.tenantId)).toString('utf8')).toBe(secret);
  });

  test('starting again shreds the previous pending secret', async () => {
    const { auth } = service();
    const user = await newUser();
    await auth.startTotpEnrolment(user.id);
    const first = (await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).pendingTotpSecretId!;
    await auth.startTotpEnrolment(user.id);
    const second = (await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).pendingTotpSecretId!;
    expect(second).not.toBe(first);
    expect(await prisma.vaultSecret.count({ where: { id: first } })).toBe(0);
    expect(await prisma.vaultSecret.count({ where: { id: second } })).toBe(1);
  });

  test('confirm: a wrong code changes nothing; the right one switches to TOTP', async () => {
    const { auth, clock } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    expect(await appError(auth.confirmTotpEnrolment(user.id, '123456'))).toMatchObject({ status: 400, code: 'TOTP_ENROLMENT_NOT_STARTED' });
    const enrolment = await auth.startTotpEnrolment(user.id);
    const secret = secretOf(enrolment.otpauthUri);
    const code = await totpCode(secret, clock.now());

    expect(await appError(auth.confirmTotpEnrolment(user.id, wrongCodeFor(code)))).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    expect((await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).twoFactorMethod).toBe('email');

    await auth.confirmTotpEnrolment(user.id, code, META);
    const row = await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.twoFactorMethod).toBe('totp');
    expect(row.totpSecretId).not.toBeNull();
    expect(row.pendingTotpSecretId).toBeNull();
    expect(row.totpLastStep).toBe(BigInt(Math.floor(clock.now().getTime() / STEP)));
    const changed = await events(tenant.id, 'two_factor_method_changed');
    expect(changed.map((e) => e.detail)).toEqual([{ from: 'email', to: 'totp' }]);
    expect(JSON.stringify(changed, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toContain(secret);
  });

  test('enrolling a new device shreds the old secret', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    await enrol(auth, clock, user.id);
    const old = (await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).totpSecretId!;
    await enrol(auth, clock, user.id);
    const row = await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row.totpSecretId).not.toBe(old);
    expect(await prisma.vaultSecret.count({ where: { id: old } })).toBe(0);
  });
});

describe('TOTP login', () => {
  test('the authenticator code completes the login; nothing is mailed', async () => {
    const { auth, clock } = service();
    const tenant = await newTenant();
    const user = await newUser({ tenantId: tenant.id });
    const secret = await enrol(auth, clock, user.id);
    const before = outbox.mails.length;
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    expect(res.secondFactor).toBe('totp');
    expect((await appError(auth.resendLoginCode(res.sessionToken))).code).toBe('NOT_EMAIL_METHOD');
    const ctx = await auth.verifySecondFactor({ sessionToken: res.sessionToken, code: await totpCode(secret, clock.now()), ...META });
    expect(ctx.user.id).toBe(user.id);
    expect(await auth.authenticate(res.sessionToken)).not.toBeNull();
    expect(outbox.mails.slice(before).filter((m) => m.to.some((t) => t.includes(user.email)))).toHaveLength(0);
    expect((await events(tenant.id, 'login_succeeded')).map((e) => e.detail)).toEqual([{ method: 'totp' }]);
  });

  test('replay: an accepted code is refused on the next login, the next step works', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id);
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
    const secret = await enrol(auth, clock, user.id);
    const a = await auth.login({ email: user.email, password: user.password, ...META });
    const code = await totpCode(secret, clock.now());
    const results = await Promise.allSettled([
      auth.verifySecondFactor({ sessionToken: a.sessionToken, code, ...META }),
      auth.verifySecondFactor({ sessionToken: a.sessionToken, code, ...META }),
    ]);
    // One succeeds; the other either fails or finds the session already done: one login, not two.
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    expect(await events(user.tenantId, 'login_succeeded')).toHaveLength(1);
    expect((await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).totpLastStep).toBe(BigInt(Math.floor(clock.now().getTime() / STEP)));
  });

  test('a clock one step off is accepted; two steps off is refused', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id);
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

  test('5 wrong codes end the login and count as a failed login', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id);
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const right = await totpCode(secret, clock.now());
    for (let i = 0; i < 4; i++) await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(right), ...META }));
    expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: wrongCodeFor(right), ...META }))).code).toBe('SECOND_FACTOR_ATTEMPTS_EXCEEDED');
    expect((await appError(auth.verifySecondFactor({ sessionToken: res.sessionToken, code: right, ...META }))).code).toBe('SESSION_EXPIRED');
    expect((await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).failedLogins).toBe(1);
  });

  test('the code must follow the password within 10 minutes', async () => {
    const { auth, clock } = service();
    const user = await newUser();
    const secret = await enrol(auth, clock, user.id);
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
    await enrol(auth, clock, user.id);
    const secretId = (await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).totpSecretId!;

    // Without a mailed code there is nothing to confirm with.
    expect((await appError(auth.confirmEmailMethodSwitch(user.id, '123456'))).code).toBe('INVALID_CODE');

    await auth.startEmailMethodSwitch(user.id);
    const mail = await nextMail(user.email, EMAIL_METHOD_SUBJECT);
    const code = codeOf(mail);
    expect(await appError(auth.confirmEmailMethodSwitch(user.id, wrongCodeFor(code)))).toMatchObject({ status: 400, code: 'INVALID_CODE' });
    expect((await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } })).twoFactorMethod).toBe('totp');

    await auth.confirmEmailMethodSwitch(user.id, code, META);
    const row = await prisma.loginUser.findUniqueOrThrow({ where: { id: user.id } });
    expect(row).toMatchObject({ twoFactorMethod: 'email', totpSecretId: null, pendingTotpSecretId: null, totpLastStep: null });
    expect(await prisma.vaultSecret.count({ where: { id: secretId } })).toBe(0);
    const changed = await events(tenant.id, 'two_factor_method_changed');
    expect(changed.map((e) => e.detail)).toEqual([{ from: 'email', to: 'totp' }, { from: 'totp', to: 'email' }]);

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
    await prisma.loginUser.update({ where: { id: user.id }, data: { deletedAt: new Date() } });
    for (const id of [user.id, randomUUID()]) {
      expect(await appError(auth.startTotpEnrolment(id))).toMatchObject({ status: 404, code: 'LOGIN_USER_NOT_FOUND' });
    }
  });
});
