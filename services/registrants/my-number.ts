/**
 * A registrant's own number in the vault: stored sealed, shown masked, revealed only with the login
 * user's password and a purpose of use the tenant has switched on (or, before approval, the
 * collection check), every reveal recorded.
 */
import type { Prisma } from '../../prisma/generated/client';
import { isUuid } from '../db/uuid';
import type { History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import { amendDraft } from './draft-store';
import { approveCurrentNumbers, forgetProfiles, settleChangeDocuments, shreddable } from './approved-numbers';
import { submittedDependent } from './listing';
import { actorOf, type Acting } from '../login-users/login-users';
import { validateIndividualNumber } from '../mynumber/validate';
import { isSandboxTenant } from '../tenants/sandbox';
import { VaultError, type Vault } from '../vault/types';
import type { ConfirmPassword } from '../auth/auth-service';
import { checkRevealReason, recordedReason, type RevealReason } from './reveal-reason';

const NOT_REGISTERED = () => new AppError(404, 'NUMBER_NOT_REGISTERED', 'マイナンバーは登録されていません');

/**
 * READ COMMITTED is what the history's chain lock needs; the waits allow for other writers of the
 * same tenant queueing on that lock.
 */
const TX = { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 30_000 } as const;

/** Asks the caller's password again (counted towards the login lock); throws when wrong. */

export function createMyNumberService({ prisma, vault, history, confirmPassword }: { prisma: PrismaClient; vault: Vault; history: History; confirmPassword: ConfirmPassword }) {
  const findRegistrant = async (tenantId: string, id: string) => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId } });
    if (!r) throw REGISTRANT_NOT_FOUND();
    return r;
  };
  /**
   * The registrant read under a row lock held until commit: two changes of one number (two
   * corrections, or a correction and a deletion) take turns, so each shreds the secret the other
   * left and no sealed number is ever orphaned.
   */
  const lockRegistrant = async (tx: Prisma.TransactionClient, tenantId: string, id: string) => {
    if (!isUuid(id) || !isUuid(tenantId)) throw REGISTRANT_NOT_FOUND();
    const locked = await tx.$queryRaw<{ id: string }[]>`
      SELECT id FROM registrants WHERE id = ${id}::uuid AND tenant_id = ${tenantId}::uuid FOR UPDATE`;
    if (locked.length === 0) throw REGISTRANT_NOT_FOUND();
    return tx.registrant.findUniqueOrThrow({ where: { id } });
  };
  const label = (r: { familyName: string; givenName: string }) => `${r.familyName} ${r.givenName}`;

  return {
    /**
     * Entered twice; the old sealed number, if any, is shredded in the same transaction. With
     * dependentId, that (submitted) dependent's number (扶養家族のマイナンバーの編集).
     */
    async set(acting: Acting, registrantId: string, myNumber: string, confirmation: string, dependentId?: string): Promise<void> {
      const checked = validateIndividualNumber(myNumber, confirmation, { sandbox: await isSandboxTenant(prisma, acting.tenantId) });
      if (!checked.ok) {
        // A mismatch is the second entry's fault: shown at that field.
        const path = checked.code === 'NUMBER_MISMATCH' ? '/body/myNumberConfirmation' : '/body/myNumber';
        throw new AppError(400, checked.code, checked.message, [{ path, message: checked.message, code: checked.code }]);
      }
      await prisma.$transaction(async (tx) => {
        const r = await lockRegistrant(tx, acting.tenantId, registrantId);
        // The registrant's row lock covers their dependents too: every writer of a dependent's number comes through here.
        const dependent = dependentId ? await submittedDependent(tx, r.id, dependentId) : null;
        const whose = dependent ?? r;
        const previous = whose.myNumberSecretId;
        const id = await vault.seal({ tenantId: acting.tenantId, kind: 'my_number', plaintext: Buffer.from(checked.value) }, tx);
        if (dependent) await tx.dependent.update({ where: { id: dependent.id }, data: { myNumberSecretId: id } });
        else await tx.registrant.update({ where: { id: r.id }, data: { myNumberSecretId: id } });
        // HR's correction of a completed person is verified: payroll is served it from now on. Before
        // that, the number payroll is served (if any) stays until HR approves.
        const replaced = shreddable(previous, whose.approvedNumberSecretId);
        if (replaced) await vault.shred([replaced], tx);
        if (whose.status === 'completed') await approveCurrentNumbers(tx, vault, r.id, dependent ? { registrant: false, dependentId: dependent.id } : { registrant: true });
        // An employee part-way through changing their registration would otherwise send the old number again.
        await amendDraft(vault, tx, r.id, (draft) => {
          if (!dependent) draft.myNumber = checked.value;
          else for (const d of draft.dependents) if (d.id === dependent.id && !d.noLongerDependent) d.myNumber = checked.value;
        });
        await history.record(
          {
            tenantId: acting.tenantId,
            actor: actorOf(acting.user),
            operation: previous ? 'number_updated' : 'number_registered',
            registrant: { id: r.id, label: label(r) },
            ...(dependent ? { detail: { dependentId: dependent.id } } : {}),
            ip: acting.ip,
            userAgent: acting.userAgent,
          },
          tx,
        );
      }, TX);
    },

    /**
     * The registrant's number, or one of their (submitted) dependents' with dependentId: the
     * caller's password again and why — a purpose the tenant uses, or the collection check while
     * whoever's number it is awaits approval; recorded with it.
     */
    async reveal(acting: Acting, registrantId: string, password: string, reason: RevealReason, dependentId?: string): Promise<string> {
      await confirmPassword(acting.user.id, password, { ip: acting.ip, userAgent: acting.userAgent });
      const whose = async () => {
        const r = await findRegistrant(acting.tenantId, registrantId);
        return { r, dependent: dependentId ? await submittedDependent(prisma, r.id, dependentId) : null };
      };
      // A purpose is checked before the registrant is looked up; the collection check needs their status.
      let found: Awaited<ReturnType<typeof whose>> | undefined;
      const awaitingApproval = async () => {
        found = await whose();
        return (found.dependent ?? found.r).status === 'pending';
      };
      await checkRevealReason(prisma, { tenantId: acting.tenantId, role: acting.user.role, reason, field: reason === 'collection_check' ? 'reason' : 'purpose', awaitingApproval });
      const { r, dependent } = found ?? (await whose());
      const secretId = dependent ? dependent.myNumberSecretId : r.myNumberSecretId;
      if (!secretId) throw NOT_REGISTERED();
      const plain = await vault.open(secretId, acting.tenantId).catch((err: unknown) => {
        // deleted (or corrected) between the read and the open: nothing is shown
        if (err instanceof VaultError && err.code === 'SECRET_NOT_FOUND') throw NOT_REGISTERED();
        throw err;
      });
      const why = recordedReason(reason);
      const detail = { ...(dependent ? { dependentId: dependent.id } : {}), ...(why.reason ? { reason: why.reason } : {}) };
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'number_revealed',
        registrant: { id: r.id, label: label(r) },
        ...(why.purpose ? { purpose: why.purpose } : {}),
        ...(Object.keys(detail).length ? { detail } : {}),
        ip: acting.ip,
        userAgent: acting.userAgent,
      });
      return plain.toString('utf8');
    },

    /**
     * Irreversible: the caller's password again (wrong ones count towards the lock). With
     * dependentId only that dependent's number goes; the dependent stays, 未登録.
     */
    async remove(acting: Acting, registrantId: string, password: string, dependentId?: string): Promise<void> {
      await confirmPassword(acting.user.id, password, { ip: acting.ip, userAgent: acting.userAgent });
      await prisma.$transaction(async (tx) => {
        const r = await lockRegistrant(tx, acting.tenantId, registrantId);
        const dependent = dependentId ? await submittedDependent(tx, r.id, dependentId) : null;
        const whose = dependent ?? r;
        if (!whose.myNumberSecretId) throw NOT_REGISTERED();
        // The number payroll is served goes too: deleted means deleted.
        const secrets = [...new Set([whose.myNumberSecretId, whose.approvedNumberSecretId].filter((x): x is string => !!x))];
        if (dependent) {
          await tx.dependent.update({ where: { id: dependent.id }, data: { myNumberSecretId: null, approvedNumberSecretId: null, status: 'unregistered', statusReason: null } });
          // The registrant's list entry changed: payroll's sync picks it up.
          await tx.registrant.update({ where: { id: r.id }, data: { updatedAt: new Date() } });
        } else await tx.registrant.update({ where: { id: r.id }, data: { myNumberSecretId: null, approvedNumberSecretId: null } });
        // Nothing approved left to go back to: the approved images a pending change replaced go (a
        // refusal has nothing to put back), and so does the data kept for a refused change.
        secrets.push(...(await settleChangeDocuments(tx, r.id, dependent ? { person: false, dependentIds: [dependent.id] } : { person: true, dependentIds: [] }, 'approved')));
        await vault.shred(secrets, tx);
        await forgetProfiles(tx, r.id, dependent ? { dependentId: dependent.id } : { registrant: true });
        // Deleted means deleted: not kept in a draft's sealed copy either.
        await amendDraft(vault, tx, r.id, (draft) => {
          if (!dependent) delete draft.myNumber;
          else for (const d of draft.dependents) if (d.id === dependent.id) delete d.myNumber;
        });
        await history.record(
          {
            tenantId: acting.tenantId,
            actor: actorOf(acting.user),
            operation: 'number_deleted',
            registrant: { id: r.id, label: label(r) },
            ...(dependent ? { detail: { dependentId: dependent.id } } : {}),
            ip: acting.ip,
            userAgent: acting.userAgent,
          },
          tx,
        );
      }, TX);
    },
  };
}

export type MyNumberService = ReturnType<typeof createMyNumberService>;
