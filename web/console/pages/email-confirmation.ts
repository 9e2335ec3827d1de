/**
 * The page the e-mail change link opens (#/email-confirmation?token=…), logged in or not. The token is
 * in the fragment, which no server sees; it is sent in a POST body only when the person presses the
 * button (a mail scanner that opens links confirms nothing), and dropped from the address bar at once.
 */
import { api } from '../api';
import { currentRoute } from '../router';
import { form, h, link, notice, type View } from '../ui';

export function emailConfirmationScreen(): View {
  const token = currentRoute().query.get('token') ?? '';
  // Out of the address bar and the history: the link is single-use, but need not linger.
  if (token) history.replaceState(null, '', `${location.pathname}${location.search}#/email-confirmation`);
  const holder = h('div', { id: 'email-confirmation' });
  const done = () => holder.replaceChildren(notice('ok', 'メールアドレスを確認しました。これからは新しいメールアドレスでログインしてください。'), link('#/', 'ログイン画面・HOMEへ', 'button primary'));
  holder.append(
    token
      ? form([h('p', {}, 'マイナンバー管理のログインに使うメールアドレスを、このメールを受け取ったアドレスに変更します。')], 'メールアドレスを確認する', async () => {
          await api.confirmEmailChange({ token });
          done();
        }, { id: 'email-confirm' })
      : notice('error', 'リンクが正しくありません。メールに記載のリンクをそのまま開いてください。'),
  );
  return { page: 'email-confirmation', title: 'メールアドレスの確認', body: [holder] };
}
