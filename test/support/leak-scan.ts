/**
 * Finds valid My Numbers in text: what the logger masks (twelve digits, half- or full-width, maybe
 * split by hyphens or spaces) whose check digit is right. Reports where, never what: a finding
 * shows the number masked but for its last digit.
 */
import { randomInt } from 'node:crypto';
import { TWELVE_DIGITS } from '../../services/logging/logger';
import { checkDigit, normalizeDigits } from '../../services/mynumber/validate';

export interface Finding {
  where: string;
  line: number;
  /** e.g. "***********8" */
  masked: string;
}

export function isValidMyNumber(digits: string): boolean {
  return /^\d{12}$/.test(digits) && checkDigit(digits.slice(0, 11)) === Number(digits[11]);
}

export function findMyNumbers(text: string, where: string): Finding[] {
  const found: Finding[] = [];
  for (const m of text.matchAll(TWELVE_DIGITS)) {
    const digits = normalizeDigits(m[0]).replace(/[^0-9]/g, '');
    if (!isValidMyNumber(digits)) continue;
    const line = text.slice(0, m.index).split('\n').length;
    found.push({ where, line, masked: `${'*'.repeat(11)}${digits[11]}` });
  }
  return found;
}

/**
 * The forms a known number could take when stored or sent: as typed, as UTF-8 hex (bytea and
 * pg_dump), and base64 of the number alone or inside JSON (Temporal payloads).
 */
export function encodingsOf(number: string): string[] {
  const forms = [number, `${number.slice(0, 4)}-${number.slice(4, 8)}-${number.slice(8)}`];
  const hex = Buffer.from(number).toString('hex');
  // Base64 of a string depends on its offset mod 3; each of the three alignments has a stable core.
  const b64 = [0, 1, 2].map((pad) => Buffer.from(`${'x'.repeat(pad)}${number}`).toString('base64').slice(4, -4));
  return [...forms, hex, hex.toUpperCase(), ...b64];
}

export function containsAny(text: string, numbers: string[]): string[] {
  return numbers.filter((n) => encodingsOf(n).some((form) => text.includes(form)));
}

/** A random valid individual number (never a real person's, but shaped like one). */
export function randomMyNumber(): string {
  const first11 = Array.from({ length: 11 }, () => String(randomInt(10))).join('');
  return `${first11}${checkDigit(first11)}`;
}

/** The same number as a person might type it on a Japanese keyboard: full-width, hyphenated. */
export function typedFullWidth(number: string): string {
  const wide = [...number].map((d) => String.fromCharCode(d.charCodeAt(0) - 0x30 + 0xff10)).join('');
  return `${wide.slice(0, 4)}－${wide.slice(4, 8)}－${wide.slice(8)}`;
}

/**
 * Removes what is random by nature and would otherwise look like a number now and then: UUIDs, and
 * hex or base64 runs of 16+ characters (hashes, ciphertext, keys).
 */
export function withoutRandomTokens(text: string): string {
  return text
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>')
    .replace(/\\\\?x[0-9a-f]+/gi, '<bytes>')
    .replace(/[0-9a-z+/_]{16,}={0,2}/gi, (m) => (/^[0-9]+$/.test(m) ? m : '<token>'));
}

/**
 * Hides hex digests (32+ hex characters with at least one letter: SHA-256 hashes, key ids…). One in
 * about a hundred of them holds twelve digits in a row with a right check digit by chance; a number
 * cannot hide in one, since a digest with digits only is kept.
 */
export function withoutHexDigests(text: string): string {
  return (
    text
      // A keyed digest as the vault writes it (services/vault: "<key id>.<hex>", the key id 16 hex
      // characters of a hash): the key id too may hold twelve digits with a right check digit by chance.
      .replace(/(?<![0-9a-z])[0-9a-f]{16}\.([0-9a-f]{64})(?![0-9a-z])/gi, (m, digest: string) => (/[a-f]/i.test(digest) ? '<fingerprint>' : m))
      .replace(/(?<![0-9a-z])[0-9a-f]{32,}(?![0-9a-z])/gi, (m) => (/[a-f]/i.test(m) ? '<digest>' : m))
  );
}
