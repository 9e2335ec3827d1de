/**
 * `npm start`: brings the whole stack up on the embedded defaults and supervises it as one process
 * group: PostgreSQL (private cluster), Temporal dev server (SQLite, Web UI), the mail outbox, the
 * worker and the API. DATABASE_URL / TEMPORAL_ADDRESS / SMTP_URL point it at external services
 * instead. Ctrl-C stops everything; the next start reuses the data folder. Once up, a part that
 * stops unexpectedly is restarted (services/devstack/supervisor.ts); the parts die with this process
 * even when it is SIGKILLed (parent-death.ts), and DATA_DIR/stack.json lets the next start name
 * anything still running (stack-state.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { buildApp } from '../services/build/app-build';
import { ConfigError, loadConfig, type Config } from '../services/config/config';
import { enableAppLogin } from '../services/db/app-role';
import { firstOwner, migrate } from '../services/devstack/database-setup';
import { nodePart, spawnPart, startChild, StartError, tcpOpen, waitFor, workerReady } from '../services/devstack/parts';
import { clusterInfo, createDatabase, ensureCluster, serverPids, startPostgres, stopPostgres } from '../services/devstack/postgres';
import { freePort, isPortInUse } from '../services/devstack/ports';
import { clearStackState, describeProcess, staleStackMessage, writeStackState } from '../services/devstack/stack-state';
import { Supervisor } from '../services/devstack/supervisor';

const ROOT = path.resolve(__dirname, '..');
const TEMPORAL_CLI = path.join(ROOT, '.tools', 'venv', 'bin', 'temporal');

let supervisor: Supervisor | undefined;
let stopping = false;
/** The data folder whose stack.json this start owns (not while another stack still runs on it). */
let stackDir: string | undefined;

const log = (msg: string) => console.log(`[start] ${msg}`);

function recordStack(): void {
  if (stackDir && supervisor) writeStackState(stackDir, { supervisor: describeProcess('npm start', process.pid), parts: supervisor.processes() });
}

/** Refuses to start when a port we must listen on is taken, naming the setting that moves it. */
async function checkPorts(config: Config): Promise<void> {
  const wanted: [number, string, string][] = [[config.port, 'PORT', 'the API']];
  if (!config.temporal.address) {
    wanted.push([config.embedded.temporalPort, 'TEMPORAL_PORT', 'the Temporal server']);
    wanted.push([config.embedded.temporalUiPort, 'TEMPORAL_UI_PORT', 'the Temporal Web UI']);
  }
  if (!config.smtpUrl) {
    wanted.push([config.embedded.smtpPort, 'SMTP_PORT', 'the outbox SMTP server']);
    wanted.push([config.embedded.outboxPort, 'OUTBOX_PORT', 'the outbox page']);
  }
  const taken = [];
  for (const [port, key, what] of wanted) {
    if (await isPortInUse(port, key === 'PORT' ? config.host : '127.0.0.1')) taken.push(`port ${port} (${what}) is already in use: set ${key} to a free port`);
  }
  if (taken.length) throw new StartError(taken.join('\n        '));
}

/** The owner URL (migrations) and, for the private cluster, the app role's password. */
async function startDatabase(config: Config): Promise<{ ownerUrl: string; appPassword?: string }> {
  if (config.databaseUrl) {
    const url = config.databaseUrl;
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
    } catch (err) {
      throw new StartError(`cannot connect to PostgreSQL at ${new URL(url).host}: ${(err as Error).message}. Check DATABASE_URL.`);
    } finally {
      await client.end().catch(() => undefined);
    }
    log(`using PostgreSQL at ${new URL(url).host}`);
    return { ownerUrl: url };
  }
  const dataDir = path.join(config.dataDir, 'pg');
  const { created, password } = ensureCluster(dataDir);
  // Keep the port between starts, unless something else took it meanwhile.
  const portFile = path.join(config.dataDir, 'pg.port');
  const saved = fs.existsSync(portFile) ? Number(fs.readFileSync(portFile, 'utf8')) : 0;
  const port = saved && !(await isPortInUse(saved)) ? saved : await freePort();
  fs.writeFileSync(portFile, String(port));
  const info = clusterInfo(dataDir, port, password);
  log(`${created ? 'created' : 'starting'} the private PostgreSQL cluster in ${path.relative(ROOT, dataDir) || dataDir} (127.0.0.1:${port})`);
  await supervisor!.add({
    name: 'postgres',
    ports: [port],
    start: () => startPostgres(info, { logFile: path.join(config.dataDir, 'postgres.log'), diesWithParent: true }),
    stop: stopPostgres,
    morePids: serverPids,
  });
  await createDatabase(info, 'mynaflow');
  const url = info.url('mynaflow');
  // The owner's URL is for migrations (npm run prisma); the API, worker and ops CLI get the app role's.
  fs.writeFileSync(path.join(config.dataDir, 'database-owner-url'), url, { mode: 0o600 });
  return { ownerUrl: url, appPassword: appRolePassword(dataDir) };
}

/** The app role's password for this cluster, made once and kept beside the owner's. */
function appRolePassword(dataDir: string): string {
  const file = `${dataDir}.app-password`;
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  return fs.readFileSync(file, 'utf8').trim();
}

async function startTemporal(config: Config): Promise<string> {
  const ns = config.temporal.namespace;
  const probeNamespace = async (address: string, secured = {}) => {
    const connection = await Connection.connect({ address, connectTimeout: 2000, ...secured });
    try {
      await connection.workflowService.describeNamespace({ namespace: ns });
      return true;
    } finally {
      await connection.close();
    }
  };
  if (config.temporal.address) {
    const address = config.temporal.address;
    try {
      await probeNamespace(address, config.temporal.connection);
    } catch (err) {
      throw new StartError(`cannot use Temporal at ${address} (namespace "${ns}"): ${(err as Error).message.split('\n')[0]}. Check TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.`);
    }
    log(`using Temporal at ${address}`);
    return address;
  }
  if (!fs.existsSync(TEMPORAL_CLI)) throw new StartError(`the Temporal CLI is missing (${TEMPORAL_CLI}): run bash scripts/setup.sh`);
  const { temporalPort, temporalUiPort } = config.embedded;
  const address = `127.0.0.1:${temporalPort}`;
  // The dev server's metrics would take a random port, maybe one of ours not bound yet (the outbox's):
  // it gets a free one that none of the stack's configured ports is.
  const ours = new Set([config.port, temporalPort, temporalUiPort, config.embedded.smtpPort, config.embedded.outboxPort]);
  let metricsPort = await freePort();
  while (ours.has(metricsPort)) metricsPort = await freePort();
  const args = [
      'server', 'start-dev',
      '--db-filename', path.join(config.dataDir, 'temporal.db'),
      '--ip', '127.0.0.1',
      '--port', String(temporalPort),
      '--ui-port', String(temporalUiPort),
      '--metrics-port', String(metricsPort),
      // Payloads are encrypted: the UI asks the API to decode them (an owner's session).
      '--ui-codec-endpoint', `http://localhost:${config.port}/v1/temporal-codec`,
      '--namespace', ns,
      '--log-level', 'warn',
  ];
  await supervisor!.add({
    name: 'temporal',
    ports: [temporalPort, temporalUiPort],
    // The dev server complains at length while it shuts down: not worth showing.
    start: () => startChild(spawnPart('temporal', TEMPORAL_CLI, args, { quiet: () => stopping }), (c) => waitFor('the Temporal dev server', () => probeNamespace(address), 90_000, c)),
  });
  return address;
}

async function startOutbox(config: Config, env: NodeJS.ProcessEnv): Promise<string> {
  if (config.smtpUrl) {
    log(`sending mail through ${new URL(config.smtpUrl).host}`);
    return config.smtpUrl;
  }
  const { smtpPort, outboxPort } = config.embedded;
  await supervisor!.add(nodePart('outbox', 'outbox', env, (c) => waitFor('the outbox', () => tcpOpen('127.0.0.1', smtpPort), 60_000, c), [smtpPort, outboxPort]));
  return `smtp://127.0.0.1:${smtpPort}`;
}

async function shutdown(code: number): Promise<never> {
  if (stopping) return new Promise<never>(() => undefined);
  stopping = true;
  if (supervisor) {
    log('stopping…');
    // The reverse of the start order: API and worker first, PostgreSQL last.
    await supervisor.stopAll();
    log('stopped');
  }
  if (stackDir) clearStackState(stackDir);
  process.exit(code);
}

async function main(): Promise<void> {
  const config = loadConfig();
  // The parts' own grace (SHUTDOWN_GRACE_SECONDS), and a little more before they are killed.
  const stopTimeoutMs = config.shutdownGraceMs + 5000;
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  // Before the ports: a stack still running on this data folder is named, not "port in use".
  const stale = staleStackMessage(config.dataDir);
  if (stale) throw new StartError(stale);
  const warn = (message: string) => console.error(`[start] ${message}`);
  supervisor = new Supervisor({
    log,
    warn,
    onFatal: (message) => {
      warn(message);
      void shutdown(1);
    },
    onChange: recordStack,
    stopTimeoutMs,
  });
  stackDir = config.dataDir;
  recordStack();

  await checkPorts(config);
  // The parts run compiled, as in production; compiled now so they are always this checkout's code.
  await buildApp();
  const database = await startDatabase(config);
  log(await migrate(database.ownerUrl));
  // The private cluster: the API and worker connect as the role that owns nothing.
  const databaseUrl = database.appPassword ? await enableAppLogin(database.ownerUrl, database.appPassword) : database.ownerUrl;
  if (database.appPassword) fs.writeFileSync(path.join(config.dataDir, 'database-url'), databaseUrl, { mode: 0o600 });
  const owner = await firstOwner(databaseUrl, config);
  const temporalAddress = await startTemporal(config);
  // `npm run ops` commands that act on workflows find the stack's Temporal here.
  fs.writeFileSync(path.join(config.dataDir, 'temporal-address'), temporalAddress, { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.dataDir };
  const smtpUrl = await startOutbox(config, env);

  const appEnv = { ...env, DATABASE_URL: databaseUrl, TEMPORAL_ADDRESS: temporalAddress, SMTP_URL: smtpUrl };
  const apiUrl = `http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port}`;
  // At start the API must reach PostgreSQL and Temporal; restarted, it need only listen (it answers 503
  // while they are away).
  const apiReady = (child: ChildProcess) =>
    waitFor('the API', async () => (await fetch(`${apiUrl}/healthz${supervisor?.healing ? '/live' : ''}`)).ok, 120_000, child);
  // Both at once (the worker bundles its workflows meanwhile); stopped the other way round.
  await Promise.all([
    // METRICS_PORT set: the API's metrics there, the worker's on the next port.
    supervisor.add(nodePart('worker', 'worker', config.metrics ? { ...appEnv, METRICS_PORT: String(config.metrics.port + 1) } : appEnv, workerReady('the worker'))),
    supervisor.add(nodePart('api', 'api', appEnv, apiReady, [config.port])),
  ]);

  const dbShown = new URL(databaseUrl);
  dbShown.password = dbShown.password ? '****' : '';
  const lines = [
    '',
    'mynaflow is running. Ctrl-C stops everything; data is kept in ' + (path.relative(ROOT, config.dataDir) || config.dataDir) + '/',
    'A part that stops unexpectedly is started again; the others keep running.',
    `  HR console     ${apiUrl}/console`,
    `  API            ${apiUrl}`,
    `  API docs       ${apiUrl}/docs/`,
    `  Health         ${apiUrl}/healthz/ready`,
    config.temporal.address ? `  Temporal       ${temporalAddress}` : `  Temporal UI    http://localhost:${config.embedded.temporalUiPort}   (server ${temporalAddress})`,
    config.smtpUrl ? `  Mail           via ${new URL(smtpUrl).host}` : `  Outbox         http://localhost:${config.embedded.outboxPort}   (SMTP ${new URL(smtpUrl).host})`,
    `  PostgreSQL     ${dbShown.toString()}`,
    ...(config.metrics ? [`  Metrics        http://${config.metrics.host}:${config.metrics.port}/metrics (API), :${config.metrics.port + 1}/metrics (worker)`] : []),
    '',
    ...(owner
      ? [
          'First start: a sample tenant and its owner were created. Shown once; change the password after logging in:',
          `  e-mail ${owner.email}   password ${owner.password}   customer number ${owner.customerNumber}`,
          '  The second-factor code of each login arrives in the outbox.',
          '',
        ]
      : []),
    'More tenants and owners: npm run ops -- create-tenant --name <会社名> --owner-email <e-mail> --owner-name <氏名>',
    '',
  ];
  console.log(lines.join('\n'));
  supervisor.healing = true;
}

main().catch(async (err) => {
  const message = err instanceof ConfigError || err instanceof StartError ? err.message : `unexpected error: ${(err as Error).stack}`;
  console.error(`[start] cannot start mynaflow:\n${message.replace(/^\s*/gm, '        ')}`);
  await shutdown(1);
});
