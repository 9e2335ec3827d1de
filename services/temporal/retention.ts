/**
 * How long Temporal keeps a closed workflow's history: the dev server's and auto-setup's default is
 * a day, after which a failed or terminated person's history — what an operator needs to see why —
 * is gone. The worker raises a shorter retention to RETENTION_DAYS at start; where the namespace is
 * not ours to change (a managed service), it says so and goes on.
 */
import { msToTs, tsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';

export const RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;

type WorkflowService = Pick<temporal.api.workflowservice.v1.WorkflowService, 'describeNamespace' | 'updateNamespace'>;

/** Returns the retention in days now in force, or throws what the server said. */
export async function ensureRetention(service: WorkflowService, namespace: string, days = RETENTION_DAYS): Promise<number> {
  const described = await service.describeNamespace({ namespace });
  const current = tsToMs(described.config?.workflowExecutionRetentionTtl) / DAY_MS;
  if (current >= days) return current;
  await service.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: msToTs(days * DAY_MS) } });
  return days;
}
