/**
 * express-rate-limit counters in PostgreSQL (table rate_limit_windows), so that any number of API
 * instances enforce one limit and a restart keeps it. Fixed windows, like the library's memory store:
 * a key's first hit opens a window of `windowMs`; hits in it count up; the first hit after it ends
 * starts a new one. Each hit is one atomic upsert, so concurrent instances never lose a count.
 *
 * Times come from the database's clock (one clock for every instance); the reset time handed back is
 * translated to this process's clock, so Retry-After stays right even if the machines' clocks differ.
 */
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';
import type { PrismaClient } from '../db/client';
import type { Logger } from '../logging/logger';

/** Expired windows are swept at most this often per process (they are harmless meanwhile: a hit resets them). */
const SWEEP_EVERY_MS = 10 * 60_000;
/** Rows deleted per sweep, so one sweep never holds the table long. */
const SWEEP_BATCH = 5000;

export interface RateLimitCounters {
  /** A new store for one limiter; `name` must be unique among the limiters of an app. */
  store(name: string): Store;
}

export interface RateLimitCountersOptions {
  prisma: PrismaClient;
  /**
   * Put before every key. Instances of one deployment use the same (default none) so they share the
   * counts; apps that must not share them on one database (tests) use different ones.
   */
  keyPrefix?: string;
  logger?: Logger;
}

type Row = { hits: number; ms_left: number };

export function createRateLimitCounters({ prisma, keyPrefix = '', logger }: RateLimitCountersOptions): RateLimitCounters {
  let lastSweep = 0;
  const sweep = () => {
    if (Date.now() - lastSweep < SWEEP_EVERY_MS) return;
    lastSweep = Date.now();
    void prisma.$executeRaw`
      DELETE FROM rate_limit_windows WHERE key IN (
        SELECT key FROM rate_limit_windows WHERE resets_at < now() ORDER BY resets_at LIMIT ${SWEEP_BATCH}::int
      ) AND resets_at < now()`.catch((err: unknown) => logger?.warn({ err }, 'could not sweep expired rate-limit windows'));
  };

  const info = (row: Row | undefined): ClientRateLimitInfo | undefined =>
    row && { totalHits: row.hits, resetTime: new Date(Date.now() + Math.max(0, row.ms_left)) };

  return {
    store(name) {
      const prefix = `${keyPrefix}${name}:`;
      let windowMs = 60_000;
      const store: Store = {
        localKeys: false,
        prefix,
        init(options: Options) {
          windowMs = options.windowMs;
        },
        async increment(key) {
          sweep();
          // One statement: opens the window, counts in it, or starts a new one once it has ended.
          // SET reads the row as it was, so both CASEs judge the same old window.
          const rows = await prisma.$queryRaw<Row[]>`
            INSERT INTO rate_limit_windows AS w (key, hits, resets_at)
            VALUES (${prefix + key}, 1, now() + make_interval(secs => ${windowMs / 1000}::float8))
            ON CONFLICT (key) DO UPDATE SET
              hits = CASE WHEN w.resets_at <= now() THEN 1 ELSE w.hits + 1 END,
              resets_at = CASE WHEN w.resets_at <= now() THEN EXCLUDED.resets_at ELSE w.resets_at END
            RETURNING hits, (extract(epoch FROM resets_at - now()) * 1000)::float8 AS ms_left`;
          return info(rows[0])!;
        },
        async get(key) {
          const rows = await prisma.$queryRaw<Row[]>`
            SELECT hits, (extract(epoch FROM resets_at - now()) * 1000)::float8 AS ms_left
            FROM rate_limit_windows WHERE key = ${prefix + key} AND resets_at > now()`;
          return info(rows[0]);
        },
        async decrement(key) {
          await prisma.$executeRaw`
            UPDATE rate_limit_windows SET hits = hits - 1 WHERE key = ${prefix + key} AND hits > 0 AND resets_at > now()`;
        },
        async resetKey(key) {
          await prisma.$executeRaw`DELETE FROM rate_limit_windows WHERE key = ${prefix + key}`;
        },
        async resetAll() {
          await prisma.$executeRaw`DELETE FROM rate_limit_windows WHERE starts_with(key, ${prefix})`;
        },
      };
      return store;
    },
  };
}
