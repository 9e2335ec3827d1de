/**
 * 操作履歴 on real PostgreSQL: the hash chain under concurrent writers, the append-only triggers,
 * tamper detection, search and the CSV download.
 *
 * operation_events cannot be cleaned up (that is the point), so every test works on a tenant of
 * its own; tampering (with the triggers bypassed) touches only that tenant and is undone at the
 * end of the test, so a whole-table verify() by anyone else still sees intact chains.
 */
import { randomUUID } from 'node:crypto';
import iconv from 'iconv-lite';
import { createHash } from 'node:crypto';
import { createHistory, DELETED_SUFFIX, formatJst, GENESIS_HASH, hashEvent, HISTORY_CSV_HEADER, unkeyedHashEvent, type SignedHead } from '../services/audit/history';
import { createKeyring } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';
import type { Vault } from '../services/vault/types';
import { OPERATIONS } from '../services/audit/operations';
import { PURPOSE_LABELS, PURPOSES } from '../services/audit/purposes';
import type { Actor, OperationInput } from '../services/audit/types';
import { CsvEncodingError } from '../services/csv/encode';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { Prisma, type OperationEvent } from '../prisma/generated/client';
import { ALL_PURPOSES } from './support/purposes';
import { ownerPrisma, testVault } from './support/fixtures';

let prisma: PrismaClient;
let history: ReturnType<typeof createHistory>;
let vault: Vault;
/** the database's owner: only it can bypass the triggers (the app role may not even try) */
let owner: PrismaClient;

beforeAll(() => {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL missing: jest global set-up did not run');
  prisma = createPrisma(url);
  vault = testVault(prisma);
  history = createHistory(prisma, vault);
  owner = ownerPrisma();
});

afterAll(async () => {
  await prisma?.$disconnect();
  await owner?.$disconnect();
});

async function newTenant(name = '履歴テスト株式会社'): Promise<string> {
  const t = await prisma.tenant.create({ data: { name, customerNumber: randomUUID().slice(0, 12) } });
  return t.id;
}

async function newLoginUser(tenantId: string, name: string) {
  return prisma.loginUser.create({
    data: { tenantId, name, email: `${randomUUID().slice(0, 8)}@example.co.jp`, passwordHash: 'not-a-real-hash', role: 'manager' },
  });
}

const rowsOf = (tenantId: string) => prisma.operationEvent.findMany({ where: { tenantId }, orderBy: { id: 'asc' } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Records `n` events one after another (distinct milliseconds) and returns their rows. */
async function recordSeries(tenantId: string, n: number): Promise<OperationEvent[]> {
  for (let i = 0; i < n; i++) {
    await history.record({ tenantId, actor: { type: 'system', label: 'システム' }, operation: 'registrant_viewed', detail: { n: i } });
  }
  return rowsOf(tenantId);
}

/** Runs raw SQL with the append-only triggers off (as the owner), in a transaction of its own. */
async function tamper(fn: (tx: Prisma.TransactionClient) => Promise<unknown>): Promise<void> {
  await owner.$transaction(async (tx) => {
    await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
    await fn(tx);
  });
}

/** Every column but id and the two hashes. */
function bodyOf(r: OperationEvent) {
  const { id: _id, detail, prevHash: _p, hash: _h, ...rest } = r;
  return { ...rest, detail: detail === null ? Prisma.DbNull : (detail as Prisma.InputJsonValue) };
}

/** Every column but id: what a tamperer moves between rows. */
const contentOf = (r: OperationEvent) => ({ ...bodyOf(r), prevHash: r.prevHash, hash: r.hash });

/** Swaps everything but the ids of two rows (hash is unique, hence the placeholder). */
async function swapContents(a: OperationEvent, b: OperationEvent, withHashes: boolean): Promise<void> {
  await tamper(async (tx) => {
    if (!withHashes) {
      await tx.operationEvent.update({ where: { id: a.id }, data: bodyOf(b) });
      await tx.operationEvent.update({ where: { id: b.id }, data: bodyOf(a) });
      return;
    }
    await tx.operationEvent.update({ where: { id: a.id }, data: { ...contentOf(b), hash: `swap-${randomUUID()}` } });
    await tx.operationEvent.update({ where: { id: b.id }, data: contentOf(a) });
    await tx.operationEvent.update({ where: { id: a.id }, data: { hash: b.hash } });
  });
}

/** Puts rows back exactly as they were. */
async function restore(rows: OperationEvent[]): Promise<void> {
  await tamper(async (tx) => {
    for (const r of rows) {
      await tx.operationEvent.update({ where: { id: r.id }, data: { hash: `restore-${randomUUID()}` } });
    }
    for (const r of rows) await tx.operationEvent.update({ where: { id: r.id }, data: contentOf(r) });
  });
}

describe('hash chain', () => {
  test('200 concurrent writers of one tenant, interleaved with a second tenant, form one unbroken chain each', async () => {
    const [a, b] = [await newTenant('並行A'), await newTenant('並行B')];
    const writes: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) {
      writes.push(history.record({ tenantId: a, actor: { type: 'system', label: 'システム' }, operation: 'registrant_viewed', detail: { n: i } }));
      if (i % 4 === 0) {
        writes.push(history.record({ tenantId: b, actor: { type: 'api_client', id: 'client-1', label: '給与システム' }, operation: 'number_pulled', purpose: 'withholding_slip', detail: { n: i } }));
      }
    }
    await Promise.all(writes);

    for (const [tenantId, count] of [[a, 200], [b, 50]] as const) {
      const rows = await rowsOf(tenantId);
      expect(rows).toHaveLength(count);
      expect(rows[0]!.prevHash).toBe(GENESIS_HASH);
      rows.forEach((r, i) => {
        if (i > 0) {
          expect(r.prevHash).toBe(rows[i - 1]!.hash);
          // chain order is time order: the time is taken under the tenant's lock
          expect(r.occurredAt.getTime()).toBeGreaterThanOrEqual(rows[i - 1]!.occurredAt.getTime());
        }
        expect(hashEvent(vault, r)).toBe(r.hash);
      });
      expect(new Set(rows.map((r) => (r.detail as { n: number }).n)).size).toBe(count);
      await expect(history.verify(tenantId)).resolves.toMatchObject({ ok: true, checked: count, tenants: 1 });
    }

    // The whole table: other test files may write (never tamper) concurrently, so only ours are asserted.
    const all = await history.verify();
    expect(all.checked).toBeGreaterThanOrEqual(250);
    expect(all.tenants).toBeGreaterThanOrEqual(2);
    expect([a, b]).not.toContain(all.firstBroken?.tenantId);
  });

  test('recordMany chains a batch in order under one lock, interleaved with single writers, and verifies', async () => {
    const t = await newTenant('一括');
    const batch = (from: number) =>
      prisma.$transaction(
        (tx) => history.recordMany(Array.from({ length: 300 }, (_, i) => ({ tenantId: t, actor: { type: 'api_client' as const, id: 'c', label: '給与' }, operation: 'number_pulled' as const, purpose: 'withholding_slip' as const, detail: { n: from + i } })), tx),
        { isolationLevel: 'ReadCommitted' },
      );
    await Promise.all([batch(0), history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_viewed', detail: { n: -1 } }), batch(300)]);
    const rows = await rowsOf(t);
    expect(rows).toHaveLength(601);
    rows.forEach((r, i) => {
      if (i > 0) expect(r.prevHash).toBe(rows[i - 1]!.hash);
      expect(hashEvent(vault, r)).toBe(r.hash);
    });
    // Each batch stays whole and in order.
    const ns = rows.map((r) => (r.detail as { n: number }).n).filter((n) => n >= 0);
    const firstBatch = ns.filter((n) => n < 300);
    expect(firstBatch).toEqual([...firstBatch].sort((x, y) => x - y));
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 601 });
    await expect(prisma.$transaction((tx) => history.recordMany([{ tenantId: t, actor: { type: 'system', label: 'x' }, operation: 'registrant_viewed' }, { tenantId: randomUUID(), actor: { type: 'system', label: 'x' }, operation: 'registrant_viewed' }], tx), { isolationLevel: 'ReadCommitted' })).rejects.toThrow('one tenant');
  });

  test('records of one tenant asked for at once commit in groups, in the order asked; a bad one is refused alone', async () => {
    const t = await newTenant('まとめて');
    const asked = Array.from({ length: 200 }, (_, n) => history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_viewed', detail: { n } }));
    const bad = history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, registrant: { id: 'not-a-uuid', label: 'x' }, operation: 'registrant_viewed' });
    await expect(bad).rejects.toThrow('registrant.id must be a UUID');
    await Promise.all(asked);
    const rows = await rowsOf(t);
    expect(rows.map((r) => (r.detail as { n: number }).n)).toEqual(Array.from({ length: 200 }, (_, n) => n));
    // One commit per group (a group's rows share its time): the first alone, the rest together.
    expect(new Set(rows.map((r) => r.occurredAt.getTime())).size).toBeLessThanOrEqual(3);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 200 });

    // A row that fails inside the group's INSERT (a detail JSON cannot hold) fails its own caller
    // only: the others of its group are recorded, in order, and the chain holds.
    const mixed = await Promise.allSettled(
      [0, 1, 2, 3].map((n) => history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_viewed', detail: n === 2 ? { n, big: 10n as unknown as number } : { n } })),
    );
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const after = await rowsOf(t);
    expect(after.slice(200).map((r) => (r.detail as { n: number }).n)).toEqual([0, 1, 3]);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 203 });
  });

  test('a record made inside a transaction commits or rolls back with it', async () => {
    const t = await newTenant();
    await prisma.$transaction(async (tx) => {
      await history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_created' }, tx);
    });
    await expect(
      prisma.$transaction(async (tx) => {
        await history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_deleted' }, tx);
        throw new Error('the use case failed');
      }),
    ).rejects.toThrow('the use case failed');
    const rows = await rowsOf(t);
    expect(rows.map((r) => r.operation)).toEqual(['registrant_created']);
    await history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_updated' });
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 2 });
  });

  test('refuses to chain inside a REPEATABLE READ transaction, whose snapshot could predate the lock', async () => {
    const t = await newTenant();
    await expect(
      prisma.$transaction((tx) => history.record({ tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'registrant_created' }, tx), {
        isolationLevel: Prisma.TransactionIsolationLevel.RepeatableRead,
      }),
    ).rejects.toThrow(/READ COMMITTED/);
    expect(await rowsOf(t)).toHaveLength(0);
  });

  test('stores what it hashes: upper-case ids, jsonb key order, Dates and undefined in detail', async () => {
    const t = await newTenant();
    const registrantId = randomUUID();
    await history.record({
      tenantId: t.toUpperCase(),
      actor: { type: 'login_user', id: randomUUID(), label: '担当\u0000者\uD800' },
      registrant: { id: registrantId.toUpperCase(), label: '山田 太郎' },
      operation: 'number_revealed',
      purpose: 'employment_insurance',
      ip: '203.0.113.7',
      userAgent: 'jest',
      detail: { z: 1, a: { y: [1, 'x', null], b: new Date(0) as unknown as string }, u: undefined as unknown as string, big: 1e21 },
    });
    const [row] = await rowsOf(t);
    expect(row).toMatchObject({ registrantId, actorLabel: '担当者\uFFFD', label: OPERATIONS.number_revealed });
    expect(row!.detail).toEqual({ z: 1, a: { y: [1, 'x', null], b: '1970-01-01T00:00:00.000Z' }, big: 1e21 });
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 1 });
  });
});

describe('append-only', () => {
  // Each statement runs in a transaction that is always rolled back: were a trigger missing,
  // nothing would actually be lost.
  const ROLLBACK = new Error('rolled back by the test');
  async function refused(sql: string, as: PrismaClient = prisma): Promise<unknown> {
    const err = await as
      .$transaction(async (tx) => {
        await tx.$executeRawUnsafe(sql);
        throw ROLLBACK;
      })
      .catch((e: unknown) => e);
    expect(err).not.toBe(ROLLBACK);
    return err;
  }

  test('the app role may not UPDATE, DELETE or TRUNCATE it, and even the owner is refused by the triggers', async () => {
    const t = await newTenant();
    const before = await recordSeries(t, 2);
    for (const sql of [`UPDATE operation_events SET label = 'x' WHERE tenant_id = '${t}'`, `DELETE FROM operation_events WHERE tenant_id = '${t}'`, 'TRUNCATE operation_events']) {
      expect(await refused(sql)).toHaveProperty('message', expect.stringMatching(/permission denied for table operation_events/));
    }
    await expect(prisma.operationEvent.update({ where: { id: before[0]!.id }, data: { label: 'x' } })).rejects.toThrow(/permission denied/);
    await expect(prisma.operationEvent.deleteMany({ where: { tenantId: t } })).rejects.toThrow(/permission denied/);
    // The owner has the privileges; the triggers stand in the way (a second line of defence).
    expect(await refused(`UPDATE operation_events SET label = 'x' WHERE tenant_id = '${t}'`, owner)).toHaveProperty('message', expect.stringMatching(/append-only: UPDATE/));
    expect(await refused(`DELETE FROM operation_events WHERE tenant_id = '${t}'`, owner)).toHaveProperty('message', expect.stringMatching(/append-only: DELETE/));
    expect(await refused('TRUNCATE operation_events', owner)).toHaveProperty('message', expect.stringMatching(/append-only: TRUNCATE/));
    expect(await rowsOf(t)).toEqual(before);
  });
});

describe('tamper detection (triggers bypassed as the owner)', () => {
  test('an edited row is a hash_mismatch at exactly that row', async () => {
    const t = await newTenant();
    const rows = await recordSeries(t, 5);
    const victim = rows[2]!;
    await tamper((tx) => tx.$executeRaw`UPDATE operation_events SET label = ${'マイナンバーの削除'} WHERE id = ${victim.id}`);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, checked: 3, tenants: 1, firstBroken: { tenantId: t, id: victim.id.toString(), reason: 'hash_mismatch' } });
    // an unfiltered verify finds it too
    await expect(history.verify()).resolves.toMatchObject({ ok: false });

    await restore([victim]);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 5, tenants: 1 });
  });

  test('a deleted row breaks the chain at the next row', async () => {
    const t = await newTenant();
    const rows = await recordSeries(t, 5);
    const victim = rows[2]!;
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id = ${victim.id}`);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { tenantId: t, id: rows[3]!.id.toString(), reason: 'chain_broken' } });

    await prisma.operationEvent.create({ data: { id: victim.id, ...contentOf(victim) } });
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 5, tenants: 1 });
  });

  test('swapped rows are found at the first of them, with or without their hashes', async () => {
    const t = await newTenant();
    const rows = await recordSeries(t, 5);
    const [first, second] = [rows[1]!, rows[3]!];

    await swapContents(first, second, true);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: first.id.toString(), reason: 'chain_broken' } });
    await restore([first, second]);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 5 });

    await swapContents(first, second, false);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: first.id.toString(), reason: 'hash_mismatch' } });
    await restore([first, second]);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 5 });
  });

  test('a forged row slipped into the chain, even with a correct hash, breaks it at the next row', async () => {
    const t = await newTenant();
    await recordSeries(t, 2);
    // Leave an unused id between two rows of the tenant, as a forger would need.
    const [burnt] = await prisma.$queryRaw<{ id: bigint }[]>`SELECT nextval(pg_get_serial_sequence('operation_events', 'id')) AS id`;
    const gap = burnt!.id;
    const rows = await recordSeries(t, 2);
    const [before, after] = [rows[1]!, rows[2]!];
    const forged = { ...before, id: gap, occurredAt: new Date(before.occurredAt.getTime() + 1), label: '承認', operation: 'approved', prevHash: before.hash };
    forged.hash = hashEvent(vault, forged);
    await prisma.operationEvent.create({ data: { id: gap, ...contentOf(forged) } });
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: after.id.toString(), reason: 'chain_broken' } });
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id = ${gap}`);

    // Appended with a made-up hash: refused at the forged row itself (no keyed hash after keyed ones),
    // and so is one made up in the keyed form.
    const fake = await prisma.operationEvent.create({ data: { ...contentOf(rows[3]!), prevHash: rows[3]!.hash, hash: `forged-${randomUUID()}` } });
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: fake.id.toString(), reason: 'unkeyed' } });
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id = ${fake.id}`);
    const keyedFake = await prisma.operationEvent.create({ data: { ...contentOf(rows[3]!), prevHash: rows[3]!.hash, hash: `${rows[3]!.hash.split('.')[0]}.${'ab'.repeat(32)}` } });
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: keyedFake.id.toString(), reason: 'hash_mismatch' } });
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id = ${keyedFake.id}`);
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id = ${fake.id}`);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 4, tenants: 1 });
  });

  test('a chain cut off at its end passes on its own but not against the head kept from an earlier run', async () => {
    const t = await newTenant();
    const rows = await recordSeries(t, 4);
    const earlier = await history.verify(t);
    expect(earlier.heads).toEqual([{ tenantId: t, id: rows[3]!.id.toString(), hash: rows[3]!.hash }]);
    const kept = { id: earlier.heads[0]!.id, hash: earlier.heads[0]!.hash };
    await expect(history.verify(t, kept)).resolves.toMatchObject({ ok: true, checked: 4 });

    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id IN (${rows[2]!.id}, ${rows[3]!.id})`);
    const alone = await history.verify(t);
    expect(alone).toMatchObject({ ok: true, checked: 2, heads: [{ id: rows[1]!.id.toString() }] });
    await expect(history.verify(t, kept)).resolves.toMatchObject({ ok: false, firstBroken: { tenantId: t, id: kept.id, reason: 'anchor_missing' } });
    // a made-up hash for a row that is there is no anchor either
    await expect(history.verify(t, { id: rows[0]!.id.toString(), hash: 'f'.repeat(64) })).resolves.toMatchObject({ ok: false, firstBroken: { reason: 'anchor_missing' } });

    for (const r of [rows[2]!, rows[3]!]) await prisma.operationEvent.create({ data: { id: r.id, ...contentOf(r) } });
    await expect(history.verify(t, kept)).resolves.toMatchObject({ ok: true, checked: 4 });
  });
});

describe('the chain is keyed by the master key', () => {
  /** Rewrites rows from `from` on with new contents and hashes made by `hashOf`, chaining each onto the last (as the owner). */
  async function rechain(rows: OperationEvent[], from: number, hashOf: (r: OperationEvent) => string, edit: (r: OperationEvent) => Partial<OperationEvent> = () => ({})) {
    const out: OperationEvent[] = [];
    let prev = from === 0 ? GENESIS_HASH : rows[from - 1]!.hash;
    for (const r of rows.slice(from)) {
      const changed = { ...r, ...edit(r), prevHash: prev };
      changed.hash = hashOf(changed);
      prev = changed.hash;
      out.push(changed);
    }
    await tamper(async (tx) => {
      for (const r of out) await tx.operationEvent.update({ where: { id: r.id }, data: { hash: `rechain-${randomUUID()}` } });
      for (const r of out) await tx.operationEvent.update({ where: { id: r.id }, data: contentOf(r) });
    });
  }
  test('a table rewritten and re-chained by someone without the master key fails verification', async () => {
    const t = await newTenant();
    const rows = await recordSeries(t, 5);
    const approve = () => ({ operation: 'approved', label: OPERATIONS.approved });

    // Plain sha256, as the chain was before it was keyed: a plain row after keyed ones.
    await rechain(rows, 2, unkeyedHashEvent, approve);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { tenantId: t, id: rows[2]!.id.toString(), reason: 'unkeyed' } });
    await restore(rows);

    // HMAC under a key of the forger's, labelled with the real key's id: the digest does not match.
    const realKeyId = rows[0]!.hash.split('.')[0]!;
    const forgerKey = Buffer.alloc(32, 7);
    const forger = createVault({ prisma, keyring: createKeyring(forgerKey) });
    await rechain(rows, 2, (r) => `${realKeyId}.${hashEvent(forger, r).split('.')[1]}`, approve);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: rows[2]!.id.toString(), reason: 'hash_mismatch' } });
    await restore(rows);

    // Under the forger's own key id: a key this keyring lacks.
    await rechain(rows, 2, (r) => hashEvent(forger, r), approve);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: false, firstBroken: { id: rows[2]!.id.toString(), reason: 'key_unavailable' } });
    await restore(rows);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 5, unkeyed: 0 });
  });

  test('a whole chain rewritten as if from before the key passes alone, but not against the signed head kept outside', async () => {
    const t = await newTenant();
    const rows = await recordSeries(t, 4);
    const checked = await history.verify(t);
    const head = history.signHead(checked.heads[0]!);
    await expect(history.verify(t, head)).resolves.toMatchObject({ ok: true, checked: 4 });

    await rechain(rows, 0, unkeyedHashEvent, (r) => (r.id === rows[1]!.id ? { operation: 'approved', label: OPERATIONS.approved } : {}));
    // Every row plain from the first: it looks like a chain from before the key (counted, so it shows)…
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 4, unkeyed: 4 });
    // …but the head signed earlier is gone.
    await expect(history.verify(t, head)).resolves.toMatchObject({ ok: false, firstBroken: { tenantId: t, id: head.id, reason: 'anchor_missing' } });
    await restore(rows);
    await expect(history.verify(t, head)).resolves.toMatchObject({ ok: true, unkeyed: 0 });
  });

  test("a signed head is checked: edited, signed by another key or another tenant's, it is refused", async () => {
    const [t, u] = [await newTenant(), await newTenant()];
    await recordSeries(t, 2);
    await recordSeries(u, 1);
    const head = history.signHead((await history.verify(t)).heads[0]!);
    const other = history.signHead((await history.verify(u)).heads[0]!);
    expect(head).toMatchObject({ tenantId: t, signature: expect.stringMatching(/^[0-9a-f]{16}\.[0-9a-f]{64}$/) });
    await expect(history.verify(t, head)).resolves.toMatchObject({ ok: true });

    const forged = (h: SignedHead) => history.verify(t, h).then((r) => r.firstBroken?.reason);
    // the head of a row that is really there, with an edited time or a made-up signature
    expect(await forged({ ...head, signedAt: new Date(0).toISOString() })).toBe('anchor_forged');
    expect(await forged({ ...head, signature: `${head.signature.split('.')[0]}.${'0'.repeat(64)}` })).toBe('anchor_forged');
    const otherKey = createHistory(prisma, createVault({ prisma, keyring: createKeyring(Buffer.alloc(32, 9)) }));
    expect(await forged(otherKey.signHead((await history.verify(t)).heads[0]!))).toBe('anchor_forged');
    // another tenant's genuine head
    expect(await forged(other)).toBe('anchor_forged');
  });

  test('a chain from before the key (plain sha256) still verifies, and new rows continue it keyed', async () => {
    const t = await newTenant();
    // Two rows as the previous version wrote them.
    let prev = GENESIS_HASH;
    for (const n of [0, 1]) {
      const fields = { tenantId: t, occurredAt: new Date(Date.now() - 60_000 + n), actorType: 'system' as const, actorId: null, actorLabel: 'システム', registrantId: null, registrantLabel: null, operation: 'registrant_viewed', label: OPERATIONS.registrant_viewed, purpose: null, ip: null, userAgent: null, detail: { n }, prevHash: prev };
      const hash = unkeyedHashEvent(fields);
      expect(hash).toBe(createHash('sha256').update(JSON.stringify(['mynaflow.operation_event.v1', t, fields.occurredAt.toISOString(), 'system', null, 'システム', null, null, 'registrant_viewed', OPERATIONS.registrant_viewed, null, null, null, `{"n":${n}}`, prev])).digest('hex'));
      await prisma.operationEvent.create({ data: { ...fields, hash } });
      prev = hash;
    }
    await recordSeries(t, 2);
    const rows = await rowsOf(t);
    expect(rows[2]!.prevHash).toBe(rows[1]!.hash);
    expect(rows[2]!.hash).toMatch(/^[0-9a-f]{16}\.[0-9a-f]{64}$/);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 4, unkeyed: 2 });
  });
});

describe('search and CSV', () => {
  let t: string;
  let sato: { id: string };
  let suzuki: { id: string };
  const yamada = randomUUID();
  const tanaka = randomUUID();
  const times: Date[] = [];

  const as = (u: { id: string }, label: string): Actor => ({ type: 'login_user', id: u.id, label });
  // Oldest first; each in its own millisecond so date ranges can split them.
  const events = (): OperationInput[] => [
    { tenantId: t, actor: as(sato, '佐藤 花子'), operation: 'login_succeeded', ip: '198.51.100.1', userAgent: 'Firefox' },
    { tenantId: t, actor: as(sato, '佐藤 花子'), operation: 'registrant_created', registrant: { id: yamada, label: '山田 太郎' } },
    { tenantId: t, actor: as(suzuki, '鈴木 一郎'), operation: 'number_revealed', registrant: { id: yamada, label: '山田 太郎' }, purpose: 'withholding_slip', ip: '198.51.100.2' },
    { tenantId: t, actor: { type: 'api_client', id: 'payroll-1', label: 'Payroll Connector' }, operation: 'number_pulled', registrant: { id: tanaka, label: '田中 次郎' }, purpose: 'dividends' },
    { tenantId: t, actor: as(suzuki, '鈴木 一郎'), operation: 'numbers_downloaded', purpose: 'employment_insurance' },
    { tenantId: t, actor: { type: 'login_user', id: randomUUID(), label: '100%_担当' }, operation: 'registrant_viewed', registrant: { id: tanaka, label: '田中 次郎' } },
    { tenantId: t, actor: { type: 'system', label: 'システム' }, operation: 'invitation_sent', registrant: { id: tanaka, label: '田中 次郎' } },
  ];

  beforeAll(async () => {
    t = await newTenant('検索テスト株式会社');
    sato = await newLoginUser(t, '佐藤 花子');
    suzuki = await newLoginUser(t, '鈴木 一郎');
    for (const e of events()) {
      await history.record(e);
      times.push((await prisma.operationEvent.findFirstOrThrow({ where: { tenantId: t }, orderBy: { id: 'desc' } })).occurredAt);
      await sleep(3);
    }
  });

  const ops = async (q: Omit<Parameters<typeof history.search>[0], 'tenantId'>) => (await history.search({ tenantId: t, ...q })).items.map((i) => i.operation);

  test('newest first, with labels, purposes and request facts', async () => {
    const { items, nextCursor } = await history.search({ tenantId: t });
    expect(nextCursor).toBeNull();
    expect(items.map((i) => i.operation)).toEqual(events().map((e) => e.operation).reverse());
    expect(items.map((i) => BigInt(i.id))).toEqual([...items.map((i) => BigInt(i.id))].sort((x, y) => (x > y ? -1 : 1)));
    const revealed = items.find((i) => i.operation === 'number_revealed')!;
    expect(revealed).toMatchObject({
      label: 'マイナンバーの表示',
      actor: { type: 'login_user', id: suzuki.id, label: '鈴木 一郎', deleted: false },
      registrant: { id: yamada, label: '山田 太郎' },
      purpose: 'withholding_slip',
      purposeLabel: '給与所得・退職所得の源泉徴収票作成事務',
      ip: '198.51.100.2',
    });
    expect(items.find((i) => i.operation === 'invitation_sent')).toMatchObject({ actor: { type: 'system', id: null, deleted: false } });
    expect(items.find((i) => i.operation === 'login_succeeded')).toMatchObject({ registrant: null, purpose: null, purposeLabel: null, userAgent: 'Firefox' });
  });

  test('date range: from inclusive, to exclusive', async () => {
    expect(await ops({ from: times[2], to: times[4] })).toEqual(['number_pulled', 'number_revealed']);
    expect(await ops({ from: times[5] })).toEqual(['invitation_sent', 'registrant_viewed']);
    expect(await ops({ to: times[1] })).toEqual(['login_succeeded']);
    await expect(history.search({ tenantId: t, from: new Date('not a date') })).rejects.toMatchObject({ status: 400 });
  });

  test('actor: label substring (case-insensitive, % and _ literal) or exact id', async () => {
    expect(await ops({ actor: '佐藤' })).toEqual(['registrant_created', 'login_succeeded']);
    expect(await ops({ actor: 'payroll' })).toEqual(['number_pulled']);
    expect(await ops({ actor: suzuki.id })).toEqual(['numbers_downloaded', 'number_revealed']);
    expect(await ops({ actor: '%' })).toEqual(['registrant_viewed']);
    expect(await ops({ actor: '0_' })).toEqual([]);
    expect(await ops({ actor: '%_' })).toEqual(['registrant_viewed']);
  });

  test('registrant: label substring or exact id', async () => {
    expect(await ops({ registrant: '山田' })).toEqual(['number_revealed', 'registrant_created']);
    expect(await ops({ registrant: tanaka })).toEqual(['invitation_sent', 'registrant_viewed', 'number_pulled']);
    expect(await ops({ registrant: tanaka.toUpperCase() })).toHaveLength(3);
    expect(await ops({ registrant: '鈴木' })).toEqual([]);
  });

  test('operation: code or label substring, combined with other filters', async () => {
    expect(await ops({ operation: 'number_revealed' })).toEqual(['number_revealed']);
    expect(await ops({ operation: 'マイナンバー' })).toEqual(['numbers_downloaded', 'number_pulled', 'number_revealed']);
    expect(await ops({ operation: 'ログイン' })).toEqual(['login_succeeded']);
    expect(await ops({ operation: 'マイナンバー', actor: '鈴木', from: times[3] })).toEqual(['numbers_downloaded']);
  });

  test('cursor pagination walks every row once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof history.search>> = await history.search({ tenantId: t, limit: 3, cursor });
      seen.push(...page.items.map((i) => i.operation));
      expect(page.items.length).toBeLessThanOrEqual(3);
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(events().map((e) => e.operation).reverse());

    const filtered = await history.search({ tenantId: t, registrant: '田中', limit: 2 });
    expect(filtered.items.map((i) => i.operation)).toEqual(['invitation_sent', 'registrant_viewed']);
    const rest = await history.search({ tenantId: t, registrant: '田中', limit: 2, cursor: filtered.nextCursor });
    expect(rest).toEqual({ items: [expect.objectContaining({ operation: 'number_pulled' })], nextCursor: null });

    await expect(history.search({ tenantId: t, cursor: 'not-a-cursor!' })).rejects.toMatchObject({ status: 400, code: 'INVALID_CURSOR' });
    // another tenant's search never sees these rows
    expect((await history.search({ tenantId: await newTenant() })).items).toEqual([]);
  });

  test('renaming a login user keeps the history label; a deleted one is marked deleted', async () => {
    await prisma.loginUser.update({ where: { id: suzuki.id }, data: { name: '鈴木 一朗' } });
    let items = (await history.search({ tenantId: t, actor: suzuki.id })).items;
    expect(items.map((i) => i.actor)).toEqual([
      { type: 'login_user', id: suzuki.id, label: '鈴木 一郎', deleted: false },
      { type: 'login_user', id: suzuki.id, label: '鈴木 一郎', deleted: false },
    ]);
    expect(await ops({ actor: '一朗' })).toEqual([]);

    await prisma.loginUser.update({ where: { id: suzuki.id }, data: { deletedAt: new Date() } });
    items = (await history.search({ tenantId: t })).items;
    expect(items.filter((i) => i.actor.deleted).map((i) => i.actor.label)).toEqual(['100%_担当', '鈴木 一郎', '鈴木 一郎']);
    expect(items.find((i) => i.actor.id === sato.id)?.actor.deleted).toBe(false);
    await expect(history.verify(t)).resolves.toMatchObject({ ok: true, checked: 7 });
  });

  test('CSV in CP932 with CRLF: JST times, deleted marks, purpose names', async () => {
    const buf = await history.exportCsv({ tenantId: t }, 'cp932');
    const text = iconv.decode(buf, 'cp932');
    expect(iconv.encode(text, 'cp932').equals(buf)).toBe(true);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const lines = text.split('\r\n').slice(0, -1);
    expect(lines[0]).toBe(HISTORY_CSV_HEADER.map((h) => `"${h}"`).join(','));
    expect(lines).toHaveLength(1 + 7);
    const { items } = await history.search({ tenantId: t });
    const jst = (d: Date) => d.toLocaleString('sv-SE', { timeZone: 'Asia/Tokyo' }).replace(/-/g, '/');
    expect(lines[1]).toBe(`"${jst(items[0]!.occurredAt)}","システム","田中 次郎","収集メールの送信",,`);
    expect(lines[3]).toBe(`"${jst(items[2]!.occurredAt)}","鈴木 一郎${DELETED_SUFFIX}",,"マイナンバーのダウンロード","雇用保険届出事務",`);
    expect(lines[5]).toBe(`"${jst(items[4]!.occurredAt)}","鈴木 一郎${DELETED_SUFFIX}","山田 太郎","マイナンバーの表示","${PURPOSE_LABELS.withholding_slip}","198.51.100.2"`);
    expect(lines[7]).toBe(`"${jst(items[6]!.occurredAt)}","佐藤 花子",,"ログイン",,"198.51.100.1"`);
    expect(formatJst(new Date('2026-12-31T15:00:00.000Z'))).toBe('2027/01/01 00:00:00');

    // the streamed download is the same bytes
    const chunks: Buffer[] = [];
    for await (const c of history.exportCsvStream({ tenantId: t }, 'cp932')) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(buf)).toBe(true);

    const filtered = iconv.decode(await history.exportCsv({ tenantId: t, operation: 'number_revealed' }, 'cp932'), 'cp932');
    expect(filtered.split('\r\n')).toHaveLength(3);
  });

  test('a name CP932 cannot write fails the CP932 download (no "?"), and UTF-8 with BOM carries it', async () => {
    const u = await newTenant();
    await history.record({ tenantId: u, actor: { type: 'login_user', id: randomUUID(), label: '𠮷野 家子' }, operation: 'login_succeeded' });
    const err = await history.exportCsv({ tenantId: u }, 'cp932').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsvEncodingError);
    expect((err as CsvEncodingError).offending).toEqual([{ row: 1, column: '実施者', char: '𠮷' }]);
    const utf8 = await history.exportCsv({ tenantId: u }, 'utf8-bom');
    expect(utf8.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    expect(utf8.subarray(3).toString('utf8')).toContain('"𠮷野 家子（削除済み）"');
  });
});

test('PURPOSES lists the nine purposes in the manual order', () => {
  expect(PURPOSES).toEqual(ALL_PURPOSES);
  expect(PURPOSE_LABELS.contractor_payments).toBe('外注先・業務委託者に関する源泉徴収票・支払調書作成事務');
});
