/**
 * Holds a tenant's operation-history lock (session-level advisory lock, the one history.record takes
 * in every transaction that writes history): a request's transaction waits there, just before its
 * commit, until the test lets go. Makes "at the same moment" and "right after the commit" exact.
 */
import pg from 'pg';
import { until } from './until';

export async function holdHistoryLock(databaseUrl: string, tenantId: string) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  // A test that stops the server cuts this connection too (and with it the lock): not an error.
  client.on('error', () => undefined);
  const key = `operation_events:${tenantId}`;
  await client.query('SELECT pg_advisory_lock(hashtextextended($1::text, 0))', [key]);
  // This lock's waiters only (other files share the database and its advisory locks).
  const waiting = async () =>
    (
      await client.query(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
           AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1::text, 0)`,
        [key],
      )
    ).rows[0].n as number;
  return {
    /** Resolves once `n` transactions wait for the lock. */
    waiters: (n = 1) => until(async () => (await waiting()) >= n, `${n} request(s) to wait for the history lock`),
    async release() {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1::text, 0))', [key]);
      await client.end();
    },
  };
}
