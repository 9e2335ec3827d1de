/**
 * 収集メール一括送信 and 紙の登録依頼書 (seed 001 ch. 7, 8): the review list before anything goes out.
 * The server resolves the selection (the rows picked, or everyone the filter matches across pages)
 * and says who cannot be invited and why; HR unticks whom they like, then sends — mails in calls of
 * 500, sheets in calls of 100 — and sees per person what happened.
 */
import { api, type Schemas } from '../api';
import type { Ctx } from '../context';
import { CATEGORY_SHORT, dateTime, fullName } from '../labels';
import { cancelButton, dialog, EMAIL, h, messageLine, say, showError, statusBadge, table } from '../ui';
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
  // A mail to someone whose link is open starts a new round (the mailed link dies): never ticked for them at first.
  const ticked = new Set(going.filter((p) => TICKED_AT_FIRST.has(p.status) && !(channel === 'mail' && p.note)).map((p) => p.registrantId));
  const title = channel === 'mail' ? '収集メール一括送信' : '登録依頼書（紙）の印刷';
  let done = 0;

  await dialog<number>(title, (close) => {
    const count = h('p', { id: 'review-count', class: 'total' });
    const message = messageLine('review-message');
    const sendButton = h('button', { type: 'button', class: 'primary', id: 'review-send' }, channel === 'mail' ? '送信' : '発行して印刷する');
    const cancel = cancelButton(() => close(done));
    let busy = false;
    const follow = () => {
      count.textContent = `対象者：${ticked.size}名（全${review.total}名中）`;
      sendButton.disabled = busy || ticked.size === 0;
      cancel.disabled = busy;
    };
    const boxes = new Map<string, HTMLInputElement>();
    const remarks = new Map<string, HTMLElement>();
    const all = h('input', { type: 'checkbox', id: 'review-all', 'aria-label': '送信できる全員を選択' });
    const rows = going.map((p) => {
      const box = h('input', { type: 'checkbox', 'aria-label': `${fullName(p)}を選択`, ...(ticked.has(p.registrantId) ? { checked: true } : {}) });
      boxes.set(p.registrantId, box);
      box.addEventListener('change', () => {
        if (box.checked) ticked.add(p.registrantId);
        else ticked.delete(p.registrantId);
        all.checked = ticked.size === going.length;
        follow();
      });
      const row = personRow(p, box, p.note ?? '');
      remarks.set(p.registrantId, row.lastElementChild as HTMLElement);
      return row;
    });
    all.checked = going.length > 0 && ticked.size === going.length;
    all.addEventListener('change', () => {
      for (const [id, b] of boxes) {
        if (b.disabled) continue;
        b.checked = all.checked;
        if (all.checked) ticked.add(id);
        else ticked.delete(id);
      }
      follow();
    });
    /** Sent (or issued): out of the selection for good, so pressing the button again never repeats it. */
    const settled = (ids: string[], remark: string, went = true) => {
      for (const id of ids) {
        ticked.delete(id);
        const b = boxes.get(id);
        if (b) [b.checked, b.disabled] = [false, true];
        remarks.get(id)?.replaceChildren(remark);
      }
      if (went) done += ids.length;
      follow();
    };
    follow();

    const mailFields = channel === 'mail' && !preset ? inviteOptionFields(ctx) : [];
    const options = h('div', { class: 'form', id: 'review-options' }, ...mailFields);

    sendButton.addEventListener('click', async () => {
      if (!ticked.size || busy) return;
      const ids = going.map((p) => p.registrantId).filter((x) => ticked.has(x));
      const opts = channel === 'mail' ? (preset ?? mailOptionsOf(options, ctx)) : undefined;
      if (typeof opts === 'string') return say(message, opts);
      busy = true;
      follow();
      sendButton.setAttribute('aria-busy', 'true');
      try {
        const finished = channel === 'mail' ? await sendMails(ids, opts!, message, settled) : await printSheets(ids, message, settled, { passcodeSet: tenant?.passcodeSet ?? false, company: ctx.me.tenant.name });
        if (finished) close(done);
      } finally {
        busy = false;
        sendButton.removeAttribute('aria-busy');
        follow();
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
      h('div', { class: 'buttons' }, sendButton, cancel),
    ];
    // Escape while a send runs would hide it, not stop it: the dialog stays until the run ends.
  }, { wide: true, blockClose: () => document.querySelector('#review-send[aria-busy]') !== null });
  return done;
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
  if (replyTo && !EMAIL.test(replyTo)) return '返信先メールアドレスの形式が正しくありません';
  const copy = (scope.querySelector('[name="copyToSelf"]') as HTMLInputElement | null)?.checked;
  return { ...(value('message') ? { message: value('message') } : {}), ...(replyTo ? { replyTo } : {}), ...(copy ? { copyTo: ctx.me.user.email } : {}) };
}

type Settled = (ids: string[], remark: string, went?: boolean) => void;

/**
 * Mails in calls of 500; each call's people are settled as soon as it answers. A call that fails
 * stops the run with the reason, the rest still ticked: pressing 送信 again sends only them.
 */
async function sendMails(ids: string[], opts: MailOptions, message: HTMLElement, settled: Settled): Promise<boolean> {
  let sent = 0;
  let pending = 0;
  const skipped: string[] = [];
  const summary = () => [`${sent}人に送信しました。`, ...(pending ? [`${pending}人は受け付けました。メールサーバーの復旧を待って自動で送信します。`] : []), ...(skipped.length ? [`${skipped.length}人は送信しませんでした：${[...new Set(skipped)].join('、')}`] : [])];
  for (const [i, part] of chunks(ids, MAIL_BATCH).entries()) {
    say(message, `送信中…（${Math.min((i + 1) * MAIL_BATCH, ids.length)} / ${ids.length}人）`, 'info');
    try {
      const res = await api.inviteMany({ registrantIds: part, ...opts });
      sent += res.sent;
      pending += res.pending;
      for (const r of res.results) {
        if (r.outcome === 'skipped') skipped.push(r.message ?? r.code ?? '');
        settled([r.registrantId], r.outcome === 'sent' ? '送信しました' : r.outcome === 'pending' ? '送信待ち（自動で送信します）' : `送信しませんでした：${r.message ?? r.code ?? ''}`, r.outcome !== 'skipped');
      }
    } catch (err) {
      showError(message, err);
      message.prepend(`${summary().join('')}残りの人は送信していません（チェックが残っています）。`);
      return false;
    }
  }
  say(message, summary(), skipped.length || pending ? 'info' : 'ok');
  // Said on the screen behind the dialog too, where HR looks once it closes.
  resultLine(message.textContent ?? '');
  return true;
}

/**
 * Sheets in calls of 100, then the print view of all issued. A call that fails stops the run, and the
 * sheets issued so far are still shown (their links are live): the rest stays ticked for a retry.
 */
async function printSheets(ids: string[], message: HTMLElement, settled: Settled, opts: { passcodeSet: boolean; company: string }): Promise<boolean> {
  const sheets: Sheet[] = [];
  const notIssued: string[] = [];
  let failed: unknown;
  for (const [i, part] of chunks(ids, PAPER_BATCH).entries()) {
    say(message, `発行中…（${Math.min((i + 1) * PAPER_BATCH, ids.length)} / ${ids.length}人）`, 'info');
    try {
      for (const r of (await api.paperInvitations({ registrantIds: part })).results) {
        if (r.sheet) sheets.push(r.sheet);
        else if (r.outcome === 'skipped') notIssued.push(r.message ?? r.code ?? '');
        // Pending: not issued, left ticked for the next press.
        if (r.outcome !== 'pending') settled([r.registrantId], r.sheet ? '発行しました' : `発行しませんでした：${r.message ?? r.code ?? ''}`, !!r.sheet);
      }
    } catch (err) {
      failed = err;
      break;
    }
  }
  const rest = ids.length - sheets.length - notIssued.length;
  const line = [
    `${sheets.length}人の依頼書を発行しました。`,
    ...(notIssued.length ? [`${notIssued.length}人は発行しませんでした：${[...new Set(notIssued)].join('、')}`] : []),
    ...(rest ? [`残りの${rest}人は一時的に発行できませんでした。もう一度選んで印刷してください。`] : []),
  ].join('');
  // Issued sheets are live links: shown (and the dialog closed) whatever happened to the rest.
  if (sheets.length) {
    resultLine(line);
    showSheets(sheets, opts);
    return true;
  }
  if (failed) {
    showError(message, failed);
    return false;
  }
  say(message, line, 'info');
  return rest === 0;
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
    h(
      'div',
      { class: 'sheet-code' },
      h('p', {}, 'QRコードを読み取れない場合は、ブラウザで次のページを開き、登録コードを入力してください。'),
      h('p', { class: 'sheet-url' }, s.codeEntryUrl),
      h('p', {}, '登録コード：', h('span', { class: 'registration-code', translate: 'no' }, s.registrationCode)),
    ),
    h('p', {}, `有効期限：${dateTime(s.expiresAt)}`),
    h('p', { class: 'hint' }, 'このQRコードと登録コードはご本人専用です。ほかの人に渡したり、写真を共有したりしないでください。'),
  );
  return { el, url };
}
