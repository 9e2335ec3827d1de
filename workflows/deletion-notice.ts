/**
 * Gathers the registrants whose deletion falls on one date (their workflows signal in, usually all
 * at the same midnight) and mails the tenant's HR one list once they have stopped arriving.
 */
import { condition, patched, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { deletionDueSignal, type DeletionNoticeInput } from '../shared';
import { activitiesForRound, isOutage } from './durable-steps';

const { mailDeletionNotice } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20 },
});

/** Quiet time after the last registrant arrived before the list goes out. */
const GATHER_MS = 10 * 60 * 1000;
/**
 * From this release on every registrant that signals in is mailed (also one arriving while the list
 * goes out), and an SMTP or PostgreSQL outage delays the mail instead of failing the workflow.
 */
export const NOTICE_PATCH = 'deletion-notice-every-arrival-v2';

export async function deletionNoticeWorkflow(input: DeletionNoticeInput): Promise<number> {
  const ids = new Set<string>();
  let arrived = 0;
  setHandler(deletionDueSignal, ({ registrantId }) => {
    ids.add(registrantId);
    arrived++;
  });
  for (;;) {
    const seen = arrived;
    if (!(await condition(() => arrived > seen, GATHER_MS))) break;
  }
  if (!patched(NOTICE_PATCH)) {
    const { workflowId, runId } = workflowInfo();
    const { sent } = await mailDeletionNotice({ ...input, registrantIds: [...ids], key: `${workflowId}/${runId}` });
    return sent;
  }

  const { workflowId, firstExecutionRunId } = workflowInfo();
  const mailed = new Set<string>();
  let sent = 0;
  for (let batch = 1; ; batch++) {
    const pending = [...ids].filter((id) => !mailed.has(id));
    if (pending.length === 0) break;
    const key = `${workflowId}/${firstExecutionRunId}/${batch}`;
    for (let round = 1; ; round++) {
      try {
        sent += (await activitiesForRound(round).mailDeletionNotice({ ...input, registrantIds: pending, key })).sent;
        break;
      } catch (err) {
        if (!isOutage(err)) throw err;
        await sleep('1 minute', { summary: '削除予定のお知らせ（再試行待ち）' });
      }
    }
    for (const id of pending) mailed.add(id);
  }
  return sent;
}
