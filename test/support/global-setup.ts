/**
 * Once per test run: a fresh, migrated PostgreSQL database. With DATABASE_URL set, a new database
 * on that server; otherwise a throwaway private cluster in a temporary folder.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { clusterInfo, createDatabase, ensureCluster, startPostgres } from '../../services/devstack/postgres';
import { freePort } from '../../services/devstack/ports';
import { CAPTURE_ENV } from './capture';
import { migrateAsOwner } from './migrate';
import { testState } from './state';
import { buildApp } from '../../services/build/app-build';

export default async function globalSetup(): Promise<void> {
  // Tests run the product's processes as production does: compiled (services/build/app-build.ts).
  await buildApp();
  const name = `mynaflow_test_${randomBytes(4).toString('hex')}`;
  let url: string;
  const external = process.env.DATABASE_URL;
  if (external) {
    const admin = new pg.Client({ connectionString: external });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${name}"`);
    await admin.end();
    const u = new URL(external);
    u.pathname = `/${name}`;
    url = u.toString();
    testState.set({ adminUrl: external, database: name });
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-test-'));
    const dataDir = path.join(dir, 'pg');
    const { password } = ensureCluster(dataDir);
    const info = clusterInfo(dataDir, await freePort(), password);
    const child = await startPostgres(info, { logFile: path.join(dir, 'postgres.log') });
    await createDatabase(info, name);
    url = info.url(name);
    testState.set({ tmpDir: dir, postgres: child });
  }
  // Test files run in workers spawned after this: they inherit the environment. The product connects
  // as the app role; the owner URL is for what only the owner may do.
  process.env.DATABASE_OWNER_URL = url;
  process.env.DATABASE_URL = await migrateAsOwner(url, { login: true });
  process.env[CAPTURE_ENV] = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-capture-'));
}
