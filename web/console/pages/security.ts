/**
 * セキュリティ (seed 001 ch. 13): the user's own second factor — e-mailed codes or an authenticator
 * app enrolled with a QR code and proved with one code before it counts — their password, and their
 * login e-mail address (a new one waits for the link mailed to it).
 */
import { api, ApiError } from '../api';
import type { Ctx } from '../context';
import { actionButton, facts, field, form, h, input, messageLine, notice, say, text, type View } from '../ui';
import { emailChangeDialog, pendingEmail } from './login-user-dialogs';

export async function securityScreen(ctx: Ctx): Promise<View> {
  const method = ctx.me.user.twoFactorMethod;
  const holder = h('div', { id: 'two-factor' });
  const message = h('p', { class: 'message', 'aria-live': 'polite' });

  const codeForm = (label: string, confirm: (code: string) => Promise<void>) =>
    form([field(label, input('code', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 }), { required: true })], '確定する', async (data, msg) => {
      const code = text(data, 'code');
      if (!/^[0-9]{6}$/.test(code)) return say(msg, '6桁の数字を入力してください');
      await confirm(code);
    }, { id: 'two-factor-confirm' });

  // The password again first: an open session alone must not bind the account to another phone.
  const toTotp = actionButton('認証アプリ（トークン方式）に切り替える', async () => {
    holder.replaceChildren(
      notice('info', '本人確認のため、現在のパスワードを入力してください。切り替えが終わると、ほかの端末のログインは終了し、メールでお知らせします。'),
      form([field('現在のパスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true })], '次へ', async (data, msg) => {
        const password = String(data.get('password') ?? '');
        if (!password) return say(msg, 'パスワードを入力してください');
        await showEnrolment(password);
      }, { id: 'totp-password' }),
    );
    holder.querySelector('input')?.focus();
  }, 'secondary');

  /** The QR code of a started enrolment (a wrong password is said in the form: the form shows errors). */
  const showEnrolment = async (password: string) => {
    const enrolment = await api.startTotp(password);
    const secret = new URL(enrolment.otpauthUri).searchParams.get('secret') ?? '';
    holder.replaceChildren(
      h('ol', { class: 'steps' }, h('li', {}, '認証アプリ（Google Authenticator、Microsoft Authenticator など）でQRコードを読み取ります。'), h('li', {}, 'アプリに表示された6桁のコードを入力して「確定する」を押します。')),
      h('img', { src: enrolment.qrPngDataUrl, alt: '認証アプリに登録するQRコード', class: 'qr', width: 200, height: 200 }),
      h('p', {}, 'QRコードを読み取れない場合は、次のキーを入力してください：', h('code', { class: 'secret' }, secret)),
      codeForm('認証アプリの6桁のコード', async (code) => {
        ctx.setMe(await api.confirmTotp(code));
        ctx.redraw();
      }),
    );
    holder.querySelector('input')?.focus();
  };

  const toEmail = actionButton('メール方式に切り替える', async () => {
    try {
      await api.startEmailMethod();
      holder.replaceChildren(
        notice('info', 'ログインに使うメールアドレスに確認コードを送りました。'),
        codeForm('メールの6桁の確認コード', async (code) => {
          ctx.setMe(await api.confirmEmailMethod(code));
          ctx.redraw();
        }),
      );
      holder.querySelector('input')?.focus();
    } catch (err) {
      say(message, err instanceof ApiError ? err.messages : '開始できませんでした');
    }
  }, 'secondary');

  holder.append(method === 'totp' ? toEmail : toTotp);

  const password = form(
    [
      field('現在のパスワード', input('currentPassword', { type: 'password', autocomplete: 'current-password' }), { required: true }),
      field('新しいパスワード', input('newPassword', { type: 'password', autocomplete: 'new-password' }), { required: true, hint: '8文字以上（大文字と小文字は区別されます）。変更すると、ほかの端末のログインは終了します。' }),
      field('新しいパスワード（確認）', input('newPasswordConfirmation', { type: 'password', autocomplete: 'new-password' }), { required: true }),
    ],
    'パスワードを変更する',
    async (data, msg) => {
      const newPassword = String(data.get('newPassword') ?? '');
      if (newPassword !== String(data.get('newPasswordConfirmation') ?? '')) return say(msg, '新しいパスワードが確認用と一致しません');
      await api.changePassword({ currentPassword: String(data.get('currentPassword') ?? ''), newPassword });
      password.reset();
      say(msg, 'パスワードを変更しました。', 'ok');
    },
    { id: 'password-change' },
  );

  // The own address: the list answers the pending one (me is from the login).
  const emailMessage = messageLine('own-email-message');
  const emailHolder = h('div', { id: 'own-email' });
  const drawEmail = async () => {
    const mine = (await api.loginUsers()).find((u) => u.id === ctx.me.user.id);
    if (!mine) return;
    emailHolder.replaceChildren(
      facts([['ログインに使うメールアドレス', h('span', {}, mine.email, pendingEmail(mine, { canAct: true, message: emailMessage, redraw: drawEmail }))]]),
      actionButton('メールアドレスを変更する', async () => {
        const updated = await emailChangeDialog(mine, true);
        if (!updated) return;
        await drawEmail();
        say(emailMessage, `${updated.pendingEmail} に確認メールを送りました。リンクを開くまでは、今のメールアドレスでログインします。`, 'ok');
      }, 'secondary'),
    );
  };
  await drawEmail();

  return {
    page: 'security',
    title: 'セキュリティ',
    body: [
      h('section', {}, h('h2', {}, '二段階認証'), facts([['現在の方式', method === 'totp' ? '認証アプリ（トークン方式）' : 'メール方式（ログインのたびに確認コードをメールで受け取ります）']]), message, holder),
      h('section', {}, h('h2', {}, 'パスワードの変更'), password),
      h('section', {}, h('h2', {}, 'メールアドレスの変更'), emailMessage, emailHolder),
    ],
  };
}
