/**
 * What an employee does on the registration pages once logged in: fill in the draft (number twice,
 * gender, birth date), upload document images, add / edit / delete dependents, and "finish". The
 * draft is sealed in the vault and HR sees none of it until the submission (a workflow update that
 * checks it is whole). Only a person whose registration is open (unregistered or remanded, link
 * alive) can change anything; after "finish" nothing changes until HR remands.
 *
 * A remanded person starts from what they submitted, so they fix the point HR named rather than
 * typing everything again.
 */
import { randomUUID } from 'node:crypto';
import type { DocumentPurpose, DocumentSide, DocumentType, Gender, Prisma, Registrant, Tenant } from '../../prisma/generated/client';
import { LIFECYCLE_REFUSALS, mayChangeRegistration, type StepActor } from '../../shared';
import type { PrismaClient } from '../db/client';
import { PURPOSE_LABELS } from '../audit/purposes';
import { AppError, DEPENDENT_NOT_FOUND } from '../errors';
import { validateIndividualNumber } from '../mynumber/validate';
import { draftFieldsOf, evaluateDraft, parseDraft, type Draft, type DraftDependent, type DraftDocument } from '../registrants/draft';
import type { DraftStore } from '../registrants/draft-store';
import type { LifecycleService } from '../registrants/lifecycle';
import type { Vault } from '../vault/types';
import { checkDocumentUpload } from './images';
import { missingConsents } from './access';

type Tx = Prisma.TransactionClient;

const CONSENT_MISSING = () =>
  new AppError(409, 'CONSENT_REQUIRED', '会社が利用目的を追加しました。提出する前に、追加された利用目的への同意をお願いします', [
    { path: '/consents', code: 'CONSENT_REQUIRED', message: '追加された利用目的に同意してください' },
  ]);

export interface RegistrantCaller {
  registrant: Registrant & { tenant: Tenant };
  ip: string | null;
  userAgent: string | null;
}

export interface ProfileInput {
  myNumber?: string;
  myNumberConfirmation?: string;
  gender?: Gender;
  birthDate?: string;
}

export interface DependentInput {
  relationship?: string;
  kind?: 'dependent' | 'category3';
  familyName?: string;
  givenName?: string;
  familyNameKana?: string | null;
  givenNameKana?: string | null;
  birthDate?: string | null;
  gender?: Gender | null;
  myNumber?: string;
  myNumberConfirmation?: string;
  noLongerDependent?: boolean;
}

export interface DocumentInput {
  purpose: DocumentPurpose;
  type: DocumentType;
  side: DocumentSide;
  dependentId?: string;
}

const invalid = (errors: { path: string; code: string; message: string }[]) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', errors);
const DOCUMENT_NOT_FOUND = () => new AppError(404, 'DOCUMENT_NOT_FOUND', '書類が見つかりません');

const last4 = (n?: string) => (n ? n.slice(-4) : null);
const maskedNumber = (n?: string) => ({ entered: !!n, last4: last4(n) });

/** YYYY-MM-DD that exists, not in the future, not before 1900. */
function checkBirthDate(value: string, path: string, errors: { path: string; code: string; message: string }[]) {
  const ms = Date.parse(`${value}T00:00:00Z`);
  const valid = /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === value;
  if (!valid) errors.push({ path, code: 'BIRTH_DATE_INVALID', message: '生年月日を正しく入力してください' });
  else if (value < '1900-01-01' || ms > Date.now()) errors.push({ path, code: 'BIRTH_DATE_OUT_OF_RANGE', message: '生年月日には今日以前の日付を入力してください' });
}

/** A number given must be valid and typed the same twice; messages never echo it. */
function checkNumber(value: string | undefined, confirmation: string | undefined, path: string, errors: { path: string; code: string; message: string }[], sandbox: boolean): string | undefined {
  if (value === undefined) return undefined;
  const v = validateIndividualNumber(value, confirmation ?? '', { sandbox });
  if (!v.ok) {
    errors.push({ path, code: v.code, message: v.message });
    return undefined;
  }
  return v.value;
}

export interface RegistrationDeps {
  prisma: PrismaClient;
  vault: Vault;
  drafts: DraftStore;
  lifecycle: LifecycleService;
}

export function createRegistrationService({ prisma, vault, drafts, lifecycle }: RegistrationDeps) {
  /** Throws unless the person may change their registration now (re-read: HR may have acted meanwhile). */
  async function editable(registrantId: string, tx: Tx | PrismaClient = prisma): Promise<Registrant> {
    const r = await tx.registrant.findUniqueOrThrow({ where: { id: registrantId } });
    if (!mayChangeRegistration(r)) throw new AppError(409, 'NOT_EDITABLE', LIFECYCLE_REFUSALS.NOT_EDITABLE);
    if (r.invitationState !== 'open' || r.retired) throw new AppError(409, 'INVITATION_NOT_OPEN', LIFECYCLE_REFUSALS.INVITATION_NOT_OPEN);
    return r;
  }

  /**
   * The draft as it stands; for a remanded person without one yet, what they submitted (numbers
   * opened from the vault) becomes the starting draft.
   */
  async function startingDraft(r: Registrant, tx: Tx): Promise<Draft | null> {
    if (r.draftSecretId || !r.myNumberSecretId) return null;
    const rows = await tx.dependent.findMany({ where: { registrantId: r.id, draft: false }, orderBy: { createdAt: 'asc' } });
    const open = async (id: string | null) => (id ? (await vault.open(id, r.tenantId, tx)).toString('utf8') : undefined);
    // Those the submission took off (kept until HR decides) stay off in the corrected one.
    const [removed, dependents] = [rows.filter((d) => d.removalRequestedAt), rows.filter((d) => !d.removalRequestedAt)];
    return {
      myNumber: await open(r.myNumberSecretId),
      gender: r.gender ?? undefined,
      birthDate: r.birthDate?.toISOString().slice(0, 10),
      dependents: await Promise.all(
        dependents.map(async (d): Promise<DraftDependent> => ({ ...draftFieldsOf(d), myNumber: await open(d.myNumberSecretId) })),
      ),
      removedDocumentIds: [],
      removedDependentIds: removed.map((d) => d.id),
    };
  }

  /** Changes the draft under the row lock, after checking the person may. */
  function change<T>(caller: RegistrantCaller, fn: (draft: Draft, tx: Tx) => Promise<T>): Promise<T> {
    return drafts.update(caller.registrant.id, async (draft, tx) => {
      const r = await editable(caller.registrant.id, tx);
      const start = await startingDraft(r, tx);
      if (start) Object.assign(draft, start);
      return fn(draft, tx);
    });
  }

  async function readDraft(r: Registrant): Promise<Draft> {
    if (r.draftSecretId) return parseDraft(await vault.open(r.draftSecretId, r.tenantId));
    const start = await prisma.$transaction((tx) => startingDraft(r, tx));
    return start ?? parseDraft(Buffer.from('{}'));
  }

  /** The submitted dependents the draft deletes (the employee may take each back). */
  async function removedDependents(registrantId: string, draft: Draft) {
    if (draft.removedDependentIds.length === 0) return [];
    return prisma.dependent.findMany({
      where: { registrantId, draft: false, id: { in: draft.removedDependentIds } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, relationship: true, familyName: true, givenName: true },
    });
  }

  async function documentsOf(r: Registrant, draft: Draft) {
    const rows = await prisma.document.findMany({
      where: { registrantId: r.id, supersededAt: null, id: { notIn: draft.removedDocumentIds } },
      orderBy: { createdAt: 'asc' },
      select: { id: true, dependentId: true, purpose: true, type: true, side: true, mimeType: true, byteSize: true, draft: true, createdAt: true },
    });
    // Documents of dependents the employee deleted are going too.
    return rows.filter((d) => !d.dependentId || !draft.removedDependentIds.includes(d.dependentId));
  }

  function checkDependent(input: DependentInput, creating: boolean, sandbox: boolean): Partial<DraftDependent> {
    const errors: { path: string; code: string; message: string }[] = [];
    const text = (v: string | null | undefined, path: string, code: string, message: string, required: boolean) => {
      const t = typeof v === 'string' ? v.trim() : undefined;
      if ((required || v !== undefined) && !t) errors.push({ path, code, message });
      return t || undefined;
    };
    const out: Partial<DraftDependent> = {};
    if (creating || input.familyName !== undefined) out.familyName = text(input.familyName, '/body/familyName', 'NAME_REQUIRED', '扶養家族の姓を入力してください', true);
    if (creating || input.givenName !== undefined) out.givenName = text(input.givenName, '/body/givenName', 'NAME_REQUIRED', '扶養家族の名を入力してください', true);
    if (creating || input.relationship !== undefined) out.relationship = text(input.relationship, '/body/relationship', 'RELATIONSHIP_REQUIRED', '続柄を入力してください', true);
    if (input.kind !== undefined) out.kind = input.kind;
    if (input.familyNameKana !== undefined) out.familyNameKana = input.familyNameKana?.trim() || undefined;
    if (input.givenNameKana !== undefined) out.givenNameKana = input.givenNameKana?.trim() || undefined;
    if (input.gender !== undefined) out.gender = input.gender ?? undefined;
    if (input.birthDate !== undefined) {
      if (input.birthDate !== null) checkBirthDate(input.birthDate, '/body/birthDate', errors);
      out.birthDate = input.birthDate ?? undefined;
    }
    const n = checkNumber(input.myNumber, input.myNumberConfirmation, '/body/myNumber', errors, sandbox);
    if (n) out.myNumber = n;
    if (input.noLongerDependent !== undefined) out.noLongerDependent = input.noLongerDependent;
    if (errors.length) throw invalid(errors);
    return out;
  }

  const dependentView = (d: DraftDependent) => ({
    id: d.id,
    relationship: d.relationship,
    kind: d.kind,
    familyName: d.familyName,
    givenName: d.givenName,
    familyNameKana: d.familyNameKana ?? null,
    givenNameKana: d.givenNameKana ?? null,
    birthDate: d.birthDate ?? null,
    gender: d.gender ?? null,
    myNumber: maskedNumber(d.myNumber),
    noLongerDependent: d.noLongerDependent ?? false,
  });

  /** Shreds draft-only document rows (never submitted ones: those go at submission). */
  async function dropDraftDocuments(tx: Tx, where: Prisma.DocumentWhereInput) {
    const docs = await tx.document.findMany({ where: { ...where, draft: true } });
    await tx.document.deleteMany({ where: { id: { in: docs.map((d) => d.id) } } });
    await vault.shred(docs.map((d) => d.imageSecretId).filter((x): x is string => !!x), tx);
    return docs.length;
  }

  return {
    /** Everything the pages show: who, where the registration stands, the draft (numbers masked) and what is missing. */
    async overview(caller: RegistrantCaller) {
      const r = await prisma.registrant.findUniqueOrThrow({ where: { id: caller.registrant.id } });
      const draft = await readDraft(r);
      const documents = await documentsOf(r, draft);
      const docView: DraftDocument[] = documents.map((d) => ({ id: d.id, dependentId: d.dependentId, purpose: d.purpose, type: d.type, side: d.side }));
      const isEditable = mayChangeRegistration(r) && r.invitationState === 'open' && !r.retired;
      const consentsMissing = await missingConsents(prisma, caller.registrant);
      return {
        familyName: r.familyName,
        givenName: r.givenName,
        email: r.email,
        companyName: caller.registrant.tenant.name,
        sandbox: caller.registrant.tenant.sandbox,
        category: r.category,
        dependentsAllowed: r.category !== 'payee',
        status: r.status,
        remandReason: r.status === 'remanded' ? r.statusReason : null,
        submittedAt: r.submittedAt?.toISOString() ?? null,
        editable: isEditable,
        invitationExpiresAt: r.invitationExpiresAt?.toISOString() ?? null,
        // Only while there is something to send: after sending, the deadline no longer concerns them.
        submissionDueDate: isEditable && r.submissionDueDate ? r.submissionDueDate.toISOString().slice(0, 10) : null,
        draft: {
          myNumber: maskedNumber(draft.myNumber),
          gender: draft.gender ?? null,
          birthDate: draft.birthDate ?? null,
          dependents: draft.dependents.map(dependentView),
          removedDependents: await removedDependents(r.id, draft),
          documents: documents.map((d) => ({ id: d.id, dependentId: d.dependentId, purpose: d.purpose, type: d.type, side: d.side, mimeType: d.mimeType, byteSize: d.byteSize, submitted: !d.draft })),
        },
        issues: isEditable ? evaluateDraft(draft, docView, { dependentsAllowed: r.category !== 'payee', sandbox: caller.registrant.tenant.sandbox }) : [],
        consentsMissing: consentsMissing.map((code) => ({ code, label: PURPOSE_LABELS[code] })),
      };
    },

    /** Saves what was typed so far; a number must come twice and pass the check digit. */
    async saveProfile(caller: RegistrantCaller, input: ProfileInput) {
      const errors: { path: string; code: string; message: string }[] = [];
      const number = checkNumber(input.myNumber, input.myNumberConfirmation, '/body/myNumber', errors, caller.registrant.tenant.sandbox);
      if (input.birthDate !== undefined) checkBirthDate(input.birthDate, '/body/birthDate', errors);
      if (errors.length) throw invalid(errors);
      await change(caller, async (draft) => {
        if (number) draft.myNumber = number;
        if (input.gender !== undefined) draft.gender = input.gender;
        if (input.birthDate !== undefined) draft.birthDate = input.birthDate;
      });
      return this.overview(caller);
    },

    async addDependent(caller: RegistrantCaller, input: DependentInput) {
      if (caller.registrant.category === 'payee') throw new AppError(409, 'DEPENDENTS_NOT_ALLOWED', 'この区分の登録者は扶養家族を登録できません');
      const fields = checkDependent(input, true, caller.registrant.tenant.sandbox);
      const id = randomUUID();
      await change(caller, async (draft, tx) => {
        // A placeholder row (no personal data: that stays sealed in the draft) gives category-3
        // documents something to belong to; HR does not see draft rows.
        await tx.dependent.create({ data: { id, registrantId: caller.registrant.id, relationship: '', familyName: '', givenName: '', draft: true } });
        draft.dependents.push({ id, kind: 'dependent', relationship: '', familyName: '', givenName: '', ...fields });
      });
      return { id, ...(await this.overview(caller)) };
    },

    async updateDependent(caller: RegistrantCaller, dependentId: string, input: DependentInput) {
      const fields = checkDependent(input, false, caller.registrant.tenant.sandbox);
      await change(caller, async (draft, tx) => {
        const d = draft.dependents.find((x) => x.id === dependentId);
        if (!d) throw DEPENDENT_NOT_FOUND();
        Object.assign(d, fields);
        // Only category-3 dependents prove their own identity: other kinds' images are dropped.
        if (d.kind !== 'category3') await dropDraftDocuments(tx, { registrantId: caller.registrant.id, dependentId });
      });
      return this.overview(caller);
    },

    /** Added in this draft: gone now. Submitted before: removed at "finish". */
    async removeDependent(caller: RegistrantCaller, dependentId: string) {
      await change(caller, async (draft, tx) => {
        const i = draft.dependents.findIndex((x) => x.id === dependentId);
        if (i < 0) throw DEPENDENT_NOT_FOUND();
        draft.dependents.splice(i, 1);
        const row = await tx.dependent.findFirst({ where: { id: dependentId, registrantId: caller.registrant.id } });
        if (row?.draft) {
          await dropDraftDocuments(tx, { registrantId: caller.registrant.id, dependentId });
          await tx.dependent.delete({ where: { id: dependentId } });
        } else if (row) {
          draft.removedDependentIds.push(dependentId);
        }
      });
      return this.overview(caller);
    },

    /** A submitted dependent the draft deletes, back on its list as last submitted (number included). */
    async restoreDependent(caller: RegistrantCaller, dependentId: string) {
      await change(caller, async (draft, tx) => {
        const row = draft.removedDependentIds.includes(dependentId) ? await tx.dependent.findFirst({ where: { id: dependentId, registrantId: caller.registrant.id, draft: false } }) : null;
        if (!row) throw DEPENDENT_NOT_FOUND();
        draft.removedDependentIds = draft.removedDependentIds.filter((id) => id !== dependentId);
        const myNumber = row.myNumberSecretId ? (await vault.open(row.myNumberSecretId, caller.registrant.tenantId, tx)).toString('utf8') : undefined;
        draft.dependents.push({ ...draftFieldsOf(row), myNumber });
      });
      return this.overview(caller);
    },

    /**
     * An image into the draft, checked by its content. The same slot (purpose, type, side, person)
     * taken again replaces the earlier image: a retake.
     */
    async addDocument(caller: RegistrantCaller, input: DocumentInput, image: Buffer) {
      const mimeType = checkDocumentUpload(input, image);
      const id = await change(caller, async (draft, tx) => {
        if (input.dependentId) {
          const d = draft.dependents.find((x) => x.id === input.dependentId);
          if (!d) throw DEPENDENT_NOT_FOUND();
          if (d.kind !== 'category3') throw new AppError(409, 'DEPENDENT_DOCUMENTS_NOT_NEEDED', '国民年金第3号被保険者の扶養家族だけが本人の書類を提出します。その他の扶養家族の確認はご本人が行います');
        }
        const slot = { registrantId: caller.registrant.id, dependentId: input.dependentId ?? null, purpose: input.purpose, type: input.type, side: input.side };
        await dropDraftDocuments(tx, slot);
        const submitted = await tx.document.findMany({ where: { ...slot, draft: false, supersededAt: null }, select: { id: true } });
        for (const s of submitted) if (!draft.removedDocumentIds.includes(s.id)) draft.removedDocumentIds.push(s.id);
        const imageSecretId = await vault.seal({ tenantId: caller.registrant.tenantId, kind: 'document', plaintext: image }, tx);
        const created = await tx.document.create({ data: { ...slot, mimeType, byteSize: image.length, imageSecretId, draft: true } });
        return created.id;
      });
      return { id, ...(await this.overview(caller)) };
    },

    /** The person's own image, for the preview. */
    async documentImage(caller: RegistrantCaller, documentId: string): Promise<{ mimeType: string; image: Buffer }> {
      const d = await prisma.document.findFirst({ where: { id: documentId, registrantId: caller.registrant.id, supersededAt: null } });
      if (!d?.imageSecretId) throw DOCUMENT_NOT_FOUND();
      return { mimeType: d.mimeType, image: await vault.open(d.imageSecretId, caller.registrant.tenantId) };
    },

    async removeDocument(caller: RegistrantCaller, documentId: string) {
      await change(caller, async (draft, tx) => {
        const d = await tx.document.findFirst({ where: { id: documentId, registrantId: caller.registrant.id, supersededAt: null } });
        if (!d || draft.removedDocumentIds.includes(d.id)) throw DOCUMENT_NOT_FOUND();
        if (d.draft) await dropDraftDocuments(tx, { id: d.id });
        else draft.removedDocumentIds.push(d.id);
      });
      return this.overview(caller);
    },

    /**
     * "この内容で会社に提出する" (seed 001: 登録を終了): the workflow takes the draft whole, or tells what is missing (400) and keeps it.
     * `pending` when the workflow took it on but could not finish yet (it will, once PostgreSQL answers).
     */
    async finish(caller: RegistrantCaller, key?: string) {
      let r = await editable(caller.registrant.id);
      if ((await missingConsents(prisma, caller.registrant)).length) throw CONSENT_MISSING();
      // Remanded and nothing changed yet: what was submitted becomes the draft to submit again.
      if (!r.draftSecretId && r.myNumberSecretId) {
        await change(caller, async () => undefined);
        r = await editable(caller.registrant.id);
      }
      const actor: StepActor = { type: 'registrant', id: r.id, ip: caller.ip, userAgent: caller.userAgent };
      const submitted = await lifecycle.submit(r, actor, key);
      return { pending: submitted.state === 'pending', registration: await this.overview(caller) };
    },
  };
}

export type RegistrationService = ReturnType<typeof createRegistrationService>;
