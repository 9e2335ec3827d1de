/**
 * People stored whose workflow Temporal has not confirmed (services/registrants/workflow-starts.ts:
 * the process died after the commit, Temporal was away) are marked `workflow_pending_since`. Without a
 * workflow nobody would invite them, retire them or delete their data when it falls due, so the
 * reconciler (a Temporal Schedule, services/reconciler) starts the backlog every minute: each
 * workflow as its start was meant (the invitation with its options included), or, for a person
 * marked without one, from the database state and without mail.
 */
import type { RegistrantWorkflowInput } from '../../shared';
import type { PrismaClient } from '../db/client';
import { describeError, outageOf } from '../health/outages';
import type { Logger } from '../logging/logger';
import type { TemporalDeps } from '../temporal/client';
import { createRegistrantWorkflows, inLanes, queuedInput, START_CONCURRENCY } from './workflow-starts';

const BATCH = 200;

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
     * acted on the person meanwhile) counts as started. Temporal or the database away stops the
     * round; a person whose start fails otherwise is logged and passed over, so one bad row never
     * holds up everyone queued behind it. Returns how many were started and how many are still
     * waiting. `tenantId` narrows it to one tenant (tests share a database).
     */
    async run(scope: { tenantId?: string } = {}): Promise<{ started: number; waiting: number }> {
      const where = { workflowPendingSince: { not: null }, ...(scope.tenantId ? { tenantId: scope.tenantId } : {}) };
      let started = 0;
      let after: { at: Date; id: string } | undefined;
      for (;;) {
        const batch = await prisma.registrant.findMany({
          where: { ...where, ...(after ? { OR: [{ workflowPendingSince: { gt: after.at } }, { workflowPendingSince: after.at, id: { gt: after.id } }] } : {}) },
          orderBy: [{ workflowPendingSince: 'asc' }, { id: 'asc' }],
          take: BATCH,
        });
        if (batch.length === 0) break;
        after = { at: batch.at(-1)!.workflowPendingSince!, id: batch.at(-1)!.id };
        // A tenant's reminder days are read once a batch, not once a person.
        const reminderDays = new Map<string, Promise<number[]>>();
        const daysOf = (tenantId: string) => reminderDays.get(tenantId) ?? reminderDays.set(tenantId, workflows.reminderDaysOf(tenantId)).get(tenantId)!;
        let away = false;
        const inputs = new Map<string, RegistrantWorkflowInput>();
        const failed = await inLanes(
          batch,
          START_CONCURRENCY,
          async (r) => {
            try {
              const input = queuedInput(r, await daysOf(r.tenantId));
              inputs.set(r.id, input);
              await workflows.start(input, deps.startDeadlineMs);
            } catch (err) {
              if (outageOf(err)) away = true;
              else deps.logger?.warn({ registrantId: r.id, cause: describeError(err) }, 'a queued workflow could not be started; the next round tries again');
              throw err;
            }
          },
          (err) => outageOf(err) !== null,
        );
        const done = batch.filter((r) => !failed.has(r)).map((r) => r.id);
        await workflows.confirmStarts(done.map((id) => inputs.get(id)!), done);
        started += done.length;
        if (away) break; // the next round tries again
      }
      const waiting = await prisma.registrant.count({ where });
      if (started || waiting) deps.logger?.info({ started, waiting }, 'registrant workflows started from the backlog');
      return { started, waiting };
    },
  };
}
