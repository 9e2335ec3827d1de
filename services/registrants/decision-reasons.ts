/**
 * The reason HR gave for a remand, a refusal or a status set by hand that still stands, shown beside
 * that row in the history and the person's 経過: the person's latest such row, while their status
 * is still what that row made it. The reason is free text that may name people, so it lives on the
 * person's row (deleted with them) and is read from there — never written to the chained history.
 */
import type { PrismaClient } from '../db/client';
import { isUuid } from '../db/uuid';

/** Rows that set a status with a reason: the decisions (operation = status) and HR's hand changes (detail.to). */
const DECIDING = ['remanded', 'refused', 'status_changed'];

/** Event id → reason, for the rows given that carry a standing decision. */
export async function standingReasons(prisma: PrismaClient, tenantId: string, rows: readonly { id: bigint; operation: string; registrantId: string | null }[]): Promise<Map<bigint, string>> {
  const decided = [...new Set(rows.filter((r) => DECIDING.includes(r.operation) && r.registrantId && isUuid(r.registrantId)).map((r) => r.registrantId!))];
  if (!decided.length || !isUuid(tenantId)) return new Map();
  const standing = await prisma.$queryRaw<{ id: bigint; reason: string }[]>`
    SELECT e.id, r.status_reason AS reason
      FROM registrants r
      JOIN LATERAL (
        SELECT id, operation, detail->>'to' AS made
          FROM operation_events
         WHERE tenant_id = ${tenantId}::uuid AND registrant_id = r.id AND operation = ANY(${DECIDING})
         ORDER BY id DESC LIMIT 1) e ON true
     WHERE r.tenant_id = ${tenantId}::uuid AND r.id = ANY(${decided}::uuid[]) AND r.status_reason IS NOT NULL
       AND r.status::text = CASE WHEN e.operation = 'status_changed' THEN e.made ELSE e.operation END`;
  return new Map(standing.map((s) => [s.id, s.reason]));
}
