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
import { loadConfig, type Config } from '../services/config/config';
import { enableAppLogin } from '../services/db/app-role';
import { firstOwner, migrate } from '../services/devstack/database-setup';
import { nodePart, spawnPart, startChild, StartError, tcpOpen, waitFor, workerReady } from '../services/devstack/parts';
import { startPrivateCluster } from '../services/devstack/postgres';
import { freePort, isPortInUse } from '../services/devstack/ports';
import { StackLifecycle } from '../services/devstack/stack-lifecycle';

const ROOT = path.resolve(__dirname, '..');
const TEMPORAL_CLI = path.join(ROOT, '.tools', 'venv', 'bin', 'temporal');

const stack = new StackLifecycle('npm start', 'start');
const log = stack.log;

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
  const { ownerUrl } = await startPrivateCluster(config.dataDir, (part) => stack.supervisor!.add(part), log);
  return { ownerUrl, appPassword: appRolePassword(path.join(config.dataDir, 'pg')) };
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
  await stack.supervisor!.add({
    name: 'temporal',
    ports: [temporalPort, temporalUiPort],
    // The dev server complains at length while it shuts down: not worth showing.
    start: () => startChild(spawnPart('temporal', TEMPORAL_CLI, args, { quiet: () => stack.stopping }), (c) => waitFor('the Temporal dev server', () => probeNamespace(address), 90_000, c)),
  });
  return address;
}

async function startOutbox(config: Config, env: NodeJS.ProcessEnv): Promise<string> {
  if (config.smtpUrl) {
    log(`sending mail through ${new URL(config.smtpUrl).host}`);
    return config.smtpUrl;
  }
  const { smtpPort, outboxPort } = config.embedded;
  await stack.supervisor!.add(nodePart('outbox', 'outbox', env, (c) => waitFor('the outbox', () => tcpOpen('127.0.0.1', smtpPort), 60_000, c), [smtpPort, outboxPort]));
  return `smtp://127.0.0.1:${smtpPort}`;
}

async function main(): Promise<void> {
  const config = loadConfig();
  // The parts' own grace (SHUTDOWN_GRACE_SECONDS), and a little more before they are killed.
  const stopTimeoutMs = config.shutdownGraceMs + 5000;
  const supervisor = stack.begin(config.dataDir, stopTimeoutMs);

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
    waitFor('the API', async () => (await fetch(`${apiUrl}/healthz${supervisor.healing ? '/live' : ''}`)).ok, 120_000, child);
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

stack.run(main, 'mynaflow');
