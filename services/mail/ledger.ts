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
import type { MailStatus } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { directSql, type RawSql } from '../db/direct-sql';

export interface MarkSentRetry {
  /** attempts in all (default 8: about a minute with the delays below) */
  attempts?: number;
  /** first delay in ms (default 500), doubled up to 15 s */
  firstDelayMs?: number;
}

/** Writers of one tenant's history queue on its lock: give them time rather than failing under load. */
const TX_TIMEOUT_SECONDS = 30;

/**
 * Plain SQL on the client's pool (services/db/direct-sql.ts): a mail's activity is mostly these
 * statements, and Prisma's per-query work was a third of the worker's CPU per invitation.
 */
export function createMailLedger(prisma: PrismaClient, retry: MarkSentRetry = {}) {
  return {
    /** The key's row, made if new: `sent` means an earlier attempt's mail went out. */
    async begin(key: string, recipient: string, kind: string): Promise<{ status: MailStatus }> {
      const sql = await directSql(prisma);
      // A row that exists is left as it is (the first attempt's recipient and kind stay).
      const [row] = await sql.$queryRaw<{ status: MailStatus }[]>`
        WITH made AS (
          INSERT INTO mail_deliveries (key, recipient, kind) VALUES (${key}, ${recipient}, ${kind})
          ON CONFLICT (key) DO NOTHING RETURNING status)
        SELECT status::text AS status FROM made
        UNION ALL SELECT status::text FROM mail_deliveries WHERE key = ${key} AND NOT EXISTS (SELECT 1 FROM made)`;
      if (!row) throw new Error('mail ledger: the delivery row could be neither made nor read');
      return row;
    },

    async markSent(key: string, messageId: string): Promise<void> {
      await backOff(
        async () => (await directSql(prisma)).$executeRaw`UPDATE mail_deliveries SET status = 'sent', sent_at = now(), message_id = ${messageId} WHERE key = ${key}`,
        { numOfAttempts: retry.attempts ?? 8, startingDelay: retry.firstDelayMs ?? 500, timeMultiple: 2, maxDelay: 15_000 },
      );
    },

    /** Runs `record` in a READ COMMITTED transaction once per delivery; false when it had run before. */
    async recordOnce(key: string, record: (tx: RawSql) => Promise<void>): Promise<boolean> {
      return (await directSql(prisma)).transaction(async (tx) => {
        const claimed = await tx.$executeRaw`UPDATE mail_deliveries SET recorded_at = now() WHERE key = ${key} AND status = 'sent' AND recorded_at IS NULL`;
        if (claimed !== 1) return false;
        await record(tx);
        return true;
      }, { timeoutSeconds: TX_TIMEOUT_SECONDS });
    },
  };
}

export type MailLedger = ReturnType<typeof createMailLedger>;
