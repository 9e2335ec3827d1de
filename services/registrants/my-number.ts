/**
 * A registrant's own number in the vault: stored sealed, shown masked, revealed only with the login
 * user's password and a purpose of use the tenant has switched on, every reveal recorded.
 */
import type { Purpose } from '../../prisma/generated/client';
import type { History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { actorOf, type Acting } from '../login-users/login-users';
import { validateIndividualNumber } from '../mynumber/validate';
import type { Vault } from '../vault/types';

const NOT_FOUND = () => new AppError(404, 'REGISTRANT_NOT_FOUND', '登録者が見つかりません');

/** Asks the caller's password again (counted towards the login lock); throws when wrong. */
type ConfirmPassword = (userId: string, password: string, meta: { ip?: string | null; userAgent?: string | null }) => Promise<unknown>;

export function createMyNumberService({ prisma, vault, history, confirmPassword }: { prisma: PrismaClient; vault: Vault; history: History; confirmPassword: ConfirmPassword }) {
  const findRegistrant = async (tenantId: string, id: string) => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId } });
    if (!r) throw NOT_FOUND();
    return r;
  };
  const label = (r: { familyName: string; givenName: string }) => `${r.familyName} ${r.givenName}`;

  return {
    /** Entered twice; the old sealed number, if any, is shredded in the same transaction. */
    async set(acting: Acting, registrantId: string, myNumber: string, confirmation: string): Promise<void> {
      const checked = validateIndividualNumber(myNumber, confirmation);
      if (!checked.ok) {
        throw new AppError(400, checked.code, checked.message, [{ path: '/body/myNumber', message: checked.message, code: checked.code }]);
      }
      const r = await findRegistrant(acting.tenantId, registrantId);
      await prisma.$transaction(async (tx) => {
        const id = await vault.seal({ tenantId: acting.tenantId, kind: 'my_number', plaintext: Buffer.from(checked.value) }, tx);
        await tx.registrant.update({ where: { id: r.id }, data: { myNumberSecretId: id } });
        if (r.myNumberSecretId) await vault.shred([r.myNumberSecretId], tx);
        await history.record(
          {
            tenantId: acting.tenantId,
            actor: actorOf(acting.user),
            operation: r.myNumberSecretId ? 'number_updated' : 'number_registered',
            registrant: { id: r.id, label: label(r) },
            ip: acting.ip,
            userAgent: acting.userAgent,
          },
          tx,
        );
      });
    },

    /** Password again + an enabled purpose; recorded with the purpose. */
    async reveal(acting: Acting, registrantId: string, password: string, purpose: Purpose): Promise<string> {
      await confirmPassword(acting.user.id, password, { ip: acting.ip, userAgent: acting.userAgent });
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId } });
      if (!tenant.purposes.includes(purpose)) {
        throw new AppError(400, 'PURPOSE_DISABLED', 'この利用目的は契約者設定で使用しないことになっています');
      }
      const r = await findRegistrant(acting.tenantId, registrantId);
      if (!r.myNumberSecretId) throw new AppError(404, 'NUMBER_NOT_REGISTERED', 'マイナンバーは登録されていません');
      const plain = await vault.open(r.myNumberSecretId, acting.tenantId);
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'number_revealed',
        registrant: { id: r.id, label: label(r) },
        purpose,
        ip: acting.ip,
        userAgent: acting.userAgent,
      });
      return plain.toString('utf8');
    },

    async remove(acting: Acting, registrantId: string): Promise<void> {
      const r = await findRegistrant(acting.tenantId, registrantId);
      if (!r.myNumberSecretId) throw new AppError(404, 'NUMBER_NOT_REGISTERED', 'マイナンバーは登録されていません');
      await prisma.$transaction(async (tx) => {
        await tx.registrant.update({ where: { id: r.id }, data: { myNumberSecretId: null } });
        await vault.shred([r.myNumberSecretId!], tx);
        await history.record(
          { tenantId: acting.tenantId, actor: actorOf(acting.user), operation: 'number_deleted', registrant: { id: r.id, label: label(r) }, ip: acting.ip, userAgent: acting.userAgent },
          tx,
        );
      });
    },
  };
}

export type MyNumberService = ReturnType<typeof createMyNumberService>;
