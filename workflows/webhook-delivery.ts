/**
 * Delivers one webhook event: attempts with exponential backoff (10 s doubling, at most 1 h apart,
 * DELIVERY_MAX_ATTEMPTS in all), then gives up and marks the delivery failed. Started by the
 * registrant workflow as an abandoned child, so a delivery outlives the registrant's workflow (a
 * deletion event is sent after the data is gone).
 */
import { ActivityFailure, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { WEBHOOK_DELIVERY_MAX_ATTEMPTS } from '../shared';

const { deliverWebhook } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '1 hour', maximumAttempts: WEBHOOK_DELIVERY_MAX_ATTEMPTS },
});
const { markDeliveryFailed } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 10 },
});

export async function webhookDeliveryWorkflow({ deliveryId }: { deliveryId: string }): Promise<'delivered' | 'ended' | 'failed'> {
  try {
    return await deliverWebhook({ deliveryId });
  } catch (err) {
    if (!(err instanceof ActivityFailure)) throw err;
    await markDeliveryFailed({ deliveryId });
    return 'failed';
  }
}
