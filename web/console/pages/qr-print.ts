/**
 * スマホで収集の印刷 (seed 001 ch. 8): one person's 登録依頼書 — the QR code of a link of their own, to
 * hand over or post. Where no invitation is open, issuing it starts the collection without a mail
 * (people without an address too). Issuing makes a link (recorded), so it happens on a button.
 */
import { api } from '../api';
import type { Ctx } from '../context';
import { fullName } from '../labels';
import { href } from '../router';
import { actionButton, h, link, messageLine, say, showError, type View } from '../ui';
import { paperSheet } from './invite-review';

export async function qrScreen(ctx: Ctx, id: string): Promise<View> {
  const [r, tenant] = await Promise.all([api.get(id), api.tenant().catch(() => null)]);
  const sheet = h('div', { class: 'sheet-holder' });
  const message = messageLine('qr-message');
  const issue = actionButton('QRコードを発行する', async () => {
    try {
      const [result] = (await api.paperInvitations({ registrantIds: [id] })).results;
      if (!result?.sheet) return say(message, result?.message ?? '発行できませんでした');
      const printable = paperSheet(result.sheet, { passcodeSet: tenant?.passcodeSet ?? false, company: ctx.me.tenant.name }, { sheet: 'qr-sheet', image: 'qr-image' });
      sheet.replaceChildren(printable.el, h('div', { class: 'buttons no-print' }, h('button', { type: 'button', class: 'primary', onclick: () => window.print() }, '印刷する')));
    } catch (err) {
      showError(message, err);
    }
  });
  const open = r.invitation?.state === 'open';
  return {
    page: 'qr',
    title: `登録依頼書の印刷：${fullName(r)} さん`,
    body: [
      h('p', { class: 'no-print' }, link(href(`registrants/${id}`), '詳細に戻る')),
      h(
        'p',
        { class: 'no-print' },
        open
          ? '発行したQRコードは、いまの登録用リンクと同じ有効期限で使えます。'
          : '登録用リンクがまだないため、発行すると収集を始めます（メールは送りません。有効期限は90日です）。メールアドレスのない人にも使えます。',
        '発行は操作履歴に記録されます。',
      ),
      ctx.canEdit ? h('div', { class: 'buttons no-print' }, issue) : null,
      message,
      sheet,
    ],
  };
}
