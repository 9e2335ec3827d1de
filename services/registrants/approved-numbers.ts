/**
 * The numbers payroll is served (approved_number_secret_id): the ones HR last approved or verified.
 * A person who changes their registration after approval (a baby added) goes back to 承認待ち, but
 * payroll keeps getting the approved numbers until HR approves the change; only then do the new
 * ones take over and the approved secrets they replace are shredded. The approved secret is usually
 * the current one (my_number_secret_id): a writer that replaces the current number must not shred it
 * while it is still the approved one (`shreddable`), and every deletion shreds both.
 */
import { Prisma, type Dependent, type DependentKind, type Gender, type Registrant } from '../../prisma/generated/client';
import type { Vault } from '../vault/types';

type Tx = Prisma.TransactionClient;

/**
 * What a change replaces of an approved person (gender, birth date) or of a dependent payroll is
 * served (relationship, kind, names, birth date, gender): kept in `approved_profile` from the first
 * submission after approval until HR decides, so a refusal gives payroll the approved data back.
 */
export interface ApprovedProfile {
  gender: Gender | null;
  birthDate: string | null;
  relationship?: string;
  kind?: DependentKind;
  familyName?: string;
  givenName?: string;
  familyNameKana?: string | null;
  givenNameKana?: string | null;
}

/** SQL NULL for a Json column (Prisma's plain null means JSON null). */
const DB_NULL = Prisma.DbNull;

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);

export const personProfile = (r: Pick<Registrant, 'gender' | 'birthDate'>): ApprovedProfile => ({ gender: r.gender, birthDate: day(r.birthDate) });

export const dependentProfile = (d: Dependent): ApprovedProfile => ({
  ...personProfile(d),
  relationship: d.relationship,
  kind: d.kind,
  familyName: d.familyName,
  givenName: d.givenName,
  familyNameKana: d.familyNameKana,
  givenNameKana: d.givenNameKana,
});

/**
 * HR's own correction during a pending change stands whatever HR decides on the change: the fields HR
 * changed are written into the kept profile too. Null when nothing is kept or none of them is in it.
 */
export function correctedProfile(kept: Prisma.JsonValue | null, now: ApprovedProfile, changed: readonly string[]): ApprovedProfile | null {
  if (!kept || typeof kept !== 'object' || Array.isArray(kept)) return null;
  const fields = changed.filter((k) => k in now) as (keyof ApprovedProfile)[];
  if (fields.length === 0) return null;
  return { ...(kept as unknown as ApprovedProfile), ...Object.fromEntries(fields.map((k) => [k, now[k]])) };
}

/** A row as payroll is served it: with its approved data while a change HR has not decided replaced it. */
export function asApproved<T extends { approvedProfile: Prisma.JsonValue | null }>(row: T): T {
  const back = profileColumns(row.approvedProfile);
  return back ? { ...row, ...back } : row;
}

/** The columns to write back from a kept profile (a person's has no names). */
function profileColumns(json: Prisma.JsonValue | null): Record<string, unknown> | null {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return null;
  const { birthDate, ...rest } = json as unknown as ApprovedProfile;
  return { ...rest, birthDate: birthDate ? new Date(`${birthDate}T00:00:00.000Z`) : null };
}

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
    // Approved as changed: the data kept for a refusal goes with the number.
    await tx.$executeRaw`UPDATE registrants SET approved_number_secret_id = my_number_secret_id, approved_profile = NULL WHERE id = ${registrantId}::uuid`;
  }
  const dependents = await tx.dependent.findMany({
    where: { registrantId, draft: false, ...(who.dependentId ? { id: who.dependentId } : {}) },
    select: { id: true, status: true, myNumberSecretId: true, approvedNumberSecretId: true, noLongerDependentAt: true, removalRequestedAt: true, approvedProfile: true },
  });
  const removed = dependents.filter((d) => d.removalRequestedAt);
  if (removed.length) {
    // The change took them off the list: approved, they go, with their numbers and images.
    stale.push(...(await deleteDependents(tx, registrantId, removed)));
    // The person changed for payroll's sync (updatedSince) even when only a dependent was decided.
    await tx.$executeRaw`UPDATE registrants SET updated_at = now() WHERE id = ${registrantId}::uuid`;
  }
  const decided: string[] = [];
  for (const d of dependents) {
    if (d.removalRequestedAt) continue;
    const target = d.noLongerDependentAt ? null : d.status === 'completed' ? d.myNumberSecretId : d.approvedNumberSecretId;
    if (d.status === 'completed' || target === null) decided.push(d.id);
    const data: Prisma.DependentUncheckedUpdateInput = {};
    // Approved as changed, or nothing approved left: the data kept for a refusal goes (one still
    // waiting with its approved number keeps it).
    if (d.approvedProfile !== null && (d.status === 'completed' || target === null)) data.approvedProfile = DB_NULL;
    if (target !== d.approvedNumberSecretId) {
      if (d.approvedNumberSecretId && d.approvedNumberSecretId !== d.myNumberSecretId) stale.push(d.approvedNumberSecretId);
      data.approvedNumberSecretId = target;
    }
    if (Object.keys(data).length) await tx.dependent.update({ where: { id: d.id }, data });
  }
  stale.push(...(await settleChangeDocuments(tx, registrantId, { person: who.registrant, dependentIds: decided }, 'approved')));
  if (stale.length) await vault.shred(stale, tx);
}

/**
 * Deletes submitted dependents for good (their documents go with them, by cascade) and answers the
 * secrets to shred in the same transaction: their numbers, approved ones included, and their images.
 */
export async function deleteDependents(tx: Tx, registrantId: string, dependents: readonly Pick<Dependent, 'id' | 'myNumberSecretId' | 'approvedNumberSecretId'>[]): Promise<string[]> {
  if (dependents.length === 0) return [];
  const ids = dependents.map((d) => d.id);
  const images = await tx.document.findMany({ where: { registrantId, dependentId: { in: ids } }, select: { imageSecretId: true } });
  await tx.dependent.deleteMany({ where: { registrantId, id: { in: ids } } });
  return [...dependents.flatMap((d) => [d.myNumberSecretId, d.approvedNumberSecretId]), ...images.map((i) => i.imageSecretId)].filter((x): x is string => !!x);
}

/**
 * The identity documents of a change HR decided, for the person (`person`) and those dependents:
 * approved, the approved evidence the change replaced is deleted and the change's own become the
 * approved ones; refused, the change's own are deleted and the replaced evidence is back. Answers
 * the images to shred in the caller's transaction.
 */
export async function settleChangeDocuments(tx: Tx, registrantId: string, scope: { person: boolean; dependentIds: readonly string[] }, outcome: 'approved' | 'refused'): Promise<string[]> {
  const whose: Prisma.DocumentWhereInput[] = [...(scope.person ? [{ dependentId: null }] : []), ...(scope.dependentIds.length ? [{ dependentId: { in: [...scope.dependentIds] } }] : [])];
  if (whose.length === 0) return [];
  const inScope = { registrantId, draft: false, OR: whose };
  const gone = await tx.document.findMany({ where: { ...inScope, ...(outcome === 'approved' ? { supersededAt: { not: null } } : { pendingChange: true }) }, select: { id: true, imageSecretId: true } });
  if (gone.length) await tx.document.deleteMany({ where: { id: { in: gone.map((d) => d.id) } } });
  await tx.document.updateMany({ where: { ...inScope, AND: [{ OR: [{ supersededAt: { not: null } }, { pendingChange: true }] }] }, data: { supersededAt: null, pendingChange: false } });
  return gone.flatMap((d) => (d.imageSecretId ? [d.imageSecretId] : []));
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
    const [r] = await tx.$queryRaw<{ approved: string | null; current: string | null; profile: Prisma.JsonValue | null }[]>`
      SELECT approved_number_secret_id AS approved, my_number_secret_id AS current, approved_profile AS profile FROM registrants WHERE id = ${registrantId}::uuid`;
    // Never approved (or its number deleted meanwhile): not a change, nothing to go back to.
    if (!r?.approved) return forgetProfiles(tx, registrantId, { registrant: true });
    if (r.current && r.current !== r.approved) refused.push(r.current);
    // The approved number back, and the approved gender and birth date where the change replaced them.
    const back = profileColumns(r.profile);
    await tx.registrant.update({
      where: { id: registrantId },
      data: { myNumberSecretId: r.approved, ...(back ? { gender: back.gender as Gender | null, birthDate: back.birthDate as Date | null, approvedProfile: DB_NULL } : {}) },
    });
  }
  const dependents = await tx.dependent.findMany({
    where: { registrantId, draft: false, ...(who.dependentId ? { id: who.dependentId } : {}) },
    select: { id: true, status: true, myNumberSecretId: true, approvedNumberSecretId: true, noLongerDependentAt: true, approvedProfile: true },
  });
  // The change's documents go and the approved ones it replaced are back: all of a person's (a
  // dependent the change brought has none approved), or that dependent's if it has an approved number.
  const restored = who.dependentId ? dependents.filter((d) => d.approvedNumberSecretId).map((d) => d.id) : dependents.map((d) => d.id);
  refused.push(...(await settleChangeDocuments(tx, registrantId, { person: !who.dependentId, dependentIds: restored }, 'refused')));
  for (const d of dependents) {
    const changed = d.myNumberSecretId !== d.approvedNumberSecretId;
    // Its approved data back with its approved number; without one, nothing to go back to.
    const back = d.approvedNumberSecretId ? profileColumns(d.approvedProfile) : null;
    const data: Prisma.DependentUncheckedUpdateInput = d.approvedProfile !== null ? { ...back, approvedProfile: DB_NULL } : {};
    if (d.approvedNumberSecretId) {
      if (changed && d.myNumberSecretId) refused.push(d.myNumberSecretId);
      // An approved dependent: as approved (a refusal of one dependent keeps HR's 拒否 on it).
      Object.assign(data, { myNumberSecretId: d.approvedNumberSecretId, noLongerDependentAt: null, ...(who.dependentId ? {} : { status: 'completed', statusReason: null }) });
    } else if (!who.dependentId && (d.status === 'pending' || d.status === 'remanded')) {
      // Brought by the refused change: refused with it, its number not kept. (One HR added without a
      // number meanwhile, 未登録, was not part of the change and stays as it is.)
      if (d.myNumberSecretId) refused.push(d.myNumberSecretId);
      Object.assign(data, { myNumberSecretId: null, status: 'refused', statusReason: who.reason ?? null });
    }
    if (Object.keys(data).length) await tx.dependent.update({ where: { id: d.id }, data });
    // One dependent refused alone without an approved number keeps a first submission's number, as a
    // person never approved does.
  }
  if (refused.length) await vault.shred(refused, tx);
}

/** The kept profiles of a scope gone (the change refused, or nothing pending any more). */
export async function forgetProfiles(tx: Tx, registrantId: string, who: { registrant?: boolean; dependentId?: string }): Promise<void> {
  if (who.registrant) await tx.$executeRaw`UPDATE registrants SET approved_profile = NULL WHERE id = ${registrantId}::uuid AND approved_profile IS NOT NULL`;
  if (who.dependentId) await tx.$executeRaw`UPDATE dependents SET approved_profile = NULL WHERE id = ${who.dependentId}::uuid AND approved_profile IS NOT NULL`;
  else await tx.$executeRaw`UPDATE dependents SET approved_profile = NULL WHERE registrant_id = ${registrantId}::uuid AND approved_profile IS NOT NULL`;
}

