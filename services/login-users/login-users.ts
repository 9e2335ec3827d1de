/**
 * ログインユーザ administration. Owners manage everyone; managers manage everyone but owners;
 * nobody deletes themselves, and a tenant always keeps one owner. A new e-mail address waits for its
 * owner's confirmation (email-change.ts); owners set others' passwords (password-set.ts).
 */
import type { Transporter } from 'nodemailer';
import { Prisma, type LoginUser, type Role, type UserKind } from '../../prisma/generated/client';
import type { StepActor } from '../../shared';
import type { OperationCode } from '../audit/operations';
import type { Actor, History, OperationInput } from '../audit/types';
import { checkPasswordPolicy, hashPassword } from '../auth/passwords';
import { isUniqueViolation, type PrismaClient } from '../db/client';
import { AppError } from '../errors';
import type { Vault } from '../vault/types';
import type { ConfirmPassword } from '../auth/auth-service';
import type { CallerUser } from '../auth/sessions';
import { createEmailChange } from './email-change';
import { createPasswordSet } from './password-set';

export interface LoginUserView {
  id: string;
  email: string;
  name: string;
  role: Role;
  kind: UserKind;
  department: string | null;
  note: string | null;
  /** a new address waiting for confirmation (login still uses `email`), and until when its link works */
  pendingEmail: string | null;
  pendingEmailExpiresAt: string | null;
  twoFactorMethod: 'email' | 'totp';
  locked: boolean;
  createdAt: string;
}

/** 部署 and 備考 as the console and the API take them: trimmed, empty is none, bounded. */
const DEPARTMENT_MAX = 100;
const NOTE_MAX = 1000;
function checkedText(value: string | null | undefined, field: 'department' | 'note'): string | null | undefined {
  if (value === undefined) return undefined;
  const v = (value ?? '').trim();
  const max = field === 'department' ? DEPARTMENT_MAX : NOTE_MAX;
  if ([...v].length > max) {
    const what = field === 'department' ? '部署' : '備考';
    throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: `/body/${field}`, code: 'TOO_LONG', message: `${what}は${max.toLocaleString('ja-JP')}文字以内で入力してください` }]);
  }
  return v === '' ? null : v;
}

export interface Acting {
  user: CallerUser;
  tenantId: string;
  ip: string | null;
  userAgent: string | null;
}

type Db = Pick<Prisma.TransactionClient, 'loginUser'>;
type AdminOperation = Extract<
  OperationCode,
  'login_user_created' | 'login_user_updated' | 'login_user_deleted' | 'login_unlocked' | 'login_user_password_set' | 'login_user_email_change_requested' | 'login_user_email_change_cancelled' | 'login_user_email_changed'
>;

export const actorOf = (user: Pick<LoginUser, 'id' | 'name'>): Actor => ({ type: 'login_user', id: user.id, label: user.name });
/** The same person as a workflow step's actor (with the request's facts). */
export const stepActorOf = (acting: Acting): StepActor => ({ type: 'login_user', id: acting.user.id, ip: acting.ip, userAgent: acting.userAgent });

/** The history entry of an act of HR's on a person: one form for every such operation. */
export const hrEvent = (acting: Acting, operation: OperationCode, r: { id: string; familyName: string; givenName: string }, detail?: OperationInput['detail']): OperationInput => ({
  tenantId: acting.tenantId,
  actor: actorOf(acting.user),
  operation,
  registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
  ip: acting.ip,
  userAgent: acting.userAgent,
  detail,
});

export const NOT_FOUND = () => new AppError(404, 'LOGIN_USER_NOT_FOUND', 'ログインユーザが見つかりません');
const UNAUTHENTICATED = () => new AppError(401, 'UNAUTHENTICATED', 'ログインしてください');
export const FORBIDDEN = () => new AppError(403, 'FORBIDDEN', 'この操作を行う権限がありません');
const OWNERS_ONLY = () => new AppError(403, 'FORBIDDEN', '最高権限のユーザを管理できるのは最高権限のユーザだけです');

// What ajv's `format: email` allows (in lower case), checked after normalising: see the contract.
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/**
 * As login compares addresses (services/auth/auth-service.ts): NFKC (full-width letters typed on a
 * Japanese keyboard), surrounding spaces removed, lower case.
 */
export function normalizeEmail(input: string): string {
  const email = input.normalize('NFKC').trim().toLowerCase();
  if (!EMAIL.test(email) || email.length > 254) {
    throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [
      { path: '/body/email', message: 'メールアドレスの形式が正しくありません', code: 'format' },
    ]);
  }
  return email;
}

/** `sourceLocked`: some address is locked out of the account for wrong passwords (the admin may lift it). */
export function toView(u: CallerUser, lockMinutes: number, now = new Date(), sourceLocked = false): LoginUserView {
  const locked = sourceLocked || (u.lockedAt !== null && u.lockedAt.getTime() + lockMinutes * 60_000 > now.getTime());
  const pending = u.pendingEmail !== null && u.pendingEmailExpiresAt !== null;
  return {
    id: u.id,
    email: u.email,
    name: u.name,
    role: u.role,
    kind: u.kind,
    department: u.department,
    note: u.note,
    pendingEmail: pending ? u.pendingEmail : null,
    pendingEmailExpiresAt: pending ? u.pendingEmailExpiresAt!.toISOString() : null,
    twoFactorMethod: u.twoFactorMethod,
    locked,
    createdAt: u.createdAt.toISOString(),
  };
}

export function createLoginUserService(deps: {
  prisma: PrismaClient;
  history: History;
  mailer: Transporter;
  mailFrom: string;
  publicUrl: string;
  loginLockMinutes: number;
  /** Shreds a deleted user's authenticator secrets. */
  vault: Pick<Vault, 'shred'>;
  /** The acting owner's password, asked again before setting someone's password. */
  confirmPassword: ConfirmPassword;
  /** Told when a notice mail (after the change is done) could not be sent. */
  onMailError?: (err: unknown, kind: string) => void;
}) {
  const { prisma, history } = deps;
  const view = (u: LoginUser) => toView(u, deps.loginLockMinutes);

  const find = async (tenantId: string, id: string, db: Db = prisma) => {
    const u = await db.loginUser.findFirst({ where: { id, tenantId, deletedAt: null } });
    if (!u) throw NOT_FOUND();
    return u;
  };

  /**
   * Role changes and deletions of one tenant, one at a time: the check that an owner stays and the
   * write it allows happen under a lock on the tenant's row, so two owners demoting or deleting
   * each other at the same moment cannot both pass it. The lock (FOR NO KEY UPDATE) does not block
   * rows merely referring to the tenant. The acting user is read again under the lock: their own
   * role may just have been changed, or they may just have been deleted. The history is recorded
   * in the same transaction, so it holds what was done and nothing else.
   */
  const administer = <T>(acting: Acting, fn: (tx: Prisma.TransactionClient, acting: Acting) => Promise<T>, opts: { selfId?: string } = {}): Promise<T> =>
    prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM tenants WHERE id = ${acting.tenantId}::uuid FOR NO KEY UPDATE`;
        const me = await tx.loginUser.findFirst({ where: { id: acting.user.id, tenantId: acting.tenantId, deletedAt: null } });
        if (!me) throw UNAUTHENTICATED();
        // Compared case-blind: PostgreSQL takes a uuid in capitals too.
        if (me.role === 'viewer' && opts.selfId?.toLowerCase() !== me.id) {
          // Someone else's (their own is allowed): one who does not exist is not found, as for anyone.
          if (opts.selfId !== undefined) await find(acting.tenantId, opts.selfId, tx);
          throw FORBIDDEN();
        }
        return fn(tx, { ...acting, user: me });
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 30_000 },
    );

  /** A manager may not touch an owner, nor make anyone an owner. */
  const guardOwnerAdmin = (acting: Acting, target: LoginUser | null, newRole?: Role) => {
    if (acting.user.role === 'owner') return;
    if (acting.user.role === 'viewer') throw FORBIDDEN();
    if (target?.role === 'owner' || newRole === 'owner') throw OWNERS_ONLY();
  };

  /** Call under the tenant's lock (administer), so the count still holds when the write commits. */
  const ensureAnotherOwner = async (tx: Db, tenantId: string, leaving: LoginUser) => {
    if (leaving.role !== 'owner') return;
    const owners = await tx.loginUser.count({ where: { tenantId, role: 'owner', deletedAt: null } });
    if (owners <= 1) throw new AppError(409, 'LAST_OWNER', '最高権限のユーザが1人もいなくなるため、この操作はできません');
  };

  const record = (
    acting: Acting,
    operation: AdminOperation,
    target: LoginUser,
    detail: Prisma.InputJsonObject,
    db?: Prisma.TransactionClient,
  ) =>
    history.record(
      { tenantId: acting.tenantId, actor: actorOf(acting.user), operation, ip: acting.ip, userAgent: acting.userAgent, detail: { loginUserId: target.id, name: target.name, ...detail } },
      db,
    );

  /** A notice about something already done: its failure is told, never the caller's answer. */
  const notify = (to: string, mail: { subject: string; text: string }, kind: string) =>
    deps.mailer.sendMail({ from: deps.mailFrom, to, subject: mail.subject, text: mail.text, headers: { 'Auto-Submitted': 'auto-generated' } }).then(
      () => undefined,
      (err: unknown) => deps.onMailError?.(err, kind),
    );
  const tools = { prisma, administer, find, guardOwnerAdmin, record, view, notify, mailer: deps.mailer, mailFrom: deps.mailFrom, publicUrl: deps.publicUrl };

  return {
    ...createEmailChange({ ...tools, confirmPassword: deps.confirmPassword }),
    ...createPasswordSet({ ...tools, confirmPassword: deps.confirmPassword }),

    async list(tenantId: string): Promise<LoginUserView[]> {
      const now = new Date();
      const [users, sourceLocks] = await Promise.all([
        prisma.loginUser.findMany({ where: { tenantId, deletedAt: null }, orderBy: { createdAt: 'asc' } }),
        prisma.loginSourceLock.findMany({ where: { lockedUntil: { gt: now }, loginUser: { tenantId } }, select: { loginUserId: true } }),
      ]);
      const lockedOut = new Set(sourceLocks.map((l) => l.loginUserId));
      return users.map((u) => toView(u, deps.loginLockMinutes, now, lockedOut.has(u.id)));
    },

    async create(acting: Acting, input: { email: string; name: string; role: Role; kind?: UserKind; department?: string | null; note?: string | null; password: string }): Promise<LoginUserView> {
      guardOwnerAdmin(acting, null, input.role);
      const department = checkedText(input.department, 'department') ?? null;
      const note = checkedText(input.note, 'note') ?? null;
      const email = normalizeEmail(input.email);
      checkPasswordPolicy(input.password);
      const passwordHash = await hashPassword(input.password);
      let user: LoginUser;
      try {
        user = await administer(acting, async (tx, me) => {
          guardOwnerAdmin(me, null, input.role);
          const created = await tx.loginUser.create({
            data: { tenantId: me.tenantId, email, name: input.name.trim(), role: input.role, kind: input.kind ?? 'staff', department, note, passwordHash },
          });
          await record(me, 'login_user_created', created, { role: created.role, kind: created.kind }, tx);
          return created;
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new AppError(409, 'LOGIN_USER_EMAIL_TAKEN', 'このメールアドレスのログインユーザは既に登録されています');
        }
        throw err;
      }
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

    async update(acting: Acting, id: string, patch: { name?: string; role?: Role; kind?: UserKind; department?: string | null; note?: string | null }): Promise<LoginUserView> {
      const department = checkedText(patch.department, 'department');
      const note = checkedText(patch.note, 'note');
      const user = await administer(acting, async (tx, me) => {
        const target = await find(me.tenantId, id, tx);
        guardOwnerAdmin(me, target, patch.role);
        if (patch.role && patch.role !== 'owner') await ensureAnotherOwner(tx, me.tenantId, target);
        const updated = await tx.loginUser.update({ where: { id: target.id }, data: { name: patch.name?.trim(), role: patch.role, kind: patch.kind, department, note } });
        // The note may name people: which fields changed, not what it says.
        const before = { name: target.name, role: target.role, kind: target.kind, department: target.department };
        const after = { name: updated.name, role: updated.role, kind: updated.kind, department: updated.department, ...(note !== undefined && note !== target.note ? { noteChanged: true } : {}) };
        await record(me, 'login_user_updated', updated, { before, after }, tx);
        return updated;
      });
      return view(user);
    },

    /** Keeps the row (history shows the person as deleted) but frees the e-mail and ends sessions. */
    async remove(acting: Acting, id: string): Promise<void> {
      await administer(acting, async (tx, me) => {
        const target = await find(me.tenantId, id, tx);
        // Compared as found: PostgreSQL matches a uuid written in capitals too.
        if (target.id === me.user.id) throw new AppError(409, 'CANNOT_DELETE_SELF', '自分自身は削除できません');
        guardOwnerAdmin(me, target);
        await ensureAnotherOwner(tx, me.tenantId, target);
        await tx.session.deleteMany({ where: { loginUserId: target.id } });
        await tx.loginUser.update({
          where: { id: target.id },
          data: { deletedAt: new Date(), email: `deleted+${target.id}@deleted.invalid`, passwordHash: '!', totpSecretId: null, pendingTotpSecretId: null, pendingEmail: null, pendingEmailTokenHash: null, pendingEmailExpiresAt: null },
        });
        // The authenticator secret goes with the user (the row stays for the history only).
        const secrets = [target.totpSecretId, target.pendingTotpSecretId].filter((x): x is string => x !== null);
        if (secrets.length) await deps.vault.shred(secrets, tx);
        await record(me, 'login_user_deleted', target, { role: target.role }, tx);
      });
    },

    async unlock(acting: Acting, id: string): Promise<LoginUserView> {
      const user = await administer(acting, async (tx, me) => {
        const target = await find(me.tenantId, id, tx);
        guardOwnerAdmin(me, target);
        const unlocked = await tx.loginUser.update({ where: { id: target.id }, data: { lockedAt: null, failedLogins: 0, secondFactorFailures: 0 } });
        await tx.loginSourceLock.deleteMany({ where: { loginUserId: target.id } });
        await record(me, 'login_unlocked', unlocked, {}, tx);
        return unlocked;
      });
      return view(user);
    },
  };
}

export type LoginUserService = ReturnType<typeof createLoginUserService>;

/** What the e-mail change and the password set share with the rest of administration. */
export interface AdminTools {
  prisma: PrismaClient;
  /** under the tenant's lock, the acting user read again; viewers refused unless `selfId` is theirs */
  administer: <T>(acting: Acting, fn: (tx: Prisma.TransactionClient, acting: Acting) => Promise<T>, opts?: { selfId?: string }) => Promise<T>;
  find: (tenantId: string, id: string, db?: Db) => Promise<LoginUser>;
  guardOwnerAdmin: (acting: Acting, target: LoginUser | null, newRole?: Role) => void;
  record: (acting: Acting, operation: AdminOperation, target: LoginUser, detail: Prisma.InputJsonObject, db?: Prisma.TransactionClient) => Promise<unknown>;
  view: (u: LoginUser) => LoginUserView;
  notify: (to: string, mail: { subject: string; text: string }, kind: string) => Promise<void>;
  mailer: Transporter;
  mailFrom: string;
  publicUrl: string;
}
