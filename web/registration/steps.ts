/**
 * The steps after login (seed 001 ch. 8): ステップ1 number, gender, birth date → ステップ2 number
 * confirmation document → ステップ3 identity documents → ステップ4 dependents (ステップ5/6: a
 * category-3 dependent's own documents) → 登録情報の確認 → この内容で会社に提出する → done. Every step is drawn
 * from a fresh GET /v1/registration, so the back button never shows stale data and loses nothing
 * that was saved.
 */
import { dateParts } from './date-parts';
import { api, ApiError, type Dependent, type Document, type DocumentPurpose, type DocumentType, type Registration } from './api';
import { actionButton, h, messageLine, say, unsay } from '../shared/dom';
import { imageSlot, numberPair, type NumberPair } from './fields';
import {
  DOCUMENT_LABELS,
  GENDERS,
  IMAGE_NOTE,
  KIND_LABELS,
  NO_PHOTO_IDS,
  NUMBER_DOCUMENTS,
  documentLabel,
  PHOTO_IDS,
  RELATIONSHIPS,
  genderLabel,
  japaneseDate,
  maskedNumber,
  sideLabel,
  sidesOf,
} from '../shared/labels';

/** Where a page is in the person's journey (the progress above its heading). */
export type StepKey = 'profile' | 'number-doc' | 'identity-doc' | 'dependents' | 'review';

export interface View {
  page: string;
  title: string;
  body: (Node | null)[];
  step?: StepKey;
}

export interface Ctx {
  reg: Registration;
  /** A new step: pushed onto the history, so the back button returns here. */
  go(route: string, opts?: { replace?: boolean }): void;
  /** Draws the current step again, from this answer of the API (after an upload or a removal). */
  redraw(reg: Registration): void;
  /** What a failed call means for the page: a dead session goes back to the login, a closed registration to its status; else the message. */
  fail(err: unknown, where: HTMLElement): void;
}

const fullName = (p: { familyName: string; givenName: string }) => `${p.familyName} ${p.givenName}`;
const back = (label = '戻る') => h('button', { type: 'button', class: 'secondary', onclick: () => history.back() }, label);
const nav = (...buttons: (HTMLElement | null)[]) => h('div', { class: 'nav' }, ...buttons);

/** A button's action: the call's answer drawn in place, or what went wrong said at `msg`. */
const redrawWith = (ctx: Ctx, msg: HTMLElement, call: () => Promise<Registration>) => async () => {
  try {
    ctx.redraw(await call());
  } catch (err) {
    ctx.fail(err, msg);
  }
};

/** Marks a field the person must fill, before any try (the control itself says so to screen readers). */
export const requiredMark = () => h('span', { class: 'required', 'aria-hidden': 'true' }, '必須');

/**
 * The form's summary line goes once no field of the form still shows an error (the fields' own
 * lines clear as they are changed): no stale "入力内容をご確認ください" over a corrected form.
 */
function summaryClears(form: HTMLElement, summary: HTMLElement): HTMLElement {
  const settle = () => {
    if (![...form.querySelectorAll('.message.error')].some((m) => m !== summary)) unsay(summary);
  };
  form.addEventListener('input', settle);
  form.addEventListener('change', settle);
  return form;
}

function radios(name: string, legend: string, options: readonly (readonly [string, string])[], selected: string | null | undefined, onChange?: (value: string) => void, required = false) {
  return h(
    'fieldset',
    // A group that must be answered: a radiogroup may say so (a plain fieldset may not).
    { class: 'choices', ...(required ? { role: 'radiogroup', 'aria-required': 'true' } : {}) },
    h('legend', {}, legend, required ? requiredMark() : null),
    ...options.map(([value, label]) =>
      h(
        'label',
        { class: 'choice' },
        h('input', { type: 'radio', name, value, checked: value === selected, onchange: onChange ? () => onChange(value) : undefined }),
        h('span', {}, label),
      ),
    ),
  );
}
const checkedValue = (root: ParentNode, name: string): string | null => (root.querySelector(`input[name="${name}"]:checked`) as HTMLInputElement | null)?.value ?? null;

/**
 * A 400 from saving a person (ご本人 or a dependent): the number's and the birth date's messages go
 * under those fields, all of them under the form. False for any other error.
 */
function showInvalid(err: unknown, number: NumberPair, birthMsg: HTMLElement, formMsg: HTMLElement): boolean {
  if (!(err instanceof ApiError && err.status === 400)) return false;
  const forNumber = err.messageFor('/body/myNumber');
  if (forNumber) number.showError(forNumber);
  const forBirth = err.messageFor('/body/birthDate');
  if (forBirth) say(birthMsg, forBirth);
  say(formMsg, err.messages);
  return true;
}

// ---------------------------------------------------------------------------------- ステップ1

export function profileStep(ctx: Ctx): View {
  const d = ctx.reg.draft;
  const genderMsg = messageLine('gender-message');
  const formMsg = messageLine('profile-message');
  const genders = radios('gender', '性別', GENDERS, d.gender, undefined, true);
  genders.addEventListener('change', () => unsay(genderMsg));
  const birth = dateParts('birth-date', '生年月日', d.birthDate, true);
  const birthMsg = birth.message;
  const number = numberPair('self', d.myNumber, ctx.reg.sandbox);

  const save = async () => {
    unsay(formMsg);
    unsay(genderMsg);
    unsay(birthMsg);
    const gender = checkedValue(genders, 'gender') as Registration['draft']['gender'];
    let ok = true;
    if (!gender) {
      say(genderMsg, '性別を選んでください');
      ok = false;
    }
    const birthDate = birth.read();
    if (typeof birthDate !== 'string' || !birthDate) {
      say(birthMsg, typeof birthDate === 'string' ? '生年月日を入力してください' : birthDate.error);
      ok = false;
    }
    const n = number.read(!d.myNumber.entered);
    if (!n || !ok) {
      say(formMsg, '入力内容をご確認ください');
      return;
    }
    try {
      await api.saveProfile({ gender: gender ?? undefined, birthDate: birthDate as string, ...n });
      ctx.go('number-doc');
    } catch (err) {
      if (!showInvalid(err, number, birthMsg, formMsg)) ctx.fail(err, formMsg);
    }
  };
  return {
    page: 'profile',
    title: 'マイナンバーと生年月日',
    step: 'profile',
    body: [
      h('p', {}, 'ご本人のマイナンバー登録情報を入力します。'),
      summaryClears(h('form', { novalidate: true, onsubmit: (e) => (e.preventDefault(), void save()) }, genders, genderMsg, birth.el, number.el, formMsg, nav(actionButton('決定', save))), formMsg),
    ],
  };
}

// ------------------------------------------------------------------------ ステップ2, 3, 5, 6

interface Person {
  dependentId: string | null;
  /** who the page is about: ご本人 or the dependent's name */
  name: string;
  docs: Document[];
}

const personOf = (reg: Registration, dependentId: string | null): Person | null => {
  if (!dependentId) return { dependentId: null, name: 'ご本人', docs: reg.draft.documents.filter((x) => !x.dependentId) };
  const dep = reg.draft.dependents.find((x) => x.id === dependentId);
  return dep ? { dependentId, name: `${fullName(dep)}さん`, docs: reg.draft.documents.filter((x) => x.dependentId === dependentId) } : null;
};

/** On a dependent's document pages: whose documents these are. */
const whose = (who: Person) => (who.dependentId ? h('p', { class: 'who' }, `${who.name}（国民年金の第3号被保険者）の書類です。`) : null);

/** Choices made on a document page that are not saved until an image is: kept while the page is open. */
const choices = new Map<string, { photo?: boolean; types?: DocumentType[] }>();

/** `optional`: shown where it may be given early (the card's front beside its back). */
function slotsFor(ctx: Ctx, who: Person, purpose: DocumentPurpose, type: DocumentType, optional = false): HTMLElement[] {
  return sidesOf(purpose, type).map((s) =>
    imageSlot({
      purpose,
      type,
      side: s.side,
      label: `${documentLabel(purpose, type)}\u3000${s.label}`,
      required: s.required && !optional,
      dependentId: who.dependentId,
      existing: who.docs.find((x) => x.purpose === purpose && x.type === type && x.side === s.side),
      changed: (reg) => ctx.redraw(reg),
    }),
  );
}

/** Images of this purpose that are not part of what is chosen now: listed so they can be removed. */
function others(ctx: Ctx, who: Person, purpose: DocumentPurpose, chosen: DocumentType[], msg: HTMLElement): HTMLElement | null {
  const rest = who.docs.filter((x) => x.purpose === purpose && !chosen.includes(x.type));
  if (!rest.length) return null;
  return h(
    'div',
    { class: 'others' },
    h('p', {}, 'ほかにアップロード済みの画像があります。使わない場合は削除してください。'),
    h(
      'ul',
      {},
      rest.map((x) =>
        h(
          'li',
          {},
          `${documentLabel(purpose, x.type)}\u3000${sideLabel(purpose, x.type, x.side)} `,
          actionButton('削除', redrawWith(ctx, msg, () => api.removeDocument(x.id)), 'link danger'),
        ),
      ),
    ),
  );
}

const missingSides = (who: Person, purpose: DocumentPurpose, type: DocumentType) =>
  sidesOf(purpose, type).filter((s) => s.required && !who.docs.some((x) => x.purpose === purpose && x.type === type && x.side === s.side));

export function numberDocumentStep(ctx: Ctx, dependentId: string | null): View | null {
  const who = personOf(ctx.reg, dependentId);
  if (!who) return null;
  const key = `${dependentId ?? 'self'}:number`;
  const uploaded = who.docs.filter((x) => x.purpose === 'number_confirmation');
  const type: DocumentType = choices.get(key)?.types?.[0] ?? uploaded[uploaded.length - 1]?.type ?? 'my_number_card';
  const msg = messageLine('number-doc-message');
  const next = dependentId ? `dependent/${dependentId}/identity-doc` : 'identity-doc';
  // The card proves both (seed 003): its front may go here too, and then the identity step is not needed.
  const card = type === 'my_number_card';
  const cardFront = () => who.docs.some((x) => x.purpose === 'identity' && x.type === 'my_number_card' && x.side === 'front');
  const choose = (value: string) => {
    choices.set(key, { types: [value as DocumentType] });
    ctx.redraw(ctx.reg);
  };
  return {
    page: 'number-doc',
    title: dependentId ? '扶養家族の番号確認書類' : '番号確認書類のアップロード',
    step: dependentId ? 'dependents' : 'number-doc',
    body: [
      whose(who),
      h('p', {}, '個人番号確認書類（マイナンバーカード裏面、通知カード、番号付き住民票）の中からいずれか1つお選びください。'),
      h('p', { class: 'note', id: 'notification-card-note' }, '通知カードは、氏名・住所などの記載が今の住民票と同じ場合だけ使えます。引っ越しや結婚などで変わっている場合は、マイナンバーカードか、マイナンバーの記載された住民票の写しを使ってください。'),
      radios('number-doc-type', '書類の種類', NUMBER_DOCUMENTS.map((t) => [t, documentLabel('number_confirmation', t)] as const), type, choose),
      h('h2', {}, '画像のアップロード'),
      h('p', {}, '個人番号の記載されている面の画像を、スマートフォンで撮影するか、写真から選んでください。'),
      ...slotsFor(ctx, who, 'number_confirmation', type),
      ...(card
        ? [
            h('p', { id: 'card-both-sides' }, '続けて表面（顔写真のある面）も撮影すると、両面で本人確認もできるため、次の「本人確認書類」のステップは不要です。'),
            ...slotsFor(ctx, who, 'identity', 'my_number_card', true),
          ]
        : []),
      others(ctx, who, 'number_confirmation', [type], msg),
      h('p', { class: 'note' }, IMAGE_NOTE),
      msg,
      nav(
        back(),
        actionButton('次へ', async () => {
          const missing = missingSides(who, 'number_confirmation', type);
          if (missing.length) return say(msg, `${documentLabel('number_confirmation', type)}の${missing.map((s) => s.label).join('、')}の画像を撮影するか選んでください`);
          ctx.go(card && cardFront() ? afterIdentity(ctx, dependentId) : next);
        }),
      ),
    ],
  };
}

/** Where the documents of a person lead: the dependents' list (or, for someone without, the review). */
const afterIdentity = (ctx: Ctx, dependentId: string | null) => (dependentId || ctx.reg.dependentsAllowed ? 'dependents' : 'review');

export function identityDocumentStep(ctx: Ctx, dependentId: string | null): View | null {
  const who = personOf(ctx.reg, dependentId);
  if (!who) return null;
  const key = `${dependentId ?? 'self'}:identity`;
  const uploaded = who.docs.filter((x) => x.purpose === 'identity');
  const numberDoc = who.docs.find((x) => x.purpose === 'number_confirmation');
  const saved = choices.get(key) ?? {};
  const photoDocs = uploaded.filter((x) => PHOTO_IDS.includes(x.type));
  const plainTypes = [...new Set(uploaded.filter((x) => !PHOTO_IDS.includes(x.type)).map((x) => x.type))];
  const photo = saved.photo ?? (photoDocs.length > 0 || plainTypes.length === 0);
  const defaultPhotoType: DocumentType = photoDocs[photoDocs.length - 1]?.type ?? (numberDoc?.type === 'my_number_card' || !numberDoc ? 'my_number_card' : 'drivers_licence');
  const types: DocumentType[] = photo
    ? [saved.types?.[0] && PHOTO_IDS.includes(saved.types[0]) ? saved.types[0] : defaultPhotoType]
    : [0, 1].map((i) => saved.types?.[i] ?? plainTypes[i] ?? NO_PHOTO_IDS.filter((t) => !plainTypes.includes(t))[i - plainTypes.length] ?? NO_PHOTO_IDS[i]!);
  const msg = messageLine('identity-doc-message');
  const next = afterIdentity(ctx, dependentId);
  const set = (change: { photo?: boolean; types?: DocumentType[] }) => {
    choices.set(key, { photo, types, ...change });
    ctx.redraw(ctx.reg);
  };

  const chooser = photo
    ? [
        radios('identity-type', '書類の種類', PHOTO_IDS.map((t) => [t, DOCUMENT_LABELS[t]] as const), types[0], (v) => set({ types: [v as DocumentType] })),
        h('h2', {}, '画像のアップロード'),
        ...slotsFor(ctx, who, 'identity', types[0]!),
      ]
    : types.flatMap((t, i) => {
        const select = h(
          'select',
          { id: `identity-type-${i}`, name: `identity-type-${i}`, onchange: (e) => set({ types: types.map((x, j) => (j === i ? ((e.target as HTMLSelectElement).value as DocumentType) : x)) }) },
          NO_PHOTO_IDS.map((o) => h('option', { value: o, selected: o === t }, DOCUMENT_LABELS[o])),
        );
        return [h('h2', {}, `${i + 1}点目`), h('div', { class: 'field' }, h('label', { for: select.id }, '書類の種類'), select), ...slotsFor(ctx, who, 'identity', t)];
      });

  return {
    page: 'identity-doc',
    title: dependentId ? '扶養家族の本人確認書類' : '本人確認書類のアップロード',
    step: dependentId ? 'dependents' : 'identity-doc',
    body: [
      whose(who),
      h('p', {}, '本人確認用の身分証明書をいずれか1つ、スマートフォンで撮影するか、写真から選んでください。'),
      h('p', { class: 'note' }, '顔写真付きの書類：マイナンバーカード表面、運転免許証、パスポート、在留カード・特別永住者証明書。顔写真のない書類（資格確認書（健康保険）、基礎年金番号通知書・年金手帳、住民票の写し、印鑑登録証明書（発行から6ヶ月以内）など）の場合は、2種類必要です。紙の健康保険証は、使えなくなりました。'),
      radios(
        'identity-photo',
        '身元確認書類は顔写真付きですか？',
        [
          ['yes', '顔写真付きです（1点）'],
          ['no', '顔写真はありません（2点）'],
        ],
        photo ? 'yes' : 'no',
        (v) => set({ photo: v === 'yes', types: undefined }),
      ),
      ...chooser,
      others(ctx, who, 'identity', types, msg),
      h('p', { class: 'note' }, IMAGE_NOTE),
      msg,
      nav(
        back(),
        actionButton('決定', async () => {
          if (!photo && types[0] === types[1]) return say(msg, '顔写真のない書類は、種類の異なるものを2点選んでください');
          const missing = types.flatMap((t) => missingSides(who, 'identity', t).map((s) => `${DOCUMENT_LABELS[t]}の${s.label}`));
          if (missing.length) return say(msg, `${missing.join('、')}の画像を撮影するか選んでください`);
          ctx.go(next);
        }),
      ),
    ],
  };
}

// ---------------------------------------------------------------------------------- ステップ4

const dependentIssues = (reg: Registration, id: string) => {
  const i = reg.draft.dependents.findIndex((x) => x.id === id);
  return reg.issues.filter((x) => x.path.startsWith(`/dependents/${i}/`));
};

/** Submitted dependents this draft deletes, each with 元に戻す (a deletion by mistake is taken back). */
function removedDependentsList(ctx: Ctx, msg: HTMLElement): HTMLElement | null {
  const removed = ctx.reg.draft.removedDependents;
  if (!removed.length) return null;
  return h(
    'section',
    { class: 'card', id: 'removed-dependents' },
    h('h2', {}, '削除する扶養家族'),
    h('p', { class: 'note' }, '会社に提出すると、次の扶養家族の登録を削除します。間違えて削除した場合は「元に戻す」を押してください。'),
    h(
      'ul',
      { class: 'dependents' },
      removed.map((x) =>
        h(
          'li',
          { class: 'dependent removed', 'data-dependent-id': x.id },
          h('div', { class: 'dependent-name' }, fullName(x), h('span', { class: 'relationship' }, x.relationship)),
          h(
            'div',
            { class: 'row-actions' },
            actionButton(
              '元に戻す',
              redrawWith(ctx, msg, () => {
                unsay(msg);
                return api.restoreDependent(x.id);
              }),
              'secondary small',
            ),
          ),
        ),
      ),
    ),
  );
}

export function dependentsStep(ctx: Ctx): View {
  const deps = ctx.reg.draft.dependents;
  const msg = messageLine('dependents-message');
  const row = (d: Dependent) => {
    const issues = dependentIssues(ctx.reg, d.id);
    return h(
      'li',
      { class: 'dependent', 'data-dependent-id': d.id },
      h('div', { class: 'dependent-name' }, fullName(d), h('span', { class: 'relationship' }, d.relationship)),
      h(
        'div',
        { class: 'dependent-facts' },
        h('span', {}, KIND_LABELS[d.kind]),
        d.noLongerDependent ? h('span', { class: 'badge' }, '扶養対象外') : h('span', {}, `マイナンバー ${maskedNumber(d.myNumber)}`),
      ),
      issues.length ? h('ul', { class: 'issues' }, issues.map((x) => h('li', {}, x.message))) : null,
      h(
        'div',
        { class: 'row-actions' },
        h('button', { type: 'button', class: 'secondary small', onclick: () => ctx.go(`dependent/${d.id}`) }, '詳細・編集'),
        d.kind === 'category3' && !d.noLongerDependent ? h('button', { type: 'button', class: 'secondary small', onclick: () => ctx.go(`dependent/${d.id}/number-doc`) }, '書類') : null,
        h('button', { type: 'button', class: 'link danger', onclick: () => ctx.go(`dependent/${d.id}/delete`) }, '削除'),
      ),
    );
  };
  return {
    page: 'dependents',
    title: '扶養家族のマイナンバー',
    step: 'dependents',
    body: [
      h('p', {}, '扶養家族のマイナンバーを確認・登録します。扶養家族を登録しない場合は「登録情報の確認」を押してください。'),
      deps.length ? h('ul', { class: 'dependents' }, deps.map(row)) : h('p', { class: 'empty' }, '登録した扶養家族はいません。'),
      h('button', { type: 'button', id: 'add-dependent', class: 'secondary wide', onclick: () => ctx.go('dependent/new') }, '扶養家族を追加'),
      removedDependentsList(ctx, msg),
      msg,
      nav(back(), h('button', { type: 'button', class: 'primary', onclick: () => ctx.go('review') }, deps.length ? '扶養家族編集を終了して登録情報の確認' : '登録情報の確認')),
    ],
  };
}

export function dependentFormStep(ctx: Ctx, dependentId: string | null): View | null {
  const d = dependentId ? ctx.reg.draft.dependents.find((x) => x.id === dependentId) : undefined;
  if (dependentId && !d) return null;
  const msg = messageLine('dependent-message');
  const fieldMsgs = new Map<string, HTMLElement>();
  const text = (name: string, label: string, value: string | null | undefined, extra: Record<string, string> = {}, required = false) => {
    const input = h('input', { type: 'text', id: `dep-${name}`, name, value: value ?? '', ...(required ? { 'aria-required': 'true' } : {}), ...extra });
    const m = messageLine(`dep-${name}-message`);
    input.addEventListener('input', () => unsay(m));
    fieldMsgs.set(name, m);
    return { input, el: h('div', { class: 'field' }, h('label', { for: input.id }, label, required ? requiredMark() : null), input, m) };
  };
  const familyName = text('familyName', '姓', d?.familyName, { autocomplete: 'off' }, true);
  const givenName = text('givenName', '名', d?.givenName, { autocomplete: 'off' }, true);
  const familyKana = text('familyNameKana', 'フリガナ（姓・任意）', d?.familyNameKana);
  const givenKana = text('givenNameKana', 'フリガナ（名・任意）', d?.givenNameKana);
  const gender = radios('dep-gender', '性別', GENDERS, d?.gender ?? null);
  const birth = dateParts('dep-birth-date', '生年月日', d?.birthDate, true);
  const birthMsg = birth.message;
  const relOptions = d && !RELATIONSHIPS.includes(d.relationship) && d.relationship ? [d.relationship, ...RELATIONSHIPS] : RELATIONSHIPS;
  const relationship = h(
    'select',
    { id: 'dep-relationship', name: 'relationship', 'aria-required': 'true' },
    h('option', { value: '', selected: !d?.relationship }, '選んでください'),
    relOptions.map((r) => h('option', { value: r, selected: r === d?.relationship }, r)),
  );
  const relMsg = messageLine('dep-relationship-message');
  relationship.addEventListener('change', () => unsay(relMsg));
  const kind = radios(
    'dep-kind',
    '区分',
    [
      ['dependent', KIND_LABELS.dependent],
      ['category3', KIND_LABELS.category3],
    ],
    d?.kind ?? 'dependent',
  );
  const number = numberPair('dep', d ? d.myNumber : null, ctx.reg.sandbox);
  const notDependent = h('input', { type: 'checkbox', id: 'dep-not-dependent', name: 'noLongerDependent', checked: d?.noLongerDependent ?? false });

  const save = async () => {
    unsay(msg);
    for (const m of [...fieldMsgs.values(), birthMsg, relMsg]) unsay(m);
    const gone = notDependent.checked;
    const problems: [HTMLElement, string][] = [];
    if (!familyName.input.value.trim()) problems.push([fieldMsgs.get('familyName')!, '姓を入力してください']);
    if (!givenName.input.value.trim()) problems.push([fieldMsgs.get('givenName')!, '名を入力してください']);
    if (!relationship.value) problems.push([relMsg, '続柄を選んでください']);
    const birthDate = birth.read();
    if (typeof birthDate !== 'string') problems.push([birthMsg, birthDate.error]);
    else if (!gone && !birthDate) problems.push([birthMsg, '生年月日を入力してください']);
    for (const [where, text] of problems) say(where, text);
    const n = number.read(!gone && !d?.myNumber.entered);
    if (!n || problems.length) return say(msg, '入力内容をご確認ください');
    const chosenKind = (checkedValue(kind, 'dep-kind') ?? 'dependent') as Dependent['kind'];
    const body = {
      familyName: familyName.input.value.trim(),
      givenName: givenName.input.value.trim(),
      familyNameKana: familyKana.input.value.trim() || null,
      givenNameKana: givenKana.input.value.trim() || null,
      gender: (checkedValue(gender, 'dep-gender') as Dependent['gender']) ?? null,
      birthDate: (birthDate as string) || null,
      relationship: relationship.value,
      kind: chosenKind,
      ...n,
      ...(d ? { noLongerDependent: gone } : {}),
    };
    try {
      let id = dependentId;
      if (d) await api.updateDependent(d.id, body);
      else {
        const added = await api.addDependent(body);
        id = added.id;
        // The back button must lead to this person's form, not to an empty one that would add them twice.
        history.replaceState(history.state, '', `${location.pathname}${location.search}#dependent/${id}`);
      }
      ctx.go(chosenKind === 'category3' && !gone ? `dependent/${id}/number-doc` : 'dependents');
    } catch (err) {
      if (!showInvalid(err, number, birthMsg, msg)) ctx.fail(err, msg);
    }
  };

  return {
    page: d ? 'dependent-edit' : 'dependent-new',
    title: '扶養家族のマイナンバー',
    step: 'dependents',
    body: [
      h('p', {}, d ? `${fullName(d)}さんの登録情報を編集します。` : '扶養家族のマイナンバー登録情報を入力します。'),
      summaryClears(
        h(
          'form',
          { novalidate: true, onsubmit: (e) => (e.preventDefault(), void save()) },
          h('div', { class: 'pair' }, familyName.el, givenName.el),
          h('div', { class: 'pair' }, familyKana.el, givenKana.el),
          gender,
          birth.el,
          h('div', { class: 'field' }, h('label', { for: relationship.id }, '続柄', requiredMark()), relationship, relMsg),
          kind,
          h(
            'details',
            { class: 'help' },
            h('summary', {}, '国民年金の第3号被保険者とは？'),
            h('p', {}, '20歳以上60歳未満で、会社員や公務員など厚生年金に加入している人に扶養されている配偶者です。第3号被保険者の場合だけ、ご本人の書類（個人番号確認書類と本人確認書類）の画像をアップロードします。その他の扶養家族の本人確認は、登録者ご本人が行います。'),
          ),
          number.el,
          d
            ? h(
                'label',
                { class: 'choice checkbox' },
                notDependent,
                h('span', {}, '現在は扶養家族ではありません（扶養から外れた）'),
              )
            : null,
          msg,
          nav(back('キャンセル'), actionButton('決定', save)),
        ),
        msg,
      ),
    ],
  };
}

export function dependentDeleteStep(ctx: Ctx, dependentId: string): View | null {
  const d = ctx.reg.draft.dependents.find((x) => x.id === dependentId);
  if (!d) return null;
  const msg = messageLine('delete-message');
  return {
    page: 'dependent-delete',
    title: '扶養家族の削除',
    body: [
      h('p', {}, '次の扶養家族を削除します。よろしいですか？'),
      h('dl', { class: 'facts' }, h('dt', {}, '氏名'), h('dd', {}, fullName(d)), h('dt', {}, '続柄'), h('dd', {}, d.relationship), h('dt', {}, '区分'), h('dd', {}, KIND_LABELS[d.kind])),
      h('p', { class: 'note' }, '扶養から外れただけの場合は、削除せずに「詳細・編集」から「現在は扶養家族ではありません」を選んでください。'),
      msg,
      nav(
        back('キャンセル'),
        actionButton(
          '削除',
          async () => {
            try {
              await api.removeDependent(d.id);
              ctx.go('dependents', { replace: true });
            } catch (err) {
              ctx.fail(err, msg);
            }
          },
          'primary danger',
        ),
      ),
    ],
  };
}

// --------------------------------------------------------------------- 登録情報の確認, この内容で会社に提出する

/** Where an issue of GET /v1/registration is fixed. */
function routeOfIssue(reg: Registration, path: string): string {
  const dep = /^\/dependents\/(\d+)(\/.*)?$/.exec(path);
  if (dep) {
    const id = reg.draft.dependents[Number(dep[1])]?.id;
    if (!id) return 'dependents';
    if (dep[2]?.startsWith('/documents/numberConfirmation')) return `dependent/${id}/number-doc`;
    if (dep[2]?.startsWith('/documents/identity')) return `dependent/${id}/identity-doc`;
    return `dependent/${id}`;
  }
  if (path.startsWith('/documents/numberConfirmation')) return 'number-doc';
  if (path.startsWith('/documents/identity')) return 'identity-doc';
  if (path.startsWith('/dependents')) return 'dependents';
  return 'profile';
}

/** The step to resume at: the first thing still missing, or the review. */
export function firstOpenStep(reg: Registration): string {
  if (reg.status === 'remanded') return 'review';
  const first = reg.issues[0];
  if (!first) return 'review';
  if (first.path.startsWith('/dependents') && reg.draft.dependents.length === 0) return 'review';
  return routeOfIssue(reg, first.path);
}

function documentList(docs: Document[]): HTMLElement {
  if (!docs.length) return h('p', { class: 'empty' }, 'まだありません');
  return h(
    'ul',
    { class: 'documents' },
    docs.map((x) => h('li', {}, `${x.purpose === 'number_confirmation' ? '番号確認' : '本人確認'}：${documentLabel(x.purpose, x.type)}\u3000${sideLabel(x.purpose, x.type, x.side)}`)),
  );
}

export function reviewStep(ctx: Ctx): View {
  const reg = ctx.reg;
  const d = reg.draft;
  const msg = messageLine('review-message');
  const issuesBox = (issues: Registration['issues']) =>
    h(
      'section',
      { class: 'box warning', id: 'issues' },
      h('h2', {}, 'まだ登録が終わっていない項目があります'),
      h(
        'ul',
        {},
        issues.map((x) => h('li', {}, x.message, ' ', h('button', { type: 'button', class: 'link', onclick: () => ctx.go(routeOfIssue(reg, x.path)) }, '修正する'))),
      ),
    );
  const finish = async () => {
    unsay(msg);
    try {
      const { pending } = await api.finish();
      if (pending) {
        say(msg, '送信を受け付けました。混み合っているため、完了まで少し時間がかかります。しばらくしてからこのページを開き直して確認してください。', 'info');
        return;
      }
      ctx.go('done', { replace: true });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'DRAFT_INCOMPLETE') {
        const fresh = await api.get().catch(() => reg);
        ctx.redraw(fresh);
        return;
      }
      ctx.fail(err, msg);
    }
  };
  return {
    page: 'review',
    title: '登録情報の確認',
    step: 'review',
    body: [
      reg.status === 'remanded'
        ? h(
            'section',
            { class: 'box remand', id: 'remand', role: 'alert' },
            h('h2', {}, '担当者から登録内容の修正を依頼されました'),
            h('p', { class: 'label' }, '差戻しの理由'),
            h('blockquote', { class: 'reason' }, reg.remandReason ?? '（理由は記載されていません）'),
            h('p', {}, '理由をご確認のうえ、該当する内容を修正してから「この内容で会社に提出する」を押してください。前回登録した内容は残っています。'),
          )
        : null,
      reg.issues.length ? issuesBox(reg.issues) : null,
      h('p', {}, '登録内容を確認し、修正が必要な場合は「本人の登録を修正」または「扶養家族の登録を修正」を押してください。最後に「この内容で会社に提出する」を押すと、会社の担当者に送信されます。'),
      h(
        'section',
        { class: 'card', id: 'review-self' },
        h('h2', {}, 'ご本人'),
        h(
          'dl',
          { class: 'facts' },
          h('dt', {}, '氏名'),
          h('dd', {}, fullName(reg)),
          h('dt', {}, '性別'),
          h('dd', {}, genderLabel(d.gender)),
          h('dt', {}, '生年月日'),
          h('dd', {}, japaneseDate(d.birthDate)),
          h('dt', {}, 'マイナンバー'),
          h('dd', { class: 'masked-number' }, maskedNumber(d.myNumber)),
        ),
        h('h3', {}, '書類'),
        documentList(d.documents.filter((x) => !x.dependentId)),
        h('button', { type: 'button', class: 'secondary wide', onclick: () => ctx.go('profile') }, '本人の登録を修正'),
      ),
      reg.dependentsAllowed
        ? h(
            'section',
            { class: 'card', id: 'review-dependents' },
            h('h2', {}, '扶養家族'),
            d.dependents.length
              ? h(
                  'ul',
                  { class: 'dependents' },
                  d.dependents.map((x) =>
                    h(
                      'li',
                      { class: 'dependent', 'data-dependent-id': x.id },
                      h('div', { class: 'dependent-name' }, fullName(x), h('span', { class: 'relationship' }, x.relationship)),
                      h(
                        'div',
                        { class: 'dependent-facts' },
                        h('span', {}, KIND_LABELS[x.kind]),
                        h('span', {}, `生年月日 ${japaneseDate(x.birthDate)}`),
                        x.noLongerDependent ? h('span', { class: 'badge' }, '扶養対象外') : h('span', { class: 'masked-number' }, `マイナンバー ${maskedNumber(x.myNumber)}`),
                      ),
                      x.kind === 'category3' && !x.noLongerDependent ? documentList(d.documents.filter((y) => y.dependentId === x.id)) : null,
                    ),
                  ),
                )
              : h('p', { class: 'empty' }, '登録した扶養家族はいません。'),
            d.removedDependents.length
              ? h('p', { class: 'note', id: 'review-removed' }, `削除する扶養家族：${d.removedDependents.map((x) => `${fullName(x)}（${x.relationship}）`).join('、')}`)
              : null,
            h('button', { type: 'button', class: 'secondary wide', onclick: () => ctx.go('dependents') }, '扶養家族の登録を修正'),
          )
        : null,
      msg,
      nav(actionButton('この内容で会社に提出する', finish)),
    ],
  };
}

/** After "finish", and whenever the registration cannot be changed now. */
export function statusPage(reg: Registration): View {
  const submitted = reg.submittedAt ? `送信日時：${new Date(reg.submittedAt).toLocaleString('ja-JP')}` : null;
  switch (reg.status) {
    case 'pending':
      return {
        page: 'done',
        title: '送信しました（会社の確認待ち）',
        body: [
          h('p', { class: 'box ok', role: 'status' }, '登録内容を会社のマイナンバー担当者に送信しました。'),
          h('p', {}, '登録内容は、会社のマイナンバー担当者が確認しています（承認待ち）。確認が終わるまで内容は変更できません。修正が必要な場合は、担当者からあらためてメールでご連絡します。'),
          submitted ? h('p', { class: 'note' }, submitted) : null,
          h('p', {}, 'このページは閉じてかまいません。'),
        ],
      };
    case 'completed':
      return {
        page: 'completed',
        title: '登録は完了しています',
        body: [h('p', { class: 'box ok' }, '担当者による確認（承認）が終わり、マイナンバーの登録は完了しています。'), h('p', {}, '登録内容を変更する場合は、会社のマイナンバー担当者にご連絡ください。')],
      };
    case 'refused':
      return {
        page: 'refused',
        title: '登録は受け付けられませんでした',
        body: [h('p', { class: 'box warning' }, '会社のマイナンバー担当者にお問い合わせください。')],
      };
    default:
      return {
        page: 'closed',
        title: 'このリンクでは登録を続けられません',
        body: [h('p', { class: 'box warning' }, 'リンクの有効期限が切れたか、新しいリンクが送られています。届いている最新のメールのリンクを開くか、会社のマイナンバー担当者に再送を依頼してください。')],
      };
  }
}
