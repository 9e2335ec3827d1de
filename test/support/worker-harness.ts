/**
 * A Temporal test server with the product's worker on real PostgreSQL and the SMTP capture, and the
 * API in front of them: for tests that run workflows.
 */
import type { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Express } from 'express';
import type { PrismaClient } from '../../services/db/client';
import type { Logger } from '../../services/logging/logger';
import type { Outbox, OutboxOptions } from '../../services/outbox/outbox';
import { memoryLogger, startOutbox, startWorker, testApp, testPrisma, withLogins, type WorkerHandle } from './fixtures';
import { createTemporalClient } from '../../services/temporal/client';
import { testKeyring } from './keys';
import { createLocalEnv } from './temporal';

export interface WorkerHarnessOptions {
  taskQueue: string;
  logger?: Logger;
  /** The Temporal server: a full dev server unless told otherwise (e.g. createTimeSkippingEnv). */
  env?: () => Promise<TestWorkflowEnvironment>;
  outbox?: OutboxOptions;
  /** How long a lifecycle step may take before the API answers 202. */
  stepAnswerWithinMs?: number;
  /**
   * The API with a Temporal client of its own, made as the product makes it (createTemporalClient:
   * its retries decide what a refusal becomes), instead of the test's client.
   */
  apiOwnClient?: boolean;
}

export interface WorkerHarness {
  env: TestWorkflowEnvironment;
  prisma: PrismaClient;
  outbox: Outbox;
  worker: WorkerHandle;
  readonly app: Express;
}

/** Registers the file's beforeAll/afterAll; the returned harness is filled in by beforeAll. */
export function useWorkerHarness(opts: WorkerHarnessOptions) {
  const logger = opts.logger ?? memoryLogger().logger;
  let app: Express | undefined;
  let apiClient: Client | undefined;
  const harness = {
    /** Made on first use: tests that drive workflows directly never need it. */
    get app() {
      if (opts.apiOwnClient) apiClient ??= createTemporalClient(harness.env.connection.options.address!, 'default', testKeyring());
      app ??= testApp({ prisma: harness.prisma, logger, outbox: harness.outbox, temporalClient: apiClient ?? harness.env.client, taskQueue: opts.taskQueue, stepAnswerWithinMs: opts.stepAnswerWithinMs }).app;
      return app;
    },
  } as WorkerHarness;

  beforeAll(async () => {
    [harness.env, harness.outbox] = await Promise.all([(opts.env ?? createLocalEnv)(), startOutbox(opts.outbox)]);
    harness.prisma = testPrisma();
    harness.worker = await startWorker(harness.env, { prisma: harness.prisma, outbox: harness.outbox, logger, taskQueue: opts.taskQueue });
  });

  afterAll(async () => {
    await apiClient?.connection.close();
    await harness.worker?.stop();
    await harness.env?.teardown();
    await harness.outbox?.close();
    await harness.prisma?.$disconnect();
  });

  return withLogins(harness);
}
