/**
 * Contract end (`npm run ops -- delete-tenant`), against a real Temporal dev server and PostgreSQL:
 * refused without the customer number as confirmation (nothing deleted); with it, the tenant's
 * workflows are terminated, every secret is crypto-shredded and every row of the tenant — people,
 * dependents, documents, users, connectors, mails, the operation history — is gone, another tenant
 * untouched; the certificate holds no personal data and its digest catches an alteration; the app's
 * role still cannot remove history rows. The operator's command SIGKILLed inside its transaction
 * deletes nothing (no number shredded without its rows, no certificate); run again, it finishes.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { createContractEnd } from '../services/tenants/contract-end';
import { lifecycleQuery } from '../shared';
import { capture } from './support/capture';
import { createTenant, TEST_PASSWORD, testVault, type Agent } from './support/fixtures';
import { testKeyringDir } from './support/keys';
import { holdRow } from './support/lifecycle';
import { runOps } from './support/ops-cli';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { ownerUrl } from './support/migrate';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const harness = useWorkerHarness({ taskQueue: 'contract-end' });
let owner: PrismaClient;
let tenantId: string;
let otherTenant: string;
let hr: Agent;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

beforeAll(async () => {
  owner = createPrisma(ownerUrl());
  tenantId = await createTenant(harness.prisma, '株式会社契約終了');
  otherTenant = await createTenant(harness.prisma, '株式会社残る会社');
  hr = await harness.agent(tenantId, 'manager', '人事 終了');
});
afterAll(async () => {
  await owner?.$disconnect();
});

const contractEnd = () => createContractEnd({ prisma: owner, client: harness.env.client, vault: testVault(harness.prisma) });
const tenantRows = async (t: string) => ({
  registrants: await owner.registrant.count({ where: { tenantId: t } }),
  secrets: await owner.vaultSecret.count({ where: { tenantId: t } }),
  history: await owner.operationEvent.count({ where: { tenantId: t } }),
  users: await owner.loginUser.count({ where: { tenantId: t } }),
  connectors: await owner.apiClient.count({ where: { tenantId: t } }),
  mails: await owner.mailDelivery.count({ where: { key: { startsWith: `registrant-${t}-` } } }),
  tenant: await owner.tenant.count({ where: { id: t } }),
});

describe('delete-tenant', () => {
  it('refused without the customer number; with it everything of the tenant goes, workflows stopped, a certificate left', async () => {
    const n = randomMyNumber();
    const child = randomMyNumber();
    // An invited person (a running workflow, a mail), a completed one with a dependent and a document, a connector.
    const invited = (await hr.post('/v1/registrants').send({ familyName: '終了', givenName: '招待', email: `end-${randomUUID().slice(0, 8)}@example.co.jp` }).expect(201)).body;
    await until(async () => (await harness.env.client.workflow.getHandle(invited.workflowId).query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
    const done = (await hr
      .post('/v1/registrants')
      .send({ familyName: '終了', givenName: '完了', myNumber: n, myNumberConfirmation: n, verificationMethod: 'my_number_card', dependents: [{ relationship: '子', familyName: '終了', givenName: '子', myNumber: child, myNumberConfirmation: child }] })
      .expect(201)).body;
    await hr.post(`/v1/registrants/${done.id}/documents?purpose=identity&type=my_number_card&side=front`).set('Content-Type', 'image/png').send(PNG).expect(201);
    const ownerAgent = await harness.agent(tenantId, 'owner', 'オーナー 終了');
    await ownerAgent.post('/v1/connectors').send({ name: '給与', scopes: ['numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201);
    const other = (await (await harness.agent(otherTenant, 'manager')).post('/v1/registrants').send({ familyName: '残る', givenName: '人', invite: false }).expect(201)).body;
    const otherBefore = await tenantRows(otherTenant);

    const plan = await contractEnd().plan(tenantId);
    expect(plan.counts).toMatchObject({ registrants: 2, dependents: 1, documents: 1, loginUsers: 2, connectors: 1 });
    expect(plan.counts.secrets).toBe(3); // two numbers and an image

    // No confirmation, or the wrong one: refused, nothing deleted.
    for (const confirm of [undefined, '00000000']) {
      await expect(contractEnd().execute(tenantId, confirm, 'テスト運用者')).rejects.toMatchObject({ code: 'CONFIRMATION_REQUIRED' });
    }
    expect((await tenantRows(tenantId)).registrants).toBe(2);

    const certificate = await contractEnd().execute(tenantId, plan.customerNumber, 'テスト運用者');
    expect(certificate).toMatchObject({ tenantId, tenantName: '株式会社契約終了', customerNumber: plan.customerNumber, operator: 'テスト運用者', counts: { ...plan.counts, workflowsStopped: 2, workflowsUnreachable: 0 } });
    expect(await tenantRows(tenantId)).toEqual({ registrants: 0, secrets: 0, history: 0, users: 0, connectors: 0, mails: 0, tenant: 0 });
    expect(await owner.dependent.count({ where: { registrantId: done.id } })).toBe(0);
    expect(await owner.document.count({ where: { registrantId: done.id } })).toBe(0);
    for (const workflowId of [invited.workflowId, done.workflowId]) {
      expect((await harness.env.client.workflow.getHandle(workflowId).describe()).status.name).toBe('TERMINATED');
    }
    // Another tenant: untouched.
    expect(await tenantRows(otherTenant)).toEqual(otherBefore);
    expect(await owner.registrant.count({ where: { id: other.id } })).toBe(1);

    // The certificate: stored, no personal data, its digest catches an alteration.
    const stored = await owner.tenantDeletion.findUniqueOrThrow({ where: { id: certificate.id } });
    expect(stored.digest).toBe(certificate.digest);
    expect(containsAny(JSON.stringify(certificate), [n, child])).toEqual([]);
    expect(JSON.stringify(certificate)).not.toMatch(/終了 (招待|完了)/);
    expect(contractEnd().verify(certificate)).toBe(true);
    expect(contractEnd().verify({ ...certificate, counts: { ...certificate.counts, secrets: certificate.counts.secrets - 1 } })).toBe(false);
    expect(contractEnd().verify({ ...certificate, executedAt: new Date().toISOString() })).toBe(false);
    // The app's role may read certificates, never change or remove one.
    await expect(harness.prisma.$executeRaw`DELETE FROM tenant_deletions WHERE id = ${certificate.id}::uuid`).rejects.toThrow();
    await expect(harness.prisma.$executeRaw`UPDATE tenant_deletions SET operator = 'x' WHERE id = ${certificate.id}::uuid`).rejects.toThrow();

    // The history stays append-only for the app's role (and for the owner outside a contract end).
    const row = await owner.operationEvent.findFirstOrThrow({ where: { tenantId: otherTenant } });
    await expect(harness.prisma.$executeRaw`DELETE FROM operation_events WHERE id = ${row.id}`).rejects.toThrow();
    await expect(owner.$executeRaw`DELETE FROM operation_events WHERE id = ${row.id}`).rejects.toThrow(/append-only/);
    // A tenant that is gone: said so.
    await expect(contractEnd().plan(tenantId)).rejects.toMatchObject({ code: 'TENANT_NOT_FOUND' });
    // The API no longer knows its people.
    expect((await request(harness.app).get(`/v1/registrants/${done.id}`)).status).toBe(401);
  });

  it('the command SIGKILLed inside its transaction deletes nothing; run again, it finishes with one certificate', async () => {
    const t = await createTenant(harness.prisma, '株式会社中断終了');
    const agent = await harness.agent(t, 'manager');
    const n = randomMyNumber();
    const person = (await agent.post('/v1/registrants').send({ familyName: '中断', givenName: '完了', myNumber: n, myNumberConfirmation: n, verificationMethod: 'my_number_card' }).expect(201)).body;
    const { customerNumber } = await owner.tenant.findUniqueOrThrow({ where: { id: t } });
    const before = await tenantRows(t);
    expect(before).toMatchObject({ registrants: 1, secrets: 1, tenant: 1 });
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      DATABASE_URL: process.env.DATABASE_URL,
      DATABASE_OWNER_URL: ownerUrl(),
      DATA_DIR: testKeyringDir(),
      TEMPORAL_ADDRESS: harness.env.connection.options.address,
    };
    const args = ['--import', 'tsx', 'scripts/ops.ts', 'delete-tenant', '--tenant', t, '--confirm', customerNumber, '--operator', 'テスト運用者'];

    // The person's row held elsewhere: the command's transaction waits on it, part-way through.
    const lock = await holdRow(person.id);
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => capture('ops-cli', d.toString()));
    const waiting = async () => (await owner.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%registrants%'`)[0]!.n;
    await until(async () => (await waiting()) > 0, 'the command to wait inside its transaction', 60_000);
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
    await lock.release();
    // Its server session goes on to the lock, finds nobody to commit for and rolls back.
    await until(async () => (await waiting()) === 0, 'the orphaned transaction to end', 30_000);
    expect(await tenantRows(t)).toEqual(before);
    expect(await owner.tenantDeletion.count({ where: { tenantId: t } })).toBe(0);
    // The number still opens: nothing was shredded without its rows.
    const revealed = await agent.post(`/v1/registrants/${person.id}/my-number/reveal`).send({ password: TEST_PASSWORD, purpose: 'withholding_slip' });
    expect(revealed.status).toBe(200);
    expect(revealed.body.myNumber === n).toBe(true);

    const again = await runOps(env, 'delete-tenant', '--tenant', t, '--confirm', customerNumber, '--operator', 'テスト運用者');
    expect(again.code).toBe(0);
    expect(await tenantRows(t)).toEqual({ registrants: 0, secrets: 0, history: 0, users: 0, connectors: 0, mails: 0, tenant: 0 });
    expect(await owner.tenantDeletion.count({ where: { tenantId: t } })).toBe(1);
  }, 180_000);
});
