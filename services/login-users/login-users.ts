/**
 * ログインユーザ administration. Owners manage everyone; managers manage everyone but owners;
 * nobody deletes themselves, and a tenant always keeps one owner.
 */
import type { Transporter } from 'nodemailer';
import { Prisma, type LoginUser, type Role, type UserKind } from '../../prisma/generated/client';
import type { Actor, History } from '../audit/types';
import { checkPasswordPolicy, hashPassword } from '../auth/passwords';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';

export interface LoginUserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  kind: UserKind;
  twoFactorMethod: 'email' | 'totp';
  locked: boolean;
  createdAt: string;
}

export interface Acting {
  user: LoginUser;
  tenantId: string;
  ip: string | null;
  userAgent: string | null;
}

export const actorOf = (user: LoginUser): Actor => ({ type: 'login_user', id: user.id, label: user.name });

const NOT_FOUND = () => new AppError(404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません');
const OWNERS_ONLY = () => new AppError(403, 'FORBIDDEN', '最高権限のユーザを管理できるのは最高権限のユーザだけです');

export function toView(u: LoginUser, lockMinutes: number, now = new Date()): LoginUserView {
  const locked = u.lockedAt !== null && u.lockedAt.getTime() + lockMinutes * 60_000 > now.getTime();
  return { id: u.id, email: u.email, name: u.name, role: u.role, kind: u.kind, twoFactorMethod: u.twoFactorMethod, locked, createdAt: u.createdAt.toISOString() };
}

export function createLoginUserService(deps: {
  prisma: PrismaClient;
  history: History;
  mailer: Transporter;
  mailFrom: string;
  publicUrl: string;
  loginLockMinutes: number;
}) {
  const { prisma, history } = deps;
  const view = (u: LoginUser) => toView(u, deps.loginLockMinutes);

  const find = async (tenantId: string, id: string) => {
    const u = await prisma.loginUser.findFirst({ where: { id, tenantId, deletedAt: null } });
    if (!u) throw NOT_FOUND();
    return u;
  };

  /** A manager may not touch an owner, nor make anyone an owner. */
  const guardOwnerAdmin = (acting: Acting, target: LoginUser | null, newRole?: Role) => {
    if (acting.user.role === 'owner') return;
    if (target?.role === 'owner' || newRole === 'owner') throw OWNERS_ONLY();
  };

  const ensureAnotherOwner = async (tenantId: string, leaving: LoginUser) => {
    if (leaving.role !== 'owner') return;
    const owners = await prisma.loginUser.count({ where: { tenantId, role: 'owner', deletedAt: null } });
    if (owners <= 1) throw new AppError(409, 'LAST_OWNER', '最高権限のユーザが1人もいなくなるため、この操作はできません');
  };

  const record = (acting: Acting, operation: 'login_user_created' | 'login_user_updated' | 'login_user_deleted' | 'login_unlocked', target: LoginUser, detail: Prisma.InputJsonObject) =>
    history.record({ tenantId: acting.tenantId, actor: actorOf(acting.user), operation, ip: acting.ip, userAgent: acting.userAgent, detail: { loginUserId: target.id, name: target.name, ...detail } });

  return {
    async list(tenantId: string): Promise<LoginUserView[]> {
      const users = await prisma.loginUser.findMany({ where: { tenantId, deletedAt: null }, orderBy: { createdAt: 'asc' } });
      return users.map(view);
    },

    async create(acting: Acting, input: { email: string; name: string; role: Role; kind?: UserKind; password: string }): Promise<LoginUserView> {
      guardOwnerAdmin(acting, null, input.role);
      checkPasswordPolicy(input.password);
      const email = input.email.trim().toLowerCase();
      let user: LoginUser;
      try {
        user = await prisma.loginUser.create({
          data: { tenantId: acting.tenantId, email, name: input.name.trim(), role: input.role, kind: input.kind ?? 'staff', passwordHash: await hashPassword(input.password) },
        });
      } catch (err) {
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          throw new AppError(409, 'LOGIN_USER_EMAIL_TAKEN', 'このメールアドレスのログインユーザは既に登録されています');
        }
        throw err;
      }
      await record(acting, 'login_user_created', user, { role: user.role, kind: user.kind });
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId } });
      await deps.mailer.sendMail({
        from: deps.mailFrom,
        to: email,
        subject: '【マイナンバー管理】ログインユーザに登録されました',
        text: [
          `${user.name} 様`,
          '',
          `${tenant.name} のマイナンバー管理にログインユーザとして登録されました。`,
          `ログイン画面: ${deps.publicUrl}/console/`,
          `お客様番号: ${tenant.customerNumber}`,
          '初期パスワードは登録した担当者から受け取ってください。ログイン後に変更してください。',
        ].join('\n'),
      });
      return view(user);
    },

    async update(acting: Acting, id: string, patch: { name?: string; role?: Role; kind?: UserKind }): Promise<LoginUserView> {
      const target = await find(acting.tenantId, id);
      guardOwnerAdmin(acting, target, patch.role);
      if (patch.role && patch.role !== 'owner') await ensureAnotherOwner(acting.tenantId, target);
      const user = await prisma.loginUser.update({ where: { id }, data: { name: patch.name?.trim(), role: patch.role, kind: patch.kind } });
      await record(acting, 'login_user_updated', user, { before: { name: target.name, role: target.role, kind: target.kind }, after: { name: user.name, role: user.role, kind: user.kind } });
      return view(user);
    },

    /** Keeps the row (history shows the person as deleted) but frees the e-mail and ends sessions. */
    async remove(acting: Acting, id: string): Promise<void> {
      if (id === acting.user.id) throw new AppError(409, 'CANNOT_DELETE_SELF', '自分自身は削除できません');
      const target = await find(acting.tenantId, id);
      guardOwnerAdmin(acting, target);
      await ensureAnotherOwner(acting.tenantId, target);
      await prisma.$transaction([
        prisma.session.deleteMany({ where: { loginUserId: id } }),
        prisma.loginUser.update({ where: { id }, data: { deletedAt: new Date(), email: `deleted+${id}@deleted.invalid`, passwordHash: '!' } }),
      ]);
      await record(acting, 'login_user_deleted', target, { role: target.role });
    },

    async unlock(acting: Acting, id: string): Promise<LoginUserView> {
      const target = await find(acting.tenantId, id);
      guardOwnerAdmin(acting, target);
      const user = await prisma.loginUser.update({ where: { id }, data: { lockedAt: null, failedLogins: 0 } });
      await record(acting, 'login_unlocked', user, {});
      return view(user);
    },
  };
}

export type LoginUserService = ReturnType<typeof createLoginUserService>;
