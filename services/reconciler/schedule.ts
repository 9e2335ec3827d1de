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
    // The first round at once: a worker starting after an outage does not wait a minute.
    await client.schedule.create({ ...options, state: { triggerImmediately: true } });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await client.schedule.getHandle(RECONCILER_SCHEDULE_ID).update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }));
  }
}
