/**
 * People stored while Temporal was unreachable (CSV import, bulk entry, quick add, payroll sync all
 * commit first and start workflows after) are marked `workflowPendingSince`. Without a workflow
 * nobody would retire them or delete their data when it falls due, so the worker starts the backlog
 * on its own as soon as Temporal answers again, rather than waiting for someone to act on each person.
 * A started workflow takes its state from the database (as a revived one does) and sends no mail:
 * HR sends the invitation from the console when they choose.
 */
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';
import type { TemporalDeps } from '../temporal/client';
import { carriedInput } from './lifecycle';
import { createRegistrantWorkflows, inLanes } from './workflow-starts';

const BATCH = 200;
const CONCURRENCY = 8;

/** Marks people whose workflow could not be started (updated_at untouched: nothing changed for payroll). */
export async function markWorkflowPending(prisma: PrismaClient, registrantIds: string[]): Promise<void> {
  if (registrantIds.length === 0) return;
  await prisma.$executeRaw`UPDATE registrants SET workflow_pending_since = now() WHERE id = ANY(${registrantIds}::uuid[]) AND workflow_pending_since IS NULL`;
}

async function clearPending(prisma: PrismaClient, registrantIds: string[]): Promise<void> {
  if (registrantIds.length === 0) return;
  await prisma.$executeRaw`UPDATE registrants SET workflow_pending_since = NULL WHERE id = ANY(${registrantIds}::uuid[])`;
}

export interface WorkflowBacklogDeps {
  prisma: PrismaClient;
  temporal: TemporalDeps;
  inviteReminderDays: number[];
  logger?: Logger;
  /** How long one start may wait for Temporal (default 10 s). */
  startDeadlineMs?: number;
}

export function createWorkflowBacklog(deps: WorkflowBacklogDeps) {
  const { prisma } = deps;
  const workflows = createRegistrantWorkflows(deps);


  return {
    /**
     * Starts the workflows of everyone marked, oldest first; a workflow already running (someone
     * acted on the person meanwhile) counts as started. Stops at the first batch Temporal refuses
     * with failures. Returns how many were started and how many are still waiting. `tenantId`
     * narrows it to one tenant (tests share a database).
     */
    async run(scope: { tenantId?: string } = {}): Promise<{ started: number; waiting: number }> {
      const where = { workflowPendingSince: { not: null }, ...(scope.tenantId ? { tenantId: scope.tenantId } : {}) };
      let started = 0;
      for (;;) {
        const batch = await prisma.registrant.findMany({ where, orderBy: [{ workflowPendingSince: 'asc' }, { id: 'asc' }], take: BATCH });
        if (batch.length === 0) break;
        // A tenant's reminder days are read once a batch, not once a person.
        const reminderDays = new Map<string, Promise<number[]>>();
        const daysOf = (tenantId: string) => reminderDays.get(tenantId) ?? reminderDays.set(tenantId, workflows.reminderDaysOf(tenantId)).get(tenantId)!;
        const failed = await inLanes(batch, CONCURRENCY, async (r) => workflows.start(carriedInput(r, await daysOf(r.tenantId)), deps.startDeadlineMs));
        const done = batch.filter((r) => !failed.has(r)).map((r) => r.id);
        await clearPending(prisma, done);
        started += done.length;
        if (failed.size) break; // Temporal (still) refuses: the next round tries again
      }
      const waiting = await prisma.registrant.count({ where });
      if (started || waiting) deps.logger?.info({ started, waiting }, 'registrant workflows started from the backlog');
      return { started, waiting };
    },
  };
}

/**
 * Runs the backlog every `everyMs` (never two rounds at once) until stopped; errors are logged and
 * the next round tries again.
 */
export function scheduleWorkflowBacklog(backlog: ReturnType<typeof createWorkflowBacklog>, everyMs: number, logger: Logger): { stop(): Promise<void> } {
  let busy: Promise<unknown> | null = null;
  const tick = () => {
    if (busy) return;
    busy = backlog
      .run()
      .catch((err: unknown) => logger.warn({ err }, 'registrant workflow backlog round failed'))
      .finally(() => (busy = null));
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}
