/**
 * Health for orchestrators and operators:
 * - live: the process answers (restart it if not); never looks at dependencies, so an outage of
 *   PostgreSQL or Temporal does not get every instance restarted;
 * - ready: PostgreSQL and Temporal each answered within a short deadline (send traffic elsewhere if
 *   not). The result is kept for a moment and concurrent probes share one check, so probes and load
 *   balancers cannot multiply load on a struggling database.
 */
import type { components } from '../../api/generated/openapi';
import type { PrismaClient } from '../db/client';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import { describeError } from './outages';

/** A check as found; `error` (the backend's own words) stays on the server. */
type Check = components['schemas']['HealthCheck'] & { error?: string };
type Health = Omit<components['schemas']['Health'], 'checks'> & { checks: { database: Check; temporal: Check } };

/** Each dependency's deadline: a probe answers within about this long. */
export const CHECK_DEADLINE_MS = 1500;
/** How long one result serves further probes. */
export const READY_CACHE_MS = 2000;

async function timed(fn: () => Promise<unknown>): Promise<Check> {
  const started = Date.now();
  try {
    await fn();
    return { status: 'ok', latencyMs: Date.now() - started };
  } catch (err) {
    return { status: 'error', latencyMs: Date.now() - started, error: describeError(err) };
  }
}

const within = <T>(ms: number, p: Promise<T>) =>
  Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);

/** Asks PostgreSQL and Temporal for a sign of life, each within a short deadline. */
export async function checkHealth(prisma: PrismaClient, temporal: TemporalDeps, deadlineMs = CHECK_DEADLINE_MS): Promise<Health> {
  const [database, temporalCheck] = await Promise.all([
    timed(() => within(deadlineMs, prisma.$queryRaw`SELECT 1`)),
    timed(() =>
      withDeadline(temporal.client, deadlineMs, () =>
        temporal.client.connection.workflowService.describeNamespace({ namespace: temporal.client.options.namespace }),
      ),
    ),
  ]);
  const ok = database.status === 'ok' && temporalCheck.status === 'ok';
  return { status: ok ? 'ok' : 'unavailable', checks: { database, temporal: temporalCheck } };
}

/** Readiness with a short memory: one check in flight at a time, its result reused for READY_CACHE_MS. */
export function createReadiness(prisma: PrismaClient, temporal: TemporalDeps, cacheMs = READY_CACHE_MS) {
  let last: { at: number; health: Promise<Health> } | undefined;
  return (): Promise<Health> => {
    if (last && Date.now() - last.at <= cacheMs) return last.health;
    // In flight: every probe meanwhile shares it (at = Infinity); then kept for cacheMs.
    const entry = { at: Infinity, health: checkHealth(prisma, temporal) };
    void entry.health.then(() => (entry.at = Date.now()));
    last = entry;
    return entry.health;
  };
}
