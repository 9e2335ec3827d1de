/**
 * The numbers payroll is served (approved_number_secret_id): the ones HR last approved or verified.
 * A person who changes their registration after approval (a baby added) goes back to 承認待ち, but
 * payroll keeps getting the approved numbers until HR approves the change; only then do the new
 * ones take over and the approved secrets they replace are shredded. The approved secret is usually
 * the current one (my_number_secret_id): a writer that replaces the current number must not shred it
 * while it is still the approved one (`shreddable`), and every deletion shreds both.
 */
import type { Prisma } from '../../prisma/generated/client';
import type { Vault } from '../vault/types';

type Tx = Prisma.TransactionClient;

/** The secret a writer replacing the current number may shred: not while payroll is served it. */
export const shreddable = (current: string | null, approved: string | null): string | null => (current && current !== approved ? current : null);

/**
 * HR approved or verified: the registrant's current number (with `registrant`) and that of every
 * completed dependent (or only `dependentId`'s) become the approved ones; a dependent no longer a
 * dependent keeps none. Approved secrets replaced are shredded. In the caller's transaction, under
 * the registrant's row lock.
 */
export async function approveCurrentNumbers(tx: Tx, vault: Vault, registrantId: string, who: { registrant: boolean; dependentId?: string }): Promise<void> {
  const stale: string[] = [];
  if (who.registrant) {
    const [r] = await tx.$queryRaw<{ approved: string | null; current: string | null }[]>`
      SELECT approved_number_secret_id AS approved, my_number_secret_id AS current FROM registrants WHERE id = ${registrantId}::uuid`;
    if (r?.approved && r.approved !== r.current) stale.push(r.approved);
    await tx.$executeRaw`UPDATE registrants SET approved_number_secret_id = my_number_secret_id WHERE id = ${registrantId}::uuid`;
  }
  const dependents = await tx.dependent.findMany({
    where: { registrantId, draft: false, ...(who.dependentId ? { id: who.dependentId } : {}) },
    select: { id: true, status: true, myNumberSecretId: true, approvedNumberSecretId: true, noLongerDependentAt: true, removalRequestedAt: true },
  });
  const removed = dependents.filter((d) => d.removalRequestedAt);
  if (removed.length) {
    // The change took them off the list: approved, they go, with their numbers and images.
    const ids = removed.map((d) => d.id);
    const images = await tx.document.findMany({ where: { registrantId, dependentId: { in: ids } }, select: { imageSecretId: true } });
    for (const d of removed) stale.push(...[d.myNumberSecretId, d.approvedNumberSecretId].filter((x): x is string => !!x));
    stale.push(...images.map((i) => i.imageSecretId).filter((x): x is string => !!x));
    await tx.dependent.deleteMany({ where: { id: { in: ids } } });
    // The person changed for payroll's sync (updatedSince) even when only a dependent was decided.
    await tx.$executeRaw`UPDATE registrants SET updated_at = now() WHERE id = ${registrantId}::uuid`;
  }
  for (const d of dependents) {
    if (d.removalRequestedAt) continue;
    const target = d.noLongerDependentAt ? null : d.status === 'completed' ? d.myNumberSecretId : d.approvedNumberSecretId;
    if (target === d.approvedNumberSecretId) continue;
    if (d.approvedNumberSecretId && d.approvedNumberSecretId !== d.myNumberSecretId) stale.push(d.approvedNumberSecretId);
    await tx.dependent.update({ where: { id: d.id }, data: { approvedNumberSecretId: target } });
  }
  if (stale.length) await vault.shred([...new Set(stale)], tx);
}

/**
 * HR refused a change of a person payroll is served (one with approved numbers): the change is not
 * kept. The registrant and each approved dependent go back to their approved number (a dependent the
 * change took off the list is back on it, 完了 again), and a dependent the change brought, never
 * approved, is refused with it; the refused secrets (a corrected number, a new dependent's) are
 * shredded. Payroll is served the same numbers as before the change. A person never approved keeps
 * what they submitted, as before. `dependentId`: only that dependent's (a refusal of one dependent).
 */
export async function restoreApprovedNumbers(tx: Tx, vault: Vault, registrantId: string, who: { dependentId?: string; reason?: string | null }): Promise<void> {
  const refused: string[] = [];
  // Whatever else is restored, nothing the refused change asked to delete is deleted later.
  await tx.dependent.updateMany({ where: { registrantId, ...(who.dependentId ? { id: who.dependentId } : {}), removalRequestedAt: { not: null } }, data: { removalRequestedAt: null } });
  if (!who.dependentId) {
    const [r] = await tx.$queryRaw<{ approved: string | null; current: string | null }[]>`
      SELECT approved_number_secret_id AS approved, my_number_secret_id AS current FROM registrants WHERE id = ${registrantId}::uuid`;
    // Never approved: not a change, nothing to go back to.
    if (!r?.approved) return;
    if (r.current && r.current !== r.approved) refused.push(r.current);
    await tx.$executeRaw`UPDATE registrants SET my_number_secret_id = approved_number_secret_id WHERE id = ${registrantId}::uuid`;
  }
  const dependents = await tx.dependent.findMany({
    where: { registrantId, draft: false, ...(who.dependentId ? { id: who.dependentId } : {}) },
    select: { id: true, status: true, myNumberSecretId: true, approvedNumberSecretId: true, noLongerDependentAt: true },
  });
  for (const d of dependents) {
    const changed = d.myNumberSecretId !== d.approvedNumberSecretId;
    if (d.approvedNumberSecretId) {
      if (changed && d.myNumberSecretId) refused.push(d.myNumberSecretId);
      // An approved dependent: as approved (a refusal of one dependent keeps HR's 拒否 on it).
      await tx.dependent.update({
        where: { id: d.id },
        data: { myNumberSecretId: d.approvedNumberSecretId, noLongerDependentAt: null, ...(who.dependentId ? {} : { status: 'completed', statusReason: null }) },
      });
    } else if (!who.dependentId && d.status !== 'completed') {
      // Brought by the refused change: refused with it, its number not kept.
      if (d.myNumberSecretId) refused.push(d.myNumberSecretId);
      await tx.dependent.update({ where: { id: d.id }, data: { myNumberSecretId: null, status: 'refused', statusReason: who.reason ?? null } });
    }
    // One dependent refused alone without an approved number keeps a first submission's number, as a
    // person never approved does.
  }
  if (refused.length) await vault.shred(refused, tx);
}
