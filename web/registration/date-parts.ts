/**
 * A date entered the way people on a phone find quickest, especially one from the 1960s: the
 * calendar (西暦 or an era — 和暦), the year typed on the numeric keyboard, month and day picked.
 * No date picker to scroll back sixty years through. What was entered is read back in words
 * ("1965年4月1日（昭和40年）") as it is completed, and checked with the server's own parser
 * (a real day inside its era: no 2月30日, no 平成31年5月).
 */
import { ERAS, parseJapaneseDate } from '../../services/dates/japanese-date';
import { h, messageLine, unsay } from '../shared/dom';

/** The eras a living person (or a child) is born in, newest last; 西暦 first. */
const CALENDARS: [string, string][] = [['', '西暦'], ...ERAS.filter((e) => e.start >= '1912-07-30').map((e): [string, string] => [e.letter, e.name])];

export interface DateParts {
  el: HTMLElement;
  /** The message line under the parts (for the caller's and the server's messages). */
  message: HTMLElement;
  /** '' when nothing was entered, the ISO date, or { error } when it is not a real date. */
  read(): string | { error: string };
}

const eraYear = (iso: string): string => {
  const era = [...ERAS].reverse().find((e) => e.start <= iso && (!e.end || iso <= e.end));
  if (!era || era.start < '1912-07-30') return '';
  const n = Number(iso.slice(0, 4)) - Number(era.start.slice(0, 4)) + 1;
  return `${era.name}${n === 1 ? '元' : n}年`;
};

/** `id` is the id of the year input (what the label points at); the others are `${id}-era` and so on. */
export function dateParts(id: string, legend: string, value: string | null | undefined, required: boolean): DateParts {
  const message = messageLine(`${id}-message`);
  const said = h('p', { class: 'date-said', id: `${id}-said`, 'aria-live': 'polite' });
  // Each part says it is required and is described by the reading-back and the message.
  const common = { 'aria-describedby': `${id}-said ${id}-message`, ...(required ? { 'aria-required': 'true' } : {}) };
  const era = h('select', { id: `${id}-era`, 'aria-label': `${legend}（暦）`, ...common }, ...CALENDARS.map(([v, l]) => h('option', { value: v }, l)));
  const year = h('input', { type: 'text', id, inputmode: 'numeric', autocomplete: 'off', maxlength: 4, class: 'year', 'aria-label': `${legend}（年）`, ...common });
  const month = h('select', { id: `${id}-month`, 'aria-label': `${legend}（月）`, ...common }, h('option', { value: '' }, '--'), ...Array.from({ length: 12 }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
  const day = h('select', { id: `${id}-day`, 'aria-label': `${legend}（日）`, ...common }, h('option', { value: '' }, '--'), ...Array.from({ length: 31 }, (_, i) => h('option', { value: String(i + 1) }, String(i + 1))));
  if (value && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    year.value = value.slice(0, 4);
    month.value = String(Number(value.slice(5, 7)));
    day.value = String(Number(value.slice(8, 10)));
  }
  const read = (): string | { error: string } => {
    const y = year.value.normalize('NFKC').trim();
    if (!y && !month.value && !day.value) return '';
    if (!/^\d{1,4}$/.test(y) || !month.value || !day.value) return { error: `${legend}は、年・月・日をすべて入力してください` };
    const parsed = parseJapaneseDate(`${era.value}${y}/${month.value}/${day.value}`);
    return parsed.ok ? parsed.date : { error: `${legend}：${parsed.message}` };
  };
  const show = () => {
    const v = read();
    said.textContent = typeof v === 'string' && v ? `${Number(v.slice(0, 4))}年${Number(v.slice(5, 7))}月${Number(v.slice(8, 10))}日（${eraYear(v) || '西暦'}）` : '';
  };
  for (const c of [era, year, month, day]) {
    c.addEventListener(c === year ? 'input' : 'change', () => {
      // What was said about the old date no longer holds.
      unsay(message);
      show();
    });
  }
  show();
  const el = h(
    'fieldset',
    { class: 'field date-parts', id: `${id}-group` },
    h('legend', {}, legend, required ? h('span', { class: 'required' }, '必須') : null),
    h('div', { class: 'parts' }, era, h('span', { class: 'part' }, year, '年'), h('span', { class: 'part' }, month, '月'), h('span', { class: 'part' }, day, '日')),
    said,
    message,
  );
  return { el, message, read };
}
