/**
 * HR's view of the identity documents a registrant submitted (本人確認, seed 001 ch.9): what was sent,
 * and each image, opened from the vault for the approval screen. Images still in the employee's
 * draft are theirs alone: HR gets 404 for them, as for documents of another tenant. Every image view
 * is recorded in the operation history (the document's id, never its bytes).
 */
import type { components } from '../../api/generated/openapi';
import type { Document } from '../../prisma/generated/client';
import type { History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import { actorOf, type Acting } from '../login-users/login-users';
import type { ImageType } from '../registration/images';
import type { Vault } from '../vault/types';

export type SubmittedDocument = components['schemas']['SubmittedDocument'];

const DOCUMENT_NOT_FOUND = () => new AppError(404, 'DOCUMENT_NOT_FOUND', '書類が見つかりません');

const view = (d: Document): SubmittedDocument => ({
  id: d.id,
  dependentId: d.dependentId,
  purpose: d.purpose,
  type: d.type,
  side: d.side,
  // Stored only after the content was sniffed as one of the three (services/registration/images.ts).
  mimeType: d.mimeType as ImageType,
  byteSize: d.byteSize,
  createdAt: d.createdAt.toISOString(),
});

export interface RegistrantDocumentDeps {
  prisma: PrismaClient;
  vault: Vault;
  history: History;
}

export function createRegistrantDocumentService({ prisma, vault, history }: RegistrantDocumentDeps) {
  const registrant = async (tenantId: string, id: string) => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId }, select: { id: true, familyName: true, givenName: true } });
    if (!r) throw REGISTRANT_NOT_FOUND();
    return r;
  };

  return {
    /** The submitted documents (the person's and their dependents'), oldest first. */
    async list(tenantId: string, registrantId: string): Promise<SubmittedDocument[]> {
      await registrant(tenantId, registrantId);
      const docs = await prisma.document.findMany({ where: { registrantId, draft: false }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
      return docs.map(view);
    },

    /** One submitted image from the vault; the view is recorded. */
    async image(acting: Acting, registrantId: string, documentId: string): Promise<{ mimeType: string; image: Buffer }> {
      const r = await registrant(acting.tenantId, registrantId);
      const d = await prisma.document.findFirst({ where: { id: documentId, registrantId, draft: false } });
      if (!d?.imageSecretId) throw DOCUMENT_NOT_FOUND();
      const image = await vault.open(d.imageSecretId, acting.tenantId);
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'document_viewed',
        registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
        ip: acting.ip,
        userAgent: acting.userAgent,
        detail: { documentId: d.id, dependentId: d.dependentId, purpose: d.purpose, type: d.type, side: d.side },
      });
      return { mimeType: d.mimeType, image };
    },
  };
}

export type RegistrantDocumentService = ReturnType<typeof createRegistrantDocumentService>;
