/** HOME (seed 001 ch. 3): how the collection stands, each count a link to the list it counts. */
import { api } from '../api';
import type { Ctx } from '../context';
import { href } from '../router';
import { h, notice, type View } from '../ui';

export async function homeScreen(ctx: Ctx): Promise<View> {
  const s = await api.summary();
  const tile = (label: string, count: number, to: string, q: Record<string, string> = {}, cls = '') =>
    h('li', { class: `tile ${cls}` }, h('a', { href: href(to, q) }, h('span', { class: 'label' }, label), h('span', { class: 'count' }, `${count.toLocaleString('ja-JP')}`), h('span', { class: 'unit' }, '人')));
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
        h(
          'ul',
          { class: 'tiles', id: 'registrant-counts' },
          tile('登録者数', s.registrants.total, 'registrants'),
          tile('未登録', s.registrants.unregistered, 'registrants', { status: 'unregistered' }, 'status-unregistered'),
          tile('承認待ち', s.registrants.pending, 'registrants', { status: 'pending' }, 'status-pending'),
          tile('差戻し', s.registrants.remanded, 'registrants', { status: 'remanded' }, 'status-remanded'),
          tile('完了', s.registrants.completed, 'registrants', { status: 'completed' }),
          tile('拒否', s.registrants.refused, 'registrants', { status: 'refused' }),
          tile('退職者', s.registrants.retired, 'registrants', { retired: 'true' }, 'retired'),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'home-dependents' },
        h('h2', { id: 'home-dependents' }, '扶養家族'),
        h(
          'ul',
          { class: 'tiles', id: 'dependent-counts' },
          tile('扶養家族数', s.dependents.total, 'registrants'),
          tile('未登録', s.dependents.unregistered, 'registrants', { dependentsStatus: 'unregistered' }, 'status-unregistered'),
          tile('承認待ち', s.dependents.pending, 'registrants', { dependentsStatus: 'pending' }, 'status-pending'),
          tile('差戻し', s.dependents.remanded, 'registrants', { dependentsStatus: 'remanded' }, 'status-remanded'),
          tile('完了', s.dependents.completed, 'registrants', { dependentsStatus: 'completed' }),
          tile('拒否', s.dependents.refused, 'registrants', { dependentsStatus: 'refused' }),
        ),
      ),
    ],
  };
}
