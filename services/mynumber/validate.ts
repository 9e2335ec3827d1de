/**
 * Individual numbers (マイナンバー, 12 digits) and corporate numbers (法人番号, 13 digits): input
 * normalisation and check digits (../../shared/DESIGN.md). Messages are shown to people and may be
 * logged, so they never echo what was typed.
 */

/** How a number is displayed everywhere unless it is explicitly revealed. */
export const MASKED_NUMBER = '************';

export type IndividualNumberErrorCode = 'NUMBER_REQUIRED' | 'NUMBER_FORMAT' | 'NUMBER_CHECK_DIGIT' | 'NUMBER_MISMATCH' | 'NUMBER_NOT_SANDBOX';

/** Sandbox tenants' reserved pattern (services/tenants/sandbox.ts): invented numbers begin with these digits. */
export const SANDBOX_PREFIX = '9999';
export type CorporateNumberErrorCode = 'CORPORATE_NUMBER_FORMAT' | 'CORPORATE_NUMBER_CHECK_DIGIT';

export type NumberValidation<Code extends string> = { ok: true; value: string } | { ok: false; code: Code; message: string };

export const INDIVIDUAL_NUMBER_MESSAGES: Record<IndividualNumberErrorCode, string> = {
  NUMBER_REQUIRED: 'マイナンバーを入力してください',
  NUMBER_FORMAT: 'マイナンバーは12桁の数字で入力してください',
  NUMBER_CHECK_DIGIT: 'マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください',
  NUMBER_MISMATCH: '確認用に入力したマイナンバーが一致しません',
  NUMBER_NOT_SANDBOX: `サンドボックス（試験用の会社）には、${SANDBOX_PREFIX} で始まる架空のマイナンバー（最後の一桁が正しいもの）だけを登録できます。本物の番号は入力しないでください`,
};

export const CORPORATE_NUMBER_MESSAGES: Record<CorporateNumberErrorCode, string> = {
  CORPORATE_NUMBER_FORMAT: '法人番号は13桁の数字で入力してください',
  CORPORATE_NUMBER_CHECK_DIGIT: '法人番号に誤りがあります（最初の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください',
};

// Whitespace (\s covers the ideographic space U+3000) and what people type or paste as a separator:
// - ‐ ‑ ‒ – — ― − － and the prolonged sound marks ー ｰ, which Japanese IMEs produce for "-".
const SEPARATORS = /[\s\-\u2010-\u2015\u2212\uFF0D\u30FC\uFF70]/g;
const FULL_WIDTH_DIGIT = /[\uFF10-\uFF19]/g;

/** Full-width digits to ASCII; spaces and hyphen-like separators removed. Nothing else is changed. */
export function normalizeDigits(input: string): string {
  return input.replace(FULL_WIDTH_DIGIT, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 0x30)).replace(SEPARATORS, '');
}

const WEIGHTS = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/** Check digit of an individual number from its first 11 digits (left to right). */
export function checkDigit(first11: string): number {
  if (!/^[0-9]{11}$/.test(first11)) throw new RangeError('checkDigit needs exactly 11 ASCII digits');
  let sum = 0;
  for (let i = 0; i < 11; i++) sum += Number(first11[i]) * WEIGHTS[i]!;
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

/** Leading check digit of a corporate number from the 12 digits that follow it. */
export function corporateCheckDigit(last12: string): number {
  if (!/^[0-9]{12}$/.test(last12)) throw new RangeError('corporateCheckDigit needs exactly 12 ASCII digits');
  let sum = 0;
  // n counts from the right (n = 1 is the last digit); odd n weigh 1, even n weigh 2.
  for (let n = 1; n <= 12; n++) sum += Number(last12[12 - n]) * (n % 2 === 1 ? 1 : 2);
  return 9 - (sum % 9);
}

const fail = <Code extends string>(code: Code, messages: Record<Code, string>): { ok: false; code: Code; message: string } => ({
  ok: false,
  code,
  message: messages[code],
});

/**
 * Checks an individual number (and, when given, the second entry of it). The number is checked
 * first, so a typo in the first entry is reported as such rather than as a mismatch.
 */
export function validateIndividualNumber(input: string | undefined, confirmation?: string, opts: { sandbox?: boolean } = {}): NumberValidation<IndividualNumberErrorCode> {
  const value = input === undefined || input === null ? '' : normalizeDigits(String(input));
  if (value === '') return fail('NUMBER_REQUIRED', INDIVIDUAL_NUMBER_MESSAGES);
  if (!/^[0-9]{12}$/.test(value)) return fail('NUMBER_FORMAT', INDIVIDUAL_NUMBER_MESSAGES);
  if (checkDigit(value.slice(0, 11)) !== Number(value[11])) return fail('NUMBER_CHECK_DIGIT', INDIVIDUAL_NUMBER_MESSAGES);
  if (opts.sandbox && !value.startsWith(SANDBOX_PREFIX)) return fail('NUMBER_NOT_SANDBOX', INDIVIDUAL_NUMBER_MESSAGES);
  if (confirmation !== undefined && normalizeDigits(String(confirmation)) !== value) {
    return fail('NUMBER_MISMATCH', INDIVIDUAL_NUMBER_MESSAGES);
  }
  return { ok: true, value };
}

/** Checks a corporate number (13 digits, the leading one a check digit). */
export function validateCorporateNumber(input: string | undefined): NumberValidation<CorporateNumberErrorCode> {
  const value = input === undefined || input === null ? '' : normalizeDigits(String(input));
  if (!/^[0-9]{13}$/.test(value)) return fail('CORPORATE_NUMBER_FORMAT', CORPORATE_NUMBER_MESSAGES);
  if (corporateCheckDigit(value.slice(1)) !== Number(value[0])) return fail('CORPORATE_NUMBER_CHECK_DIGIT', CORPORATE_NUMBER_MESSAGES);
  return { ok: true, value };
}
