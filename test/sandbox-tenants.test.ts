/**
 * Sandbox tenants, as a payroll vendor gets one: `npm run ops -- create-tenant --sandbox` (a child
 * process on the test database, sealing under this file's master key) makes the company with demo
 * people and dependents and a connector; the vendor's client then runs against the real API, worker
 * and PostgreSQL. Only invented numbers (beginning 9999, check digit right) go in, by every path
 * (employee's phone, HR's entry, bulk entry, the import's dry run, the vault itself); every answer
 * says which environment answered; a client that declares the other environment is refused. Numbers
 * never reach this file's output: only whether they matched.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { checkDigit } from '../services/mynumber/validate';
import { isSandboxNumber, sandboxNumber } from '../services/tenants/sandbox';
import { createTenant, testVault, type Agent } from './support/fixtures';
import { testKeyringDir } from './support/keys';
import { randomMyNumber } from './support/leak-scan';
import { runOps } from './support/ops-cli';
import { useWorkerHarness } from './support/worker-harness';
import { createWorkflowBacklog } from '../services/registrants/workflow-backlog';
import { lifecycleQuery } from '../shared';

const harness = useWorkerHarness({ taskQueue: 'sandbox-tenants' });
const LINK = /http:\/\/mynaflow\.test\/i\/#k=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/;

/** A number of the real kind that is not of the sandbox pattern. */
const realNumber = () => {
  for (;;) {
    const n = randomMyNumber();
    if (!n.startsWith('9999')) return n;
  }
};

let sandbox: { tenantId: string; clientId: string; clientSecret: string; stdout: string };
let hr: Agent;

beforeAll(async () => {
  const out = await runOps(
    { DATABASE_URL: process.env.DATABASE_URL, DATA_DIR: testKeyringDir() },
    'create-tenant', '--sandbox', '--name', '給与ソフト試験株式会社', '--owner-email', `vendor-${randomUUID().slice(0, 6)}@example.com`, '--owner-name', '試験 担当',
  );
  expect(out).toMatchObject({ code: 0 });
  const field = (label: string) => new RegExp(`^${label}\\s+(\\S+)`, 'm').exec(out.stdout)?.[1] ?? '';
  sandbox = { tenantId: /\(([0-9a-f-]{36})\)/.exec(out.stdout)![1]!, clientId: field('client_id'), clientSecret: field('client_secret'), stdout: out.stdout };
  hr = await harness.agent(sandbox.tenantId, 'manager', '試験 人事');
}, 120_000);

const tokenFor = (clientId: string, secret: string, declared?: string) => {
  const req = request(harness.app).post('/v1/oauth/token').auth(clientId, secret).type('form');
  return (declared ? req.set('Mynaflow-Environment', declared) : req).send({ grant_type: 'client_credentials' });
};

describe('a sandbox made with npm run ops', () => {
  it('says it is one and prints credentials that say so too', () => {
    expect(sandbox.stdout).toContain('SANDBOX: invented numbers only (beginning 9999)');
    expect(sandbox.stdout).toMatch(/demo people\s+6 employees, 3 dependents, 7 invented numbers/);
    expect(sandbox.clientId).toMatch(/^mfc_sbx_[0-9a-f]{24}$/);
    expect(sandbox.clientSecret).toMatch(/^mfs_sbx_/);
  });

  it("serves the demo people to the vendor's connector, invented numbers only, each answer marked sandbox", async () => {
    const token = await tokenFor(sandbox.clientId, sandbox.clientSecret).expect(200);
    expect(token.headers['mynaflow-environment']).toBe('sandbox');
    expect(token.body.access_token).toMatch(/^mft_sbx_/);
    const bearer = token.body.access_token as string;
    const list = await request(harness.app).get('/v1/registrants?limit=100').auth(bearer, { type: 'bearer' }).expect(200);
    expect(list.headers['mynaflow-environment']).toBe('sandbox');
    expect(list.body.items.map((r: { employeeCode: string; status: string }) => `${r.employeeCode} ${r.status}`).sort()).toEqual([
      'D0001 completed', 'D0002 completed', 'D0003 completed', 'D0004 completed', 'D0005 unregistered', 'D0006 unregistered',
    ]);
    const pull = await request(harness.app).post('/v1/numbers/pull').auth(bearer, { type: 'bearer' })
      .send({ purpose: 'withholding_slip', employeeCodes: ['D0001', 'D0002', 'D0003', 'D0004', 'D0005'], includeDependents: true }).expect(200);
    expect(pull.headers['mynaflow-environment']).toBe('sandbox');
    const served = pull.body.served as { employeeCode: string; myNumber: string; dependents?: { myNumber: string | null }[] }[];
    const numbers = served.flatMap((p) => [p.myNumber, ...(p.dependents ?? []).map((d) => d.myNumber)]).filter((n): n is string => !!n);
    expect({ people: served.map((p) => p.employeeCode).sort(), numbers: numbers.length, allInvented: numbers.every(isSandboxNumber) }).toEqual({
      people: ['D0001', 'D0002', 'D0003', 'D0004'], numbers: 7, allInvented: true,
    });
    expect(pull.body.unserved).toEqual([expect.objectContaining({ employeeCode: 'D0005', reason: 'NOT_REGISTERED' })]);
  });

  it('HR sees the banner flag and the marked answers; the flag cannot be changed afterwards', async () => {
    const me = await hr.get('/v1/auth/me').expect(200);
    expect([me.body.tenant.sandbox, me.headers['mynaflow-environment']]).toEqual([true, 'sandbox']);
    await expect(harness.prisma.tenant.update({ where: { id: sandbox.tenantId }, data: { sandbox: false } })).rejects.toThrow(/sandbox flag is fixed at creation/);
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: sandbox.tenantId } })).sandbox).toBe(true);
  });
});

describe('credentials stay in their environment', () => {
  it('a client that declares production is refused sandbox credentials before a token is made, and a bearer call likewise', async () => {
    const client = await harness.prisma.apiClient.findUniqueOrThrow({ where: { clientId: sandbox.clientId } });
    const tokens = () => harness.prisma.apiToken.count({ where: { apiClientId: client.id } });
    const before = await tokens();
    const refused = await tokenFor(sandbox.clientId, sandbox.clientSecret, 'production').expect(403);
    expect([refused.body.code, refused.body.title]).toEqual(['ENVIRONMENT_MISMATCH', 'サンドボックス（試験用の会社）の認証情報です。本番環境（Mynaflow-Environment: production）では使えません']);
    expect(await tokens()).toBe(before);
    const bearer = (await tokenFor(sandbox.clientId, sandbox.clientSecret, 'sandbox').expect(200)).body.access_token as string;
    const call = await request(harness.app).get('/v1/registrants').auth(bearer, { type: 'bearer' }).set('Mynaflow-Environment', 'production').expect(403);
    expect(call.body.code).toBe('ENVIRONMENT_MISMATCH');
    // Neither: a typo is not taken for either environment.
    const typo = await request(harness.app).get('/v1/registrants').auth(bearer, { type: 'bearer' }).set('Mynaflow-Environment', 'prod').expect(400);
    expect(typo.body.code).toBe('ENVIRONMENT_UNKNOWN');
  });

  it('a real company answers production, takes any valid number, and refuses a client that declares sandbox', async () => {
    const tenantId = await createTenant(harness.prisma, '本番株式会社');
    const owner = await harness.agent(tenantId, 'owner');
    const c = (await owner.post('/v1/connectors').send({ name: '給与ソフト', scopes: ['registrants:read'], allowedPurposes: ['withholding_slip'] }).expect(201)).body;
    expect(c.clientId).toMatch(/^mfc_[0-9a-f]{24}$/);
    const refused = await tokenFor(c.clientId, c.clientSecret, 'sandbox').expect(403);
    expect([refused.body.code, refused.body.title]).toEqual(['ENVIRONMENT_MISMATCH', '本番の会社の認証情報です。サンドボックス（Mynaflow-Environment: sandbox）では使えません']);
    const ok = await tokenFor(c.clientId, c.clientSecret, 'production').expect(200);
    expect([ok.headers['mynaflow-environment'], ok.body.access_token.startsWith('mft_sbx_')]).toEqual(['production', false]);
    const bearer = ok.body.access_token as string;
    await request(harness.app).get('/v1/registrants').auth(bearer, { type: 'bearer' }).set('Mynaflow-Environment', 'sandbox').expect(403);
    // HR's session too.
    expect((await owner.get('/v1/auth/me').set('Mynaflow-Environment', 'sandbox').expect(403)).body.code).toBe('ENVIRONMENT_MISMATCH');
    const me = await owner.get('/v1/auth/me').expect(200);
    expect([me.body.tenant.sandbox, me.headers['mynaflow-environment']]).toEqual([false, 'production']);
    // A real company's numbers are anyone's: one of the sandbox pattern is not refused there.
    const r = (await owner.post('/v1/registrants').send({ familyName: '本番', givenName: '一郎', invite: false }).expect(201)).body;
    const n = sandboxNumber(4242);
    await owner.put(`/v1/registrants/${r.id}/my-number`).send({ myNumber: n, myNumberConfirmation: n }).expect(204);
  });
});

describe('a sandbox takes invented numbers only, by every path, and stores nothing else', () => {
  it("HR's entry: a real-looking number is refused at its field, in Japanese; an invented one is kept", async () => {
    const r = (await hr.post('/v1/registrants').send({ familyName: '入力', givenName: '試験', invite: false }).expect(201)).body;
    const n = realNumber();
    const refused = await hr.put(`/v1/registrants/${r.id}/my-number`).send({ myNumber: n, myNumberConfirmation: n }).expect(400);
    expect(refused.body.errors).toEqual([expect.objectContaining({ path: '/body/myNumber', code: 'NUMBER_NOT_SANDBOX', message: expect.stringContaining('9999 で始まる架空のマイナンバー') })]);
    expect(JSON.stringify(refused.body)).not.toContain(n);
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).myNumberSecretId).toBeNull();
    const invented = sandboxNumber(777);
    await hr.put(`/v1/registrants/${r.id}/my-number`).send({ myNumber: invented, myNumberConfirmation: invented }).expect(204);
  });

  it('bulk entry: one real-looking number among invented ones is named at its field, and no one is stored', async () => {
    const people = ['B1', 'B2'].map((code, i) => {
      const n = i === 0 ? sandboxNumber(9000 + i) : realNumber();
      return { employeeCode: `SBX-${code}`, familyName: '一括', givenName: code, familyNameKana: 'イッカツ', myNumber: n, myNumberConfirmation: n };
    });
    const refused = await hr.post('/v1/registrants/bulk-entry').send({ people }).expect(400);
    expect(refused.body.errors.map((e: { path: string; code: string }) => `${e.path} ${e.code}`)).toEqual(['/body/people/1/myNumber NUMBER_NOT_SANDBOX']);
    expect(await harness.prisma.registrant.count({ where: { tenantId: sandbox.tenantId, employeeCode: { startsWith: 'SBX-' } } })).toBe(0);
  });

  it('新規追加 with a number or a dependent, and a dependent added later: named at the field, nothing stored', async () => {
    const n = realNumber();
    const withNumber = await hr.post('/v1/registrants').send({ familyName: '新規', givenName: '番号', myNumber: n, myNumberConfirmation: n, verificationMethod: 'my_number_card', invite: false }).expect(400);
    expect(withNumber.body.errors.map((e: { path: string; code: string }) => `${e.path} ${e.code}`)).toEqual(['/body/myNumber NUMBER_NOT_SANDBOX']);
    expect(await harness.prisma.registrant.count({ where: { tenantId: sandbox.tenantId, familyName: '新規' } })).toBe(0);
    const r = (await hr.post('/v1/registrants').send({ familyName: '扶養', givenName: '追加', invite: false }).expect(201)).body;
    const d = realNumber();
    const dependent = await hr.post(`/v1/registrants/${r.id}/dependents`).send({ relationship: '子', familyName: '扶養', givenName: '子', myNumber: d, myNumberConfirmation: d }).expect(400);
    expect(dependent.body.errors.map((e: { path: string; code: string }) => `${e.path} ${e.code}`)).toEqual(['/body/myNumber NUMBER_NOT_SANDBOX']);
    expect(await harness.prisma.dependent.count({ where: { registrantId: r.id } })).toBe(0);
  });

  it("the import's dry run names the line with a real-looking number", async () => {
    const csv = `社員コード,本人・扶養の別,姓,名,マイナンバー\r\nI001,本人,取込,一郎,${sandboxNumber(5000)}\r\nI002,本人,取込,二郎,${realNumber()}\r\n`;
    const res = await hr.post('/v1/registrants/import-with-numbers').attach('file', Buffer.from(csv, 'utf8'), { filename: 'people.csv', contentType: 'text/csv' }).field('dryRun', 'true').expect(200);
    expect(res.body.lines.map((l: { line: number; ok: boolean; errors: { column: string; message: string }[] }) => [l.line, l.ok, l.errors.map((e) => e.column)])).toEqual([
      [2, true, []],
      [3, false, ['マイナンバー']],
    ]);
    expect(res.body.lines[1].errors[0].message).toContain('9999 で始まる架空のマイナンバー');
  });

  it("the employee's phone: the link says sandbox, and a real-looking number is refused at its field", async () => {
    const email = `p-${randomUUID().slice(0, 8)}@example.com`;
    await hr.post('/v1/registrants').send({ familyName: '電話', givenName: '試験', email }).expect(201);
    const mail = await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
    const token = LINK.exec(mail.text)![1]!;
    const info = await request(harness.app).post('/v1/registration/link').send({ token }).expect(200);
    expect([info.body.sandbox, info.headers['mynaflow-environment']]).toEqual([true, 'sandbox']);
    const phone = request.agent(harness.app);
    const setUp = await phone.post('/v1/registration/setup').send({ token, password: 'my-phone-pass', consentedPurposes: info.body.purposes.map((p: { code: string }) => p.code) }).expect(200);
    const csrf = setUp.body.csrfToken as string;
    const n = realNumber();
    const refused = await phone.put('/v1/registration/profile').set('X-CSRF-Token', csrf).send({ myNumber: n, myNumberConfirmation: n }).expect(400);
    expect(refused.headers['mynaflow-environment']).toBe('sandbox');
    expect(refused.body.errors.map((e: { path: string; code: string }) => `${e.path} ${e.code}`)).toEqual(['/body/myNumber NUMBER_NOT_SANDBOX']);
    const invented = sandboxNumber(31337);
    const saved = await phone.put('/v1/registration/profile').set('X-CSRF-Token', csrf).send({ myNumber: invented, myNumberConfirmation: invented }).expect(200);
    expect([saved.body.sandbox, saved.body.draft.myNumber.entered]).toEqual([true, true]);
  });

  it('the vault itself refuses to seal a real-looking number for a sandbox (any path forgotten above), other secrets pass', async () => {
    const vault = testVault(harness.prisma);
    await expect(vault.seal({ tenantId: sandbox.tenantId, kind: 'my_number', plaintext: Buffer.from(realNumber()) })).rejects.toMatchObject({ code: 'NUMBER_NOT_SANDBOX', status: 400 });
    await expect(vault.sealMany([sandboxNumber(1), realNumber()].map((n) => ({ tenantId: sandbox.tenantId, kind: 'my_number' as const, plaintext: Buffer.from(n) })))).rejects.toMatchObject({ code: 'NUMBER_NOT_SANDBOX' });
    expect(await vault.seal({ tenantId: sandbox.tenantId, kind: 'document', plaintext: Buffer.from('image bytes') })).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the reserved pattern', () => {
  it('sandboxNumber gives valid numbers beginning 9999; isSandboxNumber wants the prefix and the check digit', () => {
    const all = [0, 1, 42, 9_999_999].map(sandboxNumber);
    for (const n of all) expect([n.length, n.slice(0, 4), checkDigit(n.slice(0, 11)) === Number(n[11]), isSandboxNumber(n)]).toEqual([12, '9999', true, true]);
    const wrongDigit = all[1]!.slice(0, 11) + String((Number(all[1]![11]) + 1) % 10);
    expect([isSandboxNumber(wrongDigit), isSandboxNumber(realNumber())]).toEqual([false, false]);
    expect(() => sandboxNumber(10_000_000)).toThrow(RangeError);
  });
});

it('the demo people get their workflows from the reconciler of the running stack (queued on the rows by the CLI), as stored: completed, retired, not invited', async () => {
  const demo = { tenantId: sandbox.tenantId, employeeCode: { startsWith: 'D000' } };
  expect(await harness.prisma.registrant.count({ where: { ...demo, workflowPendingSince: { not: null } } })).toBe(6);
  const backlog = createWorkflowBacklog({ prisma: harness.prisma, temporal: { client: harness.env.client, taskQueue: 'sandbox-tenants' }, inviteReminderDays: [7, 30, 80] });
  expect((await backlog.run({ tenantId: sandbox.tenantId })).waiting).toBe(0);
  const people = await harness.prisma.registrant.findMany({ where: demo, orderBy: { employeeCode: 'asc' } });
  expect(people.map((p) => [p.employeeCode, p.workflowPendingSince])).toEqual(['D0001', 'D0002', 'D0003', 'D0004', 'D0005', 'D0006'].map((c) => [c, null]));
  for (const p of people) {
    const state = await harness.env.client.workflow.getHandle(p.workflowId).query(lifecycleQuery);
    expect([p.employeeCode, state.status]).toEqual([p.employeeCode, p.status]);
  }
  // Nobody was mailed: demo addresses are example.com.
  expect(harness.outbox.mails.filter((m) => m.to.some((t) => t.endsWith('@example.com') && /mihon|shiken|reiji|kakuu|mitou/.test(t)))).toEqual([]);
});
