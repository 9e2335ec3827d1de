/**
 * The bench's worker process: the product's worker (createWorker: real activities, real workflows,
 * sized from the configuration as services/worker/main.ts sizes it) wired like main.ts, except that
 * its workflow bundle, prebuilt by the bench as set-up prebuilds the product's, also holds the
 * bench's no-op workflow. Run as a child of the bench so its memory is its own; it answers the
 * parent's samples (heap, worker status) over the IPC channel.
 */
import v8 from 'node:v8';
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import { NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { loadConfig, requireServices } from '../../services/config/config';
import { createPrisma, withDefaultConnectionLimit } from '../../services/db/client';
import { createLogger } from '../../services/logging/logger';
import { temporalLogger } from '../../services/logging/temporal-logger';
import { createMailTransport } from '../../services/mail/transport';
import { loadKeyring } from '../../services/vault/keyring';
import { createVault } from '../../services/vault/vault';
import { createWorker, workerDatabaseConnections } from '../../services/worker/worker';

export interface WorkerSample {
  type: 'sample';
  id: number;
  memory: NodeJS.MemoryUsage;
  status: ReturnType<Worker['getStatus']>;
}

export interface WorkerReady {
  type: 'ready';
  settings: Record<string, string | number | boolean>;
}

export interface SampleRequest {
  type: 'sample';
  id: number;
  /** Collect garbage first (the process runs with --expose-gc). */
  gc?: boolean;
  /** Write the main thread's CPU profile so far to BENCH_WORKER_CPU_PROFILE (when set). */
  writeProfile?: boolean;
}

const send = (m: WorkerSample | WorkerReady) => process.send?.(m);

/** The settings that decide the worker's memory and throughput, as the SDK compiled them. */
function settingsOf(worker: Worker, databaseConnections: number): WorkerReady['settings'] {
  const o = worker.options;
  const slots = (s: unknown) => (s && typeof s === 'object' && 'numSlots' in s ? Number((s as { numSlots: number }).numSlots) : String((s as { type?: string })?.type ?? '?'));
  const tuner = o.tuner as unknown as Record<string, unknown>;
  return {
    maxCachedWorkflows: o.maxCachedWorkflows,
    databaseConnections,
    reuseV8Context: o.reuseV8Context,
    workflowThreadPoolSize: o.workflowThreadPoolSize,
    workflowTaskSlots: slots(tuner.workflowTaskSlotSupplier),
    activityTaskSlots: slots(tuner.activityTaskSlotSupplier),
    nodeHeapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 1024 / 1024),
  };
}

async function main() {
  const config = loadConfig();
  const services = requireServices(config);
  const logger = createLogger({ level: config.logLevel, name: 'bench-worker' });
  Runtime.install({ logger: temporalLogger(logger, 'WARN') });
  // Sized as the product's worker is (services/worker/main.ts).
  const databaseUrl = withDefaultConnectionLimit(services.databaseUrl, workerDatabaseConnections(config.worker.activitySlots));
  const prisma = createPrisma(databaseUrl);
  const connection = await NativeConnection.connect({ address: services.temporalAddress });
  const workflowBundle = { code: fs.readFileSync(process.env.BENCH_WORKFLOW_BUNDLE!, 'utf8') };
  const keyring = loadKeyring(config);
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle,
    prisma,
    mailer: createMailTransport(services.smtpUrl),
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    logger,
    vault: createVault({ prisma, keyring }),
    keyring,
    options: { maxCachedWorkflows: config.worker.cachedWorkflows, maxConcurrentActivityTaskExecutions: config.worker.activitySlots },
  });
  // The main thread only (activities, the SDK's glue); workflow code runs on the workflow thread.
  const profileFile = process.env.BENCH_WORKER_CPU_PROFILE;
  const profiler = profileFile ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.start');
  }
  process.on('message', async (m: SampleRequest) => {
    if (m?.type !== 'sample') return;
    if (m.writeProfile && profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      fs.writeFileSync(profileFile!, JSON.stringify(profile));
    }
    if (m.gc) (globalThis as { gc?: () => void }).gc?.();
    send({ type: 'sample', id: m.id, memory: process.memoryUsage(), status: worker.getStatus() });
  });
  // The bench going away without stopping us is the same as being told to stop.
  process.on('disconnect', () => worker.getState() === 'RUNNING' && worker.shutdown());
  const running = worker.run();
  send({ type: 'ready', settings: settingsOf(worker, Number(new URL(databaseUrl).searchParams.get('connection_limit'))) });
  await running;
  await connection.close();
  await prisma.$disconnect();
}

main().then(
  () => process.exit(0),
  (err: Error) => {
    console.error(`bench worker: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
