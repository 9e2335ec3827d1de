/**
 * A private PostgreSQL cluster: initdb into a folder we own, listen on loopback only, no Unix
 * socket. Used by the run command (embedded default) and by the test harness (a throwaway cluster).
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` system user.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { withParentDeathSignal } from './parent-death';
import { freePort, isPortInUse } from './ports';

export interface ClusterInfo {
  dataDir: string;
  port: number;
  user: string;
  password: string;
  url(database: string): string;
}

const SUPERUSER = 'mynaflow';

export function postgresBinDir(): string {
  const fromEnv = process.env.PG_BINDIR;
  if (fromEnv) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (found) return path.dirname(fs.realpathSync(found));
  throw new Error('PostgreSQL server binaries (initdb, postgres) were not found: run scripts/setup.sh, or set DATABASE_URL');
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** argv that runs `cmd` as the unprivileged postgres user when we are root. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/** As root, the postgres user must be able to reach the folder: give it ownership and a way in. */
function prepareOwnership(dir: string): void {
  if (!isRoot()) return;
  const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (ids.status !== 0) throw new Error('running as root needs the "postgres" system user (apt install postgresql)');
  const uid = Number(ids.stdout.trim());
  const gid = Number(gids.stdout.trim());
  fs.chownSync(dir, uid, gid);
  // Traverse-only permission on ancestors that lack it (e.g. a clone inside a 0700 temp folder).
  for (let p = path.dirname(dir); p !== path.dirname(p); p = path.dirname(p)) {
    const mode = fs.statSync(p).mode;
    if ((mode & 0o001) === 0) fs.chmodSync(p, mode | 0o001);
  }
}

/** Creates the cluster if the folder holds none; keeps the password beside it (owner-only). */
export function ensureCluster(dataDir: string): { created: boolean; password: string } {
  const passwordFile = `${dataDir}.password`;
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    return { created: false, password: fs.readFileSync(passwordFile, 'utf8').trim() };
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  prepareOwnership(dataDir);
  const password = randomBytes(18).toString('base64url');
  fs.writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  const pwfile = path.join(dataDir, '..', `.pwfile-${process.pid}`);
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o644 });
  try {
    const [cmd, args] = asServerUser(path.join(postgresBinDir(), 'initdb'), [
      '-D', dataDir, '-U', SUPERUSER, '--pwfile', pwfile, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C', '--no-instructions',
    ]);
    const res = spawnSync(cmd, args, { encoding: 'utf8' });
    if (res.status !== 0) throw new Error(`initdb failed: ${res.stderr || res.stdout}`);
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
  return { created: true, password };
}

export function clusterInfo(dataDir: string, port: number, password: string): ClusterInfo {
  return {
    dataDir,
    port,
    user: SUPERUSER,
    password,
    url: (database) =>
      `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
  };
}

/**
 * Starts `postgres` in the foreground as a child we supervise; resolves once it accepts logins.
 * `diesWithParent`: postgres stops (fast shutdown) when this process dies, even by SIGKILL; it runs
 * in a process group of its own (a Ctrl-C meant for the supervisor does not stop it first).
 */
export async function startPostgres(info: ClusterInfo, opts: { logFile?: string; diesWithParent?: boolean } = {}): Promise<ChildProcess> {
  const server: [string, string[]] = [path.join(postgresBinDir(), 'postgres'), [
    '-D', info.dataDir,
    '-c', `port=${info.port}`,
    '-c', 'listen_addresses=127.0.0.1',
    '-c', "unix_socket_directories=",
    '-c', 'max_connections=200',
    '-c', 'fsync=on',
  ]];
  let [cmd, args] = asServerUser(...(opts.diesWithParent ? withParentDeathSignal(...server, 'SIGINT') : server));
  // As root, runuser sits between us and postgres: runuser dies with us, and postgres with runuser.
  if (opts.diesWithParent && cmd === 'runuser') [cmd, args] = withParentDeathSignal(cmd, args, 'SIGKILL');
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  // A supervised server gets its own process group: a terminal's Ctrl-C reaches the supervisor only,
  // which stops PostgreSQL last, after the API and worker have drained.
  const child = spawn(cmd, args, { stdio: ['ignore', out, out], detached: opts.diesWithParent === true });
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `postgres exited (${signal ?? code})${opts.logFile ? `; see ${opts.logFile}` : ''}`;
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(exited);
    const client = new pg.Client({ host: '127.0.0.1', port: info.port, user: info.user, password: info.password, database: 'postgres' });
    try {
      await client.connect();
      await client.end();
      return child;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        child.kill('SIGINT');
        throw new Error(`PostgreSQL did not accept connections on 127.0.0.1:${info.port}: ${(err as Error).message}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Asks postgres for a fast shutdown and waits for it. */
export async function stopPostgres(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // SIGINT is postgres' "fast" shutdown. As root the server runs under runuser, which does not pass
  // signals on: signal the server (runuser's child) itself, or runuser would be killed after the
  // timeout and postgres left running as an orphan.
  for (const pid of serverPids(child)) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // already gone
    }
  }
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await done;
  clearTimeout(timer);
}

/** The postgres process(es) a runuser wrapper started (Linux /proc); none without a wrapper. */
export function serverPids(child: ChildProcess): number[] {
  if (!child.spawnargs.includes('runuser') || !child.pid) return [];
  const file = `/proc/${child.pid}/task/${child.pid}/children`;
  try {
    return fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function createDatabase(info: ClusterInfo, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: info.url('postgres') });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/**
 * The private cluster in `stackDir/pg` as a supervised part, on the port it had before unless
 * something else took it meanwhile; mynaflow's database made. `npm start` and `npm run cluster`.
 */
export async function startPrivateCluster(
  stackDir: string,
  add: (part: { name: string; ports: number[]; start(): Promise<ChildProcess>; stop(c: ChildProcess): Promise<void>; morePids(c: ChildProcess): number[] }) => Promise<unknown>,
  log: (message: string) => void,
): Promise<{ info: ClusterInfo; ownerUrl: string }> {
  const dataDir = path.join(stackDir, 'pg');
  const { created, password } = ensureCluster(dataDir);
  const portFile = path.join(stackDir, 'pg.port');
  const saved = fs.existsSync(portFile) ? Number(fs.readFileSync(portFile, 'utf8')) : 0;
  const port = saved && !(await isPortInUse(saved)) ? saved : await freePort();
  fs.writeFileSync(portFile, String(port));
  const info = clusterInfo(dataDir, port, password);
  log(`${created ? 'created' : 'starting'} the private PostgreSQL cluster in ${path.relative(process.cwd(), dataDir) || dataDir} (127.0.0.1:${port})`);
  await add({ name: 'postgres', ports: [port], start: () => startPostgres(info, { logFile: path.join(stackDir, 'postgres.log'), diesWithParent: true }), stop: stopPostgres, morePids: serverPids });
  await createDatabase(info, 'mynaflow');
  const ownerUrl = info.url('mynaflow');
  // The owner's URL is for migrations (npm run prisma); the API, worker and ops CLI get the app role's.
  fs.writeFileSync(path.join(stackDir, 'database-owner-url'), ownerUrl, { mode: 0o600 });
  return { info, ownerUrl };
}
