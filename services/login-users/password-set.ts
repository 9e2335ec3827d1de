/**
 * 「PW変更」 (seed 001 ch. 5): an owner sets another login user's password — behind the owner's own
 * password (a wrong one counts towards the owner's lock), checked by the password policy. The user's
 * sessions end, the history records it (never the password), and the user is mailed that an
 * administrator did it. One's own password is changed with the current one (POST /v1/auth/password).
 */
import { checkPasswordPolicy, hashPassword } from '../auth/passwords';
import type { ConfirmPassword } from '../auth/auth-service';
import { AppError } from '../errors';
import { renderPasswordSetMail } from './login-user-mail';
import type { Acting, AdminTools } from './login-users';

const OWNERS_ONLY = () => new AppError(403, 'FORBIDDEN', 'ほかのユーザのパスワードを変更できるのは最高権限のユーザだけです');
const OWN_PASSWORD = () =>
  new AppError(409, 'OWN_PASSWORD', 'ご自身のパスワードは「セキュリティ」画面で、現在のパスワードを入力して変更してください');

export function createPasswordSet(t: AdminTools & { confirmPassword: ConfirmPassword }) {
  return {
    async setPassword(acting: Acting, id: string, input: { password: string; newPassword: string }): Promise<void> {
      if (acting.user.role !== 'owner') throw OWNERS_ONLY();
      // A weak new password is refused before the owner's password is tried (nothing counts).
      checkPasswordPolicy(input.newPassword);
      await t.confirmPassword(acting.user.id, input.password, { ip: acting.ip, userAgent: acting.userAgent });
      const passwordHash = await hashPassword(input.newPassword);
      const at = new Date();
      const { target, endedSessions } = await t.administer(acting, async (tx, me) => {
        // Read again under the lock: the owner may just have been demoted.
        if (me.user.role !== 'owner') throw OWNERS_ONLY();
        const target = await t.find(me.tenantId, id, tx);
        if (target.id === me.user.id) throw OWN_PASSWORD();
        await tx.loginUser.update({ where: { id: target.id }, data: { passwordHash, passwordChangedAt: at } });
        const ended = await tx.session.deleteMany({ where: { loginUserId: target.id } });
        // A reset code mailed before would let its holder set a password of their own over this one.
        await tx.securityCode.deleteMany({ where: { loginUserId: target.id, purpose: 'password_reset' } });
        await t.record(me, 'login_user_password_set', target, { revokedSessions: ended.count }, tx);
        return { target, endedSessions: ended.count };
      });
      const tenant = await t.prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId }, select: { name: true } });
      await t.notify(target.email, renderPasswordSetMail({ userName: target.name, companyName: tenant.name, setBy: acting.user.name, at, endedSessions }), 'password_set');
    },
  };
}
