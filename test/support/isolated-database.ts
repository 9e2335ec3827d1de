/**
 * A database of a test file's own on the test run's PostgreSQL server, migrated: for tests that run
 * the real worker process, whose every-minute backlog round works on every registrant of its database
 * and must not touch the other test files' people.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrateAsOwner, ownerUrl } from './migrate';

export async function createIsolatedDatabase(prefix: string): Promise<{ url: string; ownerUrl: string; drop(): Promise<void> }> {
  const base = ownerUrl();
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: await migrateAsOwner(url.toString(), { login: false }),
    ownerUrl: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
