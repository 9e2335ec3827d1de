/**
 * Login (seed 001 ch. 2): e-mail and password (and the customer number when the address has accounts
 * in several companies), then the second factor — the code mailed, or the authenticator app's.
 * Password reset and the customer-number reminder work without a session.
 */
import { api, ApiError, type Me } from '../api';
import { field, form, h, input, link, notice, say, text, type View } from '../ui';

export function loginScreen(opts: { message?: string; loggedIn: (me: Me) => void }): View {
  const holder = h('div', { class: 'login' });
  const customer = field('お客様番号', input('customerNumber', { autocomplete: 'organization', inputmode: 'numeric' }), {
    hint: 'このメールアドレスで複数の契約にログインできる場合に入力します。',
  });
  customer.hidden = true;
  const passwordStep = form(
    [
      opts.message ? notice('warning', opts.message) : null,
      field('メールアドレス', input('email', { type: 'email', autocomplete: 'username', spellcheck: 'false' }), { required: true }),
      field('パスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true }),
      customer,
    ],
    'ログイン',
    async (data, message) => {
      const email = text(data, 'email');
      const password = String(data.get('password') ?? '');
      if (!email || !password) return say(message, 'メールアドレスとパスワードを入力してください');
      try {
        const res = await api.login({ email, password, customerNumber: text(data, 'customerNumber') || undefined });
        holder.replaceChildren(secondFactorStep(res.secondFactor, opts.loggedIn));
        holder.querySelector('input')?.focus();
      } catch (err) {
        if (err instanceof ApiError && err.code === 'CUSTOMER_NUMBER_REQUIRED') {
          customer.hidden = false;
          customer.querySelector('input')?.focus();
        }
        throw err;
      }
    },
    { id: 'login' },
  );
  holder.append(passwordStep);
  return {
    page: 'login',
    title: 'ログイン',
    body: [
      holder,
      h('ul', { class: 'links' }, h('li', {}, link('#/password-reset', 'パスワードを忘れた方')), h('li', {}, link('#/customer-number', 'お客様番号を忘れた方'))),
    ],
  };
}

function secondFactorStep(method: 'email' | 'totp', loggedIn: (me: Me) => void): HTMLElement {
  const resend = h('button', { type: 'button', class: 'link' }, '第二認証コードを再送する');
  const f = form(
    [
      h('p', {}, method === 'email' ? '登録されたメールアドレスに6桁の第二認証コードを送りました。メールに記載のコードを入力してください。' : '認証アプリ（Google Authenticator など）に表示されている6桁のコードを入力してください。'),
      field(method === 'email' ? '第二認証コード' : '認証コード', input('code', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6, pattern: '[0-9]{6}' }), { required: true }),
    ],
    '認証する',
    async (data, message) => {
      const code = text(data, 'code').replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
      if (!/^[0-9]{6}$/.test(code)) return say(message, '6桁の数字を入力してください');
      loggedIn(await api.secondFactor(code));
    },
    { id: 'second-factor', extraButtons: method === 'email' ? [resend] : [] },
  );
  resend.addEventListener('click', async () => {
    const message = f.querySelector('.message') as HTMLElement;
    try {
      await api.resendCode();
      say(message, '第二認証コードを再送しました。', 'ok');
    } catch (err) {
      say(message, err instanceof ApiError ? err.messages : '再送できませんでした');
    }
  });
  return h('section', { 'aria-labelledby': 'second-factor-title' }, h('h2', { id: 'second-factor-title' }, '二段階認証'), f);
}

export function passwordResetScreen(): View {
  const holder = h('div');
  const request = form(
    [
      h('p', {}, 'ログインに使うメールアドレスを入力してください。パスワード再設定用のセキュリティコードをお送りします。'),
      field('メールアドレス', input('email', { type: 'email', autocomplete: 'username' }), { required: true }),
      field('お客様番号', input('customerNumber', { inputmode: 'numeric' }), { hint: '複数の契約にログインできる場合だけ入力します。' }),
    ],
    'セキュリティコードを送る',
    async (data) => {
      const email = text(data, 'email');
      const customerNumber = text(data, 'customerNumber') || undefined;
      await api.requestPasswordReset({ email, customerNumber });
      holder.replaceChildren(
        form(
          [
            notice('info', 'メールアドレスが登録されていれば、セキュリティコードを送りました。'),
            field('セキュリティコード', input('code', { inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 6 }), { required: true }),
            field('新しいパスワード', input('newPassword', { type: 'password', autocomplete: 'new-password' }), { required: true, hint: '8文字以上（大文字と小文字は区別されます）。' }),
          ],
          'パスワードを再設定する',
          async (d, message) => {
            await api.resetPassword({ email, customerNumber, code: text(d, 'code'), newPassword: String(d.get('newPassword') ?? '') });
            holder.replaceChildren(notice('ok', 'パスワードを再設定しました。新しいパスワードでログインしてください。'), link('#/', 'ログイン画面へ', 'button primary'));
            void message;
          },
          { id: 'password-reset' },
        ),
      );
      holder.querySelector('input')?.focus();
    },
    { id: 'password-reset-request' },
  );
  holder.append(request);
  return { page: 'password-reset', title: 'パスワードの再設定', body: [holder, h('p', {}, link('#/', 'ログイン画面に戻る'))] };
}

export function customerNumberScreen(): View {
  const holder = h('div');
  holder.append(
    form(
      [h('p', {}, 'ログインに使うメールアドレスにセキュリティコードをお送りします。'), field('メールアドレス', input('email', { type: 'email', autocomplete: 'username' }), { required: true })],
      'セキュリティコードを送る',
      async (data) => {
        const email = text(data, 'email');
        await api.requestCustomerNumber(email);
        holder.replaceChildren(
          form(
            [notice('info', 'メールアドレスが登録されていれば、セキュリティコードを送りました。'), field('セキュリティコード', input('code', { inputmode: 'numeric', maxlength: 6 }), { required: true })],
            'お客様番号を表示する',
            async (d) => {
              const accounts = await api.customerNumbers({ email, code: text(d, 'code') });
              holder.replaceChildren(
                h('ul', { class: 'accounts' }, ...accounts.map((a) => h('li', {}, `${a.tenantName}：お客様番号 ${a.customerNumber}`))),
                link('#/', 'ログイン画面へ', 'button primary'),
              );
            },
            { id: 'customer-number' },
          ),
        );
      },
      { id: 'customer-number-request' },
    ),
  );
  return { page: 'customer-number', title: 'お客様番号の確認', body: [holder, h('p', {}, link('#/', 'ログイン画面に戻る'))] };
}
