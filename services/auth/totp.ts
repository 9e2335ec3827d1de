/**
 * TOTP (RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps), the authenticator-app second factor.
 *
 * otplib 13's umbrella package loads its default plugins (@noble/hashes, @scure/base), which ship
 * as ES modules only; Jest (on Node < 24.9) cannot require those. So the algorithm comes from the
 * umbrella's own CommonJS parts (@otplib/totp, @otplib/uri, same pinned version) and the two
 * plugins are node:crypto and a small RFC 4648 Base32 here, which also keeps HMAC in OpenSSL.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Base32Plugin, CryptoPlugin, HashAlgorithm } from '@otplib/core';
import { generate, verify } from '@otplib/totp';
import { generateTOTP } from '@otplib/uri';
import QRCode from 'qrcode';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const SECRET_BYTES = 20; // 160 bits, as RFC 4226 recommends for SHA-1

const NODE_HASH: Record<string, string> = { sha1: 'sha1', sha256: 'sha256', sha512: 'sha512' };

const nodeCrypto: CryptoPlugin = {
  name: 'node',
  algorithms: ['sha1', 'sha256', 'sha512'] as HashAlgorithm[],
  hmac(algorithm, key, data) {
    const name = NODE_HASH[String(algorithm).toLowerCase().replace(/[-_]/g, '')];
    if (!name) throw new Error(`unsupported HMAC algorithm ${String(algorithm)}`);
    return new Uint8Array(createHmac(name, key).update(data).digest());
  },
  randomBytes: (length) => new Uint8Array(randomBytes(length)),
  constantTimeEqual(a, b) {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  },
};

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 Base32 without padding (what authenticator apps expect in otpauth:// URIs). */
export const base32: Base32Plugin = {
  name: 'rfc4648',
  encode(data) {
    let out = '';
    let bits = 0;
    let value = 0;
    for (const byte of data) {
      value = (value << 8) | byte;
      bits += 8;
      while (bits >= 5) {
        out += ALPHABET[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
    return out;
  },
  decode(str) {
    const clean = str.toUpperCase().replace(/[\s=]/g, '');
    const out: number[] = [];
    let bits = 0;
    let value = 0;
    for (const ch of clean) {
      const idx = ALPHABET.indexOf(ch);
      if (idx < 0) throw new Error('invalid Base32 character');
      value = ((value << 5) | idx) & 0xffff;
      bits += 5;
      if (bits >= 8) {
        out.push((value >>> (bits - 8)) & 0xff);
        bits -= 8;
      }
    }
    return new Uint8Array(out);
  },
};

const base = { crypto: nodeCrypto, base32, algorithm: 'sha1', period: TOTP_PERIOD_SECONDS } as const;

/** A new random secret, Base32. */
export function generateTotpSecret(): string {
  return base32.encode(randomBytes(SECRET_BYTES));
}

/** The otpauth:// URI an authenticator app scans; the secret is in it, so it is never logged. */
export function otpauthUri(input: { secret: string; accountName: string; issuer: string }): string {
  return generateTOTP({
    issuer: input.issuer,
    label: input.accountName,
    secret: input.secret,
    algorithm: 'sha1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

export async function qrCode(uri: string): Promise<{ pngDataUrl: string; svg: string }> {
  const options = { errorCorrectionLevel: 'M' as const, margin: 2 };
  const [pngDataUrl, svg] = await Promise.all([
    QRCode.toDataURL(uri, { ...options, type: 'image/png', width: 240 }),
    QRCode.toString(uri, { ...options, type: 'svg' }),
  ]);
  return { pngDataUrl, svg };
}

export const totpStep = (at: Date): number => Math.floor(at.getTime() / 1000 / TOTP_PERIOD_SECONDS);

/**
 * The code for a moment. `secret` is Base32, or raw bytes (the RFC 6238 test key is ASCII); 8 digits
 * only for the RFC vectors.
 */
export function totpCode(secret: string | Uint8Array, at: Date, digits: 6 | 8 = TOTP_DIGITS): Promise<string> {
  return generate({ ...base, secret, digits, epoch: Math.floor(at.getTime() / 1000) });
}

/**
 * The time step the code belongs to, if it is the code of the current step or one step either side
 * (clock drift) and later than `lastStep` (a code, once accepted, is never accepted again); else null.
 */
export async function matchTotp(
  secret: string | Uint8Array,
  code: unknown,
  now: Date,
  lastStep: bigint | number | null | undefined,
  digits: 6 | 8 = TOTP_DIGITS,
): Promise<number | null> {
  if (typeof code !== 'string') return null;
  const token = code.normalize('NFKC').replace(/\s+/g, '');
  if (!new RegExp(`^\\d{${digits}}$`).test(token)) return null;
  const epoch = Math.floor(now.getTime() / 1000);
  const after = lastStep === null || lastStep === undefined ? undefined : Number(lastStep);
  // otplib refuses an afterTimeStep beyond the window; such a code cannot be accepted anyway.
  if (after !== undefined && after >= totpStep(now) + 1) return null;
  try {
    const result = await verify({ ...base, secret, token, digits, epoch, epochTolerance: TOTP_PERIOD_SECONDS, afterTimeStep: after });
    return result.valid ? result.timeStep : null;
  } catch {
    return null; // malformed secret or token: no match, never an exception with details in it
  }
}
