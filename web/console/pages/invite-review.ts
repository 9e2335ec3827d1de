/**
 * 収集メール一括送信 and 紙の登録依頼書 (seed 001 ch. 7, 8): the review list before anything goes out.
 * The server resolves the selection (the rows picked, or everyone the filter matches across pages)
 * and says who cannot be invited and why; HR unticks whom they like, then sends — mails in calls of
 * 500, sheets in calls of 100 — and sees per person what happened.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_SHORT, dateTime, fullName } from '../labels';
import { cancelButton, dialog, h, messageLine, say, showError, statusBadge, table } from '../ui';
import { inviteOptionFields } from './invite-dialog';
import { passcodeNotice } from './passcode';

type Review = Schemas['InvitationReviewResult'];
type Person = Review['people'][number];
export type Selection = { registrantIds: string[] } | { filter: Schemas['RegistrantFilter'] };
export type Channel = 'mail' | 'paper';
/** The mail's options when the screen before has asked them already (スマホで収集). */
export type MailOptions = Pick<Schemas['BulkInvite'], 'message' | 'replyTo' | 'copyTo'>;

const MAIL_BATCH = 500;
const PAPER_BATCH = 100;
/** Ticked at first, as in the manual: those not yet registered or sent back. */
const TICKED_AT_FIRST = new Set<Schemas['Status']>(['unregistered', 'remanded']);

const chunks = <T>(xs: T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

/** Shows the review, sends what HR confirms; resolves with how many went out (0 when cancelled). */
export async function reviewAndSend(ctx: Ctx, selection: Selection, channel: Channel, preset?: MailOptions): Promise<number> {
  const [review, tenant] = await Promise.all([api.reviewInvitations({ channel, ...selection }), api.tenant().catch(() => null)]);
  const going = review.people.filter((p) => p.invitable);
  const left = review.people.filter((p) => !p.invitable);
  const ticked = new Set(going.filter((p) => TICKED_AT_FIRST.has(p.status)).map((p) => p.registrantId));
  const title = channel === 'mail' ? '収集メール一括送信' : '登録依頼書（紙）の印刷';

  return (
    (await dialog<number>(title, (close) => {
      const count = h('p', { id: 'review-count', class: 'total' });
      const message = messageLine('review-message');
      const sendButton = h('button', { type: 'button', class: 'primary', id: 'review-send' }, channel === 'mail' ? '送信' : '発行して印刷する');
      const follow = () => {
        count.textContent = `対象者：${ticked.size}名（全${review.total}名中）`;
        sendButton.disabled = ticked.size === 0;
      };
      const boxes: HTMLInputElement[] = [];
      const all = h('input', { type: 'checkbox', id: 'review-all', 'aria-label': '送信できる全員を選択' });
      const rows = going.map((p) => {
        const box = h('input', { type: 'checkbox', 'aria-label': `${fullName(p)}を選択`, ...(ticked.has(p.registrantId) ? { checked: true } : {}) });
        boxes.push(box);
        box.addEventListener('change', () => {
          if (box.checked) ticked.add(p.registrantId);
          else ticked.delete(p.registrantId);
          all.checked = ticked.size === going.length;
          follow();
        });
        return personRow(p, box, p.note ?? '');
      });
      all.checked = going.length > 0 && ticked.size === going.length;
      all.addEventListener('change', () => {
        boxes.forEach((b, i) => {
          b.checked = all.checked;
          if (all.checked) ticked.add(going[i]!.registrantId);
          else ticked.delete(going[i]!.registrantId);
        });
        follow();
      });
      follow();

      const mailFields = channel === 'mail' && !preset ? inviteOptionFields(ctx) : [];
      const options = h('div', { class: 'form', id: 'review-options' }, ...mailFields);

      sendButton.addEventListener('click', async () => {
        if (!ticked.size) return;
        sendButton.disabled = true;
        sendButton.setAttribute('aria-busy', 'true');
        try {
          const ids = going.map((p) => p.registrantId).filter((x) => ticked.has(x));
          if (channel === 'mail') {
            const opts = preset ?? mailOptionsOf(options, ctx);
            if (typeof opts === 'string') return say(message, opts);
            const sent = await sendMails(ids, opts, message);
            if (sent !== null) close(sent);
          } else {
            const printed = await printSheets(ids, message, tenant?.passcodeSet ?? false, ctx.me.tenant.name);
            if (printed !== null) close(printed);
          }
        } catch (err) {
          showError(message, err);
        } finally {
          sendButton.disabled = ticked.size === 0;
          sendButton.removeAttribute('aria-busy');
        }
      });

      return [
        h('p', {}, channel === 'mail' ? '対象者にマイナンバー収集メールを送信します。送信する人にチェックを付けてください（左上のチェックボックスで全員を選べます）。' : '対象者ごとに、登録用QRコードを載せたA4の依頼書を1人1ページで印刷します。メールアドレスのない人にも使えます。'),
        tenant ? passcodeNotice(ctx, tenant) : null,
        count,
        table('送信する人', [h('span', { 'data-label': '選択' }, all), 'ステータス', '社員コード', '登録者名', '区分', 'メールアドレス', '備考'], rows, '送信できる人はいません'),
        left.length
          ? h(
              'details',
              { class: 'review-left', id: 'review-left', open: true },
              h('summary', {}, `送信しない人（${left.length}名）`),
              table('送信しない人', ['ステータス', '社員コード', '登録者名', '区分', 'メールアドレス', '理由'], left.map((p) => personRow(p, null, p.message ?? ''))),
            )
          : null,
        options,
        message,
        h('div', { class: 'buttons' }, sendButton, cancelButton(close)),
      ];
    }, { wide: true })) ?? 0
  );
}

function personRow(p: Person, box: HTMLInputElement | null, remark: string): HTMLTableRowElement {
  return h(
    'tr',
    { 'data-registrant': p.registrantId },
    ...(box ? [h('td', {}, box)] : []),
    h('td', {}, statusBadge(p.status)),
    h('td', {}, p.employeeCode ?? ''),
    h('td', {}, fullName(p)),
    h('td', {}, CATEGORY_SHORT[p.category] ?? p.category),
    h('td', {}, p.email ?? '（なし）'),
    h('td', {}, remark),
  );
}

function mailOptionsOf(scope: HTMLElement, ctx: Ctx): MailOptions | string {
  const value = (name: string) => (scope.querySelector(`[name="${name}"]`) as HTMLInputElement | null)?.value.trim() ?? '';
  const replyTo = value('replyTo');
  if (replyTo && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(replyTo)) return '返信先メールアドレスの形式が正しくありません';
  const copy = (scope.querySelector('[name="copyToSelf"]') as HTMLInputElement | null)?.checked;
  return { ...(value('message') ? { message: value('message') } : {}), ...(replyTo ? { replyTo } : {}), ...(copy ? { copyTo: ctx.me.user.email } : {}) };
}

/** Mails in calls of 500, each retried safely under its own key; the outcome per person is summed up. */
async function sendMails(ids: string[], opts: MailOptions, message: HTMLElement): Promise<number | null> {
  let sent = 0;
  let pending = 0;
  const skipped: string[] = [];
  for (const [i, part] of chunks(ids, MAIL_BATCH).entries()) {
    say(message, `送信中…（${Math.min((i + 1) * MAIL_BATCH, ids.length)} / ${ids.length}人）`, 'info');
    const res = await api.inviteMany({ registrantIds: part, ...opts });
    sent += res.sent;
    pending += res.pending;
    skipped.push(...res.results.filter((x) => x.outcome === 'skipped').map((x) => x.message ?? x.code ?? ''));
  }
  say(
    message,
    [`${sent}人に送信しました。`, ...(pending ? [`${pending}人は受け付けました。メールサーバーの復旧を待って自動で送信します。`] : []), ...(skipped.length ? [`${skipped.length}人は送信しませんでした：${[...new Set(skipped)].join('、')}`] : [])],
    skipped.length || pending ? 'info' : 'ok',
  );
  // Said on the screen behind the dialog too, where HR looks once it closes.
  resultLine(message.textContent ?? '');
  return sent + pending;
}

/** Sheets in calls of 100, then the print view of them all. */
async function printSheets(ids: string[], message: HTMLElement, passcodeSet: boolean, company: string): Promise<number | null> {
  const results: Schemas['PaperInvitationResult']['results'] = [];
  for (const [i, part] of chunks(ids, PAPER_BATCH).entries()) {
    say(message, `発行中…（${Math.min((i + 1) * PAPER_BATCH, ids.length)} / ${ids.length}人）`, 'info');
    results.push(...(await api.paperInvitations({ registrantIds: part })).results);
  }
  const sheets = results.flatMap((r) => (r.sheet ? [r.sheet] : []));
  const notIssued = results.filter((r) => !r.sheet).map((r) => r.message ?? r.code ?? '');
  resultLine([`${sheets.length}人の依頼書を発行しました。`, ...(notIssued.length ? [`${notIssued.length}人は発行しませんでした：${[...new Set(notIssued)].join('、')}`] : [])].join(''));
  if (sheets.length) showSheets(sheets, { passcodeSet, company });
  return sheets.length;
}

function resultLine(text: string) {
  const line = document.getElementById('bulk-message');
  if (line) say(line, text, 'info');
}

/**
 * The print view: one A4 page per person (company, name, what to do, the QR code of their own
 * link, its expiry). Over the console until closed; printing prints only the sheets.
 */
export function showSheets(sheets: Sheet[], opts: { passcodeSet: boolean; company: string }): void {
  document.getElementById('paper-sheets')?.remove();
  const urls: string[] = [];
  const close = () => {
    view.remove();
    document.body.classList.remove('printing-sheets');
    urls.forEach((u) => URL.revokeObjectURL(u));
  };
  const view = h(
    'div',
    { id: 'paper-sheets', class: 'paper-sheets', role: 'region', 'aria-label': '登録依頼書の印刷' },
    h(
      'div',
      { class: 'buttons no-print' },
      h('button', { type: 'button', class: 'primary', onclick: () => window.print() }, '印刷する'),
      h('button', { type: 'button', class: 'secondary', onclick: close }, '閉じる'),
      h('span', { class: 'hint' }, `${sheets.length}人分（1人1ページ）。印刷したら、ご本人に直接お渡しください。`),
    ),
    ...sheets.map((s) => {
      const sheet = paperSheet(s!, opts);
      urls.push(sheet.url);
      return sheet.el;
    }),
  );
  document.body.append(view);
  document.body.classList.add('printing-sheets');
  view.focus();
}

type Sheet = NonNullable<Schemas['PaperInvitationResult']['results'][number]['sheet']>;

/** One person's A4 sheet; `url` is the QR image's object URL, to revoke when the sheet goes. */
export function paperSheet(s: Sheet, opts: { passcodeSet: boolean; company: string }, ids: { sheet?: string; image?: string } = {}): { el: HTMLElement; url: string } {
  const url = URL.createObjectURL(new Blob([s.qrSvg], { type: 'image/svg+xml' }));
  const el = h(
    'section',
    { class: 'sheet paper-sheet', id: ids.sheet },
    h('p', { class: 'company' }, opts.company),
    h('h2', {}, 'マイナンバー登録のお願い'),
    h('p', { class: 'addressee' }, `${fullName(s)} 様`, s.employeeCode ? `（社員コード ${s.employeeCode}）` : ''),
    h('p', {}, '法令で定められた手続き（源泉徴収票・社会保険など）のため、マイナンバーの登録をお願いします。'),
    h(
      'ol',
      {},
      h('li', {}, 'スマートフォンのカメラで下のQRコードを読み取ります。'),
      h('li', {}, opts.passcodeSet ? '初めての時は、ご自身でパスワードを決め、会社のパスコード（担当者から別にお知らせします）を入力します。' : '初めての時は、ご自身でパスワードを決めます。'),
      h('li', {}, '画面の案内に従って、マイナンバーと本人確認書類を登録し、最後に「この内容で会社に提出する」を押します。'),
    ),
    h('img', { src: url, alt: `${fullName(s)} さんの登録用QRコード`, class: 'sheet-qr', id: ids.image }),
    h('p', {}, `有効期限：${dateTime(s.expiresAt)}`),
    h('p', { class: 'hint' }, 'このQRコードはご本人専用です。ほかの人に渡したり、写真を共有したりしないでください。'),
  );
  return { el, url };
}
