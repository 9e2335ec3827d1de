/**
 * Webhook deliveries. The attempt is recorded on the delivery row whatever happens; a failed
 * attempt throws a retryable error so Temporal's retry policy (in the delivery workflow) supplies
 * the backoff, and the attempts stay visible through the API.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { attemptDelivery } from '../services/connectors/webhooks';
import type { ActivityDeps } from './index';

export function createWebhookActivities({ prisma, vault, webhookAllowPrivate }: Pick<ActivityDeps, 'prisma' | 'vault' | 'webhookAllowPrivate'>) {
  return {
    async deliverWebhook({ deliveryId }: { deliveryId: string }): Promise<'delivered' | 'ended'> {
      const result = await attemptDelivery({ prisma, vault, allowPrivate: webhookAllowPrivate }, deliveryId);
      if (typeof result === 'object') throw ApplicationFailure.retryable(result.failed, 'WebhookAttemptFailed');
      return result === 'delivered' ? 'delivered' : 'ended';
    },

    /** Every attempt failed: the delivery says so (still listed, with its attempts). */
    async markDeliveryFailed({ deliveryId }: { deliveryId: string }): Promise<void> {
      await prisma.webhookDelivery.updateMany({ where: { id: deliveryId, status: 'pending' }, data: { status: 'failed' } });
    },
  };
}
