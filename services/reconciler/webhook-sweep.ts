/**
 * A webhook delivery is written in the transaction of the change it reports, and its delivery
 * workflow started after the commit. A process that dies in between, or a Temporal that refuses the
 * start, leaves the delivery `pending` with no attempt: the sweep starts its workflow. The workflow id
 * is the delivery's, so a delivery whose workflow runs (it is waiting for its first attempt) is not
 * started twice, and an attempt finds a delivery already done and sends nothing.
 */
import type { Client } from '@temporalio/client';
import { webhookDeliveryWorkflowId } from '../../shared';
import type { webhookDeliveryWorkflow } from '../../workflows';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';
import { inLanes, START_CONCURRENCY } from '../registrants/workflow-starts';

/** Deliveries younger than this are still being started by whoever wrote them. */
const GRACE_MS = 10_000;
const BATCH = 500;

export function createWebhookSweep({ prisma, client, taskQueue, logger }: { prisma: PrismaClient; client: Client; taskQueue: string; logger: Logger }) {
  return {
    /** Starts the workflows of deliveries left pending and never attempted (of one tenant in tests). */
    async run(scope: { tenantId?: string } = {}): Promise<{ dispatched: number }> {
      const stale = await prisma.webhookDelivery.findMany({
        where: { status: 'pending', attempts: 0, createdAt: { lt: new Date(Date.now() - GRACE_MS) }, ...(scope.tenantId ? { webhook: { tenantId: scope.tenantId } } : {}) },
        select: { id: true },
        orderBy: { createdAt: 'asc' },
        take: BATCH,
      });
      let dispatched = 0;
      const failed = await inLanes(
        stale.map((d) => d.id),
        START_CONCURRENCY,
        async (deliveryId) => {
          await client.workflow.start<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', { taskQueue, workflowId: webhookDeliveryWorkflowId(deliveryId), args: [{ deliveryId }] });
          dispatched++;
        },
        true,
      );
      if (dispatched) logger.info({ dispatched }, 'webhook deliveries left pending were dispatched');
      if (failed.size) throw new Error(`${failed.size} webhook deliveries could not be dispatched; the next round tries again`);
      return { dispatched };
    },
  };
}
