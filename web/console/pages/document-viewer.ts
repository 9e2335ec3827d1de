/**
 * The document images beside the entered data (seed 001 ch. 9): thumbnails to choose from, and the
 * chosen image enlarged, zoomed and rotated (a phone photo often arrives sideways). Images come from
 * the API with the session cookie; every view is recorded there.
 */
import { api, type HrDocument } from '../api';
import { DOCUMENT_LABELS, sideLabel } from '../../shared/labels';
import { h } from '../ui';

const PURPOSE = { number_confirmation: '番号確認書類', identity: '本人確認書類' } as const;

export const documentTitle = (d: HrDocument): string => `${PURPOSE[d.purpose]}：${DOCUMENT_LABELS[d.type]}（${sideLabel(d.purpose, d.type, d.side)}）`;

let viewers = 0;

export function documentViewer(registrantId: string, docs: HrDocument[], heading: string): HTMLElement {
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
    const fit = Math.min(1, 620 / Math.max(img.naturalWidth, img.naturalHeight));
    const w = img.naturalWidth * fit * zoom;
    const hgt = img.naturalHeight * fit * zoom;
    const sideways = turn % 180 !== 0;
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
    const b = h('button', { type: 'button', 'aria-pressed': 'false', 'data-document-id': d.id }, h('img', { src: api.documentImageUrl(registrantId, d.id), alt: '' }), documentTitle(d));
    b.addEventListener('click', () => choose(i));
    return b;
  });
  const choose = (i: number) => {
    const d = docs[i]!;
    zoom = 1;
    turn = 0;
    img.dataset.zoom = '1';
    img.dataset.rotation = '0';
    img.src = api.documentImageUrl(registrantId, d.id);
    img.alt = documentTitle(d);
    caption.textContent = documentTitle(d);
    thumbs.forEach((t, j) => t.setAttribute('aria-pressed', String(i === j)));
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
    stage,
    h('ul', { class: 'thumbs', 'aria-label': '画像の一覧' }, ...thumbs.map((t) => h('li', {}, t))),
  );
}
