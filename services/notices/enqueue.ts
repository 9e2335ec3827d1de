/**
 * A notice is queued in the transaction of the event it tells of (a submission, an approval): a row
 * of the mail ledger, `sending`, that the reconciler's round sends (notice-sender.ts). Whatever
 * happens after the commit, it goes out; queued twice for one step, it is one row.
 */
import { createHash } from 'node:crypto';
import type { Prisma } from '../../prisma/generated/client';
import type { EmployeeNoticeKind } from './notice-mail';

/** The ledger key: under the person's workflow id (the timeline and the dashboard find it there). */
export const noticeKey = (workflowId: string, kind: EmployeeNoticeKind, stepKey: string) =>
  `${workflowId}/notice/${kind}/${createHash('sha256').update(stepKey).digest('hex').slice(0, 16)}`;

export async function enqueueEmployeeNotice(
  tx: Prisma.TransactionClient,
  r: { tenantId: string; workflowId: string; email: string | null },
  kind: EmployeeNoticeKind,
  stepKey: string,
): Promise<void> {
  if (!r.email) return;
  const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: r.tenantId }, select: { employeeNotices: true } });
  if (!tenant.employeeNotices) return;
  const key = noticeKey(r.workflowId, kind, stepKey);
  await tx.mailDelivery.upsert({ where: { key }, create: { key, recipient: r.email, kind }, update: {} });
}
