/**
 * HR's view of the identity documents a registrant submitted (本人確認, seed 001 ch.9): what was sent,
 * and each image, opened from the vault for the approval screen. Images still in the employee's
 * draft are theirs alone: HR gets 404 for them, as for documents of another tenant, and so are
 * approved images a change replaced (kept only for a refusal to put back). Every image view
 * is recorded in the operation history (the document's id, never its bytes).
 *
 * An image that shows the twelve digits (the back of the card, the notification card, a resident
 * record with the number — anything sent to confirm the number) is guarded like the number itself:
 * the caller's password again and a recorded reason — during approval the collection check itself
 * (取得時の確認), afterwards one of the tenant's purposes of use.
 */
import type { components } from '../../api/generated/openapi';
import type { Document, DocumentPurpose, DocumentSide, DocumentType } from '../../prisma/generated/client';
import type { History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import type { RequestMeta } from '../auth/auth-service';
import { checkRevealReason, recordedReason, type RevealReason } from './reveal-reason';
import { actorOf, type Acting } from '../login-users/login-users';
import { checkDocumentUpload, type ImageType } from '../registration/images';
import { submittedDependent } from './listing';
import type { Vault } from '../vault/types';

export type SubmittedDocument = components['schemas']['SubmittedDocument'];

const DOCUMENT_NOT_FOUND = () => new AppError(404, 'DOCUMENT_NOT_FOUND', '書類が見つかりません');

/** Whether the image shows the individual number (only the front of the card and other IDs do not). */
export const showsNumber = (d: Pick<Document, 'purpose' | 'type' | 'side'>): boolean =>
  d.purpose === 'number_confirmation' || d.type === 'notification_card' || d.type === 'resident_record' || (d.type === 'my_number_card' && d.side !== 'front');

const NEEDS_REVEAL = () => new AppError(403, 'NUMBER_IMAGE_NEEDS_REVEAL', 'マイナンバーが写っている画像です。パスワードと表示する理由を入力して表示してください');

const view = (d: Document): SubmittedDocument => ({
  showsNumber: showsNumber(d),
  id: d.id,
  dependentId: d.dependentId,
  purpose: d.purpose,
  type: d.type,
  side: d.side,
  // Stored only after the content was sniffed as one of the three (services/registration/images.ts).
  mimeType: d.mimeType as ImageType,
  byteSize: d.byteSize,
  createdAt: d.createdAt.toISOString(),
  pendingChange: d.pendingChange,
});

export interface RegistrantDocumentDeps {
  prisma: PrismaClient;
  vault: Vault;
  history: History;
  /** The caller's password again (a wrong one counts towards the account lock). */
  confirmPassword(userId: string, password: string, meta: RequestMeta): Promise<unknown>;
}

export function createRegistrantDocumentService({ prisma, vault, history, confirmPassword }: RegistrantDocumentDeps) {
  const registrant = async (tenantId: string, id: string) => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId }, select: { id: true, familyName: true, givenName: true, status: true } });
    if (!r) throw REGISTRANT_NOT_FOUND();
    return r;
  };

  async function submitted(registrantId: string, documentId: string) {
    const d = await prisma.document.findFirst({ where: { id: documentId, registrantId, draft: false, supersededAt: null } });
    if (!d?.imageSecretId) throw DOCUMENT_NOT_FOUND();
    return d as Document & { imageSecretId: string };
  }

  async function open(acting: Acting, r: { id: string; familyName: string; givenName: string }, d: Document & { imageSecretId: string }, reason?: RevealReason) {
    const image = await vault.open(d.imageSecretId, acting.tenantId);
    const why = reason ? recordedReason(reason) : {};
    await history.record({
      tenantId: acting.tenantId,
      actor: actorOf(acting.user),
      operation: 'document_viewed',
      registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
      ip: acting.ip,
      userAgent: acting.userAgent,
      ...(why.purpose ? { purpose: why.purpose } : {}),
      detail: { documentId: d.id, dependentId: d.dependentId, purpose: d.purpose, type: d.type, side: d.side, ...(why.reason ? { reason: why.reason } : {}) },
    });
    return { mimeType: d.mimeType, image };
  }

  return {
    /** The submitted documents (the person's and their dependents'), oldest first. */
    async list(tenantId: string, registrantId: string): Promise<SubmittedDocument[]> {
      await registrant(tenantId, registrantId);
      const docs = await prisma.document.findMany({ where: { registrantId, draft: false, supersededAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return docs.map(view);
    },

    /** One submitted image without the number (the approval screen); the view is recorded. */
    async image(acting: Acting, registrantId: string, documentId: string): Promise<{ mimeType: string; image: Buffer }> {
      const r = await registrant(acting.tenantId, registrantId);
      const d = await submitted(r.id, documentId);
      if (showsNumber(d)) throw NEEDS_REVEAL();
      return open(acting, r, d);
    },

    /**
     * HR uploads an image for the person or one of their (submitted, 第3号) dependents, with the phone
     * pages' checks: it replaces the submitted image of the same slot (purpose, type, side), and an
     * approved one a pending change replaced there (HR's upload stands whatever HR decides), whose
     * images are shredded in the same transaction; recorded (ids and the slot, never the bytes). The
     * employee's draft is left as it is.
     */
    async upload(acting: Acting, registrantId: string, input: { purpose: DocumentPurpose; type: DocumentType; side: DocumentSide; dependentId?: string }, image: Buffer): Promise<SubmittedDocument> {
      const mimeType = checkDocumentUpload(input, image);
      const r = await registrant(acting.tenantId, registrantId);
      return prisma.$transaction(
        async (tx) => {
          // One change of the person's documents at a time: two uploads to one slot leave one image.
          await tx.$queryRaw`SELECT id FROM registrants WHERE id = ${r.id}::uuid FOR UPDATE`;
          if (input.dependentId) {
            const d = await submittedDependent(tx, r.id, input.dependentId);
            if (d.kind !== 'category3') throw new AppError(409, 'DEPENDENT_DOCUMENTS_NOT_NEEDED', '国民年金第3号被保険者の扶養家族だけが本人の書類を提出します。その他の扶養家族の確認はご本人が行います');
          }
          const slot = { registrantId: r.id, dependentId: input.dependentId ?? null, purpose: input.purpose, type: input.type, side: input.side };
          const replaced = await tx.document.findMany({ where: { ...slot, draft: false } });
          if (replaced.length) {
            await tx.document.deleteMany({ where: { id: { in: replaced.map((d) => d.id) } } });
            await vault.shred(replaced.flatMap((d) => (d.imageSecretId ? [d.imageSecretId] : [])), tx);
          }
          const imageSecretId = await vault.seal({ tenantId: acting.tenantId, kind: 'document', plaintext: image }, tx);
          const created = await tx.document.create({ data: { ...slot, mimeType, byteSize: image.length, imageSecretId, draft: false } });
          await history.record(
            {
              tenantId: acting.tenantId,
              actor: actorOf(acting.user),
              operation: 'document_uploaded',
              registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
              detail: { documentId: created.id, dependentId: slot.dependentId, purpose: slot.purpose, type: slot.type, side: slot.side, replaced: replaced.length },
              ip: acting.ip,
              userAgent: acting.userAgent,
            },
            tx,
          );
          return view(created);
        },
        { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 30_000 },
      );
    },

    /** Any submitted image, the number-bearing ones too: behind the password and a reason, recorded with it. */
    async revealImage(acting: Acting, registrantId: string, documentId: string, password: string, reason: RevealReason): Promise<{ mimeType: string; image: Buffer }> {
      await confirmPassword(acting.user.id, password, { ip: acting.ip, userAgent: acting.userAgent });
      const r = await registrant(acting.tenantId, registrantId);
      const d = await submitted(r.id, documentId);
      // Awaiting approval: the person, or the dependent whose document it is.
      const awaitingApproval = async () =>
        (d.dependentId ? (await prisma.dependent.findUnique({ where: { id: d.dependentId }, select: { status: true } }))?.status : r.status) === 'pending';
      await checkRevealReason(prisma, { tenantId: acting.tenantId, role: acting.user.role, reason, awaitingApproval, field: 'reason' });
      return open(acting, r, d, reason);
    },
  };
}

export type RegistrantDocumentService = ReturnType<typeof createRegistrantDocumentService>;
