/**
 * Static checks of the Docker deployment (no Docker engine needed): docker-compose.yml gives the app
 * only configuration keys it reads, in a form loadConfig() accepts, pointing at services that exist,
 * and the image's commands name entry files that exist.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { CONFIG_KEYS, loadConfig } from '../services/config/config';
import { APP_LAUNCH, appEntryFile, type AppEntry } from '../services/build/app-build';
import { APP_PARTS, LOAD_BALANCER, loadBalancerEnv, RETENTION_DAYS, TEMPORAL_PARTS, temporalEnv, type Ports } from '../services/devstack/cluster-topology';
import { TEMPORAL_SERVER_VERSION } from '../services/devstack/temporal-server';

const root = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Service {
  image?: string;
  entrypoint?: string | string[];
  volumes?: string[];
  command?: string | string[];
  healthcheck?: { test?: string[] };
  environment?: Record<string, unknown> | string[];
  depends_on?: string[] | Record<string, unknown>;
  ports?: string[];
}
// merge: true resolves the `<<: *anchor` merge keys the file uses.
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** What Compose would pass when no override is set: `${VAR:-default}` / `${VAR-default}` become the default. */
function withDefaults(value: string): string {
  return value.replace(/\$\$|\$\{\w+(?::?-([^}]*))?\}/g, (match, fallback?: string) => (match === '$$' ? '$' : (fallback ?? '')));
}

function envOf(name: string): Record<string, string> {
  const env = services[name]?.environment ?? {};
  const pairs = Array.isArray(env) ? env.map((e) => e.split(/=(.*)/s).slice(0, 2)) : Object.entries(env);
  return Object.fromEntries(pairs.map(([k, v]) => [k, withDefaults(String(v ?? ''))]));
}

const hostOf = (url: string) => new URL(url).hostname;

describe('docker-compose.yml', () => {
  test.each([['api-1', 'api'], ['api-2', 'api'], ['worker-1', 'worker'], ['worker-2', 'worker'], ['migrate', 'migrate']] as const)('%s is given only keys from CONFIG_KEYS (and its launch environment)', (name, entry) => {
    expect(services[name]).toBeDefined();
    const known = [...CONFIG_KEYS, ...Object.keys(APP_LAUNCH[entry].env)] as string[];
    const unknown = Object.keys(envOf(name)).filter((k) => !known.includes(k));
    expect(unknown).toEqual([]);
  });

  test("the api's healthcheck asks the documented readiness endpoint on the port it listens on", () => {
    const check = (services['api-1']?.healthcheck?.test ?? []).join(' ');
    expect(check).toContain(`http://127.0.0.1:${envOf('api-1').PORT}/healthz/ready`);
    expect(read('openapi/openapi.yaml')).toContain('  /healthz/ready:');
  });

  test("migrate connects as the database's owner and gives the app role the password the api and worker use", () => {
    const migrate = envOf('migrate');
    expect(hostOf(migrate.DATABASE_URL!)).toBe('postgres');
    expect(new URL(migrate.DATABASE_URL!).username).toBe(envOf('postgres').POSTGRES_USER);
    for (const name of ['api-1', 'api-2', 'worker-1', 'worker-2']) {
      const url = new URL(envOf(name).DATABASE_URL!);
      expect([name, url.username, decodeURIComponent(url.password)]).toEqual([name, 'mynaflow_app', migrate.APP_DATABASE_PASSWORD]);
    }
    expect(() => loadConfig(migrate)).not.toThrow();
  });

  test('Temporal connects as its own role, which db-roles makes before the schema job runs', () => {
    const roles = envOf('db-roles');
    expect(envOf('temporal-schema')).toMatchObject({ SQL_USER: 'temporal', SQL_PASSWORD: roles.TEMPORAL_DB_PASSWORD, SQL_HOST: 'postgres' });
    expect(services['temporal-schema']!.depends_on).toMatchObject({ 'db-roles': { condition: 'service_completed_successfully' } });
    expect(envOf('temporal-history').TEMPORAL_DB_PASSWORD).toBe(roles.TEMPORAL_DB_PASSWORD);
    expect(roles.PGUSER).toBe(envOf('postgres').POSTGRES_USER);
  });

  describe.each(['api-1', 'api-2', 'worker-1', 'worker-2'])('%s', (name) => {
    const env = envOf(name);

    test('names its services, and loadConfig accepts the environment', () => {
      for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'SMTP_URL']) expect(env[key]).toBeTruthy();
      expect(() => loadConfig(env)).not.toThrow();
    });

    test('service addresses name services in the compose file', () => {
      const hosts = [hostOf(env.DATABASE_URL!), env.TEMPORAL_ADDRESS!.split(':')[0]!, hostOf(env.SMTP_URL!)];
      for (const host of hosts) expect(Object.keys(services)).toContain(host);
    });
  });

  test('the load balancer publishes the port the APIs listen on and forwards to both', () => {
    for (const [n, name] of [[1, 'api-1'], [2, 'api-2']] as const) {
      const { port, host } = loadConfig(envOf(name));
      expect(host).toBe('0.0.0.0'); // reachable from outside its container
      expect(envOf('haproxy')).toMatchObject({ [`API${n}_HOST`]: name, [`API${n}_PORT`]: String(port) });
    }
    expect(services.haproxy!.ports).toContain(`${envOf('haproxy').LB_API_PORT}:${envOf('haproxy').LB_API_PORT}`);
  });

  test('every depends_on target is a service', () => {
    for (const [name, service] of Object.entries(services)) {
      const deps = Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});
      for (const dep of deps) expect([name, dep, Object.keys(services).includes(dep)]).toEqual([name, dep, true]);
    }
  });
});

describe('entry points: compiled JavaScript, as the image builds it', () => {
  // The file `npm run build` makes for an entry (built for this run by the tests' global set-up).
  const jsFileIn = (command: string[]) => command.find((arg) => arg.endsWith('.js'));
  const expectBuilt = (file: string | undefined, entry: AppEntry) => {
    expect(file).toBe(path.relative(root, appEntryFile(entry)));
    expect(fs.existsSync(path.join(root, file!))).toBe(true);
  };

  test('the image runs the build (the compiled entries and the workflow bundle)', () => {
    expect(read('Dockerfile')).toMatch(/^RUN node --import tsx scripts\/build\.ts$/m);
  });

  test("the Dockerfile's CMD (the api) runs the compiled API", () => {
    const cmd = [...read('Dockerfile').matchAll(/^CMD\s+(\[.*\])\s*$/gm)].at(-1)?.[1];
    expect(cmd).toBeDefined();
    expectBuilt(jsFileIn(JSON.parse(cmd!) as string[]), 'api');
  });

  test("migrate's command runs the compiled migration", () => {
    expectBuilt(jsFileIn([services.migrate!.command ?? []].flat()), 'migrate');
  });

  test("the worker's command runs the compiled worker with the worker's node flags", () => {
    for (const name of ['worker-1', 'worker-2']) {
      const command = [services[name]!.command ?? []].flat();
      expectBuilt(jsFileIn(command), 'worker');
      expect(command).toEqual(['node', ...APP_LAUNCH.worker.nodeFlags, path.relative(root, appEntryFile('worker'))]);
      expect(envOf(name)).toMatchObject(APP_LAUNCH.worker.env);
    }
  });

  test('the Dockerfile documents each entry with its node flags', () => {
    for (const entry of ['api', 'worker', 'migrate'] as const) {
      const line = `${entry}:`.padEnd(10) + ['node', ...APP_LAUNCH[entry].nodeFlags, path.relative(root, appEntryFile(entry))].join(' ');
      expect(read('Dockerfile')).toContain(line);
      for (const [k, v] of Object.entries(APP_LAUNCH[entry].env)) expect(read('Dockerfile')).toContain(`${line}   (with ${k}=${v})`);
    }
  });
});

describe('metrics: Prometheus and Grafana', () => {
  const scrape = parse(read('docker/prometheus/prometheus.yml')) as { scrape_configs: { static_configs: { targets: string[] }[] }[] };
  const targets = scrape.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets));

  test('prometheus scrapes the api and the worker on the port each serves its metrics on', () => {
    expect(targets.sort()).toEqual(['api-1:9464', 'api-2:9464', 'worker-1:9464', 'worker-2:9464']);
    for (const name of ['api-1', 'api-2', 'worker-1', 'worker-2']) {
      const config = loadConfig(envOf(name));
      expect(config.metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    }
  });

  test('grafana is provisioned with the data source and a dashboard whose every series the product exports', () => {
    const mounts = (services.grafana as { volumes?: string[] }).volumes ?? [];
    expect(mounts).toEqual(expect.arrayContaining(['./docker/grafana/provisioning:/etc/grafana/provisioning:ro', './docker/grafana/dashboards:/var/lib/grafana/dashboards:ro']));
    const source = parse(read('docker/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { url: string; uid: string }[] };
    expect(source.datasources[0]).toMatchObject({ url: 'http://prometheus:9090', uid: 'prometheus' });
    const dashboard = JSON.parse(read('docker/grafana/dashboards/mynaflow.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    expect(dashboard.panels.length).toBeGreaterThanOrEqual(10);
    // Ours are defined in the code; the SDK's are those its Prometheus exporter names (worker-sigkill reads them).
    const ours = read('services/metrics/api-metrics.ts') + read('activities/mail-metrics.ts');
    const sdk = ['temporal_workflow_task_schedule_to_start_latency', 'temporal_activity_execution_failed', 'temporal_sticky_cache_size'];
    for (const panel of dashboard.panels) {
      for (const name of panel.targets.flatMap((t) => t.expr.match(/\b(?:mynaflow|temporal)_[a-z_]+/g) ?? [])) {
        const base = name.replace(/_(bucket|count|sum|total)$/, '');
        if (base.startsWith('temporal_')) expect([panel.title, sdk]).toEqual([panel.title, expect.arrayContaining([base])]);
        else if (base.startsWith('mynaflow_api_')) expect(['process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds']).toContain(base.replace('mynaflow_api_', ''));
        else expect([panel.title, ours.includes(`'${base}'`) || ours.includes(`'${base}_total'`)]).toEqual([panel.title, true]);
      }
    }
  });
});

describe("the same topology as npm run cluster (services/devstack/cluster-topology.ts), which compose cannot run here", () => {
  const temporalYaml = read('deploy/cluster/temporal.yaml');
  const haproxyCfg = read('deploy/cluster/haproxy.cfg');
  const serverTag = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
  const commandOf = (name: string) => [services[name]?.entrypoint ?? [], services[name]?.command ?? []].flat().join(' ');
  // What the configuration reads from the environment without a default: each process must be given it.
  const required = [...temporalYaml.matchAll(/\{\{ env "(\w+)" \}\}/g)].map((m) => m[1]!);
  const lbRequired = [...new Set([...haproxyCfg.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!))];
  const ports = { lbApi: 1, lbTemporal: 2, api: [3, 4], frontend: [{ grpc: 5, membership: 6, http: 7 }, { grpc: 8, membership: 9, http: 10 }], history: { grpc: 11, membership: 12 }, matching: { grpc: 13, membership: 14 }, worker: { grpc: 15, membership: 16 }, metrics: Object.fromEntries(Object.keys(TEMPORAL_PARTS).map((k, i) => [k, 20 + i])) } as unknown as Ports;

  test('every Temporal process is a container of the server version the cluster builds, running its service with the same files', () => {
    for (const [part, service] of Object.entries(TEMPORAL_PARTS)) {
      expect([part, services[part]?.image]).toEqual([part, `temporalio/server:${serverTag}`]);
      expect(commandOf(part)).toContain(`--config-file /etc/temporal/mynaflow/temporal.yaml --allow-no-auth start --service ${service}`);
      expect(services[part]!.volumes).toContain('./deploy/cluster:/etc/temporal/mynaflow:ro');
      const env = envOf(part);
      expect([part, required.filter((k) => !env[k])]).toEqual([part, []]);
      expect(env.TEMPORAL_DYNAMIC_CONFIG).toBe('/etc/temporal/mynaflow/dynamicconfig.yaml');
      // And the cluster script gives each of its processes every one of them too.
      expect([part, required.filter((k) => !temporalEnv(ports, { port: 5432, password: 'x' }, part as keyof typeof TEMPORAL_PARTS)[k])]).toEqual([part, []]);
    }
    expect(services['temporal-schema']!.image).toBe(`temporalio/admin-tools:${serverTag}`);
  });

  test('the load balancer reads the same haproxy.cfg, given every address it names; the apps reach Temporal through it', () => {
    expect(services[LOAD_BALANCER]!.volumes).toContain('./deploy/cluster/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const env = envOf(LOAD_BALANCER);
    expect(lbRequired.filter((k) => !env[k])).toEqual([]);
    expect(lbRequired.filter((k) => !loadBalancerEnv(ports)[k])).toEqual([]);
    expect([env.FRONTEND1_HOST, env.FRONTEND2_HOST]).toEqual(['temporal-frontend-1', 'temporal-frontend-2']);
    for (const name of [...APP_PARTS.api, ...APP_PARTS.worker]) expect([name, envOf(name).TEMPORAL_ADDRESS]).toEqual([name, `${LOAD_BALANCER}:${env.LB_TEMPORAL_PORT}`]);
  });

  test('two API instances and two workers, as the cluster runs them; the namespace kept as long', () => {
    for (const name of [...APP_PARTS.api, ...APP_PARTS.worker]) expect(Object.keys(services)).toContain(name);
    expect(commandOf('temporal-namespace')).toContain(`--retention ${RETENTION_DAYS}d`);
    expect(read('docker/temporal-schema.sh')).toContain('update-schema');
  });
});
