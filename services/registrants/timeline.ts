/**
 * A person's lifecycle as HR sees it (GET /v1/registrants/{id}/timeline, the console's 経過): what
 * happened, from the operation history and the mail ledger, and what the workflow will do next and
 * when, from its `upcoming` query — with a step that keeps failing shown as retrying, not as done.
 */
import { standingReasons } from './decision-reasons';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { upcomingQuery, type StepAttention, type UpcomingStep } from '../../shared';
import type { ActorType } from '../../prisma/generated/client';
import type { OperationCode } from '../audit/operations';
import type { PrismaClient } from '../db/client';
import { REGISTRANT_NOT_FOUND } from '../errors';
import { withDeadline } from '../temporal/client';
import { isMissingHandler } from './step-runner';

/** The history's lifecycle events (views, reveals and downloads are in the operation history). */
export const TIMELINE_OPERATIONS: OperationCode[] = [
  'registrant_created', 'invitation_sent', 'paper_invitation_issued', 'invitation_printed', 'reminder_sent', 'invitation_opened', 'consented',
  'submitted', 'remanded', 'approved', 'refused', 'invitation_withdrawn', 'invitation_expired',
  'registrant_login_unlocked', 'registrant_password_reset', 'number_registered', 'number_updated', 'number_deleted',
  'retirement_set', 'retired', 'deletion_scheduled', 'deletion_cancelled', 'deletion_notice_sent', 'data_deleted', 'workflow_restored',
  'link_extended', 'retry_requested', 'status_changed', 'draft_discarded', 'document_uploaded', 'deletion_awaiting_confirmation',
];
const PAST_LIMIT = 500;

export interface TimelineEvent {
  at: Date;
  operation: string;
  label: string;
  actor: { type: ActorType; label: string };
  /** the reason of the remand or refusal standing now (kept on the person's row, not in the history) */
  reason?: string;
}

export interface TimelineMail {
  kind: 'invitation' | 'reminder' | 'remand' | 'receipt' | 'approval';
  /** the invitation round (0 for the receipt and approval notices) */
  round: number;
  /** the n-th reminder of its round */
  reminder?: number;
  /** sending: asked for, not (yet) accepted by the mail server; sent: accepted; rejected: refused for good */
  status: 'sending' | 'sent' | 'rejected';
  askedAt: Date;
  sentAt: Date | null;
}

export interface Timeline {
  past: TimelineEvent[];
  mails: TimelineMail[];
  /** the employee's unsubmitted answers were last saved then (null: none) */
  draftSavedAt: Date | null;
  /** what the workflow waits to do; null when it cannot be asked (see workflow) */
  upcoming: (UpcomingStep & { attention?: StepAttention })[] | null;
  /** running: asked; starting: its start is still queued; ended: no workflow runs; unavailable: Temporal did not answer */
  workflow: 'running' | 'starting' | 'ended' | 'unavailable';
}

const MAIL_KEY = /\/round\/(\d+)\/(invitation|remand|reminder)(?:\/(\d+))?$/;
const NOTICE_KEY = /\/notice\/(receipt|approval)\/[0-9a-f]+$/;

export function createTimeline({ prisma, temporal }: { prisma: PrismaClient; temporal: { client: Client } }) {
  async function upcoming(workflowId: string): Promise<Pick<Timeline, 'upcoming' | 'workflow'>> {
    try {
      const steps = await withDeadline(temporal.client, 3000, () => temporal.client.workflow.getHandle(workflowId).query(upcomingQuery));
      return { upcoming: steps, workflow: 'running' };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { upcoming: null, workflow: 'ended' };
      // A workflow of a release before the query (it answers once it continues as new).
      if (isMissingHandler(err)) return { upcoming: null, workflow: 'running' };
      return { upcoming: null, workflow: 'unavailable' };
    }
  }

  return {
    async forRegistrant(tenantId: string, registrantId: string): Promise<Timeline> {
      const r = await prisma.registrant.findFirst({
        where: { id: registrantId, tenantId },
        select: { workflowId: true, workflowPendingSince: true, draft: { select: { createdAt: true } } },
      });
      if (!r) throw REGISTRANT_NOT_FOUND();
      const [events, mails, next] = await Promise.all([
        prisma.operationEvent.findMany({
          where: { tenantId, registrantId, operation: { in: TIMELINE_OPERATIONS } },
          orderBy: { id: 'desc' },
          take: PAST_LIMIT,
          select: { id: true, occurredAt: true, operation: true, label: true, actorType: true, actorLabel: true, registrantId: true },
        }),
        prisma.mailDelivery.findMany({ where: { key: { startsWith: `${r.workflowId}/` } }, orderBy: { createdAt: 'asc' } }),
        r.workflowPendingSince ? Promise.resolve({ upcoming: null, workflow: 'starting' as const }) : upcoming(r.workflowId),
      ]);
      const reasons = await standingReasons(prisma, tenantId, events);
      return {
        past: events.reverse().map((e) => ({ at: e.occurredAt, operation: e.operation, label: e.label, actor: { type: e.actorType, label: e.actorLabel }, ...(reasons.has(e.id) ? { reason: reasons.get(e.id)! } : {}) })),
        mails: mails.flatMap((m) => {
          // A paper round's ledger row: no mail (its opening is in the past events).
          if (m.kind === 'paper') return [];
          const notice = NOTICE_KEY.exec(m.key);
          if (notice) return [{ kind: notice[1] as TimelineMail['kind'], round: 0, status: m.status, askedAt: m.createdAt, sentAt: m.sentAt }];
          const k = MAIL_KEY.exec(m.key);
          if (!k) return [];
          return [{ kind: k[2] as TimelineMail['kind'], round: Number(k[1]), ...(k[3] ? { reminder: Number(k[3]) } : {}), status: m.status, askedAt: m.createdAt, sentAt: m.sentAt }];
        }),
        draftSavedAt: r.draft?.createdAt ?? null,
        ...next,
      };
    },
  };
}

export type TimelineService = ReturnType<typeof createTimeline>;
