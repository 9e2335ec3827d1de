/**
 * The employee's draft (下書き): what they have entered so far, sealed in the vault as one JSON
 * secret so the number and personal data in it are encrypted, and invisible to HR until "finish".
 * Uploaded images are document rows with `draft = true` (each image sealed on its own).
 *
 * `evaluateDraft` says what is missing before a submission may happen; issues carry a path and a
 * code, never a value.
 */
import type { Dependent, DocumentType, Gender } from '../../prisma/generated/client';
import { INDIVIDUAL_NUMBER_MESSAGES, validateIndividualNumber } from '../mynumber/validate';
import { PHOTO_IDS } from '../../shared/registration-rules';

export interface DraftDependent {
  /** id of the dependent row (created when the employee adds them, hidden until submitted) */
  id: string;
  relationship: string;
  kind: 'dependent' | 'category3';
  familyName: string;
  givenName: string;
  familyNameKana?: string;
  givenNameKana?: string;
  birthDate?: string;
  gender?: Gender;
  myNumber?: string;
  /** 扶養から外れた: kept on record, no number needed any more */
  noLongerDependent?: boolean;
}

export interface Draft {
  myNumber?: string;
  gender?: Gender;
  birthDate?: string;
  dependents: DraftDependent[];
  /** submitted documents the employee replaces: shredded on submission (an approved person's kept, hidden, until HR decides) */
  removedDocumentIds: string[];
  /** dependents the employee deleted: removed on submission */
  removedDependentIds: string[];
}

export const emptyDraft = (): Draft => ({ dependents: [], removedDocumentIds: [], removedDependentIds: [] });

/** A submitted dependent as the draft holds them (absent rather than null), the number aside. */
export const draftFieldsOf = (d: Dependent): Omit<DraftDependent, 'myNumber'> => ({
  id: d.id,
  relationship: d.relationship,
  kind: d.kind,
  familyName: d.familyName,
  givenName: d.givenName,
  familyNameKana: d.familyNameKana ?? undefined,
  givenNameKana: d.givenNameKana ?? undefined,
  birthDate: d.birthDate?.toISOString().slice(0, 10),
  gender: d.gender ?? undefined,
  noLongerDependent: d.noLongerDependentAt !== null,
});

export interface DraftDocument {
  id: string;
  dependentId: string | null;
  purpose: 'number_confirmation' | 'identity';
  type: DocumentType;
  side: 'front' | 'back';
}

export interface DraftIssue {
  path: string;
  code: string;
  message: string;
}

/** What each issue code tells the employee (the workflow carries codes only). */
export const DRAFT_ISSUE_MESSAGES: Record<string, string> = {
  ...INDIVIDUAL_NUMBER_MESSAGES,
  DRAFT_EMPTY: '登録内容が入力されていません',
  GENDER_REQUIRED: '性別を選んでください',
  BIRTH_DATE_REQUIRED: '生年月日を入力してください',
  NUMBER_DOCUMENT_REQUIRED: '番号確認書類（マイナンバーカード裏面、通知カード、住民票の写しのいずれか）を添付してください',
  IDENTITY_DOCUMENT_REQUIRED: '身元確認書類を、顔写真付きなら1点、顔写真なしなら2点添付してください',
  DEPENDENTS_NOT_ALLOWED: 'この区分の登録者は扶養家族を登録できません',
  NAME_REQUIRED: '扶養家族の氏名を入力してください',
  RELATIONSHIP_REQUIRED: '続柄を入力してください',
};
export const draftIssueMessage = (code: string): string => DRAFT_ISSUE_MESSAGES[code] ?? '入力内容に不足があります';
const issue = (path: string, code: string): DraftIssue => ({ path, code, message: draftIssueMessage(code) });

/** Number confirmation other than the card: the notification card or a resident record with the number. */
const NUMBER_PROOFS: readonly DocumentType[] = ['notification_card', 'resident_record', 'my_number_card'];

/**
 * 番号確認 and 身元確認 for one person: a My Number card (front and back) covers both; otherwise a
 * number confirmation document plus one identity document with a photo, or two without.
 */
export function documentIssues(docs: DraftDocument[], path: string): DraftIssue[] {
  const has = (type: DocumentType, side: 'front' | 'back') => docs.some((d) => d.type === type && d.side === side);
  if (has('my_number_card', 'front') && has('my_number_card', 'back')) return [];
  const issues: DraftIssue[] = [];
  const numberProof = docs.some((d) => d.purpose === 'number_confirmation' && NUMBER_PROOFS.includes(d.type) && (d.type !== 'my_number_card' || d.side === 'back'));
  if (!numberProof) issues.push(issue(`${path}/numberConfirmation`, 'NUMBER_DOCUMENT_REQUIRED'));
  const identity = docs.filter((d) => d.purpose === 'identity');
  const withPhoto = identity.some((d) => PHOTO_IDS.includes(d.type) && d.side === 'front');
  const withoutPhoto = new Set(identity.filter((d) => !PHOTO_IDS.includes(d.type)).map((d) => d.type)).size;
  if (!withPhoto && withoutPhoto < 2) {
    issues.push(issue(`${path}/identity`, 'IDENTITY_DOCUMENT_REQUIRED'));
  }
  return issues;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Everything that keeps the draft from being submitted; empty when it may be. */
export function evaluateDraft(draft: Draft, documents: DraftDocument[], opts: { dependentsAllowed: boolean; sandbox: boolean }): DraftIssue[] {
  const issues: DraftIssue[] = [];
  const number = validateIndividualNumber(draft.myNumber, undefined, { sandbox: opts.sandbox });
  if (!number.ok) issues.push({ path: '/myNumber', code: number.code, message: number.message });
  if (!draft.gender) issues.push(issue('/gender', 'GENDER_REQUIRED'));
  if (!draft.birthDate || !ISO_DATE.test(draft.birthDate)) issues.push(issue('/birthDate', 'BIRTH_DATE_REQUIRED'));
  issues.push(...documentIssues(documents.filter((d) => d.dependentId === null), '/documents'));

  if (!opts.dependentsAllowed && draft.dependents.length > 0) {
    issues.push(issue('/dependents', 'DEPENDENTS_NOT_ALLOWED'));
  }
  draft.dependents.forEach((d, i) => {
    const p = `/dependents/${i}`;
    if (!d.familyName?.trim() || !d.givenName?.trim()) issues.push(issue(`${p}/name`, 'NAME_REQUIRED'));
    if (!d.relationship?.trim()) issues.push(issue(`${p}/relationship`, 'RELATIONSHIP_REQUIRED'));
    if (d.noLongerDependent) return;
    if (!d.birthDate || !ISO_DATE.test(d.birthDate)) issues.push(issue(`${p}/birthDate`, 'BIRTH_DATE_REQUIRED'));
    const n = validateIndividualNumber(d.myNumber, undefined, { sandbox: opts.sandbox });
    if (!n.ok) issues.push({ path: `${p}/myNumber`, code: n.code, message: n.message });
    // Only category-3 dependents prove their own identity; the employee vouches for the others.
    if (d.kind === 'category3') issues.push(...documentIssues(documents.filter((x) => x.dependentId === d.id), `${p}/documents`));
  });
  return issues;
}

export function parseDraft(json: Buffer): Draft {
  return { ...emptyDraft(), ...(JSON.parse(json.toString('utf8')) as Partial<Draft>) };
}
