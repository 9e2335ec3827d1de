/**
 * The mail ledger (mail_deliveries): what makes a workflow's mail go out once although its activity
 * may run many times.
 *
 * 1. `begin` finds or creates the row for the step's key; a row already `sent` means nothing to send.
 * 2. The caller hands the message to SMTP.
 * 3. `markSent` writes `sent` the moment the server has accepted: one statement, outside any
 *    transaction and any history lock, retried for about a minute while PostgreSQL is away. Only if
 *    it still fails does the activity fail; its retry would then send again.
 * 4. `recordOnce` writes the operation-history entry in its own transaction, at most once per row
 *    (`recorded_at`), so a retry after a lost commit or a busy history lock records nothing twice.
 *
 * The one window left: the process dies between the server's acceptance and step 3. The retry then
 * sends a second copy with the same Message-ID (receiving servers may drop it).
 */
import { backOff } from 'exponential-backoff';
import type { MailDelivery, Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';

export interface MarkSentRetry {
  /** attempts in all (default 8: about a minute with the delays below) */
  attempts?: number;
  /** first delay in ms (default 500), doubled up to 15 s */
  firstDelayMs?: number;
}

const TX = { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 30_000 } as const;

export function createMailLedger(prisma: PrismaClient, retry: MarkSentRetry = {}) {
  return {
    begin(key: string, recipient: string, kind: string): Promise<MailDelivery> {
      return prisma.mailDelivery.upsert({ where: { key }, create: { key, recipient, kind }, update: {} });
    },

    async markSent(key: string, messageId: string): Promise<void> {
      await backOff(() => prisma.mailDelivery.update({ where: { key }, data: { status: 'sent', sentAt: new Date(), messageId } }), {
        numOfAttempts: retry.attempts ?? 8,
        startingDelay: retry.firstDelayMs ?? 500,
        timeMultiple: 2,
        maxDelay: 15_000,
      });
    },

    /** Runs `record` in a transaction once per delivery; false when it had run before. */
    async recordOnce(key: string, record: (tx: Prisma.TransactionClient) => Promise<void>): Promise<boolean> {
      return prisma.$transaction(async (tx) => {
        const claimed = await tx.$executeRaw`UPDATE mail_deliveries SET recorded_at = now() WHERE key = ${key} AND status = 'sent' AND recorded_at IS NULL`;
        if (claimed !== 1) return false;
        await record(tx);
        return true;
      }, TX);
    },
  };
}

export type MailLedger = ReturnType<typeof createMailLedger>;
