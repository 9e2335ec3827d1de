/** The invitation and reminder mails (Japanese; seed 001 ch. 7 gives the subject). */
import type { MailKind } from '../../shared';

export const INVITATION_SUBJECT = '【マイナンバー管理】マイナンバー登録のお願い';

const jst = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'long', timeStyle: 'short' });

export interface InvitationMailData {
  kind: MailKind;
  personName: string;
  companyName: string;
  link: string;
  expiresAt: Date;
  /** the sender's message */
  message?: string;
  /** why HR sent the submission back */
  remandReason?: string;
}

export function renderInvitationMail(d: InvitationMailData): { subject: string; text: string } {
  const subject = d.kind === 'reminder' ? `${INVITATION_SUBJECT}（再通知）` : d.kind === 'remand' ? `${INVITATION_SUBJECT}（差戻し）` : INVITATION_SUBJECT;
  const lead = {
    invitation: `${d.companyName} からマイナンバー（個人番号）の登録をお願いします。`,
    reminder: `${d.companyName} からお送りしたマイナンバー（個人番号）登録のお願いについて、まだ登録が完了していません。`,
    remand: `${d.companyName} に提出いただいたマイナンバー（個人番号）の登録内容が差し戻されました。内容を修正して、もう一度提出してください。`,
  }[d.kind];
  const text = [
    `${d.personName} 様`,
    '',
    lead,
    ...(d.remandReason ? ['', '【差戻しの理由】', d.remandReason] : []),
    ...(d.message ? ['', '【担当者からのメッセージ】', d.message] : []),
    '',
    '下記のリンクを開き、画面の案内に従って登録してください。',
    '',
    d.link,
    '',
    `リンクの有効期限: ${jst.format(d.expiresAt)}（日本時間）`,
    'このリンクはあなた専用です。他の人に転送しないでください。',
    '心当たりがない場合は、このメールを破棄してください。',
    '',
    '――',
    'マイナンバー管理 (mynaflow)',
  ].join('\n');
  return { subject, text };
}
