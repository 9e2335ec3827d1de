/**
 * The console's building blocks: labelled fields, tables, status badges, modal dialogs and file
 * downloads, so every screen has the same accessible markup (a label for every control, focus moved to
 * the heading and into dialogs, errors announced with role=alert).
 */
import { actionButton, h, messageLine, say, show, unsay } from '../shared/dom';
import { ApiError } from '../shared/http';
import type { Schemas } from './api';
import { STATUS_LABELS } from './labels';

export { actionButton, h, messageLine, say, show, unsay };

export interface View {
  /** data-page of the root, for tests and styles */
  page: string;
  title: string;
  body: (Node | string | null | false | undefined)[];
}

type Control = HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;

/** A label above a control, a hint under it, and the control's own error line. */
export function field(label: string, control: Control, opts: { hint?: string; required?: boolean } = {}): HTMLDivElement {
  const id = control.id || `f-${control.name || Math.random().toString(36).slice(2)}`;
  control.id = id;
  const hintId = `${id}-hint`;
  if (opts.hint) control.setAttribute('aria-describedby', hintId);
  if (opts.required) control.required = true;
  return h(
    'div',
    { class: 'field' },
    // The marker stays outside the label: the control's name is the label alone (required is announced from the attribute).
    h('div', { class: 'label-row' }, h('label', { for: id }, label), opts.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, '必須') : null),
    control,
    opts.hint ? h('p', { class: 'hint', id: hintId }, opts.hint) : null,
  );
}

export function input(name: string, attrs: Record<string, string | number | boolean | undefined> = {}): HTMLInputElement {
  return h('input', { type: 'text', name, id: `f-${name}`, ...attrs });
}

export function select(name: string, options: [string, string][], value = '', attrs: Record<string, string | boolean> = {}): HTMLSelectElement {
  const el = h('select', { name, id: `f-${name}`, ...attrs }, ...options.map(([v, label]) => h('option', { value: v }, label)));
  // Without a known value the first option stays chosen (never an empty select sending "").
  if (options.some(([v]) => v === value)) el.value = value;
  return el;
}

export function textarea(name: string, attrs: Record<string, string | number> = {}): HTMLTextAreaElement {
  return h('textarea', { name, id: `f-${name}`, rows: 4, ...attrs });
}

/** One checkbox with its label to the right. */
export function checkbox(name: string, label: string, checked = false, value = 'true'): HTMLLabelElement {
  const box = h('input', { type: 'checkbox', name, value });
  box.checked = checked;
  box.defaultChecked = checked; // form.reset() returns to this
  return h('label', { class: 'check' }, box, label);
}

/**
 * A button for an action that changes what a section shows: it runs, the section is drawn again in
 * place (so the message line stays), and the action's sentence — or the error — is said.
 */
export function redrawingButton(label: string, run: () => Promise<string>, opts: { message: HTMLElement; redraw: () => Promise<unknown>; cls?: string }): HTMLButtonElement {
  return actionButton(
    label,
    async () => {
      try {
        const said = await run();
        await opts.redraw();
        say(opts.message, said, 'ok');
      } catch (err) {
        showError(opts.message, err);
      }
    },
    opts.cls ?? 'small',
  );
}

/** A form whose submit runs an async action once (the button is busy meanwhile) and shows its errors. */
export function form(
  children: (Node | null | false)[],
  submitLabel: string,
  action: (data: FormData, message: HTMLElement) => Promise<void>,
  opts: { id?: string; cls?: string; extraButtons?: Node[] } = {},
): HTMLFormElement {
  const message = messageLine(`${opts.id ?? 'form'}-message`);
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const el = h('form', { id: opts.id, class: opts.cls ?? 'form', novalidate: true }, ...children, message, h('div', { class: 'buttons' }, submit, ...(opts.extraButtons ?? [])));
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (submit.disabled) return;
    unsay(message);
    clearFieldErrors(el);
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      await action(new FormData(el), message);
    } catch (err) {
      showError(message, err, el);
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });
  return el;
}

const FIELD_ERROR = 'field-error';

/**
 * A problem with one field, said under it: the control marked `aria-invalid` and described by the
 * message (after its hint), which goes as soon as the field is changed. False when the scope has
 * no control of that name.
 */
export function fieldError(scope: HTMLElement, name: string, text: string): boolean {
  const control = scope.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`);
  if (!control) return false;
  const id = `${control.id || `f-${name}`}-error`;
  let line = scope.querySelector<HTMLElement>(`#${CSS.escape(id)}`);
  if (!line) {
    line = h('p', { class: FIELD_ERROR, id });
    (control.closest('.field') ?? control.parentElement)?.append(line);
  }
  line.textContent = text;
  control.setAttribute('aria-invalid', 'true');
  const described = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== id);
  control.setAttribute('aria-describedby', [...described, id].join(' '));
  const clear = () => {
    line!.remove();
    control.removeAttribute('aria-invalid');
    control.setAttribute('aria-describedby', described.join(' '));
    if (!described.length) control.removeAttribute('aria-describedby');
  };
  control.addEventListener('input', clear, { once: true });
  control.addEventListener('change', clear, { once: true });
  return true;
}

export function clearFieldErrors(scope: HTMLElement): void {
  scope.querySelectorAll(`.${FIELD_ERROR}`).forEach((line) => {
    const control = scope.querySelector(`[aria-describedby~="${CSS.escape(line.id)}"]`);
    if (control) {
      const rest = (control.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x && x !== line.id);
      if (rest.length) control.setAttribute('aria-describedby', rest.join(' '));
      else control.removeAttribute('aria-describedby');
    }
    line.remove();
  });
  scope.querySelectorAll('[aria-invalid]').forEach((c) => c.removeAttribute('aria-invalid'));
}

/** Problems found before sending: each under its field, one line above the buttons saying so. */
export function sayFieldErrors(scope: HTMLElement, message: HTMLElement, problems: [name: string, text: string][]): void {
  const elsewhere = problems.filter(([name, text]) => !fieldError(scope, name, text)).map(([, text]) => text);
  say(message, ['入力内容に誤りがあります。各項目の下の説明を確認してください。', ...elsewhere]);
  if (elsewhere.length) return;
  // Once every field said wrong has been changed, the line saying so goes too (no stale error).
  const settle = () => {
    if (scope.querySelector(`.${FIELD_ERROR}`)) return;
    unsay(message);
    scope.removeEventListener('input', settle);
    scope.removeEventListener('change', settle);
  };
  scope.addEventListener('input', settle);
  scope.addEventListener('change', settle);
}

/** An API error in the message line, and each named field marked invalid. */
export function showError(message: HTMLElement, err: unknown, scope?: HTMLElement): void {
  if (!(err instanceof ApiError)) {
    say(message, '処理できませんでした。もう一度お試しください');
    throw err;
  }
  say(message, err.messages);
  for (const e of err.problem.errors ?? []) {
    const name = e.path.split('/').pop();
    if (!name || !scope) continue;
    scope.querySelector(`[name="${CSS.escape(name)}"]`)?.setAttribute('aria-invalid', 'true');
  }
}

/** An API error with each problem of a field of `scope` said under that field (forms laid out for it), the rest in the message line. */
export function showFieldErrors(scope: HTMLElement, message: HTMLElement, err: unknown): void {
  if (!(err instanceof ApiError) || !(err.problem.errors ?? []).length) return showError(message, err, scope);
  const problems = (err.problem.errors ?? []).map((e): [string, string] => [e.path.split('/').pop() ?? '', e.message ?? err.problem.title ?? '']);
  sayFieldErrors(scope, message, problems);
}

export const text = (data: FormData, name: string): string => String(data.get(name) ?? '').trim();
export const optional = (data: FormData, name: string): string | undefined => text(data, name) || undefined;

/**
 * A table with a caption (for screen readers) and a header row. Each cell carries its column's name
 * (`data-label`): on a phone the rows become cards that say what each value is.
 */
export function table(caption: string, headers: (string | Node)[], rows: HTMLTableRowElement[], empty = '該当するデータはありません'): HTMLElement {
  const names = headers.map((x) => (typeof x === 'string' ? x : (x as HTMLElement).dataset?.label ?? x.textContent ?? ''));
  // Explicit roles: the cards on a phone restyle the table, and some browsers then drop its semantics.
  for (const tr of rows) {
    tr.setAttribute('role', 'row');
    [...tr.cells].forEach((td, i) => {
      td.setAttribute('role', 'cell');
      if (names[i]) td.setAttribute('data-label', names[i]!);
    });
  }
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { role: 'table' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, ...headers.map((x) => h('th', { scope: 'col', role: 'columnheader' }, x)))),
      h('tbody', { role: 'rowgroup' }, ...(rows.length ? rows : [h('tr', { role: 'row' }, h('td', { colspan: headers.length, class: 'empty', role: 'cell' }, empty))])),
    ),
  );
}

export function row(cells: (Node | string | null)[], attrs: Record<string, string> = {}): HTMLTableRowElement {
  return h('tr', attrs, ...cells.map((c) => h('td', {}, c ?? '—')));
}

export function statusBadge(status: Schemas['Status'] | null | undefined): HTMLElement {
  return status ? h('span', { class: `badge status-${status}` }, STATUS_LABELS[status]) : h('span', { class: 'badge none' }, '—');
}

export const link = (href: string, label: string, cls?: string): HTMLAnchorElement => h('a', { href, class: cls }, label);

/** A key–value list (detail screens). */
export function facts(entries: [string, Node | string | null][]): HTMLDListElement {
  return h('dl', { class: 'facts' }, ...entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v ?? '—')]));
}

/**
 * A modal dialog (native <dialog>: focus is trapped and Esc closes it). `build` draws its body and gets
 * `close`; the promise settles when the dialog closes, with what close was given.
 */
export function dialog<T>(title: string, build: (close: (value: T | undefined) => void) => (Node | null)[], opts: { wide?: boolean; blockClose?: () => boolean } = {}): Promise<T | undefined> {
  return new Promise((resolve) => {
    const el = h('dialog', { class: opts.wide ? 'dialog wide' : 'dialog', 'aria-labelledby': 'dialog-title' });
    let result: T | undefined;
    const close = (value: T | undefined) => {
      result = value;
      el.close();
    };
    el.append(h('h2', { id: 'dialog-title' }, title), ...build(close).filter((n): n is Node => !!n));
    el.addEventListener('cancel', (ev) => {
      if (opts.blockClose?.()) ev.preventDefault();
    });
    el.addEventListener('close', () => {
      el.remove();
      resolve(result);
    });
    document.body.append(el);
    el.showModal();
  });
}

export function cancelButton(close: (v: undefined) => void): HTMLButtonElement {
  return h('button', { type: 'button', class: 'secondary', onclick: () => close(undefined) }, 'キャンセル');
}

/** Saves a fetched file under the name the server gave (Content-Disposition) or a fallback. */
export function download(file: { headers: Headers; blob: Blob }, fallback: string): void {
  const disposition = file.headers.get('Content-Disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition);
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  const name = star ? decodeURIComponent(star[1]!) : (plain?.[1] ?? fallback);
  const url = URL.createObjectURL(file.blob);
  const a = h('a', { href: url, download: name, class: 'visually-hidden' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A small notice box. */
export const notice = (kind: 'info' | 'ok' | 'warning' | 'error', ...children: (Node | string)[]): HTMLElement =>
  h('div', { class: `box ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, ...children);

/** An e-mail address as the console checks it before sending (the API checks it again). */
export const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
