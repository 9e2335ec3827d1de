/**
 * The e-mail change and 「PW変更」 of ログインユーザ (seed 001 ch. 5), shared by the login-user list and
 * the user's own セキュリティ screen: a new address waits (確認待ち) until the link mailed to it is
 * opened, with resend and cancel; an owner sets another user's password behind their own.
 */
import { api, type Schemas } from '../api';
import { dateTime } from '../labels';
import { field, h, input, notice, redrawingButton, say, text } from '../ui';
import { formDialog } from './shared-admin';

type LoginUser = Schemas['LoginUser'];

/** Asks for the new address; resolves with the user as now (the address waiting), or undefined if closed. */
export function emailChangeDialog(u: LoginUser, self: boolean): Promise<LoginUser | undefined> {
  return formDialog<LoginUser>(
    'メールアドレスの変更',
    [
      h('p', {}, `現在のメールアドレス：${u.email}`),
      notice(
        'info',
        `新しいメールアドレスに確認のリンクを送ります（有効期限24時間）。${self ? 'ご自身で' : 'メールアドレスの持ち主が'}リンクを開いて確認するまでは、今のメールアドレスでログインします。今のメールアドレスにもお知らせが届きます。`,
      ),
      field('新しいメールアドレス', input('email', { type: 'email', autocomplete: 'off', spellcheck: 'false' }), {
        required: true,
        hint: '管理担当者以外の従業員に届かないアドレスにしてください。',
      }),
      field('あなたのパスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true, hint: '本人確認のため、いまログインしているあなたのパスワードを入力してください。' }),
    ],
    '確認メールを送る',
    async (data, msg) => {
      const email = text(data, 'email');
      if (!email) {
        say(msg, '新しいメールアドレスを入力してください');
        return undefined;
      }
      const password = String(data.get('password') ?? '');
      if (!password) {
        say(msg, 'あなたのパスワードを入力してください');
        return undefined;
      }
      return api.requestEmailChange(u.id, { email, password });
    },
    'email-change',
  );
}

/** 「確認待ち: new@…」 with resend and cancel (null when nothing waits or the viewer may not act). */
export function pendingEmail(u: LoginUser, opts: { canAct: boolean; message: HTMLElement; redraw: () => Promise<unknown> }): HTMLElement | null {
  if (!u.pendingEmail) return null;
  const expired = u.pendingEmailExpiresAt !== null && new Date(u.pendingEmailExpiresAt).getTime() <= Date.now();
  return h(
    'span',
    { class: 'pending-email' },
    h('span', { class: 'badge' }, `確認待ち: ${u.pendingEmail}`),
    h('span', { class: 'hint' }, expired ? '（リンクの有効期限切れ）' : `（${dateTime(u.pendingEmailExpiresAt!)}まで有効）`),
    ...(opts.canAct
      ? [
          redrawingButton('確認メールを再送', async () => (await api.resendEmailChange(u.id), `${u.pendingEmail} に確認メールを送り直しました（前のリンクは使えなくなりました）。`), { ...opts, cls: 'secondary small' }),
          redrawingButton('変更を取り消す', async () => (await api.cancelEmailChange(u.id), `${u.pendingEmail} への変更を取り消しました。`), { ...opts, cls: 'secondary small' }),
        ]
      : []),
  );
}

/** 「PW変更」: an owner sets another user's password, behind their own. Resolves true once set. */
export async function passwordSetDialog(u: LoginUser): Promise<boolean> {
  const done = await formDialog<true>(
    'パスワードの変更',
    [
      h('p', {}, `${u.name}（${u.email}）のパスワードを変更します。変更すると、このユーザのログインはすべて終了し、管理者が変更したことをメールでお知らせします（パスワードはメールに記載されません）。`),
      field('新しいパスワード', input('newPassword', { type: 'password', autocomplete: 'new-password' }), { required: true, hint: '8文字以上（大文字と小文字は区別されます）。ご本人に別の方法で伝え、ログイン後に変更してもらってください。' }),
      field('新しいパスワード（確認）', input('newPasswordConfirmation', { type: 'password', autocomplete: 'new-password' }), { required: true }),
      field('ご自身のパスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true, hint: '本人確認のため、ログイン中のあなたのパスワードを入力してください。' }),
    ],
    '変更する',
    async (data, msg) => {
      const newPassword = String(data.get('newPassword') ?? '');
      const password = String(data.get('password') ?? '');
      if (!newPassword || !password) {
        say(msg, '新しいパスワードとご自身のパスワードを入力してください');
        return undefined;
      }
      if (newPassword !== String(data.get('newPasswordConfirmation') ?? '')) {
        say(msg, '新しいパスワードが確認用と一致しません');
        return undefined;
      }
      await api.setLoginUserPassword(u.id, { password, newPassword });
      return true;
    },
    'password-set',
  );
  return done === true;
}
