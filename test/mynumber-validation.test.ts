/** Individual and corporate numbers: normalisation, check digits, error codes and safe messages. */
import { randomInt } from 'node:crypto';
import {
  MASKED_NUMBER,
  checkDigit,
  normalizeDigits,
  validateCorporateNumber,
  validateIndividualNumber,
} from '../services/mynumber/validate';

/** The check digit as the law states it (counted from the right, Qn = n+1 or n−5), written independently. */
function checkDigitFromTheRight(first11: string): number {
  let sum = 0;
  for (let n = 1; n <= 11; n++) sum += Number(first11[11 - n]) * (n <= 6 ? n + 1 : n - 5);
  const r = sum % 11;
  return r <= 1 ? 0 : 11 - r;
}

const randomDigits = (n: number) => Array.from({ length: n }, () => String(randomInt(10))).join('');
const validNumber = () => {
  const first11 = randomDigits(11);
  return `${first11}${checkDigit(first11)}`;
};
const toFullWidth = (s: string) => s.replace(/[0-9]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0x30 + 0xff10));

/** Messages may say "12桁"/"13桁"; apart from that they must contain no digit at all. */
function expectNoDigits(message: string) {
  expect(message.replace(/1[23]桁/g, '')).not.toMatch(/[0-9０-９]/);
}

describe('normalizeDigits', () => {
  it('turns full-width digits into ASCII and drops spaces and dash-like separators', () => {
    expect(normalizeDigits('０１２３４５６７８９')).toBe('0123456789');
    expect(normalizeDigits(' 1234 5678\u30009012 ')).toBe('123456789012');
    for (const dash of ['-', '‐', '‑', '‒', '–', '—', '―', '−', '－', 'ー', 'ｰ']) {
      expect(normalizeDigits(`1234${dash}5678${dash}9012`)).toBe('123456789012');
    }
  });

  it('leaves everything else alone, so that it fails the format check', () => {
    expect(normalizeDigits('12a4')).toBe('12a4');
    expect(normalizeDigits('1.2')).toBe('1.2');
  });
});

describe('checkDigit', () => {
  it('gives the known check digit of published and hand-computed examples', () => {
    // 1·6+2·5+3·4+4·3+5·2+6·7+7·6+8·5+9·4+0·3+1·2 = 212; 212 mod 11 = 3 → 11−3 = 8
    expect(checkDigit('12345678901')).toBe(8);
    // all ones: Σ weights = 47; 47 mod 11 = 3 → 8
    expect(checkDigit('11111111111')).toBe(8);
    // r = 0 and r = 1 both give 0: 0 → 0; 6·2 = 12, 12 mod 11 = 1 → 0
    expect(checkDigit('00000000000')).toBe(0);
    expect(checkDigit('00000000006')).toBe(0);
    // 1·2 = 2 → 9 (the largest check digit)
    expect(checkDigit('00000000001')).toBe(9);
  });

  it('agrees with the right-to-left formulation on 2,000 random prefixes', () => {
    for (let i = 0; i < 2000; i++) {
      const first11 = randomDigits(11);
      expect(checkDigit(first11)).toBe(checkDigitFromTheRight(first11));
    }
  });

  it('refuses anything but 11 ASCII digits', () => {
    expect(() => checkDigit('1234567890')).toThrow(RangeError);
    expect(() => checkDigit('1234567890a')).toThrow(RangeError);
  });
});

describe('validateIndividualNumber', () => {
  it('accepts known-valid numbers', () => {
    for (const n of ['123456789018', '111111111118', '000000000000', '000000000060']) {
      expect(validateIndividualNumber(n)).toEqual({ ok: true, value: n });
    }
  });

  it('accepts numbers made with checkDigit', () => {
    for (let i = 0; i < 200; i++) {
      const n = validNumber();
      expect(validateIndividualNumber(n, n)).toEqual({ ok: true, value: n });
    }
  });

  it('accepts full-width, spaced and hyphenated input and returns the 12 ASCII digits', () => {
    const n = '123456789018';
    expect(validateIndividualNumber('１２３４５６７８９０１８')).toEqual({ ok: true, value: n });
    expect(validateIndividualNumber('1234-5678-9018')).toEqual({ ok: true, value: n });
    expect(validateIndividualNumber('１２３４－５６７８－９０１８')).toEqual({ ok: true, value: n });
    expect(validateIndividualNumber('１２３４ー５６７８ー９０１８')).toEqual({ ok: true, value: n });
    expect(validateIndividualNumber(' 1234\u30005678 9018 ')).toEqual({ ok: true, value: n });
    // the two entries are compared after normalising
    expect(validateIndividualNumber('1234 5678 9018', '１２３４-５６７８-９０１８')).toEqual({ ok: true, value: n });
  });

  it('requires a number', () => {
    for (const input of [undefined, '', '   ', '\u3000']) {
      expect(validateIndividualNumber(input)).toMatchObject({ ok: false, code: 'NUMBER_REQUIRED', message: 'マイナンバーを入力してください' });
    }
  });

  it('rejects anything but exactly 12 digits', () => {
    for (const input of ['12345678901', '1234567890188', '12345678901a', '1234.5678.9018', '１２３４５６７８９０１', 'abcdefghijkl']) {
      expect(validateIndividualNumber(input)).toMatchObject({ ok: false, code: 'NUMBER_FORMAT', message: 'マイナンバーは12桁の数字で入力してください' });
    }
  });

  it('rejects every one of the nine wrong check digits', () => {
    for (const first11 of ['12345678901', randomDigits(11), randomDigits(11)]) {
      const right = checkDigit(first11);
      const wrong = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((d) => d !== right);
      expect(wrong).toHaveLength(9);
      for (const d of wrong) {
        expect(validateIndividualNumber(`${first11}${d}`)).toEqual({
          ok: false,
          code: 'NUMBER_CHECK_DIGIT',
          message: 'マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください',
        });
        // also when typed in full width
        expect(validateIndividualNumber(toFullWidth(`${first11}${d}`))).toMatchObject({ ok: false, code: 'NUMBER_CHECK_DIGIT' });
      }
    }
  });

  it('reports a confirmation that differs', () => {
    const a = validNumber();
    let b = validNumber();
    while (b === a) b = validNumber();
    expect(validateIndividualNumber(a, b)).toEqual({ ok: false, code: 'NUMBER_MISMATCH', message: '確認用に入力したマイナンバーが一致しません' });
    expect(validateIndividualNumber(a, '')).toMatchObject({ ok: false, code: 'NUMBER_MISMATCH' });
    expect(validateIndividualNumber(a, a.slice(0, 11))).toMatchObject({ ok: false, code: 'NUMBER_MISMATCH' });
  });

  it('checks the first entry before comparing it with the confirmation', () => {
    expect(validateIndividualNumber('123456789010', '123456789018')).toMatchObject({ code: 'NUMBER_CHECK_DIGIT' });
  });

  it('never puts the number (or any digit of it) into a message', () => {
    const n = validNumber();
    const wrongCheck = `${n.slice(0, 11)}${(Number(n[11]) + 1) % 10}`;
    const cases: [string | undefined, string | undefined][] = [
      [undefined, undefined],
      [n.slice(0, 11), undefined],
      [`${n}9`, undefined],
      [wrongCheck, undefined],
      [toFullWidth(wrongCheck), undefined],
      [n, validNumber()],
      [n, toFullWidth(n.slice(0, 11))],
    ];
    for (const [input, confirmation] of cases) {
      const result = validateIndividualNumber(input, confirmation);
      expect(result.ok).toBe(false);
      if (!result.ok) expectNoDigits(result.message);
    }
  });

  it('has a mask of twelve asterisks', () => {
    expect(MASKED_NUMBER).toBe('************');
  });
});

describe('validateCorporateNumber', () => {
  // 7000012050002 (国税庁): 12 digits from the right 2,0,0,0,5,0,2,1,0,0,0,0 →
  //   odd n: 2+0+5+2+0+0 = 9, even n: (0+0+0+1+0+0)·2 = 2; 11 mod 9 = 2 → 9−2 = 7 ✓
  // 1180301018771 (トヨタ自動車): from the right 1,7,7,8,1,0,1,0,3,0,8,1 →
  //   odd n: 1+7+1+1+3+8 = 21, even n: (7+8+0+0+0+1)·2 = 32; 53 mod 9 = 8 → 9−8 = 1 ✓
  const known = ['7000012050002', '1180301018771'];

  it('accepts known-valid corporate numbers, also full width and hyphenated', () => {
    for (const n of known) expect(validateCorporateNumber(n)).toEqual({ ok: true, value: n });
    expect(validateCorporateNumber('７００００１２０５０００２')).toEqual({ ok: true, value: '7000012050002' });
    expect(validateCorporateNumber('1-1803-0101-8771')).toEqual({ ok: true, value: '1180301018771' });
  });

  it('rejects every wrong leading check digit', () => {
    for (const n of known) {
      for (let d = 0; d <= 9; d++) {
        if (String(d) === n[0]) continue;
        expect(validateCorporateNumber(`${d}${n.slice(1)}`)).toEqual({
          ok: false,
          code: 'CORPORATE_NUMBER_CHECK_DIGIT',
          message: '法人番号に誤りがあります（最初の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください',
        });
      }
    }
  });

  it('rejects anything but 13 digits', () => {
    for (const input of [undefined, '', '700001205000', '70000120500021', '700001205000X', '123456789018']) {
      const result = validateCorporateNumber(input);
      expect(result).toMatchObject({ ok: false, code: 'CORPORATE_NUMBER_FORMAT', message: '法人番号は13桁の数字で入力してください' });
      if (!result.ok) expectNoDigits(result.message);
    }
  });

  it('never puts the number into a message', () => {
    const result = validateCorporateNumber('8000012050002');
    expect(result.ok).toBe(false);
    if (!result.ok) expectNoDigits(result.message);
  });
});
