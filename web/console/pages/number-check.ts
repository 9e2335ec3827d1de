/**
 * The number shown for a limited time: the digits in groups of four with a visible countdown, and the
 * time left said to screen readers at a few moments (not every second). Used by the reveal dialog
 * and by the approval screen's check panel, which shows the number next to the document image —
 * no modal covering what it must be compared with — recorded as the collection check (取得時の確認).
 */
import { api, type Dependent, type Registrant } from '../api';
import { facts, field, form, h, input, say } from '../ui';
import { day, fullName } from '../labels';
import { genderLabel } from '../../shared/labels';

export const SHOWN_FOR_SECONDS = 60;
const ANNOUNCED_AT = new Set([30, 10]);

export const grouped = (n: string): string => `${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8)}`;

/**
 * The revealed digits and a countdown; `onEnd` runs when the time is up (the caller hides the
 * number). Returns the element and a stop function (for an earlier close).
 */
export function shownNumber(myNumber: string, id: string, onEnd: () => void): { el: HTMLElement; stop: () => void } {
  let left = SHOWN_FOR_SECONDS;
  const visible = h('span', { 'aria-hidden': 'true' }, `あと${left}秒で隠します`);
  // Empty when it enters the page, filled a moment later: a live region's first words are heard then.
  const spoken = h('span', { class: 'visually-hidden', role: 'status' });
  setTimeout(() => (spoken.textContent = `マイナンバーを表示しました。${left}秒後に隠します。`), 100);
  const end = () => {
    stop();
    onEnd();
  };
  const timer = setInterval(() => {
    left -= 1;
    visible.textContent = `あと${left}秒で隠します`;
    if (ANNOUNCED_AT.has(left)) spoken.textContent = `あと${left}秒で隠します`;
    if (left <= 0) end();
  }, 1000);
  // Leaving the screen hides it at once (not a detached number waiting for its timer).
  window.addEventListener('hashchange', end);
  const stop = () => {
    clearInterval(timer);
    window.removeEventListener('hashchange', end);
  };
  const digits = h('p', { class: 'revealed', id, tabindex: -1 }, grouped(myNumber));
  const el = h('div', { class: 'shown-number' }, digits, h('p', { class: 'hint countdown' }, visible, spoken));
  // The button that showed it is gone: focus moves to what is shown (after it is in the page).
  setTimeout(() => digits.focus(), 0);
  return { el, stop };
}

/**
 * 照合 for one person or dependent awaiting approval: the typed details, and the number behind the
 * approver's password, shown in place for 60 seconds.
 */
export function numberCheckPanel(r: Registrant, dependent?: Dependent): HTMLElement {
  const who = dependent ? `扶養家族 ${dependent.familyName} ${dependent.givenName} さん` : `${fullName(r)} さん（本人）`;
  const key = dependent ? `dependent-${dependent.id}` : 'self';
  const details = dependent
    ? facts([
        ['氏名', `${dependent.familyName} ${dependent.givenName}`],
        ['フリガナ', [dependent.familyNameKana, dependent.givenNameKana].filter(Boolean).join(' ') || '—'],
        ['続柄', dependent.relationship],
        ['生年月日', dependent.birthDate ? day(dependent.birthDate) : '—'],
        ['性別', genderLabel(dependent.gender)],
      ])
    : null;
  const registered = dependent ? dependent.myNumber.registered : r.myNumber.registered;
  const slot = h('div', { class: 'check-slot' });
  const password = input('password', { type: 'password', autocomplete: 'current-password', id: `check-password-${key}` });
  const ask = (): HTMLElement =>
    form(
      [field('ご自身のパスワード', password, { required: true, hint: '表示は「取得時の確認」として操作履歴に記録されます。' })],
      '番号を表示して照合',
      async (data, message) => {
        const pw = String(data.get('password') ?? '');
        if (!pw) return say(message, 'パスワードを入力してください');
        const { myNumber } = await api.reveal(r.id, { password: pw, reason: 'collection_check', ...(dependent ? { dependentId: dependent.id } : {}) });
        password.value = '';
        const hide = () => {
          shown.stop();
          slot.replaceChildren(ask());
          if (slot.isConnected) password.focus();
        };
        const shown = shownNumber(myNumber, `check-number-${key}`, hide);
        slot.replaceChildren(shown.el, h('div', { class: 'buttons' }, h('button', { type: 'button', class: 'secondary small', onclick: hide }, '隠す')));
      },
      { id: `check-form-${key}`, cls: 'form compact' },
    );
  slot.append(registered ? ask() : h('p', {}, 'マイナンバーは入力されていません。'));
  return h('section', { class: 'number-check', 'aria-label': `${who}の照合`, 'data-check': key }, h('h3', {}, who), details, slot);
}
