/**
 * Adding registrants (seed 001 ch. 6 "マイナンバー登録者の登録方法"):
 *
 * - 新規追加 (#/add): one person with everything seed 001 lists (e-mail optional, a number checked on
 *   paper, dependents, the images of the documents HR checked — uploaded once the person is stored,
 *   each said if it could not be); the screen links to the new registrant.
 * - 複数一括登録 (#/bulk): up to 10 people whose numbers HR already collected on paper, each number typed
 *   twice (masked), with dependents if any; stored as 完了. Rows left empty are skipped; the API's
 *   problems are shown beside the row (and dependent) they concern, and nobody is stored until all
 *   are right.
 * - スマホで収集 (#/quick-add): category, name and e-mail of up to 100 people (10 rows to start, more
 *   on request), with the sender's message, reply-to and a copy to oneself; each gets the invitation.
 *
 * Owners and managers only (the menu hides these screens from viewers; the API refuses them anyway).
 * Numbers typed here are sent once in the request body and cleared from the page after a successful
 * registration; they never enter an address, the console or a log.
 */
import { api, ApiError, type Group, type Schemas } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_LABELS, fullName } from '../labels';
import { href } from '../router';
import { GENDERS, RELATIONSHIPS } from '../../shared/labels';
import { checkbox, EMAIL, field, form, h, input, link, messageLine, notice, say, sayFieldErrors, select, showFieldErrors, table, text, textarea, unsay, type View } from '../ui';
import { numberInput } from './shared-admin';
import { addDays, todayInJapan } from '../../../services/retention/rules';
import { passcodeNotice } from './passcode';
import { reviewAndSend } from './invite-review';
import { VERIFICATION_METHODS } from '../../../shared/status-moves';
import { documentRow, imageProblem, slotLabel, type DocumentRow } from './document-upload';

type Category = Schemas['RegistrantCategory'];
type Problem = { path: string; message: string };

const CATEGORY_OPTIONS = Object.entries(CATEGORY_LABELS) as [Category, string][];
const GENDER_OPTIONS: [string, string][] = [['', '未選択'], ...GENDERS.map(([v, l]): [string, string] => [v, l])];
const KIND_OPTIONS: [string, string][] = [
  ['dependent', '扶養親族'],
  ['category3', '国民年金の第3号被保険者'],
];
const EMPLOYEE_CODE = /^[0-9A-Za-z_-]{1,20}$/;

/** As the API reads kana: half-width made full-width (NFKC), hiragana made katakana. */
const toKatakana = (s: string) => s.normalize('NFKC').replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
const problemsOf = (err: unknown): Problem[] => (err instanceof ApiError ? (err.problem.errors ?? []) : []);
const viewerNotice = (title: string, page: string): View => ({ page, title, body: [notice('info', `${title}は、最高権限または管理担当者のユーザが行います。閲覧のみの権限ではできません。`)] });

// ------------------------------------------------------------------------------------------ 新規追加

/** The collection mail's choices, the same on both invite screens: a deadline, a message, a reply-to, a copy. */
function mailOptions(ctx: Ctx): HTMLElement[] {
  return [
    field('提出期限（任意）', input('submissionDueDate', { type: 'date', min: todayInJapan(), max: addDays(todayInJapan(), 90) }), { hint: '収集メールと本人の登録画面に表示されます。過ぎても未提出の人はHOMEに表示されます（今日から90日後まで）。' }),
    field('ご担当者からのメッセージ', textarea('message', { maxlength: 2000, rows: 4 }), { hint: 'メール本文に表示されます（2,000文字まで）。' }),
    field('返信先メールアドレス（Reply-To）', input('replyTo', { type: 'email', autocomplete: 'email', spellcheck: 'false', maxlength: 254 }), { hint: '任意。メールへの返信がこのアドレスに届き、本文にも問い合わせ先として書かれます。' }),
    checkbox('copyToSelf', `自分にもコピーを送る（${ctx.me.user.email}）`),
  ];
}

function mailChoices(data: FormData): { submissionDueDate?: string; message?: string; replyTo?: string; copyToSelf?: boolean } {
  const due = text(data, 'submissionDueDate');
  const message = text(data, 'message');
  const replyTo = text(data, 'replyTo').normalize('NFKC');
  return { ...(due ? { submissionDueDate: due } : {}), ...(message ? { message } : {}), ...(replyTo ? { replyTo } : {}), ...(data.get('copyToSelf') ? { copyToSelf: true } : {}) };
}

/** A dependent as the API takes it, from its entry on the screen. */
const dependentBody = (d: Entry) => ({
  relationship: valueOf(d, 'relationship'),
  kind: valueOf(d, 'kind') as 'dependent' | 'category3',
  familyName: valueOf(d, 'familyName'),
  givenName: valueOf(d, 'givenName'),
  familyNameKana: optionalValue(d, 'familyNameKana'),
  givenNameKana: optionalValue(d, 'givenNameKana'),
  birthDate: optionalValue(d, 'birthDate'),
  gender: (optionalValue(d, 'gender') as Schemas['Gender'] | undefined) ?? null,
  myNumber: optionalValue(d, 'myNumber'),
  myNumberConfirmation: optionalValue(d, 'myNumberConfirmation'),
});

/**
 * 新規追加 (seed 001 登録者追加): everything the manual lists. An e-mail is optional and mailing is a
 * choice; a number HR already checked on paper stores the person as 完了 (no mail); dependents can
 * come along; documents are added on the next step (the person's own screen).
 */
export async function addScreen(ctx: Ctx): Promise<View> {
  if (!ctx.canEdit) return viewerNotice('新規追加', 'add');
  // Groups are offered when there are any.
  const [groups, tenant] = await Promise.all([api.groups().catch((): Group[] => []), api.tenant()]);
  const holder = h('div', { id: 'add-registrant' });
  const sendMail = checkbox('sendMail', '登録後すぐに収集メールを送る（本人がスマホでマイナンバーを登録します）', true);
  const mailBox = h('div', { id: 'mail-options' }, ...mailOptions(ctx));
  const dependentsHolder = h('div', { class: 'dependents', id: 'new-dependents' });
  let dependents: Entry[] = [];
  let added = 0;
  const addDependent = () => {
    const d = dependentEntry('new', added++, (gone) => {
      dependents = dependents.filter((x) => x !== gone);
      gone.el.remove();
    }, false);
    dependents.push(d);
    dependentsHolder.append(d.el);
    d.el.querySelector('select')?.focus();
  };
  const documentsHolder = h('div', { id: 'new-documents' });
  let documents: DocumentRow[] = [];
  let docsAdded = 0;
  const addDocument = () => {
    const row = documentRow(docsAdded++, (gone) => {
      documents = documents.filter((x) => x !== gone);
      gone.el.remove();
    });
    documents.push(row);
    documentsHolder.append(row.el);
    row.el.querySelector('select')?.focus();
  };
  const numberFirst = numberInput('myNumber');
  const numberSecond = numberInput('myNumberConfirmation');
  const sendBox = sendMail.querySelector('input')!;
  // A person whose number HR types is 完了: there is nothing to collect, so no mail.
  const syncMail = () => {
    const typed = !!(numberFirst.value.trim() || numberSecond.value.trim());
    if (typed) sendBox.checked = false;
    sendBox.disabled = typed;
    mailBox.hidden = !sendBox.checked;
  };
  for (const el of [numberFirst, numberSecond, sendBox]) el.addEventListener('input', syncMail);
  sendBox.addEventListener('change', syncMail);
  const submitLabel = '登録する';
  const f = form(
    [
      h(
        'div',
        { class: 'filters' },
        field('姓', input('familyName', { maxlength: 50, autocomplete: 'off' }), { required: true }),
        field('名', input('givenName', { maxlength: 50, autocomplete: 'off' }), { required: true }),
        field('フリガナ（姓）', input('familyNameKana', { maxlength: 50, autocomplete: 'off' }), { hint: 'カタカナ（ひらがなも可）' }),
        field('フリガナ（名）', input('givenNameKana', { maxlength: 50, autocomplete: 'off' })),
      ),
      h(
        'div',
        { class: 'filters' },
        field('社員コード', input('employeeCode', { maxlength: 20, autocomplete: 'off' }), { hint: '半角英数字・ハイフン・アンダースコア（20文字まで）' }),
        field('区分', select('category', CATEGORY_OPTIONS, 'employee'), { required: true }),
        groups.length ? field('グループ', select('groupId', [['', 'なし'], ...groups.map((g): [string, string] => [g.id, g.name])])) : null,
        field('性別', select('gender', GENDER_OPTIONS)),
        field('生年月日', input('birthDate', { maxlength: 20, autocomplete: 'off', placeholder: 's55/1/1' }), { hint: '西暦または和暦（例：1980/1/1、s55/1/1）' }),
        field('入社日', input('hireDate', { maxlength: 20, autocomplete: 'off', placeholder: 'r2/4/1' })),
      ),
      field('備考', textarea('note', { maxlength: 1000, rows: 2 }), { hint: '1,000文字まで。' }),
      field('メールアドレス', input('email', { type: 'email', autocomplete: 'off', spellcheck: 'false', maxlength: 254 }), {
        hint: '任意。メールアドレスのない人には収集メールは送られません（QRコードの用紙などで案内します）。',
      }),
      sendMail,
      mailBox,
      h(
        'fieldset',
        { class: 'choices', id: 'paper-number' },
        h('legend', {}, 'マイナンバー（書類で確認済みの場合）'),
        h('p', { class: 'hint' }, '番号確認と身元確認を済ませた番号を入力すると、「完了」として登録されます（収集メールは送られません）。確認した書類の画像は、下の「書類の画像」で一緒に登録できます。'),
        h(
          'div',
          { class: 'filters' },
          field('マイナンバー（12桁）', numberFirst),
          field('マイナンバー（確認のためもう一度）', numberSecond),
          field('本人確認の方法', select('verificationMethod', [['', '選択してください'], ...Object.entries(VERIFICATION_METHODS)])),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'new-documents-title' },
        h('h2', { id: 'new-documents-title' }, '書類の画像（任意）'),
        h('p', { class: 'hint' }, '貴社で確認した本人の書類（番号確認書類・身元確認書類）の画像です。登録者を保存したあとに登録します。'),
        documentsHolder,
        h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary small add-document', onclick: addDocument }, '書類+')),
      ),
      h('section', { 'aria-labelledby': 'new-dependents-title' }, h('h2', { id: 'new-dependents-title' }, '扶養家族'), dependentsHolder, h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary small add-dependent', onclick: addDependent }, '扶養家族+'))),
    ],
    submitLabel,
    async (data, message) => {
      clearProblems(dependents);
      const email = text(data, 'email').normalize('NFKC');
      const mail = !!data.get('sendMail') && !sendBox.disabled;
      const body: Schemas['RegistrantCreate'] = { familyName: text(data, 'familyName'), givenName: text(data, 'givenName'), invite: mail };
      // Every problem the page can see at once, each under its field; the rest the API says.
      const problems: [string, string][] = [];
      if (!body.familyName) problems.push(['familyName', '姓を入力してください']);
      if (!body.givenName) problems.push(['givenName', '名を入力してください']);
      if (email && !EMAIL.test(email)) problems.push(['email', 'メールアドレスの形式が正しくありません']);
      else if (email) body.email = email;
      if (mail && !email) problems.push(['email', '収集メールを送るにはメールアドレスを入力してください']);
      const kana = { familyNameKana: toKatakana(text(data, 'familyNameKana')), givenNameKana: toKatakana(text(data, 'givenNameKana')) };
      for (const [k, v] of Object.entries(kana)) {
        if (!v) continue;
        if (!/^[ァ-ヶー\u3000 ]*$/.test(v)) problems.push([k, 'フリガナはカタカナで入力してください']);
        else body[k as keyof typeof kana] = v;
      }
      const code = text(data, 'employeeCode').normalize('NFKC');
      if (code && !EMPLOYEE_CODE.test(code)) problems.push(['employeeCode', '社員コードは半角英数字・ハイフン・アンダースコアの20文字以内で入力してください']);
      else if (code) body.employeeCode = code;
      const replyTo = text(data, 'replyTo').normalize('NFKC');
      if (mail && replyTo && !EMAIL.test(replyTo)) problems.push(['replyTo', '返信先メールアドレスの形式が正しくありません']);
      const method = text(data, 'verificationMethod');
      const typed = !!(numberFirst.value.trim() || numberSecond.value.trim());
      if (typed && !method) problems.push(['verificationMethod', '本人確認の方法を選択してください']);
      // A document row without a file, with one the API would refuse, or a slot given twice (the
      // second would replace the first): said before anyone is stored.
      const slots = new Set<string>();
      documents.forEach((d) => {
        const name = d.el.querySelector('input[type=file]')!.getAttribute('name')!;
        const file = d.file();
        const slot = d.slot();
        const key = `${slot.purpose}/${slot.type}/${slot.side}`;
        const problem = !file ? '画像ファイルを選んでください（不要な書類は「この書類を削除」）' : slots.has(key) ? `${slotLabel(slot)}はすでに選んでいます。書類か面を変えてください` : imageProblem(file);
        slots.add(key);
        if (problem) problems.push([name, problem]);
      });
      if (problems.length) return sayFieldErrors(f, message, problems);
      body.category = text(data, 'category') as Category;
      for (const k of ['gender', 'birthDate', 'hireDate', 'note', 'groupId'] as const) {
        const v = text(data, k);
        if (v) Object.assign(body, { [k]: v });
      }
      if (typed) Object.assign(body, { myNumber: numberFirst.value, myNumberConfirmation: numberSecond.value, verificationMethod: method });
      const sentDependents = dependents.filter((d) => !isEmpty(d, [...DEPENDENT_TEXT_FIELDS, 'relationship']));
      if (sentDependents.length) body.dependents = sentDependents.map(dependentBody);
      if (mail) Object.assign(body, mailChoices(data));
      let r: Awaited<ReturnType<typeof api.create>>;
      try {
        r = await api.create(body);
      } catch (err) {
        // A dependent's problems beside that dependent; the person's under their fields.
        const found = new Map<Entry, { label: string; fields: string[]; messages: string[] }>();
        const own: [string, string][] = [];
        for (const pr of problemsOf(err)) {
          const m = /^\/body\/dependents\/(\d+)(?:\/(\w+))?$/.exec(pr.path);
          const d = m ? sentDependents[Number(m[1])] : undefined;
          if (!d) {
            own.push([pr.path.split('/').pop() ?? '', pr.message]);
            continue;
          }
          const p = found.get(d) ?? { label: `扶養家族${Number(m![1]) + 1}人目`, fields: [], messages: [] };
          if (m![2]) p.fields.push(m![2]);
          p.messages.push(pr.message);
          found.set(d, p);
        }
        if (!(err instanceof ApiError) || (!own.length && !found.size)) return showFieldErrors(f, message, err);
        showProblems(found);
        return sayFieldErrors(f, message, own);
      }
      // The person is stored: each image now, one at a time; one refused is said, the rest go on.
      const uploaded: string[] = [];
      const refused: string[] = [];
      for (const d of documents) {
        const slot = d.slot();
        try {
          await api.uploadDocument(r.id, slot, d.file()!);
          uploaded.push(slotLabel(slot));
        } catch (err) {
          refused.push(`${slotLabel(slot)}：${err instanceof ApiError ? err.messages.join('') : '送信できませんでした'}`);
        }
      }
      const done = r.status === 'completed'
        ? `${fullName(r)} さんを「完了」として登録しました（マイナンバーは書類で確認済み）。収集メールは送りません。`
        : mail
          ? `${fullName(r)} さんを登録し、収集メール（マイナンバー登録のお願い）を ${r.email ?? email} 宛てに送信予約しました。送信されると、登録者の詳細の「経過」に表示されます。`
          : `${fullName(r)} さんを登録しました。収集メールは送っていません（詳細画面から送るか、QRコードの用紙で案内できます）。`;
      holder.replaceChildren(
        notice(
          'ok',
          h('p', { id: 'added-summary' }, done),
          sentDependents.length ? h('p', {}, `扶養家族 ${sentDependents.length}人も登録しました。`) : '',
          uploaded.length ? h('p', { id: 'added-documents' }, `書類の画像を登録しました：${uploaded.join('、')}`) : '',
          tenant.passcodeSet && mail ? h('p', {}, '最初のログインには企業パスコードが必要です。本人に、メールとは別の方法で事前に伝えてください。') : '',
        ),
        h(
          'div',
          { class: 'buttons' },
          link(href(`registrants/${r.id}`), r.status === 'completed' ? '登録者の詳細へ（書類の画像を登録できます）' : '登録者の詳細を見る', 'button primary'),
          h('button', { type: 'button', class: 'secondary', onclick: () => ctx.redraw() }, '続けて登録する'),
        ),
      );
      if (refused.length) {
        holder.prepend(notice('warning', h('p', { id: 'refused-documents' }, '次の書類の画像は登録できませんでした。登録者の詳細の「書類の画像を登録・差し替え」から登録し直してください。'), h('ul', {}, ...refused.map((x) => h('li', {}, x)))));
      }
      holder.querySelector('a')?.focus();
    },
    { id: 'registrant-new' },
  );
  syncMail();
  holder.append(f);
  return {
    page: 'add',
    title: '新規追加',
    body: [
      h('p', {}, '登録者を1人ずつ登録します。メールアドレスがあれば収集メールを送り、本人がスマホでマイナンバーを登録します。書類で確認済みのマイナンバーはここで入力できます。'),
      h('p', { class: 'hint' }, '書類で受け取った人が何人もいる場合は「複数一括登録」、まとめてメールを送る場合は「スマホで収集」が便利です。'),
      passcodeNotice(ctx, tenant),
      holder,
    ],
  };
}

// ------------------------------------------------------------------------------------------ 複数一括登録

const BULK_ROWS = 10;

interface Entry {
  el: HTMLFieldSetElement;
  message: HTMLElement;
  /** the controls by API field name */
  controls: Map<string, HTMLInputElement | HTMLSelectElement>;
}
interface PersonEntry extends Entry {
  dependents: Entry[];
  dependentsHolder: HTMLElement;
}

const TEXT_FIELDS = ['employeeCode', 'familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'birthDate', 'hireDate', 'email', 'myNumber', 'myNumberConfirmation'] as const;
const DEPENDENT_TEXT_FIELDS = ['familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'birthDate', 'myNumber', 'myNumberConfirmation'] as const;

const valueOf = (e: Entry, name: string) => (e.controls.get(name)?.value ?? '').trim();
const optionalValue = (e: Entry, name: string) => valueOf(e, name) || undefined;
const isEmpty = (e: Entry, names: readonly string[]) => names.every((n) => !valueOf(e, n));

function entryField(e: Entry, id: string, name: string, label: string, control: HTMLInputElement | HTMLSelectElement, opts: { required?: boolean; hint?: string } = {}) {
  control.id = `${id}-${name}`;
  control.name = `${id}-${name}`;
  control.dataset.field = name;
  e.controls.set(name, control);
  return field(label, control, opts);
}

/** Name, kana, birth date and gender: the same fields for a person and for a dependent. */
const personFields = (e: Entry, id: string) => [
  entryField(e, id, 'familyName', '姓', input('familyName', { maxlength: 50, autocomplete: 'off' }), { required: true }),
  entryField(e, id, 'givenName', '名', input('givenName', { maxlength: 50, autocomplete: 'off' }), { required: true }),
  entryField(e, id, 'familyNameKana', 'フリガナ（姓）', input('familyNameKana', { maxlength: 50, autocomplete: 'off' })),
  entryField(e, id, 'givenNameKana', 'フリガナ（名）', input('givenNameKana', { maxlength: 50, autocomplete: 'off' })),
  entryField(e, id, 'birthDate', '生年月日', input('birthDate', { maxlength: 20, autocomplete: 'off', placeholder: 's55/1/1' })),
  entryField(e, id, 'gender', '性別', select('gender', GENDER_OPTIONS)),
];

function dependentEntry(personId: string, j: number, onRemove: (d: Entry) => void, numberRequired = true): Entry {
  const id = `${personId}-d${j}`;
  const e: Entry = { el: h('fieldset', { class: 'dependent', id }), message: messageLine(`${id}-message`), controls: new Map() };
  const relationship = select('relationship', [['', '選択してください'], ...RELATIONSHIPS.map((r): [string, string] => [r, r])]);
  e.el.append(
    h('legend', {}, '扶養家族'),
    h(
      'div',
      { class: 'filters' },
      entryField(e, id, 'relationship', '続柄', relationship, { required: true }),
      entryField(e, id, 'kind', '区分', select('kind', KIND_OPTIONS, 'dependent')),
      ...personFields(e, id),
      entryField(e, id, 'myNumber', numberRequired ? 'マイナンバー' : 'マイナンバー（任意）', numberInput('myNumber'), { required: numberRequired }),
      entryField(e, id, 'myNumberConfirmation', 'マイナンバー（確認）', numberInput('myNumberConfirmation'), { required: numberRequired }),
    ),
    e.message,
    h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'danger small', onclick: () => onRemove(e) }, 'この扶養家族を削除')),
  );
  return e;
}

function personEntry(i: number): PersonEntry {
  const id = `p${i}`;
  const dependentsHolder = h('div', { class: 'dependents' });
  const e: PersonEntry = { el: h('fieldset', { class: 'person', id, 'data-row': String(i + 1) }), message: messageLine(`${id}-message`), controls: new Map(), dependents: [], dependentsHolder };
  let added = 0;
  const addDependent = () => {
    const d = dependentEntry(id, added++, (gone) => {
      e.dependents = e.dependents.filter((x) => x !== gone);
      gone.el.remove();
    });
    e.dependents.push(d);
    dependentsHolder.append(d.el);
    d.el.querySelector('select')?.focus();
  };
  e.el.append(
    h('legend', {}, `${i + 1}人目`),
    h(
      'div',
      { class: 'filters' },
      entryField(e, id, 'category', '区分', select('category', CATEGORY_OPTIONS, 'employee')),
      entryField(e, id, 'employeeCode', '社員コード', input('employeeCode', { maxlength: 20, autocomplete: 'off' })),
      ...personFields(e, id),
      entryField(e, id, 'hireDate', '入社日', input('hireDate', { maxlength: 20, autocomplete: 'off', placeholder: 'r2/4/1' })),
      entryField(e, id, 'email', 'メールアドレス', input('email', { type: 'email', maxlength: 254, autocomplete: 'off', spellcheck: 'false' })),
      entryField(e, id, 'myNumber', 'マイナンバー', numberInput('myNumber'), { required: true }),
      entryField(e, id, 'myNumberConfirmation', 'マイナンバー（確認）', numberInput('myNumberConfirmation'), { required: true }),
    ),
    e.message,
    dependentsHolder,
    h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary small add-dependent', onclick: addDependent }, '扶養家族+')),
  );
  return e;
}

function clearProblems(entries: Entry[]): void {
  for (const e of entries) {
    unsay(e.message);
    e.el.classList.remove('has-error');
    e.controls.forEach((c) => c.removeAttribute('aria-invalid'));
  }
}

/** Marks the fields the API named and says its messages beside the row (or dependent) they concern. */
function showProblems(found: Map<Entry, { label: string; fields: string[]; messages: string[] }>): void {
  for (const [e, p] of found) {
    p.fields.forEach((f) => e.controls.get(f)?.setAttribute('aria-invalid', 'true'));
    e.el.classList.add('has-error');
    say(e.message, [...new Set(p.messages)].map((m) => `${p.label}：${m}`));
  }
}

export function bulkEntryScreen(ctx: Ctx): View {
  if (!ctx.canEdit) return viewerNotice('複数一括登録', 'bulk');
  const rowsHolder = h('div', { id: 'bulk-rows' });
  const result = h('div', { id: 'bulk-result' });
  let people: PersonEntry[] = [];
  const build = () => {
    people = Array.from({ length: BULK_ROWS }, (_, i) => personEntry(i));
    rowsHolder.replaceChildren(...people.map((p) => p.el));
  };
  build();

  const allCategories = select('bulk-category', [['', '（一括選択）'], ...CATEGORY_OPTIONS]);
  allCategories.addEventListener('change', () => {
    if (!allCategories.value) return;
    people.forEach((p) => {
      const c = p.controls.get('category');
      if (c) c.value = allCategories.value;
    });
  });

  const clearAll = () => {
    build();
    result.replaceChildren();
  };

  const f = form(
    [field('区分（一括選択）', allCategories, { hint: '選ぶと、10人分の区分がまとめて変わります。' }), rowsHolder],
    '登録する',
    async (_data, message) => {
      const all = people.flatMap((p) => [p, ...p.dependents]);
      clearProblems(all);
      // Rows left empty are skipped; the API's positions map back to the rows on the screen.
      const sent: { person: PersonEntry; dependents: Entry[] }[] = [];
      const body: Schemas['BulkEntryRequest'] = { people: [] };
      for (const p of people) {
        const deps = p.dependents.filter((d) => !isEmpty(d, [...DEPENDENT_TEXT_FIELDS, 'relationship']));
        if (isEmpty(p, TEXT_FIELDS) && deps.length === 0) continue;
        sent.push({ person: p, dependents: deps });
        body.people.push({
          category: valueOf(p, 'category') as Category,
          employeeCode: optionalValue(p, 'employeeCode'),
          familyName: valueOf(p, 'familyName'),
          givenName: valueOf(p, 'givenName'),
          familyNameKana: optionalValue(p, 'familyNameKana'),
          givenNameKana: optionalValue(p, 'givenNameKana'),
          birthDate: optionalValue(p, 'birthDate'),
          gender: (optionalValue(p, 'gender') as Schemas['Gender'] | undefined) ?? null,
          hireDate: optionalValue(p, 'hireDate'),
          email: optionalValue(p, 'email'),
          myNumber: valueOf(p, 'myNumber'),
          myNumberConfirmation: valueOf(p, 'myNumberConfirmation'),
          ...(deps.length
            ? {
                // The bulk entry's numbers are required: sent as typed, empty or not.
                dependents: deps.map((d) => ({ ...dependentBody(d), myNumber: valueOf(d, 'myNumber'), myNumberConfirmation: valueOf(d, 'myNumberConfirmation') })),
              }
            : {}),
        });
      }
      if (!body.people.length) return say(message, '登録する人を1人以上入力してください');
      try {
        const res = await api.bulkEntry(body);
        // The numbers leave the page once they are stored.
        build();
        result.replaceChildren(
          notice(
            'ok',
            h('p', { id: 'bulk-summary' }, res.message),
            h('ul', {}, ...res.people.map((p) => h('li', {}, link(href(`registrants/${p.registrantId}`), `${p.familyName} ${p.givenName}`), p.employeeCode ? `（社員コード ${p.employeeCode}）` : '', p.note ? ` ${p.note}` : ''))),
            h('p', {}, '続けて次の10人を入力できます。'),
          ),
        );
        result.scrollIntoView({ block: 'start' });
      } catch (err) {
        const rest: string[] = [];
        const found = new Map<Entry, { label: string; fields: string[]; messages: string[] }>();
        const note = (e: Entry, label: string, fieldName: string | undefined, text: string) => {
          const p = found.get(e) ?? { label, fields: [], messages: [] };
          if (fieldName) p.fields.push(fieldName);
          p.messages.push(text);
          found.set(e, p);
        };
        for (const pr of problemsOf(err)) {
          const m = /^\/body\/people\/(\d+)(?:\/dependents\/(\d+))?(?:\/(\w+))?$/.exec(pr.path);
          const at = m ? sent[Number(m[1])] : undefined;
          if (!m || !at) {
            rest.push(pr.message);
            continue;
          }
          const rowNo = at.person.el.dataset.row;
          const d = m[2] === undefined ? undefined : at.dependents[Number(m[2])];
          if (m[2] !== undefined && !d) rest.push(pr.message);
          else if (d) note(d, `${rowNo}人目の扶養家族`, m[3], pr.message);
          else note(at.person, `${rowNo}人目`, m[3], pr.message);
        }
        showProblems(found);
        if (err instanceof ApiError) {
          say(message, [err.problem.title ?? '登録できませんでした', ...rest]);
          rowsHolder.querySelector('fieldset.has-error')?.scrollIntoView({ block: 'center' });
          return;
        }
        throw err;
      }
    },
    { id: 'bulk-entry', extraButtons: [h('button', { type: 'button', class: 'secondary', onclick: clearAll }, 'クリア')] },
  );

  return {
    page: 'bulk',
    title: '複数一括登録',
    body: [
      h('p', {}, 'マイナンバーを書類で収集した場合に、まとめて手入力するためのツールです。一度に最大10人分（扶養家族は制限なし）を登録できます。'),
      h(
        'ul',
        { class: 'notes' },
        h('li', {}, '書類で本人確認を済ませた上での入力のため、登録した人のステータスは「完了」になり、収集メールは送られません。'),
        h('li', {}, 'マイナンバーは確認のため2回入力します（画面には表示されません）。'),
        h('li', {}, '日付は「1980/1/1」のほか和暦でも入力できます（例：s55/1/1、H2.4.1、r5/1/1。m:明治 t:大正 s:昭和 h:平成 r:令和）。'),
        h('li', {}, '空欄の行は登録されません。「扶養家族+」を押すと扶養家族も登録できます。'),
        h('li', {}, '入力に誤りがあると、1人も登録されません。誤りは該当する行に表示されます。'),
        h('li', {}, 'クラウド上にデータを保存した後は、マイナンバー関連書類は廃棄することをお勧めします。'),
      ),
      result,
      f,
    ],
  };
}

// ------------------------------------------------------------------------------------------ スマホで収集

const QUICK_ROWS = 10;
const QUICK_MAX = 100;

interface QuickRow {
  tr: HTMLTableRowElement;
  category: HTMLSelectElement;
  familyName: HTMLInputElement;
  givenName: HTMLInputElement;
  email: HTMLInputElement;
  message: HTMLElement;
}

function quickRow(i: number): QuickRow {
  const n = i + 1;
  const id = `q${i}`;
  const category = select(`${id}-category`, CATEGORY_OPTIONS, 'employee', { 'aria-label': `${n}行目 区分` });
  const familyName = input(`${id}-familyName`, { maxlength: 50, autocomplete: 'off', 'aria-label': `${n}行目 姓` });
  const givenName = input(`${id}-givenName`, { maxlength: 50, autocomplete: 'off', 'aria-label': `${n}行目 名` });
  const email = input(`${id}-email`, { type: 'email', maxlength: 254, autocomplete: 'off', spellcheck: 'false', 'aria-label': `${n}行目 メールアドレス` });
  const message = messageLine(`${id}-message`);
  const tr = h('tr', { 'data-row': String(n) }, h('td', {}, String(n)), h('td', {}, category), h('td', {}, familyName), h('td', {}, givenName), h('td', {}, email), h('td', {}, message));
  return { tr, category, familyName, givenName, email, message };
}

export async function quickAddScreen(ctx: Ctx): Promise<View> {
  if (!ctx.canEdit) return viewerNotice('スマホで収集', 'quick-add');
  const tenant = await api.tenant();
  const result = h('div', { id: 'quick-result' });
  let rows: QuickRow[] = [];
  const tbody = h('tbody');
  const grid = h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'entry', id: 'quick-rows' },
      h('caption', { class: 'visually-hidden' }, '収集メールを送る人'),
      h('thead', {}, h('tr', {}, ...['No.', '区分', '姓（必須）', '名（必須）', 'メールアドレス（必須）', 'エラー'].map((x) => h('th', { scope: 'col' }, x)))),
      tbody,
    ),
  );
  const addRows = (count: number) => {
    const start = rows.length;
    const more = Array.from({ length: Math.min(count, QUICK_MAX - start) }, (_, k) => quickRow(start + k));
    rows.push(...more);
    tbody.append(...more.map((r) => r.tr));
    addRow.hidden = rows.length >= QUICK_MAX;
    return more;
  };
  const addRow = h('button', { type: 'button', class: 'secondary small', id: 'add-quick-row', onclick: () => addRows(1)[0]?.familyName.focus() }, '行を追加');
  const reset = () => {
    rows = [];
    tbody.replaceChildren();
    addRows(QUICK_ROWS);
  };
  reset();

  const allCategories = select('quick-category', [['', '（一括選択）'], ...CATEGORY_OPTIONS]);
  allCategories.addEventListener('change', () => {
    if (allCategories.value) rows.forEach((r) => (r.category.value = allCategories.value));
  });

  const f = form(
    [
      field('区分（一括選択）', allCategories),
      grid,
      h('div', { class: 'buttons' }, addRow, h('span', { class: 'hint' }, `最大${QUICK_MAX}人まで。空欄の行は登録されません。`)),
      ...mailOptions(ctx),
    ],
    '保存して送信リストを確認',
    async (data, message) => {
      rows.forEach((r) => {
        unsay(r.message);
        r.tr.classList.remove('row-error');
        [r.familyName, r.givenName, r.email].forEach((c) => c.removeAttribute('aria-invalid'));
      });
      const sent = rows.filter((r) => r.familyName.value.trim() || r.givenName.value.trim() || r.email.value.trim());
      if (!sent.length) return say(message, '登録する人を1人以上入力してください');
      const choices = mailChoices(data);
      if (choices.replyTo && !EMAIL.test(choices.replyTo)) return sayFieldErrors(f, message, [['replyTo', '返信先メールアドレスの形式が正しくありません']]);
      const body: Schemas['QuickAddRequest'] = {
        people: sent.map((r) => ({ category: r.category.value as Category, familyName: r.familyName.value.trim(), givenName: r.givenName.value.trim(), email: r.email.value.trim() })),
        ...choices,
        // 簡易登録: saved first, then the list to check before anything is mailed (送信リスト確認).
        invite: false,
      };
      try {
        const res = await api.quickAdd(body);
        reset();
        // Stored whatever happens next: the list of who was added comes first, then the review.
        const summary = h('p', { id: 'quick-summary' }, `${res.people.length}人を登録しました。収集メールはまだ送っていません`);
        const after = h('p', {}, 'マイナンバー管理の「収集メール一括送信」から、あとで送信できます。');
        const box = notice('info', summary, after);
        result.replaceChildren(
          box,
          table(
            '登録した人',
            ['登録者名', 'メールアドレス', ''],
            res.people.map((p) => h('tr', {}, h('td', {}, `${p.familyName} ${p.givenName}`), h('td', {}, p.email), h('td', {}, link(href(`registrants/${p.registrantId}`), '詳細')))),
          ),
        );
        const { message: mailMessage, replyTo, copyToSelf } = choices;
        try {
          const mailed = await reviewAndSend(ctx, { registrantIds: res.people.map((p) => p.registrantId) }, 'mail', { message: mailMessage, replyTo, ...(copyToSelf ? { copyTo: ctx.me.user.email } : {}) });
          if (mailed) {
            summary.textContent = `${res.people.length}人を登録し、${mailed}人に収集メールを送信しました`;
            after.textContent = `対象者：${mailed}名`;
            box.className = 'box ok';
          }
        } catch (err) {
          // The people are stored; only the review or the send failed.
          after.textContent = `送信リストを開けませんでした（${err instanceof ApiError ? (err.problem.title ?? '') : '通信エラー'}）。マイナンバー管理の「収集メール一括送信」から送信してください。`;
        }
        result.scrollIntoView({ block: 'start' });
      } catch (err) {
        const rest: string[] = [];
        const found = new Map<QuickRow, string[]>();
        for (const pr of problemsOf(err)) {
          const m = /^\/body\/people\/(\d+)\/(\w+)$/.exec(pr.path);
          const r = m ? sent[Number(m[1])] : undefined;
          if (!m || !r) {
            rest.push(pr.message);
            continue;
          }
          const control = m[2] === 'familyName' ? r.familyName : m[2] === 'givenName' ? r.givenName : m[2] === 'email' ? r.email : null;
          control?.setAttribute('aria-invalid', 'true');
          found.set(r, [...(found.get(r) ?? []), pr.message]);
        }
        for (const [r, messages] of found) {
          r.tr.classList.add('row-error');
          say(r.message, [...new Set(messages)]);
        }
        // The mail's choices (the deadline, the reply-to) under their own fields, the rest in the message line.
        const own = problemsOf(err).filter((p) => /^\/body\/(submissionDueDate|replyTo|message)$/.test(p.path));
        if (own.length) return sayFieldErrors(f, message, own.map((p): [string, string] => [p.path.split('/').pop()!, p.message]));
        if (err instanceof ApiError) return say(message, [err.problem.title ?? '登録できませんでした', ...rest]);
        throw err;
      }
    },
    { id: 'quick-add' },
  );

  return {
    page: 'quick-add',
    title: 'スマホで収集',
    body: [
      h('p', {}, '収集メールを送る対象者を、区分・氏名・メールアドレスだけで簡易登録し、送信リストで確認してから、マイナンバー登録のお願いメールを送ります。本人はメールのリンクからスマホでマイナンバーを登録します（リンクの有効期限は90日です）。'),
      passcodeNotice(ctx, tenant),
      result,
      f,
    ],
  };
}
