import fs from 'node:fs';
import pg from 'pg';
import { stopPostgres } from '../../services/devstack/postgres';
import { testState } from './state';

export default async function globalTeardown(): Promise<void> {
  const { tmpDir, postgres, adminUrl, database } = testState.get();
  if (postgres) await stopPostgres(postgres);
  if (tmpDir) fs.rmSync(tmpDir, { recursive: true, force: true });
  if (adminUrl && database) {
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
}
