/**
 * Where an employee's draft lives: one sealed JSON secret per registrant (replaced on every save, the
 * old one shredded) and draft document rows whose images are sealed one by one. HR reads neither;
 * the submit activity turns them into the registrant's data in one transaction.
 */
import type { DocumentPurpose, DocumentSide, DocumentType, Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import type { Vault } from '../vault/types';
import { emptyDraft, parseDraft, type Draft } from './draft';

export interface DraftDocumentInput {
  purpose: DocumentPurpose;
  type: DocumentType;
  side: DocumentSide;
  dependentId?: string | null;
  mimeType: string;
  image: Buffer;
}

type Tx = Prisma.TransactionClient;

type DraftOwner = { id: string; tenantId: string; draftSecretId: string | null };

async function lockedRow(tx: Tx, registrantId: string): Promise<DraftOwner> {
  await tx.$queryRaw`SELECT id FROM registrants WHERE id = ${registrantId}::uuid FOR UPDATE`;
  return tx.registrant.findUniqueOrThrow({ where: { id: registrantId }, select: { id: true, tenantId: true, draftSecretId: true } });
}

/** Seals the draft anew and shreds the secret it replaces (the old one may hold numbers since changed). */
async function reseal(vault: Vault, tx: Tx, r: DraftOwner, draft: Draft): Promise<void> {
  const id = await vault.seal({ tenantId: r.tenantId, kind: 'draft', plaintext: Buffer.from(JSON.stringify(draft)) }, tx);
  await tx.registrant.update({ where: { id: r.id }, data: { draftSecretId: id } });
  if (r.draftSecretId) await vault.shred([r.draftSecretId], tx);
}

/**
 * HR's correction or deletion carried into the employee's draft, if they have one (a remanded person
 * part-way through changing), inside HR's transaction: otherwise "finish" would put back what HR
 * corrected, or bring back — number and all — a dependent HR destroyed. Takes the registrant's row
 * lock (as the employee's saves do), which callers usually hold already. No draft, nothing to do:
 * HR never starts one.
 */
export async function amendDraft(vault: Vault, tx: Tx, registrantId: string, change: (draft: Draft) => void): Promise<void> {
  const r = await lockedRow(tx, registrantId);
  if (!r.draftSecretId) return;
  const draft = parseDraft(await vault.open(r.draftSecretId, r.tenantId, tx));
  change(draft);
  await reseal(vault, tx, r, draft);
}

/**
 * The employee's unsubmitted answers thrown away for good (the link died, or HR decided the person
 * without them): the sealed draft — numbers and all — shredded, draft images and draft dependents
 * deleted. Nothing collected is kept without a submission. Runs in the caller's transaction, under
 * the registrant's row lock; answers what went, so the caller can record it.
 */
export async function discardDraft(vault: Vault, tx: Tx, registrantId: string): Promise<{ draft: boolean; documents: number; dependents: number }> {
  const r = await lockedRow(tx, registrantId);
  const docs = await tx.document.findMany({ where: { registrantId, draft: true }, select: { id: true, imageSecretId: true } });
  const deps = await tx.dependent.findMany({ where: { registrantId, draft: true }, select: { id: true, myNumberSecretId: true } });
  const secrets = [r.draftSecretId, ...docs.map((d) => d.imageSecretId), ...deps.map((d) => d.myNumberSecretId)].filter((x): x is string => !!x);
  if (r.draftSecretId) await tx.registrant.update({ where: { id: r.id }, data: { draftSecretId: null } });
  if (docs.length) await tx.document.deleteMany({ where: { id: { in: docs.map((d) => d.id) } } });
  if (deps.length) await tx.dependent.deleteMany({ where: { id: { in: deps.map((d) => d.id) } } });
  if (secrets.length) await vault.shred(secrets, tx);
  return { draft: !!r.draftSecretId, documents: docs.length, dependents: deps.length };
}

export function createDraftStore({ prisma, vault }: { prisma: PrismaClient; vault: Vault }) {
  return {
    async load(registrantId: string): Promise<Draft> {
      const r = await prisma.registrant.findUniqueOrThrow({ where: { id: registrantId }, select: { tenantId: true, draftSecretId: true } });
      return r.draftSecretId ? parseDraft(await vault.open(r.draftSecretId, r.tenantId)) : emptyDraft();
    },

    /** Replaces the draft under the registrant's row lock, so two tabs saving at once cannot leak a secret. */
    async save(registrantId: string, draft: Draft): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const r = await lockedRow(tx, registrantId);
        await reseal(vault, tx, r, draft);
      });
    },

    /**
     * Load, change and save in one transaction under the registrant's row lock: two tabs editing at
     * once both land, one after the other. `change` may throw to leave the draft as it was.
     */
    async update<T>(registrantId: string, change: (draft: Draft, tx: Tx) => Promise<T>): Promise<T> {
      return prisma.$transaction(async (tx) => {
        const r = await lockedRow(tx, registrantId);
        const draft = r.draftSecretId ? parseDraft(await vault.open(r.draftSecretId, r.tenantId, tx)) : emptyDraft();
        const result = await change(draft, tx);
        await reseal(vault, tx, r, draft);
        return result;
      });
    },

    /** A document image uploaded into the draft (hidden from HR until submitted). */
    async addDocument(registrantId: string, doc: DraftDocumentInput): Promise<string> {
      return prisma.$transaction(async (tx) => {
        const r = await tx.registrant.findUniqueOrThrow({ where: { id: registrantId }, select: { tenantId: true } });
        const imageSecretId = await vault.seal({ tenantId: r.tenantId, kind: 'document', plaintext: doc.image }, tx);
        const created = await tx.document.create({
          data: {
            registrantId,
            dependentId: doc.dependentId ?? null,
            purpose: doc.purpose,
            type: doc.type,
            side: doc.side,
            mimeType: doc.mimeType,
            byteSize: doc.image.length,
            imageSecretId,
            draft: true,
          },
        });
        return created.id;
      });
    },
  };
}
export type DraftStore = ReturnType<typeof createDraftStore>;
