/**
 * Migrates a test database as its owner and hands back the URL the product connects with: the app
 * role's (services/db/app-role.ts), as in production, so a missing grant fails the tests. Tests
 * that must do what the app cannot (bypass the history's triggers, add a trigger) use the owner URL.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { appUrl, enableAppLogin } from '../../services/db/app-role';

/** One password for the app role in every cluster of this run (set by global set-up, inherited by workers). */
function appPassword(): string {
  return (process.env.TEST_APP_DB_PASSWORD ??= randomBytes(18).toString('base64url'));
}

/**
 * `login`: the cluster is new to this run, so the role still needs its login; a database on the shared
 * cluster reuses the one global set-up gave it (two ALTER ROLEs at once would fail).
 */
export async function migrateAsOwner(ownerUrl: string, opts: { login: boolean }): Promise<string> {
  execFileSync(path.resolve('node_modules/.bin/prisma'), ['migrate', 'deploy'], { env: { ...process.env, DATABASE_URL: ownerUrl }, stdio: 'pipe' });
  return opts.login ? enableAppLogin(ownerUrl, appPassword()) : appUrl(ownerUrl, appPassword());
}

/** The owner URL of the run's database, for what only the owner may do. */
export function ownerUrl(): string {
  const url = process.env.DATABASE_OWNER_URL;
  if (!url) throw new Error('DATABASE_OWNER_URL missing: jest global set-up did not run');
  return url;
}
