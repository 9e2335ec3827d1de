/**
 * The vault of an API or worker process, checked at start so that several instances cannot drift
 * apart on master keys. A secret sealed by an instance with a key the others lack makes every other
 * instance fail on it (500 on a number export), so:
 * - a key is generated (DATA_DIR/master-keys.json) only for the embedded database: `npm start`'s
 *   private cluster listens on loopback, so every process using it shares this DATA_DIR and its
 *   keyring. With any other database the key must be configured;
 * - the master key ids the database's sealed secrets use must all be in this instance's keyring,
 *   or it refuses to start, naming the ids (never key material).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/config';
import type { PrismaClient } from '../db/client';
import { defaultKeyringFile, KeyringError, loadKeyring, type Keyring } from './keyring';
import { createVault, type RotatingVault } from './vault';

type VaultConfig = Pick<Config, 'masterKey' | 'dataDir' | 'databaseUrl'>;

/**
 * Whether DATABASE_URL is `npm start`'s private cluster of this DATA_DIR: scripts/start.ts records
 * its URL in DATA_DIR/database-url (for `npm run prisma` and the ops CLI too) and hands the same URL
 * to the API and the worker.
 */
export function usesEmbeddedDatabase(config: Pick<Config, 'dataDir' | 'databaseUrl'>): boolean {
  if (!config.databaseUrl) return false;
  try {
    return fs.readFileSync(path.join(config.dataDir, 'database-url'), 'utf8').trim() === config.databaseUrl;
  } catch {
    return false;
  }
}

function keyringSource(config: VaultConfig): string {
  const { key, previous, file } = config.masterKey;
  if (key) return previous.length ? 'MASTER_KEY and MASTER_KEY_PREVIOUS' : 'MASTER_KEY';
  return `keyring file ${file ?? defaultKeyringFile(config)}`;
}

/** The configured keyring; generating one is refused unless the database is the embedded one. */
export function instanceKeyring(config: VaultConfig): Keyring {
  const { key, file } = config.masterKey;
  if (!key && !file && !usesEmbeddedDatabase(config)) {
    const existing = defaultKeyringFile(config);
    throw new KeyringError(
      "no master key is configured, and DATABASE_URL is not npm start's private database: a key made up here would exist on this " +
        'machine only, while every API and worker instance must hold the same key. Set MASTER_KEY (openssl rand -base64 32; the same ' +
        'value on every instance) or MASTER_KEY_FILE (the same keyring file on every instance).' +
        (fs.existsSync(existing) ? ` This machine has a keyring file from an earlier start, ${existing}: to keep using it, set MASTER_KEY_FILE=${existing} and give every instance a copy.` : ''),
    );
  }
  return loadKeyring(config);
}

/**
 * The master key ids in use in vault_secrets. A loose index scan over the key_id index: a handful of
 * keys among millions of rows costs a few index probes, not a scan of the table.
 */
async function keyIdsInUse(prisma: PrismaClient): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ key_id: string }[]>`
    WITH RECURSIVE ids(key_id) AS (
      (SELECT key_id FROM vault_secrets ORDER BY key_id LIMIT 1)
      UNION ALL
      SELECT (SELECT v.key_id FROM vault_secrets v WHERE v.key_id > ids.key_id ORDER BY v.key_id LIMIT 1)
      FROM ids WHERE ids.key_id IS NOT NULL
    )
    SELECT key_id FROM ids WHERE key_id IS NOT NULL`;
  return rows.map((r) => r.key_id);
}

/** Refuses (KeyringError) when the database holds secrets under master keys this keyring lacks. */
export async function checkKeyringCoversDatabase(prisma: PrismaClient, keyring: Keyring, source = 'this instance\'s keyring'): Promise<void> {
  const held = new Set(keyring.ids());
  const inUse = await keyIdsInUse(prisma).catch((err: Error) => {
    throw new Error(`cannot check the vault's master keys against the database: ${err.message.trim().split('\n').at(-1)}`);
  });
  const unknown = inUse.filter((id) => !held.has(id));
  if (unknown.length === 0) return;
  const counts = await prisma.vaultSecret.groupBy({ by: ['keyId'], where: { keyId: { in: unknown } }, _count: { _all: true } });
  const named = unknown
    .map((id) => {
      const n = counts.find((c) => c.keyId === id)?._count._all ?? 0;
      return `${id} (${n} secret${n === 1 ? '' : 's'})`;
    })
    .join(', ');
  throw new KeyringError(
    `the database holds secrets sealed under master key ${named}, which ${source} does not hold (it holds ${[...held].join(', ')}): ` +
      'this instance could not open them. Every API and worker instance must use the same master keys: configure the same MASTER_KEY ' +
      '(with MASTER_KEY_PREVIOUS during a rotation) or the same keyring file (MASTER_KEY_FILE) on every instance, then start it again.',
  );
}

/** The vault of an API or worker process: the configured keyring, checked against the database. */
export async function openInstanceVault(config: VaultConfig, prisma: PrismaClient): Promise<RotatingVault> {
  const keyring = instanceKeyring(config);
  await checkKeyringCoversDatabase(prisma, keyring, keyringSource(config));
  return createVault({ prisma, keyring });
}
