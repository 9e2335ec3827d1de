/**
 * The payroll integration over HTTP with a real PostgreSQL and vault: connector credentials, the
 * OAuth 2.0 token endpoint, bearer calls with scopes, IP allowlist and per-connector rate limit, the
 * registrant list with cursor pagination, and number pulls in JSON and Shift_JIS CSV. No workflow is
 * involved (people are stored as completed directly), so Temporal points nowhere.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import iconv from 'iconv-lite';
import request from 'supertest';
import { pullForWithholdingSlips } from '../examples/payroll-connector';
import type { Status } from '../prisma/generated/client';
import { useApiHarness } from './support/api-harness';
import { createTenant, memoryLogger, testApp, testVault, type Agent } from './support/fixtures';
import { binary } from './support/http';
import { containsAny, randomMyNumber } from './support/leak-scan';

const { logger, lines } = memoryLogger();
const harness = useApiHarness({ taskQueue: 'payroll', logger });
let tenantId: string;
let owner: Agent;
let manager: Agent;
const numbers: string[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社給与連携');
  owner = await harness.agent(tenantId, 'owner');
  manager = await harness.agent(tenantId, 'manager');
});

afterAll(() => {
  // Numbers went out in pull bodies only: never into a log line.
  expect(containsAny(lines.join('\n'), numbers)).toEqual([]);
});

/** A person stored as HR's bulk entry would leave them, with a sealed number when completed. */
async function person(employeeCode: string, status: Status, opts: { familyName?: string; familyNameKana?: string; dependents?: { givenName: string; status: Status; noLonger?: boolean }[] } = {}) {
  const vault = testVault(harness.prisma);
  const seal = async () => {
    const n = randomMyNumber();
    numbers.push(n);
    return { n, id: await vault.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(n) }) };
  };
  const own = status === 'completed' || status === 'pending' ? await seal() : null;
  const r = await harness.prisma.registrant.create({
    data: { tenantId, employeeCode, familyName: opts.familyName ?? '給与', familyNameKana: opts.familyNameKana ?? null, givenName: employeeCode, status, myNumberSecretId: own?.id ?? null, birthDate: new Date('1980-01-02T00:00:00Z'), workflowId: `wf-${randomUUID()}` },
  });
  const deps: { id: string; n: string | null }[] = [];
  for (const d of opts.dependents ?? []) {
    const sealed = d.status === 'completed' ? await seal() : null;
    const row = await harness.prisma.dependent.create({
      data: { registrantId: r.id, relationship: '子', familyName: '給与', givenName: d.givenName, status: d.status, myNumberSecretId: sealed?.id ?? null, noLongerDependentAt: d.noLonger ? new Date() : null },
    });
    deps.push({ id: row.id, n: sealed?.n ?? null });
  }
  return { id: r.id, number: own?.n ?? null, dependents: deps };
}

async function connector(body: Record<string, unknown>) {
  const res = await owner.post('/v1/connectors').send({ name: '給与ソフト', scopes: ['registrants:read', 'numbers:pull'], allowedPurposes: ['withholding_slip'], ...body }).expect(201);
  return res.body as { id: string; clientId: string; clientSecret: string };
}

async function tokenFor(c: { clientId: string; clientSecret: string }, scope?: string) {
  const res = await request(harness.app)
    .post('/v1/oauth/token')
    .auth(c.clientId, c.clientSecret)
    .type('form')
    .send({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) })
    .expect(200);
  return res.body.access_token as string;
}

describe('connectors and tokens', () => {
  it('owners create connectors; the secret is shown once and stored hashed; managers cannot create', async () => {
    const c = await connector({ ipAllowlist: ['127.0.0.1/32', '::1'] });
    expect(c.clientSecret).toMatch(/^mfs_/);
    const row = await harness.prisma.apiClient.findUniqueOrThrow({ where: { id: c.id } });
    expect(row.secretHash).not.toContain(c.clientSecret);
    const listed = await manager.get('/v1/connectors').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(c.clientSecret);
    expect(listed.body.find((x: { id: string }) => x.id === c.id)).toMatchObject({ scopes: ['registrants:read', 'numbers:pull'], allowedPurposes: ['withholding_slip'] });
    expect((await manager.post('/v1/connectors').send({ name: 'x', scopes: ['numbers:pull'] })).status).toBe(403);
    const noPurpose = await owner.post('/v1/connectors').send({ name: 'x', scopes: ['numbers:pull'] });
    expect(noPurpose.body.errors[0].code).toBe('PURPOSES_REQUIRED');
    const badIp = await owner.post('/v1/connectors').send({ name: 'x', scopes: ['registrants:read'], ipAllowlist: ['not-an-ip'] });
    expect(badIp.body.errors[0]).toMatchObject({ path: '/body/ipAllowlist/0', code: 'IP_INVALID' });
  });

  it('issues short-lived tokens for Basic or form credentials, narrows scopes, and refuses wrong, revoked or outside callers', async () => {
    const c = await connector({});
    // RFC 6749's form only: a JSON body is refused as such (generated clients send the form).
    const asJson = await request(harness.app).post('/v1/oauth/token').send({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret });
    expect([asJson.status, asJson.body.code, asJson.body.title]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE', expect.stringContaining('application/x-www-form-urlencoded')]);
    const viaBody = await request(harness.app).post('/v1/oauth/token').type('form').send({ grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.clientSecret }).expect(200);
    expect(viaBody.body).toMatchObject({ token_type: 'Bearer', expires_in: 600, scope: 'registrants:read numbers:pull' });
    expect(viaBody.headers['cache-control']).toBe('no-store');
    const narrow = await request(harness.app).post('/v1/oauth/token').auth(c.clientId, c.clientSecret).type('form').send({ grant_type: 'client_credentials', scope: 'registrants:read' }).expect(200);
    expect(narrow.body.scope).toBe('registrants:read');

    const wrong = await request(harness.app).post('/v1/oauth/token').auth(c.clientId, 'mfs_wrong').type('form').send({ grant_type: 'client_credentials' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_client');
    expect((await request(harness.app).post('/v1/oauth/token').auth(c.clientId, c.clientSecret).type('form').send({ grant_type: 'client_credentials', scope: 'registrants:write' })).body.code).toBe('invalid_scope');
    expect((await request(harness.app).post('/v1/oauth/token').auth(c.clientId, c.clientSecret).type('form').send({ grant_type: 'password' })).body.code).toBe('unsupported_grant_type');

    const outside = await connector({ ipAllowlist: ['203.0.113.0/24'] });
    const refused = await request(harness.app).post('/v1/oauth/token').auth(outside.clientId, outside.clientSecret).type('form').send({ grant_type: 'client_credentials' });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('IP_NOT_ALLOWED');

    // Revoking kills the live token at once, and the credentials.
    const token = viaBody.body.access_token;
    await request(harness.app).get('/v1/registrants').auth(token, { type: 'bearer' }).expect(200);
    await owner.post(`/v1/connectors/${c.id}/revoke`).expect(200);
    const dead = await request(harness.app).get('/v1/registrants').auth(token, { type: 'bearer' });
    expect(dead.status).toBe(401);
    expect(dead.headers['www-authenticate']).toContain('invalid_token');
    expect((await request(harness.app).post('/v1/oauth/token').auth(c.clientId, c.clientSecret).type('form').send({ grant_type: 'client_credentials' })).body.code).toBe('invalid_client');

    // Every call is in the trail (the one refused after revocation had no connector to name).
    const history = await harness.prisma.operationEvent.findMany({ where: { tenantId, actorId: c.id }, orderBy: { id: 'asc' } });
    expect(history.map((e) => [e.operation, e.actorType, (e.detail as { route?: string } | null)?.route ?? null])).toEqual([
      ['connector_token_issued', 'api_client', null],
      ['connector_token_issued', 'api_client', null],
      ['api_called', 'api_client', '/v1/registrants'],
      ['registrants_listed', 'api_client', null],
    ]);
  });

  it('limits calls per connector with 429 and Retry-After; another connector is not affected', async () => {
    const limited = testApp({ prisma: harness.prisma, logger, outbox: harness.outbox, temporalClient: harness.temporal, taskQueue: 'payroll', connectorRateLimit: { limit: 3, windowSeconds: 60 } }).app;
    const a = await connector({});
    const b = await connector({});
    const [ta, tb] = [await tokenFor(a), await tokenFor(b)];
    for (let i = 0; i < 3; i++) await request(limited).get('/v1/registrants?limit=1').auth(ta, { type: 'bearer' }).expect(200);
    const over = await request(limited).get('/v1/registrants?limit=1').auth(ta, { type: 'bearer' });
    expect(over.status).toBe(429);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect(over.body.code).toBe('TOO_MANY_REQUESTS');
    await request(limited).get('/v1/registrants?limit=1').auth(tb, { type: 'bearer' }).expect(200);
  });
});

describe('the registrant list', () => {
  it('pages with a cursor in change order without missing or repeating anyone, filters, shows dependents, never numbers', async () => {
    const list = await createTenant(harness.prisma, '一覧株式会社');
    const lister = await harness.agent(list, 'viewer');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await harness.prisma.registrant.create({ data: { tenantId: list, employeeCode: `0${i}`, familyName: '一覧', givenName: `${i}`, status: i % 2 ? 'completed' : 'unregistered', workflowId: `wf-${randomUUID()}` } });
      ids.push(r.id);
    }
    await harness.prisma.dependent.create({ data: { registrantId: ids[1]!, relationship: '配偶者', familyName: '一覧', givenName: '配偶者', status: 'completed' } });
    await harness.prisma.dependent.create({ data: { registrantId: ids[1]!, relationship: '', familyName: '', givenName: '', draft: true } });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: request.Response = await lister.get(`/v1/registrants?limit=3${cursor ? `&cursor=${cursor}` : ''}`).expect(200);
      seen.push(...page.body.items.map((x: { id: string }) => x.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...ids].sort());

    const completed = await lister.get('/v1/registrants?status=completed').expect(200);
    expect(completed.body.items).toHaveLength(3);
    const withSpouse = completed.body.items.find((x: { id: string }) => x.id === ids[1]);
    expect(withSpouse.dependents).toEqual([expect.objectContaining({ relationship: '配偶者', status: 'completed', myNumber: { registered: false } })]);
    expect(withSpouse.dependentsStatus).toBe('completed');
    expect((await lister.get('/v1/registrants?employeeCode=03').expect(200)).body.items.map((x: { id: string }) => x.id)).toEqual([ids[3]]);

    const later = new Date(Date.now() + 1000);
    await new Promise((r) => setTimeout(r, 1100));
    await harness.prisma.registrant.update({ where: { id: ids[5]! }, data: { note: 'changed' } });
    const changed = await lister.get(`/v1/registrants?updatedSince=${encodeURIComponent(later.toISOString())}`).expect(200);
    expect(changed.body.items.map((x: { id: string }) => x.id)).toEqual([ids[5]]);
    expect((await lister.get('/v1/registrants?cursor=garbage').expect(400)).body.code).toBe('CURSOR_INVALID');
  });

  it('a connector reads one person with dependents, recorded as its view; another tenant\'s person is not found', async () => {
    const code = `R${randomUUID().slice(0, 6)}`;
    const p = await person(code, 'completed', { dependents: [{ givenName: '長女', status: 'completed' }] });
    const c = await connector({ scopes: ['registrants:read'] });
    const t = await tokenFor(c);
    const res = await request(harness.app).get(`/v1/registrants/${p.id}`).auth(t, { type: 'bearer' }).expect(200);
    expect(res.body).toMatchObject({ id: p.id, status: 'completed', myNumber: { registered: true, masked: '************' }, dependents: [expect.objectContaining({ givenName: '長女', status: 'completed' })] });
    expect(JSON.stringify(res.body)).not.toContain(p.number!);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: p.id, operation: 'registrant_viewed', actorType: 'api_client', actorId: c.id } })).toBe(1);
    // HR's own remark (備考) is HR's: the console shows it, connectors never get it (one read, the list).
    await harness.prisma.registrant.update({ where: { id: p.id }, data: { note: '産休中（2027年4月復帰予定）' } });
    const again = await request(harness.app).get(`/v1/registrants/${p.id}`).auth(t, { type: 'bearer' }).expect(200);
    expect(again.body).not.toHaveProperty('note');
    expect(again.body).toHaveProperty('birthDate');
    const listed = await request(harness.app).get('/v1/registrants').query({ employeeCode: code }).auth(t, { type: 'bearer' }).expect(200);
    expect(listed.body.items).toHaveLength(1);
    expect(listed.body.items[0]).not.toHaveProperty('note');
    expect(JSON.stringify(listed.body)).not.toContain('産休');
    expect((await manager.get(`/v1/registrants/${p.id}`).expect(200)).body.note).toBe('産休中（2027年4月復帰予定）');
    const elsewhere = await harness.prisma.registrant.create({ data: { tenantId: await createTenant(harness.prisma, '他社'), familyName: '他', givenName: '社', workflowId: `wf-${randomUUID()}` } });
    expect((await request(harness.app).get(`/v1/registrants/${elsewhere.id}`).auth(t, { type: 'bearer' })).status).toBe(404);
  });

    it('a connector needs the registrants:read scope', async () => {
    const c = await connector({ scopes: ['numbers:pull'] });
    const res = await request(harness.app).get('/v1/registrants').auth(await tokenFor(c), { type: 'bearer' });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('INSUFFICIENT_SCOPE');
    expect(res.headers['www-authenticate']).toContain('insufficient_scope');
  });
});

describe('number pulls', () => {
  let done: Awaited<ReturnType<typeof person>>;
  let token: string;
  let connectorId: string;
  beforeAll(async () => {
    done = await person('000123', 'completed', { familyNameKana: 'キュウヨ', dependents: [{ givenName: '長男', status: 'completed' }, { givenName: '次男', status: 'pending' }, { givenName: '父', status: 'completed', noLonger: true }] });
    await person('000124', 'pending');
    await person('000125', 'unregistered');
    await person('000126', 'refused');
    await harness.prisma.deletionRecord.create({ data: { tenantId, registrantId: randomUUID(), registrantLabel: '退職 済', employeeCode: '000127', kind: 'registrant', items: {}, rule: 'dependents_declaration_7y', actorType: 'system', actorLabel: 'システム', stepKey: randomUUID() } });
    const c = await connector({});
    connectorId = c.id;
    token = await tokenFor(c);
  });

  it('serves completed people only, lists everyone else with a reason, records each person served with purpose and connector', async () => {
    const before = await harness.prisma.operationEvent.count({ where: { tenantId, operation: 'number_pulled' } });
    const res = await request(harness.app)
      .post('/v1/numbers/pull')
      .auth(token, { type: 'bearer' })
      .send({ purpose: 'withholding_slip', employeeCodes: ['000123', '000124', '000125', '000126', '000127', '999999'], includeDependents: true })
      .expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body.served).toHaveLength(1);
    const served = res.body.served[0];
    expect(served).toMatchObject({ employeeCode: '000123', registrantId: done.id, myNumber: done.number, birthDate: '1980-01-02' });
    expect(served.dependents.map((d: { givenName: string; myNumber: string | null; unservedReason: string | null }) => [d.givenName, d.myNumber, d.unservedReason])).toEqual([
      ['長男', done.dependents[0]!.n, null],
      ['次男', null, 'PENDING'],
      ['父', null, 'NO_LONGER_DEPENDENT'],
    ]);
    expect(res.body.unserved.map((u: { employeeCode: string; reason: string }) => [u.employeeCode, u.reason])).toEqual([
      ['000124', 'PENDING'],
      ['000125', 'NOT_REGISTERED'],
      ['000126', 'REFUSED'],
      ['000127', 'DELETED'],
      ['999999', 'UNKNOWN'],
    ]);
    const recorded = await harness.prisma.operationEvent.findMany({ where: { tenantId, operation: 'number_pulled' }, orderBy: { id: 'desc' }, take: 1 });
    expect(await harness.prisma.operationEvent.count({ where: { tenantId, operation: 'number_pulled' } })).toBe(before + 1);
    expect(recorded[0]).toMatchObject({ actorType: 'api_client', actorId: connectorId, registrantId: done.id, purpose: 'withholding_slip' });
    expect(JSON.stringify(recorded[0]!.detail)).not.toContain(done.number!);
  });

  it('refuses a purpose the connector was not given, and a caller without the scope, before reading anything', async () => {
    const before = await harness.prisma.operationEvent.count({ where: { tenantId, operation: 'number_pulled' } });
    const other = await request(harness.app).post('/v1/numbers/pull').auth(token, { type: 'bearer' }).send({ purpose: 'dividends', employeeCodes: ['000123'] });
    expect(other.status).toBe(403);
    expect(other.body.code).toBe('PURPOSE_NOT_ALLOWED');
    const reader = await connector({ scopes: ['registrants:read'] });
    expect((await request(harness.app).post('/v1/numbers/pull').auth(await tokenFor(reader), { type: 'bearer' }).send({ purpose: 'withholding_slip', employeeCodes: ['000123'] })).body.code).toBe('INSUFFICIENT_SCOPE');
    // HR's console session is no connector.
    expect((await owner.post('/v1/numbers/pull').send({ purpose: 'withholding_slip', employeeCodes: ['000123'] })).status).toBe(401);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId, operation: 'number_pulled' } })).toBe(before);
  });

  it('answers Shift_JIS CSV with CRLF, a header, numbers as text with their leading zeros, and no ? for names CP932 lacks', async () => {
    const yoshida = await person('000200', 'completed', { familyName: '𠮷田' });
    const res = await request(harness.app)
      .post('/v1/numbers/pull')
      .auth(token, { type: 'bearer' })
      .set('Accept', 'text/csv')
      .send({ purpose: 'withholding_slip', employeeCodes: ['000123', '000200', '999999'], includeDependents: true })
      .buffer(true)
      .parse(binary)
      .expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=Shift_JIS');
    const text = iconv.decode(res.body as Buffer, 'cp932');
    const rows = text.split('\r\n');
    // Columns added later (kana, 扶養区分) come after 取得結果: a package reading by position keeps working.
    expect(rows[0]).toBe('"社員コード","登録者ID","本人・扶養","扶養家族ID","続柄","姓","名","生年月日","マイナンバー","取得結果","セイ","メイ","扶養区分"');
    expect(rows[1]).toBe(`"000123","${done.id}","本人",,,"給与","000123","1980-01-02","${done.number}","OK","キュウヨ",,`);
    expect(rows[2]).toContain(`"扶養","${done.dependents[0]!.id}","子","給与","長男",,"${done.dependents[0]!.n}","OK",,,"扶養親族"`);
    expect(rows.find((r) => r.startsWith('"000200"'))).toBe(`"000200","${yoshida.id}","本人",,,"","","1980-01-02","${yoshida.number}","NAME_NOT_ENCODABLE",,,`);
    expect(rows.find((r) => r.startsWith('"999999"'))).toBe('"999999",,"本人",,,,,,,"UNKNOWN",,,');
    expect(text).not.toContain('?');
    expect(text.endsWith('\r\n')).toBe(true);
  });

  it('pulls everyone completed with all: true, in pages, one history row each', async () => {
    const c = await createTenant(harness.prisma, '全件株式会社');
    await harness.prisma.tenant.update({ where: { id: c }, data: { purposes: ['withholding_slip'] } });
    const ownerOfC = await harness.agent(c, 'owner');
    const vault = testVault(harness.prisma);
    const count = 1203; // more than two internal batches of 500
    await harness.prisma.registrant.createMany({
      data: await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const n = randomMyNumber();
          numbers.push(n);
          return { tenantId: c, employeeCode: String(i).padStart(6, '0'), familyName: '全件', givenName: `${i}`, status: 'completed' as const, myNumberSecretId: await vault.seal({ tenantId: c, kind: 'my_number', plaintext: Buffer.from(n) }), workflowId: `wf-${randomUUID()}` };
        }),
      ),
    });
    const created = await ownerOfC.post('/v1/connectors').send({ name: '全件', scopes: ['numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201);
    const res = await request(harness.app).post('/v1/numbers/pull').auth(await tokenFor(created.body), { type: 'bearer' }).send({ purpose: 'withholding_slip', all: true }).expect(200);
    expect(res.body.served).toHaveLength(count);
    expect(new Set(res.body.served.map((s: { employeeCode: string }) => s.employeeCode)).size).toBe(count);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId: c, operation: 'number_pulled' } })).toBe(count);
    const both = await request(harness.app).post('/v1/numbers/pull').auth(await tokenFor(created.body), { type: 'bearer' }).send({ purpose: 'withholding_slip', all: true, employeeCodes: ['000001'] });
    expect(both.body.errors[0].code).toBe('ALL_WITH_LIST');

    // The next batch is read ahead while one is served, but recorded only when asked for: a caller
    // that stops after the first batch leaves that batch in the history, not the one read ahead.
    const client = await harness.prisma.apiClient.findFirstOrThrow({ where: { tenantId: c } });
    const tenant = await harness.prisma.tenant.findUniqueOrThrow({ where: { id: c } });
    const caller = { client, tenant, scopes: ['numbers:pull' as const], ip: '192.0.2.9', userAgent: 'early stop' };
    const codes = Array.from({ length: count }, (_, i) => String(count - 1 - i).padStart(6, '0'));
    const pulls = harness.services.numberPull.pull(caller, { purpose: 'withholding_slip', employeeCodes: codes });
    const first = await pulls.next();
    expect(first.done).toBe(false);
    const batch = first.value as { served: boolean; ref: { employeeCode: string } }[];
    expect(batch.map((e) => e.ref.employeeCode)).toEqual(codes.slice(0, 500));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the read ahead has finished by now
    await pulls.return(undefined);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId: c, operation: 'number_pulled', userAgent: 'early stop' } })).toBe(500);
    // Taken to the end, every batch comes in the order asked, each recorded once.
    const all: string[] = [];
    for await (const b of harness.services.numberPull.pull({ ...caller, userAgent: 'to the end' }, { purpose: 'withholding_slip', employeeCodes: codes })) all.push(...b.map((e) => ('employeeCode' in e.ref ? e.ref.employeeCode : '')));
    expect(all).toEqual(codes);
    expect(await harness.prisma.operationEvent.count({ where: { tenantId: c, operation: 'number_pulled', userAgent: 'to the end' } })).toBe(count);
  }, 120_000);

  it('the example connector (openapi-fetch with the generated types) pulls for withholding slips over real HTTP and writes nothing', async () => {
    const server = http.createServer(harness.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const c = await connector({});
    const before = fs.readdirSync(process.cwd()).sort();
    try {
      const { slips, unserved } = await pullForWithholdingSlips({
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        clientId: c.clientId,
        clientSecret: c.clientSecret,
        employeeCodes: ['000123', '000124'],
      });
      expect(slips).toEqual([{ employeeCode: '000123', name: '給与 000123', myNumber: done.number, dependents: expect.arrayContaining([{ name: '給与 長男', relationship: '子', myNumber: done.dependents[0]!.n }]) }]);
      expect(unserved).toEqual([{ employeeCode: '000124', reason: 'PENDING', reasonLabel: '承認待ちまたは差戻し中' }]);
    } finally {
      server.close();
    }
    expect(fs.readdirSync(process.cwd()).sort()).toEqual(before);
  });
});
