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

const root = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

interface Service {
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
  test.each(['api', 'worker', 'migrate'] as const)('%s is given only keys from CONFIG_KEYS (and its launch environment)', (name) => {
    expect(services[name]).toBeDefined();
    const known = [...CONFIG_KEYS, ...Object.keys(APP_LAUNCH[name].env)] as string[];
    const unknown = Object.keys(envOf(name)).filter((k) => !known.includes(k));
    expect(unknown).toEqual([]);
  });

  test("the api's healthcheck asks the documented readiness endpoint on the port it listens on", () => {
    const check = (services.api?.healthcheck?.test ?? []).join(' ');
    expect(check).toContain(`http://127.0.0.1:${envOf('api').PORT}/healthz/ready`);
    expect(read('openapi/openapi.yaml')).toContain('  /healthz/ready:');
  });

  test("migrate connects as the database's owner and gives the app role the password the api and worker use", () => {
    const migrate = envOf('migrate');
    expect(hostOf(migrate.DATABASE_URL!)).toBe('postgres');
    expect(new URL(migrate.DATABASE_URL!).username).toBe(envOf('postgres').POSTGRES_USER);
    for (const name of ['api', 'worker']) {
      const url = new URL(envOf(name).DATABASE_URL!);
      expect([name, url.username, decodeURIComponent(url.password)]).toEqual([name, 'mynaflow_app', migrate.APP_DATABASE_PASSWORD]);
    }
    expect(() => loadConfig(migrate)).not.toThrow();
  });

  test("Temporal connects as its own role, which db-roles makes before it starts", () => {
    const temporal = envOf('temporal');
    const roles = envOf('db-roles');
    expect(temporal.POSTGRES_USER).toBe('temporal');
    expect(temporal.POSTGRES_PWD).toBe(roles.TEMPORAL_DB_PASSWORD);
    expect(services.temporal!.depends_on).toMatchObject({ 'db-roles': { condition: 'service_completed_successfully' } });
    expect(roles.PGUSER).toBe(envOf('postgres').POSTGRES_USER);
  });

  describe.each(['api', 'worker'])('%s', (name) => {
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

  test('api publishes the port it listens on', () => {
    const { port, host } = loadConfig(envOf('api'));
    expect(host).toBe('0.0.0.0'); // reachable from outside its container
    expect(services.api!.ports?.some((p) => p.endsWith(`:${port}`))).toBe(true);
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
    const command = [services.worker!.command ?? []].flat();
    expectBuilt(jsFileIn(command), 'worker');
    expect(command).toEqual(['node', ...APP_LAUNCH.worker.nodeFlags, path.relative(root, appEntryFile('worker'))]);
    expect(envOf('worker')).toMatchObject(APP_LAUNCH.worker.env);
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
    expect(targets.sort()).toEqual(['api:9464', 'worker:9464']);
    for (const name of ['api', 'worker']) {
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
