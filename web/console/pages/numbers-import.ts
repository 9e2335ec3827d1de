/**
 * 他のサービスからの移行（マイナンバー付き）: on the CSVアップロード page, for owners and managers.
 * The import runs as a job (up to 100,000 lines, a batch at a time): a progress bar that follows it,
 * a cancel between batches, and a job still running shown again when the page is opened.
 * The file is the export with numbers (of mynaflow or written to its columns). "移行ファイルを確認する" is a
 * dry run that stores nothing and reports each line (never a number: only whether the line has one);
 * only when every line is OK does "移行ファイルを登録する" ask for the reason and the password (both
 * checked by the API, the reason recorded) and store everyone or no one.
 */
import { api, ApiError, type Schemas } from '../api';
import { href } from '../router';
import { field, form, h, input, link, messageLine, notice, row, say, showError, table, unsay } from '../ui';
import { formDialog } from './shared-admin';

type Report = Schemas['NumbersImportReport'];
type Line = Schemas['NumbersImportLine'];
type Job = Schemas['ImportJob'];

const ENDED: readonly Job['status'][] = ['succeeded', 'cancelled', 'failed'];
const POLL_MS = 1000;

const ENCODING_LABELS: Record<Report['encoding'], string> = { 'utf8-bom': 'UTF-8（BOM付き）', utf8: 'UTF-8', cp932: 'Shift_JIS' };

function reportView(report: Report): HTMLElement {
  const lineRow = (l: Line) =>
    row(
      [
        String(l.line),
        l.kind === 'registrant' ? '本人' : '扶養家族',
        l.employeeCode || '—',
        l.name || '—',
        l.hasNumber ? 'あり' : 'なし',
        l.ok ? h('span', { class: 'badge ok' }, 'OK') : h('span', { class: 'badge error' }, 'エラー'),
        l.errors.length || l.notes.length
          ? h('ul', { class: 'plain' }, ...l.errors.map((e) => h('li', { class: 'error-text' }, `「${e.column}」：${e.message}`)), ...l.notes.map((n) => h('li', {}, n)))
          : '—',
        l.registrantId ? link(href(`registrants/${l.registrantId}`), '詳細') : '',
      ],
      { class: l.ok ? 'line-ok' : 'line-error', 'data-line': String(l.line) },
    );
  return h(
    'div',
    { id: 'numbers-import-report' },
    notice(
      report.ok ? (report.dryRun ? 'info' : 'ok') : 'error',
      h('p', { id: 'numbers-import-summary' }, report.message),
      h(
        'p',
        {},
        `読み込んだ行：${report.rows}行（OK ${report.valid}行、エラー ${report.invalid}行）、本人${report.registrants}人・扶養家族${report.dependents}人・マイナンバー${report.numbers}件、文字コード：${ENCODING_LABELS[report.encoding]}`,
      ),
      report.newGroups.length ? h('p', {}, `新しく作成されるグループ：${report.newGroups.join('、')}`) : '',
      report.ignoredColumns.length ? h('p', {}, `読み飛ばした列：${report.ignoredColumns.join('、')}`) : '',
    ),
    table('各行の確認結果', ['行', '本人・扶養', '社員コード', '氏名', 'マイナンバー', '結果', '内容', '登録者'], report.lines.map(lineRow)),
  );
}

/** A job's progress: the bar, where it stands, and a cancel while it runs; polls until the job ends. */
function jobPanel(first: Job, onEnd: (job: Job) => void): HTMLElement {
  const bar = h('progress', { id: 'numbers-import-progress', max: '100', value: String(first.percent), 'aria-label': '取り込みの進み具合' });
  const text = h('p', { id: 'numbers-import-job-message', role: 'status' }, first.message);
  const cancel = h('button', { type: 'button', class: 'secondary', id: 'numbers-import-cancel' }, '取り込みを中止する');
  const panel = h('div', { id: 'numbers-import-job', class: 'job' }, bar, text, h('div', { class: 'buttons' }, cancel));
  const show = (job: Job) => {
    bar.value = job.percent;
    text.textContent = job.message;
    cancel.hidden = job.status !== 'queued' && job.status !== 'running';
  };
  cancel.addEventListener('click', async () => {
    cancel.disabled = true;
    try {
      show(await api.cancelImportJob(first.id));
    } catch (err) {
      showError(text, err);
    } finally {
      cancel.disabled = false;
    }
  });
  show(first);
  const follow = async () => {
    // Stops once the panel has left the page (another screen was opened).
    if (!panel.isConnected) return;
    try {
      const job = await api.importJobStatus(first.id);
      show(job);
      if (ENDED.includes(job.status)) return onEnd(job);
    } catch {
      // A lost answer: asked again at the next tick.
    }
    setTimeout(() => void follow(), POLL_MS);
  };
  if (ENDED.includes(first.status)) onEnd(first);
  else setTimeout(() => void follow(), POLL_MS);
  return panel;
}

export function numbersImportSection(): HTMLElement {
  const message = messageLine('numbers-import-message');
  const result = h('div', { id: 'numbers-import-result' });
  const file = input('numbers-file', { type: 'file', accept: '.csv,text/csv' });
  /** The file the last clean dry run checked: only it may be imported. */
  let checked: File | null = null;

  const showReport = (err: unknown, target: HTMLElement) => {
    const report = err instanceof ApiError ? (err.problem as { report?: Report }).report : undefined;
    if (report) {
      result.replaceChildren(reportView(report));
      say(target, err instanceof ApiError ? (err.problem.title ?? report.message) : report.message);
    } else {
      result.replaceChildren();
      showError(target, err);
    }
  };

  const importButton = h('button', { type: 'button', class: 'primary', id: 'numbers-import', disabled: true }, '移行ファイルを登録する');
  importButton.addEventListener('click', async () => {
    const current = file.files?.[0];
    if (importButton.disabled) return;
    if (!checked || !current || current !== checked) {
      importButton.disabled = true;
      checked = null;
      return say(message, 'ファイルが変わりました。もう一度「移行ファイルを確認する」を押してください');
    }
    unsay(message);
    const job = await formDialog<Job>(
      'マイナンバー付きで登録する',
      [
        notice('warning', 'ファイルのマイナンバーを保管し、マイナンバーのある人は「完了」（本人確認は貴社で実施済み）として登録します。取り込みは理由とともに操作履歴に記録されます。取り込んだ後は、ファイルを安全に削除してください。'),
        field('取り込みの理由', input('reason', { maxlength: '200', placeholder: '例：前のサービスからの移行' }), { required: true }),
        field('パスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true, hint: 'ログインしているご自身のパスワードです。' }),
      ],
      '登録する',
      async (data, msg) => {
        const reason = String(data.get('reason') ?? '').trim();
        const password = String(data.get('password') ?? '');
        if (!reason || !password) {
          say(msg, '取り込みの理由とパスワードを入力してください');
          return undefined;
        }
        try {
          return await api.startImportJob(current, { password, reason });
        } catch (err) {
          // A wrong password or reason is said in the dialog; a bad file closes it with the report.
          if (err instanceof ApiError && (err.problem as { report?: Report }).report) {
            showReport(err, msg);
            return undefined;
          }
          showError(msg, err);
          return undefined;
        }
      },
      'numbers-import-confirm',
    );
    if (!job) return;
    checked = null;
    importButton.disabled = true;
    // The dry run's "press to import" and its report are done with: the job's progress follows.
    const checkMessage = document.getElementById('numbers-import-check-message');
    if (checkMessage) unsay(checkMessage);
    follow(job);
  });

  const follow = (job: Job) => {
    result.replaceChildren(jobPanel(job, (ended) => say(message, ended.message, ended.status === 'succeeded' ? 'ok' : 'error')));
  };
  // A job still running (the page was left, or reloaded) is followed again.
  void api
    .importJobs()
    .then(({ items }) => {
      const running = items.find((j) => !ENDED.includes(j.status));
      if (running && result.childElementCount === 0) follow(running);
    })
    .catch(() => undefined);

  const reset = () => {
    checked = null;
    importButton.disabled = true;
    result.replaceChildren();
    unsay(message);
  };
  file.addEventListener('change', reset);

  const check = form(
    [field('CSVファイル（マイナンバー付き）', file, { required: true, hint: '20MB・10万行まで。「マイナンバー付きでダウンロード」と同じ列のファイルです（Shift_JIS または UTF-8）。' })],
    '移行ファイルを確認する',
    async (_data, msg) => {
      const f = file.files?.[0];
      if (!f) return say(msg, 'CSVファイルを選んでください');
      reset();
      try {
        const report = await api.checkImportFile(f);
        result.replaceChildren(reportView(report));
        if (report.ok) {
          checked = f;
          importButton.disabled = false;
          say(msg, `${report.message}。内容がよければ「移行ファイルを登録する」を押してください。`, 'ok');
        } else {
          say(msg, `誤りのある行があります（${report.invalid}行）。下の一覧を確認し、ファイルを直してからもう一度「移行ファイルを確認する」を押してください`);
        }
      } catch (err) {
        result.replaceChildren();
        throw err;
      }
    },
    { id: 'numbers-import-check', extraButtons: [importButton] },
  );

  return h(
    'section',
    { 'aria-labelledby': 'numbers-import-title' },
    h('h2', { id: 'numbers-import-title' }, '他のサービスからの移行（マイナンバー付き）'),
    h('p', {}, 'これまでに集めたマイナンバーを、登録者・扶養家族ごとまとめて取り込みます。1行に1人で、扶養家族の行は本人と同じ「登録者ID」（なければ社員コード）で本人に結び付けます。'),
    h(
      'ol',
      { class: 'steps' },
      h('li', {}, 'ファイルを選んで「移行ファイルを確認する」を押します（まだ登録されません。マイナンバーは画面に表示されません）。'),
      h('li', {}, 'すべての行がOKなら「移行ファイルを登録する」を押し、理由とパスワードを入力します。1行でもエラーがあると、1人も登録されません。'),
      h('li', {}, '500人ずつ順に登録され、進み具合が表示されます。途中で中止すると、それまでに登録した人はそのまま残り、残りは登録されません。'),
      h('li', {}, 'マイナンバーのある人は「完了」、ない人は「未登録」で登録されます。収集メールは送られません。'),
    ),
    check,
    message,
    result,
  );
}
