/**
 * グループ管理 (seed 001 ch. 6): departments, branches or shops registrants are sorted into.
 * #/groups lists them with their member counts (add, rename, delete for owners and managers);
 * #/groups/{id} shows a group's members (take one out) and メンバー登録: the registrants in no group
 * yet, ticked and added at once. A registrant is in at most one group; deleting a group leaves its
 * members without one.
 */
import { api, ApiError, type Group, type RegistrantItem } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_LABELS, fullName } from '../labels';
import { href } from '../router';
import { actionButton, field, h, input, link, messageLine, notice, row, say, showError, statusBadge, table, text, type View } from '../ui';
import { allRegistrants, confirmDialog, formDialog } from './shared-admin';

const nameField = (value = '') =>
  field('グループ名', input('name', { value, maxlength: 100, autocomplete: 'off' }), { required: true, hint: '部署名・支店名・店舗名など（100文字まで）。' });

/** Asks a group's name; the API's answer (or undefined on cancel). */
function askName(title: string, submitLabel: string, save: (name: string) => Promise<Group>, value = ''): Promise<Group | undefined> {
  return formDialog<Group>(
    title,
    [nameField(value)],
    submitLabel,
    async (data, message) => {
      const name = text(data, 'name');
      if (!name) {
        say(message, 'グループ名を入力してください');
        return undefined;
      }
      return save(name);
    },
    'group-name',
  );
}

export async function groupsScreen(ctx: Ctx): Promise<View> {
  return ctx.params[0] ? groupScreen(ctx, ctx.params[0]) : groupListScreen(ctx);
}

async function groupListScreen(ctx: Ctx): Promise<View> {
  const message = messageLine('groups-message');
  const holder = h('div', { id: 'groups' });

  const draw = (groups: Group[]) => {
    const rows = groups.map((g, i) =>
      row(
        [
          String(i + 1),
          link(href(`groups/${g.id}`), g.name),
          `${g.memberCount.toLocaleString('ja-JP')}人`,
          ...(ctx.canEdit
            ? [
                h(
                  'div',
                  { class: 'buttons' },
                  h('button', { type: 'button', class: 'secondary small', onclick: () => void rename(g) }, '編集'),
                  h('button', { type: 'button', class: 'danger small', onclick: () => void remove(g) }, '削除'),
                  link(href(`groups/${g.id}`), 'メンバー登録', 'button secondary small'),
                ),
              ]
            : []),
        ],
        { 'data-group-id': g.id },
      ),
    );
    holder.replaceChildren(table('グループ一覧', ['No.', 'グループ名', '人数', ...(ctx.canEdit ? ['操作'] : [])], rows, 'グループはまだありません'));
  };
  const reload = async () => draw(await api.groups());

  const add = async () => {
    const g = await askName('グループの新規追加', '追加する', (name) => api.createGroup(name));
    if (!g) return;
    await reload();
    say(message, `グループ「${g.name}」を追加しました。`, 'ok');
  };
  const rename = async (g: Group) => {
    const renamed = await askName('グループの編集', '変更する', (name) => api.renameGroup(g.id, name), g.name);
    if (!renamed) return;
    await reload();
    say(message, `グループ名を「${renamed.name}」に変更しました。`, 'ok');
  };
  const remove = async (g: Group) => {
    const ok = await confirmDialog(
      'グループの削除',
      [`グループ「${g.name}」を削除しますか？`, g.memberCount ? `所属している${g.memberCount}人は、グループなしになります（登録者は削除されません）。` : '所属している登録者はいません。'],
      '削除する',
    );
    if (!ok) return;
    try {
      await api.deleteGroup(g.id);
      await reload();
      say(message, `グループ「${g.name}」を削除しました。`, 'ok');
    } catch (err) {
      showError(message, err);
    }
  };

  draw(await api.groups());
  return {
    page: 'groups',
    title: 'グループ管理',
    body: [
      h('p', {}, 'マイナンバー登録者を、部署や支店、店舗ごとなど任意に作成したグループで管理できます。グループごとに管理する場合は、登録者を追加する前にグループを作成してください。'),
      ctx.canEdit ? h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'primary', id: 'add-group', onclick: () => void add() }, '新規追加')) : null,
      message,
      holder,
    ],
  };
}

const personCells = (r: RegistrantItem): (Node | string | null)[] => [statusBadge(r.status), r.employeeCode ?? '—', link(href(`registrants/${r.id}`), fullName(r)), CATEGORY_LABELS[r.category], r.email ?? '—'];
const PERSON_HEADERS = ['ステータス', '社員コード', '登録者名', '区分', 'メールアドレス'];

async function groupScreen(ctx: Ctx, id: string): Promise<View> {
  const groups = await api.groups();
  const group = groups.find((g) => g.id === id);
  if (!group) {
    return { page: 'not-found', title: 'グループが見つかりません', body: [notice('error', 'このグループは削除されたか、存在しません。'), link(href('groups'), 'グループ管理へ')] };
  }
  const message = messageLine('group-message');
  const membersHolder = h('div', { id: 'group-members' });
  const candidatesHolder = h('div', { id: 'group-candidates' });
  const count = h('span', { id: 'member-count' });

  const drawMembers = (members: RegistrantItem[]) => {
    count.textContent = `${members.length}人`;
    const rows = members.map((r) =>
      row(
        [
          ...personCells(r),
          ...(ctx.canEdit ? [actionButton('グループから外す', () => removeMember(r), 'secondary small')] : []),
        ],
        { 'data-registrant-id': r.id },
      ),
    );
    membersHolder.replaceChildren(table(`グループ「${group.name}」のメンバー`, [...PERSON_HEADERS, ...(ctx.canEdit ? ['操作'] : [])], rows, 'このグループにはまだメンバーがいません'));
  };

  const drawCandidates = (people: RegistrantItem[]) => {
    if (!people.length) {
      candidatesHolder.replaceChildren(h('p', { class: 'empty' }, 'グループに入っていない登録者はいません。'));
      return;
    }
    const boxes = people.map((r) => h('input', { type: 'checkbox', name: 'add', value: r.id, 'aria-label': `${fullName(r)}を選ぶ` }));
    const all = h('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'すべて選ぶ' });
    all.addEventListener('change', () => boxes.forEach((b) => (b.checked = all.checked)));
    const msg = messageLine('candidates-message');
    const submit = actionButton('登録', async () => {
      const add = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!add.length) return say(msg, 'グループに登録する登録者を選んでください');
      try {
        const updated = await api.setMembers(id, { add });
        await reload();
        say(message, `${add.length}人をグループ「${updated.name}」に登録しました。`, 'ok');
      } catch (err) {
        showError(msg, err);
      }
    });
    submit.id = 'add-members';
    const rows = people.map((r, i) => {
      const tr = row(personCells(r), { 'data-registrant-id': r.id });
      tr.prepend(h('td', {}, boxes[i]!));
      return tr;
    });
    const t = table('グループに入っていない登録者', ['', ...PERSON_HEADERS], rows);
    t.querySelector('thead th')?.append(all);
    candidatesHolder.replaceChildren(h('p', {}, `対象者：${people.length}人`), t, msg, h('div', { class: 'buttons' }, submit));
  };

  const reload = async () => {
    const [members, free] = await Promise.all([allRegistrants({ groupId: id }), ctx.canEdit ? allRegistrants({}) : Promise.resolve([])]);
    drawMembers(members);
    if (ctx.canEdit) drawCandidates(free.filter((r) => r.groupId === null));
  };

  const removeMember = async (r: RegistrantItem) => {
    try {
      await api.setMembers(id, { remove: [r.id] });
      await reload();
      say(message, `${fullName(r)} をグループ「${group.name}」から外しました。`, 'ok');
    } catch (err) {
      if (err instanceof ApiError) say(message, err.messages);
      else throw err;
    }
  };

  await reload();
  return {
    page: 'group',
    title: `グループ：${group.name}`,
    body: [
      h('p', {}, link(href('groups'), 'グループ管理に戻る')),
      message,
      h('section', { 'aria-labelledby': 'members-title' }, h('h2', { id: 'members-title' }, 'メンバー（', count, '）'), membersHolder),
      ctx.canEdit
        ? h(
            'section',
            { 'aria-labelledby': 'candidates-title' },
            h('h2', { id: 'candidates-title' }, 'メンバー登録'),
            h('p', {}, 'グループに登録するメンバーにチェックを入れ、「登録」を押してください。すでにいずれかのグループに入っている登録者は表示されません。'),
            candidatesHolder,
          )
        : null,
    ],
  };
}
