/** What `npm start` and `npm run cluster` do to their database before the app starts. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createHistory } from '../audit/history';
import type { Config } from '../config/config';
import { PROJECT_ROOT } from '../config/project-root';
import { createPrisma } from '../db/client';
import { createTenantWithOwner } from '../tenants/bootstrap';
import { loadKeyring } from '../vault/keyring';
import { createVault } from '../vault/vault';
import { StartError } from './parts';

const run = promisify(execFile);

/** Applies the migrations as the database's owner; says what it did. */
export async function migrate(databaseUrl: string): Promise<string> {
  try {
    const { stdout } = await run(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl },
    });
    const applied = stdout.split('\n').filter((l) => /[└├]─ \d{14}_/.test(l)).length;
    return applied ? `applied ${applied} database migration(s)` : 'database schema is up to date';
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new StartError(`database migration failed:\n${e.stderr || e.stdout || e.message}`);
  }
}

/** On an empty database, a sample tenant and its owner, so a newcomer can log in at once. */
export async function firstOwner(databaseUrl: string, config: Config): Promise<{ email: string; password: string; customerNumber: string } | null> {
  const prisma = createPrisma(databaseUrl);
  try {
    if ((await prisma.tenant.count()) > 0) return null;
    // The history is keyed by the master key: the same keyring the API and worker open (made here on the first start).
    const vault = createVault({ prisma, keyring: loadKeyring(config) });
    const { tenant, owner, password } = await createTenantWithOwner(prisma, createHistory(prisma, vault), {
      tenantName: 'サンプル株式会社',
      ownerEmail: 'owner@example.com',
      ownerName: '管理者',
    });
    return { email: owner.email, password, customerNumber: tenant.customerNumber };
  } finally {
    await prisma.$disconnect();
  }
}
