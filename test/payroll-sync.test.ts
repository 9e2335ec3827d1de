/**
 * Payroll syncing its employee master over the API, on a real Temporal dev server (new people get
 * their lifecycle workflows), PostgreSQL and the SMTP capture: batch create / update by employee code,
 * all or nothing, Idempotency-Key, retirement dates through the workflow, the single-person form.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { lifecycleQuery } from '../shared';
import { createTenant } from './support/fixtures';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'payroll-sync';

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE });
let tenantId: string;
let token: string;
let connectorId: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社マスタ連携');
  const owner = await harness.agent(tenantId, 'owner');
  const c = await owner.post('/v1/connectors').send({ name: '給与マスタ', scopes: ['registrants:read', 'registrants:write'] }).expect(201);
  connectorId = c.body.id;
  token = (await request(harness.app).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token;
});

const code = () => `S${randomUUID().slice(0, 8)}`;
const batch = (body: object, key?: string) => {
  const req = request(harness.app).post('/v1/registrants/batch').auth(token, { type: 'bearer' });
  return (key ? req.set('Idempotency-Key', key) : req).send(body);
};

describe('syncing the employee master', () => {
  it('creates unknown codes with their workflows, updates known ones, leaves the rest; invites only when asked', async () => {
    const [a, b, c] = [code(), code(), code()];
    const first = await batch({ items: [{ employeeCode: a, familyName: '同期', givenName: '一' }, { employeeCode: b, familyName: '同期', givenName: '二', email: `${b.toLowerCase()}@example.co.jp` }] }).expect(200);
    expect(first.body).toMatchObject({ created: 2, updated: 0, unchanged: 0 });
    const ids = first.body.items.map((i: { registrantId: string }) => i.registrantId);
    for (const id of ids) {
      const r = await harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
      expect((await harness.env.client.workflow.getHandle(r.workflowId).describe()).status.name).toBe('RUNNING');
    }
    expect(harness.outbox.mails.some((m) => m.to.includes(`${b.toLowerCase()}@example.co.jp`))).toBe(false);

    const second = await batch({ invite: true, items: [{ employeeCode: a, familyName: '同期', givenName: '一' }, { employeeCode: b, familyName: '同期', givenName: '弐' }, { employeeCode: c, familyName: '同期', givenName: '三', email: `${c.toLowerCase()}@example.co.jp` }] }).expect(200);
    expect(second.body.items.map((i: { outcome: string }) => i.outcome)).toEqual(['unchanged', 'updated', 'created']);
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: ids[1] } })).givenName).toBe('弐');
    await harness.outbox.waitFor((m) => m.to.includes(`${c.toLowerCase()}@example.co.jp`), 15_000);

    const history = await harness.prisma.operationEvent.findMany({ where: { tenantId, registrantId: ids[1] }, orderBy: { id: 'asc' } });
    expect(history.map((e) => [e.operation, e.actorType, e.actorId])).toEqual([
      ['registrant_created', 'api_client', connectorId],
      ['registrant_updated', 'api_client', connectorId],
    ]);
  });

  it('is all or nothing: one bad item refuses the call with its path and nothing is stored', async () => {
    const [a, b] = [code(), code()];
    const res = await batch({ items: [{ employeeCode: a, familyName: '一括', givenName: '一' }, { employeeCode: b, familyName: '一括', givenName: '二' }, { employeeCode: a, familyName: '一括', givenName: '三' }] });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: '/body/items/2/employeeCode', code: 'DUPLICATE_IN_BATCH' })]);
    const invalid = await batch({ items: [{ employeeCode: a, familyName: '一括', givenName: '一' }, { employeeCode: b, familyName: ' ', givenName: '二' }] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].path).toContain('/body/items/1/familyName');
    expect(await harness.prisma.registrant.count({ where: { tenantId, employeeCode: { in: [a, b] } } })).toBe(0);
  });

  it('answers a retry with the same Idempotency-Key from the first call, changing nothing; another body under it is refused', async () => {
    const key = randomUUID();
    const body = { items: [{ employeeCode: code(), familyName: '冪等', givenName: '太郎' }] };
    const first = await batch(body, key).expect(200);
    // (Other tests' workflows may still be recording in this tenant: count the connector's own. The
    // retry is itself a call and is recorded as one; nothing else may be.)
    const changes = { tenantId, actorId: connectorId, operation: { not: 'api_called' } };
    const events = await harness.prisma.operationEvent.count({ where: changes });
    const again = await batch(body, key).expect(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await harness.prisma.operationEvent.count({ where: changes })).toBe(events);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId, actorId: connectorId, operation: 'api_called' } })).toBeGreaterThanOrEqual(2);
    expect(await harness.prisma.registrant.count({ where: { tenantId, employeeCode: body.items[0]!.employeeCode } })).toBe(1);
    const other = await batch({ items: [{ employeeCode: code(), familyName: '冪等', givenName: '次郎' }] }, key);
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('passes retirement dates to the workflow (deletion date by the tenant rule), recorded with the connector as actor', async () => {
    const e = code();
    const created = await request(harness.app).put(`/v1/employees/${e}`).auth(token, { type: 'bearer' }).send({ familyName: '退職', givenName: '予定' }).expect(201);
    expect(created.body).toMatchObject({ employeeCode: e, outcome: 'created' });
    const id = created.body.registrantId;
    const retired = await request(harness.app).put(`/v1/employees/${e}`).auth(token, { type: 'bearer' }).send({ familyName: '退職', givenName: '予定', retirementDate: '2030-03-31' }).expect(200);
    expect(retired.body.outcome).toBe('updated');
    const row = await harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
    expect(row.retirementDate?.toISOString().slice(0, 10)).toBe('2030-03-31');
    expect(row.deletionDueDate?.toISOString().slice(0, 10)).toBe('2038-01-11');
    expect((await harness.env.client.workflow.getHandle(row.workflowId).query(lifecycleQuery)).retirementDate).toBe('2030-03-31');
    const event = await harness.prisma.operationEvent.findFirstOrThrow({ where: { registrantId: id, operation: 'retirement_set' } });
    expect(event).toMatchObject({ actorType: 'api_client', actorId: connectorId, actorLabel: '給与マスタ' });
  });

  it('needs the registrants:write scope', async () => {
    const owner = await harness.agent(tenantId, 'owner');
    const c = await owner.post('/v1/connectors').send({ name: '読むだけ', scopes: ['registrants:read'] }).expect(201);
    const readOnly = (await request(harness.app).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' })).body.access_token;
    const res = await request(harness.app).post('/v1/registrants/batch').auth(readOnly, { type: 'bearer' }).send({ items: [{ employeeCode: code(), familyName: 'a', givenName: 'b' }] });
    expect(res.body.code).toBe('INSUFFICIENT_SCOPE');
  });
});
