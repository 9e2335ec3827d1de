/**
 * Gathers the registrants whose deletion falls on one date (their workflows signal in, usually all
 * at the same midnight) and mails the tenant's HR one list once they have stopped arriving.
 */
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { deletionDueSignal, type DeletionNoticeInput } from '../shared';

const { mailDeletionNotice } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 20 },
});

/** Quiet time after the last registrant arrived before the list goes out. */
const GATHER_MS = 10 * 60 * 1000;

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
  const { workflowId, runId } = workflowInfo();
  const { sent } = await mailDeletionNotice({ ...input, registrantIds: [...ids], key: `${workflowId}/${runId}` });
  return sent;
}
