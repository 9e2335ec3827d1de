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
    select: { id: true, status: true, myNumberSecretId: true, approvedNumberSecretId: true, noLongerDependentAt: true },
  });
  for (const d of dependents) {
    const target = d.noLongerDependentAt ? null : d.status === 'completed' ? d.myNumberSecretId : d.approvedNumberSecretId;
    if (target === d.approvedNumberSecretId) continue;
    if (d.approvedNumberSecretId && d.approvedNumberSecretId !== d.myNumberSecretId) stale.push(d.approvedNumberSecretId);
    await tx.dependent.update({ where: { id: d.id }, data: { approvedNumberSecretId: target } });
  }
  if (stale.length) await vault.shred(stale, tx);
}
