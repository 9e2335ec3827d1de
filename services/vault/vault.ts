/**
 * The vault: envelope encryption of numbers, document images and TOTP secrets.
 *
 * Each secret gets its own random 256-bit data key (AES-256-GCM, 96-bit IV, 128-bit tag). The row
 * id, tenant and kind are bound as associated data, so a row's bytes cannot be moved to another row
 * or tenant. The data key is stored wrapped (AES-256-GCM) by the active master key, whose id is kept
 * in key_id; the wrapping binds row id and key id too. Rotating the master key therefore only
 * re-wraps 32-byte keys: the secrets themselves are never decrypted. Deleting the row removes
 * ciphertext and wrapped key together (crypto-shredding).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { isUuid } from '../db/uuid';
import { Prisma, type SecretKind } from '../../prisma/generated/client';
import { PREPARED } from '../db/statement-names';
import type { PrismaClient } from '../db/client';
import type { RawSql } from '../db/direct-sql';
import type { Keyring } from './keyring';
import { VaultError, type Db, type DigestDomain, type Vault } from './types';
import { createSandboxFlags, isSandboxNumber, SandboxNumberRefused } from '../tenants/sandbox';

// The request label predates the domains: fingerprints already stored keep matching.
const DIGEST_LABELS: Record<DigestDomain, string> = { request: 'mynaflow fingerprint v1', history: 'mynaflow history chain v1' };

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_BYTES = IV_BYTES + TAG_BYTES + KEY_BYTES;

export interface RotateOptions {
  /** rows re-wrapped per transaction (default 500) */
  batchSize?: number;
  /** called after each committed batch with the number re-wrapped so far in this run; may throw to stop */
  onBatch?: (rewrapped: number) => void | Promise<void>;
}

export interface RotateResult {
  /** data keys re-wrapped by this run */
  rewrapped: number;
  /** rows still under another key of this keyring: run again to finish */
  remaining: number;
  /** rows under a key this keyring does not hold: nobody here can open or re-wrap them */
  unavailable: number;
  /** rows whose wrapped key failed authentication: left as they are, for an operator to look at */
  tampered: string[];
}

export interface RotatingVault extends Vault {
  /** The master keys (the Temporal payload codec derives its key from them too). */
  readonly keyring: Keyring;
  /** Re-wraps every data key not under the active master key. Safe to interrupt, rerun or run twice at once. */
  rotate(options?: RotateOptions): Promise<RotateResult>;
}

const secretAad = (id: string, tenantId: string, kind: SecretKind) => Buffer.from(`vault:v1|${id}|${tenantId}|${kind}`, 'utf8');
const wrapAad = (id: string, keyId: string) => Buffer.from(`vault-key:v1|${id}|${keyId}`, 'utf8');

/** GCM encryption; returns iv, tag and ciphertext separately. */
function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

/** GCM decryption; throws on any authentication failure. authTagLength pins the tag to 16 bytes
 * (GCM would otherwise accept truncated tags). */
function decrypt(key: Buffer, iv: Buffer, tag: Buffer, ciphertext: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const head = decipher.update(ciphertext);
  try {
    const tail = decipher.final();
    const out = Buffer.concat([head, tail]);
    tail.fill(0);
    return out;
  } finally {
    head.fill(0); // unauthenticated or copied: either way not to be left lying around
  }
}

function wrapKey(master: Buffer, keyId: string, id: string, dataKey: Buffer): Buffer {
  const { iv, tag, ciphertext } = encrypt(master, dataKey, wrapAad(id, keyId));
  return Buffer.concat([iv, tag, ciphertext]);
}

function unwrapKey(master: Buffer, keyId: string, id: string, wrapped: Buffer): Buffer {
  if (wrapped.length !== WRAPPED_BYTES) throw new Error('wrapped key has the wrong length');
  return decrypt(
    master,
    wrapped.subarray(0, IV_BYTES),
    wrapped.subarray(IV_BYTES, IV_BYTES + TAG_BYTES),
    wrapped.subarray(IV_BYTES + TAG_BYTES),
    wrapAad(id, keyId),
  );
}

/** Prisma hands bytes back as Uint8Array: view them as a Buffer without copying. */
const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
/** Prisma's Bytes input type is Uint8Array backed by a plain ArrayBuffer. */
const bytes = (b: Buffer) => new Uint8Array(b);

const tampered = (id: string) => new VaultError('SECRET_TAMPERED', `vault secret ${id} failed authentication: it was altered, moved or damaged`);

export function createVault({ prisma, keyring }: { prisma: PrismaClient; keyring: Keyring }): RotatingVault {
  const activeKey = () => {
    const key = keyring.get(keyring.activeId);
    if (!key) throw new VaultError('KEY_UNAVAILABLE', `the active master key ${keyring.activeId} is not in the keyring`);
    return key;
  };

  // Whatever path a number comes by, a sandbox never stores a real one: the last gate is here. The
  // flag is read in the caller's transaction (fixed at creation, so remembered once read).
  const sandboxes = createSandboxFlags();
  async function refuseRealNumbersInSandboxes(inputs: readonly { tenantId: string; kind: SecretKind; plaintext: Buffer }[], db: Db) {
    const read = async (id: string) => (isUuid(id) ? ((await db.$queryRaw<{ sandbox: boolean }[]>`SELECT sandbox FROM tenants WHERE id = ${id}::uuid`)[0]?.sandbox ?? null) : null);
    for (const { tenantId, kind, plaintext } of inputs) {
      if (kind === 'my_number' && (await sandboxes(tenantId, read)) && !isSandboxNumber(plaintext.toString('utf8'))) throw new SandboxNumberRefused();
    }
  }

  /** Decrypts a row read from the table (its id and tenant bound as associated data). */
  function openRow(row: { id: string; keyId: string; kind: SecretKind; wrappedKey: Uint8Array; iv: Uint8Array; authTag: Uint8Array; ciphertext: Uint8Array }, tenantId: string): Buffer {
    const id = row.id;
    const master = keyring.get(row.keyId);
    if (!master) throw new VaultError('KEY_UNAVAILABLE', `vault secret ${id} is sealed under master key ${row.keyId}, which the keyring does not hold`);
    let dataKey: Buffer;
    try {
      dataKey = unwrapKey(master, row.keyId, id, buf(row.wrappedKey));
    } catch {
      throw tampered(id);
    }
    try {
      const iv = buf(row.iv);
      const tag = buf(row.authTag);
      if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw tampered(id);
      return decrypt(dataKey, iv, tag, buf(row.ciphertext), secretAad(id, tenantId, row.kind));
    } catch {
      // Node's own message ("Unsupported state or unable to authenticate data") says nothing more.
      throw tampered(id);
    } finally {
      dataKey.fill(0);
    }
  }

  /** HMAC under a key derived from the master key: the master key itself is used for wrapping only. */
  const digestUnder = (keyId: string, data: Buffer | string, domain: DigestDomain): Buffer | undefined => {
    const master = keyring.get(keyId);
    if (!master) return undefined;
    const key = createHmac('sha256', master).update(DIGEST_LABELS[domain]).digest();
    return createHmac('sha256', key).update(data).digest();
  };

  /** A secret's row: sealed under a fresh data key, which is wrapped under the active master key. */
  function sealedRow({ tenantId, kind, plaintext }: { tenantId: string; kind: SecretKind; plaintext: Buffer }) {
    // The id is made here, before encrypting, so that it can be bound as associated data.
    const id = randomUUID();
    const keyId = keyring.activeId;
    const master = activeKey();
    const dataKey = randomBytes(KEY_BYTES);
    try {
      const { iv, tag, ciphertext } = encrypt(dataKey, plaintext, secretAad(id, tenantId, kind));
      const wrappedKey = wrapKey(master, keyId, id, dataKey);
      return { id, tenantId, kind, ciphertext: bytes(ciphertext), iv: bytes(iv), authTag: bytes(tag), wrappedKey: bytes(wrappedKey), keyId };
    } finally {
      dataKey.fill(0);
    }
  }

  return {
    keyring,

    fingerprint(data, domain = 'request') {
      activeKey();
      return `${keyring.activeId}.${digestUnder(keyring.activeId, data, domain)!.toString('hex')}`;
    },

    hasFingerprint(fingerprint, data, domain = 'request') {
      const [keyId = '', hex = ''] = fingerprint.split('.');
      const expected = digestUnder(keyId, data, domain);
      const stored = Buffer.from(hex, 'hex');
      return expected !== undefined && stored.length === expected.length && timingSafeEqual(stored, expected);
    },

    knowsKeyOf(fingerprint) {
      return keyring.get(fingerprint.split('.')[0] ?? '') !== undefined;
    },

    async seal(input, db: Db = prisma) {
      await refuseRealNumbersInSandboxes([input], db);
      const row = sealedRow(input);
      await db.vaultSecret.create({ data: row });
      return row.id;
    },

    async sealMany(inputs, db: Db = prisma) {
      await refuseRealNumbersInSandboxes(inputs, db);
      const rows = inputs.map(sealedRow);
      // One INSERT per thousand: a migration seals thousands of numbers in one transaction.
      for (let i = 0; i < rows.length; i += 1000) await db.vaultSecret.createMany({ data: rows.slice(i, i + 1000) });
      return rows.map((r) => r.id);
    },

    async open(id, tenantId, db: Db = prisma) {
      const notFound = new VaultError('SECRET_NOT_FOUND', `vault secret ${id} not found`);
      // Postgres would reject a malformed uuid with an error of its own; it cannot exist anyway.
      if (!isUuid(id) || !isUuid(tenantId)) throw notFound;
      // Another tenant's secret looks exactly like a missing one.
      const row = await db.vaultSecret.findFirst({ where: { id, tenantId } });
      if (!row) throw notFound;
      return openRow(row, tenantId);
    },

    async openMany(ids, tenantId, db: Pick<Db, '$queryRaw'> | RawSql = prisma) {
      const wanted = [...new Set(ids)];
      const bad = wanted.find((id) => !isUuid(id));
      if (bad !== undefined || !isUuid(tenantId)) throw new VaultError('SECRET_NOT_FOUND', `vault secret ${bad ?? ''} not found`);
      // One query for a batch (a payroll pull opens hundreds at a time); each row is checked as in open().
      // Plain SQL: Prisma's findMany cost more than the decryption of the whole batch.
      const rows = await db.$queryRaw<{ id: string; keyId: string; kind: SecretKind; wrappedKey: Uint8Array; iv: Uint8Array; authTag: Uint8Array; ciphertext: Uint8Array }[]>`${Prisma.raw(PREPARED)}
        SELECT id, key_id AS "keyId", kind::text AS kind, wrapped_key AS "wrappedKey", iv, auth_tag AS "authTag", ciphertext
          FROM vault_secrets WHERE id = ANY(${wanted}::uuid[]) AND tenant_id = ${tenantId}::uuid`;
      const found = new Map(rows.map((r) => [r.id, r]));
      const out = new Map<string, Buffer>();
      for (const id of wanted) {
        const row = found.get(id);
        if (!row) throw new VaultError('SECRET_NOT_FOUND', `vault secret ${id} not found`);
        out.set(id, openRow(row, tenantId));
      }
      return out;
    },

    async shred(ids, db: Db = prisma) {
      const valid = [...new Set(ids)].filter((id) => isUuid(id));
      if (valid.length === 0) return 0;
      const { count } = await db.vaultSecret.deleteMany({ where: { id: { in: valid } } });
      return count;
    },

    async rotate({ batchSize = 500, onBatch } = {}) {
      if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError('batchSize must be a positive whole number');
      const activeId = keyring.activeId;
      const master = activeKey();
      const oldIds = keyring.ids().filter((k) => k !== activeId);
      let rewrapped = 0;
      const damaged: string[] = [];
      // One pass in id order. Rows already re-wrapped (by an earlier or a concurrent run) no longer
      // match key_id IN (old keys), which is what makes a rerun pick up where the last one stopped.
      let after: string | undefined;
      for (;;) {
        const rows = await prisma.vaultSecret.findMany({
          where: { keyId: { in: oldIds }, ...(after ? { id: { gt: after } } : {}) },
          select: { id: true, keyId: true, wrappedKey: true },
          orderBy: { id: 'asc' },
          take: batchSize,
        });
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.id;
        const updates = [];
        for (const row of rows) {
          const oldMaster = keyring.get(row.keyId)!;
          let dataKey: Buffer;
          try {
            dataKey = unwrapKey(oldMaster, row.keyId, row.id, buf(row.wrappedKey));
          } catch {
            damaged.push(row.id);
            continue;
          }
          try {
            const wrappedKey = wrapKey(master, activeId, row.id, dataKey);
            // Optimistic: only if nobody re-wrapped (or shredded) the row since it was read.
            updates.push(
              prisma.vaultSecret.updateMany({ where: { id: row.id, keyId: row.keyId }, data: { wrappedKey: bytes(wrappedKey), keyId: activeId } }),
            );
          } finally {
            dataKey.fill(0);
          }
        }
        if (updates.length) {
          const results = await prisma.$transaction(updates);
          rewrapped += results.reduce((n, r) => n + r.count, 0);
        }
        await onBatch?.(rewrapped);
        if (rows.length < batchSize) break;
      }
      const [remaining, unavailable] = await Promise.all([
        prisma.vaultSecret.count({ where: { keyId: { in: oldIds } } }),
        prisma.vaultSecret.count({ where: { keyId: { notIn: keyring.ids() } } }),
      ]);
      return { rewrapped, remaining, unavailable, tampered: damaged };
    },
  };
}
