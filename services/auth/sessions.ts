/**
 * Console sessions. The browser holds a random token; the database holds only its SHA-256, so a
 * leaked table cannot be replayed as cookies. A session ends after `idleMinutes` without use or
 * `absoluteHours` after login, whichever comes first; an ended session is deleted when found.
 */
import { randomBytes } from 'node:crypto';
import type { LoginUser, Session, Tenant } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { directSql } from '../db/direct-sql';
import { PREPARED } from '../db/statement-names';
import { hashToken } from './token-hash';
import { LOGIN_USER_COLUMNS, pickModel, selectColumns, SESSION_COLUMNS, someColumns, TENANT_COLUMNS, type ModelColumns } from '../db/raw-rows';
import { Prisma } from '../../prisma/generated/client';

/** lastSeenAt is written at most this often: a page with many requests costs one write a minute. */
export const TOUCH_INTERVAL_MS = 60_000;

export type SessionDb = Pick<PrismaClient, 'session'>;

export const hashSessionToken = hashToken;

export type SessionWithUser = Session & { loginUser: LoginUser & { tenant: Tenant } };

/**
 * What a request made with a session needs of its user (who acts, the role, the console's own
 * view of itself, whether the session has ended) and of the tenant. Every console request reads
 * these, so they are all it reads: not the password hash, the TOTP secrets' ids or the tenant's
 * contract details (half of the columns, and the hash need not sit in every request's memory).
 */
export const CALLER_USER_FIELDS = [
  'id', 'tenantId', 'email', 'name', 'role', 'kind', 'department', 'note', 'pendingEmail', 'pendingEmailExpiresAt', 'twoFactorMethod', 'lockedAt', 'deletedAt', 'createdAt',
] as const satisfies readonly (keyof LoginUser)[];
export const CALLER_TENANT_FIELDS = ['id', 'name', 'sandbox', 'customerNumber', 'purposes'] as const satisfies readonly (keyof Tenant)[];
export type CallerUser = Pick<LoginUser, (typeof CALLER_USER_FIELDS)[number]>;
export type CallerTenant = Pick<Tenant, (typeof CALLER_TENANT_FIELDS)[number]>;
export type CallerSession = Session & { loginUser: CallerUser & { tenant: CallerTenant } };

const sessionWith = (user: ModelColumns, tenant: ModelColumns) => Prisma.sql`${Prisma.raw(PREPARED)}SELECT ${selectColumns('s', SESSION_COLUMNS, 's_')}, ${selectColumns('u', user, 'u_')}, ${selectColumns('t', tenant, 't_')}
  FROM sessions s JOIN login_users u ON u.id = s.login_user_id JOIN tenants t ON t.id = u.tenant_id`;
const FULL = { user: LOGIN_USER_COLUMNS, tenant: TENANT_COLUMNS, sql: sessionWith(LOGIN_USER_COLUMNS, TENANT_COLUMNS) };
const CALLER_USER_COLUMNS = someColumns(LOGIN_USER_COLUMNS, CALLER_USER_FIELDS);
const CALLER_TENANT_COLUMNS = someColumns(TENANT_COLUMNS, CALLER_TENANT_FIELDS);
const CALLER = { user: CALLER_USER_COLUMNS, tenant: CALLER_TENANT_COLUMNS, sql: sessionWith(CALLER_USER_COLUMNS, CALLER_TENANT_COLUMNS) };

export interface SessionsOptions {
  prisma: PrismaClient;
  idleMinutes: number;
  absoluteHours: number;
  /** a login user locked longer ago than this is no longer locked */
  loginLockMinutes: number;
  now?: () => Date;
}

export interface Sessions {
  create(input: { tenantId: string; loginUserId: string; ip?: string | null; userAgent?: string | null }, db?: SessionDb): Promise<{ token: string; csrfToken: string; session: Session }>;
  /** The live session of a token (touched unless `touch: false`), or null; an ended one is deleted. */
  find(token: string, opts?: { touch?: boolean }): Promise<SessionWithUser | null>;
  /** As find, with only what a request acting with the session needs (CALLER_USER_FIELDS, CALLER_TENANT_FIELDS). */
  findCaller(token: string): Promise<CallerSession | null>;
  touch(session: Session): Promise<void>;
  revoke(token: string): Promise<boolean>;
  revokeById(id: string, db?: SessionDb): Promise<void>;
  /** Ends every session of the user, except one (e.g. the one changing its password). */
  revokeAllForUser(loginUserId: string, opts?: { exceptSessionId?: string }, db?: SessionDb): Promise<number>;
  /** Why a session found in the database is no longer valid, or null if it is. */
  endedBecause(session: CallerSession): 'idle' | 'absolute' | 'user_deleted' | 'user_locked' | null;
}

export const isLocked = (user: Pick<LoginUser, 'lockedAt'>, now: Date, lockMinutes: number): boolean =>
  user.lockedAt !== null && now.getTime() < user.lockedAt.getTime() + lockMinutes * 60_000;

export function createSessions(opts: SessionsOptions): Sessions {
  const { prisma, idleMinutes, absoluteHours, loginLockMinutes } = opts;
  const now = opts.now ?? (() => new Date());

  const endedBecause: Sessions['endedBecause'] = (s) => {
    const t = now().getTime();
    if (t >= s.lastSeenAt.getTime() + idleMinutes * 60_000) return 'idle';
    if (t >= s.createdAt.getTime() + absoluteHours * 3_600_000) return 'absolute';
    if (s.loginUser.deletedAt !== null) return 'user_deleted';
    if (isLocked(s.loginUser, now(), loginLockMinutes)) return 'user_locked';
    return null;
  };

  const touch: Sessions['touch'] = async (session) => {
    const at = now();
    if (at.getTime() - session.lastSeenAt.getTime() < TOUCH_INTERVAL_MS) return;
    // Conditional, so two requests in the same minute write once and time never runs backwards.
    await prisma.session.updateMany({ where: { id: session.id, lastSeenAt: { lt: at } }, data: { lastSeenAt: at } });
    session.lastSeenAt = at;
  };

  /** The live session of a token with its user and tenant as `shape` reads them, or null; an ended one is deleted. */
  async function findWith<T extends CallerSession>(shape: { user: ModelColumns; tenant: ModelColumns; sql: Prisma.Sql }, token: string, touching: boolean): Promise<T | null> {
    if (typeof token !== 'string' || token.length < 32 || token.length > 128) return null;
    // Every console request starts here: one plain SELECT on the pool, not a Prisma query with includes.
    const [row] = await (await directSql(prisma)).$queryRaw<Record<string, unknown>[]>`${shape.sql} WHERE s.id = ${hashSessionToken(token)}`;
    if (!row) return null;
    // The shape's columns are T's fields (FULL: every one; CALLER: the caller's).
    const session = {
      ...pickModel<Session>(row, SESSION_COLUMNS, 's_'),
      loginUser: { ...pickModel<CallerUser>(row, shape.user, 'u_'), tenant: pickModel<CallerTenant>(row, shape.tenant, 't_') },
    } as CallerSession as T;
    if (endedBecause(session) !== null) {
      await prisma.session.deleteMany({ where: { id: session.id } });
      return null;
    }
    if (touching) await touch(session);
    return session;
  }

  return {
    async create(input, db = prisma) {
      const token = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const at = now();
      const session = await db.session.create({
        data: {
          id: hashSessionToken(token),
          tenantId: input.tenantId,
          loginUserId: input.loginUserId,
          csrfToken,
          ip: input.ip ?? null,
          userAgent: input.userAgent ?? null,
          createdAt: at,
          lastSeenAt: at,
        },
      });
      return { token, csrfToken, session };
    },

    find: (token, findOpts = {}) => findWith<SessionWithUser>(FULL, token, findOpts.touch !== false),
    findCaller: (token) => findWith<CallerSession>(CALLER, token, true),

    touch,

    async revoke(token) {
      if (typeof token !== 'string') return false;
      const { count } = await prisma.session.deleteMany({ where: { id: hashSessionToken(token) } });
      return count > 0;
    },

    async revokeById(id, db = prisma) {
      await db.session.deleteMany({ where: { id } });
    },

    async revokeAllForUser(loginUserId, revokeOpts = {}, db = prisma) {
      const { count } = await db.session.deleteMany({
        where: { loginUserId, ...(revokeOpts.exceptSessionId ? { id: { not: revokeOpts.exceptSessionId } } : {}) },
      });
      return count;
    },

    endedBecause,
  };
}
