/**
 * Least privilege on real PostgreSQL: the product connects as mynaflow_app, which owns nothing. What
 * a stolen app credential could do to hide tracks (change the schema, switch the history's triggers
 * off, rewrite the history, run a program on the database server) is refused by the database.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { APP_ROLE, excessPrivilege } from '../services/db/app-role';
import { ownerUrl } from './support/migrate';

async function as<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
const app = <T>(fn: (c: pg.Client) => Promise<T>) => as(process.env.DATABASE_URL!, fn);

/** The error a statement fails with as the app role, inside a transaction that is always rolled back. */
async function refusedAsApp(sql: string): Promise<string> {
  return app(async (c) => {
    await c.query('BEGIN');
    try {
      await c.query(sql);
      return 'ALLOWED';
    } catch (err) {
      return (err as Error).message;
    } finally {
      await c.query('ROLLBACK');
    }
  });
}

test('the product connects as the app role, which is no superuser and owns no table', async () => {
  expect(new URL(process.env.DATABASE_URL!).username).toBe(APP_ROLE);
  await expect(app((c) => excessPrivilege(async (sql) => (await c.query(sql)).rows))).resolves.toBeNull();
  // the owner, as a contrast: the warning the API and worker log when started with such a role
  await expect(as(ownerUrl(), (c) => excessPrivilege(async (sql) => (await c.query(sql)).rows))).resolves.toMatch(/superuser|owns \d+ table/);
});

test.each([
  ['switch the append-only triggers off', 'ALTER TABLE operation_events DISABLE TRIGGER USER', /must be owner/],
  ['drop a trigger', 'DROP TRIGGER operation_events_no_update_or_delete ON operation_events', /must be owner/],
  ['bypass triggers for the session', 'SET session_replication_role = replica', /permission denied/],
  ['rewrite the history', 'UPDATE operation_events SET label = label', /permission denied for table operation_events/],
  ['delete from the history', 'DELETE FROM operation_events', /permission denied for table operation_events/],
  ['empty the history', 'TRUNCATE operation_events', /permission denied for table operation_events/],
  ['run a program on the database server', "COPY (SELECT 1) TO PROGRAM 'true'", /permission denied|must be superuser|pg_execute_server_program/],
  ['write a file on the server', "COPY (SELECT 1) TO '/tmp/mynaflow-app-role-copy'", /permission denied|must be superuser|pg_write_server_files/],
  ['create a table', 'CREATE TABLE app_made (id int)', /permission denied for schema public/],
  ['drop a table', 'DROP TABLE registrants', /must be owner/],
  ['change a column', 'ALTER TABLE registrants ADD COLUMN x int', /must be owner/],
  ['read the migration log', 'SELECT * FROM _prisma_migrations', /permission denied for table _prisma_migrations/],
  ['make a role', 'CREATE ROLE app_made', /permission denied/],
])('the app role may not %s', async (_what, sql, error) => {
  expect(await refusedAsApp(sql)).toMatch(error);
});

test('the app role reads and writes the tables it works with, and appends to the history', async () => {
  const tenantId = randomUUID();
  await app(async (c) => {
    await c.query('BEGIN');
    try {
      await c.query(`INSERT INTO tenants (id, name, customer_number, updated_at) VALUES ($1, 'ロール確認', $2, now())`, [tenantId, tenantId.slice(0, 12)]);
      await c.query(`UPDATE tenants SET name = '権限確認' WHERE id = $1`, [tenantId]);
      await c.query(
        `INSERT INTO operation_events (tenant_id, actor_type, actor_label, operation, label, prev_hash, hash) VALUES ($1, 'system', 'x', 'registrant_viewed', 'x', 'p', $2)`,
        [tenantId, `h-${tenantId}`],
      );
      const { rows } = await c.query('SELECT count(*)::int AS n FROM operation_events WHERE tenant_id = $1', [tenantId]);
      expect(rows[0].n).toBe(1);
    } finally {
      await c.query('ROLLBACK');
    }
  });
});
