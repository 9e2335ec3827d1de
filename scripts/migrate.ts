/**
 * The migration step of a deployment (docker-compose.yml's `migrate`): applies the migrations as the
 * database's owner (DATABASE_URL) and, with APP_DATABASE_PASSWORD, lets the app role mynaflow_app log
 * in with that password. The API and worker then connect as mynaflow_app, which owns nothing.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ConfigError, loadConfig } from '../services/config/config';
import { APP_ROLE, enableAppLogin } from '../services/db/app-role';
import { PROJECT_ROOT } from '../services/config/project-root';

async function main(): Promise<number> {
  const config = loadConfig();
  if (!config.databaseUrl) {
    console.error("[migrate] DATABASE_URL: required (the database owner's URL)");
    return 2;
  }
  execFileSync(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'prisma'), ['migrate', 'deploy'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: config.databaseUrl },
    stdio: 'inherit',
  });
  if (config.appDatabasePassword) {
    await enableAppLogin(config.databaseUrl, config.appDatabasePassword);
    console.log(`[migrate] ${APP_ROLE} may log in with APP_DATABASE_PASSWORD`);
  } else {
    console.log(`[migrate] APP_DATABASE_PASSWORD unset: ${APP_ROLE}'s login left as it was`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`[migrate] ${err instanceof ConfigError ? err.message : (err as Error).message}`);
    process.exit(1);
  },
);
