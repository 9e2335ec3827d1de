/**
 * Starting registrants' lifecycle workflows, the one way every registration method does it (single
 * add, CSV import, bulk entry, quick add, payroll sync): the tenant's reminder days, a deadline so an
 * unreachable Temporal fails fast, and a retry's "already started" counted as started.
 */
import { registrantWorkflowId, type RegistrantWorkflowInput } from '../../shared';
import type { registrantWorkflow } from '../../workflows';
import type { PrismaClient } from '../db/client';
import { withDeadline, type TemporalDeps } from '../temporal/client';

/**
 * Runs `fn` for every item, `concurrency` at a time; the items it failed for. A workflow that is
 * already running (WorkflowExecutionAlreadyStartedError) is what the call wanted: not a failure.
 */
export async function inLanes<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<Set<T>> {
  const failed = new Set<T>();
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') failed.add(item);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return failed;
}

export function createRegistrantWorkflows({ prisma, temporal, inviteReminderDays }: { prisma: PrismaClient; temporal: TemporalDeps; inviteReminderDays: number[] }) {
  const start = async (input: RegistrantWorkflowInput, deadlineMs = 10_000): Promise<void> => {
    try {
      await withDeadline(temporal.client, deadlineMs, () =>
        temporal.client.workflow.start<typeof registrantWorkflow>('registrantWorkflow', {
          taskQueue: temporal.taskQueue,
          workflowId: registrantWorkflowId(input.tenantId, input.registrantId),
          args: [input],
        }),
      );
    } catch (err) {
      if ((err as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw err;
    }
  };

  return {
    /** The tenant's reminder days, or the configured default when it has none. */
    async reminderDaysOf(tenantId: string): Promise<number[]> {
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { reminderDays: true } });
      return tenant.reminderDays.length ? tenant.reminderDays : inviteReminderDays;
    },

    /** Whether Temporal answers now: bulk methods check before storing anyone. */
    async reachable(): Promise<boolean> {
      try {
        await withDeadline(temporal.client, 3000, () => temporal.client.connection.workflowService.describeNamespace({ namespace: temporal.client.options.namespace }));
        return true;
      } catch {
        return false;
      }
    },

    start,

    /** Starts many, `concurrency` at a time; the inputs whose workflow could not be started. */
    startMany: (inputs: RegistrantWorkflowInput[], concurrency: number) => inLanes(inputs, concurrency, (input) => start(input)),
  };
}

export type RegistrantWorkflows = ReturnType<typeof createRegistrantWorkflows>;
