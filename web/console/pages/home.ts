/** HOME (seed 001 ch. 3): how the collection stands, each count a link to the list it counts. */
import { api, type Schemas } from '../api';
import { dateTime, day } from '../labels';
import type { Ctx } from '../context';
import { href } from '../router';
import { h, link, notice, row, table, type View } from '../ui';

/** In the manual's order; the colours of the list (未登録 pink, waiting for HR yellow). */
const STATUSES = [
  ['unregistered', '未登録', 'status-unregistered'],
  ['pending', '承認待ち', 'status-pending'],
  ['remanded', '差戻し', 'status-remanded'],
  ['completed', '完了', ''],
  ['refused', '拒否', ''],
] as const;

const STAGES: [keyof Schemas['DashboardFunnel'], string][] = [
  ['notInvited', '未依頼'],
  ['invited', '依頼済み（未開封）'],
  ['opened', 'リンクを開いた'],
  ['inProgress', '入力中'],
  ['submitted', '承認待ち'],
  ['approved', '完了'],
];
/** Lists about a calendar day (a deadline, a deletion date): no time of day to show. */
const DAY_LISTS = new Set<keyof Schemas['Dashboard']['lists']>(['pastDue', 'deletionsAwaiting', 'deletionsDue30', 'deletionsDue90']);
const LISTS: [keyof Schemas['Dashboard']['lists'], string, string][] = [
  ['pastDue', '提出期限を過ぎても未提出', '提出期限'],
  ['expiringSoon', '7日以内にリンクの期限が切れる', '期限'],
  ['neverOpened', '依頼したがリンクを開いていない', '期限'],
  ['openedNotSent', 'リンクを開いたが未提出', '期限'],
  ['waitingApproval', '承認待ち（古い順）', '提出'],
  ['remandedNoLink', '差し戻したが有効なリンクがない', '更新'],
  ['mailsNotTaken', 'メールがメールサーバーに受け付けられていない', '更新'],
  ['startsQueued', 'ワークフローの開始待ち', '開始待ち'],
  ['deletionsAwaiting', '削除の確認待ち（削除予定日を過ぎています）', '削除予定日'],
  ['deletionsDue30', '30日以内に削除予定', '削除予定日'],
  ['deletionsDue90', '90日以内に削除予定', '削除予定日'],
];

/** 収集の状況: the funnel (all, then per group) and who needs attention, each person a link. */
function collectionSection(d: Schemas['Dashboard']): HTMLElement {
  const funnelRow = (label: string, f: Schemas['DashboardFunnel']) => row([label, ...STAGES.map(([k]) => f[k].toLocaleString('ja-JP'))]);
  const funnel = table('収集の進み具合', ['', ...STAGES.map(([, l]) => l)], [funnelRow('全体', d.funnel), ...(d.groups.length > 1 ? d.groups.map((g) => funnelRow(g.groupName ?? 'グループなし', g.funnel)) : [])]);
  const lists = LISTS.filter(([k]) => d.lists[k].count > 0).map(([k, label, when]) =>
    h(
      'details',
      { class: 'attention', id: `attention-${k}` },
      h('summary', {}, `${label}：${d.lists[k].count.toLocaleString('ja-JP')}人`),
      h('ul', {}, ...d.lists[k].people.map((p) => h('li', {}, link(href(`registrants/${p.id}`), p.name), p.at ? `（${when} ${DAY_LISTS.has(k) ? day(p.at) : dateTime(p.at)}）` : ''))),
    ),
  );
  return h(
    'section',
    { 'aria-labelledby': 'home-collection' },
    h('h2', { id: 'home-collection' }, '収集の状況'),
    funnel,
    h('h3', {}, '確認が必要な登録者'),
    ...(lists.length ? lists : [h('p', {}, '確認が必要な登録者はいません。')]),
    d.webhookDeliveriesFailed ? notice('warning', `給与ソフトへの通知（Webhook）の送信に失敗したものが${d.webhookDeliveriesFailed}件あります。`, link(href('connectors'), '連携アプリの画面へ')) : null,
  );
}

export async function homeScreen(ctx: Ctx): Promise<View> {
  const [s, d] = await Promise.all([api.summary(), api.dashboard()]);
  // Nobody in a status is nothing to look at: no alarm colour for a zero.
  const tile = (label: string, count: number, to: string, q: Record<string, string> = {}, cls = '') =>
    h('li', { class: `tile ${count === 0 ? 'zero' : cls}` }, h('a', { href: href(to, q) }, h('span', { class: 'label' }, label), h('span', { class: 'count' }, `${count.toLocaleString('ja-JP')}`), h('span', { class: 'unit' }, '人')));
  /** The five statuses of registrants or of dependents, each a link to the list filtered by it. */
  const statusTiles = (counts: Record<(typeof STATUSES)[number][0], number>, filter: 'status' | 'dependentsStatus') =>
    STATUSES.map(([status, label, cls]) => tile(label, counts[status], 'registrants', { [filter]: status }, cls));
  const waiting = s.registrants.pending + s.dependents.pending;
  return {
    page: 'home',
    title: 'HOME',
    body: [
      waiting && ctx.canEdit ? notice('warning', `承認待ちの登録が${waiting}件あります。`, h('a', { href: href('registrants', { status: 'pending' }) }, '承認待ちの一覧へ')) : null,
      collectionSection(d),
      h(
        'section',
        { 'aria-labelledby': 'home-registrants' },
        h('h2', { id: 'home-registrants' }, '登録者'),
        h('ul', { class: 'tiles', id: 'registrant-counts' }, tile('登録者数', s.registrants.total, 'registrants'), ...statusTiles(s.registrants, 'status'), tile('退職者', s.registrants.retired, 'registrants', { retired: 'true' }, 'retired')),
      ),
      h(
        'section',
        { 'aria-labelledby': 'home-dependents' },
        h('h2', { id: 'home-dependents' }, '扶養家族'),
        h('ul', { class: 'tiles', id: 'dependent-counts' }, tile('扶養家族数', s.dependents.total, 'registrants'), ...statusTiles(s.dependents, 'dependentsStatus')),
      ),
    ],
  };
}
