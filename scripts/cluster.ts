/**
 * `npm run cluster`: mynaflow as a payroll vendor runs it, on this machine — the real Temporal server
 * (built from the Go module proxy, services/devstack/temporal-server.ts) on PostgreSQL with each
 * service a process of its own (two frontends, history, matching, the internal worker; config in
 * deploy/cluster/), two API instances and two workers behind HAProxy (HTTP to the APIs with the
 * client's address forwarded, gRPC to the frontends), the mail outbox, and a private PostgreSQL
 * for both mynaflow (its app role) and Temporal (its own role). Supervised like `npm start`: a part
 * that dies is started again; Ctrl-C stops everything; DATA_DIR/stack.json names every process.
 * `--build-only` builds what it needs and exits.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { buildApp } from '../services/build/app-build';
import { loadConfig } from '../services/config/config';
import { PROJECT_ROOT } from '../services/config/project-root';
import { enableAppLogin } from '../services/db/app-role';
import { firstOwner, migrate } from '../services/devstack/database-setup';
import { nodePart, spawnPart, startChild, StartError, tcpOpen, waitFor, workerReady } from '../services/devstack/parts';
import { startPrivateCluster } from '../services/devstack/postgres';
import { StackLifecycle } from '../services/devstack/stack-lifecycle';
import { ensureTemporalDatabases, temporalDbPassword } from '../services/devstack/temporal-database';
import { ensureTemporalServer, TEMPORAL_SERVER_VERSION, type TemporalServerBuild } from '../services/devstack/temporal-server';
import { ensureClusterTls, TLS_SERVER_NAME } from '../services/devstack/cluster-tls';
import { APP_PARTS, choosePorts, CLUSTER_CONFIG_DIR, LOAD_BALANCER, loadBalancerEnv, loadBalancerTlsEnv, RETENTION_DAYS, TEMPORAL_PARTS, temporalEnv, type Ports, type TemporalPart } from '../services/devstack/cluster-topology';
import { ensureSearchAttributes } from '../services/temporal/search-attributes';


const stack = new StackLifecycle('npm run cluster', 'cluster');
const log = stack.log;

/** HAProxy from Debian when it is missing (as scripts/setup.sh installs what the tests need). */
function ensureHaproxy(): string {
  const found = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((p) => fs.existsSync(p));
  if (found) return found;
  log('installing haproxy (apt)');
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  try {
    const [cmd, ...pre] = [...sudo, 'apt-get'];
    execFileSync(cmd!, [...pre, 'install', '-y', '-qq', '--no-install-recommends', 'haproxy'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch {
    throw new StartError('HAProxy is needed as the load balancer: apt install haproxy');
  }
  return ensureHaproxy();
}

async function frontendServes(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

/** The namespace with its retention and mynaflow's search attributes (idempotent). */
async function ensureNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address, connectTimeout: 5000 });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(`${RETENTION_DAYS} days`) });
    } catch (err) {
      if ((err as { code?: number }).code !== 6) throw err; // ALREADY_EXISTS
    }
    await waitFor(`namespace "${namespace}"`, async () => !!(await connection.workflowService.describeNamespace({ namespace })), 60_000);
    await ensureSearchAttributes(connection.operatorService, namespace);
  } finally {
    await connection.close();
  }
}

/** A Temporal process of the cluster as a supervised part. */
function temporalPart(build: TemporalServerBuild, ports: Ports, db: { port: number; password: string }, part: TemporalPart, ready: (child: ChildProcess) => Promise<void>) {
  const own = part === 'temporal-frontend-1' || part === 'temporal-frontend-2' ? ports.frontend[part.endsWith('2') ? 1 : 0] : ports[TEMPORAL_PARTS[part] as 'history' | 'matching' | 'worker'];
  return {
    name: part,
    ports: [own.grpc, own.membership],
    start: () =>
      startChild(
        spawnPart(part, build.server, ['--config-file', path.join(CLUSTER_CONFIG_DIR, 'temporal.yaml'), '--allow-no-auth', 'start', '--service', TEMPORAL_PARTS[part]], {
          env: { PATH: process.env.PATH, ...temporalEnv(ports, db, part) },
          quiet: () => stack.stopping,
        }),
        ready,
      ),
  };
}

async function startTemporal(build: TemporalServerBuild, ports: Ports, db: { port: number; password: string }): Promise<void> {
  const listening = (what: string, port: number) => (c: ChildProcess) => waitFor(what, () => tcpOpen('127.0.0.1', port), 120_000, c);
  // History alone first: on a fresh database the first service writes the cluster's metadata, and
  // two writing it at once fail. Then matching and the frontends (the worker service comes later).
  await stack.supervisor!.add(temporalPart(build, ports, db, 'temporal-history', listening('temporal history', ports.history.grpc)));
  await stack.supervisor!.add(temporalPart(build, ports, db, 'temporal-matching', listening('temporal matching', ports.matching.grpc)));
  await Promise.all(
    (['temporal-frontend-1', 'temporal-frontend-2'] as const).map((part, i) =>
      stack.supervisor!.add(temporalPart(build, ports, db, part, (c) => waitFor(`temporal frontend ${i + 1}`, () => frontendServes(`127.0.0.1:${ports.frontend[i]!.grpc}`), 120_000, c))),
    ),
  );
}

async function main(): Promise<void> {
  const buildOnly = process.argv.includes('--build-only');
  // Its own data folder by default: npm start's .data stays as it is.
  const config = loadConfig({ DATA_DIR: path.join('.data', 'cluster'), ...process.env });
  if (buildOnly) {
    await ensureTemporalServer(log);
    ensureHaproxy();
    log(`temporal-server ${TEMPORAL_SERVER_VERSION} and haproxy are ready`);
    return;
  }
  const supervisor = stack.begin(config.dataDir, config.shutdownGraceMs + 5000);

  const ports = await choosePorts(config);
  const haproxy = ensureHaproxy();
  const [build] = await Promise.all([ensureTemporalServer(log), buildApp()]);

  // PostgreSQL: one private cluster, mynaflow's database (its app role) and Temporal's two (its role).
  const { info, ownerUrl } = await startPrivateCluster(config.dataDir, (part) => supervisor.add(part), log);
  const pgPort = info.port;
  log(await migrate(ownerUrl));
  const appPasswordFile = path.join(config.dataDir, 'app-db-password');
  if (!fs.existsSync(appPasswordFile)) fs.writeFileSync(appPasswordFile, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  const databaseUrl = await enableAppLogin(ownerUrl, fs.readFileSync(appPasswordFile, 'utf8').trim());
  fs.writeFileSync(path.join(config.dataDir, 'database-url'), databaseUrl, { mode: 0o600 });
  const tdbPassword = temporalDbPassword(config.dataDir);
  log(await ensureTemporalDatabases(info, tdbPassword, build));

  const tdb = { port: pgPort, password: tdbPassword };
  await startTemporal(build, ports, tdb);
  const tls = ensureClusterTls(config.dataDir);
  const lbEnv = { PATH: process.env.PATH, ...loadBalancerEnv(ports), ...loadBalancerTlsEnv(ports, tls) };
  await supervisor.add({
    name: LOAD_BALANCER,
    ports: [ports.lbApi, ports.lbTemporal, ports.lbTemporalTls],
    start: () => startChild(spawnPart(LOAD_BALANCER, haproxy, ['-db', '-f', path.join(CLUSTER_CONFIG_DIR, 'haproxy.cfg'), '-f', path.join(CLUSTER_CONFIG_DIR, 'haproxy-tls.cfg')], { env: lbEnv }), (c) => waitFor('haproxy', () => tcpOpen('127.0.0.1', ports.lbTemporal), 30_000, c)),
  });
  const temporalAddress = `127.0.0.1:${ports.lbTemporal}`;
  await waitFor('the Temporal cluster through the load balancer', () => frontendServes(temporalAddress), 120_000);
  await ensureNamespace(temporalAddress, config.temporal.namespace);
  // The internal worker service runs schedules (the reconciler's): after the namespace exists.
  await supervisor.add(temporalPart(build, ports, tdb, 'temporal-worker', (c) => waitFor('temporal worker service', () => tcpOpen('127.0.0.1', ports.worker.grpc), 120_000, c)));
  fs.writeFileSync(path.join(config.dataDir, 'temporal-address'), temporalAddress, { mode: 0o600 });
  const owner = await firstOwner(databaseUrl, config);

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: config.dataDir };
  const smtpPort = config.embedded.smtpPort;
  await supervisor.add(nodePart('outbox', 'outbox', env, (c) => waitFor('the outbox', () => tcpOpen('127.0.0.1', smtpPort), 60_000, c), [smtpPort, config.embedded.outboxPort]));
  const publicUrl = config.publicUrl.startsWith(`http://localhost:${config.port}`) ? `http://localhost:${ports.lbApi}` : config.publicUrl;
  // The apps reach Temporal over mutual TLS, as they would a secured cluster or Temporal Cloud.
  const appEnv = {
    ...env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.lbTemporalTls}`,
    TEMPORAL_TLS_CA: tls.ca,
    TEMPORAL_TLS_CERT: tls.clientCert,
    TEMPORAL_TLS_KEY: tls.clientKey,
    TEMPORAL_TLS_SERVER_NAME: TLS_SERVER_NAME,
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    PUBLIC_URL: publicUrl,
    HOST: '127.0.0.1',
  };
  await Promise.all([
    ...APP_PARTS.worker.map((name) => stack.supervisor!.add(nodePart(name, 'worker', appEnv, workerReady(name)))),
    ...ports.api.map((port, i) =>
      stack.supervisor!.add(nodePart(APP_PARTS.api[i]!, 'api', { ...appEnv, PORT: String(port) }, (c) => waitFor(`API ${i + 1}`, async () => (await fetch(`http://127.0.0.1:${port}/healthz${supervisor.healing ? '/live' : ''}`)).ok, 120_000, c), [port])),
    ),
  ]);

  const apiUrl = `http://localhost:${ports.lbApi}`;
  // HAProxy marked the APIs down while they were starting: "running" only once it routes to both.
  let inARow = 0;
  await waitFor('the load balancer to route to both APIs', async () => {
    inARow = (await fetch(`http://127.0.0.1:${ports.lbApi}/healthz/live`)).ok ? inARow + 1 : 0;
    return inARow >= 4;
  }, 60_000);
  console.log(
    [
      '',
      `mynaflow cluster is running (Temporal ${TEMPORAL_SERVER_VERSION} on PostgreSQL). Ctrl-C stops everything; data is kept in ${path.relative(PROJECT_ROOT, config.dataDir) || config.dataDir}/`,
      '  A part that stops unexpectedly is started again; the others keep running.',
      `  HR console      ${apiUrl}/console            (HAProxy → API 1 :${ports.api[0]}, API 2 :${ports.api[1]})`,
      `  API             ${apiUrl}`,
      `  Temporal (mTLS) 127.0.0.1:${ports.lbTemporalTls} as ${TLS_SERVER_NAME}   (the APIs and workers; certificates in ${path.relative(PROJECT_ROOT, path.dirname(tls.ca))}/)`,
      `  Temporal        ${temporalAddress}               (HAProxy → frontend 1 :${ports.frontend[0]!.grpc}, frontend 2 :${ports.frontend[1]!.grpc}; history :${ports.history.grpc}, matching :${ports.matching.grpc}, worker :${ports.worker.grpc})`,
      `  Namespace       ${config.temporal.namespace} (retention ${RETENTION_DAYS} days)`,
      `  Workers         2 (task queue ${config.temporal.taskQueue})`,
      `  Outbox          http://localhost:${config.embedded.outboxPort}   (SMTP 127.0.0.1:${smtpPort})`,
      `  PostgreSQL      127.0.0.1:${pgPort} (mynaflow as mynaflow_app; temporal, temporal_visibility as temporal)`,
      '',
      ...(owner ? ['First start: a sample tenant and its owner. Shown once:', `  e-mail ${owner.email}   password ${owner.password}   customer number ${owner.customerNumber}`, ''] : []),
    ].join('\n'),
  );
  supervisor.healing = true;
}

stack.run(main, 'the cluster');
