/** The API process. */
import { ConfigError, loadConfig, requireServices } from '../services/config/config';
import { createServices } from '../services/container';
import { warnIfPrivileged } from '../services/db/app-role';
import { createApiMetrics, serveMetrics } from '../services/metrics/api-metrics';
import { createPrisma } from '../services/db/client';
import { createLogger } from '../services/logging/logger';
import { createMailTransport } from '../services/mail/transport';
import { createTemporalClient } from '../services/temporal/client';
import { ensureSearchAttributes } from '../services/temporal/search-attributes';
import { createPayloadCodec } from '../services/temporal/payload-codec';
import { openInstanceVault } from '../services/vault/instance';
import { describeError } from '../services/health/outages';
import { createApp } from './app';
import { createGracefulServer } from './graceful-server';

async function main() {
  const config = loadConfig();
  const services = requireServices(config);
  const graceMs = config.shutdownGraceMs;
  const logger = createLogger({ level: config.logLevel, name: 'api' });
  const prisma = createPrisma(services.databaseUrl);
  await prisma.$queryRaw`SELECT 1`.catch((err: Error) => {
    throw new Error(`cannot use the database at ${new URL(services.databaseUrl).host}: ${describeError(err)}`);
  });
  await warnIfPrivileged(prisma, logger);
  // Refuses to start on a master key the other instances do not share (services/vault/instance.ts).
  const vault = await openInstanceVault(config, prisma);
  const client = createTemporalClient(services.temporalAddress, config.temporal.namespace, vault.keyring, config.temporal.connection);
  const temporal = { client, taskQueue: config.temporal.taskQueue };
  // Starts set the search attributes: a namespace the worker has not prepared yet learns them here
  // (in the background: the API serves while Temporal is away; a start refused meanwhile is queued).
  void ensureSearchAttributes(client.connection.operatorService, config.temporal.namespace).catch((err: Error) =>
    logger.warn({ cause: describeError(err) }, 'could not register the search attributes: workflow starts wait in the queue until the worker has'),
  );
  const metrics = config.metrics ? createApiMetrics(prisma) : undefined;
  const app = createApp({
    metrics,
    prisma,
    temporal,
    logger,
    services: createServices({
      prisma,
      temporal,
      vault,
      mailer: createMailTransport(services.smtpUrl),
      mailFrom: config.mailFrom,
      publicUrl: config.publicUrl,
      inviteReminderDays: config.inviteReminderDays,
      loginLockMinutes: config.loginLockMinutes,
      session: config.session,
      webhookAllowHttp: config.webhookAllowHttp,
      onBackgroundError: (err, kind) => logger.warn({ kind, cause: describeError(err) }, 'work after an answer failed (a reminder or lock mail was not sent)'),
    }),
    secureCookies: config.publicUrl.startsWith('https:'),
    loginLockMinutes: config.loginLockMinutes,
    sessionAbsoluteHours: config.session.absoluteHours,
    trustProxy: config.trustProxy,
    temporalCodec: { codec: createPayloadCodec(vault.keyring), uiOrigin: config.codec.uiOrigin, token: config.codec.token },
  });
  const { server, drain, inFlight } = createGracefulServer(app);
  if (metrics && config.metrics) {
    await serveMetrics(metrics.registry, config.metrics.host, config.metrics.port);
    logger.info({ url: `http://${config.metrics.host}:${config.metrics.port}/metrics` }, 'metrics served');
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${config.port} on ${config.host} is already in use: set PORT to another port`) : err),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  logger.info({ url: `http://${config.host}:${config.port}` }, 'api listening');
  // A parent process (a supervisor, a test) learns that this process, not another on the port, serves.
  process.send?.('ready');
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // Only the first signal counts: Ctrl-C reaches all of npm start's process group, which then
    // sends SIGTERM too, and that must not cut the drain short.
    if (stopping) return;
    stopping = true;
    logger.info({ signal, inFlight: inFlight(), graceSeconds: graceMs / 1000 }, 'api stopping: no new connections, finishing requests in flight');
    // Closing the pools below could hang too: the process ends regardless.
    setTimeout(() => process.exit(1), graceMs + 5000).unref();
    void drain(graceMs).then(async ({ cut, ms }) => {
      // Cut requests may still hold pool connections, which a disconnect would wait for.
      if (cut) {
        logger.warn({ cut, graceSeconds: graceMs / 1000 }, 'api stopped: requests still open after the grace were cut');
        process.exit(1);
      }
      await Promise.allSettled([prisma.$disconnect(), client.connection.close()]);
      logger.info({ drainedMs: ms }, 'api stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `api: ${(err as Error).message}`);
  process.exit(1);
});
