/** Real parts wired for a test file: PostgreSQL (from global set-up), SMTP capture, worker, app. */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import { createPrisma, type PrismaClient } from '../../services/db/client';
import { createLogger, type Logger } from '../../services/logging/logger';
import { createMailTransport } from '../../services/mail/transport';
import { startOutbox, type Outbox } from '../../services/outbox/outbox';
import { createWorker } from '../../services/worker/worker';
import { workflowBundle } from './temporal';

export const PUBLIC_URL = 'http://mynaflow.test';
export const MAIL_FROM = 'mynaflow <no-reply@mynaflow.test>';

export function testPrisma(): PrismaClient {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL missing: jest global set-up did not run');
  return createPrisma(url);
}

/** Log lines go to a memory buffer so tests can assert what was (not) logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  // TEST_LOG=1 echoes the log to stderr while debugging a test.
  const logger = createLogger({
    level: 'debug',
    destination: { write: (s: string) => void (lines.push(s), process.env.TEST_LOG && process.stderr.write(s)) },
  });
  return { logger, lines };
}

export async function createTenant(prisma: PrismaClient, name = 'テスト株式会社'): Promise<string> {
  const t = await prisma.tenant.create({ data: { name, customerNumber: randomUUID().slice(0, 12) } });
  return t.id;
}

export interface WorkerHandle {
  worker: Worker;
  running: Promise<void>;
  stop(): Promise<void>;
}

/** Starts a worker on a fresh task queue, wired to real PostgreSQL and the SMTP capture. */
export async function startWorker(
  env: TestWorkflowEnvironment,
  deps: { prisma: PrismaClient; outbox: Outbox; logger: Logger; taskQueue: string },
): Promise<WorkerHandle> {
  const worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: deps.taskQueue,
    workflowBundle: await workflowBundle(),
    prisma: deps.prisma,
    mailer: createMailTransport(`smtp://127.0.0.1:${deps.outbox.smtpPort}`),
    publicUrl: PUBLIC_URL,
    mailFrom: MAIL_FROM,
    logger: deps.logger,
  });
  const running = worker.run();
  return {
    worker,
    running,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

export function testApp(env: TestWorkflowEnvironment, deps: { prisma: PrismaClient; logger: Logger; taskQueue: string; tenantId: string; reminderDays?: number[] }) {
  return createApp({
    prisma: deps.prisma,
    temporal: { client: env.client, taskQueue: deps.taskQueue },
    logger: deps.logger,
    inviteReminderDays: deps.reminderDays ?? [7, 30, 80],
    tenantId: deps.tenantId,
    validateResponses: true,
  });
}

export { startOutbox };
