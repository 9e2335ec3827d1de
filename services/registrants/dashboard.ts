/**
 * The collection dashboard (console HOME, GET /v1/dashboard): where everyone stands — a funnel from
 * "not invited" to "approved", per group — and the people who need HR's eye, each list with its count
 * and its first few names: past their submission deadline (提出期限) without sending, links expiring within 7 days, invited but never opened, opened but not
 * sent, waiting for approval (oldest first), remanded without a live link, mails the server has not
 * taken, people whose workflow start is still queued, deletions due within 30 and 90 days, and the
 * tenant's failing webhook deliveries. Retirees and refusals are outside the funnel.
 */
import { Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { todayInJapan } from '../retention/rules';

export const FUNNEL_STAGES = ['notInvited', 'invited', 'opened', 'inProgress', 'submitted', 'approved'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];
export type Funnel = Record<FunnelStage, number>;

export const ATTENTION_LISTS = ['pastDue', 'expiringSoon', 'neverOpened', 'openedNotSent', 'waitingApproval', 'remandedNoLink', 'mailsNotTaken', 'startsQueued', 'deletionsAwaiting', 'deletionsDue30', 'deletionsDue90'] as const;
export type AttentionList = (typeof ATTENTION_LISTS)[number];

export interface DashboardPerson {
  id: string;
  name: string;
  /** the date the list is about (expiry, submission, due date…), if any */
  at: Date | null;
}

export interface Dashboard {
  funnel: Funnel;
  groups: { groupId: string | null; groupName: string | null; funnel: Funnel }[];
  lists: Record<AttentionList, { count: number; people: DashboardPerson[] }>;
  webhookDeliveriesFailed: number;
}

const LIST_SIZE = 10;
/** A mail asked for this long ago and still not taken by the server is failing. */
const MAIL_STUCK_MINUTES = 10;
const DAY_MS = 86_400_000;

// The stage of each registrant in the funnel, from the columns of `base` below.
const STAGE = Prisma.sql`
  CASE
    WHEN b.status = 'completed' THEN 'approved'
    WHEN b.status = 'pending' THEN 'submitted'
    WHEN b.drafted THEN 'inProgress'
    WHEN b.invitation_state = 'open' AND b.opened THEN 'opened'
    WHEN b.invitation_state = 'open' THEN 'invited'
    ELSE 'notInvited'
  END`;

const emptyFunnel = (): Funnel => Object.fromEntries(FUNNEL_STAGES.map((s) => [s, 0])) as Funnel;

interface Row {
  kind: 'stage' | 'person' | 'counts';
  list: string | null;
  id: string | null;
  family_name: string | null;
  given_name: string | null;
  at: Date | null;
  n: number | null;
  group_id: string | null;
  group_name: string | null;
  counts: Record<AttentionList, number> | null;
}

/** Each list: its flag in `base` below, its date column, and its order. */
const LISTS: Record<AttentionList, { at: Prisma.Sql; desc?: boolean }> = {
  // A calendar day as that day's midnight UTC, whatever the session's time zone (shown as the day).
  pastDue: { at: Prisma.sql`(submission_due_date::timestamp AT TIME ZONE 'UTC')` },
  expiringSoon: { at: Prisma.sql`invitation_expires_at` },
  neverOpened: { at: Prisma.sql`invitation_expires_at` },
  openedNotSent: { at: Prisma.sql`invitation_expires_at` },
  waitingApproval: { at: Prisma.sql`submitted_at` },
  remandedNoLink: { at: Prisma.sql`updated_at` },
  mailsNotTaken: { at: Prisma.sql`updated_at`, desc: true },
  startsQueued: { at: Prisma.sql`workflow_pending_since` },
  deletionsAwaiting: { at: Prisma.sql`(deletion_due_date::timestamp AT TIME ZONE 'UTC')` },
  deletionsDue30: { at: Prisma.sql`(deletion_due_date::timestamp AT TIME ZONE 'UTC')` },
  deletionsDue90: { at: Prisma.sql`(deletion_due_date::timestamp AT TIME ZONE 'UTC')` },
};

/**
 * One statement, one pass over the tenant's registrants (100,000 within the bench's goal): each
 * person's flags once (a materialized CTE); then the lists' counts and the funnel per group in one
 * aggregate, and each list's first ten by a top-N over the flags.
 */
export function createDashboard({ prisma }: { prisma: PrismaClient }) {
  return {
    async forTenant(tenantId: string, now = new Date()): Promise<Dashboard> {
      const in7 = new Date(now.getTime() + 7 * DAY_MS);
      const day = (d: number) => new Date(now.getTime() + d * DAY_MS).toISOString().slice(0, 10);
      const stuckBefore = new Date(now.getTime() - MAIL_STUCK_MINUTES * 60_000);
      const firsts = ATTENTION_LISTS.map(
        (l) => Prisma.sql`SELECT 'person' AS kind, ${l} AS list, id, family_name, given_name, at, (row_number() OVER (ORDER BY at ${LISTS[l].desc ? Prisma.sql`DESC` : Prisma.sql`ASC`} NULLS LAST, sort_kana))::int AS n, NULL::uuid AS group_id, NULL AS group_name, NULL::json AS counts
                            FROM (SELECT id, family_name, given_name, sort_kana, ${LISTS[l].at} AS at FROM base WHERE ${Prisma.raw(`"${l}"`)}
                                   ORDER BY ${LISTS[l].at} ${LISTS[l].desc ? Prisma.sql`DESC` : Prisma.sql`ASC`} NULLS LAST, sort_kana LIMIT ${LIST_SIZE}) AS first_ones`,
      );
      const counted = Prisma.join(ATTENTION_LISTS.map((l) => Prisma.sql`${l}::text, count(*) FILTER (WHERE ${Prisma.raw(`"${l}"`)})`));
      const [rows, webhookDeliveriesFailed] = await Promise.all([
        // JIT compiling this statement costs more than running it (hundreds of ms at 100,000 people).
        prisma.$transaction([prisma.$executeRaw`SET LOCAL jit = off`, prisma.$queryRaw<Row[]>`
          WITH base AS MATERIALIZED (
            SELECT b.*,
                   active AND status IN ('unregistered', 'remanded') AND submission_due_date < ${todayInJapan(now)}::date AS "pastDue",
                   active AND invitation_state = 'open' AND status <> 'pending' AND invitation_expires_at <= ${in7} AS "expiringSoon",
                   active AND invitation_state = 'open' AND status IN ('unregistered', 'remanded') AND NOT drafted AND NOT opened AS "neverOpened",
                   active AND invitation_state = 'open' AND status IN ('unregistered', 'remanded') AND (drafted OR opened) AS "openedNotSent",
                   active AND status = 'pending' AS "waitingApproval",
                   active AND status = 'remanded' AND invitation_state IS DISTINCT FROM 'open' AS "remandedNoLink",
                   stuck AS "mailsNotTaken",
                   workflow_pending_since IS NOT NULL AS "startsQueued",
                   deletion_awaiting_since IS NOT NULL AS "deletionsAwaiting",
                   deletion_due_date IS NOT NULL AND deletion_due_date <= ${day(30)}::date AS "deletionsDue30",
                   deletion_due_date IS NOT NULL AND deletion_due_date <= ${day(90)}::date AS "deletionsDue90",
                   ${STAGE} AS stage
              FROM (
            SELECT r.id, r.family_name, r.given_name, r.group_id, r.status, r.invitation_state, r.invitation_expires_at,
                   r.submitted_at, r.updated_at, r.workflow_pending_since, r.deletion_due_date, r.deletion_awaiting_since, r.submission_due_date, r.sort_kana,
                   NOT r.retired AND r.status <> 'refused' AS active,
                   r.draft_secret_id IS NOT NULL AS drafted,
                   EXISTS (SELECT 1 FROM invitations i WHERE i.registrant_id = r.id AND i.revoked_at IS NULL AND i.opened_at IS NOT NULL) AS opened,
                   -- a mail asked for over 10 minutes ago that the server has not taken (keys start with the workflow id)
                   r.workflow_id IN (SELECT split_part(m.key, '/', 1) FROM mail_deliveries m WHERE m.status = 'sending' AND m.created_at < ${stuckBefore}) AS stuck
              FROM registrants r
             WHERE r.tenant_id = ${tenantId}::uuid
              ) AS b
          )
          ${Prisma.join(firsts, ' UNION ALL ')}
          UNION ALL
          SELECT 'stage', b.stage, NULL, NULL, NULL, NULL, count(*)::int, b.group_id, g.name, NULL
            FROM base b LEFT JOIN groups g ON g.id = b.group_id
           WHERE b.active
           GROUP BY b.stage, b.group_id, g.name
          UNION ALL
          SELECT 'counts', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, json_build_object(${counted}) FROM base`]).then(([, result]) => result),
        prisma.webhookDelivery.count({ where: { status: 'failed', webhook: { tenantId } } }),
      ]);
      const funnel = emptyFunnel();
      const groups = new Map<string, Dashboard['groups'][number]>();
      const lists = Object.fromEntries(ATTENTION_LISTS.map((l) => [l, { count: 0, people: [] as DashboardPerson[] }])) as Dashboard['lists'];
      const people: Row[] = [];
      for (const r of rows) {
        if (r.kind === 'stage') {
          const stage = r.list as FunnelStage;
          funnel[stage] += r.n!;
          const key = r.group_id ?? '';
          if (!groups.has(key)) groups.set(key, { groupId: r.group_id, groupName: r.group_name, funnel: emptyFunnel() });
          groups.get(key)!.funnel[stage] += r.n!;
        } else if (r.kind === 'counts') {
          for (const l of ATTENTION_LISTS) lists[l].count = r.counts![l];
        } else {
          people.push(r);
        }
      }
      // A person's n is their place in their list (UNION ALL promises no order).
      for (const r of people.sort((a, b) => a.n! - b.n!)) lists[r.list as AttentionList].people.push({ id: r.id!, name: `${r.family_name} ${r.given_name}`, at: r.at });
      return {
        funnel,
        groups: [...groups.values()].sort((a, b) => (a.groupName ?? '\uffff').localeCompare(b.groupName ?? '\uffff', 'ja')),
        lists,
        webhookDeliveriesFailed,
      };
    },
  };
}

export type DashboardService = ReturnType<typeof createDashboard>;
