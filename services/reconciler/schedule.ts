/**
 * The reconciler runs on a Temporal Schedule, one for the deployment however many workers run: a
 * round every minute, never two at once (SKIP), no catching up on rounds missed while Temporal was
 * down (the next round does all of it). Each worker makes sure at start that the schedule exists
 * with the current settings, so a deploy that changes them takes effect.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleOptionsStartWorkflowAction } from '@temporalio/client';
import { RECONCILER_SCHEDULE_ID } from '../../shared';
import type { reconcilerWorkflow } from '../../workflows';

export const RECONCILE_EVERY_SECONDS = 60;

export async function ensureReconcilerSchedule(client: Client, taskQueue: string, everySeconds = RECONCILE_EVERY_SECONDS): Promise<void> {
  const options: ScheduleOptions<ScheduleOptionsStartWorkflowAction<typeof reconcilerWorkflow>> = {
    scheduleId: RECONCILER_SCHEDULE_ID,
    spec: { intervals: [{ every: `${everySeconds}s` }] },
    action: { type: 'startWorkflow', workflowType: 'reconcilerWorkflow', workflowId: 'mynaflow-reconciler-round', taskQueue, args: [{}], workflowExecutionTimeout: '30 minutes' },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${everySeconds}s`, pauseOnFailure: false },
  };
  try {
    // The first round at once: a worker starting after an outage or a deploy does not wait a minute.
    await client.schedule.create({ ...options, state: { triggerImmediately: true } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const handle = client.schedule.getHandle(RECONCILER_SCHEDULE_ID);
    await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }));
    // A trigger sent right behind an update was dropped (dev server 1.32); once the schedule has
    // answered a describe, the update is in and the trigger holds.
    await handle.describe();
    await handle.trigger(ScheduleOverlapPolicy.SKIP);
  }
}

/**
 * Keeps trying until the schedule is in place (Temporal may be away when a worker starts), pausing
 * 1 s doubling to a minute; `stopped` ends the tries (the worker is shutting down).
 */
export async function keepReconcilerScheduled(client: Client, taskQueue: string, opts: { stopped: () => boolean; onRetry: (err: unknown, retryInMs: number) => void }): Promise<boolean> {
  for (let pause = 1000; !opts.stopped(); pause = Math.min(pause * 2, 60_000)) {
    try {
      await ensureReconcilerSchedule(client, taskQueue);
      return true;
    } catch (err) {
      opts.onRetry(err, pause);
      await new Promise((resolve) => setTimeout(resolve, pause).unref());
    }
  }
  return false;
}
