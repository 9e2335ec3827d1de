import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { createHistory } from '../services/audit/history';
import { hashToken } from '../services/auth/token-hash';
import { SYSTEM_ACTOR, type Actor } from '../services/audit/types';
import { employerSender } from '../services/mail/employer-sender';
import { renderInvitationMail } from '../services/mail/invitation-mail';
import { createMailLedger } from '../services/mail/ledger';
import { MAIL_PAUSED, type SendInvitationMailInput } from '../shared';
import { invitationUrl } from '../shared/invitation-link';
import { countMail } from './mail-metrics';
import { Prisma } from '../prisma/generated/client';
import { directSql, type RawSql } from '../services/db/direct-sql';
import { PREPARED } from '../services/db/statement-names';
import { likeLiteral } from '../services/db/like';
import type { ActivityDeps } from './index';
import { todayInJapan } from '../services/retention/rules';

interface Recipient {
  id: string;
  tenantId: string;
  familyName: string;
  givenName: string;
  email: string | null;
  submissionDueDate: Date | null;
  statusReason: string | null;
  tenantName: string;
  mailPaused: boolean;
  passcodeSet: boolean;
}

/** The person and what the mail says of their company, in one statement. */
async function readRecipient(sql: RawSql, registrantId: string): Promise<Recipient | undefined> {
  const [row] = await sql.$queryRaw<Recipient[]>`${Prisma.raw(PREPARED)}
    SELECT r.id::text AS id, r.tenant_id::text AS "tenantId", r.family_name AS "familyName", r.given_name AS "givenName", r.email,
           r.submission_due_date AS "submissionDueDate", r.status_reason AS "statusReason",
           t.name AS "tenantName", t.mail_paused_at IS NOT NULL AS "mailPaused", t.passcode_hash IS NOT NULL AS "passcodeSet"
      FROM registrants r JOIN tenants t ON t.id = r.tenant_id
     WHERE r.id = ${registrantId}::uuid`;
  return row;
}

export function createInvitationActivities({ prisma, mailer, publicUrl, mailFrom, logger, vault }: ActivityDeps) {
  const history = createHistory(prisma, vault);
  const ledger = createMailLedger(prisma);
  return {
    /**
     * Issues a fresh link token (only its hash is stored) and mails it. A new round (invitation,
     * resend, remand) kills every older link of the person. Once per key (services/mail/ledger.ts):
     * a retry after the mail went out sends nothing; a retry after a crash mid-send reuses the same
     * Message-ID so a receiving server can drop the duplicate, and leaves the earlier attempt's link
     * working.
     */
    async sendInvitationMail(input: SendInvitationMailInput): Promise<{ sent: boolean }> {
      const sql = await directSql(prisma);
      const registrant = await readRecipient(sql, input.registrantId);
      if (!registrant) throw ApplicationFailure.nonRetryable('登録者が見つかりません', 'RegistrantNotFound');
      const paper = input.options?.paper === true && input.kind === 'invitation';
      if (!paper && !registrant.email) throw ApplicationFailure.nonRetryable('メールアドレスが登録されていません', 'RegistrantHasNoEmail');
      // Paused by an operator: not a business error — the workflow waits it out as an outage (its
      // back-off, then the operator's "retry now" on resuming), and nothing of the round changes.
      if (!paper && registrant.mailPaused) throw ApplicationFailure.nonRetryable('メール送信は一時停止中です', MAIL_PAUSED);

      const expiresAt = new Date(input.expiresAt);
      const newRound = input.kind !== 'reminder';
      // The links this key issued: one per attempt. A retry after a crash mid-send cannot know
      // whether the earlier attempt's mail got through (the server may have taken it just before
      // the worker died). Its link keeps working beside the retry's, so whichever copy the
      // employee keeps (a receiving side may drop the retry's as a duplicate Message-ID) works.
      const issueKeys = `${likeLiteral(input.key)}#%`;

      /**
       * Once the mail is out, once per mail: a new round begins (every older link dies, HR sees the
       * new expiry) and the history hears of it. Nothing of the round changes before the mail went
       * out, so a mail server that cannot be reached leaves the person's links as they were.
       */
      const recordSent = () =>
        ledger.recordOnce(input.key, async (tx) => {
          if (newRound) {
            // The person's row first: its lock waits out a printed link being issued (invitation-qr.ts
            // inserts under the same lock), so that link is revoked with the rest, not left alive.
            await tx.$executeRaw`UPDATE registrants SET invitation_state = 'open', invitation_expires_at = ${expiresAt}::timestamptz, updated_at = now() WHERE id = ${registrant.id}::uuid`;
            await tx.$executeRaw`UPDATE invitations SET revoked_at = now() WHERE registrant_id = ${registrant.id}::uuid AND revoked_at IS NULL AND NOT (issue_key = ${input.key}::text OR issue_key LIKE ${issueKeys}::text)`;
          }
          let actor: Actor = SYSTEM_ACTOR;
          if (input.actor?.type === 'login_user' && input.actor.id) {
            const [user] = await tx.$queryRaw<{ name: string }[]>`SELECT name FROM login_users WHERE id = ${input.actor.id}::uuid`;
            actor = { type: 'login_user', id: input.actor.id, label: user?.name ?? '（不明なユーザ）' };
          }
          await history.record(
            {
              tenantId: registrant.tenantId,
              actor,
              operation: paper ? 'paper_invitation_issued' : input.kind === 'reminder' ? 'reminder_sent' : 'invitation_sent',
              registrant: { id: registrant.id, label: `${registrant.familyName} ${registrant.givenName}` },
              ip: input.actor?.ip ?? null,
              userAgent: input.actor?.userAgent ?? null,
              // Every recipient of the live link: the person, and a copy to the sender if asked.
              detail: { kind: input.kind, round: input.round ?? 1, ...(input.options?.copyTo ? { copyTo: input.options.copyTo } : {}) },
            },
            tx,
          );
        });

      /**
       * 紙の登録依頼書: nothing is mailed and no link is made here (HR prints the person's links, each
       * recorded, while the round is open). The round begins as a mailed one would, once per key: the
       * ledger's row (kind `paper`, never a mail) keeps a retry from recording it twice.
       */
      if (paper) {
        const opened = await ledger.begin(input.key, 'paper', 'paper');
        if (opened.status !== 'sent') await ledger.markSent(input.key, 'paper');
        await recordSent();
        return { sent: false };
      }

      const delivery = await ledger.begin(input.key, registrant.email!, input.kind);
      if (delivery.status === 'sent') {
        // Sent by an earlier attempt that could not record it in the history: only that is left.
        await recordSent();
        return { sent: false };
      }

      const token = randomBytes(32).toString('base64url');
      // One statement: the attempt's number is counted where the link is made. A reminder carries a
      // link of its own; the round's other links keep working until it ends.
      const [link] = await sql.$queryRaw<{ id: string }[]>`
        INSERT INTO invitations (id, registrant_id, issue_key, token_hash, expires_at, message, reply_to, copy_to)
        SELECT ${randomUUID()}::uuid, ${registrant.id}::uuid, CASE WHEN n = 0 THEN ${input.key}::text ELSE ${input.key}::text || '#' || (n + 1) END,
               ${hashToken(token)}::text, ${expiresAt}::timestamptz, ${input.options?.message ?? null}::text, ${input.options?.replyTo ?? null}::text, ${input.options?.copyTo ?? null}::text
          FROM (SELECT count(*) AS n FROM invitations WHERE issue_key = ${input.key}::text OR issue_key LIKE ${issueKeys}::text) AS attempts
        RETURNING id`;

      const { subject, text } = renderInvitationMail({
        kind: input.kind,
        personName: `${registrant.familyName} ${registrant.givenName}`,
        companyName: registrant.tenantName,
        passcodeRequired: registrant.passcodeSet,
        link: invitationUrl(publicUrl, token),
        expiresAt,
        submissionDueDate: registrant.submissionDueDate?.toISOString().slice(0, 10),
        today: todayInJapan(),
        message: input.options?.message,
        replyTo: input.options?.replyTo,
        // The reason HR gave is on the row (the decision wrote it); workflows need not carry it.
        remandReason: input.remandReason ?? (input.kind === 'remand' ? (registrant.statusReason ?? undefined) : undefined),
      });
      const messageId = `<${hashToken(input.key).slice(0, 32)}@mynaflow>`;
      // An attempt Temporal has given up on (timed out, cancelled) sends nothing: its retry will.
      if (Context.current().cancellationSignal.aborted) throw new Error('attempt cancelled before sending');
      try {
        await mailer.sendMail({
          from: employerSender(mailFrom, registrant.tenantName),
          to: registrant.email!,
          ...(input.options?.replyTo ? { replyTo: input.options.replyTo } : {}),
          ...(input.options?.copyTo ? { cc: input.options.copyTo } : {}),
          subject,
          text,
          messageId,
        });
      } catch (err) {
        countMail(input.kind, 'failed', err);
        // The mail server could not even be reached (no TCP connection, no address): nobody ever saw
        // this link, so it goes (an outage of days would otherwise leave a live link per retry). Once
        // connected the fate is unknown (the server may keep the message): the link stays.
        const { syscall, responseCode } = err as { syscall?: string; responseCode?: number };
        // A permanent refusal (5xx: no such mailbox, a mistyped address) will not pass on retry.
        const rejected = responseCode !== undefined && responseCode >= 500 && responseCode < 600;
        if (rejected || syscall === 'connect' || syscall === 'getaddrinfo') await sql.$executeRaw`DELETE FROM invitations WHERE id = ${link!.id}::uuid`.catch(() => undefined);
        if (rejected) throw ApplicationFailure.nonRetryable(`メールサーバーが宛先を受け付けませんでした（${responseCode}）`, 'MailRejected');
        throw err;
      }
      countMail(input.kind, 'sent');
      // Accepted by the server: that is recorded first and on its own, then the history entry.
      await ledger.markSent(input.key, messageId);
      await recordSent();
      logger.info({ registrantId: registrant.id, kind: input.kind }, 'invitation mail sent');
      return { sent: true };
    },

    /** Makes every link of the registrant stop working (withdrawal or expiry). */
    async revokeInvitations({ registrantId }: { registrantId: string }): Promise<number> {
      const { count } = await prisma.invitation.updateMany({
        where: { registrantId, revokedAt: null },
        data: { revokedAt: new Date() },
      });
      return count;
    },
  };
}
