/**
 * 登録用QRコード: for people HR hands a printed invitation to. It carries a link of its own in the
 * current invitation round (same expiry; dies with the round like every other link), issued only
 * while the invitation is open. The token is shown once, in the image, and only its hash is kept.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Registrant } from '../../prisma/generated/client';
import { INVITATION_PAGE, invitationUrl } from '../../shared/invitation-link';
import QRCode from 'qrcode';
import { hashToken } from '../auth/token-hash';
import type { History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import { actorOf, type Acting } from '../login-users/login-users';
import { LIFECYCLE_REFUSALS } from '../../shared';
import { paperCodeFrom } from '../../shared/paper-code';

export type QrFormat = 'png' | 'svg';

/** Whether the person's invitation round is open now (a printed link may join it). */
export const openRound = (r: Pick<Registrant, 'invitationState' | 'invitationExpiresAt'>, now: number): r is Registrant & { invitationExpiresAt: Date } =>
  r.invitationState === 'open' && !!r.invitationExpiresAt && r.invitationExpiresAt.getTime() > now;

export function createInvitationQrService({ prisma, history, publicUrl }: { prisma: PrismaClient; history: History; publicUrl: string }) {
  /**
   * A printed link of its own in the open round; `use` says in the history whether it went on a
   * sheet. A sheet's token is a 登録コード, short enough to type when the QR code cannot be read.
   */
  async function issueLink(acting: Acting, registrantId: string, use: QrFormat | 'paper'): Promise<{ url: string; token: string; expiresAt: Date }> {
    const token = use === 'paper' ? paperCodeFrom(randomBytes(10)) : randomBytes(32).toString('base64url');
    const expiresAt = await prisma.$transaction(async (tx) => {
      // Under the row lock, so a new round or the expiry cannot slip in between check and insert.
      const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM registrants WHERE id = ${registrantId}::uuid AND tenant_id = ${acting.tenantId}::uuid FOR UPDATE`;
      if (rows.length === 0) throw REGISTRANT_NOT_FOUND();
      const r = await tx.registrant.findUniqueOrThrow({ where: { id: registrantId } });
      if (!openRound(r, Date.now())) throw new AppError(409, 'INVITATION_NOT_OPEN', LIFECYCLE_REFUSALS.INVITATION_NOT_OPEN);
      await tx.invitation.create({ data: { registrantId, issueKey: `print/${randomUUID()}`, tokenHash: hashToken(token), expiresAt: r.invitationExpiresAt } });
      await history.record(
        {
          tenantId: acting.tenantId,
          actor: actorOf(acting.user),
          operation: 'invitation_printed',
          registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
          ip: acting.ip,
          userAgent: acting.userAgent,
          detail: use === 'paper' ? { format: 'svg', sheet: true } : { format: use },
        },
        tx,
      );
      return r.invitationExpiresAt;
    }, { isolationLevel: 'ReadCommitted' });
    return { url: invitationUrl(publicUrl, token), token, expiresAt };
  }

  /** Error correction M and a quiet zone: survives a crumpled printout. */
  async function render(url: string, format: QrFormat): Promise<Buffer | string> {
    if (format === 'svg') return QRCode.toString(url, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
    return QRCode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 4, width: 400 });
  }

  return {
    issueLink,
    render,
    /** where a 登録コード is typed (the invitation page opened without a link) */
    codeEntryUrl: `${publicUrl}${INVITATION_PAGE}`,
    async issue(acting: Acting, registrantId: string, format: QrFormat): Promise<{ contentType: string; body: Buffer | string }> {
      const link = await issueLink(acting, registrantId, format);
      return { contentType: format === 'svg' ? 'image/svg+xml' : 'image/png', body: await render(link.url, format) };
    },
  };
}
export type InvitationQrService = ReturnType<typeof createInvitationQrService>;
