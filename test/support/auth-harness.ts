/**
 * The auth service on real PostgreSQL, the real vault and history and the SMTP capture, as the auth-*
 * tests use it: only the clock is injected, to make codes and sessions expire.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TwoFactorMethod } from '../../prisma/generated/client';
import { createHistory } from '../../services/audit/history';
import { LOGIN_CODE_SUBJECT } from '../../services/auth/auth-mail';
import { createAuthService, type AuthService } from '../../services/auth/auth-service';
import type { PrismaClient } from '../../services/db/client';
import { AppError } from '../../services/errors';
import { createMailTransport } from '../../services/mail/transport';
import type { CapturedMail, Outbox } from '../../services/outbox/outbox';
import { codeIn, MAIL_FROM, startOutbox, testPasswordHash, testPrisma, testVault } from './fixtures';

export const MINUTE = 60_000;
export const LOCK_MINUTES = 30;
export const IDLE_MINUTES = 30;
export const ABSOLUTE_HOURS = 12;
export const META = { ip: '203.0.113.7', userAgent: 'jest' };

export interface TestClock {
  advance(ms: number): void;
  now(): Date;
}

/** The 6-digit code in a mail; fails the test if there is none. */
export const codeOf = (mail: CapturedMail) => {
  const code = codeIn(mail.text);
  if (!code) throw new Error(`no code in mail: ${mail.subject}`);
  return code;
};

/** The AppError a call fails with; anything else (or success) fails the test. */
export async function appError(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError, but it resolved');
}

/** A 6-digit code other than `code`. */
export const wrongCodeFor = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

export interface AuthHarness {
  prisma: PrismaClient;
  outbox: Outbox;
  vault: ReturnType<typeof testVault>;
  history: ReturnType<typeof createHistory>;
}

/**
 * Registers the file's beforeAll/afterAll; the returned harness is filled in by beforeAll, and its
 * functions can be destructured.
 */
export function useAuthHarness() {
  const harness = {} as AuthHarness;

  beforeAll(async () => {
    harness.prisma = testPrisma();
    harness.outbox = await startOutbox();
    harness.vault = testVault(harness.prisma);
    harness.history = createHistory(harness.prisma, harness.vault);
  });

  afterAll(async () => {
    await harness.outbox?.close();
    await harness.prisma?.$disconnect();
  });

  /** A service with its own clock, which a test moves forward. */
  function service(opts: { smtpPort?: number } = {}): { auth: AuthService; clock: TestClock } {
    let t = Date.now();
    const clock = { advance: (ms: number) => void (t += ms), now: () => new Date(t) };
    const auth = createAuthService({
      prisma: harness.prisma,
      vault: harness.vault,
      history: harness.history,
      mailer: createMailTransport(`smtp://127.0.0.1:${opts.smtpPort ?? harness.outbox.smtpPort}`),
      mailFrom: MAIL_FROM,
      loginLockMinutes: LOCK_MINUTES,
      session: { idleMinutes: IDLE_MINUTES, absoluteHours: ABSOLUTE_HOURS },
      now: clock.now,
    });
    return { auth, clock };
  }

  async function newTenant(name = 'ログイン株式会社') {
    return harness.prisma.tenant.create({ data: { name, customerNumber: String(randomBytes(5).readUIntBE(0, 5)).padStart(13, '0') } });
  }

  async function newUser(opts: { tenantId?: string; email?: string; password?: string; name?: string; method?: TwoFactorMethod } = {}) {
    const tenantId = opts.tenantId ?? (await newTenant()).id;
    const email = opts.email ?? `hr-${randomUUID().slice(0, 8)}@example.co.jp`;
    const password = opts.password ?? `Pw-${randomBytes(6).toString('hex')}`;
    const user = await harness.prisma.loginUser.create({
      data: { tenantId, email, name: opts.name ?? '人事 花子', role: 'manager', passwordHash: await testPasswordHash(password), twoFactorMethod: opts.method ?? 'email' },
    });
    return { ...user, password };
  }

  /** Each mail is handed out once, so a test can wait for "the next" code mail. */
  const taken = new Set<string>();
  async function nextMail(to: string, subject: string): Promise<CapturedMail> {
    const mail = await harness.outbox.waitFor((m) => !taken.has(m.id) && m.subject === subject && m.to.some((t) => t.includes(to)), 10_000);
    taken.add(mail.id);
    return mail;
  }

  const events = (tenantId: string, operation?: string) =>
    harness.prisma.operationEvent.findMany({ where: { tenantId, ...(operation ? { operation } : {}) }, orderBy: { id: 'asc' } });

  /** Password step + mailed code: a fully logged-in session token. */
  async function fullLogin(auth: AuthService, user: { email: string; password: string }) {
    const res = await auth.login({ email: user.email, password: user.password, ...META });
    const code = codeOf(await nextMail(user.email, LOGIN_CODE_SUBJECT));
    await auth.verifySecondFactor({ sessionToken: res.sessionToken, code, ...META });
    return res;
  }

  return Object.assign(harness, { taken, service, newTenant, newUser, nextMail, events, fullLogin });
}
