/**
 * マイナンバー管理 (seed 001 ch. 6, 10): the registrant list with the manual's search filters, its
 * status colours (unregistered pink, waiting for HR yellow, done white, retirees grey), pages of 50,
 * per-row actions, and for editors the selected rows' collection mail and group.
 */
import { api, type Group, type ListQuery, type RegistrantItem, type Schemas } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_LABELS, CATEGORY_SHORT, day, fullName, INVITATION_LABELS, STATUS_LABELS } from '../labels';
import { go, href } from '../router';
import { actionButton, cancelButton, dialog, field, form, h, input, link, messageLine, notice, row, say, select, showError, statusBadge, table, text, unsay, type View } from '../ui';
import { reviewAndSend, type Selection } from './invite-review';

const FILTERS = ['employeeCode', 'name', 'category', 'email', 'status', 'dependentsStatus', 'retired', 'retiring', 'groupId', 'retirementMonth', 'deletionMonth'] as const;
type Filter = (typeof FILTERS)[number];
/** Behind 「絞り込み」: every filter but the name. */
const FOLDED = FILTERS.filter((k) => k !== 'name');
const FILTER_LABELS: Record<Filter, string> = {
  employeeCode: '社員コード',
  name: '登録者名',
  category: '区分',
  email: 'メールアドレス',
  status: 'ステータス（本人）',
  dependentsStatus: 'ステータス（扶養家族）',
  retired: '退職者',
  retiring: '退職予定',
  groupId: 'グループ',
  retirementMonth: '退職日（年月）',
  deletionMonth: '削除予定日（年月）',
};
const PAGE_SIZE = 50;
/** HR's orders; the first is the default (paper lists go by employee code), kept out of the address. */
const SORTS: [string, string][] = [
  ['employeeCode', '社員コード順'],
  ['kana', 'フリガナ順（五十音）'],
  ['submitted', '提出日時の古い順'],
  ['-updated', '更新日時の新しい順'],
  ['updated', '更新日時の古い順'],
];
const DEFAULT_SORT = SORTS[0]![0];

const statusOptions: [string, string][] = [['', 'すべて'], ...Object.entries(STATUS_LABELS)];

export async function registrantListScreen(ctx: Ctx): Promise<View> {
  const q: ListQuery = {};
  for (const k of FILTERS) {
    const v = ctx.query.get(k);
    if (v) q[k] = v;
  }
  const sortParam = ctx.query.get('sort');
  const sort = SORTS.some(([v]) => v === sortParam) ? sortParam! : DEFAULT_SORT;
  const cursor = ctx.query.get('cursor') ?? undefined;
  const [page, groups] = await Promise.all([api.list({ ...q, sort, cursor, limit: String(PAGE_SIZE), withTotal: 'true' }), api.groups().catch((): Group[] => [])]);
  const groupName = new Map(groups.map((g) => [g.id, g.name]));

  // The name and the order stay in view; the other filters fold behind 「絞り込み」, open while one is in use.
  const options: Partial<Record<Filter, [string, string][]>> = {
    category: [['', 'すべて'], ...Object.entries(CATEGORY_LABELS)],
    status: statusOptions,
    dependentsStatus: statusOptions,
    retired: [['', 'すべて'], ['false', '在職者のみ'], ['true', '退職者のみ']],
    retiring: [['', 'すべて'], ['true', '退職予定者のみ（退職日が決まっている在職者）']],
    groupId: [['', 'すべて'], ...groups.map((g): [string, string] => [g.id, g.name])],
  };
  const folded = FOLDED.filter((k) => q[k]);
  const filterForm = form(
    [
      h(
        'div',
        { class: 'filters' },
        field(FILTER_LABELS.name, input('name', { value: q.name ?? '', placeholder: '姓・名・フリガナの一部' })),
        field('並び順', select('sort', SORTS, sort)),
      ),
      h(
        'details',
        { class: 'more-filters', id: 'more-filters', ...(folded.length ? { open: true } : {}) },
        h('summary', {}, folded.length ? `絞り込み（${folded.length}件の条件を指定中）` : '絞り込み'),
        h(
          'div',
          { class: 'filters' },
          ...FOLDED.map((k) => {
            const choices = options[k];
            if (choices) return field(FILTER_LABELS[k], select(k, choices, q[k] ?? ''));
            return field(FILTER_LABELS[k], input(k, { value: q[k] ?? '', ...(k.endsWith('Month') ? { type: 'month' } : {}) }));
          }),
        ),
      ),
    ],
    '検索',
    async (data) => {
      const next: Record<string, string> = {};
      for (const k of FILTERS) {
        const v = text(data, k);
        if (v) next[k] = v;
      }
      const chosen = text(data, 'sort');
      if (chosen && chosen !== DEFAULT_SORT) next.sort = chosen;
      go('registrants', next);
    },
    { id: 'registrant-filters', cls: 'form search', extraButtons: [link(href('registrants'), '条件をクリア', 'button secondary')] },
  );

  const selected = new Set<string>();
  const bulkMessage = messageLine('bulk-message');
  const selectAll = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'このページの全員を選択' });
  const boxes: HTMLInputElement[] = [];
  /** The header box follows the rows: checked when all are, mixed when some are. */
  const follow = () => {
    selectAll.checked = boxes.length > 0 && selected.size === boxes.length;
    selectAll.indeterminate = selected.size > 0 && selected.size < boxes.length;
  };
  const rows = page.items.map((r) => registrantRow(ctx, r, groupName, selected, boxes, follow));
  selectAll.addEventListener('change', () => {
    for (const [i, b] of boxes.entries()) {
      b.checked = selectAll.checked;
      if (b.checked) selected.add(page.items[i]!.id);
      else selected.delete(page.items[i]!.id);
    }
    follow();
  });
  const filtered = FILTERS.some((k) => q[k]);
  const nextQuery = { ...Object.fromEntries(FILTERS.map((k) => [k, q[k]])), sort: sort === DEFAULT_SORT ? undefined : sort };
  // Each filter in use as a chip; its × goes to the same list without it.
  const valueLabel = (k: Filter, v: string) => options[k]?.find(([x]) => x === v)?.[1] ?? v;
  const chips = filtered
    ? h(
        'ul',
        { class: 'chips', 'aria-label': '指定中の条件' },
        ...FILTERS.filter((k) => q[k]).map((k) =>
          h('li', {}, `${FILTER_LABELS[k]}：${valueLabel(k, q[k]!)}`, h('a', { href: href('registrants', { ...nextQuery, [k]: undefined }), class: 'chip-remove', 'aria-label': `${FILTER_LABELS[k]}の条件を外す` }, '×')),
        ),
      )
    : null;
  const total = page.total ?? page.items.length;

  // The list's filter as the API's: everyone it matches, across pages (収集メール一括送信, 「全員を選択」).
  const filter: Schemas['RegistrantFilter'] = Object.fromEntries(
    FILTERS.filter((k) => q[k]).map((k) => [k, k === 'retired' || k === 'retiring' ? q[k] === 'true' : q[k]]),
  );
  // Gmail's way: all of this page ticked, then one click takes everyone the filter matches.
  let allMatching = false;
  const widen = h('p', { class: 'select-wider', id: 'select-wider', hidden: true });
  const showWiden = () => {
    const whole = selected.size === boxes.length && boxes.length > 0 && total > boxes.length;
    widen.hidden = !whole;
    if (!whole) allMatching = false;
    widen.replaceChildren(
      ...(allMatching
        ? [`${filtered ? '条件に合う' : ''}全員（${total.toLocaleString('ja-JP')}人）を選択しています。`, h('button', { type: 'button', class: 'link', onclick: () => { allMatching = false; showWiden(); } }, 'このページだけにする')]
        : [`このページの${boxes.length}人を選択しています。`, h('button', { type: 'button', class: 'link', id: 'select-all-matching', onclick: () => { allMatching = true; showWiden(); } }, `${filtered ? '条件に合う' : ''}全員（${total.toLocaleString('ja-JP')}人）を選択`)]),
    );
  };
  selectAll.addEventListener('change', showWiden);
  boxes.forEach((b) => b.addEventListener('change', showWiden));
  const selection = (): Selection | null => (allMatching ? { filter } : selected.size ? { registrantIds: [...selected] } : null);
  const review = async (chosen: Selection, channel: 'mail' | 'paper') => {
    unsay(bulkMessage);
    try {
      // The outcome is said in the bulk line (the list itself is as it was loaded until 検索).
      await reviewAndSend(ctx, chosen, channel);
    } catch (err) {
      showError(bulkMessage, err);
    }
  };

  const bulkActions = ctx.canEdit
    ? h(
        'div',
        { class: 'buttons', id: 'bulk-actions' },
        actionButton('選択した人に収集メールを送信', async () => {
          const chosen = selection();
          if (!chosen) return say(bulkMessage, '送信する人を選んでください');
          await review(chosen, 'mail');
        }, 'secondary'),
        actionButton('選択した人の登録依頼書（紙）を印刷', async () => {
          const chosen = selection();
          if (!chosen) return say(bulkMessage, '依頼書を印刷する人を選んでください');
          await review(chosen, 'paper');
        }, 'secondary'),
        groups.length
          ? actionButton('選択した人をグループに登録', async () => {
              if (!selected.size) return say(bulkMessage, 'グループに登録する人を選んでください');
              if (allMatching) return say(bulkMessage, 'グループへの登録は、このページで選択した人だけにできます');
              const groupId = await dialog<string>('グループに登録', (close) => [
                form([field('グループ', select('group', groups.map((g): [string, string] => [g.id, g.name])))], '登録する', async (d) => close(text(d, 'group')), { id: 'group-choice', extraButtons: [cancelButton(close)] }),
              ]);
              if (!groupId) return;
              try {
                await api.setMembers(groupId, { add: [...selected] });
                ctx.redraw();
              } catch (err) {
                showError(bulkMessage, err);
              }
            }, 'secondary')
          : null,
      )
    : null;

  return {
    page: 'registrants',
    title: 'マイナンバー管理',
    body: [
      ctx.canEdit
        ? h('p', { class: 'buttons' }, link(href('add'), '新規追加', 'button secondary'), link(href('bulk'), '複数一括登録', 'button secondary'), link(href('quick-add'), 'スマホで収集', 'button secondary'), link(href('csv-upload'), 'CSVアップロード', 'button secondary'), actionButton('収集メール一括送信', () => review({ filter: { ...filter, retired: false } }, 'mail'), 'secondary'), link(href('csv-download'), 'CSVダウンロード', 'button secondary'))
        : null,
      h('section', { 'aria-label': '検索条件' }, h('h2', {}, '検索'), filterForm),
      h('div', { class: 'list-head' }, h('p', { id: 'list-total', class: 'total' }, filtered ? `条件に合う登録者 ${total.toLocaleString('ja-JP')}人` : `登録者 ${total.toLocaleString('ja-JP')}人`), chips),
      h('p', { class: 'legend', 'aria-hidden': 'true' }, h('span', { class: 'badge status-unregistered' }, '未登録'), ' ', h('span', { class: 'badge status-pending' }, '承認待ち・差戻し'), ' ', h('span', { class: 'badge' }, '完了・拒否'), ' ', h('span', { class: 'badge retired-legend' }, '退職者（灰色の行）')),
      bulkActions,
      widen,
      bulkMessage,
      registrantTable(
        [...(ctx.canEdit ? [h('span', { 'data-label': '選択' }, selectAll)] : []), 'ステータス', '扶養', 'グループ', '社員コード', '登録者名', '区分', 'メールアドレス', '扶養数', '収集メール', '退職日', '削除予定日', '操作'],
        rows,
        filtered ? '条件に合う登録者はいません' : '登録者はまだいません。「新規追加」「CSVアップロード」などで登録してください',
      ),
      h(
        'nav',
        { class: 'pager', 'aria-label': 'ページ' },
        cursor ? link(href('registrants', nextQuery), '最初のページ') : null,
        cursor ? h('button', { type: 'button', class: 'link', onclick: () => history.back() }, '前のページ') : null,
        h('span', {}, `${page.items.length}件を表示（全${total.toLocaleString('ja-JP')}人）`),
        page.nextCursor ? link(href('registrants', { ...nextQuery, cursor: page.nextCursor }), '次のページ', 'button secondary') : null,
      ),
      page.items.length === 0 && cursor ? notice('info', 'このページには登録者がいません。') : null,
    ],
  };
}

function registrantTable(headers: (string | Node)[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  const wrap = table('登録者の一覧', headers, rows, empty);
  wrap.querySelector('table')?.classList.add('registrants');
  return wrap;
}

function registrantRow(ctx: Ctx, r: RegistrantItem, groupName: Map<string, string>, selected: Set<string>, boxes: HTMLInputElement[], follow: () => void): HTMLTableRowElement {
  const detail = href(`registrants/${r.id}`);
  const activeDependents = r.dependents.filter((d) => !d.noLongerDependent);
  const waiting = r.status === 'pending' || activeDependents.some((d) => d.status === 'pending');
  const box = h('input', { type: 'checkbox', 'aria-label': `${fullName(r)}を選択` });
  box.addEventListener('change', () => {
    if (box.checked) selected.add(r.id);
    else selected.delete(r.id);
    follow();
  });
  boxes.push(box);
  const cells = [
    ...(ctx.canEdit ? [box] : []),
    statusBadge(r.status),
    statusBadge(r.dependentsStatus),
    r.groupId ? (groupName.get(r.groupId) ?? '—') : '—',
    r.employeeCode ?? '—',
    h('a', { href: detail, id: `person-${r.id}` }, fullName(r)),
    CATEGORY_SHORT[r.category],
    r.email ?? '—',
    String(activeDependents.length),
    r.invitation ? `${INVITATION_LABELS[r.invitation.state] ?? r.invitation.state}${r.invitation.state === 'open' && r.invitation.expiresAt ? `（${day(r.invitation.expiresAt)}まで）` : ''}` : '未送信',
    r.retirementDate ? day(r.retirementDate) : '—',
    r.deletion ? day(r.deletion.dueDate) : '—',
    // The same link names on every row: each is described by the row's person.
    h(
      'div',
      { class: 'buttons' },
      h('a', { href: detail, class: 'button small secondary', 'aria-describedby': `person-${r.id}` }, '詳細'),
      ctx.canEdit && waiting ? h('a', { href: href(`registrants/${r.id}/approval`), class: 'button small primary', 'aria-describedby': `person-${r.id}` }, '承認') : null,
    ),
  ];
  const tr = row(cells, { class: r.retired ? 'row-retired' : `row-${r.status}`, 'data-registrant-id': r.id });
  return tr;
}
