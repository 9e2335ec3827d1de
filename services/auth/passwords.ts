/**
 * Login passwords: scrypt with a self-describing string, so the cost can be raised later and old
 * hashes still verify (and can be spotted for re-hashing).
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { AppError } from '../errors';

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

// OWASP's password storage guidance for scrypt: N=2^17, r=8, p=1, or an equal-work setting that
// needs less memory. N=2^16, r=8, p=2 is one of those: 64 MiB per hash in progress (Node runs at most
// four at once, on its thread pool), about a third of a second here. Older hashes are re-made at the
// next good login (needsRehash).
const LOG_N = 16;
const R = 8;
const P = 2;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

// scrypt needs about 128·N·r bytes; Node's default maxmem (32 MiB) is exactly that at N=2^15, r=8
// and is refused, so allow twice the need.
const maxmem = (logN: number, r: number) => 2 * 128 * 2 ** logN * r;

function scryptAsync(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$16$8$2$<salt b64>$<hash b64>` */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, KEY_BYTES, { N: 2 ** LOG_N, r: R, p: P, maxmem: maxmem(LOG_N, R) });
  return ['scrypt', LOG_N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

const HASH_FORMAT = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** False for a wrong password and for a malformed or absurd stored hash (never throws on those). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = HASH_FORMAT.exec(stored);
  if (!m || typeof password !== 'string') return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // Bounds keep a corrupted row from making one login eat gigabytes or minutes.
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(m[4]!, 'base64');
  const expected = Buffer.from(m[5]!, 'base64');
  if (expected.length < 16) return false;
  const actual = await scryptAsync(password, salt, expected.length, { N: 2 ** logN, r, p, maxmem: maxmem(logN, r) });
  return timingSafeEqual(actual, expected);
}

/** True when the hash was made with weaker parameters than today's (re-hash after a good login). */
export function needsRehash(stored: string): boolean {
  const m = HASH_FORMAT.exec(stored);
  if (!m) return true;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // less work than today's, or a block size below the recommended one
  return 2 ** logN * r * p < 2 ** LOG_N * R * P || r < R;
}

let dummy: Promise<string> | undefined;
/**
 * Spends the same time as a real check when there is no account to check against, so that "no such
 * user" cannot be told from "wrong password" by timing.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(typeof password === 'string' ? password : '', await dummy);
  return false;
}

/** ≥ 8 characters (case-sensitive, as typed); the upper bound only stops abuse. */
export function checkPasswordPolicy(password: unknown): asserts password is string {
  const length = typeof password === 'string' ? [...password].length : 0;
  if (length < PASSWORD_MIN_LENGTH) {
    throw new AppError(400, 'WEAK_PASSWORD', 'パスワードは8文字以上で入力してください', [
      { path: 'password', message: 'パスワードは8文字以上で入力してください', code: 'too_short' },
    ]);
  }
  if (length > PASSWORD_MAX_LENGTH) {
    throw new AppError(400, 'WEAK_PASSWORD', 'パスワードは128文字以内で入力してください', [
      { path: 'password', message: 'パスワードは128文字以内で入力してください', code: 'too_long' },
    ]);
  }
}
