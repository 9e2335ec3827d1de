/** The mails of login and the reminder (Japanese). Each carries a code and nothing else secret. */
import { CODE_TTL_MINUTES } from './security-codes';

export const LOGIN_CODE_SUBJECT = '【マイナンバー管理】第二認証コードのお知らせ';
export const PASSWORD_RESET_SUBJECT = '【マイナンバー管理】パスワード再設定のお知らせ';
export const CUSTOMER_NUMBER_SUBJECT = '【マイナンバー管理】お客様番号のお知らせ';
export const EMAIL_METHOD_SUBJECT = '【マイナンバー管理】メール認証方式への変更の確認';
export const LOGIN_LOCKED_SUBJECT = '【マイナンバー管理】ログインを一時停止しました';
export const TOTP_ENROLLED_SUBJECT = '【マイナンバー管理】二段階認証を認証アプリに変更しました';

export const jst = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'long', timeStyle: 'short' });

const FOOTER = ['', '――', 'マイナンバー管理 (mynaflow)'];

/** A service mail to a login user: company, name, the body, the service's footer. */
export function hrLetter(subject: string, d: { userName: string; companyName: string }, body: string[]): { subject: string; text: string } {
  return { subject, text: [d.companyName, `${d.userName} 様`, '', ...body, ...FOOTER].join('\n') };
}

const validity = (expiresAt: Date) => [
  `有効期限: ${jst.format(expiresAt)}（日本時間、発行から${CODE_TTL_MINUTES}分間）`,
  'このコードは一度だけ使えます。誰にも教えないでください。',
];

export function renderLoginCodeMail(d: { userName: string; companyName: string; code: string; expiresAt: Date }) {
  return {
    subject: LOGIN_CODE_SUBJECT,
    text: [
      `${d.companyName}`,
      `${d.userName} 様`,
      '',
      'マイナンバー管理へのログインに必要な第二認証コードをお知らせします。',
      'ログイン画面の「第二認証コード」に入力してください。',
      '',
      `第二認証コード: ${d.code}`,
      '',
      ...validity(d.expiresAt),
      'ログインした覚えがない場合は、パスワードが他人に知られているおそれがあります。パスワードを変更してください。',
      ...FOOTER,
    ].join('\n'),
  };
}

export function renderPasswordResetMail(d: { userName: string; companyName: string; customerNumber: string; code: string; expiresAt: Date }) {
  return {
    subject: PASSWORD_RESET_SUBJECT,
    text: [
      `${d.companyName}（お客様番号 ${d.customerNumber}）`,
      `${d.userName} 様`,
      '',
      `${d.companyName} のマイナンバー管理のアカウントについて、パスワード再設定の申請を受け付けました。`,
      'パスワード再設定の画面に、次のセキュリティコードを入力してください。',
      '',
      `セキュリティコード: ${d.code}`,
      '',
      ...validity(d.expiresAt),
      '申請した覚えがない場合は、このメールを破棄してください。パスワードは変わりません。',
      ...FOOTER,
    ].join('\n'),
  };
}

export function renderCustomerNumberMail(d: { code: string; expiresAt: Date }) {
  return {
    subject: CUSTOMER_NUMBER_SUBJECT,
    text: [
      'マイナンバー管理のお客様番号の確認を受け付けました。',
      'お客様番号の確認画面に、次のセキュリティコードを入力してください。お客様番号が表示されます。',
      '',
      `セキュリティコード: ${d.code}`,
      '',
      ...validity(d.expiresAt),
      '申請した覚えがない場合は、このメールを破棄してください。',
      ...FOOTER,
    ].join('\n'),
  };
}

export function renderEmailMethodMail(d: { userName: string; companyName: string; code: string; expiresAt: Date }) {
  return {
    subject: EMAIL_METHOD_SUBJECT,
    text: [
      `${d.companyName}`,
      `${d.userName} 様`,
      '',
      '二段階認証の方式を「メール認証」に変更するため、このメールアドレスに届くことを確認します。',
      'セキュリティの画面に、次の確認コードを入力してください。',
      '',
      `確認コード: ${d.code}`,
      '',
      ...validity(d.expiresAt),
      '変更した覚えがない場合は、このメールを破棄してください。認証方式は変わりません。',
      ...FOOTER,
    ].join('\n'),
  };
}

/**
 * Told when logins to the account were stopped: for wrong passwords, from one address only (the
 * user can still log in from elsewhere); for wrong second-factor codes, the whole account (someone
 * knows the password).
 */
export function renderLoginLockedMail(d: { userName: string; companyName: string; reason: 'password' | 'password_spread' | 'second_factor' | 'reauthentication'; source: string | null; until: Date }) {
  const what =
    d.reason === 'password'
      ? [`IPアドレス ${d.source ?? '（不明）'} からのログインで、パスワードが続けて間違えられました。`, 'このアドレスからのログインを一時停止しました。ほかの場所からは、いつもどおりログインできます。']
      : d.reason === 'password_spread'
        ? ['多数の場所から、パスワードが繰り返し間違えられています。', 'パスワードを推測されるおそれがあるため、アカウントへのログインを一時停止しました。']
      : d.reason === 'second_factor'
        ? ['正しいパスワードのあとに、第二認証コードが続けて間違えられました。', 'パスワードが他人に知られているおそれがあるため、アカウントへのログインを一時停止しました。']
        : ['ログイン中の画面で、パスワードの再入力が続けて間違えられました。', 'アカウントへのログインを一時停止し、ログイン中の画面をすべて終了しました。'];
  return {
    subject: LOGIN_LOCKED_SUBJECT,
    text: [
      `${d.companyName}`,
      `${d.userName} 様`,
      '',
      ...what,
      `停止は ${jst.format(d.until)}（日本時間）まで続きます。管理者に解除を依頼することもできます。`,
      '',
      'ご自身の操作でない場合は、解除後すぐにパスワードを変更してください。',
      ...FOOTER,
    ].join('\n'),
  };
}

/** Told once an authenticator app has become the second factor (other sessions were ended). */
export function renderTotpEnrolledMail(d: { userName: string; companyName: string; at: Date; endedSessions: number }) {
  return {
    subject: TOTP_ENROLLED_SUBJECT,
    text: [
      `${d.companyName}`,
      `${d.userName} 様`,
      '',
      `${jst.format(d.at)}（日本時間）に、ログインの二段階認証を認証アプリ（トークン方式）に変更しました。`,
      d.endedSessions ? `ほかの端末のログイン（${d.endedSessions}件）は終了しました。` : 'ほかの端末のログインはありませんでした。',
      '',
      '変更した覚えがない場合は、パスワードが他人に知られているおそれがあります。すぐに管理者に連絡し、パスワードを変更してください。',
      ...FOOTER,
    ].join('\n'),
  };
}
