/**
 * The employee's way in through their per-person link (only its hash is stored). First visit: their
 * own password, the company passcode and consent to the purposes of use (seed 001 ch. 8); later
 * visits: the password. Wrong passwords and passcodes count per person: after `maxFailures` in a row
 * the person cannot log in for `blockMinutes` (on top of the per-address rate limit of the routes).
 */
import type { Invitation, Purpose, Registrant, Tenant } from '../../prisma/generated/client';
import type { History } from '../audit/types';
import { actorOf as hrActorOf, type Acting } from '../login-users/login-users';
import { PURPOSE_LABELS, PURPOSES } from '../audit/purposes';
import { checkPasswordPolicy, hashPassword, needsRehash, verifyPassword } from '../auth/passwords';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import { hashToken } from '../auth/token-hash';
import { isPaperCode } from '../../shared/paper-code';
import { linkUnusable, type RegistrationSessions } from './sessions';

export interface RequestFacts {
  ip: string | null;
  userAgent: string | null;
}

export interface RegistrationAccessDeps {
  prisma: PrismaClient;
  history: History;
  sessions: RegistrationSessions;
  maxFailures?: number;
  blockMinutes?: number;
  now?: () => Date;
}

const LINK_ERRORS = {
  unknown: () => new AppError(404, 'LINK_INVALID', 'このリンクは無効です。届いたメールのリンクをもう一度開いてください'),
  revoked: () => new AppError(410, 'LINK_REVOKED', 'このリンクは使えなくなりました。新しい登録依頼メールが届いている場合は、そのリンクを開いてください'),
  expired: () => new AppError(410, 'LINK_EXPIRED', 'リンクの有効期限が切れています。会社のマイナンバー担当者に再送を依頼してください'),
  locked: () => new AppError(423, 'LOGIN_LOCKED', 'ログインがロックされています。会社のマイナンバー担当者にロックの解除を依頼してください'),
};
const BLOCKED = () => new AppError(423, 'LOGIN_BLOCKED', 'パスワードまたはパスコードを続けて間違えたため、しばらくログインできません。30分ほど待ってから再度お試しください');

/**
 * Purposes the company uses that the person has not consented to: one added after their first
 * visit. `registrant.tenant` is the request's fresh read of the company.
 */
export async function missingConsents(prisma: Pick<PrismaClient, 'consent'>, registrant: Registrant & { tenant: Tenant }): Promise<Purpose[]> {
  const given = new Set((await prisma.consent.findMany({ where: { registrantId: registrant.id }, select: { purpose: true } })).map((c) => c.purpose));
  return PURPOSES.filter((p) => registrant.tenant.purposes.includes(p) && !given.has(p));
}

type LinkRow = Invitation & { registrant: Registrant & { tenant: Tenant } };
const label = (r: Registrant) => `${r.familyName} ${r.givenName}`;

export function createRegistrationAccess({ prisma, history, sessions, maxFailures = 10, blockMinutes = 30, now = () => new Date() }: RegistrationAccessDeps) {
  async function usableLink(token: unknown): Promise<LinkRow> {
    // A link's token (43 characters) or a paper sheet's 登録コード (16): nothing else is looked up.
    if (typeof token !== 'string' || !(isPaperCode(token) || (token.length >= 32 && token.length <= 128))) throw LINK_ERRORS.unknown();
    const link = await prisma.invitation.findUnique({ where: { tokenHash: hashToken(token) }, include: { registrant: { include: { tenant: true } } } });
    if (!link) throw LINK_ERRORS.unknown();
    const why = linkUnusable(link, link.registrant, now());
    if (why) throw LINK_ERRORS[why]();
    return link;
  }

  const actorOf = (r: Registrant) => ({ type: 'registrant' as const, id: r.id, label: label(r) });

  function assertNotBlocked(r: Registrant) {
    if (r.loginBlockedUntil && r.loginBlockedUntil.getTime() > now().getTime()) throw BLOCKED();
  }

  /** Counts a wrong password or passcode; the one that reaches the limit blocks the login. */
  async function failed(r: Registrant, facts: RequestFacts, error: AppError): Promise<never> {
    const rows = await prisma.$queryRaw<{ failed_logins: number }[]>`
      UPDATE registrants SET failed_logins = failed_logins + 1 WHERE id = ${r.id}::uuid RETURNING failed_logins`;
    const count = rows[0]?.failed_logins ?? 0;
    const registrant = { id: r.id, label: label(r) };
    await history.record({ tenantId: r.tenantId, actor: actorOf(r), operation: 'login_failed', registrant, ...facts, detail: { via: 'registration' } });
    if (count >= maxFailures) {
      await prisma.registrant.update({ where: { id: r.id }, data: { failedLogins: 0, loginBlockedUntil: new Date(now().getTime() + blockMinutes * 60_000) } });
      await history.record({ tenantId: r.tenantId, actor: actorOf(r), operation: 'login_locked', registrant, ...facts, detail: { via: 'registration', minutes: blockMinutes } });
      throw BLOCKED();
    }
    throw error;
  }

  async function open(link: LinkRow, facts: RequestFacts) {
    await history.record({ tenantId: link.registrant.tenantId, actor: actorOf(link.registrant), operation: 'login_succeeded', registrant: { id: link.registrant.id, label: label(link.registrant) }, ...facts, detail: { via: 'registration' } });
    return sessions.create({ registrantId: link.registrant.id, invitationId: link.id, ...facts });
  }

  return {
    /** What the first page shows for a link: whose it is, first visit or not, the purposes to consent to. */
    /** Whose link it is; the link's first opening is recorded (the timeline's "opened"). */
    async linkInfo(token: unknown, facts?: RequestFacts) {
      const link = await usableLink(token);
      const r = link.registrant;
      if (!link.openedAt) {
        await prisma.$transaction(async (tx) => {
          // Conditional: two tabs opening at once record it once.
          const { count } = await tx.invitation.updateMany({ where: { id: link.id, openedAt: null }, data: { openedAt: new Date() } });
          if (count === 1) await history.record({ tenantId: r.tenantId, actor: actorOf(r), operation: 'invitation_opened', registrant: { id: r.id, label: label(r) }, ...facts }, tx);
        }, { isolationLevel: 'ReadCommitted' });
      }
      return {
        familyName: r.familyName,
        givenName: r.givenName,
        email: r.email,
        companyName: r.tenant.name,
        sandbox: r.tenant.sandbox,
        firstVisit: r.passwordHash === null,
        passcodeRequired: r.tenant.passcodeHash !== null,
        purposes: PURPOSES.filter((p) => r.tenant.purposes.includes(p)).map((code) => ({ code, label: PURPOSE_LABELS[code] })),
        expiresAt: link.expiresAt.toISOString(),
        // Only while there is something to send (as the pages after login have it).
        submissionDueDate: r.submissionDueDate && (r.status === 'unregistered' || r.status === 'remanded') ? r.submissionDueDate.toISOString().slice(0, 10) : null,
      };
    },

    /** First visit: sets the password, checks the company passcode and records the consents. */
    async setUp(input: { token: unknown; password: unknown; passcode?: unknown; consentedPurposes: unknown }, facts: RequestFacts) {
      const link = await usableLink(input.token);
      const r = link.registrant;
      if (r.passwordHash !== null) throw new AppError(409, 'ALREADY_SET_UP', 'パスワードは設定済みです。設定したパスワードでログインしてください');
      assertNotBlocked(r);
      checkPasswordPolicy(input.password);
      if (r.tenant.passcodeHash !== null) {
        const ok = typeof input.passcode === 'string' && (await verifyPassword(input.passcode, r.tenant.passcodeHash));
        if (!ok) await failed(r, facts, new AppError(401, 'PASSCODE_INCORRECT', '企業パスコードが正しくありません。ご不明な場合は会社のマイナンバー担当者にお問い合わせください'));
      }
      const consented = new Set(Array.isArray(input.consentedPurposes) ? input.consentedPurposes : []);
      const purposes = r.tenant.purposes.filter((p) => PURPOSES.includes(p));
      if (purposes.some((p) => !consented.has(p))) {
        throw new AppError(400, 'CONSENT_REQUIRED', '利用目的のすべてに同意してください', [
          { path: '/body/consentedPurposes', code: 'CONSENT_REQUIRED', message: '表示された利用目的のすべてに同意してください' },
        ]);
      }
      const passwordHash = await hashPassword(input.password);
      await prisma.$transaction(async (tx) => {
        // Only the first of two racing set-ups wins; the other is told to log in.
        const { count } = await tx.registrant.updateMany({ where: { id: r.id, passwordHash: null }, data: { passwordHash, failedLogins: 0, loginBlockedUntil: null } });
        if (count === 0) throw new AppError(409, 'ALREADY_SET_UP', 'パスワードは設定済みです。設定したパスワードでログインしてください');
        const consentedAt = now();
        for (const purpose of purposes) {
          await tx.consent.upsert({
            where: { registrantId_purpose: { registrantId: r.id, purpose } },
            create: { registrantId: r.id, purpose, consentedAt, ...facts },
            update: { consentedAt, ...facts },
          });
        }
        await history.record({ tenantId: r.tenantId, actor: actorOf(r), operation: 'consented', registrant: { id: r.id, label: label(r) }, ...facts, detail: { purposes } }, tx);
      }, { isolationLevel: 'ReadCommitted' });
      return open(link, facts);
    },

    /**
     * HR clears a person's forgotten password: the next visit of a live link is a first visit again
     * (new password, passcode, consents), any open session of theirs ends, and a block is lifted.
     */
    async resetPassword(acting: Acting, registrantId: string): Promise<void> {
      const r = await prisma.registrant.findFirst({ where: { id: registrantId, tenantId: acting.tenantId } });
      if (!r) throw REGISTRANT_NOT_FOUND();
      await prisma.$transaction(async (tx) => {
        await tx.registrant.update({ where: { id: r.id }, data: { passwordHash: null, failedLogins: 0, loginBlockedUntil: null } });
        await tx.registrationSession.deleteMany({ where: { registrantId: r.id } });
        await history.record({ tenantId: r.tenantId, actor: hrActorOf(acting.user), operation: 'registrant_password_reset', registrant: { id: r.id, label: label(r) }, ip: acting.ip, userAgent: acting.userAgent }, tx);
      }, { isolationLevel: 'ReadCommitted' });
    },

    /** Later visits: the password set on the first one. */
    async logIn(input: { token: unknown; password: unknown }, facts: RequestFacts) {
      const link = await usableLink(input.token);
      const r = link.registrant;
      if (r.passwordHash === null) throw new AppError(409, 'SETUP_REQUIRED', 'はじめてのログインです。パスワードを設定してください');
      assertNotBlocked(r);
      const ok = typeof input.password === 'string' && (await verifyPassword(input.password, r.passwordHash));
      if (!ok) await failed(r, facts, new AppError(401, 'PASSWORD_INCORRECT', 'パスワードが正しくありません'));
      // A hash made with an older, weaker cost is made again now that the password is at hand.
      const rehash = needsRehash(r.passwordHash) ? await hashPassword(input.password as string) : undefined;
      if (r.failedLogins > 0 || rehash) await prisma.registrant.update({ where: { id: r.id }, data: { failedLogins: 0, ...(rehash ? { passwordHash: rehash } : {}) } });
      return open(link, facts);
    },

    /** HR's view of them: only for a registrant of the caller's tenant. */
    async consentsInTenant(tenantId: string, registrantId: string) {
      const r = await prisma.registrant.findFirst({ where: { id: registrantId, tenantId }, select: { id: true } });
      if (!r) throw REGISTRANT_NOT_FOUND();
      return this.consents(registrantId);
    },

    /**
     * Consent to purposes the company added after the person's first visit: every purpose the
     * company uses must be among them (already given or given now); recorded like the first ones.
     */
    async consent(registrant: Registrant & { tenant: Tenant }, consentedPurposes: unknown, facts: RequestFacts): Promise<void> {
      const missing = await missingConsents(prisma, registrant);
      const consented = new Set(Array.isArray(consentedPurposes) ? consentedPurposes : []);
      if (missing.some((p) => !consented.has(p))) {
        throw new AppError(400, 'CONSENT_REQUIRED', '利用目的のすべてに同意してください', [
          { path: '/body/consentedPurposes', code: 'CONSENT_REQUIRED', message: '表示された利用目的のすべてに同意してください' },
        ]);
      }
      if (!missing.length) return;
      await prisma.$transaction(async (tx) => {
        const consentedAt = now();
        for (const purpose of missing) {
          await tx.consent.upsert({
            where: { registrantId_purpose: { registrantId: registrant.id, purpose } },
            create: { registrantId: registrant.id, purpose, consentedAt, ...facts },
            update: { consentedAt, ...facts },
          });
        }
        await history.record({ tenantId: registrant.tenantId, actor: actorOf(registrant), operation: 'consented', registrant: { id: registrant.id, label: label(registrant) }, ...facts, detail: { purposes: missing } }, tx);
      }, { isolationLevel: 'ReadCommitted' });
    },

    /** The consents the person gave, for them and for HR. */
    async consents(registrantId: string): Promise<{ purpose: Purpose; label: string; consentedAt: string }[]> {
      const rows = await prisma.consent.findMany({ where: { registrantId }, orderBy: { purpose: 'asc' } });
      return rows.map((c) => ({ purpose: c.purpose, label: PURPOSE_LABELS[c.purpose], consentedAt: c.consentedAt.toISOString() }));
    },
  };
}

export type RegistrationAccess = ReturnType<typeof createRegistrationAccess>;
