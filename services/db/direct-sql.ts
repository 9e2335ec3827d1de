/**
 * Plain SQL on the Prisma client's own pg pool (same connections, limit and pool_timeout), for the
 * few bulk statements where Prisma's per-query work costs more than the statement: its query
 * compiler and the driver adapter handle every parameter and value several times (a 500-row history
 * INSERT took 12 ms through `$executeRaw`, 3 ms here; bytea comes back as arrays of numbers). Used by
 * the number pull and the hot reads (session lookup, record read, list page, the history's group
 * commit); test/raw-rows.test.ts holds its rows equal to `$queryRaw`'s.
 */
import pg from 'pg';
import { Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from './client';
import { mustPrepareAgain, StatementNames } from './statement-names';
import { fastTimestamptz } from './timestamp-parse';

/** The part of a Prisma client (or interactive transaction) that raw SQL needs. */
export type RawSql = Pick<Prisma.TransactionClient, '$queryRaw' | '$executeRaw'>;

export interface DirectSql extends RawSql {
  /** `fn` in one READ COMMITTED transaction on one pooled connection, committed when it resolves. */
  transaction<T>(fn: (tx: RawSql) => Promise<T>, opts?: { timeoutSeconds?: number }): Promise<T>;
}

const { builtins } = pg.types;
const timestamptz = fastTimestamptz(pg.types.getTypeParser(builtins.TIMESTAMPTZ, 'text') as (v: string) => Date);
/**
 * Values as `$queryRaw` gives them: @db.Date as midnight UTC (pg's own parser takes local midnight),
 * int8 as bigint; timestamps as pg's parser reads them, but faster (timestamp-parse.ts).
 */
const parsers: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === builtins.DATE) return (s: string) => new Date(`${s}T00:00:00.000Z`);
    if (oid === builtins.INT8) return (s: string) => BigInt(s);
    if (oid === builtins.TIMESTAMPTZ && format !== 'binary') return timestamptz;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** Driver errors named as the database's, so an outage reads as one (services/health/outages.ts). */
function databaseError(err: unknown): unknown {
  // Duck-typed: socket errors come from Node's own realm (not this module's Error under jest), and
  // the server's own errors (with a severity and a SQLSTATE code) are already the database's.
  const e = err as { message?: unknown; severity?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.message !== 'string' || e.severity !== undefined) return err;
  return Object.assign(new Error(`PostgreSQL: ${e.message}`, { cause: err }), { name: 'DirectSqlError' });
}

/** The process's prepared SELECTs (names are per connection in PostgreSQL; pg prepares each on first use). */
export const statementNames = new StatementNames();

/**
 * `named`: SELECTs run as prepared statements. Not inside transactions: a stale plan there would have
 * aborted the transaction, and the retry below needs a connection still usable.
 */
function over(db: pg.Pool | pg.PoolClient, named = true): RawSql {
  const run = async (query: TemplateStringsArray | Prisma.Sql, values: unknown[]) => {
    const sql = query instanceof Prisma.Sql ? query : Prisma.sql(query, ...values);
    const name = named ? statementNames.nameFor(sql.text) : undefined;
    try {
      return await db.query({ text: sql.text, values: sql.values, types: parsers, name });
    } catch (err) {
      if (name === undefined || !mustPrepareAgain(err)) throw databaseError(err);
      // A table changed shape under the running process (or pg lost the statement): prepared afresh
      // from now on, and this read once unnamed.
      statementNames.forget(name);
      try {
        return await db.query({ text: sql.text, values: sql.values, types: parsers });
      } catch (again) {
        throw databaseError(again);
      }
    }
  };
  const raw = {
    $queryRaw: async (query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await run(query, values)).rows,
    $executeRaw: async (query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await run(query, values)).rowCount ?? 0,
  };
  // Prisma's signatures return PrismaPromises; awaiting is all the callers do.
  return raw as unknown as RawSql;
}

const pools = new WeakMap<PrismaClient, () => pg.Pool | undefined>();

/** Called by createPrisma: where that client's pool is once it has connected. */
export function registerPool(prisma: PrismaClient, pool: () => pg.Pool | undefined): void {
  pools.set(prisma, pool);
}

/** Plain SQL on `prisma`'s pool (connecting it first if it has not yet). */
export async function directSql(prisma: PrismaClient): Promise<DirectSql> {
  const poolOf = pools.get(prisma);
  if (!poolOf) throw new Error('directSql needs a client made by createPrisma');
  let pool = poolOf();
  // Not connected yet, or disconnected since (Prisma connects again on its next query; so do we).
  if (!pool || pool.ended) {
    await prisma.$connect();
    pool = poolOf();
    if (!pool || pool.ended) throw new Error('the Prisma client connected without a pg pool');
  }
  let made = directOf.get(pool);
  if (!made) directOf.set(pool, (made = overPool(pool)));
  return made;
}

/** One DirectSql per pool (every console request asks for it). */
const directOf = new WeakMap<pg.Pool, DirectSql>();

function overPool(connected: pg.Pool): DirectSql {
  return {
    ...over(connected),
    async transaction(fn, { timeoutSeconds = 120 } = {}) {
      let client: pg.PoolClient;
      try {
        client = await connected.connect();
      } catch (err) {
        throw databaseError(err);
      }
      // A connection cut while checked out (between two statements) says so as an 'error' event, which
      // would end the process unheard; a connection cut, or whose ROLLBACK failed, is handed back as
      // broken and the pool drops it (as services/db/pg-adapter.ts fix 6 does for Prisma's transactions).
      let broken: Error | undefined;
      const onCut = (err: Error) => {
        broken ??= err;
      };
      client.on('error', onCut);
      try {
        // One round trip; the statement timeout stands in for Prisma's interactive-transaction timeout.
        await client.query(`BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL statement_timeout = ${Math.round(timeoutSeconds * 1000)}`);
        const result = await fn(over(client, false));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: unknown) => {
          broken = e instanceof Error ? e : new Error(String(e));
        });
        throw databaseError(err);
      } finally {
        client.removeListener('error', onCut);
        // A dead connection may still say so while it is closed (as pg-pool's own idle listener allows for).
        if (broken) client.on('error', () => undefined);
        client.release(broken);
      }
    },
  };
}
