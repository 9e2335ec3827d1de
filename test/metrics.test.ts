/**
 * The API's Prometheus endpoint on the real app and PostgreSQL: requests counted by route template,
 * method and status (never an id), rate-limit refusals, the process's own series and the business
 * gauges read at the scrape. (The worker's endpoint — the Temporal SDK's series and the mails sent —
 * is checked on the real worker process in worker-sigkill.)
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import request from 'supertest';
import { freePort } from '../services/devstack/ports';
import { createApiMetrics, serveMetrics } from '../services/metrics/api-metrics';
import { useApiHarness } from './support/api-harness';
import { createTenant, testPrisma } from './support/fixtures';

const prisma = testPrisma();
const metrics = createApiMetrics(prisma);
const harness = useApiHarness({ taskQueue: 'metrics', metrics, authRateLimits: { attempts: { limit: 3, windowMinutes: 15 }, mailings: { limit: 10, windowMinutes: 15 } } });
let server: Server;
let port: number;

beforeAll(async () => {
  port = await freePort();
  server = await serveMetrics(metrics.registry, '127.0.0.1', port);
});
afterAll(async () => {
  server?.close();
  await prisma.$disconnect();
});

/** The value of one series (labels in any order), or undefined. */
function valueOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

it('counts requests by route template and status, and the refusals of a rate limit; labels hold no id', async () => {
  const id = randomUUID();
  await request(harness.app).get(`/v1/registrants/${id}`).expect(401);
  await request(harness.app).get(`/v1/registrants/${id}`).expect(401);
  for (let i = 0; i < 4; i++) await request(harness.app).post('/v1/auth/login').send({ email: `m-${i}@example.jp`, password: 'wrong-password' });
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  expect(valueOf(text, 'mynaflow_http_request_duration_seconds_count', { route: '/v1/registrants/{registrantId}', method: 'GET', status: '401' })).toBe(2);
  expect(valueOf(text, 'mynaflow_http_request_duration_seconds_count', { route: '/v1/auth/login', method: 'POST', status: '429' })).toBe(1);
  expect(valueOf(text, 'mynaflow_rate_limit_refusals_total', { route: '/v1/auth/login' })).toBe(1);
  expect(text).not.toContain(id);
  expect(valueOf(text, 'mynaflow_api_process_resident_memory_bytes', {})).toBeGreaterThan(0);
  expect(text).toContain('mynaflow_api_nodejs_eventloop_lag_seconds');
});

it('business gauges are read at the scrape: registrants by status, deletions due, queued starts, webhook deliveries', async () => {
  const before = valueOf(await metrics.registry.metrics(), 'mynaflow_registrants', { status: 'remanded' }) ?? 0;
  const tenantId = await createTenant(harness.prisma, 'メトリクス株式会社');
  const soon = new Date(Date.now() + 10 * 86_400_000);
  for (let i = 0; i < 3; i++) {
    await harness.prisma.registrant.create({ data: { tenantId, familyName: '計測', givenName: `${i}`, status: 'remanded', workflowId: `metrics-${randomUUID()}`, deletionDueDate: i === 0 ? soon : null, workflowPendingSince: i === 1 ? new Date() : null } });
  }
  const text = await metrics.registry.metrics();
  expect(valueOf(text, 'mynaflow_registrants', { status: 'remanded' })).toBe(before + 3);
  for (const status of ['unregistered', 'pending', 'refused', 'completed']) expect(valueOf(text, 'mynaflow_registrants', { status })).toBeGreaterThanOrEqual(0);
  expect(valueOf(text, 'mynaflow_deletions_due', { within: '30d' })).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'mynaflow_deletions_due', { within: '90d' })).toBeGreaterThanOrEqual(valueOf(text, 'mynaflow_deletions_due', { within: '30d' })!);
  expect(valueOf(text, 'mynaflow_workflow_starts_queued', {})).toBeGreaterThanOrEqual(1);
  expect(valueOf(text, 'mynaflow_webhook_deliveries', { status: 'failed' })).toBeGreaterThanOrEqual(0);
});
