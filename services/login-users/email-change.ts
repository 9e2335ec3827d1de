/**
 * A login user's new e-mail address, confirmed by whoever reads it: the user themself or whoever
 * administers them (owners everyone, managers all but owners) names it; a one-time link valid for a
 * day goes to the new address (only its SHA-256 is stored), a notice to the old one. Until the link
 * is used, login and every mail keep using the old address; it can be sent again or cancelled.
 */
import { randomBytes } from 'node:crypto';
import type { LoginUser, Prisma } from '../../prisma/generated/client';
import { hashToken } from '../auth/token-hash';
import { isUniqueViolation } from '../db/client';
import { AppError } from '../errors';
import { renderEmailChangedMail, renderEmailChangeRequestedMail, renderEmailConfirmMail } from './login-user-mail';
import type { ConfirmPassword } from '../auth/auth-service';
import { normalizeEmail, type Acting, type AdminTools, type LoginUserView } from './login-users';

export const EMAIL_CHANGE_TTL_HOURS = 24;

const TAKEN = () => new AppError(409, 'LOGIN_USER_EMAIL_TAKEN', 'このメールアドレスのログインユーザは既に登録されています');
const UNCHANGED = () =>
  new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/body/email', code: 'UNCHANGED', message: '現在と同じメールアドレスです' }]);
const NONE_PENDING = () => new AppError(409, 'NO_EMAIL_CHANGE_PENDING', 'メールアドレスの変更は申請されていません');
const LINK_INVALID = () =>
  new AppError(400, 'EMAIL_CHANGE_LINK_INVALID', 'このリンクは無効か、有効期限が切れています。もう一度メールアドレスの変更を申請してください');
const MAIL_UNAVAILABLE = () =>
  new AppError(503, 'MAIL_UNAVAILABLE', '確認メールを送信できませんでした。しばらくしてから「確認メールを再送」でやり直してください');

export function createEmailChange(t: AdminTools & { confirmPassword: ConfirmPassword }) {
  const live = (where: Prisma.LoginUserWhereInput) => t.prisma.loginUser.findFirst({ where: { ...where, deletedAt: null }, include: { tenant: true } });

  /** Another live user of the tenant already logs in with the address (in any letter case). */
  const takenBy = (tx: Prisma.TransactionClient, target: LoginUser, email: string) =>
    tx.loginUser.count({ where: { tenantId: target.tenantId, deletedAt: null, id: { not: target.id }, email: { equals: email, mode: 'insensitive' } } });

  /** The target, if the acting user may change its address: their own, or one they administer. */
  const mayChange = async (tx: Prisma.TransactionClient, me: Acting, id: string) => {
    const target = await t.find(me.tenantId, id, tx);
    if (target.id !== me.user.id) t.guardOwnerAdmin(me, target);
    return target;
  };

  /** A new link's token (only its hash is ever stored) and expiry. */
  const newLink = () => ({ token: randomBytes(32).toString('base64url'), expiresAt: new Date(Date.now() + EMAIL_CHANGE_TTL_HOURS * 3_600_000) });
  const store = (tx: Prisma.TransactionClient, target: LoginUser, email: string, link: { token: string; expiresAt: Date }) =>
    tx.loginUser.update({ where: { id: target.id }, data: { pendingEmail: email, pendingEmailTokenHash: hashToken(link.token), pendingEmailExpiresAt: link.expiresAt } });

  const mailLink = async (acting: Acting, user: LoginUser, token: string, expiresAt: Date) => {
    const tenant = await t.prisma.tenant.findUniqueOrThrow({ where: { id: user.tenantId }, select: { name: true } });
    // The token rides in the fragment: it never reaches a server's or a proxy's access log.
    const link = `${t.publicUrl}/console/#/email-confirmation?token=${token}`;
    const mail = renderEmailConfirmMail({ userName: user.name, companyName: tenant.name, link, expiresAt, requestedBy: acting.user.id === user.id ? 'ご本人' : acting.user.name });
    try {
      await t.mailer.sendMail({ from: t.mailFrom, to: user.pendingEmail!, subject: mail.subject, text: mail.text, headers: { 'Auto-Submitted': 'auto-generated' } });
    } catch {
      // The transport's error may quote the message, link and all: not passed on.
      throw MAIL_UNAVAILABLE();
    }
    return tenant.name;
  };

  return {
    /**
     * Names a new address; the link goes to it, a notice to the old one. The link is mailed before
     * anything is stored: a mail server that cannot take it leaves everything as it was (503 means
     * not done); the checks run again when it is stored. Answers the user with `pendingEmail`.
     */
    async requestEmailChange(acting: Acting, id: string, input: { email: string; password: string }): Promise<LoginUserView> {
      const email = normalizeEmail(input.email);
      // The caller's own password first: a session left open (or stolen) must not be able to move a
      // login, and with it password resets and login codes, to another mailbox.
      await t.confirmPassword(acting.user.id, input.password, { ip: acting.ip, userAgent: acting.userAgent });
      const check = async (tx: Prisma.TransactionClient, me: Acting) => {
        const target = await mayChange(tx, me, id);
        if (email === target.email.toLowerCase()) throw UNCHANGED();
        if (await takenBy(tx, target, email)) throw TAKEN();
        return target;
      };
      const target = await t.administer(acting, check, { selfId: id });
      const link = newLink();
      const companyName = await mailLink(acting, { ...target, pendingEmail: email }, link.token, link.expiresAt);
      const updated = await t.administer(
        acting,
        async (tx, me) => {
          const stored = await store(tx, await check(tx, me), email, link);
          // Addresses are no secret; the link is, and is not recorded.
          await t.record(me, 'login_user_email_change_requested', target, { from: target.email, to: email }, tx);
          return stored;
        },
        { selfId: id },
      );
      await t.notify(updated.email, renderEmailChangeRequestedMail({ userName: updated.name, companyName, newEmail: email, requestedBy: acting.user.id === updated.id ? 'ご本人' : acting.user.name }), 'email_change_requested');
      return t.view(updated);
    },

    /** A new link for the address waiting (the old link stops working once it is stored), valid for a day again; mailed first, as above. */
    async resendEmailChange(acting: Acting, id: string): Promise<LoginUserView> {
      const check = async (tx: Prisma.TransactionClient, me: Acting) => {
        const target = await mayChange(tx, me, id);
        if (!target.pendingEmail) throw NONE_PENDING();
        if (await takenBy(tx, target, target.pendingEmail)) throw TAKEN();
        return target as LoginUser & { pendingEmail: string };
      };
      const target = await t.administer(acting, check, { selfId: id });
      const link = newLink();
      await mailLink(acting, target, link.token, link.expiresAt);
      const updated = await t.administer(
        acting,
        async (tx, me) => {
          const now = await check(tx, me);
          // Changed meanwhile (cancelled, or another address named): this link is not the one waiting.
          if (now.pendingEmail !== target.pendingEmail) throw NONE_PENDING();
          const stored = await store(tx, now, now.pendingEmail, link);
          await t.record(me, 'login_user_email_change_requested', now, { from: now.email, to: now.pendingEmail, resent: true }, tx);
          return stored;
        },
        { selfId: id },
      );
      return t.view(updated);
    },

    /** Drops the address waiting; its link stops working. */
    async cancelEmailChange(acting: Acting, id: string): Promise<LoginUserView> {
      const updated = await t.administer(
        acting,
        async (tx, me) => {
          const target = await mayChange(tx, me, id);
          if (!target.pendingEmail) throw NONE_PENDING();
          const cleared = await tx.loginUser.update({ where: { id: target.id }, data: { pendingEmail: null, pendingEmailTokenHash: null, pendingEmailExpiresAt: null } });
          await t.record(me, 'login_user_email_change_cancelled', target, { to: target.pendingEmail }, tx);
          return cleared;
        },
        { selfId: id },
      );
      return t.view(updated);
    },

    /**
     * The link opened (no session needed: the token proves the mailbox). One use only; the address
     * becomes the login address, codes mailed to the old one die, and the old one is told. Recorded
     * with the user as the actor.
     */
    async confirmEmailChange(input: { token: string }, meta: { ip: string | null; userAgent: string | null }): Promise<void> {
      const hash = hashToken(String(input.token));
      const user = await live({ pendingEmailTokenHash: hash });
      if (!user?.pendingEmail || !user.pendingEmailExpiresAt || user.pendingEmailExpiresAt.getTime() <= Date.now()) throw LINK_INVALID();
      const acting: Acting = { user, tenantId: user.tenantId, ...meta };
      const newEmail = user.pendingEmail;
      try {
        await t.prisma.$transaction(
          async (tx) => {
            if (await takenBy(tx, user, newEmail)) throw TAKEN();
            // Guarded by the hash: of two clicks at once, one changes the address and the other finds no link.
            const done = await tx.loginUser.updateMany({
              where: { id: user.id, pendingEmailTokenHash: hash, deletedAt: null },
              data: { email: newEmail, pendingEmail: null, pendingEmailTokenHash: null, pendingEmailExpiresAt: null },
            });
            if (done.count !== 1) throw LINK_INVALID();
            await tx.securityCode.deleteMany({ where: { loginUserId: user.id, purpose: { in: ['password_reset', 'email_method'] } } });
            await t.record(acting, 'login_user_email_changed', user, { from: user.email, to: newEmail }, tx);
          },
          { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 30_000 },
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw TAKEN();
        throw err;
      }
      await t.notify(user.email, renderEmailChangedMail({ userName: user.name, companyName: user.tenant.name, newEmail, at: new Date() }), 'email_changed');
    },
  };
}
