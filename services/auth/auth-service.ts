/**
 * Login of HR staff (ログインユーザ): password, then a second factor (an e-mailed code or an
 * authenticator app), sessions, lockout, the reminder (password reset, customer number) and the
 * choice of second factor. The API layer calls this; it speaks AppError (machine code + Japanese).
 *
 * Second-factor tries are counted on a "login challenge": a security code of purpose `login` issued
 * at every password login. For the e-mail method it holds the mailed code; for TOTP it can never
 * match and only counts tries and expires. So the 5-tries-per-login limit lives in the database
 * (it holds across processes and restarts) without a column on the session.
 */
import type { Transporter } from 'nodemailer';
import type { LoginUser, Prisma, Tenant, TwoFactorMethod } from '../../prisma/generated/client';
import { SYSTEM_ACTOR, type Actor, type History, type HistoryDb } from '../audit/types';
import type { OperationCode } from '../audit/operations';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { openText, type Vault } from '../vault/types';
import { renderCustomerNumberMail, renderEmailMethodMail, renderLoginCodeMail, renderLoginLockedMail, renderPasswordResetMail, renderTotpEnrolledMail } from './auth-mail';
import { checkPasswordPolicy, hashPassword, needsRehash, verifyAgainstDummy, verifyPassword } from './passwords';
import { checkSecurityCode, issueSecurityCode, killSecurityCodes, serverKeyedHasher } from './security-codes';
import { CALLER_TENANT_FIELDS, CALLER_USER_FIELDS, createSessions, isLocked, type CallerSession, type CallerTenant, type CallerUser, type SessionWithUser } from './sessions';
import { createUnknownAddressLocks } from './unknown-address-locks';
import { generateTotpSecret, matchTotp, otpauthUri, qrCode } from './totp';

/**
 * Consecutive wrong passwords (the manual: 連続してログインに失敗) that lock a source address out of
 * the account — not the account: an attacker elsewhere cannot lock its owner out — and, asked again
 * inside a session (a reveal, a new password), that lock the account.
 */
export const MAX_FAILED_LOGINS = 5;
/** Consecutive wrong second-factor codes, across logins, that lock the account (the password is known). */
export const MAX_SECOND_FACTOR_FAILURES = 10;
/** Wrong passwords for one account in a day, from any number of addresses, that lock the account itself. */
export const MAX_SPREAD_FAILURES = 50;
/** A source locked again and again waits twice as long each time, up to a day. */
const MAX_SOURCE_LOCK_MINUTES = 24 * 60;
export const TOTP_ISSUER = 'mynaflow';

export const AUTH_ERRORS = {
  customerNumberRequired: () =>
    new AppError(400, 'CUSTOMER_NUMBER_REQUIRED', 'このメールアドレスは複数の契約で使われています。お客様番号を入力してください', [
      { path: 'customerNumber', message: 'お客様番号を入力してください', code: 'required' },
    ]),
  invalidCredentials: () => new AppError(401, 'INVALID_CREDENTIALS', 'メールアドレスまたはパスワードが正しくありません'),
  locked: () =>
    new AppError(
      423,
      'LOGIN_LOCKED',
      '連続してログインに失敗したため、ログインがロックされています。しばらくしてから再度お試しいただくか、管理者に解除を依頼してください',
    ),
  invalidCode: (status = 401) => new AppError(status, 'INVALID_CODE', '認証コードが正しくないか、有効期限が切れています'),
  tooManyCodeAttempts: () =>
    new AppError(401, 'SECOND_FACTOR_ATTEMPTS_EXCEEDED', '認証コードを続けて間違えたため、ログインを中止しました。もう一度ログインしてください'),
  sessionExpired: () => new AppError(401, 'SESSION_EXPIRED', 'ログインの有効期限が切れました。もう一度ログインしてください'),
  passwordIncorrect: () =>
    new AppError(400, 'PASSWORD_INCORRECT', 'パスワードが正しくありません', [{ path: 'password', message: 'パスワードが正しくありません', code: 'mismatch' }]),
  invalidCurrentPassword: () =>
    new AppError(400, 'INVALID_CURRENT_PASSWORD', '現在のパスワードが正しくありません', [
      { path: 'currentPassword', message: '現在のパスワードが正しくありません', code: 'mismatch' },
    ]),
  userNotFound: () => new AppError(404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません'),
  notEmailMethod: () => new AppError(400, 'NOT_EMAIL_METHOD', '認証アプリ方式では、第二認証コードはメールで送られません'),
  methodUnchanged: () => new AppError(400, 'TWO_FACTOR_METHOD_UNCHANGED', 'すでにメール認証方式です'),
  enrolmentNotStarted: () => new AppError(400, 'TOTP_ENROLMENT_NOT_STARTED', '認証アプリの登録が開始されていません。最初からやり直してください'),
  conflict: () => new AppError(409, 'CONFLICT', 'ほかの操作と重なりました。もう一度お試しください'),
  mailUnavailable: () => new AppError(503, 'MAIL_UNAVAILABLE', 'メールを送信できませんでした。しばらくしてから再度お試しください'),
};

export interface RequestMeta {
  ip?: string | null;
  userAgent?: string | null;
}

/** The caller's password asked again before something sensitive; a wrong one answers 400 and counts towards the account lock. */
export type ConfirmPassword = (userId: string, password: string, meta: RequestMeta) => Promise<unknown>;

/**
 * The caller of a session: the user's and tenant's fields a request acts with (CALLER_USER_FIELDS,
 * CALLER_TENANT_FIELDS; the API layer builds its own views from them, e.g. the lock state from
 * lockedAt). Whatever needs more (a password check, TOTP) reads the user again by id.
 */
export interface AuthContext {
  session: { id: string; csrfToken: string; secondFactorDone: boolean; createdAt: Date; lastSeenAt: Date };
  user: CallerUser;
  tenant: CallerTenant;
}

export interface LoginResult {
  sessionToken: string;
  csrfToken: string;
  secondFactor: TwoFactorMethod;
}

export interface AuthServiceDeps {
  prisma: PrismaClient;
  vault: Vault;
  history: History;
  mailer: Pick<Transporter, 'sendMail'>;
  mailFrom: string;
  loginLockMinutes: number;
  session: { idleMinutes: number; absoluteHours: number };
  now?: () => Date;
  /** told when work done after the answer (a reminder's code and mail, a lock mail) fails, with its kind */
  onBackgroundError?: (err: unknown, kind: string) => void;
}

type UserWithTenant = LoginUser & { tenant: Tenant };

const actorOf = (u: Pick<LoginUser, 'id' | 'name'>): Actor => ({ type: 'login_user', id: u.id, label: u.name });

/** Trimmed, NFKC (full-width ＠ and letters typed on a Japanese keyboard), lower case. */
function normalizeEmail(email: unknown): string | null {
  if (typeof email !== 'string') return null;
  const e = email.normalize('NFKC').trim().toLowerCase();
  return e.length >= 3 && e.length <= 254 && e.includes('@') ? e : null;
}

function normalizeCustomerNumber(n: unknown): string | null {
  if (typeof n !== 'string') return null;
  const c = n.normalize('NFKC').trim();
  return c === '' || c.length > 64 ? null : c;
}

const pick = <T, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> => Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

/** A session read whole (the login steps) as findCaller reads it: the caller's fields only, no password hash. */
const asCaller = (s: SessionWithUser): CallerSession => ({ ...s, loginUser: { ...pick(s.loginUser, CALLER_USER_FIELDS), tenant: pick(s.loginUser.tenant, CALLER_TENANT_FIELDS) } });

/** A session as the request acting with it sees it (findCaller already read only the caller's fields). */
const toContext = (s: CallerSession): AuthContext => ({
  session: { id: s.id, csrfToken: s.csrfToken, secondFactorDone: s.secondFactorDone, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt },
  user: (({ tenant: _tenant, ...user }) => user)(s.loginUser),
  tenant: s.loginUser.tenant,
});

export function createAuthService(deps: AuthServiceDeps) {
  const { prisma, vault, history, mailer, mailFrom, loginLockMinutes } = deps;
  const now = deps.now ?? (() => new Date());
  const sessions = createSessions({ prisma, ...deps.session, loginLockMinutes, now });
  const unknownLocks = createUnknownAddressLocks({ prisma, vault, loginLockMinutes, maxFailures: MAX_FAILED_LOGINS, maxSpreadFailures: MAX_SPREAD_FAILURES, maxSourceLockMinutes: MAX_SOURCE_LOCK_MINUTES, now });
  // Codes are kept keyed by the master key as well as their row (security-codes.ts).
  const hasher = serverKeyedHasher(vault);
  /** reminder mails still being delivered (see requestPasswordReset) */
  const background = new Set<Promise<void>>();

  const record = (
    user: Pick<LoginUser, 'id' | 'name' | 'tenantId'>,
    operation: OperationCode,
    meta: RequestMeta,
    detail?: Prisma.InputJsonObject,
    db?: HistoryDb,
  ) => history.record({ tenantId: user.tenantId, actor: actorOf(user), operation, ip: meta.ip ?? null, userAgent: meta.userAgent ?? null, detail }, db);

  async function send(to: string, mail: { subject: string; text: string }): Promise<void> {
    try {
      await mailer.sendMail({ from: mailFrom, to, subject: mail.subject, text: mail.text, headers: { 'Auto-Submitted': 'auto-generated' } });
    } catch {
      // The transport's error may quote the message (and so the code): it is not passed on.
      throw AUTH_ERRORS.mailUnavailable();
    }
  }

  /** Delivered after the call returns, so the response time does not tell whether an account exists. */
  function sendInBackground(to: string, mail: { subject: string; text: string }, kind: string): void {
    inBackground(kind, () => send(to, mail));
  }

  /** Work the answer must not wait for (its time would tell whether an account exists). */
  function inBackground(kind: string, work: () => Promise<unknown>): void {
    const p = work().then(() => undefined, (err: unknown) => deps.onBackgroundError?.(err, kind));
    background.add(p);
    void p.finally(() => background.delete(p));
  }

  async function usersByEmail(email: unknown): Promise<UserWithTenant[]> {
    const address = normalizeEmail(email);
    if (!address) return [];
    return prisma.loginUser.findMany({
      where: { email: { equals: address, mode: 'insensitive' }, deletedAt: null },
      include: { tenant: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  async function liveUser(userId: string): Promise<UserWithTenant> {
    const user = await prisma.loginUser.findFirst({ where: { id: userId, deletedAt: null }, include: { tenant: true } });
    if (!user) throw AUTH_ERRORS.userNotFound();
    return user;
  }

  /**
   * Locks the account (once, however many failures arrive at once; a lock that ran out counts as
   * none), records it and mails the user. While locked no session of the account is accepted.
   */
  async function lockAccount(user: UserWithTenant, meta: RequestMeta, reason: 'second_factor' | 'reauthentication' | 'password_spread', failures: number): Promise<void> {
    const at = now();
    const { count } = await prisma.loginUser.updateMany({
      where: { id: user.id, OR: [{ lockedAt: null }, { lockedAt: { lte: new Date(at.getTime() - loginLockMinutes * 60_000) } }] },
      // The lock is the consequence of the count: after it runs out, ten more wrong codes are needed.
      data: { lockedAt: at, ...(reason === 'second_factor' ? { secondFactorFailures: 0 } : {}) },
    });
    if (count !== 1) return;
    if (reason === 'reauthentication') await sessions.revokeAllForUser(user.id);
    await record(user, 'login_locked', meta, { reason, consecutiveFailures: failures, lockMinutes: loginLockMinutes });
    const until = new Date(at.getTime() + loginLockMinutes * 60_000);
    sendInBackground(user.email, renderLoginLockedMail({ userName: user.name, companyName: user.tenant.name, reason, source: null, until }), 'login_locked');
  }

  /** A wrong password asked again in a session; the fifth in a row locks the account and ends its sessions. */
  async function countReauthFailure(user: UserWithTenant, meta: RequestMeta): Promise<boolean> {
    const updated =
      user.lockedAt !== null
        ? await prisma.loginUser.update({ where: { id: user.id }, data: { failedLogins: 1, lockedAt: null } })
        : await prisma.loginUser.update({ where: { id: user.id }, data: { failedLogins: { increment: 1 } } });
    await record(user, 'login_failed', meta, { reason: 'reauthentication', consecutiveFailures: updated.failedLogins });
    if (updated.failedLogins < MAX_FAILED_LOGINS) return false;
    await lockAccount(user, meta, 'reauthentication', updated.failedLogins);
    return true;
  }

  /**
   * The source a login comes from: the client address as the API sees it (TRUST_PROXY); an IPv6
   * address by its /64 (one customer line holds a whole /64 to rotate through).
   */
  const sourceOf = (meta: RequestMeta): string => {
    const ip = (meta.ip || '-').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    if (!ip.includes(':')) return ip;
    const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
    return `${groups.slice(0, 4).map((g) => parseInt(g || '0', 16).toString(16)).join(':')}::/64`;
  };

  /** Until when the source is locked out of the account, or null. */
  async function sourceLockedUntil(user: LoginUser, meta: RequestMeta): Promise<Date | null> {
    const row = await prisma.loginSourceLock.findUnique({ where: { loginUserId_source: { loginUserId: user.id, source: sourceOf(meta) } } });
    return row?.lockedUntil && row.lockedUntil > now() ? row.lockedUntil : null;
  }

  /**
   * A wrong password at login, counted for this account from this source; the fifth in a row locks
   * the source out (30 minutes, doubling with each lock, up to a day), records it and mails the
   * user. The account's sessions go on, and other sources are not affected.
   */
  async function countPasswordFailure(user: UserWithTenant, meta: RequestMeta): Promise<boolean> {
    const source = sourceOf(meta);
    const [counted] = await prisma.$queryRaw<{ failures: number }[]>`
      INSERT INTO login_source_locks (login_user_id, source, failures) VALUES (${user.id}::uuid, ${source}, 1)
      ON CONFLICT (login_user_id, source) DO UPDATE SET failures = login_source_locks.failures + 1, updated_at = now()
      RETURNING failures`;
    const failures = counted!.failures;
    await record(user, 'login_failed', meta, { reason: 'password', consecutiveFailures: failures });
    // Guessing spread over many addresses: past MAX_SPREAD_FAILURES wrong passwords for the account
    // in a day, from wherever, the account itself is locked (and its owner mailed). A locked address
    // counts its five once: one patient address is slowed by its own doubling locks instead.
    const [spread] = await prisma.$queryRaw<{ total: number }[]>`
      SELECT (COALESCE(SUM(failures), 0) + ${MAX_FAILED_LOGINS}::int * COUNT(*) FILTER (WHERE locks > 0))::int AS total
        FROM login_source_locks WHERE login_user_id = ${user.id}::uuid AND updated_at > now() - interval '1 day'`;
    if (spread && spread.total >= MAX_SPREAD_FAILURES) {
      await lockAccount(user, meta, 'password_spread', spread.total);
      return true;
    }
    if (failures < MAX_FAILED_LOGINS) return false;
    // Conditional, so failures arriving at once lock (and record it) once.
    const at = now();
    const locked = await prisma.$queryRaw<{ locks: number; locked_until: Date }[]>`
      UPDATE login_source_locks
         SET failures = 0, locks = locks + 1,
             locked_until = ${at}::timestamptz + make_interval(mins => LEAST(${loginLockMinutes}::int * (2 ^ LEAST(locks, 10))::int, ${MAX_SOURCE_LOCK_MINUTES}::int)),
             updated_at = now()
       WHERE login_user_id = ${user.id}::uuid AND source = ${source} AND failures >= ${MAX_FAILED_LOGINS}
      RETURNING locks, locked_until`;
    if (locked.length === 1) {
      const { locks, locked_until: until } = locked[0]!;
      await record(user, 'login_locked', meta, { reason: 'password', consecutiveFailures: failures, lockMinutes: Math.round((until.getTime() - at.getTime()) / 60_000), locks });
      sendInBackground(user.email, renderLoginLockedMail({ userName: user.name, companyName: user.tenant.name, reason: 'password', source: meta.ip ?? null, until }), 'login_locked');
    }
    return true;
  }

  /**
   * The password asked again before a sensitive step (a reveal, a new password). A wrong one counts
   * like a failed login, so a stolen session cannot be used to guess the password: the fifth locks
   * the account and ends its sessions.
   */
  async function confirmPassword(userId: string, password: string, meta: RequestMeta, wrong = AUTH_ERRORS.passwordIncorrect): Promise<UserWithTenant> {
    const user = await liveUser(userId);
    if (await verifyPassword(password, user.passwordHash)) {
      if (user.failedLogins !== 0) await prisma.loginUser.update({ where: { id: user.id }, data: { failedLogins: 0 } });
      return user;
    }
    if (await countReauthFailure(user, meta)) throw AUTH_ERRORS.locked();
    throw wrong();
  }

  /** Opens the challenge of a password login; mails the code for the e-mail method. */
  async function startChallenge(user: UserWithTenant, attempts = 0): Promise<void> {
    const at = now();
    if (user.twoFactorMethod === 'totp') {
      await issueSecurityCode(prisma, { hasher, loginUserId: user.id, purpose: 'login', now: at, unguessable: true });
      return;
    }
    const issued = await issueSecurityCode(prisma, { hasher, loginUserId: user.id, purpose: 'login', now: at, attempts });
    await send(user.email, renderLoginCodeMail({ userName: user.name, companyName: user.tenant.name, code: issued.code, expiresAt: issued.expiresAt }));
  }

  /**
   * A transaction that records history: READ COMMITTED is what the history's chain lock needs,
   * and the wait allows for other writers of the same tenant queueing on that lock.
   */
  const transaction = <T>(fn: (tx: Prisma.TransactionClient) => Promise<T>): Promise<T> =>
    prisma.$transaction(fn, { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 30_000 });

  return {
    confirmPassword,

    /** First step: e-mail and password (and the customer number when the address is in several tenants). */
    async login(input: { email: string; password: string; customerNumber?: string | null } & RequestMeta): Promise<LoginResult> {
      const meta = { ip: input.ip, userAgent: input.userAgent };
      const all = await usersByEmail(input.email);
      const customerNumber = normalizeCustomerNumber(input.customerNumber);
      const candidates = customerNumber === null ? all : all.filter((u) => u.tenant.customerNumber === customerNumber);
      // Two rows in one tenant differing only in letter case cannot be told apart: refuse both.
      const user = candidates.length === 1 ? candidates[0]! : undefined;
      if (!user) {
        // No single account: answered as an account with a wrong password would be (locks included).
        const source = sourceOf(meta);
        if (await unknownLocks.locked(input.email, source)) {
          await verifyAgainstDummy(input.password);
          throw AUTH_ERRORS.locked();
        }
        // Several accounts and no customer number: said only to someone who knows one's password
        // (checked against all at once, so the time does not tell how many there are).
        const matches = candidates.length > 1 && customerNumber === null && typeof input.password === 'string' ? await Promise.all(candidates.map((u) => verifyPassword(input.password, u.passwordHash))) : [await verifyAgainstDummy(input.password)];
        if (matches.some(Boolean)) throw AUTH_ERRORS.customerNumberRequired();
        if (await unknownLocks.countFailure(input.email, source)) throw AUTH_ERRORS.locked();
        throw AUTH_ERRORS.invalidCredentials();
      }
      if (isLocked(user, now(), loginLockMinutes) || (await sourceLockedUntil(user, meta))) {
        // No password check while locked: the lock exists to stop guessing.
        await verifyAgainstDummy(input.password);
        await record(user, 'login_failed', meta, { reason: 'locked' });
        throw AUTH_ERRORS.locked();
      }
      const ok = typeof input.password === 'string' && (await verifyPassword(input.password, user.passwordHash));
      if (!ok) {
        if (await countPasswordFailure(user, meta)) throw AUTH_ERRORS.locked();
        throw AUTH_ERRORS.invalidCredentials();
      }
      // The right password clears this source's count; never the second-factor count (the password
      // may be what an attacker has).
      await prisma.loginSourceLock.deleteMany({ where: { loginUserId: user.id, source: sourceOf(meta) } });
      const data: Prisma.LoginUserUpdateInput = {};
      if (user.failedLogins !== 0 || user.lockedAt !== null) Object.assign(data, { failedLogins: 0, lockedAt: null });
      if (needsRehash(user.passwordHash)) data.passwordHash = await hashPassword(input.password);
      if (Object.keys(data).length) await prisma.loginUser.update({ where: { id: user.id }, data });

      const { token, csrfToken, session } = await sessions.create({ tenantId: user.tenantId, loginUserId: user.id, ...meta });
      try {
        await startChallenge(user);
      } catch (err) {
        await sessions.revokeById(session.id);
        throw err;
      }
      return { sessionToken: token, csrfToken, secondFactor: user.twoFactorMethod };
    },

    /** Second step: the mailed code or the authenticator's code. */
    async verifySecondFactor(input: { sessionToken: string; code: string } & RequestMeta): Promise<AuthContext> {
      const meta = { ip: input.ip, userAgent: input.userAgent };
      const s = await sessions.find(input.sessionToken);
      if (!s) throw AUTH_ERRORS.sessionExpired();
      if (s.secondFactorDone) return toContext(asCaller(s));
      const user = s.loginUser;
      const method = user.twoFactorMethod;
      const at = now();

      // The try is counted on the challenge first (for TOTP the challenge itself never matches).
      const check = await checkSecurityCode(prisma, { hasher, loginUserIds: [user.id], purpose: 'login', code: method === 'email' ? input.code : null, now: at });
      let ok = check.ok;
      if (!check.ok && method === 'totp' && check.tried > 0 && user.totpSecretId) {
        const secret = await openText(vault, user.totpSecretId, user.tenantId);
        const step = secret === null ? null : await matchTotp(secret, input.code, at, user.totpLastStep);
        if (step !== null) {
          // Claiming the step atomically refuses the same code sent twice at once.
          const claimed = await prisma.loginUser.updateMany({
            where: { id: user.id, OR: [{ totpLastStep: null }, { totpLastStep: { lt: BigInt(step) } }] },
            data: { totpLastStep: BigInt(step) },
          });
          ok = claimed.count === 1;
          if (ok) await killSecurityCodes(prisma, [user.id], 'login', at);
        }
      }

      if (ok) {
        const done = await prisma.session.updateMany({ where: { id: s.id }, data: { secondFactorDone: true } });
        if (done.count !== 1) throw AUTH_ERRORS.sessionExpired(); // revoked meanwhile
        if (user.secondFactorFailures !== 0) await prisma.loginUser.update({ where: { id: user.id }, data: { secondFactorFailures: 0 } });
        await record(user, 'login_succeeded', meta, { method });
        s.secondFactorDone = true;
        return toContext(asCaller(s));
      }

      await record(user, 'second_factor_failed', meta, { method, attempts: check.ok ? 0 : check.attempts });
      if (!check.ok && check.tried > 0) {
        // Counted per account across logins: a new login (the password again) does not reset it.
        const { secondFactorFailures } = await prisma.loginUser.update({ where: { id: user.id }, data: { secondFactorFailures: { increment: 1 } }, select: { secondFactorFailures: true } });
        if (secondFactorFailures >= MAX_SECOND_FACTOR_FAILURES) {
          await sessions.revokeById(s.id);
          await record(user, 'login_failed', meta, { reason: 'second_factor', consecutiveFailures: secondFactorFailures });
          await lockAccount(user, meta, 'second_factor', secondFactorFailures);
          throw AUTH_ERRORS.locked();
        }
      }
      if (!check.ok && check.tried === 0) {
        // No live challenge (expired, or replaced by a newer login): the e-mail method can ask
        // for a new code; an authenticator user must log in again.
        if (method === 'totp') {
          await sessions.revokeById(s.id);
          throw AUTH_ERRORS.sessionExpired();
        }
        throw AUTH_ERRORS.invalidCode();
      }
      if (!check.ok && !check.live) {
        await sessions.revokeById(s.id);
        throw AUTH_ERRORS.tooManyCodeAttempts();
      }
      throw AUTH_ERRORS.invalidCode();
    },

    /** A new e-mailed code for a login waiting for it; the tries already used stay used. */
    async resendLoginCode(sessionToken: string): Promise<void> {
      const s = await sessions.find(sessionToken);
      if (!s) throw AUTH_ERRORS.sessionExpired();
      if (s.loginUser.twoFactorMethod !== 'email') throw AUTH_ERRORS.notEmailMethod();
      if (s.secondFactorDone) return;
      const previous = await prisma.securityCode.findFirst({
        where: { loginUserId: s.loginUserId, purpose: 'login', createdAt: { gte: s.createdAt } },
        orderBy: { createdAt: 'desc' },
        select: { attempts: true },
      });
      await startChallenge(s.loginUser, previous?.attempts ?? 0);
    },

    async logout(sessionToken: string, meta: RequestMeta = {}): Promise<void> {
      const s = await sessions.find(sessionToken, { touch: false });
      if (!s) return;
      await sessions.revokeById(s.id);
      if (s.secondFactorDone) await record(s.loginUser, 'logout', meta);
    },

    /**
     * The user of a fully logged-in session, or null. With `allowSecondFactorPending` a session
     * whose password step is done but second factor is not is returned too (session.secondFactorDone
     * tells which): that is what the second-factor page needs.
     */
    async authenticate(sessionToken: string, opts: { allowSecondFactorPending?: boolean } = {}): Promise<AuthContext | null> {
      const s = await sessions.findCaller(sessionToken);
      if (!s) return null;
      if (!s.secondFactorDone && !opts.allowSecondFactorPending) return null;
      return toContext(s);
    },

    /** Ends the user's other sessions; `keepSessionToken` names the one making the change. */
    async changePassword(
      userId: string,
      current: string,
      next: string,
      opts: RequestMeta & { keepSessionToken?: string } = {},
    ): Promise<{ revokedSessions: number }> {
      checkPasswordPolicy(next);
      const user = await confirmPassword(userId, current, opts, AUTH_ERRORS.invalidCurrentPassword);
      const passwordHash = await hashPassword(next);
      const keep = opts.keepSessionToken ? await sessions.find(opts.keepSessionToken, { touch: false }) : null;
      return transaction(async (tx) => {
        await tx.loginUser.update({ where: { id: user.id }, data: { passwordHash, passwordChangedAt: now() } });
        const revokedSessions = await sessions.revokeAllForUser(user.id, { exceptSessionId: keep?.loginUserId === user.id ? keep.id : undefined }, tx);
        await record(user, 'password_changed', opts, { revokedSessions }, tx);
        return { revokedSessions };
      });
    },

    /**
     * リマインダー (password): mails a security code to every account of the address (or the one of
     * the customer number). Resolves the same way whether or not an account exists, and mails are
     * delivered in the background so the response time does not tell either.
     */
    async requestPasswordReset(input: { email: string; customerNumber?: string | null } & RequestMeta): Promise<void> {
      const customerNumber = normalizeCustomerNumber(input.customerNumber);
      const users = (await usersByEmail(input.email)).filter((u) => customerNumber === null || u.tenant.customerNumber === customerNumber);
      const at = now();
      // Answered at once; the codes, history rows and mails follow (the answer's time tells nothing).
      inBackground('password_reset', async () => {
        for (const user of users) {
          const issued = await issueSecurityCode(prisma, { hasher, loginUserId: user.id, purpose: 'password_reset', now: at });
          await record(user, 'password_reset_requested', input);
          sendInBackground(
            user.email,
            renderPasswordResetMail({
              userName: user.name,
              companyName: user.tenant.name,
              customerNumber: user.tenant.customerNumber,
              code: issued.code,
              expiresAt: issued.expiresAt,
            }),
            'password_reset',
          );
        }
      });
    },

    /**
     * Sets a new password with the mailed security code. The code names the account among those of
     * the address. A weak password is refused before the code is tried, so nothing changes and the
     * code stays usable.
     */
    async resetPassword(input: { email: string; code: string; newPassword: string; customerNumber?: string | null } & RequestMeta): Promise<void> {
      checkPasswordPolicy(input.newPassword);
      const customerNumber = normalizeCustomerNumber(input.customerNumber);
      const users = (await usersByEmail(input.email)).filter((u) => customerNumber === null || u.tenant.customerNumber === customerNumber);
      const passwordHash = await hashPassword(input.newPassword); // also when no account: same time
      const at = now();
      // The counted try commits even when the code is wrong: the transaction returns, never throws.
      const done = await transaction(async (tx) => {
        const check = await checkSecurityCode(tx, { hasher, loginUserIds: users.map((u) => u.id), purpose: 'password_reset', code: input.code, now: at });
        if (!check.ok) return false;
        const user = users.find((u) => u.id === check.loginUserId)!;
        await tx.loginUser.update({ where: { id: user.id }, data: { passwordHash, passwordChangedAt: at, failedLogins: 0, lockedAt: null } });
        await tx.loginSourceLock.deleteMany({ where: { loginUserId: user.id } });
        const revokedSessions = await sessions.revokeAllForUser(user.id, {}, tx);
        await record(user, 'password_reset', input, { revokedSessions, unlocked: user.lockedAt !== null }, tx);
        return true;
      });
      if (!done) throw AUTH_ERRORS.invalidCode(400);
    },

    /** リマインダー (customer number): one mail with one code for all accounts of the address. */
    async requestCustomerNumberReminder(input: { email: string } & RequestMeta): Promise<void> {
      const users = await usersByEmail(input.email);
      if (users.length === 0) return;
      // Answered at once; the code and the mail follow (the answer's time tells nothing).
      inBackground('customer_number', async () => {
        const at = now();
        let code: string | undefined;
        let expiresAt = at;
        for (const user of users) {
          const issued = await issueSecurityCode(prisma, { hasher, loginUserId: user.id, purpose: 'customer_number', now: at, code });
          code = issued.code;
          expiresAt = issued.expiresAt;
        }
        await send(users[0]!.email, renderCustomerNumberMail({ code: code!, expiresAt }));
      });
    },

    async revealCustomerNumbers(input: { email: string; code: string } & RequestMeta): Promise<{ customerNumber: string; tenantName: string }[]> {
      const users = await usersByEmail(input.email);
      const at = now();
      const ids = users.map((u) => u.id);
      const check = await checkSecurityCode(prisma, { hasher, loginUserIds: ids, purpose: 'customer_number', code: input.code, now: at });
      if (!check.ok) throw AUTH_ERRORS.invalidCode(400);
      await killSecurityCodes(prisma, ids, 'customer_number', at); // the same code on the other rows
      for (const user of users) await record(user, 'customer_number_reminded', input);
      return users
        .map((u) => ({ customerNumber: u.tenant.customerNumber, tenantName: u.tenant.name }))
        .sort((a, b) => a.tenantName.localeCompare(b.tenantName, 'ja') || a.customerNumber.localeCompare(b.customerNumber));
    },

    /**
     * Starts (or restarts) enrolling an authenticator app. The secret is sealed in the vault as the
     * pending one and leaves only inside the URI/QR code shown to the user.
     */
    /**
     * Starts switching to an authenticator app: the password again first (a session left open on
     * someone else's screen must not be enough to bind the account to another person's phone).
     */
    async startTotpEnrolment(userId: string, password: string, meta: RequestMeta = {}): Promise<{ otpauthUri: string; qrPngDataUrl: string; qrSvg: string }> {
      const user = await confirmPassword(userId, password, meta);
      const secret = generateTotpSecret();
      const uri = otpauthUri({ secret, accountName: user.email, issuer: TOTP_ISSUER });
      const qr = await qrCode(uri);
      await transaction(async (tx) => {
        const secretId = await vault.seal({ tenantId: user.tenantId, kind: 'totp', plaintext: Buffer.from(secret, 'utf8') }, tx);
        const current = await tx.loginUser.findUniqueOrThrow({ where: { id: user.id }, select: { pendingTotpSecretId: true } });
        // Conditional on what was read, so two starts at once cannot leave an orphaned secret.
        const { count } = await tx.loginUser.updateMany({
          where: { id: user.id, pendingTotpSecretId: current.pendingTotpSecretId },
          data: { pendingTotpSecretId: secretId },
        });
        if (count !== 1) throw AUTH_ERRORS.conflict();
        if (current.pendingTotpSecretId) await vault.shred([current.pendingTotpSecretId], tx);
      });
      return { otpauthUri: uri, qrPngDataUrl: qr.pngDataUrl, qrSvg: qr.svg };
    },

    /**
     * A code from the new app proves it: the method becomes TOTP, any old secret is shredded, the
     * user's other sessions end and the user is told by mail.
     */
    async confirmTotpEnrolment(userId: string, code: string, meta: RequestMeta & { keepSessionToken?: string } = {}): Promise<void> {
      const user = await liveUser(userId);
      const pendingId = user.pendingTotpSecretId;
      if (!pendingId) throw AUTH_ERRORS.enrolmentNotStarted();
      const secret = await openText(vault, pendingId, user.tenantId);
      if (secret === null) throw AUTH_ERRORS.enrolmentNotStarted();
      const step = await matchTotp(secret, code, now(), null);
      if (step === null) throw AUTH_ERRORS.invalidCode(400);
      const keep = meta.keepSessionToken ? await sessions.find(meta.keepSessionToken, { touch: false }) : null;
      const endedSessions = await transaction(async (tx) => {
        const { count } = await tx.loginUser.updateMany({
          where: { id: user.id, pendingTotpSecretId: pendingId },
          // The confirming code's step counts as used: it cannot log in a second time.
          data: { twoFactorMethod: 'totp', totpSecretId: pendingId, pendingTotpSecretId: null, totpLastStep: BigInt(step) },
        });
        if (count !== 1) throw AUTH_ERRORS.conflict();
        if (user.totpSecretId) await vault.shred([user.totpSecretId], tx);
        const ended = await sessions.revokeAllForUser(user.id, { exceptSessionId: keep?.loginUserId === user.id ? keep.id : undefined }, tx);
        await record(user, 'two_factor_method_changed', meta, { from: user.twoFactorMethod, to: 'totp', revokedSessions: ended }, tx);
        return ended;
      });
      sendInBackground(user.email, renderTotpEnrolledMail({ userName: user.name, companyName: user.tenant.name, at: now(), endedSessions }), 'totp_enrolled');
    },

    /** Switching back to e-mail: first prove the address receives mail. */
    async startEmailMethodSwitch(userId: string): Promise<void> {
      const user = await liveUser(userId);
      if (user.twoFactorMethod === 'email') throw AUTH_ERRORS.methodUnchanged();
      const issued = await issueSecurityCode(prisma, { hasher, loginUserId: user.id, purpose: 'email_method', now: now() });
      await send(user.email, renderEmailMethodMail({ userName: user.name, companyName: user.tenant.name, code: issued.code, expiresAt: issued.expiresAt }));
    },

    async confirmEmailMethodSwitch(userId: string, code: string, meta: RequestMeta = {}): Promise<void> {
      const user = await liveUser(userId);
      if (user.twoFactorMethod === 'email') throw AUTH_ERRORS.methodUnchanged();
      const at = now();
      const done = await transaction(async (tx) => {
        const check = await checkSecurityCode(tx, { hasher, loginUserIds: [user.id], purpose: 'email_method', code, now: at });
        if (!check.ok) return false;
        await tx.loginUser.update({
          where: { id: user.id },
          data: { twoFactorMethod: 'email', totpSecretId: null, pendingTotpSecretId: null, totpLastStep: null },
        });
        const ids = [user.totpSecretId, user.pendingTotpSecretId].filter((id): id is string => id !== null);
        if (ids.length) await vault.shred(ids, tx);
        await record(user, 'two_factor_method_changed', meta, { from: 'totp', to: 'email' }, tx);
        return true;
      });
      if (!done) throw AUTH_ERRORS.invalidCode(400);
    },

    /** Clears the lock and the failure count (permission checks are the caller's). */
    async unlockUser(userId: string, by: RequestMeta & { actor?: Actor } = {}): Promise<void> {
      const user = await liveUser(userId);
      await prisma.$transaction([
        prisma.loginUser.update({ where: { id: user.id }, data: { lockedAt: null, failedLogins: 0, secondFactorFailures: 0 } }),
        prisma.loginSourceLock.deleteMany({ where: { loginUserId: user.id } }),
      ]);
      await history.record({
        tenantId: user.tenantId,
        actor: by.actor ?? SYSTEM_ACTOR,
        operation: 'login_unlocked',
        ip: by.ip ?? null,
        userAgent: by.userAgent ?? null,
        detail: { loginUserId: user.id, name: user.name },
      });
    },

    /** Waits for reminder mails still being delivered (tests, graceful shutdown). */
    async drain(): Promise<void> {
      while (background.size) await Promise.all([...background]);
    },
  };
}

export type AuthService = ReturnType<typeof createAuthService>;
