/**
 * The Docker deployment's database roles, run for real against a PostgreSQL cluster of this file's
 * own (no Docker engine here): docker/db-roles.sh as the db-roles service runs it, and
 * scripts/migrate.ts as the migrate service runs it. Includes the upgrade of a deployment whose
 * earlier version let Temporal use the administrator.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { clusterInfo, createDatabase, ensureCluster, postgresBinDir, startPostgres, stopPostgres, type ClusterInfo } from '../services/devstack/postgres';
import { freePort } from '../services/devstack/ports';
import { appEntryFile } from '../services/build/app-build';

const run = promisify(execFile);
const TEMPORAL_PW = 'temporal-test-password';
const APP_PW = 'app-test-password-0123';
let dir: string;
let cluster: ClusterInfo;
let server: ChildProcess;

async function as<T>(user: string, password: string, database: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ host: '127.0.0.1', port: cluster.port, user, password, database });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
const admin = <T>(database: string, fn: (c: pg.Client) => Promise<T>) => as(cluster.user, cluster.password, database, fn);
const failure = (p: Promise<unknown>) => p.then(() => 'ALLOWED', (err: Error) => err.message);

const dbRoles = () =>
  run('sh', ['docker/db-roles.sh'], {
    env: { PATH: `${postgresBinDir()}:${process.env.PATH}`, PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: cluster.user, PGPASSWORD: cluster.password, TEMPORAL_DB_PASSWORD: TEMPORAL_PW },
  });
const migrate = () =>
  run(process.execPath, [appEntryFile('migrate')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: cluster.url('mynaflow'), APP_DATABASE_PASSWORD: APP_PW },
    timeout: 120_000,
  });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-deploy-roles-'));
  const { password } = ensureCluster(path.join(dir, 'pg'));
  cluster = clusterInfo(path.join(dir, 'pg'), await freePort(), password);
  server = await startPostgres(cluster, { logFile: path.join(dir, 'postgres.log') });
  await createDatabase(cluster, 'mynaflow');
  // As an earlier version left it: Temporal's database and tables owned by the administrator.
  await createDatabase(cluster, 'temporal');
  await admin('temporal', (c) => c.query('CREATE TABLE executions (id bigserial PRIMARY KEY, data bytea); CREATE TABLE cluster_metadata (id int)'));
}, 120_000);

afterAll(async () => {
  if (server) await stopPostgres(server);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('db-roles makes Temporal its own role and hands over its existing database; running it again changes nothing', async () => {
  await dbRoles();
  await dbRoles();
  await as('temporal', TEMPORAL_PW, 'temporal', async (c) => {
    const owners = await c.query<{ relname: string; owner: string }>(
      `SELECT relname, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'S') ORDER BY relname`,
    );
    expect(owners.rows.map((r) => r.owner)).toEqual(owners.rows.map(() => 'temporal'));
    expect(owners.rows.map((r) => r.relname)).toEqual(expect.arrayContaining(['executions', 'executions_id_seq', 'cluster_metadata']));
    await c.query('INSERT INTO executions (data) VALUES (NULL)');
    await c.query('ALTER TABLE cluster_metadata ADD COLUMN v int'); // schema upgrades by auto-setup
    const { rows } = await c.query<{ superuser: boolean }>('SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user');
    expect(rows[0]!.superuser).toBe(false);
  });
  // auto-setup creates the visibility database itself
  await as('temporal', TEMPORAL_PW, 'postgres', (c) => c.query('CREATE DATABASE temporal_visibility'));
});

test('migrate applies the migrations as the owner and gives the app role its password; the app role cannot reach Temporal', async () => {
  await migrate();
  await migrate();
  await dbRoles(); // the next `up`: the new visibility database is closed to other roles too
  await as('mynaflow_app', APP_PW, 'mynaflow', async (c) => {
    await expect(c.query('SELECT count(*) FROM tenants')).resolves.toBeDefined();
    expect(await failure(c.query('ALTER TABLE operation_events DISABLE TRIGGER USER'))).toMatch(/must be owner/);
  });
  for (const db of ['temporal', 'temporal_visibility']) {
    expect(await failure(as('mynaflow_app', APP_PW, db, (c) => c.query('SELECT 1')))).toMatch(/permission denied for database/);
  }
  // and Temporal's role reads nothing of the app's
  expect(await failure(as('temporal', TEMPORAL_PW, 'mynaflow', (c) => c.query('SELECT count(*) FROM registrants')))).toMatch(/permission denied/);
});
