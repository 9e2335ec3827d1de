/**
 * Small pieces the administration screens share (login users, settings, groups, history, connectors,
 * CSV, adding registrants): a confirm dialog, a form in a dialog, checkbox and radio groups, a message
 * carried over one redraw, every page of the registrant list, Japan-time dates, a copy button and the
 * masked number input.
 */
import { api, type ListQuery, type RegistrantItem } from '../api';
import { NUMBER_INPUT_ATTRS } from '../../shared/dom';
import { actionButton, cancelButton, checkbox, dialog, form, h, input, notice, say } from '../ui';

/** "Are you sure?" with the consequence spelled out; resolves true only on the confirming button. */
export function confirmDialog(title: string, lines: string[], confirmLabel: string, danger = true): Promise<boolean> {
  return dialog<boolean>(title, (close) => [
    ...lines.map((l) => h('p', {}, l)),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'button', class: danger ? 'primary danger' : 'primary', onclick: () => close(true) }, confirmLabel),
      cancelButton(close),
    ),
  ]).then((v) => v === true);
}

/**
 * A form in a modal dialog. The action returns what the dialog resolves with (it then closes), or
 * undefined after saying what is wrong (it stays open); API errors land in the form's message line.
 */
export function formDialog<T>(
  title: string,
  children: (Node | null | false)[],
  submitLabel: string,
  action: (data: FormData, message: HTMLElement) => Promise<T | undefined>,
  id: string,
): Promise<T | undefined> {
  return dialog<T>(title, (close) => [
    form(
      children,
      submitLabel,
      async (data, message) => {
        const result = await action(data, message);
        if (result !== undefined) close(result);
      },
      { id, extraButtons: [cancelButton(close)] },
    ),
  ]);
}

/** Checkboxes under one legend; FormData.getAll(name) gives the checked values. */
export function checkboxGroup(name: string, legend: string, options: [string, string][], checked: string[] = [], hint?: string): HTMLFieldSetElement {
  return h(
    'fieldset',
    { class: 'choices', id: `f-${name}` },
    h('legend', {}, legend),
    hint ? h('p', { class: 'hint' }, hint) : null,
    ...options.map(([value, label]) => {
      const box = checkbox(name, label, checked.includes(value), value);
      // form.reset() goes back to these.
      box.querySelector('input')!.defaultChecked = checked.includes(value);
      return box;
    }),
  );
}

/** Radio buttons under one legend. */
export function radioGroup(name: string, legend: string, options: [string, string][], value = ''): HTMLFieldSetElement {
  return h(
    'fieldset',
    { class: 'choices', id: `f-${name}` },
    h('legend', {}, legend),
    ...options.map(([v, label]) => {
      const radio = h('input', { type: 'radio', name, value: v });
      radio.checked = v === value;
      radio.defaultChecked = v === value;
      return h('label', { class: 'check' }, radio, label);
    }),
  );
}

let flash: { kind: 'ok' | 'info'; text: string } | null = null;
/** A message for the next drawing of a screen (after ctx.redraw()). */
export function setFlash(text: string, kind: 'ok' | 'info' = 'ok'): void {
  flash = { kind, text };
}
/** The message set before the redraw, once. */
export function takeFlash(): HTMLElement | null {
  const f = flash;
  flash = null;
  return f ? notice(f.kind, f.text) : null;
}

/** Every registrant the query finds, page after page (nextCursor), up to `max`. */
export async function allRegistrants(q: ListQuery, max = 10_000): Promise<RegistrantItem[]> {
  const items: RegistrantItem[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.list({ ...q, limit: '1000', cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && items.length < max);
  return items;
}

const JST = new Intl.DateTimeFormat('ja-JP', {
  timeZone: 'Asia/Tokyo',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
/** 2026-12-02T03:04:05Z → 2026/12/02 12:04:05 (Japan time, with seconds: the history's precision). */
export function dateTimeSeconds(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const parts = JST.formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}/${get('month')}/${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** A day as a date input gives it (YYYY-MM-DD) → its first moment in Japan, as the API takes it. */
export const startOfDayJst = (day: string): string | undefined => (DATE.test(day) ? `${day}T00:00:00+09:00` : undefined);
/** The moment the day ends in Japan (the next day's start): the API's `to` is exclusive. */
export function endOfDayJst(day: string): string | undefined {
  const m = DATE.exec(day);
  if (!m) return undefined;
  const next = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + 1));
  return `${next.toISOString().slice(0, 10)}T00:00:00+09:00`;
}

/** Copies a text to the clipboard, saying whether it worked (it may be refused: then select it by hand). */
export function copyButton(value: () => string, label: string, message: HTMLElement): HTMLButtonElement {
  return actionButton(
    label,
    async () => {
      try {
        await navigator.clipboard.writeText(value());
        say(message, 'コピーしました。', 'ok');
      } catch {
        say(message, 'コピーできませんでした。表示されている文字列を選択してコピーしてください');
      }
    },
    'secondary small',
  );
}

/**
 * A My Number field: numeric keyboard, shown as dots (like a password, but no password manager
 * offers to keep it), no autocomplete, spell check or autocorrect. What is typed is sent once and
 * cleared; it is never stored, logged or put in an address.
 */
export function numberInput(name: string, attrs: Record<string, string | number | boolean | undefined> = {}): HTMLInputElement {
  return input(name, {
    ...NUMBER_INPUT_ATTRS,
    class: 'masked',
    ...attrs,
  });
}
