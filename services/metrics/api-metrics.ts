/**
 * The API's Prometheus metrics (prom-client): requests by route template, method and status with
 * their latency, the process's own (memory, event loop lag, GC), and business gauges read from
 * PostgreSQL at each scrape — registrants by status, deletions due within 30 and 90 days, people whose
 * workflow start is still queued, webhook deliveries by state. Labels carry route templates and codes
 * only, never an id, a name or a number. Served on a port of its own (METRICS_PORT), not the API's.
 */
import http from 'node:http';
import type { RequestHandler } from 'express';
import type { OpenApiRequest } from 'express-openapi-validator/dist/framework/types';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PrismaClient } from '../db/client';

export interface ApiMetrics {
  registry: Registry;
  /** Times every request; the route is the contract's template (or "unmatched"). */
  middleware: RequestHandler;
}

export function createApiMetrics(prisma: PrismaClient): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mynaflow_api_' });
  const requests = new Histogram({
    name: 'mynaflow_http_request_duration_seconds',
    help: 'API requests by route template, method and status, with their latency',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const refusals = new Counter({ name: 'mynaflow_rate_limit_refusals_total', help: 'Requests refused by a rate limit (429), by route template', labelNames: ['route'] as const, registers: [registry] });
  // Business gauges: read when scraped, a handful of indexed counts.
  new Gauge({
    name: 'mynaflow_registrants',
    help: 'Registrants by status (all tenants)',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = await prisma.registrant.groupBy({ by: ['status'], _count: { _all: true } });
      this.reset();
      for (const status of ['unregistered', 'pending', 'remanded', 'refused', 'completed'] as const) this.set({ status }, rows.find((r) => r.status === status)?._count._all ?? 0);
    },
  });
  new Gauge({
    name: 'mynaflow_deletions_due',
    help: 'Scheduled deletions due within the number of days in "within"',
    labelNames: ['within'] as const,
    registers: [registry],
    async collect() {
      for (const days of [30, 90]) {
        const until = new Date(Date.now() + days * 86_400_000);
        this.set({ within: `${days}d` }, await prisma.registrant.count({ where: { deletionDueDate: { not: null, lte: until } } }));
      }
    },
  });
  new Gauge({
    name: 'mynaflow_workflow_starts_queued',
    help: 'People stored whose workflow start Temporal has not confirmed yet (the reconciler starts them)',
    registers: [registry],
    async collect() {
      this.set(await prisma.registrant.count({ where: { workflowPendingSince: { not: null } } }));
    },
  });
  new Gauge({
    name: 'mynaflow_webhook_deliveries',
    help: 'Webhook deliveries by state',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = await prisma.webhookDelivery.groupBy({ by: ['status'], _count: { _all: true } });
      this.reset();
      for (const status of ['pending', 'delivered', 'failed', 'cancelled'] as const) this.set({ status }, rows.find((r) => r.status === status)?._count._all ?? 0);
    },
  });

  return {
    registry,
    middleware: (req, res, next) => {
      const end = requests.startTimer();
      res.once('finish', () => {
        const route = (req as OpenApiRequest).openapi?.openApiRoute ?? (req.path.startsWith('/v1/') ? 'unmatched' : 'pages');
        end({ route: String(route), method: req.method, status: String(res.statusCode) });
        if (res.statusCode === 429) refusals.inc({ route: String(route) });
      });
      next();
    },
  };
}

/** Serves a registry at /metrics on host:port; resolves once listening. */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
      // A gauge's query failed (the database is away): say so, without the driver's words.
      () => res.writeHead(503, { 'Content-Type': 'text/plain' }).end('metrics unavailable: the database did not answer\n'),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // unref: the metrics never keep a stopping process alive
    server.listen(port, host, () => resolve(server.unref()));
  });
}
