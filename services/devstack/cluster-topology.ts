/**
 * The production topology `npm run cluster` runs (scripts/cluster.ts) and docker-compose.yml
 * describes — its parts and the environment each Temporal process and the load balancer get
 * (deploy/cluster/temporal.yaml, deploy/cluster/haproxy.cfg). test/docker-compose.test.ts holds
 * the compose file to these, test/cluster/ the running cluster.
 */
import path from 'node:path';
import type { Config } from '../config/config';
import { PROJECT_ROOT } from '../config/project-root';
import { StartError } from './parts';
import { freePort, isPortInUse } from './ports';

export const CLUSTER_CONFIG_DIR = path.join(PROJECT_ROOT, 'deploy', 'cluster');

/** The namespace keeps closed workflows' histories this long (audits ask about last month). */
export const RETENTION_DAYS = 30;

/** Each Temporal process and the service it runs. */
export const TEMPORAL_PARTS = {
  'temporal-history': 'history',
  'temporal-matching': 'matching',
  'temporal-frontend-1': 'frontend',
  'temporal-frontend-2': 'frontend',
  'temporal-worker': 'worker',
} as const;
export type TemporalPart = keyof typeof TEMPORAL_PARTS;

/** mynaflow's instances behind the load balancer. */
export const APP_PARTS = { api: ['api-1', 'api-2'], worker: ['worker-1', 'worker-2'] } as const;
export const LOAD_BALANCER = 'haproxy';

export interface Ports {
  lbApi: number;
  lbTemporal: number;
  /** the mutual-TLS entry to Temporal (deploy/cluster/haproxy-tls.cfg), which the apps use */
  lbTemporalTls: number;
  api: [number, number];
  frontend: [{ grpc: number; membership: number; http: number }, { grpc: number; membership: number; http: number }];
  history: { grpc: number; membership: number };
  matching: { grpc: number; membership: number };
  worker: { grpc: number; membership: number };
  metrics: Record<TemporalPart, number>;
}

/** The published ports from the configuration (refused when taken), the internal ones free now. */
export async function choosePorts(config: Config): Promise<Ports> {
  const taken: string[] = [];
  for (const [port, key] of [[config.port, 'PORT'], [config.embedded.temporalPort, 'TEMPORAL_PORT'], [config.embedded.smtpPort, 'SMTP_PORT'], [config.embedded.outboxPort, 'OUTBOX_PORT']] as const) {
    if (await isPortInUse(port)) taken.push(`port ${port} is already in use: set ${key} to a free port`);
  }
  if (taken.length) throw new StartError(taken.join('\n'));
  const pair = async () => ({ grpc: await freePort(), membership: await freePort() });
  const metrics = {} as Record<TemporalPart, number>;
  for (const name of Object.keys(TEMPORAL_PARTS) as TemporalPart[]) metrics[name] = await freePort();
  return {
    lbApi: config.port,
    lbTemporal: config.embedded.temporalPort,
    lbTemporalTls: await freePort(),
    api: [await freePort(), await freePort()],
    frontend: [{ ...(await pair()), http: await freePort() }, { ...(await pair()), http: await freePort() }],
    history: await pair(),
    matching: await pair(),
    worker: await pair(),
    metrics,
  };
}

/** The environment deploy/cluster/temporal.yaml is rendered with, for one process on this host. */
export function temporalEnv(ports: Ports, db: { port: number; password: string }, part: TemporalPart): Record<string, string> {
  const frontend = part === 'temporal-frontend-2' ? ports.frontend[1] : ports.frontend[0];
  return {
    TEMPORAL_DB_PORT: String(db.port),
    TEMPORAL_DB_PASSWORD: db.password,
    TEMPORAL_METRICS_PORT: String(ports.metrics[part]),
    TEMPORAL_DYNAMIC_CONFIG: path.join(CLUSTER_CONFIG_DIR, 'dynamicconfig.yaml'),
    TEMPORAL_FRONTEND_ADDRESS: `127.0.0.1:${ports.lbTemporal}`,
    FRONTEND_GRPC_PORT: String(frontend.grpc),
    FRONTEND_MEMBERSHIP_PORT: String(frontend.membership),
    FRONTEND_HTTP_PORT: String(frontend.http),
    HISTORY_GRPC_PORT: String(ports.history.grpc),
    HISTORY_MEMBERSHIP_PORT: String(ports.history.membership),
    MATCHING_GRPC_PORT: String(ports.matching.grpc),
    MATCHING_MEMBERSHIP_PORT: String(ports.matching.membership),
    WORKER_GRPC_PORT: String(ports.worker.grpc),
    WORKER_MEMBERSHIP_PORT: String(ports.worker.membership),
  };
}

/** The environment deploy/cluster/haproxy.cfg is read with, on this host. */
export function loadBalancerEnv(ports: Ports): Record<string, string> {
  return {
    LB_BIND: '127.0.0.1',
    LB_API_PORT: String(ports.lbApi),
    LB_TEMPORAL_PORT: String(ports.lbTemporal),
    API1_HOST: '127.0.0.1',
    API1_PORT: String(ports.api[0]),
    API2_HOST: '127.0.0.1',
    API2_PORT: String(ports.api[1]),
    FRONTEND1_HOST: '127.0.0.1',
    FRONTEND1_PORT: String(ports.frontend[0].grpc),
    FRONTEND2_HOST: '127.0.0.1',
    FRONTEND2_PORT: String(ports.frontend[1].grpc),
  };
}

/** The environment deploy/cluster/haproxy-tls.cfg is read with (the certificates: cluster-tls.ts). */
export function loadBalancerTlsEnv(ports: Ports, tls: { serverPem: string; ca: string }): Record<string, string> {
  return { LB_TEMPORAL_TLS_PORT: String(ports.lbTemporalTls), LB_TLS_CERT: tls.serverPem, LB_TLS_CA: tls.ca };
}
