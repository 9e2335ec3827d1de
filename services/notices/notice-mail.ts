/**
 * The mails that close the loop (Japanese): the employee's receipt on submitting and the mail on
 * approval, HR's digest of new submissions. No number, no reason text, no link that logs anyone in:
 * the employee's mails say what happened, HR's says how many and where to look.
 */
import { employerSubject } from '../mail/employer-sender';

export type EmployeeNoticeKind = 'receipt' | 'approval';
export type NoticeKind = EmployeeNoticeKind | 'digest';
export const NOTICE_KINDS: readonly NoticeKind[] = ['receipt', 'approval', 'digest'];

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
