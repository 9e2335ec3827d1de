/**
 * The vault against real PostgreSQL: envelope encryption, tamper detection, master-key files,
 * rotation without decrypting, and crypto-shredding checked on full pg_dump output.
 */
import { execFileSync } from 'node:child_process';
import { createDecipheriv, randomBytes, randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SecretKind } from '../prisma/generated/client';
import { loadConfig } from '../services/config/config';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { postgresBinDir } from '../services/devstack/postgres';
import { checkDigit } from '../services/mynumber/validate';
import {
  addKeyToFile,
  createKeyring,
  defaultKeyringFile,
  keyIdOf,
  KeyringError,
  loadKeyring,
  removeKeysFromFile,
  type Keyring,
} from '../services/vault/keyring';
import { VaultError } from '../services/vault/types';
import { createVault } from '../services/vault/vault';
import { ownerUrl } from './support/migrate';

let prisma: PrismaClient;
let tenantId: string;
let otherTenantId: string;
const tmpDirs: string[] = [];

const newTenant = async () => (await prisma.tenant.create({ data: { name: 'x', customerNumber: randomUUID().slice(0, 12) } })).id;
const key = () => randomBytes(32);
const validNumber = () => {
  const first11 = Array.from({ length: 11 }, () => String(randomInt(10))).join('');
  return `${first11}${checkDigit(first11)}`;
};
const tmpDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-vault-test-'));
  tmpDirs.push(dir);
  return dir;
};
const modeOf = (p: string) => fs.statSync(p).mode & 0o777;
const b = (u: Uint8Array) => Buffer.from(u);

/** The VaultError `promise` rejects with; fails unless it has `code`. */
async function vaultError(promise: Promise<unknown>, code: VaultError['code']): Promise<VaultError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected VaultError ${code}, but it resolved`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VaultError);
  expect((err as VaultError).code).toBe(code);
  return err as VaultError;
}

function keyringError(fn: () => unknown): KeyringError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KeyringError);
    return err as KeyringError;
  }
  throw new Error('expected a KeyringError, but nothing was thrown');
}

beforeAll(async () => {
  prisma = createPrisma(process.env.DATABASE_URL!);
  tenantId = await newTenant();
  otherTenantId = await newTenant();
});

afterAll(async () => {
  await prisma.$disconnect();
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('seal and open', () => {
  const vault = () => createVault({ prisma, keyring: createKeyring(key()) });

  it('round-trips a number and a 1 MB binary image', async () => {
    const v = vault();
    const number = validNumber();
    const image = randomBytes(1024 * 1024);
    const numberId = await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(number) });
    const imageId = await v.seal({ tenantId, kind: 'document', plaintext: image });
    expect(numberId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await v.open(numberId, tenantId)).toString('utf8')).toBe(number);
    expect((await v.open(imageId, tenantId)).equals(image)).toBe(true);
  });

  it('stores only ciphertext: no column holds the plaintext, and each row has its own data key and IV', async () => {
    const v = vault();
    const number = validNumber();
    const a = await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(number) });
    const c = await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(number) });
    const rows = await prisma.vaultSecret.findMany({ where: { id: { in: [a, c] } } });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.iv).toHaveLength(12);
      expect(row.authTag).toHaveLength(16);
      expect(row.wrappedKey).toHaveLength(60);
      for (const bytes of [row.ciphertext, row.iv, row.authTag, row.wrappedKey]) {
        expect(b(bytes).includes(Buffer.from(number))).toBe(false);
        expect(b(bytes).toString('latin1')).not.toContain(number);
      }
    }
    // same plaintext, different ciphertext: fresh IV and data key every time
    expect(b(rows[0]!.ciphertext).equals(b(rows[1]!.ciphertext))).toBe(false);
    expect(b(rows[0]!.wrappedKey).equals(b(rows[1]!.wrappedKey))).toBe(false);
  });

  describe('tampering', () => {
    let v: ReturnType<typeof vault>;
    let number: string;
    let id: string;
    beforeAll(() => {
      v = vault();
    });
    beforeEach(async () => {
      number = validNumber();
      id = await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(number) });
    });
    const flip = (u: Uint8Array, at = 0) => {
      const copy = new Uint8Array(u);
      copy[at]! ^= 0x01;
      return copy;
    };
    const row = () => prisma.vaultSecret.findUniqueOrThrow({ where: { id } });
    const expectTampered = async () => {
      const err = await vaultError(v.open(id, tenantId), 'SECRET_TAMPERED');
      expect(err.message).not.toContain(number);
    };

    it('a changed ciphertext byte', async () => {
      await prisma.vaultSecret.update({ where: { id }, data: { ciphertext: flip((await row()).ciphertext, 5) } });
      await expectTampered();
    });

    it('a changed authentication tag', async () => {
      await prisma.vaultSecret.update({ where: { id }, data: { authTag: flip((await row()).authTag, 15) } });
      await expectTampered();
    });

    it('a truncated authentication tag (GCM would accept short tags unless pinned to 16 bytes)', async () => {
      await prisma.vaultSecret.update({ where: { id }, data: { authTag: (await row()).authTag.slice(0, 4) } });
      await expectTampered();
    });

    it('a changed IV', async () => {
      await prisma.vaultSecret.update({ where: { id }, data: { iv: flip((await row()).iv) } });
      await expectTampered();
    });

    it('a changed wrapped key (iv, tag and body parts)', async () => {
      const original = (await row()).wrappedKey;
      for (const at of [0, 12, 40]) {
        await prisma.vaultSecret.update({ where: { id }, data: { wrappedKey: flip(original, at) } });
        await expectTampered();
      }
      await prisma.vaultSecret.update({ where: { id }, data: { wrappedKey: original.slice(0, 59) } });
      await expectTampered();
    });

    it('ciphertexts swapped between two rows', async () => {
      const otherNumber = validNumber();
      const other = await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(otherNumber) });
      const [r1, r2] = [await row(), await prisma.vaultSecret.findUniqueOrThrow({ where: { id: other } })];
      const fields = (r: typeof r1) => ({ ciphertext: r.ciphertext, iv: r.iv, authTag: r.authTag });
      await prisma.vaultSecret.update({ where: { id }, data: fields(r2) });
      await prisma.vaultSecret.update({ where: { id: other }, data: fields(r1) });
      await expectTampered();
      await vaultError(v.open(other, tenantId), 'SECRET_TAMPERED');
      // whole rows' contents swapped (wrapped key too): the row id is bound, so still refused
      await prisma.vaultSecret.update({ where: { id }, data: { ...fields(r2), wrappedKey: r2.wrappedKey } });
      await expectTampered();
    });

    it('the row moved to another tenant or given another kind', async () => {
      await prisma.vaultSecret.update({ where: { id }, data: { kind: 'totp' } });
      await expectTampered();
      await prisma.vaultSecret.update({ where: { id }, data: { kind: 'my_number', tenantId: otherTenantId } });
      await vaultError(v.open(id, otherTenantId), 'SECRET_TAMPERED');
    });

    it('opened with another tenant id: looks like a missing secret', async () => {
      await vaultError(v.open(id, otherTenantId), 'SECRET_NOT_FOUND');
      await vaultError(v.open(randomUUID(), tenantId), 'SECRET_NOT_FOUND');
      await vaultError(v.open('not-a-uuid', tenantId), 'SECRET_NOT_FOUND');
      expect((await v.open(id, tenantId)).toString()).toBe(number);
    });
  });

  it('KEY_UNAVAILABLE when the keyring lacks the master key the secret was sealed under', async () => {
    const a = key();
    const id = await createVault({ prisma, keyring: createKeyring(a) }).seal({ tenantId, kind: 'totp', plaintext: Buffer.from('JBSWY3DPEHPK3PXP') });
    const row = await prisma.vaultSecret.findUniqueOrThrow({ where: { id } });
    expect(row.keyId).toBe(keyIdOf(a));
    const err = await vaultError(createVault({ prisma, keyring: createKeyring(key()) }).open(id, tenantId), 'KEY_UNAVAILABLE');
    expect(err.message).toContain(keyIdOf(a));
    // with the old key as a previous one it opens again
    expect((await createVault({ prisma, keyring: createKeyring(key(), [a]) }).open(id, tenantId)).toString()).toBe('JBSWY3DPEHPK3PXP');
  });

  it('openMany opens a batch in one go, and refuses the whole batch when one secret is another tenant\'s, missing or damaged', async () => {
    const v = vault();
    const numbers = [validNumber(), validNumber(), validNumber()];
    const ids = await Promise.all(numbers.map((n) => v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(n) })));
    const opened = await v.openMany([...ids, ids[0]!], tenantId);
    expect(ids.map((id) => opened.get(id)!.toString('utf8'))).toEqual(numbers);
    const foreign = await v.seal({ tenantId: otherTenantId, kind: 'my_number', plaintext: Buffer.from(validNumber()) });
    await vaultError(v.openMany([ids[0]!, foreign], tenantId), 'SECRET_NOT_FOUND');
    await vaultError(v.openMany([ids[0]!, 'not-a-uuid'], tenantId), 'SECRET_NOT_FOUND');
    await prisma.vaultSecret.update({ where: { id: ids[1]! }, data: { kind: 'document' } });
    await vaultError(v.openMany(ids, tenantId), 'SECRET_TAMPERED');
  });

  it('sealMany seals each under its own data key and IV, in the inputs\' order, across INSERT batches, and joins a transaction', async () => {
    const v = vault();
    const number = validNumber();
    // 1,001 of the same number: two INSERTs, and not one ciphertext or wrapped key alike.
    const ids = await v.sealMany(Array.from({ length: 1001 }, (_, i) => ({ tenantId, kind: 'my_number' as const, plaintext: Buffer.from(i === 1000 ? 'last' : number) })));
    expect(new Set(ids).size).toBe(1001);
    const opened = await v.openMany(ids, tenantId);
    expect(ids.filter((id) => opened.get(id)!.toString('utf8') === number)).toHaveLength(1000);
    expect(opened.get(ids[1000]!)!.toString('utf8')).toBe('last');
    const rows = await prisma.vaultSecret.findMany({ where: { id: { in: ids } }, select: { ciphertext: true, wrappedKey: true, iv: true } });
    for (const field of ['ciphertext', 'wrappedKey', 'iv'] as const) expect(new Set(rows.map((r) => b(r[field]).toString('hex'))).size).toBe(1001);
    let sealed: string[] = [];
    await expect(
      prisma.$transaction(async (tx) => {
        sealed = await v.sealMany([{ tenantId, kind: 'my_number', plaintext: Buffer.from(validNumber()) }], tx);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await prisma.vaultSecret.count({ where: { id: { in: sealed } } })).toBe(0);
    expect(await v.sealMany([])).toEqual([]);
  });

  it('shred deletes rows, is idempotent and ignores ids that cannot exist', async () => {
    const v = vault();
    const ids = [
      await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(validNumber()) }),
      await v.seal({ tenantId, kind: 'document', plaintext: randomBytes(100) }),
    ];
    expect(await v.shred([...ids, ids[0]!, 'nonsense'])).toBe(2);
    expect(await v.shred(ids)).toBe(0);
    expect(await v.shred([])).toBe(0);
    await vaultError(v.open(ids[0]!, tenantId), 'SECRET_NOT_FOUND');
  });

  it('seal and shred join a transaction: a rollback leaves nothing behind', async () => {
    const v = vault();
    let sealed = '';
    await expect(
      prisma.$transaction(async (tx) => {
        sealed = await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(validNumber()) }, tx);
        expect(await tx.vaultSecret.count({ where: { id: sealed } })).toBe(1);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await prisma.vaultSecret.count({ where: { id: sealed } })).toBe(0);
  });
});

describe('keyring', () => {
  it('keyIdOf is the first 16 hex characters of sha256(key)', () => {
    const k = Buffer.alloc(32, 0);
    // sha256 of 32 zero bytes = 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925
    expect(keyIdOf(k)).toBe('66687aadf862bd77');
  });

  it('generates the default keyring file owner-only (0600, folder 0700) and reuses it', () => {
    const dataDir = path.join(tmpDir(), 'fresh', 'data');
    const config = loadConfig({ DATA_DIR: dataDir });
    const file = defaultKeyringFile(config);
    expect(file).toBe(path.join(dataDir, 'master-keys.json'));
    const first = loadKeyring(config);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(dataDir)).toBe(0o700);
    const content = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(content.active).toBe(first.activeId);
    expect(Object.keys(content.keys)).toEqual([first.activeId]);
    expect(Buffer.from(content.keys[first.activeId], 'base64')).toHaveLength(32);
    expect(keyIdOf(first.get(first.activeId)!)).toBe(first.activeId);
    // next load: the same key, file untouched
    const before = fs.readFileSync(file, 'utf8');
    const second = loadKeyring(config);
    expect(second.activeId).toBe(first.activeId);
    expect(second.get(second.activeId)!.equals(first.get(first.activeId)!)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.readdirSync(dataDir)).toEqual(['master-keys.json']); // no temporary files left
  });

  it('never overwrites an existing keyring file', () => {
    const dataDir = tmpDir();
    const k = key();
    const id = keyIdOf(k);
    fs.writeFileSync(path.join(dataDir, 'master-keys.json'), JSON.stringify({ active: id, keys: { [id]: k.toString('base64') } }), { mode: 0o600 });
    const ring = loadKeyring(loadConfig({ DATA_DIR: dataDir }));
    expect(ring.activeId).toBe(id);
    expect(ring.get(id)!.equals(k)).toBe(true);
  });

  it('refuses a keyring file that group or others can read', () => {
    const config = loadConfig({ DATA_DIR: tmpDir() });
    loadKeyring(config);
    const file = defaultKeyringFile(config);
    const content = fs.readFileSync(file, 'utf8');
    for (const mode of [0o644, 0o640, 0o604]) {
      fs.chmodSync(file, mode);
      const err = keyringError(() => loadKeyring(config));
      expect(err.message).toMatch(/group or others/);
      expect(err.message).toContain('chmod 600');
    }
    // and it was not replaced by a new one
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
    fs.chmodSync(file, 0o600);
    expect(() => loadKeyring(config)).not.toThrow();
  });

  it('refuses malformed keyring files without echoing key material', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'keys.json');
    const config = loadConfig({ DATA_DIR: dir, MASTER_KEY_FILE: file });
    const k = key();
    const id = keyIdOf(k);
    const cases: unknown[] = [
      'not json',
      [],
      { keys: { [id]: k.toString('base64') } },
      { active: id, keys: {} },
      { active: id, keys: { [id]: k.subarray(0, 16).toString('base64') } },
      { active: id, keys: { [id]: `${k.toString('base64')}!!` } },
      { active: 'aaaaaaaaaaaaaaaa', keys: { aaaaaaaaaaaaaaaa: k.toString('base64') } },
    ];
    for (const c of cases) {
      fs.writeFileSync(file, typeof c === 'string' ? c : JSON.stringify(c), { mode: 0o600 });
      const err = keyringError(() => loadKeyring(config));
      expect(err.message).toContain('malformed');
      expect(err.message).not.toContain(k.toString('base64'));
    }
  });

  it('does not invent a keyring that MASTER_KEY_FILE names but that is missing', () => {
    const dir = tmpDir();
    const file = path.join(dir, 'missing.json');
    expect(keyringError(() => loadKeyring(loadConfig({ DATA_DIR: dir, MASTER_KEY_FILE: file }))).message).toContain('does not exist');
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(path.join(dir, 'master-keys.json'))).toBe(false);
  });

  it('uses MASTER_KEY (active) and MASTER_KEY_PREVIOUS (readable) without touching any file', () => {
    const dir = tmpDir();
    const [a, p1, p2] = [key(), key(), key()];
    const ring = loadKeyring(
      loadConfig({ DATA_DIR: dir, MASTER_KEY: a.toString('base64'), MASTER_KEY_PREVIOUS: `${p1.toString('base64')}, ${p2.toString('base64')}` }),
    );
    expect(ring.activeId).toBe(keyIdOf(a));
    expect(ring.ids().sort()).toEqual([a, p1, p2].map(keyIdOf).sort());
    expect(ring.get(keyIdOf(p2))!.equals(p2)).toBe(true);
    expect(ring.get('0000000000000000')).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('addKeyToFile makes a new active key and keeps the old; removeKeysFromFile retires old keys only', () => {
    const config = loadConfig({ DATA_DIR: tmpDir() });
    const file = defaultKeyringFile(config);
    const old = loadKeyring(config);
    const newId = addKeyToFile(file);
    expect(modeOf(file)).toBe(0o600);
    const both = loadKeyring(config);
    expect(both.activeId).toBe(newId);
    expect(both.ids().sort()).toEqual([old.activeId, newId].sort());
    expect(both.get(old.activeId)!.equals(old.get(old.activeId)!)).toBe(true);
    expect(keyringError(() => removeKeysFromFile(file, [newId])).message).toContain('active');
    expect(removeKeysFromFile(file, [old.activeId, 'ffffffffffffffff'])).toEqual([old.activeId]);
    expect(loadKeyring(config).ids()).toEqual([newId]);
    expect(modeOf(file)).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['master-keys.json']);
  });
});

describe('rotate', () => {
  type Snapshot = Map<string, { ciphertext: Buffer; iv: Buffer; authTag: Buffer; wrappedKey: Buffer }>;
  const snapshot = async (ids: string[]): Promise<Snapshot> =>
    new Map(
      (await prisma.vaultSecret.findMany({ where: { id: { in: ids } } })).map((r) => [
        r.id,
        { ciphertext: b(r.ciphertext), iv: b(r.iv), authTag: b(r.authTag), wrappedKey: b(r.wrappedKey) },
      ]),
    );
  const sealMany = async (keyring: Keyring, n: number) => {
    const v = createVault({ prisma, keyring });
    const sealed = new Map<string, string>();
    for (let i = 0; i < n; i++) {
      const number = validNumber();
      sealed.set(await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(number) }), number);
    }
    return sealed;
  };
  const keyIdCounts = async (ids: string[]) => {
    const rows = await prisma.vaultSecret.findMany({ where: { id: { in: ids } }, select: { keyId: true } });
    return rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.keyId]: (acc[r.keyId] ?? 0) + 1 }), {});
  };
  const openAll = async (keyring: Keyring, sealed: Map<string, string>) => {
    const v = createVault({ prisma, keyring });
    for (const [id, number] of sealed) expect((await v.open(id, tenantId)).toString()).toBe(number);
  };

  it('re-wraps in batches, survives an interruption, resumes, and never re-encrypts a secret', async () => {
    const [a, bKey] = [key(), key()];
    const [idA, idB] = [keyIdOf(a), keyIdOf(bKey)];
    const sealed = await sealMany(createKeyring(a), 50);
    const ids = [...sealed.keys()];
    const before = await snapshot(ids);
    expect(await keyIdCounts(ids)).toEqual({ [idA]: 50 });

    const rotating = createVault({ prisma, keyring: createKeyring(bKey, [a]) });
    let batches = 0;
    const progress: number[] = [];
    await expect(
      rotating.rotate({
        batchSize: 10,
        onBatch: (done) => {
          progress.push(done);
          if (++batches === 2) throw new Error('interrupted');
        },
      }),
    ).rejects.toThrow('interrupted');
    expect(progress).toEqual([10, 20]);
    // two committed batches on B, the rest still on A, and every secret still opens
    expect(await keyIdCounts(ids)).toEqual({ [idB]: 20, [idA]: 30 });
    await openAll(createKeyring(bKey, [a]), sealed);

    const result = await rotating.rotate({ batchSize: 10 });
    expect(result).toEqual({ rewrapped: 30, remaining: 0, unavailable: expect.any(Number), tampered: [] });
    expect(await keyIdCounts(ids)).toEqual({ [idB]: 50 });

    // The secrets' own bytes are exactly as sealed: only the 32-byte data keys were re-wrapped.
    const after = await snapshot(ids);
    for (const id of ids) {
      const [x, y] = [before.get(id)!, after.get(id)!];
      expect(y.ciphertext.equals(x.ciphertext)).toBe(true);
      expect(y.iv.equals(x.iv)).toBe(true);
      expect(y.authTag.equals(x.authTag)).toBe(true);
      expect(y.wrappedKey.equals(x.wrappedKey)).toBe(false);
    }
    // Key A can be thrown away.
    await openAll(createKeyring(bKey), sealed);
    await vaultError(createVault({ prisma, keyring: createKeyring(a) }).open(ids[0]!, tenantId), 'KEY_UNAVAILABLE');
    // a further run has nothing to do
    expect(await rotating.rotate({ batchSize: 10 })).toMatchObject({ rewrapped: 0, remaining: 0 });
  });

  it('two runs at once re-wrap every row exactly once', async () => {
    const [c, d] = [key(), key()];
    const sealed = await sealMany(createKeyring(c), 30);
    const ring = createKeyring(d, [c]);
    const [r1, r2] = await Promise.all([createVault({ prisma, keyring: ring }).rotate({ batchSize: 5 }), createVault({ prisma, keyring: ring }).rotate({ batchSize: 7 })]);
    expect(r1.rewrapped + r2.rewrapped).toBe(30);
    expect(r1.remaining + r2.remaining).toBe(0);
    expect(await keyIdCounts([...sealed.keys()])).toEqual({ [keyIdOf(d)]: 30 });
    await openAll(createKeyring(d), sealed);
  });

  it('leaves a row whose wrapped key fails authentication alone and reports it', async () => {
    const [e, f] = [key(), key()];
    const sealed = await sealMany(createKeyring(e), 3);
    const [bad] = [...sealed.keys()];
    const row = await prisma.vaultSecret.findUniqueOrThrow({ where: { id: bad! } });
    const damaged = new Uint8Array(row.wrappedKey);
    damaged[30]! ^= 0xff;
    await prisma.vaultSecret.update({ where: { id: bad! }, data: { wrappedKey: damaged } });
    const result = await createVault({ prisma, keyring: createKeyring(f, [e]) }).rotate();
    expect(result).toMatchObject({ rewrapped: 2, remaining: 1, tampered: [bad] });
  });
});

describe('crypto-shredding', () => {
  /** A full logical dump of the test database, as an operator's backup would be. */
  function pgDump(): string {
    return execFileSync(path.join(postgresBinDir(), 'pg_dump'), ['--dbname', ownerUrl(), '--no-owner'], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024 * 1024,
    });
  }

  interface DumpedRow {
    id: string;
    tenantId: string;
    kind: SecretKind;
    ciphertext: Buffer;
    iv: Buffer;
    authTag: Buffer;
    wrappedKey: Buffer;
    keyId: string;
  }

  /** The vault_secrets rows of a dump's COPY block (bytea is written as \\x<hex>). */
  function dumpedVaultRows(dump: string): DumpedRow[] {
    const lines = dump.split('\n');
    const start = lines.findIndex((l) => l.startsWith('COPY public.vault_secrets '));
    expect(start).toBeGreaterThan(-1);
    const columns = lines[start]!.replace(/^COPY public\.vault_secrets \((.*)\) FROM stdin;$/, '$1').split(', ');
    const rows: DumpedRow[] = [];
    for (let i = start + 1; lines[i] !== '\\.'; i++) {
      const cells = Object.fromEntries(lines[i]!.split('\t').map((v, j) => [columns[j]!, v]));
      const hex = (v: string | undefined) => Buffer.from(v!.replace(/^\\\\x/, ''), 'hex');
      rows.push({
        id: cells.id!,
        tenantId: cells.tenant_id!,
        kind: cells.kind as SecretKind,
        ciphertext: hex(cells.ciphertext),
        iv: hex(cells.iv),
        authTag: hex(cells.auth_tag),
        wrappedKey: hex(cells.wrapped_key),
        keyId: cells.key_id!,
      });
    }
    return rows;
  }

  /**
   * What an attacker holding the dump and the master key would do, written independently of the
   * vault: unwrap every wrapped key in the dump with the master key, then decrypt. Returns what
   * opened.
   */
  function decryptDump(rows: DumpedRow[], master: Buffer): string[] {
    const gcm = (k: Buffer, iv: Buffer, tag: Buffer, ct: Buffer, aad: string) => {
      const d = createDecipheriv('aes-256-gcm', k, iv, { authTagLength: 16 });
      d.setAAD(Buffer.from(aad));
      d.setAuthTag(tag);
      return Buffer.concat([d.update(ct), d.final()]);
    };
    const opened: string[] = [];
    for (const r of rows) {
      let dataKey: Buffer;
      try {
        const w = r.wrappedKey;
        dataKey = gcm(master, w.subarray(0, 12), w.subarray(12, 28), w.subarray(28), `vault-key:v1|${r.id}|${r.keyId}`);
      } catch {
        continue; // wrapped by some other master key (other tests share the database)
      }
      opened.push(gcm(dataKey, r.iv, r.authTag, r.ciphertext, `vault:v1|${r.id}|${r.tenantId}|${r.kind}`).toString('latin1'));
    }
    return opened;
  }

  it('after shred, a full pg_dump holds neither the wrapped key nor anything that decrypts to the number', async () => {
    const master = key();
    const vault = createVault({ prisma, keyring: createKeyring(master) });
    const number = validNumber();
    const id = await vault.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(number) });
    // A control secret under the same master key that is kept: shows the dump search really works.
    const control = `control-${randomUUID()}`;
    const controlId = await vault.seal({ tenantId, kind: 'totp', plaintext: Buffer.from(control) });
    const row = await prisma.vaultSecret.findUniqueOrThrow({ where: { id } });
    const wrappedHex = `\\\\x${b(row.wrappedKey).toString('hex')}`; // COPY text format: \\x<hex>
    const ciphertextHex = `\\\\x${b(row.ciphertext).toString('hex')}`;

    const before = pgDump();
    expect(before).toContain(wrappedHex);
    expect(before).toContain(ciphertextHex);
    expect(before).toContain(id);
    expect(before).not.toContain(number); // sealed: never in clear, even before the deletion
    expect(decryptDump(dumpedVaultRows(before), master).sort()).toEqual([control, number].sort());

    expect(await vault.shred([id])).toBe(1);
    // pg_dump reads through an MVCC snapshot, so the deleted (dead) tuple is invisible to it even
    // before VACUUM; VACUUM only lets its space be reused. Physical copies (heap pages until
    // overwritten, WAL, file-level backups) can still hold the row — which is why destruction is
    // only complete once the master key that wrapped it is rotated away and retired.
    await prisma.$executeRawUnsafe('VACUUM vault_secrets');

    const after = pgDump();
    expect(after).not.toContain(wrappedHex);
    expect(after).not.toContain(ciphertextHex);
    expect(after).not.toContain(id);
    expect(after).not.toContain(number);
    expect(after.match(/\d{12,}/g)?.filter((run) => run.includes(number)) ?? []).toEqual([]);
    // every wrapped key left in the dump, tried with the master key: only the control opens
    expect(decryptDump(dumpedVaultRows(after), master)).toEqual([control]);
    await vaultError(vault.open(id, tenantId), 'SECRET_NOT_FOUND');
    expect((await vault.open(controlId, tenantId)).toString()).toBe(control);
  });
});
