/** The invitation and reminder mails (Japanese; seed 001 ch. 7 gives the subject). */
import type { MailKind } from '../../shared';
import { employerSubject } from './employer-sender';
import { dayWithWeekday } from '../dates/day-text';

const SUBJECT_OF: Record<MailKind, string> = {
  invitation: 'マイナンバー登録のお願い',
  reminder: 'マイナンバー登録のお願い（再通知）',
  remand: 'マイナンバー登録のお願い（差戻し）',
};

/** The employer's name leads the subject (seed 001 ch. 7's subject, 【マイナンバー管理】 giving way to it). */
export const invitationSubject = (kind: MailKind, companyName: string): string => employerSubject(companyName, SUBJECT_OF[kind]);

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
  /** where replies go (HR's address), when the sender gave one */
  replyTo?: string;
  /** the company has set a passcode: the first visit asks for it */
  passcodeRequired?: boolean;
  /** 提出期限 (YYYY-MM-DD), when HR set one */
  submissionDueDate?: string;
  /** today in Japan (YYYY-MM-DD): a reminder after the deadline says it has passed */
  today?: string;
}

/** The deadline's lines: asked for, or — in a reminder sent after it — passed. */
function dueLines(d: InvitationMailData): string[] {
  if (!d.submissionDueDate) return [];
  const passed = d.today !== undefined && d.today > d.submissionDueDate;
  return ['', passed ? `【提出期限】${dayWithWeekday(d.submissionDueDate)}を過ぎています。お早めに登録してください。` : `【提出期限】${dayWithWeekday(d.submissionDueDate)}までに登録してください。`];
}

export function renderInvitationMail(d: InvitationMailData): { subject: string; text: string } {
  const lead = {
    invitation: `${d.companyName} からマイナンバー（個人番号）の登録をお願いします。`,
    reminder: `${d.companyName} からお送りしたマイナンバー（個人番号）登録のお願いについて、まだ登録が完了していません。`,
    remand: `${d.companyName} に提出いただいたマイナンバー（個人番号）の登録内容が差し戻されました。内容を修正して、もう一度提出してください。`,
  }[d.kind];
  const origin = new URL(d.link).origin;
  const text = [
    `${d.personName} 様`,
    '',
    lead,
    ...dueLines(d),
    ...(d.remandReason ? ['', '【差戻しの理由】', d.remandReason] : []),
    ...(d.message ? ['', '【担当者からのメッセージ】', d.message] : []),
    '',
    '下記のリンクを開き、画面の案内に従って登録してください（スマートフォンで5分ほどです）。',
    '',
    d.link,
    '',
    `リンクの有効期限: ${jst.format(d.expiresAt)}（日本時間）`,
    'このリンクはあなた専用です。他の人に転送しないでください。',
    '',
    '【ご用意いただくもの】',
    '・マイナンバーカード（ない場合は、マイナンバーの記載された住民票の写し、または記載事項が住民票と同じ通知カード）',
    '・マイナンバーカードがない場合は、運転免許証やパスポートなどの本人確認書類',
    '・扶養親族がいる場合は、その方のマイナンバー',
    '',
    ...(d.passcodeRequired
      ? ['【パスコード】', `登録の最初に、会社のパスコードの入力が必要です。パスコードはこのメールには書いていません。${d.companyName} のご担当者にお尋ねください。`, '']
      : []),
    '【お問い合わせ】',
    d.replyTo ? `ご不明な点は、このメールに返信するか ${d.replyTo} までお問い合わせください。` : `ご不明な点は、${d.companyName} のご担当者にお問い合わせください（このメールへの返信は届きません）。`,
    '',
    '【このメールが本物か確かめるには】',
    `・リンクのアドレスが ${origin}/ で始まることを確かめてから開いてください。`,
    '・マイナンバーをメールへの返信や電話でお聞きすることはありません。',
    '・心当たりがない場合は、リンクを開かずにこのメールを破棄し、会社のご担当者にお知らせください。',
    '',
    '――',
    `${d.companyName}（マイナンバー管理 mynaflow からお送りしています）`,
  ].join('\n');
  return { subject: invitationSubject(d.kind, d.companyName), text };
}
