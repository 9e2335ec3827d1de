/** 登録者編集 (seed 001 ch. 11): the registrant's own data; the number and documents are the person's to change. */
import { api, type Group } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_LABELS, fullName } from '../labels';
import { go, href } from '../router';
import { field, form, h, input, link, notice, select, text, textarea, type View } from '../ui';
import { GENDERS } from '../../shared/labels';

export async function registrantEditScreen(ctx: Ctx, id: string): Promise<View> {
  const [r, groups] = await Promise.all([api.get(id), api.groups().catch((): Group[] => [])]);
  if (!ctx.canEdit) return { page: 'forbidden', title: '編集できません', body: [notice('warning', '閲覧のみの権限では編集できません。'), link(href(`registrants/${id}`), '詳細に戻る')] };
  const f = form(
    [
      h('div', { class: 'filters' }, field('姓', input('familyName', { value: r.familyName, maxlength: 50 }), { required: true }), field('名', input('givenName', { value: r.givenName, maxlength: 50 }), { required: true })),
      h('div', { class: 'filters' }, field('フリガナ（姓）', input('familyNameKana', { value: r.familyNameKana ?? '', maxlength: 50 })), field('フリガナ（名）', input('givenNameKana', { value: r.givenNameKana ?? '', maxlength: 50 }))),
      field('メールアドレス', input('email', { type: 'email', value: r.email ?? '' }), { hint: '変更すると、次の収集メールから新しいアドレスに届きます。' }),
      field('社員コード', input('employeeCode', { value: r.employeeCode ?? '', maxlength: 20 }), { hint: '半角英数字と - _（20文字まで）。' }),
      field('区分', select('category', Object.entries(CATEGORY_LABELS), r.category)),
      field('グループ', select('groupId', [['', 'なし'], ...groups.map((g): [string, string] => [g.id, g.name])], r.groupId ?? '')),
      h(
        'div',
        { class: 'filters' },
        field('生年月日', input('birthDate', { type: 'date', value: r.birthDate ?? '' })),
        field('性別', select('gender', [['', '未入力'], ...GENDERS.map(([v, l]): [string, string] => [v, l])], r.gender ?? '')),
        field('入社日', input('hireDate', { type: 'date', value: r.hireDate ?? '' })),
      ),
      field('提出期限', input('submissionDueDate', { type: 'date', value: r.submissionDueDate ?? '' }), { hint: '本人に登録をお願いする期限です。収集メールと登録画面に表示されます（今日から90日後まで）。空欄にすると期限なしになります。' }),
      field('備考', textarea('note', { maxlength: 1000 })),
    ],
    '保存する',
    async (data) => {
      await api.update(id, {
        familyName: text(data, 'familyName'),
        givenName: text(data, 'givenName'),
        familyNameKana: text(data, 'familyNameKana') || null,
        givenNameKana: text(data, 'givenNameKana') || null,
        email: text(data, 'email') || null,
        employeeCode: text(data, 'employeeCode') || null,
        category: text(data, 'category'),
        groupId: text(data, 'groupId') || null,
        hireDate: text(data, 'hireDate') || null,
        birthDate: text(data, 'birthDate') || null,
        gender: text(data, 'gender') || null,
        submissionDueDate: text(data, 'submissionDueDate') || null,
        note: text(data, 'note') || null,
      });
      go(`registrants/${id}`);
    },
    { id: 'registrant-edit', extraButtons: [link(href(`registrants/${id}`), 'キャンセル', 'button secondary')] },
  );
  const note = f.querySelector('textarea[name=note]') as HTMLTextAreaElement | null;
  if (note) note.value = r.note ?? '';
  return { page: 'registrant-edit', title: `編集：${fullName(r)} さん`, body: [h('p', {}, link(href(`registrants/${id}`), '詳細に戻る')), f] };
}
