/**
 * The company passcode (企業パスコード) where HR needs it: a notice on every screen that sends
 * registration links (unset: anyone holding a link gets in, so set one; set: tell employees by another
 * channel than the mail), and the dialogs of owners and managers that show it again or issue a new
 * one — each behind the caller's password and recorded by the API.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { href } from '../router';
import { cancelButton, dialog, field, form, h, input, link, notice, say } from '../ui';
import { copyButton } from './shared-admin';

type Tenant = Schemas['TenantSettings'];

/** Said on the add and invite screens: what the passcode means for the links about to be sent. */
export function passcodeNotice(ctx: Ctx, t: Pick<Tenant, 'passcodeSet'>): HTMLElement {
  const toSettings = ctx.canEdit ? link(href('settings'), t.passcodeSet ? '契約者情報でパスコードを確認する' : '契約者情報でパスコードを設定する') : h('span', {}, '最高権限・管理担当者のユーザに確認してください。');
  return t.passcodeSet
    ? notice('info', '企業パスコードを設定しています。登録者は最初のログインでパスコードを入力します。メールとは別の方法（口頭・社内の掲示など）で事前に伝えてください。', h('br'), toSettings)
    : notice('warning', '企業パスコードが設定されていません。登録用リンクを開いた人は、パスコードなしで登録画面に入れます（メールの転送や誤送信に備えて、設定をおすすめします）。', h('br'), toSettings);
}

/** Asks the caller's password, then shows the passcode (again, or newly issued) with a copy button. */
export async function showPasscodeDialog(kind: 'reveal' | 'regenerate'): Promise<boolean | undefined> {
  const title = kind === 'reveal' ? 'パスコードの表示' : '新しいパスコードの発行';
  // Issued is issued, however the dialog is closed (閉じる, Escape): the caller draws the page again.
  let issued = false;
  const closed = await dialog<boolean>(title, (close) => {
    const holder = h('div');
    holder.append(
      kind === 'regenerate'
        ? notice('warning', '新しいパスコードを発行すると、今のパスコードは使えなくなります。まだ最初のログインをしていない登録者には、新しいパスコードを伝え直してください（ログイン済みの人には影響しません）。')
        : notice('info', 'パスコードの表示は操作履歴に記録されます。'),
      form(
        [field('ご自身のパスワード', input('password', { type: 'password', autocomplete: 'current-password', id: 'passcode-password' }), { required: true })],
        kind === 'reveal' ? '表示する' : '発行する',
        async (data, message) => {
          const password = String(data.get('password') ?? '');
          if (!password) return say(message, 'パスワードを入力してください');
          const { passcode } = kind === 'reveal' ? await api.revealPasscode({ password }) : await api.regeneratePasscode({ password });
          issued = kind === 'regenerate';
          const copied = h('p', { class: 'message', 'aria-live': 'polite' });
          const value = h('p', { class: 'revealed', id: 'passcode-value', tabindex: -1 }, passcode);
          holder.replaceChildren(
            h('p', {}, kind === 'reveal' ? '現在のパスコード' : '新しいパスコード'),
            value,
            h('p', { class: 'hint' }, '登録者には、メールとは別の方法で伝えてください。'),
            h('div', { class: 'buttons' }, copyButton(() => passcode, 'コピー', copied), h('button', { type: 'button', class: 'primary', onclick: () => close(true) }, '閉じる')),
            copied,
          );
          // The button that was pressed is gone: focus stays in the dialog, on what it shows.
          value.focus();
        },
        { id: 'passcode-form', extraButtons: [cancelButton(close)] },
      ),
    );
    return [holder];
  });
  return closed || issued;
}
