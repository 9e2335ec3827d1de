/**
 * The two input widgets that need care on a phone: the number typed twice (numeric keyboard, check
 * digit checked as you type with the server's own function) and a document image slot (camera or
 * file, preview, retake; size and type checked before anything is sent, then again by the server).
 */
import { INDIVIDUAL_NUMBER_MESSAGES, normalizeDigits, validateIndividualNumber } from '../../services/mynumber/validate';
import { MAX_IMAGE_BYTES, sniffImage } from '../../services/registration/images';
import { shrinkImage } from './shrink-image';
import { api, ApiError, type DocumentPurpose, type DocumentType, type Document, type Registration } from './api';
import { actionButton, h, messageLine, NUMBER_INPUT_ATTRS, say, unsay } from '../shared/dom';

export interface NumberPair {
  el: HTMLElement;
  /** Checks what was typed: the body fields to send ({} when both are empty and that is allowed), or null after showing the problem. */
  read(required: boolean): { myNumber?: string; myNumberConfirmation?: string } | null;
  /** Shows the API's message for the number. */
  showError(message: string): void;
}

/** Number twice. Nothing typed here is ever stored, logged or put into a URL; it is sent once and cleared. */
/** `sandbox`: the company takes invented numbers only (9999…), said as the number is typed. */
export function numberPair(id: string, entered: { entered: boolean; last4: string | null } | null, sandbox = false): NumberPair {
  const attrs = (name: string) => ({
    id: `${id}-${name}`,
    name: `${id}-${name}`,
    type: 'text',
    ...NUMBER_INPUT_ATTRS,
    placeholder: '12桁の数字',
    'aria-describedby': `${id}-${name}-message`,
    // Required until a number is on file (the 必須 mark beside the label is for the eye only).
    ...(entered?.entered ? {} : { 'aria-required': 'true' }),
  });
  const first = h('input', attrs('number'));
  const second = h('input', attrs('confirmation'));
  const firstMsg = messageLine(`${id}-number-message`);
  const secondMsg = messageLine(`${id}-confirmation-message`);

  const mark = (input: HTMLInputElement, bad: boolean) => (bad ? input.setAttribute('aria-invalid', 'true') : input.removeAttribute('aria-invalid'));

  /** As you type: too short says how many digits remain; 12 digits are checked at once. */
  const checkFirst = (final: boolean): boolean => {
    const digits = normalizeDigits(first.value);
    if (!digits) {
      unsay(firstMsg);
      mark(first, false);
      return false;
    }
    if (/[^0-9]/.test(digits) || digits.length > 12 || (final && digits.length < 12)) {
      say(firstMsg, INDIVIDUAL_NUMBER_MESSAGES.NUMBER_FORMAT);
      mark(first, true);
      return false;
    }
    if (digits.length < 12) {
      say(firstMsg, `あと${12 - digits.length}桁`, 'info');
      mark(first, false);
      return false;
    }
    const v = validateIndividualNumber(digits, undefined, { sandbox });
    if (!v.ok) {
      say(firstMsg, v.message);
      mark(first, true);
      return false;
    }
    say(firstMsg, '番号の形式は正しいです', 'ok');
    mark(first, false);
    return true;
  };
  const checkSecond = (final: boolean): boolean => {
    const a = normalizeDigits(first.value);
    const b = normalizeDigits(second.value);
    if (!b) {
      unsay(secondMsg);
      mark(second, false);
      return false;
    }
    if (b.length < a.length && a.startsWith(b) && !final) {
      unsay(secondMsg);
      mark(second, false);
      return false;
    }
    if (a !== b) {
      say(secondMsg, INDIVIDUAL_NUMBER_MESSAGES.NUMBER_MISMATCH);
      mark(second, true);
      return false;
    }
    if (validateIndividualNumber(a).ok) say(secondMsg, '一致しました', 'ok');
    else unsay(secondMsg);
    mark(second, false);
    return true;
  };
  first.addEventListener('input', () => {
    checkFirst(false);
    if (second.value) checkSecond(false);
  });
  first.addEventListener('change', () => checkFirst(true));
  second.addEventListener('input', () => checkSecond(false));
  second.addEventListener('change', () => checkSecond(true));

  const el = h(
    'div',
    { class: 'field number-pair' },
    entered?.entered ? h('p', { class: 'note', id: `${id}-entered` }, `入力済みです（末尾 ${entered.last4 ?? '----'}）。変更する場合だけ、新しい番号を2回入力してください。`) : null,
    h('label', { for: first.id }, 'マイナンバー（12桁）', entered?.entered ? null : h('span', { class: 'required', 'aria-hidden': 'true' }, '必須')),
    first,
    firstMsg,
    h('label', { for: second.id }, '確認のため、もう一度入力してください'),
    second,
    secondMsg,
  );

  return {
    el,
    read(required) {
      if (!first.value && !second.value) {
        if (!required) return {};
        say(firstMsg, INDIVIDUAL_NUMBER_MESSAGES.NUMBER_REQUIRED);
        mark(first, true);
        return null;
      }
      const okFirst = checkFirst(true);
      if (!okFirst) return null;
      if (!second.value) {
        say(secondMsg, '確認のため、もう一度入力してください');
        mark(second, true);
        return null;
      }
      if (!checkSecond(true)) return null;
      const value = { myNumber: first.value, myNumberConfirmation: second.value };
      return value;
    },
    showError(message) {
      say(firstMsg, message);
      mark(first, true);
    },
  };
}

/** Object URLs of local previews, released whenever a page is drawn again. */
const previews: string[] = [];
export function releasePreviews(): void {
  while (previews.length) URL.revokeObjectURL(previews.pop()!);
}

/** Messages that outlive the redraw after an upload ("アップロードしました"). */
const flashes = new Map<string, string>();

export interface SlotOptions {
  purpose: DocumentPurpose;
  type: DocumentType;
  side: 'front' | 'back';
  label: string;
  required: boolean;
  dependentId: string | null;
  existing: Document | undefined;
  /** The API's answer after an upload or removal: the page redraws from it. */
  changed(reg: Registration): void;
}

const megabytes = (n: number) => (n / 1024 / 1024).toFixed(1);

/**
 * One side of one document: camera (capture) or a file from the phone, a preview, retake, remove.
 * A large photo is made to fit first (shrink-image.ts). Refused here before any request: first bytes
 * that are not JPEG, PNG or GIF (the server's own table of signatures), or still more than 4 MB.
 */
export function imageSlot(o: SlotOptions): HTMLElement {
  const key = [o.dependentId ?? 'self', o.purpose, o.type, o.side].join(':');
  const slotName = `${o.purpose}-${o.type}-${o.side}`;
  const message = messageLine(`slot-${slotName}-${o.dependentId ?? 'self'}-message`);
  const preview = h('div', { class: 'preview' });
  const showStored = () => {
    preview.replaceChildren(
      o.existing
        ? h('img', { src: api.imageUrl(o.existing.id), alt: `${o.label}の画像`, 'data-document-id': o.existing.id })
        : h('span', { class: 'placeholder' }, '画像はまだありません'),
    );
  };
  showStored();

  const onFile = async (input: HTMLInputElement) => {
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    unsay(message);
    const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
    const type = sniffImage(head);
    if (!type) {
      say(message, ['JPEG、PNG、GIF形式の画像を選んでください', 'PDFなどの画像以外のファイルは使えません。']);
      return;
    }
    setBusy(true);
    try {
      // A camera photo is made to fit here; only what still cannot (a huge GIF) is refused.
      say(message, '画像を整えています…', 'info');
      const ready = await shrinkImage(file, type).catch(() => ({ image: file as Blob, type, shrunk: false }));
      if (ready.image.size > MAX_IMAGE_BYTES) {
        say(message, [`画像のサイズは4MBまでにしてください（選んだ画像は${megabytes(ready.image.size)}MBです）`, '別の画像を選ぶか、写真で撮り直してください。']);
        return;
      }
      const url = URL.createObjectURL(ready.image);
      previews.push(url);
      preview.replaceChildren(h('img', { src: url, alt: `${o.label}のプレビュー` }));
      say(message, '送信しています…', 'info');
      const reg = await api.upload({ purpose: o.purpose, type: o.type, side: o.side, dependentId: o.dependentId }, ready.image, ready.type);
      const done = o.existing ? '撮り直した画像に差し替えました' : 'アップロードしました';
      flashes.set(key, ready.shrunk ? `${done}（送りやすい大きさに縮小しました）` : done);
      o.changed(reg);
    } catch (err) {
      showStored();
      say(message, err instanceof ApiError ? err.messages : '送信できませんでした');
    } finally {
      setBusy(false);
    }
  };

  const fileInput = (source: 'camera' | 'file') => {
    const input = h('input', {
      type: 'file',
      class: 'visually-hidden',
      accept: 'image/jpeg,image/png,image/gif',
      capture: source === 'camera' ? 'environment' : null,
      'data-slot': slotName,
      'data-source': source,
    });
    input.addEventListener('change', () => void onFile(input));
    return input;
  };
  const camera = fileInput('camera');
  const picker = fileInput('file');
  const cameraLabel = h('label', { class: 'button secondary' }, o.existing ? '撮り直す' : 'カメラで撮影', camera);
  const pickerLabel = h('label', { class: 'button secondary' }, o.existing ? '選び直す' : '写真を選択', picker);
  const remove = o.existing
    ? actionButton(
        '削除',
        async () => {
          try {
            o.changed(await api.removeDocument(o.existing!.id));
          } catch (err) {
            say(message, err instanceof ApiError ? err.messages : '削除できませんでした');
          }
        },
        'link danger',
      )
    : null;
  const setBusy = (busy: boolean) => {
    for (const i of [camera, picker]) i.disabled = busy;
    for (const l of [cameraLabel, pickerLabel]) l.classList.toggle('disabled', busy);
  };

  const flash = flashes.get(key);
  if (flash && o.existing) {
    flashes.delete(key);
    say(message, flash, 'ok');
  }
  return h(
    'section',
    { class: `slot${o.existing ? ' filled' : ''}`, 'data-slot': slotName },
    h('h3', {}, o.label, o.required ? h('span', { class: 'required' }, '必須') : h('span', { class: 'optional' }, '任意')),
    preview,
    h('div', { class: 'slot-actions' }, cameraLabel, pickerLabel, remove),
    message,
  );
}
