/** HOME (seed 001 ch. 3): how the collection stands, each count a link to the list it counts. */
import { api } from '../api';
import type { Ctx } from '../context';
import { href } from '../router';
import { h, notice, type View } from '../ui';

/** In the manual's order; the colours of the list (未登録 pink, waiting for HR yellow). */
const STATUSES = [
  ['unregistered', '未登録', 'status-unregistered'],
  ['pending', '承認待ち', 'status-pending'],
  ['remanded', '差戻し', 'status-remanded'],
  ['completed', '完了', ''],
  ['refused', '拒否', ''],
] as const;

export async function homeScreen(ctx: Ctx): Promise<View> {
  const s = await api.summary();
  const tile = (label: string, count: number, to: string, q: Record<string, string> = {}, cls = '') =>
    h('li', { class: `tile ${cls}` }, h('a', { href: href(to, q) }, h('span', { class: 'label' }, label), h('span', { class: 'count' }, `${count.toLocaleString('ja-JP')}`), h('span', { class: 'unit' }, '人')));
  /** The five statuses of registrants or of dependents, each a link to the list filtered by it. */
  const statusTiles = (counts: Record<(typeof STATUSES)[number][0], number>, filter: 'status' | 'dependentsStatus') =>
    STATUSES.map(([status, label, cls]) => tile(label, counts[status], 'registrants', { [filter]: status }, cls));
  const waiting = s.registrants.pending + s.dependents.pending;
  return {
    page: 'home',
    title: 'HOME',
    body: [
      waiting && ctx.canEdit ? notice('warning', `承認待ちの登録が${waiting}件あります。`, h('a', { href: href('registrants', { status: 'pending' }) }, '承認待ちの一覧へ')) : null,
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
