/**
 * Short-lived 6-digit codes mailed to a login user (second factor, password reset, customer number,
 * proving the e-mail method). Only an HMAC of the code is stored, keyed by the row's own id, so a
 * copied hash is useless for any other row. A code is single use, lives 10 minutes and dies after
 * 5 tries; issuing a new code of the same purpose kills the older unused ones. The service keys the
 * HMAC with the vault's master key too (`CodeHasher`): a copy of the database alone does not let
 * anyone try the million codes against a stored hash.
 */
import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from 'node:crypto';
import type { SecurityCodePurpose } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';

export const CODE_TTL_MINUTES = 10;
export const CODE_MAX_ATTEMPTS = 5;

/** A Prisma client or an interactive transaction client. */
export type CodeDb = Pick<PrismaClient, 'securityCode'>;

const hashCode = (id: string, code: string) => createHmac('sha256', id).update(code).digest('hex');

/** How a code is kept: a digest bound to its row, and the check of a try against it. */
export interface CodeHasher {
  hash(id: string, code: string): string;
  matches(stored: string, id: string, code: string): boolean;
}

/** Keyed by the row id only (the low-level default; the auth service uses a server key as well). */
export const rowKeyedHasher: CodeHasher = {
  hash: hashCode,
  matches(stored, id, code) {
    const [expected, actual] = [Buffer.from(stored, 'hex'), Buffer.from(hashCode(id, code), 'hex')];
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  },
};

/** Keyed by the server's master key (through the vault's fingerprint) and bound to the row. */
export const serverKeyedHasher = (vault: { fingerprint(data: string): string; hasFingerprint(fp: string, data: string): boolean }): CodeHasher => ({
  hash: (id, code) => vault.fingerprint(`security-code|${id}|${code}`),
  // A code issued before the server key (no key id in it) still works out its 10 minutes.
  matches: (stored, id, code) => (stored.includes('.') ? vault.hasFingerprint(stored, `security-code|${id}|${code}`) : rowKeyedHasher.matches(stored, id, code)),
});

/** Full-width digits and spaces typed on a Japanese keyboard are accepted; anything else fails. */
export function normalizeCode(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  const code = input.normalize('NFKC').replace(/\s+/g, '');
  return /^\d{6}$/.test(code) ? code : null;
}

export interface IssuedCode {
  id: string;
  /** the plain code: goes into the mail and nowhere else */
  code: string;
  expiresAt: Date;
}

export async function issueSecurityCode(
  db: CodeDb,
  input: {
    loginUserId: string;
    purpose: SecurityCodePurpose;
    now: Date;
    /** the same code for several rows (one mail to an address with accounts in several tenants) */
    code?: string;
    /** tries already used up (a resent second-factor code keeps the count of the one it replaces) */
    attempts?: number;
    /** a row that can never match: only its attempt counter and expiry are used */
    unguessable?: boolean;
    hasher?: CodeHasher;
  },
): Promise<IssuedCode> {
  const { loginUserId, purpose, now } = input;
  const id = randomUUID();
  const code = input.code ?? String(randomInt(0, 1_000_000)).padStart(6, '0');
  const expiresAt = new Date(now.getTime() + CODE_TTL_MINUTES * 60_000);
  // Killing = marking used: the row stays for the record, but no lookup will find it.
  await db.securityCode.updateMany({ where: { loginUserId, purpose, usedAt: null }, data: { usedAt: now } });
  await db.securityCode.create({
    data: {
      id,
      loginUserId,
      purpose,
      codeHash: (input.hasher ?? rowKeyedHasher).hash(id, input.unguessable ? randomBytes(32).toString('hex') : code),
      attempts: Math.min(input.attempts ?? 0, CODE_MAX_ATTEMPTS),
      expiresAt,
      createdAt: now,
    },
  });
  return { id, code, expiresAt };
}

export type CodeCheck =
  | { ok: true; loginUserId: string; codeId: string }
  /**
   * `tried`: live codes this try was counted on (0: none was usable); `live`: some code is still
   * usable after it; `attempts`: the highest try count among them.
   */
  | { ok: false; tried: number; live: boolean; attempts: number };

/**
 * Tries `code` against the live codes of the purpose of these users. A try is counted before the
 * comparison, in one UPDATE … RETURNING, so concurrent guesses cannot exceed the limit; a match is
 * then consumed with a conditional update, so it works once even when sent twice at the same time.
 */
export async function checkSecurityCode(
  db: CodeDb,
  input: { loginUserIds: string[]; purpose: SecurityCodePurpose; code: unknown; now: Date; hasher?: CodeHasher },
): Promise<CodeCheck> {
  const { loginUserIds, purpose, now } = input;
  if (loginUserIds.length === 0) return { ok: false, tried: 0, live: false, attempts: 0 };
  const tried = await db.securityCode.updateManyAndReturn({
    where: { loginUserId: { in: loginUserIds }, purpose, usedAt: null, expiresAt: { gt: now }, attempts: { lt: CODE_MAX_ATTEMPTS } },
    data: { attempts: { increment: 1 } },
    select: { id: true, loginUserId: true, codeHash: true, attempts: true },
  });
  const code = normalizeCode(input.code);
  if (code !== null) {
    const hasher = input.hasher ?? rowKeyedHasher;
    for (const row of tried) {
      if (hasher.matches(row.codeHash, row.id, code)) {
        const consumed = await db.securityCode.updateMany({ where: { id: row.id, usedAt: null }, data: { usedAt: now } });
        if (consumed.count === 1) return { ok: true, loginUserId: row.loginUserId, codeId: row.id };
      }
    }
  }
  const attempts = tried.reduce((max, r) => Math.max(max, r.attempts), 0);
  return { ok: false, tried: tried.length, live: tried.some((r) => r.attempts < CODE_MAX_ATTEMPTS), attempts };
}

/** Marks every unused code of the purpose of these users used (e.g. the rest of a shared code). */
export async function killSecurityCodes(db: CodeDb, loginUserIds: string[], purpose: SecurityCodePurpose, now: Date): Promise<void> {
  await db.securityCode.updateMany({ where: { loginUserId: { in: loginUserIds }, purpose, usedAt: null }, data: { usedAt: now } });
}
