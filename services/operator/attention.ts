/**
 * What an operator must look at, for one tenant: registrant workflows with a step retrying after a
 * failed dependency (MynaflowNeedsAttention) or that ended without finishing (failed, terminated,
 * timed out) and were not revived since; people stored whose workflow start is still queued; webhook
 * deliveries that failed or keep failing; mails the server has not taken. Error classes and attempt
 * counts only — never a message (it might carry personal data).
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { registrantWorkflowId, SEARCH_ATTRIBUTES, upcomingQuery, type UpcomingStep } from '../../shared';
import type { PrismaClient } from '../db/client';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import { tenantWorkflowsQuery } from '../temporal/search-attributes';

export interface AttentionActivity {
  type: string;
  attempt: number;
  /** class of the last failure (an ApplicationFailure's type, or the failure's kind) */
  lastFailure: string | null;
  nextAttemptAt: string | null;
}

export interface AttentionWorkflow {
  workflowId: string;
  registrantId: string;
  name: string | null;
  state: 'retrying' | 'failed' | 'terminated' | 'timed_out';
  /** when the step first failed, or when the workflow ended */
  since: string | null;
  /** the workflow's own account of its retrying steps (absent when no worker answered the query) */
  steps: UpcomingStep[] | null;
  /** activities Temporal is retrying right now */
  activities: AttentionActivity[];
}

export interface DeliveryAttention {
  id: string;
  webhookId: string;
  url: string;
  event: string;
  status: 'pending' | 'failed';
  attempts: number;
  lastError: string | null;
  lastAttemptAt: Date | null;
}

export interface OperatorAttention {
  workflows: AttentionWorkflow[];
  /** Temporal could not be asked (down): the workflow list is unknown, not empty */
  temporalUnavailable: boolean;
  startsQueued: { id: string; name: string; since: Date }[];
  webhookDeliveries: DeliveryAttention[];
  mailPause: { since: Date; by: string | null } | null;
}

const ENDED: Record<string, AttentionWorkflow['state']> = { FAILED: 'failed', TERMINATED: 'terminated', TIMED_OUT: 'timed_out' };
/** A delivery still pending after this many attempts is failing (it backs off up to an hour). */
export const DELIVERY_FAILING_ATTEMPTS = 3;
const LIMIT = 200;
/** Workflows described at once. */
const DESCRIBE_LANES = 8;

/** The class of a pending activity's last failure. */
function failureClassOf(f: { applicationFailureInfo?: { type?: string | null } | null; timeoutFailureInfo?: unknown; message?: string | null } | null | undefined): string | null {
  if (!f) return null;
  if (f.applicationFailureInfo) return f.applicationFailureInfo.type || 'Error';
  if (f.timeoutFailureInfo) return 'TimeoutFailure';
  return 'Failure';
}

export function createOperatorAttention({ prisma, temporal }: { prisma: PrismaClient; temporal: TemporalDeps }) {
  const client: Client = temporal.client;

  async function workflowsOf(tenantId: string): Promise<AttentionWorkflow[]> {
    const query = tenantWorkflowsQuery(tenantId, `MynaflowNeedsAttention = true OR ExecutionStatus = 'Failed' OR ExecutionStatus = 'Terminated' OR ExecutionStatus = 'TimedOut'`);
    const found: WorkflowExecutionInfo[] = [];
    for await (const w of client.workflow.list({ query })) {
      found.push(w);
      if (found.length >= LIMIT) break;
    }
    const prefix = registrantWorkflowId(tenantId, '');
    const ids = [...new Set(found.map((w) => w.workflowId.slice(prefix.length)))];
    const people = new Map((await prisma.registrant.findMany({ where: { tenantId, id: { in: ids } }, select: { id: true, familyName: true, givenName: true } })).map((r) => [r.id, r]));
    // One entry per person: the latest run (a revived person's old failed run is history).
    const workflowIds = [...new Set(found.map((w) => w.workflowId))];
    async function entry(workflowId: string): Promise<AttentionWorkflow | null> {
      const registrantId = workflowId.slice(prefix.length);
      const person = people.get(registrantId);
      const handle = client.workflow.getHandle(workflowId);
      const latest = await withDeadline(client, 5000, () => handle.describe());
      const ended = ENDED[latest.status.name];
      if (latest.status.name !== 'RUNNING' && !ended) return null;
      // Listed for an ended run, but the person's latest run (revived since) is fine.
      if (!ended && latest.typedSearchAttributes.get(SEARCH_ATTRIBUTES.needsAttention) !== true) return null;
      // A person deleted since has nothing left to look after.
      if (ended && !person) return null;
      let steps: UpcomingStep[] | null = null;
      if (!ended) {
        // Asked of the workflow (needs a worker): its retrying steps with their back-off.
        steps = await withDeadline(client, 3000, () => handle.query(upcomingQuery))
          .then((all) => all.filter((s) => s.attention))
          .catch(() => null);
      }
      const raw = latest.raw.pendingActivities ?? [];
      return {
        workflowId,
        registrantId,
        name: person ? `${person.familyName} ${person.givenName}` : null,
        state: ended ?? 'retrying',
        since: ended ? (latest.closeTime?.toISOString() ?? null) : (steps?.map((s) => s.attention!.since).sort()[0] ?? null),
        steps,
        activities: raw.map((a) => ({
          type: a.activityType?.name ?? '',
          attempt: a.attempt ?? 0,
          lastFailure: failureClassOf(a.lastFailure),
          nextAttemptAt: a.nextAttemptScheduleTime?.seconds != null ? new Date(Number(a.nextAttemptScheduleTime.seconds) * 1000).toISOString() : null,
        })),
      };
    }
    // A few at a time: each asks Temporal (and the worker) once or twice.
    const out: AttentionWorkflow[] = [];
    for (let i = 0; i < workflowIds.length; i += DESCRIBE_LANES) {
      for (const e of await Promise.all(workflowIds.slice(i, i + DESCRIBE_LANES).map(entry))) if (e) out.push(e);
    }
    return out.sort((a, b) => (a.since ?? '').localeCompare(b.since ?? ''));
  }

  return {
    async forTenant(tenantId: string): Promise<OperatorAttention> {
      const [workflows, startsQueued, deliveries, tenant] = await Promise.all([
        workflowsOf(tenantId).then(
          (list) => ({ list, unavailable: false }),
          () => ({ list: [] as AttentionWorkflow[], unavailable: true }),
        ),
        prisma.registrant.findMany({ where: { tenantId, workflowPendingSince: { not: null } }, orderBy: { workflowPendingSince: 'asc' }, take: LIMIT, select: { id: true, familyName: true, givenName: true, workflowPendingSince: true } }),
        prisma.webhookDelivery.findMany({
          where: { webhook: { tenantId }, OR: [{ status: 'failed' }, { status: 'pending', attempts: { gte: DELIVERY_FAILING_ATTEMPTS } }] },
          orderBy: { createdAt: 'asc' },
          take: LIMIT,
          include: { webhook: { select: { url: true } } },
        }),
        prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { mailPausedAt: true, mailPausedBy: true } }),
      ]);
      return {
        workflows: workflows.list,
        temporalUnavailable: workflows.unavailable,
        startsQueued: startsQueued.map((r) => ({ id: r.id, name: `${r.familyName} ${r.givenName}`, since: r.workflowPendingSince! })),
        webhookDeliveries: deliveries.map((d) => ({
          id: d.id,
          webhookId: d.webhookId,
          url: d.webhook.url,
          event: d.event,
          status: d.status as 'pending' | 'failed',
          attempts: d.attempts,
          lastError: d.lastError,
          lastAttemptAt: d.lastAttemptAt,
        })),
        mailPause: tenant.mailPausedAt ? { since: tenant.mailPausedAt, by: tenant.mailPausedBy } : null,
      };
    },
  };
}

export type OperatorAttentionService = ReturnType<typeof createOperatorAttention>;
