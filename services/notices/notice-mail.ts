/**
 * The mails that close the loop (Japanese): the employee's receipt on submitting and the mail on
 * approval, HR's digest of new submissions, HR's reminder of deletions waiting for its confirmation. No number, no reason text, no link that logs anyone in:
 * the employee's mails say what happened, HR's says how many and where to look.
 */
import { employerSubject } from '../mail/employer-sender';

export type EmployeeNoticeKind = 'receipt' | 'approval';
export type NoticeKind = EmployeeNoticeKind | 'digest' | 'deletion_reminder';
export const NOTICE_KINDS: readonly NoticeKind[] = ['receipt', 'approval', 'digest', 'deletion_reminder'];

/** HR's digest is the service's own mail. */
const SUBJECT = '【マイナンバー管理】';
const jst = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', dateStyle: 'long', timeStyle: 'short' });

/** `employer`: the company the mail comes from (services/mail/employer-sender.ts). */
export function renderEmployeeNotice(kind: EmployeeNoticeKind, d: { personName: string; companyName: string; at: Date }): { subject: string; text: string; employer: string } {
  const [subject, lead, next] =
    kind === 'receipt'
      ? [
          employerSubject(d.companyName, 'マイナンバーの提出を受け付けました'),
          `${d.companyName} へのマイナンバー（個人番号）の提出を受け付けました（${jst.format(d.at)}）。`,
          '担当者が内容を確認します。不備があった場合は、修正のお願いをメールでお送りします。',
        ]
      : [
          employerSubject(d.companyName, 'マイナンバーの登録が完了しました'),
          `${d.companyName} へ提出いただいたマイナンバー（個人番号）の登録が完了しました（${jst.format(d.at)}）。`,
          'ご協力ありがとうございました。このメールへの返信は不要です。',
        ];
  const text = [`${d.personName} 様`, '', lead, next, '', '心当たりがない場合は、会社の担当者にお問い合わせください。', '', '―――', `${d.companyName}（マイナンバー管理 mynaflow からお送りしています）`].join('\n');
  return { subject, text, employer: d.companyName };
}

export function renderDigest(d: { userName: string; companyName: string; fresh: number; waiting: number; oldest: Date | null; consoleUrl: string }): { subject: string; text: string } {
  return {
    subject: `${SUBJECT}新しい提出が ${d.fresh} 件あります（承認待ち ${d.waiting} 件）`,
    text: [
      `${d.userName} 様`,
      '',
      `${d.companyName} のマイナンバー収集で、前回のお知らせ以降に ${d.fresh} 件の提出がありました。`,
      `承認待ちは全部で ${d.waiting} 件です${d.oldest ? `（最も古い提出: ${jst.format(d.oldest)}）` : ''}。`,
      '',
      '管理画面の HOME「承認待ち」から確認してください。',
      d.consoleUrl,
      '',
      'このお知らせの頻度は、契約者情報の「提出のお知らせ」で変更できます。',
      '',
      '―――',
      'mynaflow マイナンバー管理',
    ].join('\n'),
  };
}

/** HR's reminder, weekly while any deletion waits for its confirmation (the tenant's confirmed mode). */
export function renderDeletionReminder(d: { userName: string; companyName: string; waiting: number; oldestDue: Date | null; consoleUrl: string }): { subject: string; text: string } {
  const day = new Intl.DateTimeFormat('ja-JP', { timeZone: 'UTC', dateStyle: 'long' });
  return {
    subject: `${SUBJECT}削除予定日を過ぎた登録者が ${d.waiting} 人います（削除の確認待ち）`,
    text: [
      `${d.userName} 様`,
      '',
      `${d.companyName} では、削除予定日を迎えた登録者の情報を、担当者の確認のあとで削除する設定になっています。`,
      `削除予定日を過ぎて確認を待っている登録者が ${d.waiting} 人います${d.oldestDue ? `（最も古い削除予定日: ${day.format(d.oldestDue)}）` : ''}。`,
      '保存期間を過ぎた個人番号は、速やかに削除しなければなりません。',
      '',
      '管理画面の HOME「削除の確認待ち」から、各登録者の画面で「削除を実行する」を押してください。',
      d.consoleUrl,
      '',
      'このお知らせは、確認待ちがなくなるまで毎週お送りします。',
      '',
      '―――',
      'mynaflow マイナンバー管理',
    ].join('\n'),
  };
}
