/**
 * ログインユーザ (seed 001 ch. 5): who may log into the console, with which role (最高権限, 管理担当者,
 * 閲覧のみ) and kind (担当者, 士業). Owners and managers add, edit, change the e-mail address (it waits
 * for the new address's confirmation), delete and unlock; owners also set others' passwords (PW変更);
 * managers cannot touch owners nor make anyone an owner (the API refuses it too); viewers only see the
 * list.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { dateTime, ROLE_LABELS, USER_KIND_LABELS } from '../labels';
import { actionButton, field, h, input, messageLine, notice, row, say, select, showError, table, text, textarea, type View } from '../ui';
import { confirmDialog, formDialog } from './shared-admin';
import { href } from '../router';
import { emailChangeDialog, passwordSetDialog, pendingEmail } from './login-user-dialogs';

type LoginUser = Schemas['LoginUser'];
type Role = Schemas['Role'];
type Kind = Schemas['UserKind'];

const TWO_FACTOR_LABELS: Record<LoginUser['twoFactorMethod'], string> = { email: 'メール', totp: '認証アプリ' };
const ROLE_NOTES: [Role, string][] = [
  ['owner', 'すべての操作ができます（利用目的・保存期間などの設定、連携アプリの登録、ほかのユーザのパスワード変更を含む）。'],
  ['manager', '利用目的・保存期間などの設定、連携アプリの登録・停止、ほかのユーザのパスワード変更、運用以外の操作ができます（契約者情報とパスコードの変更を含む）。'],
  ['viewer', 'マイナンバー関連の閲覧のみできます。登録情報の編集はできません。'],
];

/** 備考 with its value (a textarea's value is not an attribute). */
function noteArea(value: string | null): HTMLTextAreaElement {
  const area = textarea('note', { maxlength: 1000, rows: 2 });
  area.value = value ?? '';
  return area;
}

export async function loginUsersScreen(ctx: Ctx): Promise<View> {
  const message = messageLine('users-message');
  const holder = h('div', { id: 'login-users' });
  /** Roles this user may give: managers cannot make owners. */
  const roleOptions = (): [string, string][] => (Object.keys(ROLE_LABELS) as Role[]).filter((r) => ctx.isOwner || r !== 'owner').map((r) => [r, ROLE_LABELS[r]]);
  const kindOptions = (): [string, string][] => (Object.keys(USER_KIND_LABELS) as Kind[]).map((k) => [k, USER_KIND_LABELS[k]]);

  const draw = (users: LoginUser[]) => {
    const rows = users.map((u) => {
      const self = u.id === ctx.me.user.id;
      // A manager can do nothing to an owner; nobody deletes themselves.
      const manageable = ctx.canEdit && (ctx.isOwner || u.role !== 'owner');
      const actions = manageable
        ? h(
            'div',
            { class: 'buttons' },
            h('button', { type: 'button', class: 'secondary small', onclick: () => void edit(u) }, '編集'),
            h('button', { type: 'button', class: 'secondary small', onclick: () => void changeEmail(u) }, 'メール変更'),
            // Seed 001 shows PW変更 on one's own row too: there it is the セキュリティ screen (current password).
            self ? h('a', { href: href('security'), class: 'button secondary small' }, 'PW変更') : ctx.isOwner ? h('button', { type: 'button', class: 'secondary small', onclick: () => void setPassword(u) }, 'PW変更') : null,
            u.locked ? actionButton('ロック解除', () => unlock(u), 'secondary small') : null,
            self ? null : h('button', { type: 'button', class: 'danger small', onclick: () => void remove(u) }, '削除'),
          )
        : null;
      return row(
        [
          h('span', {}, u.name, self ? h('span', { class: 'hint' }, '（あなた）') : null),
          u.department ?? '—',
          h('span', {}, u.email, pendingEmail(u, { canAct: manageable, message, redraw: reload })),
          ROLE_LABELS[u.role],
          USER_KIND_LABELS[u.kind],
          TWO_FACTOR_LABELS[u.twoFactorMethod],
          u.locked ? h('span', { class: 'badge locked' }, 'ロック中') : '—',
          dateTime(u.createdAt),
          ...(ctx.canEdit ? [actions] : []),
        ],
        { 'data-user-id': u.id },
      );
    });
    holder.replaceChildren(
      table('ログインユーザ一覧', ['氏名', '部署', 'メールアドレス', '権限', '属性', '二段階認証', 'ログインロック', '登録日時', ...(ctx.canEdit ? ['操作'] : [])], rows, 'ログインユーザはいません'),
    );
  };
  const reload = async () => draw(await api.loginUsers());

  const add = async () => {
    const created = await formDialog<LoginUser>(
      'ログインユーザの新規登録',
      [
        notice('warning', 'マイナンバーの取扱責任者、事務取扱担当者、委託する士業の方以外は登録しないでください。ログインユーザは使い回さず、一人ずつ登録してください。'),
        field('氏名', input('name', { autocomplete: 'off', maxlength: 100 }), { required: true }),
        field('メールアドレス', input('email', { type: 'email', autocomplete: 'off', spellcheck: 'false' }), {
          required: true,
          hint: 'ログインと確認コードの受け取りに使います。管理担当者以外の従業員に届かないアドレスにしてください。',
        }),
        field('権限', select('role', roleOptions(), 'manager'), { required: true }),
        field('属性', select('kind', kindOptions(), 'staff'), { required: true }),
        field('部署', input('department', { autocomplete: 'off', maxlength: 100 })),
        field('備考', textarea('note', { maxlength: 1000, rows: 2 })),
        field('初期パスワード', input('password', { type: 'password', autocomplete: 'new-password' }), {
          required: true,
          hint: '8文字以上（大文字と小文字は区別されます）。ご本人に別の方法で伝え、ログイン後に変更してもらってください。メールには記載されません。',
        }),
        field('初期パスワード（確認）', input('passwordConfirmation', { type: 'password', autocomplete: 'new-password' }), { required: true }),
      ],
      '登録する',
      async (data, msg) => {
        const password = String(data.get('password') ?? '');
        const name = text(data, 'name');
        const email = text(data, 'email');
        if (!name || !email || !password) {
          say(msg, '氏名、メールアドレス、初期パスワードを入力してください');
          return undefined;
        }
        if (password !== String(data.get('passwordConfirmation') ?? '')) {
          say(msg, '初期パスワードが確認用と一致しません');
          return undefined;
        }
        return api.createLoginUser({ name, email, password, role: text(data, 'role') as Role, kind: text(data, 'kind') as Kind, department: text(data, 'department') || null, note: text(data, 'note') || null });
      },
      'login-user-new',
    );
    if (!created) return;
    await reload();
    say(message, `${created.name}（${created.email}）をログインユーザに登録しました。ログイン画面の案内メールを送りました。`, 'ok');
  };

  const edit = async (u: LoginUser) => {
    const updated = await formDialog<LoginUser>(
      'ログインユーザの編集',
      [
        h('p', {}, `メールアドレス：${u.email}`),
        field('氏名', input('name', { value: u.name, autocomplete: 'off', maxlength: 100 }), {
          required: true,
          hint: '氏名を変えると、操作履歴に記録された過去の名前も新しい名前で表示されます。担当者が替わった場合は、新しいログインユーザを登録してください。',
        }),
        field('権限', select('role', roleOptions(), u.role), { required: true }),
        field('属性', select('kind', kindOptions(), u.kind), { required: true }),
        field('部署', input('department', { value: u.department ?? '', autocomplete: 'off', maxlength: 100 })),
        field('備考', noteArea(u.note)),
      ],
      '変更する',
      async (data, msg) => {
        const name = text(data, 'name');
        if (!name) {
          say(msg, '氏名を入力してください');
          return undefined;
        }
        const patch: Schemas['LoginUserPatch'] = {};
        if (name !== u.name) patch.name = name;
        if (text(data, 'department') !== (u.department ?? '')) patch.department = text(data, 'department') || null;
        if (text(data, 'note') !== (u.note ?? '')) patch.note = text(data, 'note') || null;
        if (text(data, 'role') !== u.role) patch.role = text(data, 'role') as Role;
        if (text(data, 'kind') !== u.kind) patch.kind = text(data, 'kind') as Kind;
        if (!Object.keys(patch).length) return u;
        return api.updateLoginUser(u.id, patch);
      },
      'login-user-edit',
    );
    if (!updated) return;
    if (updated === u) return say(message, '変更された項目はありません。', 'info');
    if (updated.id === ctx.me.user.id) {
      // Own name or role changed: the header and what this user may do follow.
      ctx.setMe(await api.me());
      ctx.redraw();
      return;
    }
    await reload();
    say(message, `${updated.name} の登録内容を変更しました（権限：${ROLE_LABELS[updated.role]}、属性：${USER_KIND_LABELS[updated.kind]}）。`, 'ok');
  };

  const changeEmail = async (u: LoginUser) => {
    const updated = await emailChangeDialog(u, u.id === ctx.me.user.id);
    if (!updated) return;
    await reload();
    say(message, `${updated.pendingEmail} に確認メールを送りました。リンクが開かれるまで、${u.name} は今のメールアドレス（${u.email}）でログインします。`, 'ok');
  };

  const setPassword = async (u: LoginUser) => {
    if (!(await passwordSetDialog(u))) return;
    await reload();
    say(message, `${u.name} のパスワードを変更しました。ログイン中の画面は終了し、ご本人にメールでお知らせしました。`, 'ok');
  };

  const remove = async (u: LoginUser) => {
    const ok = await confirmDialog(
      'ログインユーザの削除',
      [`${u.name}（${u.email}）を削除しますか？`, '削除したログインユーザは元に戻せません。ログイン中であればログアウトされます。操作履歴には「（削除済み）」と表示されます。'],
      '削除する',
    );
    if (!ok) return;
    try {
      await api.deleteLoginUser(u.id);
      await reload();
      say(message, `${u.name} を削除しました。`, 'ok');
    } catch (err) {
      showError(message, err);
    }
  };

  const unlock = async (u: LoginUser) => {
    try {
      await api.unlockLoginUser(u.id);
      await reload();
      say(message, `${u.name} のログインロックを解除しました。`, 'ok');
    } catch (err) {
      showError(message, err);
    }
  };

  draw(await api.loginUsers());
  return {
    page: 'login-users',
    title: 'ログインユーザ',
    body: [
      h('p', {}, 'マイナンバー管理にログインするユーザを管理します。ログインユーザごとに操作履歴が記録されます。'),
      h('dl', { class: 'facts', id: 'role-notes' }, ...ROLE_NOTES.flatMap(([r, note]) => [h('dt', {}, ROLE_LABELS[r]), h('dd', {}, note)])),
      ctx.canEdit ? h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'primary', id: 'add-login-user', onclick: () => void add() }, '新規登録')) : null,
      ctx.canEdit && !ctx.isOwner ? h('p', { class: 'hint' }, '最高権限のユーザの編集・削除と、最高権限の付与は、最高権限のユーザだけができます。') : null,
      message,
      holder,
    ],
  };
}
