/**
 * The database role the API and worker connect as (created by the app_role migration): it owns
 * nothing, so whoever holds its credentials cannot alter the schema, disable the history's triggers
 * or run server programs. Migrations and set-up run as the owner role; this module lets the app role
 * log in and builds the URL the app is given.
 */
import pg from 'pg';

export const APP_ROLE = 'mynaflow_app';

/** Gives the app role a login and this password (idempotent); returns the owner URL with the app role's credentials. */
export async function enableAppLogin(ownerUrl: string, password: string): Promise<string> {
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    // ALTER ROLE takes no parameters: format() quotes the password as a literal.
    const { rows } = await client.query<{ sql: string }>('SELECT format($1, $2::text, $3::text) AS sql', ['ALTER ROLE %I WITH LOGIN PASSWORD %L', APP_ROLE, password]);
    await client.query(rows[0]!.sql);
  } finally {
    await client.end();
  }
  return appUrl(ownerUrl, password);
}

/** The same database as `ownerUrl`, reached as the app role. */
export function appUrl(ownerUrl: string, password: string): string {
  const u = new URL(ownerUrl);
  u.username = APP_ROLE;
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * Why the connected role is more than the app needs, or null: a superuser, or the owner of tables,
 * can rewrite the operation history undetected by the database (the keyed chain still tells).
 */
export async function excessPrivilege(query: (sql: string) => Promise<{ superuser: boolean; owned: number }[]>): Promise<string | null> {
  const [row] = await query(
    `SELECT r.rolsuper AS superuser, (SELECT count(*)::int FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user) AS owned
     FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (!row) return null;
  if (row.superuser) return 'the database role is a superuser';
  if (row.owned > 0) return `the database role owns ${row.owned} table(s)`;
  return null;
}

/** Logs a warning when the process connects with more privilege than it needs (a start is not refused: existing deployments upgrade first). */
export async function warnIfPrivileged(prisma: { $queryRawUnsafe<T>(sql: string): Promise<T> }, logger: { warn(obj: object, msg: string): void }): Promise<void> {
  const why = await excessPrivilege((sql) => prisma.$queryRawUnsafe(sql));
  if (why) logger.warn({ reason: why, role: APP_ROLE }, `${why}: connect as ${APP_ROLE}, which owns nothing (README, "Database roles"); migrations run as the owner`);
}
