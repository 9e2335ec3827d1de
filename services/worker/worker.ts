import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { dataConverterFor } from '../temporal/payload-codec';
import { ensureRetention, RETENTION_DAYS } from '../temporal/retention';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import type { Keyring } from '../vault/keyring';
import { keepAlive } from './keep-alive';
import { prebuiltWorkflowBundle, WORKFLOWS_PATH } from './workflow-bundle';
import type { Logger } from '../logging/logger';

function workflowCode(given: WorkerOptions['workflowBundle'] | undefined, logger: Logger): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath'> {
  if (given) return { workflowBundle: given };
  const prebuilt = prebuiltWorkflowBundle();
  if (prebuilt) return { workflowBundle: prebuilt };
  logger.info('no current prebuilt workflow bundle (npm run build): bundling the workflows from source');
  return { workflowsPath: WORKFLOWS_PATH };
}

/** A connection for each activity slot, and a few for the reconciler's sweeps and the schedule. */
export const workerDatabaseConnections = (activitySlots: number) => activitySlots + 4;

export interface WorkerDeps extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The vault's master keys: every Temporal payload is encrypted under a key derived from them. */
  keyring: Keyring;
  /** Workflow bundle (tests build it once per file); otherwise the prebuilt one when current, else bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Tuning and test settings (cache size, identity, patch activation, shutdown grace). */
  options?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'maxConcurrentActivityTaskExecutions' | 'identity' | 'patchActivationCallback' | 'shutdownGraceTime' | 'shutdownForceTime'>>;
}

/** Makes sure the namespace knows the workflows' search attributes and keeps histories a month, then creates the worker. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, options, keyring, ...activityDeps } = deps;
  await ensureSearchAttributes(connection.operatorService, namespace);
  // Closed histories kept long enough to find out why (best effort: not every namespace is ours).
  await ensureRetention(connection.workflowService, namespace).catch((err: Error) =>
    activityDeps.logger.warn({ namespace, cause: err.message.split('\n')[0] }, `could not raise the namespace's retention to ${RETENTION_DAYS} days: closed workflows' histories may vanish sooner`),
  );
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    // Every payload encrypted under the vault's keys (the activities' own client inherits it).
    dataConverter: dataConverterFor(keyring),
    ...workflowCode(workflowBundle, activityDeps.logger),
    activities: createActivities(activityDeps),
    interceptors: { activity: [keepAlive] },
    ...options,
  });
}
