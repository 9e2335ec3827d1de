/**
 * The collection dashboard (console HOME, GET /v1/dashboard): where everyone stands — a funnel from
 * "not invited" to "approved", per group — and the people who need HR's eye, each list with its count
 * and its first few names: links expiring within 7 days, invited but never opened, opened but not
 * sent, waiting for approval (oldest first), remanded without a live link, mails the server has not
 * taken, people whose workflow start is still queued, deletions due within 30 and 90 days, and the
 * tenant's failing webhook deliveries. Retirees and refusals are outside the funnel.
 */
import { Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';

export const FUNNEL_STAGES = ['notInvited', 'invited', 'opened', 'inProgress', 'submitted', 'approved'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];
export type Funnel = Record<FunnelStage, number>;

export const ATTENTION_LISTS = ['expiringSoon', 'neverOpened', 'openedNotSent', 'waitingApproval', 'remandedNoLink', 'mailsNotTaken', 'startsQueued', 'deletionsDue30', 'deletionsDue90'] as const;
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

// The stage of each registrant in the funnel, from its columns (one pass over the tenant's rows).
const STAGE = Prisma.sql`
  CASE
    WHEN r.status = 'completed' THEN 'approved'
    WHEN r.status = 'pending' THEN 'submitted'
    WHEN r.draft_secret_id IS NOT NULL THEN 'inProgress'
    WHEN r.invitation_state = 'open' AND EXISTS (SELECT 1 FROM invitations i WHERE i.registrant_id = r.id AND i.revoked_at IS NULL AND i.opened_at IS NOT NULL) THEN 'opened'
    WHEN r.invitation_state = 'open' THEN 'invited'
    ELSE 'notInvited'
  END`;

const emptyFunnel = (): Funnel => Object.fromEntries(FUNNEL_STAGES.map((s) => [s, 0])) as Funnel;

export function createDashboard({ prisma }: { prisma: PrismaClient }) {
  /** A list: its count and its first people, by a condition on registrants r (and its date column). */
  async function list(tenantId: string, where: Prisma.Sql, at: Prisma.Sql, order: 'asc' | 'desc' = 'asc') {
    const [rows, [counted]] = await Promise.all([
      prisma.$queryRaw<{ id: string; family_name: string; given_name: string; at: Date | null }[]>`
        SELECT r.id, r.family_name, r.given_name, ${at} AS at FROM registrants r
         WHERE r.tenant_id = ${tenantId}::uuid AND (${where})
         ORDER BY ${at} ${order === 'asc' ? Prisma.sql`ASC` : Prisma.sql`DESC`} NULLS LAST, r.sort_kana LIMIT ${LIST_SIZE}`,
      prisma.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM registrants r WHERE r.tenant_id = ${tenantId}::uuid AND (${where})`,
    ]);
    return { count: counted!.n, people: rows.map((p) => ({ id: p.id, name: `${p.family_name} ${p.given_name}`, at: p.at })) };
  }

  return {
    async forTenant(tenantId: string, now = new Date()): Promise<Dashboard> {
      const active = Prisma.sql`NOT r.retired AND r.status <> 'refused'`;
      const openLink = Prisma.sql`r.invitation_state = 'open'`;
      const opened = Prisma.sql`EXISTS (SELECT 1 FROM invitations i WHERE i.registrant_id = r.id AND i.revoked_at IS NULL AND i.opened_at IS NOT NULL)`;
      const in7 = new Date(now.getTime() + 7 * DAY_MS);
      const day = (d: number) => new Date(now.getTime() + d * DAY_MS).toISOString().slice(0, 10);
      const stuckBefore = new Date(now.getTime() - MAIL_STUCK_MINUTES * 60_000);
      const [stages, expiringSoon, neverOpened, openedNotSent, waitingApproval, remandedNoLink, mailsNotTaken, startsQueued, deletionsDue30, deletionsDue90, webhookDeliveriesFailed] = await Promise.all([
        prisma.$queryRaw<{ group_id: string | null; group_name: string | null; stage: FunnelStage; n: number }[]>`
          SELECT r.group_id, g.name AS group_name, ${STAGE} AS stage, count(*)::int AS n
            FROM registrants r LEFT JOIN groups g ON g.id = r.group_id
           WHERE r.tenant_id = ${tenantId}::uuid AND ${active}
           GROUP BY 1, 2, 3`,
        list(tenantId, Prisma.sql`${active} AND ${openLink} AND r.status <> 'pending' AND r.invitation_expires_at <= ${in7}`, Prisma.sql`r.invitation_expires_at`),
        list(tenantId, Prisma.sql`${active} AND ${openLink} AND r.status IN ('unregistered', 'remanded') AND r.draft_secret_id IS NULL AND NOT ${opened}`, Prisma.sql`r.invitation_expires_at`),
        list(tenantId, Prisma.sql`${active} AND ${openLink} AND r.status IN ('unregistered', 'remanded') AND (r.draft_secret_id IS NOT NULL OR ${opened})`, Prisma.sql`r.invitation_expires_at`),
        list(tenantId, Prisma.sql`${active} AND r.status = 'pending'`, Prisma.sql`r.submitted_at`),
        list(tenantId, Prisma.sql`${active} AND r.status = 'remanded' AND r.invitation_state IS DISTINCT FROM 'open'`, Prisma.sql`r.updated_at`),
        // The stuck mails first (few), then their people: the key starts with the workflow id.
        list(tenantId, Prisma.sql`r.workflow_id IN (SELECT split_part(m.key, '/', 1) FROM mail_deliveries m WHERE m.status = 'sending' AND m.created_at < ${stuckBefore})`, Prisma.sql`r.updated_at`, 'desc'),
        list(tenantId, Prisma.sql`r.workflow_pending_since IS NOT NULL`, Prisma.sql`r.workflow_pending_since`),
        list(tenantId, Prisma.sql`r.deletion_due_date IS NOT NULL AND r.deletion_due_date <= ${day(30)}::date`, Prisma.sql`r.deletion_due_date::timestamptz`),
        list(tenantId, Prisma.sql`r.deletion_due_date IS NOT NULL AND r.deletion_due_date <= ${day(90)}::date`, Prisma.sql`r.deletion_due_date::timestamptz`),
        prisma.webhookDelivery.count({ where: { status: 'failed', webhook: { tenantId } } }),
      ]);
      const funnel = emptyFunnel();
      const groups = new Map<string, Dashboard['groups'][number]>();
      for (const s of stages) {
        funnel[s.stage] += s.n;
        const key = s.group_id ?? '';
        if (!groups.has(key)) groups.set(key, { groupId: s.group_id, groupName: s.group_name, funnel: emptyFunnel() });
        groups.get(key)!.funnel[s.stage] += s.n;
      }
      return {
        funnel,
        groups: [...groups.values()].sort((a, b) => (a.groupName ?? '\uffff').localeCompare(b.groupName ?? '\uffff', 'ja')),
        lists: { expiringSoon, neverOpened, openedNotSent, waitingApproval, remandedNoLink, mailsNotTaken, startsQueued, deletionsDue30, deletionsDue90 },
        webhookDeliveriesFailed,
      };
    },
  };
}

export type DashboardService = ReturnType<typeof createDashboard>;
