/**
 * The API on real PostgreSQL and the SMTP capture, for routes that start no workflow: the Temporal
 * client points at nothing (it connects on first use, which never comes).
 */
import type { Client } from '@temporalio/client';
import type { Express } from 'express';
import type { Services } from '../../services/container';
import type { PrismaClient } from '../../services/db/client';
import type { Logger } from '../../services/logging/logger';
import type { Outbox, OutboxOptions } from '../../services/outbox/outbox';
import { createTemporalClient } from '../../services/temporal/client';
import { memoryLogger, startOutbox, testApp, testPrisma, withLogins, type TestAppDeps } from './fixtures';

export type ApiHarnessOptions = Omit<TestAppDeps, 'prisma' | 'outbox' | 'temporalClient' | 'logger'> & { logger?: Logger; outbox?: OutboxOptions };

export interface ApiHarness {
  prisma: PrismaClient;
  outbox: Outbox;
  temporal: Client;
  app: Express;
  services: Services;
}

/** Registers the file's beforeAll/afterAll; the returned harness is filled in by beforeAll. */
export function useApiHarness(opts: ApiHarnessOptions) {
  const harness = {} as ApiHarness;

  beforeAll(async () => {
    harness.prisma = testPrisma();
    const { outbox: outboxOptions, ...appOptions } = opts;
    harness.outbox = await startOutbox(outboxOptions);
    harness.temporal = createTemporalClient('127.0.0.1:1', 'default');
    const deps = { ...appOptions, logger: opts.logger ?? memoryLogger().logger, prisma: harness.prisma, outbox: harness.outbox, temporalClient: harness.temporal };
    ({ app: harness.app, services: harness.services } = testApp(deps));
  });

  afterAll(async () => {
    await harness.temporal?.connection.close();
    await harness.outbox?.close();
    await harness.prisma?.$disconnect();
  });

  return withLogins(harness);
}
