/**
 * 契約者設定: passcode, corporate number, the purposes in use, reminder days, how long retirees'
 * data is kept and what a scheduled deletion deletes. Seed 001's 契約者情報 screen (name, corporate
 * number, passcode, contact details) is open to managers too (管理担当者: everything but the plan and
 * cancelling); the data-protection policy (purposes, reminders, notices, retention, deletion) stays
 * the owners'. The passcode is kept as a hash (checked at the employee's first visit) and sealed in the vault, so
 * that an owner can see it again behind their password — or have a new one made — to tell employees.
 */
import { randomInt } from 'node:crypto';
import { Prisma, type DeletionMode, type DeletionScope, type Purpose, type Role, type SubmissionDigest, type Tenant } from '../../prisma/generated/client';
import { retentionRule } from '../retention/rules';
import { checkContractDetails, type ContractDetails } from './contract-details';
import type { ConfirmPassword } from '../auth/auth-service';
import { openText, type Vault } from '../vault/types';
import type { History } from '../audit/types';
import { hashPassword } from '../auth/passwords';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { validateCorporateNumber } from '../mynumber/validate';
import { actorOf, type Acting } from '../login-users/login-users';

export interface TenantSettingsView {
  id: string;
  name: string;
  customerNumber: string;
  corporateNumber: string | null;
  passcodeSet: boolean;
  /** Set and sealed: an owner can see it again (one set before the vault kept it cannot). */
  passcodeViewable: boolean;
  purposes: Purpose[];
  reminderDays: number[];
  submissionDigest: SubmissionDigest;
  employeeNotices: boolean;
  retentionRule: string;
  deletionScope: DeletionScope;
  deletionMode: DeletionMode;
  contractDetails: ContractDetails | null;
}

export interface TenantSettingsPatch {
  name?: string;
  corporateNumber?: string | null;
  passcode?: string;
  /** the caller's password, required with a passcode */
  password?: string;
  purposes?: Purpose[];
  reminderDays?: number[];
  submissionDigest?: SubmissionDigest;
  employeeNotices?: boolean;
  /** how long a retiree's data is kept (services/retention/rules.ts): for retirements set from now on */
  retentionRule?: string;
  /** what a scheduled deletion deletes: the numbers (and images) only, or all the person's data */
  deletionScope?: DeletionScope;
  /** deleted on the due date, or queued for HR's confirmation */
  deletionMode?: DeletionMode;
  /** the rest of 契約者情報, replaced whole (null clears it) */
  contractDetails?: ContractDetails | null;
}

const view = (t: Tenant): TenantSettingsView => ({
  id: t.id,
  name: t.name,
  customerNumber: t.customerNumber,
  corporateNumber: t.corporateNumber,
  passcodeSet: t.passcodeHash !== null,
  passcodeViewable: t.passcodeHash !== null && t.passcodeSecretId !== null,
  purposes: t.purposes,
  reminderDays: t.reminderDays,
  submissionDigest: t.submissionDigest,
  employeeNotices: t.employeeNotices,
  retentionRule: t.retentionRule,
  deletionScope: t.deletionScope,
  deletionMode: t.deletionMode,
  contractDetails: (t.contractDetails as ContractDetails | null) ?? null,
});

const SETTING_KEYS = ['name', 'corporateNumber', 'passcodeHash', 'purposes', 'reminderDays', 'submissionDigest', 'employeeNotices', 'retentionRule', 'deletionScope', 'deletionMode', 'contractDetails'] as const;
type SettingKey = (typeof SETTING_KEYS)[number];
/** What only owners change: how the company collects and keeps numbers (not in seed 001's 契約者情報 screen). */
const OWNER_ONLY_KEYS = ['purposes', 'reminderDays', 'submissionDigest', 'employeeNotices', 'retentionRule', 'deletionScope', 'deletionMode'] as const;
const OWNERS_ONLY_SETTINGS = () =>
  new AppError(403, 'FORBIDDEN', '利用目的・再通知・お知らせ・保存期間・削除の設定を変更できるのは最高権限のユーザだけです');
/** Refuses a patch the role may not make (viewers nothing; managers no policy settings). */
function checkMayChange(role: Role | undefined, patch: TenantSettingsPatch): void {
  if (role !== 'owner' && role !== 'manager') throw new AppError(403, 'FORBIDDEN', 'この操作を行う権限がありません');
  if (role === 'manager' && OWNER_ONLY_KEYS.some((k) => patch[k] !== undefined)) throw OWNERS_ONLY_SETTINGS();
}
const SHOWN_KEYS = ['name', 'purposes', 'reminderDays', 'submissionDigest', 'employeeNotices', 'retentionRule', 'deletionScope', 'deletionMode'] as const;

/** Purposes are a set: the order they are listed in is no change. */
function sameSetting(key: SettingKey, a: unknown, b: unknown): boolean {
  if (key === 'purposes') return JSON.stringify([...(a as Purpose[])].sort()) === JSON.stringify([...(b as Purpose[])].sort());
  return JSON.stringify(a) === JSON.stringify(b);
}

const invalid = (path: string, code: string, message: string) =>
  new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path, message, code }]);

/** Letters and digits nobody confuses when read out or typed on a phone (no 0/O, 1/l/I). */
const PASSCODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const newPasscode = (length = 8): string => Array.from({ length }, () => PASSCODE_ALPHABET[randomInt(PASSCODE_ALPHABET.length)]).join('');

const PASSCODE_NOT_SET = () => new AppError(404, 'PASSCODE_NOT_SET', 'パスコードは設定されていません');
const PASSCODE_NOT_VIEWABLE = () =>
  new AppError(409, 'PASSCODE_NOT_VIEWABLE', 'このパスコードは表示できません（表示できるようになる前に設定されたものです）。新しいパスコードを発行してください');

export function createTenantSettingsService({ prisma, history, vault, confirmPassword }: { prisma: PrismaClient; history: History; vault: Vault; confirmPassword: ConfirmPassword }) {
  const service = {
    async get(tenantId: string): Promise<TenantSettingsView> {
      return view(await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } }));
    },

    /** Every field is checked before anything is written; a PATCH that changes nothing records nothing. */
    async update(acting: Acting, patch: TenantSettingsPatch): Promise<TenantSettingsView> {
      // Before the password is asked: a refused patch must not count towards the lock.
      checkMayChange(acting.user.role, patch);
      const data: Partial<Pick<Tenant, SettingKey>> = {};
      if (patch.name !== undefined) data.name = patch.name.trim();
      if (patch.corporateNumber !== undefined) {
        if (patch.corporateNumber === null || patch.corporateNumber.trim() === '') data.corporateNumber = null;
        else {
          const checked = validateCorporateNumber(patch.corporateNumber);
          if (!checked.ok) throw invalid('/body/corporateNumber', checked.code, checked.message);
          data.corporateNumber = checked.value;
        }
      }
      if (patch.purposes !== undefined) {
        if (patch.purposes.length === 0) throw invalid('/body/purposes', 'PURPOSES_EMPTY', '利用目的を1つ以上選んでください');
        data.purposes = [...new Set(patch.purposes)];
      }
      if (patch.reminderDays !== undefined) {
        const days = patch.reminderDays;
        const ok = days.every((d, i) => Number.isInteger(d) && d > 0 && d < 90 && (i === 0 || d > days[i - 1]!));
        if (!ok) throw invalid('/body/reminderDays', 'REMINDER_DAYS_INVALID', 'リマインド日は1〜89日の範囲で、小さい順に指定してください');
        data.reminderDays = days;
      }
      if (patch.submissionDigest !== undefined) data.submissionDigest = patch.submissionDigest;
      if (patch.retentionRule !== undefined) {
        if (!retentionRule(patch.retentionRule)) throw invalid('/body/retentionRule', 'RETENTION_RULE_UNKNOWN', '保存期間のルールを一覧から選んでください');
        data.retentionRule = patch.retentionRule;
      }
      if (patch.deletionScope !== undefined) data.deletionScope = patch.deletionScope;
      if (patch.deletionMode !== undefined) data.deletionMode = patch.deletionMode;
      // Named in the history as changed; its values (a person's name, an address) are not shown there.
      if (patch.contractDetails !== undefined) data.contractDetails = patch.contractDetails === null ? null : (checkContractDetails(patch.contractDetails) as Prisma.JsonObject);
      if (patch.employeeNotices !== undefined) data.employeeNotices = patch.employeeNotices;
      if (patch.passcode !== undefined) {
        if (!/^[\x21-\x7e]{4,32}$/.test(patch.passcode)) {
          throw invalid('/body/passcode', 'PASSCODE_INVALID', 'パスコードは4〜32文字の半角英数字・記号で入力してください');
        }
        // Whoever sets the passcode knows it: setting one is guarded like showing it.
        if (!patch.password) throw invalid('/body/password', 'PASSWORD_REQUIRED', 'パスコードを変更するには、ご自身のパスワードを入力してください');
        await confirmPassword(acting.user.id, patch.password, { ip: acting.ip, userAgent: acting.userAgent });
        data.passcodeHash = await hashPassword(patch.passcode);
      }
      // Compared with the settings as they are under the row's lock, so that the history names what
      // really changed (a settings form sends every field) and two saves cannot both claim the same
      // "before". The history row commits with the change.
      return prisma.$transaction(
        async (tx) => {
          await tx.$queryRaw`SELECT id FROM tenants WHERE id = ${acting.tenantId}::uuid FOR NO KEY UPDATE`;
          // Role changes take the same lock (services/login-users): an owner demoted meanwhile is not one.
          const me = await tx.loginUser.findFirst({ where: { id: acting.user.id, tenantId: acting.tenantId, deletedAt: null }, select: { role: true } });
          checkMayChange(me?.role, patch);
          const before = await tx.tenant.findUniqueOrThrow({ where: { id: acting.tenantId } });
          // Back to automatic while people wait for HR's confirmation would leave them waiting for ever.
          if (data.deletionMode === 'automatic' && before.deletionMode === 'confirmed') {
            const waiting = await tx.registrant.count({ where: { tenantId: acting.tenantId, deletionAwaitingSince: { not: null } } });
            if (waiting > 0) throw new AppError(409, 'DELETIONS_AWAITING', `削除の確認待ちの登録者が${waiting}人います。先に削除を実行するか削除予定日を変更してから、自動削除に切り替えてください`);
          }
          // A passcode given is a passcode set again, even if it happens to be the same one.
          const changed = SETTING_KEYS.filter((k) => data[k] !== undefined && (k === 'passcodeHash' || !sameSetting(k, before[k], data[k])));
          if (changed.length === 0) return view(before);
          const update: Prisma.TenantUpdateInput = Object.fromEntries(changed.map((k) => [k, data[k]]));
          // The people already invited get the new days from the reconciler's next round (a minute at most).
          if (changed.includes('reminderDays')) update.reminderDaysChangedAt = new Date();
          if (patch.passcode !== undefined) {
            // The new passcode sealed with its hash; the old sealed one shredded in the same commit.
            const sealed = await vault.seal({ tenantId: acting.tenantId, kind: 'passcode', plaintext: Buffer.from(patch.passcode, 'utf8') }, tx);
            update.passcodeSecret = { connect: { id: sealed } };
          }
          const after = await tx.tenant.update({ where: { id: acting.tenantId }, data: update });
          if (patch.passcode !== undefined && before.passcodeSecretId) await vault.shred([before.passcodeSecretId], tx);
          // Values only of what is neither secret nor a number.
          const shown = changed.filter((k): k is (typeof SHOWN_KEYS)[number] => (SHOWN_KEYS as readonly string[]).includes(k));
          await history.record(
            {
              tenantId: acting.tenantId,
              actor: actorOf(acting.user),
              operation: 'tenant_settings_changed',
              ip: acting.ip,
              userAgent: acting.userAgent,
              // Which settings changed, never the passcode (nor its hash).
              detail: {
                changed: changed.map((k) => (k === 'passcodeHash' ? 'passcode' : k)),
                before: Object.fromEntries(shown.map((k) => [k, before[k]])),
                after: Object.fromEntries(shown.map((k) => [k, after[k]])),
              },
            },
            tx,
          );
          return view(after);
        },
        { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 30_000 },
      );
    },

    /** The passcode again, for an owner or manager who gives their password (a wrong one counts towards the lock); recorded. */
    async revealPasscode(acting: Acting, password: string): Promise<string> {
      await confirmPassword(acting.user.id, password, { ip: acting.ip, userAgent: acting.userAgent });
      const t = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId }, select: { passcodeHash: true, passcodeSecretId: true } });
      if (!t.passcodeHash) throw PASSCODE_NOT_SET();
      const passcode = t.passcodeSecretId ? await openText(vault, t.passcodeSecretId, acting.tenantId) : null;
      if (passcode === null) throw PASSCODE_NOT_VIEWABLE();
      await history.record({ tenantId: acting.tenantId, actor: actorOf(acting.user), operation: 'passcode_revealed', ip: acting.ip, userAgent: acting.userAgent });
      return passcode;
    },

    /** A new passcode made here (8 unambiguous letters and digits), behind the caller's password; shown once in the answer. */
    async regeneratePasscode(acting: Acting, password: string): Promise<{ passcode: string; settings: TenantSettingsView }> {
      const passcode = newPasscode();
      return { passcode, settings: await service.update(acting, { passcode, password }) };
    },
  };
  return service;
}

export type TenantSettingsService = ReturnType<typeof createTenantSettingsService>;
