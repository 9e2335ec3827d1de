/**
 * Sessions of employees on the registration pages. Like console sessions, the browser holds a random
 * token and the database only its SHA-256. A session also dies with the invitation link it was
 * opened through (expiry, a new round, withdrawal, approval, retirement) and with the login lock, so
 * a tab left open cannot outlive what HR decided.
 */
import { randomBytes } from 'node:crypto';
import type { Invitation, Registrant, RegistrationSession, Tenant } from '../../prisma/generated/client';
import { hashToken } from '../auth/token-hash';
import type { PrismaClient } from '../db/client';


export type RegistrationSessionFull = RegistrationSession & { invitation: Invitation; registrant: Registrant & { tenant: Tenant } };

export interface RegistrationSessionsOptions {
  prisma: PrismaClient;
  /** a phone left alone this long must log in again */
  idleMinutes: number;
  absoluteHours: number;
  now?: () => Date;
}

/** Why a link cannot be used now, or null if it can. */
export function linkUnusable(invitation: Pick<Invitation, 'revokedAt' | 'expiresAt'>, registrant: Pick<Registrant, 'loginLocked' | 'retired'>, at: Date): 'revoked' | 'expired' | 'locked' | null {
  // Locked first: after approval every link is dead too, and "locked, ask HR" is what helps.
  if (registrant.loginLocked) return 'locked';
  if (invitation.revokedAt !== null || registrant.retired) return 'revoked';
  if (invitation.expiresAt.getTime() <= at.getTime()) return 'expired';
  return null;
}

export function createRegistrationSessions({ prisma, idleMinutes, absoluteHours, now = () => new Date() }: RegistrationSessionsOptions) {
  return {
    async create(input: { registrantId: string; invitationId: string; ip: string | null; userAgent: string | null }) {
      const token = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const at = now();
      await prisma.registrationSession.create({ data: { id: hashToken(token), ...input, csrfToken, createdAt: at, lastSeenAt: at } });
      return { token, csrfToken };
    },

    /** The live session of a token, touched; an ended one is deleted when found. */
    async find(token: string | undefined): Promise<RegistrationSessionFull | null> {
      if (typeof token !== 'string' || token.length < 32 || token.length > 128) return null;
      const s = await prisma.registrationSession.findUnique({
        where: { id: hashToken(token) },
        include: { invitation: true, registrant: { include: { tenant: true } } },
      });
      if (!s) return null;
      const at = now();
      const ended =
        at.getTime() >= s.lastSeenAt.getTime() + idleMinutes * 60_000 ||
        at.getTime() >= s.createdAt.getTime() + absoluteHours * 3_600_000 ||
        linkUnusable(s.invitation, s.registrant, at) !== null;
      if (ended) {
        await prisma.registrationSession.deleteMany({ where: { id: s.id } });
        return null;
      }
      if (at.getTime() - s.lastSeenAt.getTime() >= 60_000) {
        await prisma.registrationSession.updateMany({ where: { id: s.id, lastSeenAt: { lt: at } }, data: { lastSeenAt: at } });
      }
      return s;
    },

    async revoke(token: string | undefined): Promise<void> {
      if (typeof token === 'string') await prisma.registrationSession.deleteMany({ where: { id: hashToken(token) } });
    },
  };
}

export type RegistrationSessions = ReturnType<typeof createRegistrationSessions>;
