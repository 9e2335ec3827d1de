/**
 * 操作履歴 (seed 001 ch. 14): every operation, newest first, searched by period (days in Japan time),
 * who did it, whom it concerned and what it was; "さらに表示" pages on; the same search downloads as
 * CSV (Shift_JIS for Excel, or UTF-8). The search lives in the address's fragment (#/history?…), so a
 * reload or a bookmark keeps it and nothing of it reaches a server log.
 */
import { api, type HistoryQuery, type Schemas } from '../api';
import type { Ctx } from '../context';
import { go, href } from '../router';
import { OPERATIONS } from '../../../services/audit/operations';
import { actionButton, download, field, form, h, input, link, messageLine, notice, row, say, select, showError, table, text, type View } from '../ui';
import { dateTimeSeconds, endOfDayJst, startOfDayJst } from './shared-admin';

type Event = Schemas['OperationEvent'];

const FILTERS = ['from', 'to', 'actor', 'registrant', 'operation'] as const;
const ACTOR_SUFFIX: Record<Event['actor']['type'], string> = { login_user: '', registrant: '（登録者本人）', api_client: '（連携アプリ）', system: '' };

const actorText = (e: Event) => `${e.actor.label}${ACTOR_SUFFIX[e.actor.type]}${e.actor.deleted ? '（削除済み）' : ''}`;
/** The person an event concerns, linked to their page (a deleted person's page says so). */
const personLink = (r: NonNullable<Event['registrant']>) => link(href(`registrants/${r.id}`), r.label || '（氏名なし）');

function eventRow(e: Event): HTMLTableRowElement {
  // A remand's or refusal's reason, while it stands, beside it (the API reads it from the person).
  return row([dateTimeSeconds(e.occurredAt), actorText(e), e.reason ? `${e.label}（理由：${e.reason}）` : e.label, e.registrant ? personLink(e.registrant) : null, e.purposeLabel, e.ip], { 'data-operation': e.operation });
}

/**
 * One operation on many people at once (a download with numbers, a pull) writes a row per person
 * (and one for itself), all at the same instant: shown as one line, "92人分", its people behind a
 * disclosure. Every row stays in the data (and in the CSV).
 */
function groupedByInstant(events: Event[]): Event[][] {
  const lines: Event[][] = [];
  const byKey = new Map<string, Event[]>();
  for (const e of events) {
    const key = [e.operation, e.actor.type, e.actor.id ?? e.actor.label, e.occurredAt, e.purpose ?? ''].join('|');
    const line = byKey.get(key);
    if (line) line.push(e);
    else {
      const fresh = [e];
      byKey.set(key, fresh);
      lines.push(fresh);
    }
  }
  return lines;
}

function lineRows(events: Event[]): HTMLTableRowElement[] {
  const [e] = events as [Event, ...Event[]];
  // The operation's own row (a download's, with nobody in it) goes with its people's.
  const concerned = events.flatMap((x) => (x.registrant ? [x.registrant] : []));
  if (concerned.length < 2) return events.map(eventRow);
  const people = h('details', { class: 'people' }, h('summary', {}, `${concerned.length}人分`), h('ul', {}, ...concerned.map((r) => h('li', {}, personLink(r)))));
  return [row([dateTimeSeconds(e.occurredAt), actorText(e), `${e.label}（${concerned.length}人分）`, people, e.purposeLabel, e.ip], { 'data-operation': e.operation, 'data-grouped': String(concerned.length) })];
}

export async function historyScreen(ctx: Ctx): Promise<View> {
  const q = Object.fromEntries(FILTERS.map((k) => [k, ctx.query.get(k)?.trim() ?? ''])) as Record<(typeof FILTERS)[number], string>;
  /** The search as the API takes it: the days become the start of the first and the end of the last (Japan time). */
  const search: HistoryQuery = {
    from: startOfDayJst(q.from),
    to: endOfDayJst(q.to),
    actor: q.actor || undefined,
    registrant: q.registrant || undefined,
    operation: q.operation || undefined,
  };
  const filtered = FILTERS.some((k) => q[k]);

  const filters = form(
    [
      h(
        'div',
        { class: 'filters' },
        field('日付（から）', input('from', { type: 'date', value: q.from })),
        field('日付（まで）', input('to', { type: 'date', value: q.to })),
        field('実施者', input('actor', { value: q.actor, autocomplete: 'off' })),
        field('登録者', input('registrant', { value: q.registrant, autocomplete: 'off' })),
        field('操作内容', input('operation', { value: q.operation, autocomplete: 'off', list: 'operation-labels' })),
      ),
      h('p', { class: 'hint' }, '実施者・登録者は氏名の一部でも探せます。操作内容は「ログイン」「承認」「マイナンバーの表示」など操作の名前（一部でも可）で探せます。日付は日本時間です。'),
      h('datalist', { id: 'operation-labels' }, ...Object.values(OPERATIONS).map((label) => h('option', { value: label }))),
    ],
    '絞り込み',
    async (data, message) => {
      const next = Object.fromEntries(FILTERS.map((k) => [k, text(data, k)]));
      if (next.from && next.to && next.from > next.to) return say(message, '日付の範囲が正しくありません（「から」が「まで」より後です）');
      go('history', next);
    },
    { id: 'history-filters', extraButtons: filtered ? [link('#/history', '条件をクリア', 'button secondary')] : [] },
  );

  const first = await api.history({ ...search, limit: '50' });
  const loaded = [...first.items];
  const tbodyRows = groupedByInstant(loaded).flatMap(lineRows);
  const list = table('操作履歴', ['日時', '操作者', '操作', '対象者', '利用目的', 'IPアドレス'], tbodyRows, filtered ? '条件に合う操作履歴はありません' : '操作履歴はまだありません');
  list.id = 'history';
  const tbody = list.querySelector('tbody')!;
  const shown = h('p', { id: 'history-count' });
  let count = first.items.length;
  let cursor = first.nextCursor;
  const moreMessage = messageLine('more-message');
  const more = actionButton(
    'さらに表示',
    async () => {
      if (!cursor) return;
      try {
        const page = await api.history({ ...search, limit: '50', cursor });
        // Drawn again whole: a line's people may go on in the next page.
        loaded.push(...page.items);
        tbody.replaceChildren(...groupedByInstant(loaded).flatMap(lineRows));
        count += page.items.length;
        cursor = page.nextCursor;
        update();
      } catch (err) {
        showError(moreMessage, err);
      }
    },
    'secondary',
  );
  more.id = 'more-history';
  const update = () => {
    shown.textContent = `${count.toLocaleString('ja-JP')}件を表示しています${cursor ? '（続きがあります）' : ''}`;
    more.hidden = !cursor;
  };
  update();

  const csvMessage = messageLine('history-csv-message');
  const encoding = select('encoding', [
    ['cp932', 'Shift_JIS（Excelで開く場合）'],
    ['utf8', 'UTF-8'],
  ], 'cp932');
  const csv = actionButton('CSVダウンロード', async () => {
    try {
      const file = await api.historyCsv({ ...search, encoding: encoding.value });
      download(file, 'operation-history.csv');
      say(csvMessage, `操作履歴をダウンロードしました${filtered ? '（絞り込んだ条件のもの）' : ''}。`, 'ok');
    } catch (err) {
      showError(csvMessage, err);
      if (encoding.value === 'cp932') csvMessage.append(h('br'), '文字コードに「UTF-8」を選んでダウンロードしてください。');
    }
  });
  csv.id = 'history-csv';

  const verifyMessage = messageLine('verify-message');
  // The signed head of the last intact check: saved outside mynaflow, it lets a later check catch
  // a history cut off at its end or rewritten as a whole.
  let lastHead: Schemas['SignedHistoryHead'] | undefined;
  const saveHead = actionButton('確認結果を保存する（署名付き）', async () => {
    if (!lastHead) return;
    const blob = new Blob([`${JSON.stringify(lastHead, null, 2)}\n`], { type: 'application/json' });
    download({ headers: new Headers(), blob }, `operation-history-head-${lastHead.signedAt.slice(0, 10)}.json`);
    say(verifyMessage, '確認結果を保存しました。mynaflowの外（監査資料など）に保管し、次回の確認で照合してください。', 'ok');
  });
  saveHead.hidden = true;
  const report = (v: Schemas['HistoryVerification'], against?: Schemas['SignedHistoryHead']) => {
    lastHead = v.head;
    saveHead.hidden = !v.head;
    if (v.ok) {
      const compared = against ? `保存した確認結果（${dateTimeSeconds(against.signedAt)}）の時点までの記録もそのまま残っています。` : '';
      say(verifyMessage, `${v.checked.toLocaleString('ja-JP')}件の操作履歴を確認しました。改ざんは見つかりませんでした。${compared}`, 'ok');
      return;
    }
    const why =
      v.firstBroken?.reason === 'anchor_forged'
        ? '選んだファイルは、この会社についてmynaflowが署名した確認結果ではありません（書き換えられたか、別の会社のものです）。'
        : v.firstBroken?.reason === 'anchor_missing'
          ? '保存した確認結果の時点の記録が見つかりません。操作履歴が削除されたか、書き換えられています。'
          : `操作履歴の改ざんまたは欠落が見つかりました（${v.firstBroken?.id ?? '不明'}）。`;
    say(verifyMessage, `${why}管理者に連絡してください。`);
  };
  const verify = ctx.canEdit
    ? actionButton(
        '改ざんがないか確認する',
        async () => {
          try {
            report(await api.verifyHistory());
          } catch (err) {
            showError(verifyMessage, err);
          }
        },
        'secondary',
      )
    : null;
  const keptFile = h('input', { type: 'file', id: 'verify-head-file', accept: 'application/json,.json' }) as HTMLInputElement;
  keptFile.addEventListener('change', () => {
    const file = keptFile.files?.[0];
    if (!file) return;
    void (async () => {
      let head: Schemas['SignedHistoryHead'];
      try {
        head = JSON.parse(await file.text()) as Schemas['SignedHistoryHead'];
      } catch {
        say(verifyMessage, '選んだファイルは確認結果のファイルではありません。「確認結果を保存する」で保存したファイルを選んでください。');
        return;
      }
      try {
        report(await api.verifyHistory(head), head);
      } catch (err) {
        showError(verifyMessage, err);
      } finally {
        keptFile.value = '';
      }
    })();
  });

  return {
    page: 'history',
    title: '操作履歴',
    body: [
      h('p', {}, '過去の操作内容の検索表示、またはCSVファイルのダウンロードが行えます。'),
      h('section', { 'aria-labelledby': 'history-search' }, h('h2', { id: 'history-search' }, '検索・抽出'), filters),
      h(
        'section',
        { 'aria-labelledby': 'history-download' },
        h('h2', { id: 'history-download' }, 'CSVダウンロード'),
        h('p', {}, filtered ? '絞り込んだ条件の操作履歴をダウンロードします。' : 'すべての操作履歴をダウンロードします。特定の条件だけにする場合は、先に「絞り込み」をしてください。'),
        field('文字コード', encoding),
        h('div', { class: 'buttons' }, csv),
        csvMessage,
      ),
      filtered ? notice('info', '絞り込み中の結果です。') : null,
      shown,
      list,
      moreMessage,
      h('div', { class: 'buttons' }, more),
      verify
        ? h(
            'section',
            { 'aria-labelledby': 'history-verify' },
            h('h2', { id: 'history-verify' }, '操作履歴の検証'),
            h('p', {}, '操作履歴は記録の連鎖（マスターキーによる署名）で守られています。書き換えや削除がないかを確認できます。確認結果を保存しておくと、次回その時点までの記録が残っているかも照合できます。'),
            h('div', { class: 'buttons' }, verify, saveHead),
            field('保存した確認結果と照合する', keptFile),
            verifyMessage,
          )
        : null,
    ],
  };
}
