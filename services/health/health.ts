import type { components } from '../../api/generated/openapi';
import type { PrismaClient } from '../db/client';
import { withDeadline, type TemporalDeps } from '../temporal/client';

type Health = components['schemas']['Health'];
type Check = components['schemas']['HealthCheck'];

async function timed(fn: () => Promise<unknown>): Promise<Check> {
  const started = Date.now();
  try {
    await fn();
    return { status: 'ok', latencyMs: Date.now() - started };
  } catch (err) {
    return { status: 'error', latencyMs: Date.now() - started, error: (err as Error).message.split('\n')[0]! };
  }
}

const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** Asks PostgreSQL and Temporal for a sign of life, each within a short deadline. */
export async function checkHealth(prisma: PrismaClient, temporal: TemporalDeps): Promise<Health> {
  const [database, temporalCheck] = await Promise.all([
    timed(() => within(3000, prisma.$queryRaw`SELECT 1`)),
    timed(() =>
      withDeadline(temporal.client, 3000, () =>
        temporal.client.connection.workflowService.describeNamespace({ namespace: temporal.client.options.namespace }),
      ),
    ),
  ]);
  const ok = database.status === 'ok' && temporalCheck.status === 'ok';
  return { status: ok ? 'ok' : 'unavailable', checks: { database, temporal: temporalCheck } };
}
