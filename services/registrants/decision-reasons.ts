/**
 * The reason HR gave for a remand or refusal that still stands, shown beside that decision in the
 * history and the person's 経過: the latest such row of a person whose status is still that
 * decision. The reason is free text that may name people, so it lives on the person's row (deleted
 * with them) and is read from there — never written to the chained history.
 */
import type { Status } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { isUuid } from '../db/uuid';

/** The decisions a reason stands beside: each is both a status and the history operation that set it. */
const DECISIONS: Status[] = ['remanded', 'refused'];

/** Event id → reason, for the rows given that carry a standing decision. */
export async function standingReasons(prisma: PrismaClient, tenantId: string, rows: readonly { id: bigint; operation: string; registrantId: string | null }[]): Promise<Map<bigint, string>> {
  const decided = [...new Set(rows.filter((r) => (DECISIONS as string[]).includes(r.operation) && r.registrantId && isUuid(r.registrantId)).map((r) => r.registrantId!))];
  if (!decided.length) return new Map();
  const [people, latest] = await Promise.all([
    prisma.registrant.findMany({ where: { tenantId, id: { in: decided }, status: { in: DECISIONS }, statusReason: { not: null } }, select: { id: true, status: true, statusReason: true } }),
    prisma.operationEvent.groupBy({ by: ['registrantId', 'operation'], where: { tenantId, registrantId: { in: decided }, operation: { in: DECISIONS } }, _max: { id: true } }),
  ]);
  const reasons = new Map<bigint, string>();
  for (const p of people) {
    const last = latest.find((l) => l.registrantId === p.id && l.operation === p.status)?._max.id;
    if (last !== undefined && last !== null) reasons.set(last, p.statusReason!);
  }
  return reasons;
}
