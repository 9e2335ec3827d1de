import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../../activities';

export interface WorkerDeps extends ActivityDeps {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Pre-built workflow bundle (tests build it once per file); otherwise bundled from source. */
  workflowBundle?: WorkerOptions['workflowBundle'];
}

export function createWorker(deps: WorkerDeps): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, ...activityDeps } = deps;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('../../workflows') }),
    activities: createActivities(activityDeps),
  });
}
