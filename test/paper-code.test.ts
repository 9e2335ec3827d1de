/**
 * 登録コード (shared/paper-code): a paper invitation's token typed by hand. Unit tests of the code's
 * making and of what a person may type; the sheet and the page that takes it are tested in
 * invitation-batches.test.ts and registration-pages.browser.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { PAPER_CODE_ALPHABET, paperCodeFrom, printedPaperCode, typedPaperCode } from '../shared/paper-code';

describe('登録コード', () => {
  it('takes 5 bits a character, in order: 80 bits of 10 bytes, every character of the alphabet reachable', () => {
    expect(paperCodeFrom(new Uint8Array(10))).toBe('0000000000000000');
    expect(paperCodeFrom(new Uint8Array(10).fill(0xff))).toBe('ZZZZZZZZZZZZZZZZ');
    // 0x08 0x86 0x42 0x98 0xe8 = 00001 00010 00011 00100 00101 00110 00111 01000
    expect(paperCodeFrom(Uint8Array.from([0x08, 0x86, 0x42, 0x98, 0xe8, 0, 0, 0, 0, 0]))).toBe('1234567800000000');
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) for (const c of paperCodeFrom(randomBytes(10))) seen.add(c);
    expect([...seen].sort().join('')).toBe([...PAPER_CODE_ALPHABET].sort().join(''));
    expect(() => paperCodeFrom(new Uint8Array(9))).toThrow();
  });

  it('is printed in four groups of four and read back from what a person types', () => {
    const code = paperCodeFrom(randomBytes(10));
    const printed = printedPaperCode(code);
    expect(printed).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(typedPaperCode(printed)).toBe(code);
    expect(typedPaperCode(printed.toLowerCase())).toBe(code);
    expect(typedPaperCode(printed.replace(/-/g, ' '))).toBe(code);
    expect(typedPaperCode(code)).toBe(code);
  });

  it('forgives what a phone keyboard or a misreading makes of it: full width, long dashes, O for 0, I and L for 1', () => {
    expect(typedPaperCode('７ＫＱ３－Ｍ９ＸＤ－４ＴＰＡ－２ＨＷＮ')).toBe('7KQ3M9XD4TPA2HWN');
    expect(typedPaperCode('7KQ3ーM9XD ー 4TPA—2HWN')).toBe('7KQ3M9XD4TPA2HWN');
    expect(typedPaperCode('OKQ3-M9XD-4TPA-IHWL')).toBe('0KQ3M9XD4TPA1HW1');
  });

  it('is no code when it cannot be one: too short, too long, letters outside the alphabet', () => {
    for (const typed of ['', '7KQ3-M9XD-4TPA', '7KQ3-M9XD-4TPA-2HWN-X', '7KQ3-M9XD-4TPA-2HWU', 'あいうえおかきくけこさしすせそた', '7KQ3_M9XD_4TPA_2HWN']) {
      expect([typed, typedPaperCode(typed)]).toEqual([typed, null]);
    }
  });
});
