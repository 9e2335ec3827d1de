/**
 * The mails of a login user's e-mail change and of a password set by an owner (Japanese). Only the
 * confirmation mail carries a secret (the link), and only to the new address.
 */
import { hrLetter, jst } from '../auth/auth-mail';
export const EMAIL_CONFIRM_SUBJECT = '【マイナンバー管理】メールアドレス変更の確認';
export const EMAIL_CHANGE_REQUESTED_SUBJECT = '【マイナンバー管理】メールアドレスの変更が申請されました';
export const EMAIL_CHANGED_SUBJECT = '【マイナンバー管理】メールアドレスを変更しました';
export const PASSWORD_SET_SUBJECT = '【マイナンバー管理】パスワードが管理者により変更されました';


interface Who {
  userName: string;
  companyName: string;
}

/** To the new address: the one-time link (the token in the fragment, which no server or proxy log sees). */
export function renderEmailConfirmMail(d: Who & { link: string; expiresAt: Date; requestedBy: string }) {
  return hrLetter(EMAIL_CONFIRM_SUBJECT, d, [
    `${d.requestedBy} が、マイナンバー管理のログインに使うメールアドレスをこのアドレスに変更する申請をしました。`,
    '次のリンクを開き、「メールアドレスを確認する」を押すと変更が完了します。確認するまでは、これまでのメールアドレスでログインします。',
    '',
    d.link,
    '',
    `有効期限: ${jst.format(d.expiresAt)}（日本時間）`,
    'このリンクは一度だけ使えます。誰にも転送しないでください。',
    '心当たりがない場合は、このメールを破棄してください。メールアドレスは変わりません。',
  ]);
}

/** To the old address: someone asked to move the account to another address (no link). */
export function renderEmailChangeRequestedMail(d: Who & { newEmail: string; requestedBy: string }) {
  return hrLetter(EMAIL_CHANGE_REQUESTED_SUBJECT, d, [
    `${d.requestedBy} が、マイナンバー管理のログインに使うメールアドレスを ${d.newEmail} に変更する申請をしました。`,
    '新しいメールアドレスに届いたリンクで確認されるまでは、このメールアドレスでログインします。',
    '',
    '心当たりがない場合は、すぐに管理者に連絡してください（ログインユーザ画面で申請を取り消せます）。',
  ]);
}

/** To the old address, once the new one is confirmed. */
export function renderEmailChangedMail(d: Who & { newEmail: string; at: Date }) {
  return hrLetter(EMAIL_CHANGED_SUBJECT, d, [
    `${jst.format(d.at)}（日本時間）に、マイナンバー管理のログインに使うメールアドレスを ${d.newEmail} に変更しました。`,
    'これからは新しいメールアドレスでログインし、確認コードなどのお知らせも新しいメールアドレスに届きます。',
    '',
    '心当たりがない場合は、すぐに管理者に連絡してください。',
  ]);
}

/** To the user whose password an owner set: never the password itself. */
export function renderPasswordSetMail(d: Who & { setBy: string; at: Date; endedSessions: number }) {
  return hrLetter(PASSWORD_SET_SUBJECT, d, [
    `${jst.format(d.at)}（日本時間）に、最高権限のユーザ ${d.setBy} があなたのログインパスワードを変更しました。`,
    d.endedSessions ? `ログイン中の画面（${d.endedSessions}件）は終了しました。` : 'ログイン中の画面はありませんでした。',
    '新しいパスワードは変更した管理者から受け取り、ログイン後にご自身で変更してください。',
    '',
    '心当たりがない場合は、すぐに管理者に連絡してください。',
  ]);
}
