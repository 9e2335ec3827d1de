/**
 * Storing checked people with their numbers, in the caller's transaction: one import request's
 * people, one batch of an import job, or one person of a 新規追加 with a number. Each registrant and dependent with a number is completed
 * (verified by the employer), without one unregistered; numbers are sealed in one go; the history
 * gets each person's creation and numbers; webhooks hear each completion. Workflow starts are
 * queued on the rows (from the stored state, no mail) for the caller to start after the commit.
 */
import { randomUUID } from 'node:crypto';
import type { Prisma, Registrant, Status } from '../../prisma/generated/client';
import type { Actor, History, OperationInput } from '../audit/types';
import { enqueueEvent } from '../connectors/webhooks';
import type { PrismaClient } from '../db/client';
import { DEFAULT_RETENTION_RULE, deletionDueBy, retentionRule, type RetentionRule } from '../retention/rules';
import type { Vault } from '../vault/types';
import type { NumbersPerson } from './numbers-import-file';
import { checkedDependentFields, importedRegistrant } from './import-rows';
import { queuedStart, type StartIntent } from './workflow-starts';
import type { VerificationMethod } from '../../shared';

export interface StoreContext {
  tenantId: string;
  actor: Actor;
  ip: string | null;
  userAgent: string | null;
  /** the request or job the people came with, in every history entry */
  importId?: string;
  /** how the people came, in the history (default: numbers_import) */
  source?: 'numbers_import' | 'new_registrant';
  /** how HR checked the numbers, when they said (新規追加) */
  verificationMethod?: VerificationMethod;
  /** how each stored person's workflow starts (default: from the stored state, no mail) */
  start?: StartIntent | null;
  rule: RetentionRule;
  /** today in Japan, YYYY-MM-DD */
  today: string;
  /** group name → id; groups the people name that are missing are created (and added here) */
  groupIds: Map<string, string>;
}

export interface StoredPeople {
  /** in the people's order */
  registrants: Registrant[];
  dependentIds: string[][];
  deliveries: string[];
  numbers: number;
}

const statusOf = (n: string | null): Status => (n ? 'completed' : 'unregistered');

/** The tenant's retention rule for retirees (the default where it has none). */
export async function retentionOf(prisma: Pick<PrismaClient, 'tenant'>, tenantId: string): Promise<RetentionRule> {
  const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { retentionRule: true } });
  return retentionRule(tenant.retentionRule) ?? retentionRule(DEFAULT_RETENTION_RULE)!;
}

export async function storePeople(tx: Prisma.TransactionClient, deps: { vault: Vault; history: History }, ctx: StoreContext, people: NumbersPerson[], at = new Date()): Promise<StoredPeople> {
  const { tenantId, rule, today } = ctx;
  for (const name of new Set(people.map((p) => p.row.group).filter((g): g is string => !!g && !ctx.groupIds.has(g)))) {
    const g = await tx.group.upsert({ where: { tenantId_name: { tenantId, name } }, create: { tenantId, name }, update: {} });
    ctx.groupIds.set(name, g.id);
  }
  const ids = people.map(() => randomUUID());
  const dependentIds = people.map((p) => p.dependents.map(() => randomUUID()));
  // Every number sealed at once, each under its own data key.
  const numbered = people.flatMap((p, i) => [...(p.myNumber ? [{ at: `r${i}`, n: p.myNumber }] : []), ...p.dependents.flatMap((d, j) => (d.myNumber ? [{ at: `d${i}.${j}`, n: d.myNumber }] : []))]);
  const secretIds = await deps.vault.sealMany(
    numbered.map((x) => ({ tenantId, kind: 'my_number' as const, plaintext: Buffer.from(x.n) })),
    tx,
  );
  const secretOf = new Map(numbered.map((x, k) => [x.at, secretIds[k]!]));
  const stored = await tx.registrant.createManyAndReturn({
    data: people.map(({ row: r, myNumber }, i) => ({
      ...importedRegistrant(r, { id: ids[i]!, tenantId, groupIds: ctx.groupIds, rule, today }),
      status: statusOf(myNumber),
      // As a bulk entry: the number is in, so no registration login until HR unlocks one.
      loginLocked: myNumber !== null,
      myNumberSecretId: secretOf.get(`r${i}`) ?? null,
      // Verified by the employer: payroll is served it.
      approvedNumberSecretId: secretOf.get(`r${i}`) ?? null,
      // The workflow takes the stored state over (completed, or not invited; a retirement date
      // included) and sends nothing — unless the caller asked for an invitation.
      ...queuedStart(ctx.start ?? null, at),
    })),
  });
  // A registrant's dependents are listed in the order they were added: the file's order.
  let order = 0;
  await tx.dependent.createMany({
    data: people.flatMap((p, i) =>
      p.dependents.map((d, j) => ({
        id: dependentIds[i]![j]!,
        createdAt: new Date(at.getTime() + order++),
        registrantId: ids[i]!,
        ...checkedDependentFields(d),
        status: statusOf(d.myNumber),
        myNumberSecretId: secretOf.get(`d${i}.${j}`) ?? null,
        approvedNumberSecretId: secretOf.get(`d${i}.${j}`) ?? null,
      })),
    ),
  });
  const facts = { tenantId, actor: ctx.actor, ip: ctx.ip, userAgent: ctx.userAgent };
  const source = ctx.source ?? 'numbers_import';
  const from = { source, ...(ctx.importId ? { importId: ctx.importId } : {}) };
  const events: OperationInput[] = [];
  for (const [i, p] of people.entries()) {
    const registrant = { id: ids[i]!, label: `${p.row.familyName} ${p.row.givenName}` };
    events.push({ ...facts, operation: 'registrant_created', registrant, detail: { ...from, ...(ctx.importId ? { line: p.row.line } : {}) } });
    const numbers = (p.myNumber ? 1 : 0) + p.dependents.filter((d) => d.myNumber).length;
    // The identity check behind these numbers was the employer's (recorded as such).
    if (numbers > 0) events.push({ ...facts, operation: 'number_registered', registrant, detail: { ...from, numbers, verifiedBy: 'employer', ...(ctx.verificationMethod ? { verificationMethod: ctx.verificationMethod } : {}) } });
    if (p.row.retirementDate) {
      events.push({ ...facts, operation: 'retirement_set', registrant, detail: { retirementDate: p.row.retirementDate, deletionDueDate: deletionDueBy(rule, p.row.retirementDate, today), rule: rule.code, source } });
    }
  }
  await deps.history.recordMany(events, tx);
  // Payroll hears of a completion however it came about (ids, codes and statuses only).
  const deliveries: string[] = [];
  for (const [i, p] of people.entries()) {
    if (!p.myNumber) continue;
    deliveries.push(...(await enqueueEvent(tx, tenantId, 'registrant_completed', { registrantId: ids[i]!, employeeCode: p.row.employeeCode, status: 'completed', dependentId: null }, `stored-completed/${ids[i]!}`)));
  }
  const byId = new Map(stored.map((r) => [r.id, r]));
  return { registrants: ids.map((id) => byId.get(id)!), dependentIds, deliveries, numbers: numbered.length };
}
