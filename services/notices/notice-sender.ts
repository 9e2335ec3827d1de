/**
 * Sends the notices queued in the mail ledger (enqueue.ts), run by the reconciler's round each
 * minute, and queues HR's digests and deletion reminders when due.
 * - Each notice is claimed (claimed_until) before it goes to SMTP: a round that overruns its
 *   activity attempt, or two rounds at once, never send one twice.
 * - A round stops starting sends after ROUND_BUDGET_MS or when its attempt is cancelled, so it ends
 *   inside the activity's 2 minutes; what is left is the next round's.
 * - A notice the server refuses for good (5xx) is `rejected`; one it puts off (4xx) stays queued, its
 *   try counted, and the others go on; a server that is away ends the round. After GIVE_UP_MS a
 *   notice still not taken is `rejected` (the dashboard lists mails not taken after 10 minutes).
 * - While an operator has paused a tenant's mail its employees' notices wait, without holding up
 *   other tenants' behind them.
 */
import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';
import { createMailLedger } from '../mail/ledger';
import { registrantWorkflowId, type ReconcileScope } from '../../shared';
import { employerSender } from '../mail/employer-sender';
import { NOTICE_KINDS, renderDeletionReminder, renderDigest, renderEmployeeNotice, type EmployeeNoticeKind } from './notice-mail';

const BATCH = 200;
const HOUR_MS = 3_600_000;
/** No new send after this long: with one send's SMTP limits (≤ 80 s) the round ends inside 2 minutes. */
const ROUND_BUDGET_MS = 30_000;
/** Longer than an attempt can run: the claim of a round that died lapses for a later one. */
const CLAIM_SECONDS = 180;
const GIVE_UP_MS = 3 * 24 * HOUR_MS;
/** nodemailer's codes for a server that cannot be reached or talked to (not a refusal of one mail). */
const SERVER_AWAY = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'EAUTH', 'ETLS', 'EPROTOCOL', 'ECONNREFUSED', 'ECONNRESET']);
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

/** The reconciler's scope; tests may name several tenants (the round of a deployment has none). */
export type NoticeScope = ReconcileScope & { tenantIds?: string[] };

export interface NoticeRoundControl {
  /** aborted when the activity's attempt is over (timed out, cancelled, worker stopping) */
  signal?: AbortSignal;
  /** ms after which no new send starts (default ROUND_BUDGET_MS) */
  budgetMs?: number;
}

/** What a failed send says: the server is away (the round ends), refused this mail for good, or put it off. */
export function sendFailure(err: unknown): 'away' | 'refused' | 'later' {
  const { code, responseCode } = err as { code?: string; responseCode?: number };
  if (responseCode === 421 || (code !== undefined && SERVER_AWAY.has(code))) return 'away';
  if (responseCode !== undefined && responseCode >= 500 && responseCode < 600) return 'refused';
  return 'later';
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
const DELETION_REMINDER_KEY = /^deletion-reminder\/([0-9a-f-]{36})\/([0-9a-f-]{36})\//;
/** HR is reminded of deletions waiting for its confirmation this often, until none waits. */
const DELETION_REMINDER_EVERY_MS = 7 * 24 * HOUR_MS;

export function createNoticeSender({ prisma, mailer, mailFrom, publicUrl, logger, now = () => new Date() }: NoticeSenderDeps) {
  const ledger = createMailLedger(prisma);

  /** Queues one digest per owner and manager of each tenant whose digest is due and has news. */
  async function queueDigests(tenantIds: string[] | undefined): Promise<number> {
    const at = now();
    let queued = 0;
    const tenants = await prisma.tenant.findMany({ where: { submissionDigest: { not: 'off' }, ...(tenantIds ? { id: { in: tenantIds } } : {}) }, select: { id: true, submissionDigest: true, digestSentAt: true } });
    for (const t of tenants.filter((x) => digestDue(x, at))) {
      const since = t.digestSentAt ?? new Date(0);
      const fresh = await prisma.registrant.count({ where: { tenantId: t.id, status: 'pending', submittedAt: { gt: since } } });
      if (fresh === 0) {
        // Nothing new this period: the period is over all the same (a submission an hour after a
        // daily digest's 9:00 waits for the next morning, not for the next round).
        await prisma.tenant.updateMany({ where: { id: t.id, digestSentAt: t.digestSentAt }, data: { digestSentAt: at } });
        continue;
      }
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

  /**
   * One reminder per owner and manager of each tenant with deletions waiting for its confirmation
   * (the confirmed deletion mode), at once and then weekly while any waits.
   */
  async function queueDeletionReminders(tenantIds: string[] | undefined): Promise<number> {
    const at = now();
    const due = await prisma.tenant.findMany({
      // Whatever the mode now: anyone still waiting keeps HR reminded.
      where: {
        OR: [{ deletionReminderSentAt: null }, { deletionReminderSentAt: { lte: new Date(at.getTime() - DELETION_REMINDER_EVERY_MS) } }],
        registrants: { some: { deletionAwaitingSince: { not: null } } },
        ...(tenantIds ? { id: { in: tenantIds } } : {}),
      },
      select: { id: true, deletionReminderSentAt: true },
    });
    let queued = 0;
    for (const t of due) {
      queued += await prisma.$transaction(async (tx) => {
        // Only the round that moves the tenant's mark queues.
        const moved = await tx.tenant.updateMany({ where: { id: t.id, deletionReminderSentAt: t.deletionReminderSentAt }, data: { deletionReminderSentAt: at } });
        if (moved.count !== 1) return 0;
        const hr = await tx.loginUser.findMany({ where: { tenantId: t.id, deletedAt: null, role: { in: ['owner', 'manager'] } }, select: { id: true, email: true } });
        await tx.mailDelivery.createMany({ data: hr.map((u) => ({ key: `deletion-reminder/${t.id}/${u.id}/${at.toISOString()}`, recipient: u.email, kind: 'deletion_reminder' })), skipDuplicates: true });
        return hr.length;
      });
    }
    return queued;
  }

  /** The message of a queued notice, or null when there is nobody or nothing to tell any more. */
  async function render(row: { key: string; kind: string; createdAt: Date }): Promise<{ subject: string; text: string; held?: boolean; employer?: string } | null> {
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
      // All approved or remanded before it went out: nothing left to tell.
      if (fresh === 0) return null;
      return renderDigest({ userName: user.name, companyName: user.tenant.name, fresh, waiting, oldest: oldest?.submittedAt ?? null, consoleUrl: `${publicUrl}/console` });
    }
    if (row.kind === 'deletion_reminder') {
      const k = DELETION_REMINDER_KEY.exec(row.key);
      if (!k) return null;
      const [, tenantId, userId] = k;
      const user = await prisma.loginUser.findFirst({ where: { id: userId, tenantId, deletedAt: null }, include: { tenant: { select: { name: true } } } });
      if (!user) return null;
      const awaiting = { tenantId: tenantId!, deletionAwaitingSince: { not: null } };
      const [waiting, oldest] = await Promise.all([
        prisma.registrant.count({ where: awaiting }),
        prisma.registrant.findFirst({ where: awaiting, orderBy: { deletionDueDate: 'asc' }, select: { deletionDueDate: true } }),
      ]);
      // All confirmed before it went out: nothing left to tell.
      if (waiting === 0) return null;
      return renderDeletionReminder({ userName: user.name, companyName: user.tenant.name, waiting, oldestDue: oldest?.deletionDueDate ?? null, consoleUrl: `${publicUrl}/console` });
    }
    const workflowId = row.key.slice(0, row.key.indexOf('/notice/'));
    const r = await prisma.registrant.findUnique({ where: { workflowId }, include: { tenant: { select: { name: true, mailPausedAt: true } } } });
    if (!r) return null;
    const mail = renderEmployeeNotice(row.kind as EmployeeNoticeKind, { personName: `${r.familyName} ${r.givenName}`, companyName: r.tenant.name, at: row.createdAt });
    return { ...mail, held: Boolean(r.tenant.mailPausedAt) };
  }

  /** Takes the row for this round; false when another round holds it or it is no longer queued. */
  const claim = async (key: string) =>
    (await prisma.$executeRaw`UPDATE mail_deliveries SET claimed_until = now() + make_interval(secs => ${CLAIM_SECONDS}) WHERE key = ${key} AND status = 'sending' AND (claimed_until IS NULL OR claimed_until < now())`) === 1;
  /** Gives the row back for a later round, counting the try when the server put it off. */
  const release = (key: string, tried: boolean) => prisma.mailDelivery.update({ where: { key }, data: { claimedUntil: null, ...(tried ? { attempts: { increment: 1 } } : {}) } });
  const reject = (key: string) => prisma.mailDelivery.update({ where: { key }, data: { status: 'rejected', claimedUntil: null } });

  return {
    /** Queues the digests due and sends what is queued (of one tenant in tests). */
    async run(scope: NoticeScope = {}, control: NoticeRoundControl = {}): Promise<NoticeReport> {
      const tenantIds = scope.tenantIds ?? (scope.tenantId ? [scope.tenantId] : undefined);
      const started = Date.now();
      const budgetMs = control.budgetMs ?? ROUND_BUDGET_MS;
      const report: NoticeReport = { digests: (await queueDigests(tenantIds)) + (await queueDeletionReminders(tenantIds)), sent: 0, held: 0, deferred: 0, rejected: 0 };
      // A tenant's notices: its people's (under their workflow ids), its digests and deletion reminders.
      const ofTenant = tenantIds
        ? { OR: tenantIds.flatMap((t) => [{ key: { startsWith: registrantWorkflowId(t, '') } }, { key: { startsWith: `digest/${t}/` } }, { key: { startsWith: `deletion-reminder/${t}/` } }]) }
        : {};
      const queued = { status: 'sending' as const, kind: { in: [...NOTICE_KINDS] } };
      // Paused tenants' employee notices are counted, not fetched: they must not fill the batch.
      const paused = await prisma.tenant.findMany({ where: { mailPausedAt: { not: null }, ...(tenantIds ? { id: { in: tenantIds } } : {}) }, select: { id: true } });
      const ofPaused = paused.map((t) => ({ key: { startsWith: registrantWorkflowId(t.id, '') } }));
      if (ofPaused.length) report.held = await prisma.mailDelivery.count({ where: { AND: [queued, { OR: ofPaused }] } });
      const queue = await prisma.mailDelivery.findMany({
        where: { AND: [queued, ofTenant, ...(ofPaused.length ? [{ NOT: ofPaused }] : []), { OR: [{ claimedUntil: null }, { claimedUntil: { lt: new Date() } }] }] },
        orderBy: { createdAt: 'asc' },
        take: BATCH,
      });
      for (let i = 0; i < queue.length; i++) {
        if (control.signal?.aborted || Date.now() - started >= budgetMs) {
          report.deferred += queue.length - i;
          break;
        }
        const row = queue[i]!;
        if (!(await claim(row.key))) continue;
        const mail = await render(row);
        if (!mail) {
          // The person or HR user is gone: nothing to tell, and their address is not kept.
          await prisma.mailDelivery.delete({ where: { key: row.key } }).catch(() => undefined);
          continue;
        }
        if (mail.held) {
          await release(row.key, false);
          report.held++;
          continue;
        }
        const messageId = `<${createHash('sha256').update(row.key).digest('hex').slice(0, 32)}@mynaflow>`;
        try {
          // The employee's mails come from their employer; HR's digest from the service.
          const from = mail.employer ? employerSender(mailFrom, mail.employer) : mailFrom;
          await mailer.sendMail({ from, to: row.recipient, subject: mail.subject, text: mail.text, messageId });
        } catch (err) {
          const failure = sendFailure(err);
          const responseCode = (err as { responseCode?: number }).responseCode;
          if (failure === 'refused' || (failure === 'later' && now().getTime() - row.createdAt.getTime() >= GIVE_UP_MS)) {
            await reject(row.key);
            report.rejected++;
            logger.warn({ kind: row.kind, responseCode, attempts: row.attempts + 1 }, failure === 'refused' ? 'a notice was refused by the mail server' : 'a notice the mail server kept putting off is given up');
            continue;
          }
          await release(row.key, true);
          if (failure === 'later') {
            report.deferred++;
            logger.warn({ kind: row.kind, responseCode, attempts: row.attempts + 1 }, 'a notice was put off by the mail server');
            continue;
          }
          // The server is away: the rest wait for the next round too.
          report.deferred += queue.length - i;
          logger.warn({ deferred: queue.length - i, cause: (err as { code?: string }).code ?? (err as Error).name }, 'notices wait for the mail server');
          break;
        }
        await ledger.markSent(row.key, messageId);
        report.sent++;
      }
      return report;
    },
  };
}
