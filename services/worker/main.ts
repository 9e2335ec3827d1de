/** The Temporal worker process: runs registrant workflows and their activities. */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig, requireServices } from '../config/config';
import { warnIfPrivileged } from '../db/app-role';
import { createPrisma } from '../db/client';
import { createLogger } from '../logging/logger';
import { temporalLogger } from '../logging/temporal-logger';
import { createMailTransport } from '../mail/transport';
import { describeError } from '../health/outages';
import { keepReconcilerScheduled } from '../reconciler/schedule';
import { createTemporalClient } from '../temporal/client';
import { openInstanceVault } from '../vault/instance';
import { createWorker, workerDatabaseConnections } from './worker';

async function main() {
  const config = loadConfig();
  const services = requireServices(config);
  const graceMs = config.shutdownGraceMs;
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  // The SDK's own log (bundler output, state changes) only when debugging; scrubbed like ours.
  Runtime.install({
    logger: temporalLogger(logger, ['debug', 'trace'].includes(config.logLevel) ? 'INFO' : 'WARN'),
    // The SDK's own metrics (schedule-to-start latency, task and activity failures, sticky cache…) and
    // ours (mails sent and failed: activities/mail-metrics.ts), on one Prometheus endpoint.
    ...(config.metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `${config.metrics.host}:${config.metrics.port}`, countersTotalSuffix: true, useSecondsForDurations: true } } } } : {}),
  });
  if (config.metrics) logger.info({ url: `http://${config.metrics.host}:${config.metrics.port}/metrics` }, 'metrics served');
  // The SDK drops its SIGINT/SIGTERM handlers at the first signal, so a second one would kill us
  // mid-drain (a Ctrl-C in the worker's own terminal, then its supervisor's SIGTERM).
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  const prisma = createPrisma(services.databaseUrl, workerDatabaseConnections(config.worker.activitySlots));
  await warnIfPrivileged(prisma, logger);
  // Refuses to start on a master key the other instances do not share (services/vault/instance.ts).
  const vault = await openInstanceVault(config, prisma);
  const connection = await NativeConnection.connect({ address: services.temporalAddress, ...config.temporal.connection }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${services.temporalAddress}: ${err.message}`);
  });
  const worker = await createWorker({
    connection,
    keyring: vault.keyring,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    prisma,
    mailer: createMailTransport(services.smtpUrl),
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    webhookAllowPrivate: config.webhookAllowHttp,
    logger,
    vault,
    inviteReminderDays: config.inviteReminderDays,
    // On SIGTERM/SIGINT activities in flight get the grace to finish (the SDK's default is none:
    // cancelled at once); a few seconds later run() gives up, so the process always ends.
    options: {
      shutdownGraceTime: graceMs,
      shutdownForceTime: graceMs + 3000,
      maxCachedWorkflows: config.worker.cachedWorkflows,
      maxConcurrentActivityTaskExecutions: config.worker.activitySlots,
    },
  });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace, ...config.worker }, 'worker started');
  // Worker.run() returns after SIGINT/SIGTERM once in-flight tasks have finished.
  const running = worker.run();
  // Tell a supervising `npm start` that workflows can now make progress.
  process.send?.('ready');
  // The reconciler (queued starts, pending webhooks, orphans) runs on one Temporal Schedule for the
  // whole deployment; every worker makes sure it exists with the current settings.
  const client = createTemporalClient(services.temporalAddress, config.temporal.namespace, vault.keyring, config.temporal.connection);
  let stopped = false;
  const scheduled = keepReconcilerScheduled(client, config.temporal.taskQueue, {
    stopped: () => stopped,
    onRetry: (err, ms) => logger.warn({ cause: describeError(err), retryInMs: ms }, 'could not create or update the reconciler schedule; trying again'),
  });
  await running;
  stopped = true;
  await scheduled;
  await client.connection.close();
  await connection.close();
  await prisma.$disconnect();
  logger.info('worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `worker: ${(err as Error).message}`);
  process.exit(1);
});
