/**
 * The real app for benches that go through HTTP: its own keyring, Temporal and SMTP pointed nowhere
 * (HR reads and pulls touch neither), listening on a free loopback port.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApp } from '../../api/app';
import { loadConfig } from '../../services/config/config';
import { createServices } from '../../services/container';
import type { PrismaClient } from '../../services/db/client';
import { createLogger } from '../../services/logging/logger';
import { createMailTransport } from '../../services/mail/transport';
import { createTemporalClient } from '../../services/temporal/client';
import { loadKeyring } from '../../services/vault/keyring';
import { createVault } from '../../services/vault/vault';
import type { Cleanup, Stack } from './stack';

export async function startBenchApi(stack: Stack, cleanup: Cleanup, prisma: PrismaClient) {
  const keysDir = fs.mkdtempSync(path.join(stack.tmpDir, 'keys-'));
  const vault = createVault({ prisma, keyring: loadKeyring(loadConfig({ DATA_DIR: keysDir })) });
  const logger = createLogger({ level: 'warn' });
  const temporal = { client: createTemporalClient('127.0.0.1:1', 'default'), taskQueue: 'bench' };
  cleanup.add('close the Temporal client', () => temporal.client.connection.close());
  const services = createServices({
    prisma,
    temporal,
    vault,
    mailer: createMailTransport('smtp://127.0.0.1:1'),
    mailFrom: 'bench <bench@mynaflow.localhost>',
    publicUrl: 'http://bench.invalid',
    inviteReminderDays: [7, 30, 80],
    loginLockMinutes: 30,
    session: { idleMinutes: 30, absoluteHours: 12 },
  });
  const app = createApp({ prisma, temporal, logger, services, secureCookies: false, loginLockMinutes: 30, sessionAbsoluteHours: 12, connectorRateLimit: { limit: 1_000_000, windowSeconds: 60 } });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add('stop the bench API', () => new Promise<void>((resolve) => server.close(() => resolve())));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, services, vault };
}
