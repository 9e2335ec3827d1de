/**
 * Temporal's persistence and visibility databases on the cluster's PostgreSQL: their own role
 * (`temporal`, not mynaflow's), the two databases it owns, and the versioned schemas applied with
 * temporal-sql-tool — set up on the first run, brought up to date on every later one.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { StartError } from './parts';
import type { ClusterInfo } from './postgres';
import type { TemporalServerBuild } from './temporal-server';

const run = promisify(execFile);
export const TEMPORAL_DB_ROLE = 'temporal';
const DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

/** The role's password, made once and kept in the data folder. */
export function temporalDbPassword(dataDir: string): string {
  const file = path.join(dataDir, 'temporal-db-password');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${randomBytes(18).toString('hex')}\n`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

async function asOwner<T>(info: ClusterInfo, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: info.url(database) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Role, databases and schemas; says what it did. */
export async function ensureTemporalDatabases(info: ClusterInfo, password: string, build: TemporalServerBuild): Promise<string> {
  await asOwner(info, 'postgres', async (c) => {
    const exists = (await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [TEMPORAL_DB_ROLE])).rowCount === 1;
    const { rows } = await c.query<{ sql: string }>('SELECT format($1, $2::text, $3::text) AS sql', [`${exists ? 'ALTER' : 'CREATE'} ROLE %I WITH LOGIN PASSWORD %L`, TEMPORAL_DB_ROLE, password]);
    await c.query(rows[0]!.sql);
    for (const db of DATABASES) {
      if ((await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name])).rowCount === 0) await c.query(`CREATE DATABASE ${db.name} OWNER ${TEMPORAL_DB_ROLE}`);
    }
  });
  const done: string[] = [];
  for (const db of DATABASES) {
    const tool = (...args: string[]) =>
      run(build.sqlTool, ['--plugin', 'postgres12', '--ep', '127.0.0.1', '--port', String(info.port), '--user', TEMPORAL_DB_ROLE, '--password', password, '--db', db.name, ...args]).catch((err: { stderr?: string; message: string }) => {
        throw new StartError(`temporal-sql-tool ${args[0]} on ${db.name} failed: ${(err.stderr || err.message).trim().split('\n').slice(-5).join('\n')}`);
      });
    const fresh = await asOwner(info, db.name, async (c) => (await c.query(`SELECT to_regclass('public.schema_version') AS t`)).rows[0].t === null);
    if (fresh) await tool('setup-schema', '-v', '0.0');
    await tool('update-schema', '-d', path.join(build.schemaDir, db.schema, 'versioned'));
    const { rows } = await asOwner(info, db.name, (c) => c.query<{ v: string }>('SELECT curr_version AS v FROM schema_version LIMIT 1'));
    done.push(`${db.name} ${rows[0]?.v ?? '?'}${fresh ? ' (created)' : ''}`);
  }
  return `Temporal schemas: ${done.join(', ')}`;
}
