/** The API process. */
import http from 'node:http';
import { ConfigError, loadConfig, requireServices } from '../services/config/config';
import { createPrisma } from '../services/db/client';
import { createLogger } from '../services/logging/logger';
import { createTemporalClient } from '../services/temporal/client';
import { ensureDefaultTenant } from '../services/tenants/default-tenant';
import { createApp } from './app';

async function main() {
  const config = loadConfig();
  const services = requireServices(config);
  const logger = createLogger({ level: config.logLevel, name: 'api' });
  const prisma = createPrisma(services.databaseUrl);
  const tenantId = await ensureDefaultTenant(prisma).catch((err: Error) => {
    throw new Error(`cannot use the database at ${new URL(services.databaseUrl).host}: ${err.message.split('\n')[0]}`);
  });
  const client = createTemporalClient(services.temporalAddress, config.temporal.namespace);
  const app = createApp({
    prisma,
    temporal: { client, taskQueue: config.temporal.taskQueue },
    logger,
    inviteReminderDays: config.inviteReminderDays,
    tenantId,
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`port ${config.port} on ${config.host} is already in use: set PORT to another port`) : err),
    );
    server.listen(config.port, config.host, () => resolve());
  });
  logger.info({ url: `http://${config.host}:${config.port}` }, 'api listening');
  const stop = () => {
    server.close(() => void Promise.all([prisma.$disconnect(), client.connection.close()]).then(() => process.exit(0)));
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `api: ${(err as Error).message}`);
  process.exit(1);
});
