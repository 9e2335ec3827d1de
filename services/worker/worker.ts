import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';
import { dataConverterFor } from '../temporal/payload-codec';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import type { Keyring } from '../vault/keyring';
import { keepAlive } from './keep-alive';

export interface WorkerDeps extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** The vault's master keys: every Temporal payload is encrypted under a key derived from them. */
  keyring: Keyring;
  /** Pre-built workflow bundle (tests build it once per file); otherwise bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Tuning and test settings (cache size, identity, patch activation, shutdown grace). */
  options?: Partial<Pick<WorkerOptions, 'maxCachedWorkflows' | 'identity' | 'patchActivationCallback' | 'shutdownGraceTime' | 'shutdownForceTime'>>;
}

/** Makes sure the namespace knows the workflows' search attributes, then creates the worker. */
export async function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, options, keyring, ...activityDeps } = deps;
  await ensureSearchAttributes(connection.operatorService, namespace);
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    // Every payload encrypted under the vault's keys (the activities' own client inherits it).
    dataConverter: dataConverterFor(keyring),
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../../workflows') }),
    activities: createActivities(activityDeps),
    interceptors: { activity: [keepAlive] },
    ...options,
  });
}
