/**
 * One reconciler round, run every minute by the Temporal Schedule `mynaflow-reconciler`: starts the
 * workflows of people still queued, dispatches webhook deliveries left pending, restores the
 * workflow of anyone stored without one, forgets idempotency keys older than a day, sends the
 * notices queued (employees' receipts and approval mails, HR's digests) and tells workflows of a
 * tenant's changed reminder days. Each sweep is
 * independent (one failing does not stop the others) and bounded: a sweep that cannot finish gives up
 * for this round — the next one is a minute away — so a round never piles up behind an outage (the
 * schedule skips overlapping rounds). At most 2 attempts of 2 minutes per sweep: a round ends within
 * the schedule's 30-minute execution timeout.
 */
import { ActivityFailure, patched, proxyActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ReconcileReport, ReconcileScope } from '../shared';

const sweeps = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '2 minutes',
  heartbeatTimeout: '20 seconds',
  retry: { initialInterval: '5 seconds', maximumAttempts: 2 },
});

export async function reconcilerWorkflow(scope: ReconcileScope = {}): Promise<ReconcileReport> {
  const failed: string[] = [];
  const attempt = async <T>(name: string, fn: () => Promise<T>, none: T): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ActivityFailure)) throw err;
      failed.push(name);
      return none;
    }
  };
  const { started, waiting } = await attempt('startQueuedWorkflows', () => sweeps.startQueuedWorkflows(scope), { started: 0, waiting: 0 });
  const { dispatched } = await attempt('sweepWebhookDeliveries', () => sweeps.sweepWebhookDeliveries(scope), { dispatched: 0 });
  const { restored } = await attempt('restoreOrphanWorkflows', () => sweeps.restoreOrphanWorkflows(scope), { checked: 0, restored: 0 });
  // Added after the first release: a round begun before it replays without this step (likewise below).
  const { expired } = patched('expire-idempotency-keys') ? await attempt('expireIdempotencyKeys', () => sweeps.expireIdempotencyKeys(), { expired: 0 }) : { expired: 0 };
  const { sent: noticesSent } = patched('send-notices') ? await attempt('sendNotices', () => sweeps.sendNotices(scope), { digests: 0, sent: 0, held: 0, deferred: 0, rejected: 0 }) : { sent: 0 };
  const { told } = patched('tell-reminder-days') ? await attempt('tellReminderDays', () => sweeps.tellReminderDays(scope), { told: 0 }) : { told: 0 };
  return { started, waiting, dispatched, restored, expired, noticesSent, reminderDaysTold: told, failed };
}
