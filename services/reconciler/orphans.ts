/**
 * Every stored person must have a running lifecycle workflow: it retires them and deletes their data
 * when the law says. A workflow can still go missing — terminated by hand, failed by a bug, its
 * namespace's history lost — so the reconciler compares the database with Temporal and starts a
 * workflow for each person without one, from the database state and without mail (as the backlog
 * does for a person marked without an intent), records it in the history and logs it.
 */
import type { Client } from '@temporalio/client';
import { SYSTEM_ACTOR } from '../audit/types';
import { createHistory, type ChainKeys } from '../audit/history';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';
import { carriedInput } from '../registrants/carried-state';
import { createRegistrantWorkflows, inLanes, START_CONCURRENCY } from '../registrants/workflow-starts';

/** People added this recently may still have their start in flight (the API starts after its commit). */
const GRACE_MS = 2 * 60_000;
const BATCH = 1000;

export interface OrphanDeps {
  prisma: PrismaClient;
  client: Client;
  taskQueue: string;
  inviteReminderDays: number[];
  logger: Logger;
  /** keys the history chain */
  vault: ChainKeys;
}

const RUNNING = `WorkflowType = 'registrantWorkflow' AND ExecutionStatus = 'Running'`;
/** However the counts agree, every registrant is compared one by one at least this often. */
const FULL_CHECK_EVERY_MS = 60 * 60_000;
/** This worker's last one-by-one comparison (each activity call makes a new check). */
let lastFullCheck = 0;

/** The ids of every running registrant workflow, from Temporal's visibility store. */
async function runningWorkflowIds(client: Client): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const w of client.workflow.list({ query: RUNNING })) ids.add(w.workflowId);
  return ids;
}

/** Whether the workflow is running, asked of the workflow itself (visibility may lag a start by a second). */
async function isRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if ((err as Error).name === 'WorkflowNotFoundError') return false;
    throw err;
  }
}

export function createOrphanCheck(deps: OrphanDeps) {
  const { prisma, client, logger } = deps;
  const workflows = createRegistrantWorkflows({ prisma, temporal: { client, taskQueue: deps.taskQueue }, inviteReminderDays: deps.inviteReminderDays });
  const history = createHistory(prisma, deps.vault);

  /**
   * Whether the counts show nobody can be missing: at least as many registrant workflows running as
   * people stored with a confirmed start. Listing every running workflow each minute would cost a
   * page per thousand people; counting costs one call.
   */
  async function countsAgree(): Promise<boolean> {
    const [stored, { count: running }] = await Promise.all([prisma.registrant.count({ where: { workflowPendingSince: null } }), client.workflow.count(RUNNING)]);
    return running >= stored;
  }

  return {
    /**
     * Finds and restarts the orphans (of one tenant in tests; every round compares them one by one),
     * the number of each. Deployment-wide, a round whose counts agree skips the comparison, except
     * once an hour: a missing workflow hidden by a stray running one is found within the hour.
     */
    async run(scope: { tenantId?: string } = {}): Promise<{ checked: number; restored: number }> {
      if (!scope.tenantId) {
        if (Date.now() - lastFullCheck < FULL_CHECK_EVERY_MS && (await countsAgree())) return { checked: 0, restored: 0 };
        lastFullCheck = Date.now();
      }
      const running = await runningWorkflowIds(client);
      const before = new Date(Date.now() - GRACE_MS);
      let checked = 0;
      let restored = 0;
      let after: string | undefined;
      for (;;) {
        const batch = await prisma.registrant.findMany({
          where: { workflowPendingSince: null, createdAt: { lt: before }, ...(scope.tenantId ? { tenantId: scope.tenantId } : {}), ...(after ? { id: { gt: after } } : {}) },
          orderBy: { id: 'asc' },
          take: BATCH,
        });
        if (batch.length === 0) break;
        after = batch.at(-1)!.id;
        checked += batch.length;
        const candidates = batch.filter((r) => !running.has(r.workflowId));
        const days = new Map<string, Promise<number[]>>();
        const daysOf = (tenantId: string) => days.get(tenantId) ?? days.set(tenantId, workflows.reminderDaysOf(tenantId)).get(tenantId)!;
        const failed = await inLanes(candidates, START_CONCURRENCY, async (r) => {
          if (await isRunning(client, r.workflowId)) return;
          // Started meanwhile (HR acted, another round): not restored by us.
          const input = carriedInput(r, await daysOf(r.tenantId));
          if (!(await workflows.start(input))) return;
          restored++;
          logger.warn({ registrantId: r.id, workflowId: r.workflowId }, 'registrant had no running workflow: restored from the database state');
          await history.record({ tenantId: r.tenantId, actor: SYSTEM_ACTOR, operation: 'workflow_restored', registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` }, detail: { status: r.status } });
          // After the record: the restore happened whatever the check meets.
          await workflows.confirmStarts([input], []);
        });
        if (failed.size) throw new Error(`${failed.size} orphaned workflows could not be restored (Temporal or the database refused); the next round tries again`);
      }
      return { checked, restored };
    },
  };
}
