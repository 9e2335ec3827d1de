/**
 * Starting the delivery workflows of webhook rows a request just committed. A delivery whose start
 * fails (Temporal away, the deadline passed) stays pending: the reconciler's sweep starts it.
 */
import { webhookDeliveryWorkflowId } from '../../shared';
import type { webhookDeliveryWorkflow } from '../../workflows';
import { inLanes, REQUEST_START_DEADLINE_MS, START_CONCURRENCY } from '../registrants/workflow-starts';
import { withDeadline, type TemporalDeps } from '../temporal/client';

export async function startDeliveries(temporal: TemporalDeps, deliveryIds: string[]): Promise<void> {
  await inLanes(
    deliveryIds,
    START_CONCURRENCY,
    (deliveryId) =>
      withDeadline(temporal.client, REQUEST_START_DEADLINE_MS, () =>
        temporal.client.workflow.start<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', { taskQueue: temporal.taskQueue, workflowId: webhookDeliveryWorkflowId(deliveryId), args: [{ deliveryId }] }),
      ),
    true,
  );
}
