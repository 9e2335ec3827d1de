/** The API process. */
import http from 'node:http';
import { ConfigError, loadConfig, requireServices } from '../services/config/config';
import { createServices } from '../services/container';
import { createPrisma } from '../services/db/client';
import { createLogger } from '../services/logging/logger';
import { createMailTransport } from '../services/mail/transport';
import { createTemporalClient } from '../services/temporal/client';
import { openInstanceVault } from '../services/vault/instance';
import { createApp } from './app';

async function main() {
  const config = loadConfig();
  const services = requireServices(config);
  const logger = createLogger({ level: config.logLevel, name: 'api' });
  const prisma = createPrisma(services.databaseUrl);
  await prisma.$queryRaw`SELECT 1`.catch((err: Error) => {
    throw new Error(`cannot use the database at ${new URL(services.databaseUrl).host}: ${err.message.split('\n')[0]}`);
  });
  // Refuses to start on a master key the other instances do not share (services/vault/instance.ts).
  const vault = await openInstanceVault(config, prisma);
  const client = createTemporalClient(services.temporalAddress, config.temporal.namespace);
  const temporal = { client, taskQueue: config.temporal.taskQueue };
  const app = createApp({
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
    }),
    secureCookies: config.publicUrl.startsWith('https:'),
    loginLockMinutes: config.loginLockMinutes,
    sessionAbsoluteHours: config.session.absoluteHours,
    trustProxy: config.trustProxy,
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
