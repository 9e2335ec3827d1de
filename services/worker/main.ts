/** The Temporal worker process: runs registrant workflows and their activities. */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ConfigError, loadConfig, requireServices } from '../config/config';
import { createPrisma } from '../db/client';
import { createLogger } from '../logging/logger';
import { temporalLogger } from '../logging/temporal-logger';
import { createMailTransport } from '../mail/transport';
import { createWorkflowBacklog, scheduleWorkflowBacklog } from '../registrants/workflow-backlog';
import { createTemporalClient } from '../temporal/client';
import { loadKeyring } from '../vault/keyring';
import { createVault } from '../vault/vault';
import { createWorker } from './worker';

const BACKLOG_EVERY_MS = 60_000;

async function main() {
  const config = loadConfig();
  const services = requireServices(config);
  const logger = createLogger({ level: config.logLevel, name: 'worker' });
  // The SDK's own log (bundler output, state changes) only when debugging; scrubbed like ours.
  Runtime.install({ logger: temporalLogger(logger, ['debug', 'trace'].includes(config.logLevel) ? 'INFO' : 'WARN') });
  const prisma = createPrisma(services.databaseUrl);
  const connection = await NativeConnection.connect({ address: services.temporalAddress }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${services.temporalAddress}: ${err.message}`);
  });
  const worker = await createWorker({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    prisma,
    mailer: createMailTransport(services.smtpUrl),
    publicUrl: config.publicUrl,
    mailFrom: config.mailFrom,
    webhookAllowPrivate: config.webhookAllowHttp,
    logger,
    vault: createVault({ prisma, keyring: loadKeyring(config) }),
  });
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'worker started');
  // Worker.run() returns after SIGINT/SIGTERM once in-flight tasks have finished.
  const running = worker.run();
  // Tell a supervising `npm start` that workflows can now make progress.
  process.send?.('ready');
  // People stored while Temporal was down get their workflows now and then every minute.
  const client = createTemporalClient(services.temporalAddress, config.temporal.namespace);
  const backlog = scheduleWorkflowBacklog(
    createWorkflowBacklog({ prisma, temporal: { client, taskQueue: config.temporal.taskQueue }, inviteReminderDays: config.inviteReminderDays, logger }),
    BACKLOG_EVERY_MS,
    logger,
  );
  await running;
  await backlog.stop();
  await client.connection.close();
  await connection.close();
  await prisma.$disconnect();
  logger.info('worker stopped');
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `worker: ${(err as Error).message}`);
  process.exit(1);
});
