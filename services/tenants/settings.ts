/** 契約者設定: passcode, corporate number, the purposes in use, reminder days. Owners only. */
import type { Purpose, Tenant } from '../../prisma/generated/client';
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
  purposes: Purpose[];
  reminderDays: number[];
}

export interface TenantSettingsPatch {
  name?: string;
  corporateNumber?: string | null;
  passcode?: string;
  purposes?: Purpose[];
  reminderDays?: number[];
}

const view = (t: Tenant): TenantSettingsView => ({
  id: t.id,
  name: t.name,
  customerNumber: t.customerNumber,
  corporateNumber: t.corporateNumber,
  passcodeSet: t.passcodeHash !== null,
  purposes: t.purposes,
  reminderDays: t.reminderDays,
});

const invalid = (path: string, code: string, message: string) =>
  new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path, message, code }]);

export function createTenantSettingsService({ prisma, history }: { prisma: PrismaClient; history: History }) {
  return {
    async get(tenantId: string): Promise<TenantSettingsView> {
      return view(await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } }));
    },

    /** Every field is checked before anything is written. */
    async update(acting: Acting, patch: TenantSettingsPatch): Promise<TenantSettingsView> {
      const data: Partial<Pick<Tenant, 'name' | 'corporateNumber' | 'passcodeHash' | 'purposes' | 'reminderDays'>> = {};
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
      if (patch.passcode !== undefined) {
        if (!/^[\x21-\x7e]{4,32}$/.test(patch.passcode)) {
          throw invalid('/body/passcode', 'PASSCODE_INVALID', 'パスコードは4〜32文字の半角英数字・記号で入力してください');
        }
        data.passcodeHash = await hashPassword(patch.passcode);
      }
      const before = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId } });
      const after = await prisma.tenant.update({ where: { id: acting.tenantId }, data });
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'tenant_settings_changed',
        ip: acting.ip,
        userAgent: acting.userAgent,
        // Which settings changed, never the passcode itself.
        detail: { changed: Object.keys(data).map((k) => (k === 'passcodeHash' ? 'passcode' : k)), before: { purposes: before.purposes, reminderDays: before.reminderDays } },
      });
      return view(after);
    },
  };
}

export type TenantSettingsService = ReturnType<typeof createTenantSettingsService>;
