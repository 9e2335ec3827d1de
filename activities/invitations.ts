import { createHash, randomBytes } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import { renderInvitationMail } from '../services/mail/invitation-mail';
import type { SendInvitationMailInput } from '../shared';
import type { ActivityDeps } from './index';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export function createInvitationActivities({ prisma, mailer, publicUrl, mailFrom, logger }: ActivityDeps) {
  return {
    /**
     * Issues a fresh link token (only its hash is stored) and mails it. Idempotent per key: a retry
     * after the mail went out sends nothing; a retry after a crash mid-send reuses the same
     * Message-ID so a receiving server can drop the duplicate.
     */
    async sendInvitationMail(input: SendInvitationMailInput): Promise<{ sent: boolean }> {
      const registrant = await prisma.registrant.findUnique({
        where: { id: input.registrantId },
        include: { tenant: { select: { name: true } } },
      });
      if (!registrant) throw ApplicationFailure.nonRetryable('登録者が見つかりません', 'RegistrantNotFound');
      if (!registrant.email) throw ApplicationFailure.nonRetryable('メールアドレスが登録されていません', 'RegistrantHasNoEmail');

      const delivery = await prisma.mailDelivery.upsert({
        where: { key: input.key },
        create: { key: input.key, recipient: registrant.email, kind: input.kind },
        update: {},
      });
      if (delivery.status === 'sent') return { sent: false };

      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(input.expiresAt);
      await prisma.invitation.upsert({
        where: { issueKey: input.key },
        create: { registrantId: registrant.id, issueKey: input.key, tokenHash: hashToken(token), expiresAt },
        update: { tokenHash: hashToken(token), expiresAt },
      });

      const { subject, text } = renderInvitationMail({
        kind: input.kind,
        personName: `${registrant.familyName} ${registrant.givenName}`,
        companyName: registrant.tenant.name,
        link: `${publicUrl}/i/${token}`,
        expiresAt,
      });
      const messageId = `<${hashToken(input.key).slice(0, 32)}@mynaflow>`;
      await mailer.sendMail({ from: mailFrom, to: registrant.email, subject, text, messageId });
      await prisma.mailDelivery.update({ where: { key: input.key }, data: { status: 'sent', sentAt: new Date(), messageId } });
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
