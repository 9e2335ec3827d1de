/**
 * 登録コード: a paper invitation's link token in a form a person can type — for a phone that cannot
 * read the QR code, or a sheet whose code is smudged. 16 characters of Crockford's base32 (80 bits;
 * the link's other tokens have 256, but typed codes are tried only through the rate-limited link
 * check, and a round lives 90 days at most). It is the token itself: the QR code carries the same.
 */
export const PAPER_CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
export const PAPER_CODE_LENGTH = 16;
const SHAPE = new RegExp(`^[${PAPER_CODE_ALPHABET}]{${PAPER_CODE_LENGTH}}$`);

/** 16 characters from 10 random bytes (5 bits each). */
export function paperCodeFrom(bytes: Uint8Array): string {
  if (bytes.length * 8 < PAPER_CODE_LENGTH * 5) throw new Error('not enough random bytes for a paper code');
  let out = '';
  for (let i = 0; i < PAPER_CODE_LENGTH; i++) {
    const bit = i * 5;
    const word = (bytes[bit >> 3]! << 8) | (bytes[(bit >> 3) + 1] ?? 0);
    out += PAPER_CODE_ALPHABET[(word >> (11 - (bit & 7))) & 31];
  }
  return out;
}

/** A code as made (and as the link carries it). */
export const isPaperCode = (s: string): boolean => SHAPE.test(s);

/** As printed: four groups of four (ABCD-EFGH-JKMN-PQRS). */
export const printedPaperCode = (code: string): string => code.match(/.{1,4}/g)!.join('-');

/**
 * What a person typed, as the code, or null when it cannot be one: full-width characters, lower
 * case, spaces and hyphens of any width are forgiven, and so are the letters Crockford's alphabet
 * leaves out for looking like digits (O → 0, I and L → 1).
 */
export function typedPaperCode(typed: string): string | null {
  const code = typed
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[\s\-‐‑‒–—―−ー]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
  return isPaperCode(code) ? code : null;
}
