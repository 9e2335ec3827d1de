/**
 * A tenant's new reminder days reach the people already stored: the settings change marks the tenant
 * in its own transaction (reminder_days_changed_at) and this sweep, a step of the reconciler's
 * round, tells the workflow of everyone not retired (an open link's next reminder is recomputed; a
 * later invitation uses the new days too), then clears the mark — only if no newer change came
 * meanwhile. A round that dies part-way leaves the mark: the next one tells everyone again, which
 * changes nothing for those already told (the workflow ignores days it already has). Someone whose
 * workflow starts with days read before a change (stored meanwhile, or not started yet when the
 * sweep came by) is caught after their start: it marks the tenant again (confirmStarts in
 * services/registrants/workflow-starts.ts), and the next round tells them too.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { reminderDaysSignal } from '../../shared';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';
import { inLanes, START_CONCURRENCY } from '../registrants/workflow-starts';

const PAGE = 500;

export function createReminderDaysSweep({ prisma, client, inviteReminderDays, logger }: { prisma: PrismaClient; client: Client; inviteReminderDays: number[]; logger: Logger }) {
  return {
    /** `progress` is called after each page (the activity's heartbeat). */
    async run(scope: { tenantId?: string } = {}, progress: () => void = () => {}): Promise<{ told: number }> {
      const marked = await prisma.tenant.findMany({
        where: { reminderDaysChangedAt: { not: null }, ...(scope.tenantId ? { id: scope.tenantId } : {}) },
        select: { id: true, reminderDays: true, reminderDaysChangedAt: true },
      });
      let told = 0;
      for (const t of marked) {
        const days = t.reminderDays.length ? t.reminderDays : inviteReminderDays;
        for (let after = ''; ; ) {
          const page = await prisma.registrant.findMany({
            where: { tenantId: t.id, retired: false, ...(after ? { id: { gt: after } } : {}) },
            select: { id: true, workflowId: true },
            orderBy: { id: 'asc' },
            take: PAGE,
          });
          if (page.length === 0) break;
          const failed = await inLanes(page, START_CONCURRENCY, async (r) => {
            try {
              await client.workflow.getHandle(r.workflowId).signal(reminderDaysSignal, { days });
              told++;
            } catch (err) {
              // Ended (deleted, or waiting for the reconciler to restore it from the database, which reads the days then).
              if (!(err instanceof WorkflowNotFoundError)) throw err;
            }
          }, true);
          if (failed.size) throw new Error(`${failed.size} workflows could not be told the new reminder days; the next round tries again`);
          after = page.at(-1)!.id;
          progress();
        }
        await prisma.tenant.updateMany({ where: { id: t.id, reminderDaysChangedAt: t.reminderDaysChangedAt }, data: { reminderDaysChangedAt: null } });
      }
      if (told) logger.info({ told, tenants: marked.length }, 'new reminder days told to the workflows');
      return { told };
    },
  };
}
