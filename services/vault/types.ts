/** The vault's contract, shared by everything that keeps secrets (numbers, images, TOTP secrets). */
import type { SecretKind } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import type { RawSql } from '../db/direct-sql';

/** A Prisma client or an interactive transaction client. */
export type Db = Pick<PrismaClient, 'vaultSecret' | '$queryRaw'>;

export interface Vault {
  /** Seals `plaintext` under a fresh data key; returns the new vault_secrets row id. */
  seal(input: { tenantId: string; kind: SecretKind; plaintext: Buffer }, db?: Db): Promise<string>;
  /** Seals each under a fresh data key, in a few multi-row INSERTs; the new ids in the inputs' order. */
  sealMany(inputs: readonly { tenantId: string; kind: SecretKind; plaintext: Buffer }[], db?: Db): Promise<string[]>;
  /** Opens a secret of the tenant; throws VaultError('SECRET_NOT_FOUND' | 'SECRET_TAMPERED' | 'KEY_UNAVAILABLE'). */
  open(id: string, tenantId: string, db?: Db): Promise<Buffer>;
  /** Opens many secrets of the tenant in one query; throws like open() if any is missing or damaged. */
  openMany(ids: string[], tenantId: string, db?: Pick<Db, '$queryRaw'> | RawSql): Promise<Map<string, Buffer>>;
  /** Crypto-shreds: the rows (ciphertext and wrapped data key) are deleted. Idempotent. */
  shred(ids: string[], db?: Db): Promise<number>;
  /**
   * A keyed digest of data that may hold numbers (an HMAC under a key derived from the active master
   * key, prefixed with its id): equal data compares equal, and the stored value cannot be tested
   * against guessed numbers without the master key, as a plain hash could.
   */
  fingerprint(data: Buffer | string, domain?: DigestDomain): string;
  /** Whether `data` has this fingerprint (made under any key still in the keyring). */
  hasFingerprint(fingerprint: string, data: Buffer | string, domain?: DigestDomain): boolean;
  /** Whether the keyring holds the key a fingerprint names (a history row under a retired key cannot be checked). */
  knowsKeyOf(fingerprint: string): boolean;
}

/**
 * What a fingerprint is for: each domain has a key of its own derived from the master key, so a
 * digest made for one use can never stand in for another (a request fingerprint for a history hash).
 */
export type DigestDomain = 'request' | 'history';

export class VaultError extends Error {
  constructor(public readonly code: 'SECRET_NOT_FOUND' | 'SECRET_TAMPERED' | 'KEY_UNAVAILABLE', message: string) {
    super(message);
    this.name = 'VaultError';
  }
}

/**
 * A secret as UTF-8 text (a number, a TOTP secret), or null when it is gone: shredded by a change
 * made meanwhile. Other vault errors are real and thrown.
 */
export async function openText(vault: Vault, id: string, tenantId: string): Promise<string | null> {
  try {
    return (await vault.open(id, tenantId)).toString('utf8');
  } catch (err) {
    if (err instanceof VaultError && err.code === 'SECRET_NOT_FOUND') return null;
    throw err;
  }
}
