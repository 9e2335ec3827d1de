/**
 * スマホで収集の印刷 (seed 001 ch. 8): a sheet with the person's QR code to hand over or post. Issuing
 * it makes a link of its own (recorded), so it happens on a button, not on opening the screen.
 */
import { api } from '../api';
import type { Ctx } from '../context';
import { dateTime, fullName } from '../labels';
import { href } from '../router';
import { actionButton, h, link, messageLine, notice, showError, type View } from '../ui';

export async function qrScreen(ctx: Ctx, id: string): Promise<View> {
  const r = await api.get(id);
  const sheet = h('div', { class: 'sheet-holder' });
  const message = messageLine('qr-message');
  const issue = actionButton('QRコードを発行する', async () => {
    try {
      const file = await api.qr(id);
      const url = URL.createObjectURL(file.blob);
      sheet.replaceChildren(
        h(
          'div',
          { class: 'sheet', id: 'qr-sheet' },
          h('p', {}, ctx.me.tenant.name),
          h('h2', {}, `${fullName(r)} 様`),
          h('p', {}, 'マイナンバーの登録をお願いします。スマートフォンのカメラで下のQRコードを読み取り、表示された画面の案内に従って登録してください。'),
          h('img', { src: url, alt: `${fullName(r)} さんの登録用QRコード`, id: 'qr-image' }),
          r.invitation?.expiresAt ? h('p', {}, `有効期限：${dateTime(r.invitation.expiresAt)}`) : null,
          h('p', { class: 'hint' }, 'このQRコードはご本人専用です。ほかの人に渡さないでください。'),
        ),
        h('div', { class: 'buttons no-print' }, h('button', { type: 'button', class: 'primary', onclick: () => window.print() }, '印刷する')),
      );
    } catch (err) {
      showError(message, err);
    }
  });
  return {
    page: 'qr',
    title: `QRコードの印刷：${fullName(r)} さん`,
    body: [
      h('p', { class: 'no-print' }, link(href(`registrants/${id}`), '詳細に戻る')),
      r.invitation?.state === 'open' ? null : notice('warning', '登録用リンクが有効なときだけ発行できます。先に収集メールを送信してください。'),
      h('p', { class: 'no-print' }, '発行したQRコードは、いまのリンクと同じ有効期限で使えます。発行は操作履歴に記録されます。'),
      ctx.canEdit ? h('div', { class: 'buttons no-print' }, issue) : null,
      message,
      sheet,
    ],
  };
}
