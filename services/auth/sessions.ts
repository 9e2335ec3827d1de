/**
 * Console sessions. The browser holds a random token; the database holds only its SHA-256, so a
 * leaked table cannot be replayed as cookies. A session ends after `idleMinutes` without use or
 * `absoluteHours` after login, whichever comes first; an ended session is deleted when found.
 */
import { randomBytes } from 'node:crypto';
import type { LoginUser, Session, Tenant } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { directSql } from '../db/direct-sql';
import { hashToken } from './token-hash';
import { LOGIN_USER_COLUMNS, pickModel, selectColumns, SESSION_COLUMNS, TENANT_COLUMNS } from '../db/raw-rows';
import { Prisma } from '../../prisma/generated/client';

/** lastSeenAt is written at most this often: a page with many requests costs one write a minute. */
export const TOUCH_INTERVAL_MS = 60_000;

export type SessionDb = Pick<PrismaClient, 'session'>;

export const hashSessionToken = hashToken;

export type SessionWithUser = Session & { loginUser: LoginUser & { tenant: Tenant } };

const SESSION_WITH_USER = Prisma.sql`SELECT ${selectColumns('s', SESSION_COLUMNS, 's_')}, ${selectColumns('u', LOGIN_USER_COLUMNS, 'u_')}, ${selectColumns('t', TENANT_COLUMNS, 't_')}
  FROM sessions s JOIN login_users u ON u.id = s.login_user_id JOIN tenants t ON t.id = u.tenant_id`;

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
  touch(session: Session): Promise<void>;
  revoke(token: string): Promise<boolean>;
  revokeById(id: string, db?: SessionDb): Promise<void>;
  /** Ends every session of the user, except one (e.g. the one changing its password). */
  revokeAllForUser(loginUserId: string, opts?: { exceptSessionId?: string }, db?: SessionDb): Promise<number>;
  /** Why a session found in the database is no longer valid, or null if it is. */
  endedBecause(session: SessionWithUser): 'idle' | 'absolute' | 'user_deleted' | 'user_locked' | null;
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

    async find(token, findOpts = {}) {
      if (typeof token !== 'string' || token.length < 32 || token.length > 128) return null;
      // Every console request starts here: one plain SELECT on the pool, not a Prisma query with includes.
      const [row] = await (await directSql(prisma)).$queryRaw<Record<string, unknown>[]>`${SESSION_WITH_USER} WHERE s.id = ${hashSessionToken(token)}`;
      if (!row) return null;
      const session: SessionWithUser = {
        ...pickModel<Session>(row, SESSION_COLUMNS, 's_'),
        loginUser: { ...pickModel<LoginUser>(row, LOGIN_USER_COLUMNS, 'u_'), tenant: pickModel<Tenant>(row, TENANT_COLUMNS, 't_') },
      };
      if (endedBecause(session) !== null) {
        await prisma.session.deleteMany({ where: { id: session.id } });
        return null;
      }
      if (findOpts.touch !== false) await touch(session);
      return session;
    },

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
