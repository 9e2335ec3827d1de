/**
 * 操作履歴: who did what, appended to operation_events and hash-chained per tenant.
 *
 * Each row stores prevHash (the tenant's previous row's hash, 64 zeros for the first) and
 * hash = "<master key id>.<HMAC-SHA256 of the canonical row incl. prevHash>", under a key derived
 * from the vault's master key, which never touches the database. Editing a row breaks its hash;
 * deleting, inserting or reordering rows breaks the next row's prevHash; and whoever can write the
 * table (the app's database role may only INSERT and SELECT; the triggers refuse the rest) still
 * cannot compute a new chain without the master key. Cutting the tail off is caught by a signed
 * head kept outside (signHead / verify's anchor).
 *
 * Rows written before the chain was keyed (v1) carry a plain sha256; they are accepted only at the
 * start of a tenant's chain, before its first keyed row, and counted as `unkeyed`.
 */
import { likeLiteral } from '../db/like';
import { isUuid } from '../db/uuid';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Prisma, type OperationEvent, type PrismaClient } from '../../prisma/generated/client';
import { AppError } from '../errors';
import type { Vault } from '../vault/types';
import { csvStream, encodeCsv, type CsvCell } from '../csv/encode';
import { createGroupCommitter } from '../db/group-commit';
import { directSql, type RawSql } from '../db/direct-sql';
import { databaseAway } from '../health/outages';
import { OPERATIONS } from './operations';
import { PURPOSE_LABELS, COLLECTION_CHECK_LABEL } from './purposes';
import { standingReasons } from '../registrants/decision-reasons';
import type {
  History,
  HistoryCsvEncoding,
  HistoryFilters,
  HistoryItem,
  HistoryPage,
  HistorySearch,
  OperationInput,
  VerifyResult,
} from './types';

/** A reveal for the check at collection has no purpose of use: the history says what it was instead. */
const collectionCheck = (detail: unknown) => typeof detail === 'object' && detail !== null && (detail as { reason?: unknown }).reason === 'collection_check';

export const GENESIS_HASH = '0'.repeat(64);
const HASH_VERSION_V1 = 'mynaflow.operation_event.v1';
const HASH_VERSION = 'mynaflow.operation_event.v2';
const HEAD_VERSION = 'mynaflow.history_head.v1';

/** What keys the chain: the vault's fingerprints in the history domain. */
export type ChainKeys = Pick<Vault, 'fingerprint' | 'hasFingerprint' | 'knowsKeyOf'>;
const isKeyed = (hash: string) => hash.includes('.');
const VERIFY_PAGE = 1000;
const EXPORT_PAGE = 1000;
export const SEARCH_DEFAULT_LIMIT = 50;
export const SEARCH_MAX_LIMIT = 500;


/** PostgreSQL gives uuids back in lower case: hash what will be read back. */
function uuid(value: string, field: string): string {
  if (!isUuid(value)) throw new Error(`${field} must be a UUID`);
  return value.toLowerCase();
}

// PostgreSQL text cannot hold NUL and would store a lone surrogate as U+FFFD: either would make a
// recomputed hash differ from the stored one, so both are cleaned before hashing.
// eslint-disable-next-line no-control-regex
const UNSTORABLE = /\u0000|\p{Cs}/gu;
const clean = (s: string) => s.replace(UNSTORABLE, (c) => (c === '\u0000' ? '' : '\uFFFD'));
const cleanOrNull = (s: string | null | undefined) => (s == null ? null : clean(s));

/** The fields the hash covers, as stored and read back. */
export interface ChainedFields {
  tenantId: string;
  occurredAt: Date;
  actorType: OperationEvent['actorType'];
  actorId: string | null;
  actorLabel: string;
  registrantId: string | null;
  registrantLabel: string | null;
  operation: string;
  label: string;
  purpose: OperationEvent['purpose'];
  ip: string | null;
  userAgent: string | null;
  detail: Prisma.JsonValue | null;
  prevHash: string;
}

/** JSON with object keys sorted at every level, so that jsonb's own key order does not matter. */
export function canonicalJson(value: Prisma.JsonValue | null): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] ?? null)}`).join(',')}}`;
}

/**
 * The row as hashed: a JSON array in fixed field order (so no delimiter can be forged), the time as
 * ISO-8601 with milliseconds, absent values as explicit nulls.
 */
function canonicalRow(version: string, f: ChainedFields): string {
  return JSON.stringify([
    version,
    f.tenantId,
    f.occurredAt.toISOString(),
    f.actorType,
    f.actorId,
    f.actorLabel,
    f.registrantId,
    f.registrantLabel,
    f.operation,
    f.label,
    f.purpose,
    f.ip,
    f.userAgent,
    f.detail === null ? null : canonicalJson(f.detail),
    f.prevHash,
  ]);
}

/** The keyed hash a row gets now. */
export const hashEvent = (keys: ChainKeys, f: ChainedFields): string => keys.fingerprint(canonicalRow(HASH_VERSION, f), 'history');

/** A v1 row's plain sha256 (rows written before the chain was keyed). */
export const unkeyedHashEvent = (f: ChainedFields): string => createHash('sha256').update(canonicalRow(HASH_VERSION_V1, f), 'utf8').digest('hex');

/** A head to keep outside mynaflow: its signature proves it came from whoever holds the master key. */
export interface SignedHead {
  tenantId: string;
  id: string;
  hash: string;
  signedAt: string;
  signature: string;
}

const headPayload = (h: Omit<SignedHead, 'signature'>) => JSON.stringify([HEAD_VERSION, h.tenantId, h.id, h.hash, h.signedAt]);

/** detail as jsonb will give it back: undefined keys dropped, Dates as strings, text cleaned. */
function normaliseDetail(detail: Prisma.InputJsonValue | undefined): Prisma.JsonValue | null {
  if (detail === undefined) return null;
  return JSON.parse(JSON.stringify(detail, (_k, v: unknown) => (typeof v === 'string' ? clean(v) : v))) as Prisma.JsonValue;
}

const encodeCursor = (id: bigint) => Buffer.from(id.toString(), 'utf8').toString('base64url');
function decodeCursor(cursor: string): bigint {
  const s = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,18}$/.test(s)) throw new AppError(400, 'INVALID_CURSOR', 'ページ指定が正しくありません');
  return BigInt(s);
}

/** 2026/01/02 03:04:05 in Japan time (no daylight saving: a fixed +9 hours). */
export function formatJst(d: Date): string {
  const j = new Date(d.getTime() + 9 * 60 * 60 * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${j.getUTCFullYear()}/${p(j.getUTCMonth() + 1)}/${p(j.getUTCDate())} ${p(j.getUTCHours())}:${p(j.getUTCMinutes())}:${p(j.getUTCSeconds())}`;
}

export const HISTORY_CSV_HEADER = ['日時', '実施者', '登録者', '操作内容', '利用目的', 'IPアドレス'];
export const DELETED_SUFFIX = '（削除済み）';

function csvRow(item: HistoryItem): CsvCell[] {
  return [
    formatJst(item.occurredAt),
    item.actor.deleted ? `${item.actor.label}${DELETED_SUFFIX}` : item.actor.label,
    item.registrant?.label ?? null,
    item.label,
    item.purposeLabel,
    item.ip,
  ];
}

export interface OperationHistory extends History {
  /**
   * `anchor`: a head kept from an earlier run; its row must still be there, unchanged (catches a
   * cut-off tail). A signed head's signature is checked first.
   */
  verify(tenantId?: string, anchor?: { id: string; hash: string } | SignedHead): Promise<VerifyResult>;
  /** Signs a tenant's current head (verify first: only an intact chain's head is worth keeping). */
  signHead(head: { tenantId: string; id: string; hash: string }, at?: Date): SignedHead;
  search(query: HistorySearch): Promise<HistoryPage>;
  /** The whole filtered history as one CSV; CsvEncodingError if a name cannot be written in cp932. */
  exportCsv(filters: HistoryFilters, encoding: HistoryCsvEncoding): Promise<Buffer>;
  /** Same bytes, page by page, for large downloads. */
  exportCsvStream(filters: HistoryFilters, encoding: HistoryCsvEncoding): Readable;
}

/** Writers of one tenant queue on the lock: give them time rather than failing under load. */
const OWN_TX = { maxWait: 30_000, timeout: 30_000, isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted };
/** Rows committed together at most (one INSERT). */
const GROUP_MAX = 500;

export function createHistory(prisma: PrismaClient, keys: ChainKeys): OperationHistory {
  /** Takes the tenant's history lock until commit and returns the hash to chain onto. */
  async function lockChain(tx: RawSql, tenantId: string): Promise<string> {
    // One writer per tenant at a time, until commit, so each row chains onto the latest one.
    // The key is namespaced so other per-tenant advisory locks never block (or deadlock) history.
    // The isolation check: under REPEATABLE READ / SERIALIZABLE the snapshot would predate the
    // lock and we could chain onto a stale row, forking the chain.
    const [state] = await tx.$queryRaw<{ isolation: string }[]>`
      SELECT current_setting('transaction_isolation') AS isolation
      FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`operation_events:${tenantId}`}::text, 0))) AS locked`;
    if (state?.isolation !== 'read committed') {
      throw new Error(`operation history must be recorded in a READ COMMITTED transaction (got ${state?.isolation})`);
    }
    // A statement of its own: its snapshot is taken after the lock (one statement's would predate it).
    const [last] = await tx.$queryRaw<{ hash: string }[]>`SELECT hash FROM operation_events WHERE tenant_id = ${tenantId}::uuid ORDER BY id DESC LIMIT 1`;
    return last?.hash ?? GENESIS_HASH;
  }

  function chained(input: OperationInput, tenantId: string, prevHash: string, occurredAt: Date) {
    const fields: ChainedFields = {
      tenantId,
      // Taken under the lock so that, within a tenant, time order follows chain order. JS dates
      // have millisecond precision, which timestamptz(3) keeps exactly.
      occurredAt,
      actorType: input.actor.type,
      actorId: cleanOrNull(input.actor.id),
      actorLabel: clean(input.actor.label),
      registrantId: input.registrant ? uuid(input.registrant.id, 'registrant.id') : null,
      registrantLabel: input.registrant ? clean(input.registrant.label) : null,
      operation: input.operation,
      label: OPERATIONS[input.operation],
      purpose: input.purpose ?? null,
      ip: cleanOrNull(input.ip),
      userAgent: cleanOrNull(input.userAgent),
      detail: normaliseDetail(input.detail),
      prevHash,
    };
    const hash = hashEvent(keys, fields);
    return { data: { ...fields, hash }, hash };
  }

  /**
   * One INSERT for the rows, in plain SQL (Prisma's createMany cost 0.3 ms of CPU a row: most of a
   * 10,000-number pull). unnest … WITH ORDINALITY keeps the given order, so ids follow the chain.
   */
  async function insertEvents(tx: RawSql, rows: (ChainedFields & { hash: string })[]): Promise<void> {
    const col = <K extends keyof (ChainedFields & { hash: string })>(k: K) => rows.map((r) => r[k]);
    await tx.$executeRaw`
      INSERT INTO operation_events (tenant_id, occurred_at, actor_type, actor_id, actor_label, registrant_id, registrant_label, operation, label, purpose, ip, user_agent, detail, prev_hash, hash)
      SELECT e.tenant_id, e.occurred_at, e.actor_type::"ActorType", e.actor_id, e.actor_label, e.registrant_id, e.registrant_label, e.operation, e.label, e.purpose::"Purpose", e.ip, e.user_agent, e.detail::jsonb, e.prev_hash, e.hash
        FROM unnest(${col('tenantId')}::uuid[], ${col('occurredAt')}::timestamptz[], ${col('actorType')}::text[], ${col('actorId')}::text[], ${col('actorLabel')}::text[],
                    ${col('registrantId')}::uuid[], ${col('registrantLabel')}::text[], ${col('operation')}::text[], ${col('label')}::text[], ${col('purpose')}::text[],
                    ${col('ip')}::text[], ${col('userAgent')}::text[], ${rows.map((r) => (r.detail === null ? null : JSON.stringify(r.detail)))}::text[], ${col('prevHash')}::text[], ${col('hash')}::text[])
             WITH ORDINALITY AS e(tenant_id, occurred_at, actor_type, actor_id, actor_label, registrant_id, registrant_label, operation, label, purpose, ip, user_agent, detail, prev_hash, hash, ord)
       ORDER BY e.ord`;
  }

  /** Appends under the tenant's lock: `tx` must be a transaction. */
  async function append(tx: RawSql, input: OperationInput): Promise<void> {
    const tenantId = uuid(input.tenantId, 'tenantId');
    const prev = await lockChain(tx, tenantId);
    await insertEvents(tx, [chained(input, tenantId, prev, new Date()).data]);
  }

  /**
   * Appends many rows of one tenant with one lock and one INSERT: ids are drawn in VALUES order, so
   * id order stays chain order.
   */
  async function appendMany(tx: RawSql, inputs: OperationInput[]): Promise<void> {
    if (inputs.length === 0) return;
    const tenantId = uuid(inputs[0]!.tenantId, 'tenantId');
    if (inputs.some((i) => i.tenantId.toLowerCase() !== tenantId)) throw new Error('recordMany takes rows of one tenant');
    let prev = await lockChain(tx, tenantId);
    const at = new Date();
    const rows = inputs.map((input) => {
      const row = chained(input, tenantId, prev, at);
      prev = row.hash;
      return row.data;
    });
    await insertEvents(tx, rows);
  }

  /**
   * Rows recorded on their own (a record read, a login) are committed in groups per tenant (one
   * lock, one INSERT, one commit for all asked for meanwhile, in the order asked); a group that
   * fails is tried row by row, so a caller hears only of its own row's failure.
   */
  const commitGroup = createGroupCommitter<OperationInput, void>({
    max: GROUP_MAX,
    commit: async (_tenantId, inputs) => {
      // On the pool directly: a record read pays for this commit (Prisma's transaction and INSERT cost 3× more CPU).
      await (await directSql(prisma)).transaction((tx) => appendMany(tx, inputs), { timeoutSeconds: OWN_TX.timeout / 1000 });
      return inputs.map(() => undefined);
    },
    failsAsOne: databaseAway,
  });

  function grouped(input: OperationInput): Promise<void> {
    // What would fail the whole group is checked here, against this caller alone.
    const tenantId = uuid(input.tenantId, 'tenantId');
    if (input.registrant) uuid(input.registrant.id, 'registrant.id');
    return commitGroup(tenantId, { ...input, tenantId });
  }

  function where(f: HistoryFilters): Prisma.OperationEventWhereInput {
    const and: Prisma.OperationEventWhereInput[] = [];
    for (const d of [f.from, f.to]) {
      if (d && Number.isNaN(d.getTime())) throw new AppError(400, 'INVALID_DATE', '日時の指定が正しくありません');
    }
    if (f.from) and.push({ occurredAt: { gte: f.from } });
    if (f.to) and.push({ occurredAt: { lt: f.to } });
    const actor = f.actor?.trim();
    if (actor) and.push({ OR: [{ actorLabel: { contains: likeLiteral(actor), mode: 'insensitive' } }, { actorId: actor }] });
    const registrant = f.registrant?.trim();
    if (registrant) {
      and.push({
        OR: [
          { registrantLabel: { contains: likeLiteral(registrant), mode: 'insensitive' } },
          ...(isUuid(registrant) ? [{ registrantId: registrant.toLowerCase() }] : []),
        ],
      });
    }
    const operation = f.operation?.trim();
    if (operation) {
      // By code, by today's label, or by the label the row was written with.
      const needle = operation.toLowerCase();
      const codes = Object.entries(OPERATIONS)
        .filter(([code, label]) => code === operation || label.toLowerCase().includes(needle))
        .map(([code]) => code);
      and.push({ OR: [{ operation: { in: codes } }, { label: { contains: likeLiteral(operation), mode: 'insensitive' } }] });
    }
    return { tenantId: uuid(f.tenantId, 'tenantId'), AND: and };
  }

  async function page(filters: HistoryFilters, limit: number, before: bigint | null): Promise<{ items: HistoryItem[]; more: boolean }> {
    const rows = await prisma.operationEvent.findMany({
      where: before === null ? where(filters) : { AND: [where(filters), { id: { lt: before } }] },
      orderBy: { id: 'desc' },
      take: limit + 1,
    });
    const more = rows.length > limit;
    if (more) rows.pop();
    // Deleted-ness is looked up now: the label stays what it was when the row was written.
    const userIds = [...new Set(rows.filter((r) => r.actorType === 'login_user' && r.actorId && isUuid(r.actorId)).map((r) => r.actorId!.toLowerCase()))];
    const users = userIds.length
      ? await prisma.loginUser.findMany({ where: { tenantId: filters.tenantId.toLowerCase(), id: { in: userIds } }, select: { id: true, deletedAt: true } })
      : [];
    const alive = new Set(users.filter((u) => u.deletedAt === null).map((u) => u.id));
    const reasons = await standingReasons(prisma, filters.tenantId.toLowerCase(), rows);
    const items = rows.map<HistoryItem>((r) => ({
      id: r.id.toString(),
      occurredAt: r.occurredAt,
      actor: {
        type: r.actorType,
        id: r.actorId,
        label: r.actorLabel,
        // a login user who is gone altogether counts as deleted too
        deleted: r.actorType === 'login_user' && !(r.actorId && alive.has(r.actorId.toLowerCase())),
      },
      registrant: r.registrantId === null && r.registrantLabel === null ? null : { id: r.registrantId, label: r.registrantLabel ?? '' },
      operation: r.operation,
      label: r.label,
      purpose: r.purpose,
      purposeLabel: r.purpose ? PURPOSE_LABELS[r.purpose] : collectionCheck(r.detail) ? COLLECTION_CHECK_LABEL : null,
      ip: r.ip,
      userAgent: r.userAgent,
      ...(reasons.has(r.id) ? { reason: reasons.get(r.id)! } : {}),
    }));
    return { items, more };
  }

  async function* allItems(filters: HistoryFilters): AsyncGenerator<CsvCell[]> {
    let before: bigint | null = null;
    for (;;) {
      const { items, more } = await page(filters, EXPORT_PAGE, before);
      for (const item of items) yield csvRow(item);
      if (!more || items.length === 0) return;
      before = BigInt(items[items.length - 1]!.id);
    }
  }

  return {
    async recordMany(inputs, tx) {
      await appendMany(tx, inputs);
    },

    async record(input, db) {
      // A transaction client has no $transaction of its own: record inside the caller's
      // transaction so the row commits (or rolls back) with what it describes.
      if (db && typeof (db as { $transaction?: unknown }).$transaction !== 'function') return append(db, input);
      if (db && db !== prisma) return void (await (db as PrismaClient).$transaction((tx) => append(tx, input), OWN_TX));
      return grouped(input);
    },

    async verify(tenantId, anchor) {
      // One pass in id order over the table (or one tenant), keeping each tenant's last hash:
      // within a tenant id order is chain order, because ids are drawn under the tenant's lock.
      const only = tenantId === undefined ? undefined : uuid(tenantId, 'tenantId');
      const last = new Map<string, string>();
      const lastId = new Map<string, bigint>();
      const keyedSeen = new Set<string>();
      const broken = new Set<string>();
      let firstBroken: VerifyResult['firstBroken'];
      let checked = 0;
      let unkeyed = 0;
      let after = 0n;
      for (;;) {
        const rows = await prisma.operationEvent.findMany({
          where: { ...(only ? { tenantId: only } : {}), id: { gt: after } },
          orderBy: { id: 'asc' },
          take: VERIFY_PAGE,
        });
        for (const row of rows) {
          if (broken.has(row.tenantId)) continue; // past a break the rest of that chain proves nothing
          checked++;
          const expectedPrev = last.get(row.tenantId) ?? GENESIS_HASH;
          let reason: NonNullable<VerifyResult['firstBroken']>['reason'] | null = null;
          if (row.prevHash !== expectedPrev) reason = 'chain_broken';
          else if (isKeyed(row.hash)) {
            keyedSeen.add(row.tenantId);
            if (!keys.knowsKeyOf(row.hash)) reason = 'key_unavailable';
            else if (!keys.hasFingerprint(row.hash, canonicalRow(HASH_VERSION, row), 'history')) reason = 'hash_mismatch';
          } else if (keyedSeen.has(row.tenantId)) {
            // Unkeyed after keyed: someone without the key wrote it.
            reason = 'unkeyed';
          } else if (unkeyedHashEvent(row) !== row.hash) reason = 'hash_mismatch';
          else unkeyed++;
          if (reason) {
            broken.add(row.tenantId);
            firstBroken ??= { tenantId: row.tenantId, id: row.id.toString(), reason };
          }
          last.set(row.tenantId, row.hash);
          lastId.set(row.tenantId, row.id);
        }
        if (rows.length < VERIFY_PAGE) break;
        after = rows[rows.length - 1]!.id;
      }
      if (anchor && only && !firstBroken) {
        const signed = 'signature' in anchor;
        if (signed && (anchor.tenantId.toLowerCase() !== only || !keys.hasFingerprint(anchor.signature, headPayload(anchor), 'history'))) {
          firstBroken = { tenantId: only, id: anchor.id, reason: 'anchor_forged' };
        } else {
          const id = /^\d{1,19}$/.test(anchor.id) ? BigInt(anchor.id) : -1n;
          const row = id < 0n ? null : await prisma.operationEvent.findFirst({ where: { id, tenantId: only }, select: { hash: true } });
          if (row?.hash !== anchor.hash) firstBroken = { tenantId: only, id: anchor.id, reason: 'anchor_missing' };
        }
      }
      const tenants = new Set([...last.keys(), ...broken]).size;
      const heads = [...last].filter(([t]) => !broken.has(t)).map(([t, hash]) => ({ tenantId: t, id: lastId.get(t)!.toString(), hash }));
      return { ok: firstBroken === undefined, checked, unkeyed, tenants, heads, ...(firstBroken ? { firstBroken } : {}) };
    },

    signHead(head, at = new Date()) {
      const unsigned = { tenantId: uuid(head.tenantId, 'tenantId'), id: head.id, hash: head.hash, signedAt: at.toISOString() };
      return { ...unsigned, signature: keys.fingerprint(headPayload(unsigned), 'history') };
    },

    async search(query) {
      const limit = Math.min(Math.max(Math.trunc(query.limit ?? SEARCH_DEFAULT_LIMIT) || SEARCH_DEFAULT_LIMIT, 1), SEARCH_MAX_LIMIT);
      const before = query.cursor ? decodeCursor(query.cursor) : null;
      const { items, more } = await page(query, limit, before);
      const lastItem = items[items.length - 1];
      return { items, nextCursor: more && lastItem ? encodeCursor(BigInt(lastItem.id)) : null };
    },

    async exportCsv(filters, encoding) {
      const rows: CsvCell[][] = [];
      for await (const row of allItems(filters)) rows.push(row);
      return encodeCsv(HISTORY_CSV_HEADER, rows, { encoding });
    },

    exportCsvStream(filters, encoding) {
      return csvStream(HISTORY_CSV_HEADER, allItems(filters), { encoding });
    },
  };
}
