/**
 * The document images beside the entered data (seed 001 ch. 9): thumbnails to choose from, and the
 * chosen image fitted whole to the stage, then zoomed and rotated (a phone photo often arrives sideways). Images come from
 * the API with the session cookie; every view is recorded there. An image that shows the number is
 * not loaded until HR gives their password and why (the collection check before approval, a purpose
 * of use afterwards), like the number itself; it is dropped from memory when another is chosen.
 */
import { api, type HrDocument } from '../api';
import { DOCUMENT_LABELS, sideLabel } from '../../shared/labels';
import { revealReasons } from '../labels';
import { cancelButton, dialog, field, form, h, input, notice, say, select, text } from '../ui';

const PURPOSE = { number_confirmation: '番号確認書類', identity: '本人確認書類' } as const;

export const documentTitle = (d: HrDocument): string => `${PURPOSE[d.purpose]}：${DOCUMENT_LABELS[d.type]}（${sideLabel(d.purpose, d.type, d.side)}）`;

let viewers = 0;

/** An image sent with a change HR has not decided: told apart from the approved ones beside it. */
const CHANGE_NOTE = '今回の変更で提出';

/** Asks for the password and the reason, then fetches the number-bearing image; undefined when cancelled. */
async function revealImage(access: ImageAccess, d: HrDocument): Promise<string | undefined> {
  const tenant = await api.tenant();
  const reasons = revealReasons(tenant.purposes, access.collecting);
  return dialog<string | undefined>('番号が写っている画像の表示', (close) => [
    notice('info', 'この画像にはマイナンバーが写っています。表示は理由とともに操作履歴に記録されます。ご自身のパスワードを入力してください。'),
    form(
      [
        h('p', {}, documentTitle(d)),
        field('表示する理由', select('reason', reasons), { required: true }),
        field('パスワード', input('password', { type: 'password', autocomplete: 'current-password' }), { required: true }),
      ],
      '表示する',
      async (data, message) => {
        const reason = text(data, 'reason');
        const password = String(data.get('password') ?? '');
        if (!reason || !password) return say(message, '理由とパスワードを入力してください');
        const file = await api.revealDocumentImage(access.registrantId, d.id, { reason: reason as never, password });
        close(URL.createObjectURL(file.blob));
      },
      { id: 'image-reveal-form', extraButtons: [cancelButton(close)] },
    ),
  ]);
}

export interface ImageAccess {
  registrantId: string;
  /** The person (or dependent) awaits approval: the collection check is a reason. */
  collecting: boolean;
}

export function documentViewer(access: ImageAccess, docs: HrDocument[], heading: string): HTMLElement {
  const { registrantId } = access;
  const n = ++viewers;
  if (!docs.length) return h('div', { class: 'viewer empty' }, h('p', {}, `${heading}：画像はありません。`));
  let zoom = 1;
  let turn = 0;
  const img = h('img', { alt: '', class: 'document-image' });
  const frame = h('div', { class: 'frame' }, img);
  const caption = h('p', { class: 'caption', id: `document-caption-${n}`, 'aria-live': 'polite' });
  const stage = h('div', { class: 'stage', tabindex: 0, role: 'region', 'aria-labelledby': `document-caption-${n}` }, frame);

  /** Sizes the frame to the turned image so the stage scrolls over all of it. */
  const layout = () => {
    if (!img.naturalWidth) return;
    const sideways = turn % 180 !== 0;
    // At 100 % the whole image fits the stage (turned or not): nothing of the card is cut off.
    const [across, down] = sideways ? [img.naturalHeight, img.naturalWidth] : [img.naturalWidth, img.naturalHeight];
    const fit = Math.min(1, (stage.clientWidth - 4 || 620) / across, (stage.clientHeight - 4 || 480) / down);
    const w = img.naturalWidth * fit * zoom;
    const hgt = img.naturalHeight * fit * zoom;
    img.style.width = `${w}px`;
    img.style.height = `${hgt}px`;
    img.style.transform = `translate(-50%, -50%) rotate(${turn}deg)`;
    frame.style.width = `${sideways ? hgt : w}px`;
    frame.style.height = `${sideways ? w : hgt}px`;
    img.dataset.zoom = String(zoom);
    img.dataset.rotation = String(turn);
  };
  img.addEventListener('load', layout);

  const thumbs = docs.map((d, i) => {
    const preview = d.showsNumber ? h('span', { class: 'locked-thumb', 'aria-hidden': 'true' }, '番号あり') : h('img', { src: api.documentImageUrl(registrantId, d.id), alt: '' });
    const b = h('button', { type: 'button', 'aria-pressed': 'false', 'data-document-id': d.id }, preview, documentTitle(d), d.pendingChange ? h('span', { class: 'badge status-pending' }, CHANGE_NOTE) : null);
    b.addEventListener('click', () => choose(i));
    return b;
  });
  /** The revealed image's object URL: released as soon as another image is chosen. */
  let revealed: string | undefined;
  const locked = h('div', { class: 'locked-image' });
  const choose = (i: number) => {
    const d = docs[i]!;
    zoom = 1;
    turn = 0;
    img.dataset.zoom = '1';
    img.dataset.rotation = '0';
    if (revealed) URL.revokeObjectURL(revealed);
    revealed = undefined;
    img.removeAttribute('src');
    img.alt = documentTitle(d);
    caption.textContent = d.pendingChange ? `${documentTitle(d)}（${CHANGE_NOTE}）` : documentTitle(d);
    thumbs.forEach((t, j) => t.setAttribute('aria-pressed', String(i === j)));
    locked.replaceChildren();
    // Nothing to show until the number-bearing image is revealed (no broken-image frame meanwhile).
    stage.hidden = d.showsNumber;
    if (!d.showsNumber) {
      img.src = api.documentImageUrl(registrantId, d.id);
      return;
    }
    const message = h('p', { class: 'message', role: 'alert' });
    const show = h('button', { type: 'button', class: 'primary small' }, '確認して表示する');
    show.addEventListener('click', () => {
      void revealImage(access, d).then(
        (url) => {
          if (!url) return;
          revealed = url;
          locked.replaceChildren();
          stage.hidden = false;
          img.src = url;
        },
        (err: Error) => say(message, err.message),
      );
    });
    locked.replaceChildren(h('p', {}, 'この画像にはマイナンバーが写っています。パスワードと表示する理由を入力すると表示されます。'), show, message);
  };
  const tool = (label: string, act: () => void) => h('button', { type: 'button', class: 'secondary small', onclick: () => (act(), layout()) }, label);
  choose(0);
  return h(
    'div',
    { class: 'viewer' },
    h('h3', {}, heading),
    caption,
    h(
      'div',
      { class: 'buttons tools', role: 'toolbar', 'aria-label': '画像の表示' },
      tool('拡大', () => (zoom = Math.min(zoom * 1.25, 5))),
      tool('縮小', () => (zoom = Math.max(zoom / 1.25, 0.4))),
      tool('右に回転', () => (turn = (turn + 90) % 360)),
      tool('左に回転', () => (turn = (turn + 270) % 360)),
      tool('元に戻す', () => ((zoom = 1), (turn = 0))),
    ),
    locked,
    stage,
    h('ul', { class: 'thumbs', 'aria-label': '画像の一覧' }, ...thumbs.map((t) => h('li', {}, t))),
  );
}
