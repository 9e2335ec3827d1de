/**
 * Payroll webhooks end to end on the time-skipping Temporal server (so hours of retry backoff pass in
 * seconds), with real PostgreSQL, the vault and a real HTTP receiver: a connector subscribes over the
 * API, HR's remand, approval and deletion are reported as signed POSTs, failed attempts are retried
 * with backoff and visible with their attempts, a receiver that never answers 2xx ends "failed".
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import type { WorkflowHandle } from '@temporalio/client';
import { attemptDelivery, createWebhookService, enqueueEvent, privateTarget, type Resolve } from '../services/connectors/webhooks';
import { createDraftStore } from '../services/registrants/draft-store';
import { lifecycleQuery, registrantWorkflowId, submitUpdate, webhookDeliveryWorkflowId, WEBHOOK_DELIVERY_MAX_ATTEMPTS, type RegistrantWorkflowInput } from '../shared';
import { createTenant, testVault, type Agent, TEST_PASSWORD } from './support/fixtures';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { createTimeSkippingEnv } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'webhooks';
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, env: createTimeSkippingEnv });
let tenantId: string;
let hr: Agent;
let receiver: http.Server;
let base: string;
const received: Received[] = [];
/** Status each path answers, attempt by attempt (the last repeats). */
const script = new Map<string, number[]>();
const numbers: string[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社ウェブフック');
  hr = await harness.agent(tenantId, 'owner', '人事 部長');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body });
      const plan = script.get(req.url ?? '') ?? [200];
      const attempt = received.filter((r) => r.path === req.url).length;
      res.statusCode = plan[Math.min(attempt, plan.length) - 1]!;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  expect(containsAny(received.map((r) => r.body).join('\n'), numbers)).toEqual([]);
  await new Promise((resolve) => receiver?.close(resolve));
});

/** A connector with a token, subscribed at `path`. */
async function subscribed(path: string, events = ['registrant_completed', 'registrant_remanded', 'registrant_deleted']) {
  const c = await hr.post('/v1/connectors').send({ name: `給与 ${path}`, scopes: ['registrants:read'] }).expect(201);
  const token = (await request(harness.app).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token as string;
  const hook = await request(harness.app).post('/v1/webhooks').auth(token, { type: 'bearer' }).send({ url: `${base}${path}`, events }).expect(201);
  return { connectorId: c.body.id as string, token, webhookId: hook.body.id as string, secret: hook.body.secret as string };
}

/** A registrant whose whole submission is pending HR's decision. */
async function pendingRegistrant() {
  const id = randomUUID();
  const workflowId = registrantWorkflowId(tenantId, id);
  const email = `w-${id.slice(0, 8)}@example.co.jp`;
  await harness.prisma.registrant.create({ data: { id, tenantId, employeeCode: `W${id.slice(0, 6)}`, familyName: '連携', givenName: '花子', email, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [] };
  const handle = (await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] })) as WorkflowHandle;
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
  const store = createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
  const n = randomMyNumber();
  numbers.push(n);
  await store.save(id, { myNumber: n, gender: 'female', birthDate: '1990-04-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
  for (const side of ['front', 'back'] as const) await store.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
  await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id } }] });
  return { id, handle };
}

const deliveriesOf = async (webhookId: string) => harness.prisma.webhookDelivery.findMany({ where: { webhookId }, orderBy: { createdAt: 'asc' } });
const result = (deliveryId: string) => harness.env.client.workflow.getHandle(webhookDeliveryWorkflowId(deliveryId)).result();

function verify(r: Received, secret: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['mynaflow-signature']));
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(`${m[1]}.${r.body}`).digest();
  return timingSafeEqual(expected, Buffer.from(m[2]!, 'hex'));
}

describe('webhooks', () => {
  it('reports a remand and an approval as signed POSTs; a failed attempt is retried with backoff and its attempts are visible', async () => {
    const sub = await subscribed('/flaky');
    script.set('/flaky', [500, 503, 200]);
    const { id } = await pendingRegistrant();

    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '写真が不鮮明です' }).expect(200);
    const [remand] = await deliveriesOf(sub.webhookId);
    expect(remand).toBeDefined();
    expect(await result(remand!.id)).toBe('delivered');

    const attempts = received.filter((r) => r.path === '/flaky');
    expect(attempts).toHaveLength(3);
    for (const a of attempts) {
      expect(verify(a, sub.secret)).toBe(true);
      expect(a.headers['mynaflow-event']).toBe('registrant_remanded');
      expect(a.headers['mynaflow-delivery']).toBe(remand!.id);
      expect(a.body).toBe(attempts[0]!.body); // the same payload each time
    }
    const payload = JSON.parse(attempts[0]!.body);
    expect(payload).toEqual({ id: remand!.id, event: 'registrant_remanded', occurredAt: expect.any(String), data: { registrantId: id, employeeCode: `W${id.slice(0, 6)}`, status: 'remanded', dependentId: null } });
    expect(attempts[0]!.body).not.toContain('写真'); // the reason stays in mynaflow
    expect(attempts[0]!.body).not.toContain('花子');
    expect(verify({ ...attempts[0]!, body: attempts[0]!.body.replace('remanded', 'completed') }, sub.secret)).toBe(false);

    const listed = await request(harness.app).get(`/v1/webhooks/${sub.webhookId}/deliveries`).auth(sub.token, { type: 'bearer' }).expect(200);
    expect(listed.body[0]).toMatchObject({ id: remand!.id, status: 'delivered', attempts: 3, lastStatusCode: 200, lastError: null });
    // HR sees them too.
    expect((await hr.get(`/v1/webhooks/${sub.webhookId}/deliveries`).expect(200)).body[0].attempts).toBe(3);
  });

  it('gives up after every attempt failed and says so; a subscription ended meanwhile cancels; 410 ends at once', async () => {
    const down = await subscribed('/down');
    const gone = await subscribed('/gone');
    const ended = await subscribed('/ended');
    script.set('/down', [500]);
    script.set('/gone', [410]);
    script.set('/ended', [500]);
    const { id } = await pendingRegistrant();
    await request(harness.app).delete(`/v1/webhooks/${ended.webhookId}`).auth(ended.token, { type: 'bearer' }).expect(204);
    await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);

    const [d] = await deliveriesOf(down.webhookId);
    expect(await result(d!.id)).toBe('failed');
    expect(await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } })).toMatchObject({ status: 'failed', attempts: WEBHOOK_DELIVERY_MAX_ATTEMPTS, lastStatusCode: 500 });
    const [g] = await deliveriesOf(gone.webhookId);
    expect(await result(g!.id)).toBe('ended');
    expect(await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: g!.id } })).toMatchObject({ status: 'cancelled', attempts: 1, lastStatusCode: 410 });
    // Deleted before the event: not subscribed any more, nothing written for it.
    expect(await deliveriesOf(ended.webhookId)).toEqual([]);
  });

  it('reports a deletion after the registrant and their workflow are gone; a revoked connector hears nothing more', async () => {
    const sub = await subscribed('/deleted', ['registrant_deleted']);
    const revoked = await subscribed('/revoked', ['registrant_deleted']);
    script.set('/deleted', [200]);
    await hr.post(`/v1/connectors/${revoked.connectorId}/revoke`).expect(200);
    const { id, handle } = await pendingRegistrant();
    await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'registrant', password: TEST_PASSWORD }).expect(200);
    const [d] = await deliveriesOf(sub.webhookId);
    expect(await result(d!.id)).toBe('delivered');
    expect(JSON.parse(received.find((r) => r.path === '/deleted')!.body).data).toEqual({ registrantId: id, employeeCode: `W${id.slice(0, 6)}`, scope: 'registrant', dependentId: null });
    expect(await harness.prisma.registrant.findUnique({ where: { id } })).toBeNull();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    expect(await deliveriesOf(revoked.webhookId)).toEqual([]);
    expect(received.some((r) => r.path === '/revoked')).toBe(false);
  });

  it('refuses plain-http receivers unless allowed, and a connector without the read scope', async () => {
    const c = await hr.post('/v1/connectors').send({ name: '引き出し専用', scopes: ['numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201);
    const token = (await request(harness.app).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token;
    expect((await request(harness.app).post('/v1/webhooks').auth(token, { type: 'bearer' }).send({ url: `${base}/x`, events: ['registrant_completed'] })).body.code).toBe('INSUFFICIENT_SCOPE');
    const httpsOnly = createWebhookService({ prisma: harness.prisma, vault: testVault(harness.prisma) });
    const caller = { client: await harness.prisma.apiClient.findUniqueOrThrow({ where: { id: c.body.id } }), tenant: await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } }), scopes: [], ip: null, userAgent: null };
    await expect(httpsOnly.subscribe(caller, { url: 'http://payroll.example.com/hook', events: ['registrant_completed'] })).rejects.toMatchObject({ status: 400, errors: [{ code: 'URL_NOT_HTTPS' }] });
    await expect(httpsOnly.subscribe(caller, { url: 'https://user:pw@payroll.example.com/hook', events: ['registrant_completed'] })).rejects.toMatchObject({ status: 400 });
    // Outside development only public receivers: no requests into our own network (SSRF).
    for (const url of ['https://127.0.0.1/hook', 'https://10.1.2.3/hook', 'https://192.168.0.9/hook', 'https://[::1]/hook', 'https://169.254.169.254/latest', 'https://localhost/hook']) {
      await expect(httpsOnly.subscribe(caller, { url, events: ['registrant_completed'] })).rejects.toMatchObject({ status: 400, errors: [{ code: 'URL_NOT_PUBLIC' }] });
    }
    await expect(httpsOnly.subscribe(caller, { url: 'https://no-such-host.invalid/hook', events: ['registrant_completed'] })).rejects.toMatchObject({ errors: [{ code: 'URL_UNRESOLVABLE' }] });
    expect(await privateTarget('https://203.0.113.10/hook')).toBeNull();
    expect(await privateTarget('https://[::ffff:10.0.0.1]/hook')).toBe('not_public');
    // IPv6 that carries a private IPv4 address to a gateway: NAT64 and 6to4.
    for (const host of ['64:ff9b::a9fe:a9fe', '64:ff9b::7f00:1', '64:ff9b::c0a8:1', '2002:a00:1::1', '2002:7f00:1::', '2002:c0a8:101::5', '64:ff9b:1::a00:1']) {
      expect([host, await privateTarget(`https://[${host}]/hook`)]).toEqual([host, 'not_public']);
    }
    // The same prefixes in front of a public address stay usable.
    for (const host of ['64:ff9b::cb00:710a', '2002:cb00:710a::1']) expect([host, await privateTarget(`https://[${host}]/hook`)]).toEqual([host, null]);
  });

  it('checks the receiver again at each attempt: a private address is not called (a worker outside development)', async () => {
    const sub = await subscribed('/private');
    const { id } = await pendingRegistrant();
    const before = received.length;
    // The delivery row, written as HR decides; the attempt made as a production worker would.
    await harness.prisma.$transaction((tx) => enqueueEvent(tx, tenantId, 'registrant_completed', { registrantId: id }, `manual-${randomUUID()}`));
    const [d] = await deliveriesOf(sub.webhookId);
    expect(await attemptDelivery({ prisma: harness.prisma, vault: testVault(harness.prisma) }, d!.id)).toEqual({ failed: 'not_public' });
    expect(received.length).toBe(before);
    expect(await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } })).toMatchObject({ status: 'pending', attempts: 1, lastError: 'host is not a public address' });
  });

  it('connects to the address it checked: a name that turns private between the check and the connection (DNS rebinding) is not called', async () => {
    const sub = await subscribed('/rebind');
    await harness.prisma.webhook.update({ where: { id: sub.webhookId }, data: { url: `http://hooks.payroll.test:${new URL(base).port}/rebind` } });
    const { id } = await pendingRegistrant();
    await harness.prisma.$transaction((tx) => enqueueEvent(tx, tenantId, 'registrant_completed', { registrantId: id }, `manual-${randomUUID()}`));
    const [d] = await deliveriesOf(sub.webhookId);
    const before = received.length;

    // Stand-ins for an attacker's DNS server (outside the product): public for the check, our
    // loopback receiver for the connection.
    const asked: string[] = [];
    const rebinding: Resolve = async (host) => {
      asked.push(host);
      return [{ address: asked.length === 1 ? '203.0.113.10' : '127.0.0.1', family: 4 }];
    };
    expect(await attemptDelivery({ prisma: harness.prisma, vault: testVault(harness.prisma), resolve: rebinding }, d!.id)).toEqual({ failed: 'not_public' });
    expect(asked).toEqual(['hooks.payroll.test', 'hooks.payroll.test']);
    expect(received.length).toBe(before);
    expect(await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } })).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null, lastError: 'host is not a public address' });

    // A development worker (private receivers allowed) connects where the same resolver points.
    const stable: Resolve = async (host) => (host === 'hooks.payroll.test' ? [{ address: '127.0.0.1', family: 4 }] : []);
    expect(await attemptDelivery({ prisma: harness.prisma, vault: testVault(harness.prisma), allowPrivate: true, resolve: stable }, d!.id)).toBe('delivered');
    expect(received.slice(before).map((r) => [r.path, r.headers.host])).toEqual([['/rebind', `hooks.payroll.test:${new URL(base).port}`]]);
    expect(verify(received.at(-1)!, sub.secret)).toBe(true);
  });

  it('names the network failure of an attempt (refused connection), not just "fetch failed"', async () => {
    const sub = await subscribed('/closed');
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    await harness.prisma.webhook.update({ where: { id: sub.webhookId }, data: { url: `http://127.0.0.1:${port}/closed` } });
    const { id } = await pendingRegistrant();
    await harness.prisma.$transaction((tx) => enqueueEvent(tx, tenantId, 'registrant_completed', { registrantId: id }, `manual-${randomUUID()}`));
    const [d] = await deliveriesOf(sub.webhookId);
    expect(await attemptDelivery({ prisma: harness.prisma, vault: testVault(harness.prisma), allowPrivate: true }, d!.id)).toEqual({ failed: 'network: ECONNREFUSED' });
    expect(await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: d!.id } })).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: null, lastError: 'network: ECONNREFUSED' });
  });
});
