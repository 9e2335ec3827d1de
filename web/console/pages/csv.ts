/**
 * CSVアップロード (seed 001 ch. 6) and CSVダウンロード (ch. 10).
 *
 * Upload: the sample file, then "内容を確認する" — a dry run that stores nothing and reports each line
 * (ok, or each error with its column, in Japanese, as the API says it) — and only when no line has an
 * error "この内容で登録する", which stores everyone or no one. Owners and managers only.
 *
 * Download: the registrants without numbers (any role; status and retiree filters, Shift_JIS or UTF-8
 * with BOM), and for owners and managers with their numbers, behind the password again and a purpose
 * of use (both recorded). A character Shift_JIS cannot write is listed cell by cell as the API names
 * it, with the advice to download as UTF-8.
 */
import { api, ApiError, type Schemas } from '../api';
import type { Ctx } from '../context';
import { passcodeNotice } from './passcode';
import { PURPOSE_LABELS, STATUS_LABELS } from '../labels';
import { href } from '../router';
import { actionButton, checkbox, download, field, form, h, input, link, messageLine, notice, row, say, select, showError, table, text, unsay, type View } from '../ui';
import { formDialog } from './shared-admin';
import { numbersImportSection } from './numbers-import';

type Report = Schemas['RegistrantImportReport'];
type Line = Schemas['RegistrantImportLine'];

const ENCODING_LABELS: Record<Report['encoding'], string> = { 'utf8-bom': 'UTF-8（BOM付き）', utf8: 'UTF-8', cp932: 'Shift_JIS' };

function reportView(report: Report): HTMLElement {
  const lineRow = (l: Line) =>
    row(
      [
        String(l.line),
        l.employeeCode || '—',
        l.name || '—',
        l.ok ? h('span', { class: 'badge ok' }, 'OK') : h('span', { class: 'badge error' }, 'エラー'),
        l.errors.length || l.notes.length
          ? h(
              'ul',
              { class: 'plain' },
              ...l.errors.map((e) => h('li', { class: 'error-text' }, `「${e.column}」：${e.message}`)),
              ...l.notes.map((n) => h('li', {}, n)),
            )
          : '—',
        l.invite ? '送る' : '—',
        l.registrantId ? link(href(`registrants/${l.registrantId}`), '詳細') : '',
      ],
      { class: l.ok ? 'line-ok' : 'line-error', 'data-line': String(l.line) },
    );
  return h(
    'div',
    { id: 'import-report' },
    notice(
      report.ok ? (report.dryRun ? 'info' : 'ok') : 'error',
      h('p', { id: 'import-summary' }, report.message),
      h(
        'p',
        {},
        `読み込んだ行：${report.rows}行（OK ${report.valid}行、エラー ${report.invalid}行）、文字コード：${ENCODING_LABELS[report.encoding]}`,
        report.dryRun ? '' : `、登録：${report.created}人`,
        report.invited ? `、収集メール：${report.invited}人` : '',
      ),
      report.newGroups.length ? h('p', {}, `新しく作成されるグループ：${report.newGroups.join('、')}`) : '',
      report.ignoredColumns.length ? h('p', {}, `読み飛ばした列（ダウンロード専用の列）：${report.ignoredColumns.join('、')}`) : '',
    ),
    table('各行の確認結果', ['行', '社員コード', '氏名', '結果', '内容', '収集メール', '登録者'], report.lines.map(lineRow)),
  );
}

export async function csvUploadScreen(ctx: Ctx): Promise<View> {
  if (!ctx.canEdit) {
    return { page: 'csv-upload', title: 'CSVアップロード', body: [notice('info', 'CSVアップロードは、最高権限または管理担当者のユーザが行います。閲覧のみの権限ではできません。')] };
  }
  const message = messageLine('import-message');
  const result = h('div', { id: 'import-result' });
  const file = input('file', { type: 'file', accept: '.csv,text/csv' });
  const inviteBox = checkbox('invite', '登録した人に収集メール（マイナンバー登録のお願い）を送る');
  const invite = inviteBox.querySelector('input')!;
  // What the passcode means for the links, said while the mail is chosen.
  const passcode = h('div', { hidden: true }, passcodeNotice(ctx, await api.tenant()));
  invite.addEventListener('change', () => (passcode.hidden = !invite.checked));
  /** The file and choice the last clean dry run checked: only those may be imported. */
  let checked: { file: File; invite: boolean } | null = null;

  /** Not an actionButton: it must stay disabled after an import until a new clean check. */
  const importButton = h('button', { type: 'button', class: 'primary', id: 'import-csv', disabled: true }, 'この内容で登録する');
  importButton.addEventListener('click', async () => {
    const current = file.files?.[0];
    if (importButton.disabled) return;
    importButton.disabled = true;
    if (!checked || !current || current !== checked.file || invite.checked !== checked.invite) {
      checked = null;
      return say(message, 'ファイルか設定が変わりました。もう一度「内容を確認する」を押してください');
    }
    const choice = checked;
    checked = null;
    unsay(message);
    importButton.setAttribute('aria-busy', 'true');
    try {
      const report = await api.importCsv(current, { dryRun: false, invite: choice.invite });
      result.replaceChildren(reportView(report));
      say(message, report.message, 'ok');
    } catch (err) {
      showImportError(err);
    } finally {
      importButton.removeAttribute('aria-busy');
    }
  });

  const showImportError = (err: unknown) => {
    const report = err instanceof ApiError ? (err.problem as { report?: Report }).report : undefined;
    if (report) {
      result.replaceChildren(reportView(report));
      say(message, err instanceof ApiError ? (err.problem.title ?? report.message) : report.message);
    } else {
      result.replaceChildren();
      showError(message, err);
    }
  };

  const reset = () => {
    checked = null;
    importButton.disabled = true;
    result.replaceChildren();
    unsay(message);
  };
  file.addEventListener('change', reset);
  invite.addEventListener('change', () => {
    if (checked) reset();
  });

  const check = form(
    [
      field('CSVファイル', file, { required: true, hint: '5MB・2,000人まで。Shift_JIS（Excelの「CSV（コンマ区切り）」）またはUTF-8で保存したファイルを選んでください。' }),
      inviteBox,
      h('p', { class: 'hint' }, '送る場合は、すべての行にメールアドレスが必要です。退職日のある人には送りません。'),
      passcode,
    ],
    '内容を確認する',
    async (_data, msg) => {
      const f = file.files?.[0];
      if (!f) return say(msg, 'CSVファイルを選んでください');
      reset();
      try {
        const report = await api.importCsv(f, { dryRun: true, invite: invite.checked });
        result.replaceChildren(reportView(report));
        if (report.ok) {
          checked = { file: f, invite: invite.checked };
          importButton.disabled = false;
          say(msg, `${report.message}。内容がよければ「この内容で登録する」を押してください。`, 'ok');
        } else {
          say(msg, `誤りのある行があります（${report.invalid}行）。下の一覧を確認し、ファイルを直してからもう一度「内容を確認する」を押してください`);
        }
      } catch (err) {
        result.replaceChildren();
        throw err;
      }
    },
    { id: 'import-check', extraButtons: [importButton] },
  );

  const template = actionButton(
    'CSVサンプルをダウンロード',
    async () => {
      try {
        download(await api.importTemplate(), 'registrant-import-template.csv');
      } catch (err) {
        showError(message, err);
      }
    },
    'secondary',
  );
  template.id = 'import-template';

  return {
    page: 'csv-upload',
    title: 'CSVアップロード',
    body: [
      h('p', {}, 'CSVファイルから登録者をまとめて登録します。'),
      h(
        'ol',
        { class: 'steps' },
        h('li', {}, 'CSVサンプルをダウンロードし、1行に1人ずつ入力します（1行目は見出しです。必須は姓と名だけです）。'),
        h('li', {}, 'ファイルを選んで「内容を確認する」を押します（まだ登録されません）。'),
        h('li', {}, 'すべての行がOKなら「この内容で登録する」を押します。1行でもエラーがあると、1人も登録されません。'),
      ),
      h('div', { class: 'buttons' }, template),
      h('section', { 'aria-labelledby': 'import-title' }, h('h2', { id: 'import-title' }, 'ファイルの確認と登録'), check, message),
      result,
      numbersImportSection(),
    ],
  };
}

const STATUS_OPTIONS: [string, string][] = [['', 'すべて'], ...(Object.entries(STATUS_LABELS) as [string, string][])];
const RETIRED_OPTIONS: [string, string][] = [
  ['', 'すべて'],
  ['false', '在職者のみ'],
  ['true', '退職者のみ'],
];
const ENCODING_OPTIONS: [string, string][] = [
  ['cp932', 'Shift_JIS（Excelで開く場合）'],
  ['utf8-bom', 'UTF-8（BOM付き）'],
];

/**
 * A 422 for characters Shift_JIS cannot write: every cell the API named, and what to do — with the
 * same download in UTF-8 (BOM) one click away rather than the whole company's file refused.
 */
function sayDownloadError(message: HTMLElement, err: unknown, encoding: string, inUtf8?: () => void): void {
  showError(message, err);
  if (err instanceof ApiError && err.status === 422 && encoding === 'cp932') {
    message.append(h('br'), '文字コードに「UTF-8（BOM付き）」を選んでダウンロードするか、該当する登録者の氏名などを確認してください。');
    if (inUtf8) message.append(h('br'), h('button', { type: 'button', class: 'secondary small', id: 'download-in-utf8', onclick: inUtf8 }, 'UTF-8（BOM付き）でダウンロード'));
  }
}

export async function csvDownloadScreen(ctx: Ctx): Promise<View> {
  const tenant = ctx.canEdit ? await api.tenant() : null;
  const message = messageLine('download-message');
  const status = select('status', STATUS_OPTIONS);
  const retired = select('retired', RETIRED_OPTIONS);
  const encoding = select('encoding', ENCODING_OPTIONS, 'cp932');
  const filters = () => ({ status: status.value || undefined, retired: retired.value || undefined, encoding: encoding.value });

  const downloadPlain = async () => {
    unsay(message);
    try {
      download(await api.exportCsv(filters()), 'registrants.csv');
      say(message, '登録者情報（マイナンバーなし）をダウンロードしました。', 'ok');
    } catch (err) {
      sayDownloadError(message, err, encoding.value, () => {
        encoding.value = 'utf8-bom';
        void downloadPlain();
      });
    }
  };
  const plain = actionButton('CSVダウンロード（マイナンバーなし）', downloadPlain);
  plain.id = 'download-plain';

  const withNumbers = async () => {
    unsay(message);
    const f = filters();
    const purposes = tenant?.purposes ?? [];
    const done = await formDialog<true>(
      'マイナンバー付きでダウンロード',
      [
        notice('warning', 'ダウンロードしたファイルにはマイナンバーが含まれます。利用目的以外に使わず、保管場所に注意し、不要になったらすぐに削除してください。ダウンロードは操作履歴に記録されます。'),
        field('利用目的', select('purpose', [['', '選択してください'], ...purposes.map((p): [string, string] => [p, PURPOSE_LABELS[p]])]), { required: true }),
        field('パスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true, hint: 'ログインしているご自身のパスワードです。' }),
      ],
      'ダウンロード',
      async (data, msg) => {
        const purpose = text(data, 'purpose');
        const password = String(data.get('password') ?? '');
        if (!purpose || !password) {
          say(msg, '利用目的とパスワードを入力してください');
          return undefined;
        }
        try {
          const file = await api.exportWithNumbers({
            password,
            purpose: purpose as Schemas['Purpose'],
            encoding: f.encoding as 'cp932' | 'utf8-bom',
            status: f.status as Schemas['Status'] | undefined,
            retired: f.retired === undefined ? undefined : f.retired === 'true',
          });
          download(file, 'registrant-numbers.csv');
          return true;
        } catch (err) {
          // The password is still in its field: switching to UTF-8 needs one more press of ダウンロード.
          sayDownloadError(msg, err, f.encoding, () => {
            f.encoding = encoding.value = 'utf8-bom';
            say(msg, '文字コードを「UTF-8（BOM付き）」にしました。もう一度「ダウンロード」を押してください。', 'info');
          });
          return undefined;
        }
      },
      'numbers-download',
    );
    if (done) say(message, 'マイナンバー付きの登録者情報をダウンロードしました。取扱いに注意し、不要になったら削除してください。', 'ok');
  };

  return {
    page: 'csv-download',
    title: 'CSVダウンロード',
    body: [
      h('p', {}, '登録者情報をCSV形式でダウンロードします。ステータスや在職・退職で絞り込めます。'),
      h(
        'section',
        { 'aria-labelledby': 'download-filters' },
        h('h2', { id: 'download-filters' }, 'ダウンロードする登録者'),
        h('div', { class: 'filters' }, field('ステータス', status), field('退職者', retired), field('文字コード', encoding)),
        h('p', { class: 'hint' }, 'Excelで開く場合は Shift_JIS を選びます。Shift_JISで表せない文字（𠮷など）を含む場合は UTF-8（BOM付き）を選んでください。'),
      ),
      h(
        'section',
        { 'aria-labelledby': 'download-plain-title' },
        h('h2', { id: 'download-plain-title' }, '登録者情報（マイナンバーなし）'),
        h('p', {}, '氏名・社員コード・ステータスなどの一覧です。編集してそのまま「CSVアップロード」に使えます（ダウンロード専用の列は読み飛ばされます）。'),
        h('div', { class: 'buttons' }, plain),
      ),
      ctx.canEdit
        ? h(
            'section',
            { 'aria-labelledby': 'download-numbers-title' },
            h('h2', { id: 'download-numbers-title' }, 'マイナンバー付き'),
            h('p', {}, '登録者と扶養家族のマイナンバーを含む一覧です。ご自身のパスワードと利用目的の入力が必要で、ダウンロードは操作履歴に記録されます。'),
            tenant?.purposes.length
              ? h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary', id: 'download-numbers', onclick: () => void withNumbers() }, 'マイナンバー付きでダウンロード'))
              : notice('warning', '契約者情報に利用目的が設定されていないため、マイナンバー付きのダウンロードはできません。'),
          )
        : null,
      message,
    ],
  };
}
