/**
 * An import with numbers too large for one request: its batches stored one after another, each in
 * one transaction that also counts it done (so a batch retried after a crash is stored once), then
 * the job ended and its file shredded. A cancel stops it between batches: the batches stored stay
 * (README "Moving in with numbers"). A batch refused for a business reason (an employee code taken
 * meanwhile) ends the job as failed without retrying; anything else is retried, with a heartbeat
 * telling a lost worker from a slow batch.
 */
import { ActivityFailure, ApplicationFailure, CancellationScope, isCancellation, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { cancelImportSignal, type ImportJobInput, type ImportJobOutcome } from '../shared';

const { importBatch } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '20 seconds',
  // PostgreSQL away for a while: tried again for about a day, then the job is marked failed.
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 300, nonRetryableErrorTypes: ['ImportRefused'] },
  summary: '取り込み（1バッチ）',
});
const { finishImportJob } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes' },
  summary: '取り込みの終了（ファイルの消去）',
});

export async function importJobWorkflow(input: ImportJobInput): Promise<ImportJobOutcome> {
  let cancelled = false;
  setHandler(cancelImportSignal, () => void (cancelled = true));
  let outcome: ImportJobOutcome = 'succeeded';
  let error: string | undefined;
  for (let index = 0; index < input.batches; index++) {
    // A cancel after the last batch changes nothing: everything is stored.
    if (cancelled) {
      outcome = 'cancelled';
      break;
    }
    try {
      // The row may say 'cancelling' where the signal did not arrive (Temporal was away meanwhile).
      if ((await importBatch({ jobId: input.jobId, index })).cancelled) {
        outcome = 'cancelled';
        break;
      }
    } catch (err) {
      // The workflow cancelled in Temporal (an operator): ended as a cancel, the file still shredded.
      if (isCancellation(err)) {
        outcome = 'cancelled';
        break;
      }
      if (!(err instanceof ActivityFailure)) throw err;
      outcome = 'failed';
      // A refusal says why in Japanese; anything else is said as a general failure.
      error = err.cause instanceof ApplicationFailure && err.cause.type === 'ImportRefused' ? err.cause.message : undefined;
      break;
    }
  }
  // Runs however the job ended, a cancelled workflow included: the file never outlives the job.
  await CancellationScope.nonCancellable(() => finishImportJob({ jobId: input.jobId, outcome, ...(error ? { error } : {}) }));
  return outcome;
}
