/**
 * Sends the notices queued in the mail ledger (enqueue.ts), run by the reconciler's round each
 * minute, and queues HR's digests when due. One round at a time deployment-wide (the schedule skips
 * overlaps). A notice the server refuses for good (5xx) is `rejected`; one it cannot take now stays
 * queued for the next round (the dashboard lists it after 10 minutes); while an operator has paused
 * the tenant's mail, the employees' notices wait.
 */
import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';
import { createMailLedger } from '../mail/ledger';
import { registrantWorkflowId, type ReconcileScope } from '../../shared';
import { NOTICE_KINDS, renderDigest, renderEmployeeNotice, type EmployeeNoticeKind } from './notice-mail';

const BATCH = 200;
const HOUR_MS = 3_600_000;
/** Daily digests go out from 9:00 in Japan. */
const DIGEST_HOUR_JST = 9;

export interface NoticeSenderDeps {
  prisma: PrismaClient;
  mailer: Transporter;
  mailFrom: string;
  publicUrl: string;
  logger: Logger;
  now?: () => Date;
}

export interface NoticeReport {
  digests: number;
  sent: number;
  /** waiting for the tenant's mail to be resumed */
  held: number;
  /** the server could not take them now: next round */
  deferred: number;
  rejected: number;
}

/** The last 9:00 in Japan at or before `at`. */
function lastMorning(at: Date): number {
  const jst = new Date(at.getTime() + 9 * HOUR_MS);
  const morning = Date.UTC(jst.getUTCFullYear(), jst.getUTCMonth(), jst.getUTCDate(), DIGEST_HOUR_JST) - 9 * HOUR_MS;
  return morning <= at.getTime() ? morning : morning - 24 * HOUR_MS;
}

export function digestDue(t: { submissionDigest: 'off' | 'hourly' | 'daily'; digestSentAt: Date | null }, now: Date): boolean {
  if (t.submissionDigest === 'off') return false;
  if (!t.digestSentAt) return true;
  if (t.submissionDigest === 'hourly') return now.getTime() - t.digestSentAt.getTime() >= HOUR_MS;
  return t.digestSentAt.getTime() < lastMorning(now);
}

const DIGEST_KEY = /^digest\/([0-9a-f-]{36})\/([0-9a-f-]{36})\/(.+)$/;

export function createNoticeSender({ prisma, mailer, mailFrom, publicUrl, logger, now = () => new Date() }: NoticeSenderDeps) {
  const ledger = createMailLedger(prisma);

  /** Queues one digest per owner and manager of each tenant whose digest is due and has news. */
  async function queueDigests(scope: ReconcileScope): Promise<number> {
    const at = now();
    let queued = 0;
    const tenants = await prisma.tenant.findMany({ where: { submissionDigest: { not: 'off' }, ...(scope.tenantId ? { id: scope.tenantId } : {}) }, select: { id: true, submissionDigest: true, digestSentAt: true } });
    for (const t of tenants.filter((x) => digestDue(x, at))) {
      const since = t.digestSentAt ?? new Date(0);
      const fresh = await prisma.registrant.count({ where: { tenantId: t.id, status: 'pending', submittedAt: { gt: since } } });
      if (fresh === 0) continue;
      queued += await prisma.$transaction(async (tx) => {
        // Only the round that moves the tenant's mark queues (the mark is the window's start).
        const moved = await tx.tenant.updateMany({ where: { id: t.id, digestSentAt: t.digestSentAt }, data: { digestSentAt: at } });
        if (moved.count !== 1) return 0;
        const hr = await tx.loginUser.findMany({ where: { tenantId: t.id, deletedAt: null, role: { in: ['owner', 'manager'] } }, select: { id: true, email: true } });
        await tx.mailDelivery.createMany({ data: hr.map((u) => ({ key: `digest/${t.id}/${u.id}/${since.toISOString()}`, recipient: u.email, kind: 'digest' })), skipDuplicates: true });
        return hr.length;
      });
    }
    return queued;
  }

  /** The message of a queued notice, or null when there is nobody to tell any more. */
  async function render(row: { key: string; kind: string; createdAt: Date }): Promise<{ subject: string; text: string; held?: boolean } | null> {
    if (row.kind === 'digest') {
      const k = DIGEST_KEY.exec(row.key);
      if (!k) return null;
      const [, tenantId, userId, sinceIso] = k;
      const user = await prisma.loginUser.findFirst({ where: { id: userId, tenantId, deletedAt: null }, include: { tenant: { select: { name: true } } } });
      if (!user) return null;
      const pending = { tenantId: tenantId!, status: 'pending' as const };
      const [fresh, waiting, oldest] = await Promise.all([
        prisma.registrant.count({ where: { ...pending, submittedAt: { gt: new Date(sinceIso!), lte: row.createdAt } } }),
        prisma.registrant.count({ where: pending }),
        prisma.registrant.findFirst({ where: pending, orderBy: { submittedAt: 'asc' }, select: { submittedAt: true } }),
      ]);
      return renderDigest({ userName: user.name, companyName: user.tenant.name, fresh, waiting, oldest: oldest?.submittedAt ?? null, consoleUrl: `${publicUrl}/console` });
    }
    const workflowId = row.key.slice(0, row.key.indexOf('/notice/'));
    const r = await prisma.registrant.findUnique({ where: { workflowId }, include: { tenant: { select: { name: true, mailPausedAt: true } } } });
    if (!r) return null;
    const mail = renderEmployeeNotice(row.kind as EmployeeNoticeKind, { personName: `${r.familyName} ${r.givenName}`, companyName: r.tenant.name, at: row.createdAt });
    return { ...mail, held: Boolean(r.tenant.mailPausedAt) };
  }

  return {
    /** Queues the digests due and sends what is queued (of one tenant in tests). */
    async run(scope: ReconcileScope = {}): Promise<NoticeReport> {
      const report: NoticeReport = { digests: await queueDigests(scope), sent: 0, held: 0, deferred: 0, rejected: 0 };
      // A tenant's notices: its people's (under their workflow ids) and its digests.
      const ofTenant = scope.tenantId ? { OR: [{ key: { startsWith: registrantWorkflowId(scope.tenantId, '') } }, { key: { startsWith: `digest/${scope.tenantId}/` } }] } : {};
      const queue = await prisma.mailDelivery.findMany({ where: { status: 'sending', kind: { in: [...NOTICE_KINDS] }, ...ofTenant }, orderBy: { createdAt: 'asc' }, take: BATCH });
      for (let i = 0; i < queue.length; i++) {
        const row = queue[i]!;
        const mail = await render(row);
        if (!mail) {
          // The person or HR user is gone: nothing to tell, and their address is not kept.
          await prisma.mailDelivery.delete({ where: { key: row.key } }).catch(() => undefined);
          continue;
        }
        if (mail.held) {
          report.held++;
          continue;
        }
        const messageId = `<${createHash('sha256').update(row.key).digest('hex').slice(0, 32)}@mynaflow>`;
        try {
          await mailer.sendMail({ from: mailFrom, to: row.recipient, subject: mail.subject, text: mail.text, messageId });
        } catch (err) {
          const code = (err as { responseCode?: number }).responseCode;
          if (code !== undefined && code >= 500 && code < 600) {
            await prisma.mailDelivery.update({ where: { key: row.key }, data: { status: 'rejected' } });
            report.rejected++;
            logger.warn({ kind: row.kind, responseCode: code }, 'a notice was refused by the mail server');
            continue;
          }
          // The server is away: the rest wait for the next round too.
          report.deferred += queue.length - i;
          logger.warn({ deferred: queue.length - i, cause: (err as Error).name }, 'notices wait for the mail server');
          break;
        }
        await ledger.markSent(row.key, messageId);
        report.sent++;
      }
      return report;
    },
  };
}
