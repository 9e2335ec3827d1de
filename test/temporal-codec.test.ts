/**
 * Temporal payloads are encrypted (services/temporal/payload-codec.ts), on a real dev server with the
 * product's worker and API: a remand whose reason HR typed with a number-like run and an invitation
 * message go into the workflow's history only as ciphertext — the raw history (what Temporal stores
 * and its Web UI shows) holds neither, as text or base64 — while the codec endpoint decodes them for
 * the operators' token, or in a deployment of one tenant (a database of its own here) for its owner
 * from the UI's origin; for nobody else. A payload sealed under
 * an earlier master key still opens while the keyring holds it (MASTER_KEY_PREVIOUS), and payloads of
 * releases before the codec pass through (test/workflow-replay.test.ts replays them with it).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import request from 'supertest';
import { createPayloadCodec, ENCRYPTED_ENCODING, PayloadKeyUnavailable } from '../services/temporal/payload-codec';
import { createKeyring } from '../services/vault/keyring';
import { lifecycleQuery, submitUpdate } from '../shared';
import { createDraftStore } from '../services/registrants/draft-store';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { createLoginUser, createTenant, loginAs, memoryLogger, TEMPORAL_CODEC_TOKEN, TEMPORAL_UI_ORIGIN, testApp, testVault, type Agent } from './support/fixtures';
import { createIsolatedDatabase } from './support/isolated-database';
import { testKeyring } from './support/keys';
import { PNG } from './support/lifecycle';
import { randomMyNumber } from './support/leak-scan';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const harness = useWorkerHarness({ taskQueue: 'temporal-codec' });
let owner: Agent;
let manager: Agent;

beforeAll(async () => {
  const tenantId = await createTenant(harness.prisma, '暗号化株式会社');
  // This database serves several tenants (other files add theirs; this makes sure when run alone).
  await createTenant(harness.prisma, '暗号化の別会社');
  [owner, manager] = await Promise.all([harness.agent(tenantId, 'owner'), harness.agent(tenantId, 'manager')]);
});

type JsonPayload = { metadata: Record<string, string>; data: string };
/** Payloads as the remote codec protocol carries them (bytes in base64). */
const codecJson = (payloads: Payload[]) => ({
  payloads: payloads.map((p) => ({ metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])), data: Buffer.from(p.data!).toString('base64') })),
});
const plainOf = (body: { payloads: JsonPayload[] }) =>
  body.payloads.map((p) => defaultPayloadConverter.fromPayload({ metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])), data: new Uint8Array(Buffer.from(p.data, 'base64')) }));

const asText = (history: unknown) => JSON.stringify(history, (_k, v: unknown) => (v instanceof Uint8Array ? `${Buffer.from(v).toString('utf8')} ${Buffer.from(v).toString('base64')}` : v));

describe('payloads in Temporal', () => {
  it('a remand reason with a number-like run and an invitation message are ciphertext in the raw history; the codec endpoint decodes them for the operators\' token only where tenants share the deployment', async () => {
    const email = `codec-${randomUUID().slice(0, 8)}@example.co.jp`;
    const created = await manager.post('/v1/registrants').send({ familyName: '暗号', givenName: '化', email }).expect(201);
    const handle = harness.env.client.workflow.getHandle(created.body.workflowId);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
    const message = `至急ご登録ください-${randomUUID().slice(0, 6)}`;
    await manager.post(`/v1/registrants/${created.body.id}/invitation`).send({ message }).expect(200);
    const drafts = createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
    await drafts.save(created.body.id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
    for (const side of ['front', 'back'] as const) await drafts.addDocument(created.body.id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
    await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    // Twelve digits, but not a valid number (wrong check digit): the database keeps reasons as typed,
    // and the run's leak scan of the database must find no valid number.
    const digits = randomMyNumber();
    const reason = `裏面の番号 ${digits.slice(0, 11)}${(Number(digits[11]) + 1) % 10} が読めません`;
    await manager.post(`/v1/registrants/${created.body.id}/remand`).send({ reason }).expect(200);

    const raw = await handle.fetchHistory();
    const text = asText(raw);
    for (const secret of [reason, message, reason.slice(6, 18), Buffer.from(reason).toString('base64'), Buffer.from(JSON.stringify(reason)).toString('base64').slice(0, 24), 'jest']) {
      expect([secret, text.includes(secret)]).toEqual([secret, false]);
    }
    // What is there is ciphertext: every argument of the update that carried the reason.
    const accepted = (raw.events ?? []).map((e) => e.workflowExecutionUpdateAcceptedEventAttributes).filter(Boolean);
    const args = accepted.flatMap((a) => a!.acceptedRequest?.input?.args?.payloads ?? []);
    expect(args.length).toBeGreaterThan(0);
    for (const p of args) expect(Buffer.from(p.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);

    // The codec endpoint, as the operators' CLI calls it (temporal … --codec-auth "Bearer …").
    const json = codecJson(args);
    const decoded = await request(harness.app).post('/v1/temporal-codec/decode').set('Authorization', `Bearer ${TEMPORAL_CODEC_TOKEN}`).set('X-Namespace', 'default').send(json).expect(200);
    expect(JSON.stringify(plainOf(decoded.body))).toContain(reason);

    // Nobody else: no session, a manager, an owner from another origin, a wrong token — and here
    // (tenants share this database) not even an owner from the UI: payloads carry no tenant.
    const refusals = [
      [await request(harness.app).post('/v1/temporal-codec/decode').set('Origin', TEMPORAL_UI_ORIGIN).send(json), 401],
      [await manager.post('/v1/temporal-codec/decode').set('Origin', TEMPORAL_UI_ORIGIN).send(json), 403],
      [await owner.post('/v1/temporal-codec/decode').set('Origin', 'https://evil.example').send(json), 403],
      [await owner.post('/v1/temporal-codec/decode').set('Origin', TEMPORAL_UI_ORIGIN).send(json), 403],
      [await request(harness.app).post('/v1/temporal-codec/decode').set('Authorization', 'Bearer operator-codec-token-wrong-wrong-wrong').send(json), 401],
    ] as const;
    for (const [res, status] of refusals) {
      expect(res.status).toBe(status);
      expect(JSON.stringify(res.body)).not.toContain(reason);
    }
    expect((await request(harness.app).post('/v1/temporal-codec/decode').set('Origin', 'https://evil.example').send(json)).headers['access-control-allow-origin']).toBeUndefined();
    // The UI's preflight.
    const preflight = await request(harness.app).options('/v1/temporal-codec/decode').set('Origin', TEMPORAL_UI_ORIGIN).set('Access-Control-Request-Method', 'POST').expect(204);
    expect(preflight.headers['access-control-allow-headers']).toContain('x-namespace');
  });
});

describe('a deployment of one tenant', () => {
  let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
  let prisma: PrismaClient;
  beforeAll(async () => {
    database = await createIsolatedDatabase('codec');
    prisma = createPrisma(database.url);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await database?.drop();
  });

  it("its owner decodes from the Temporal Web UI's origin with their session (CORS with credentials); once a second tenant joins, no more", async () => {
    const app = testApp({ prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: harness.env.client, taskQueue: 'temporal-codec' }).app;
    const tenantId = await createTenant(prisma, '単独契約株式会社');
    const theOwner = await loginAs(app, harness.outbox, await createLoginUser(prisma, tenantId, 'owner'));
    const [sealed] = await createPayloadCodec(testKeyring()).encode([defaultPayloadConverter.toPayload({ reason: '写真が暗いです' })!]);
    const json = codecJson([sealed!]);
    const decoded = await theOwner.post('/v1/temporal-codec/decode').set('Origin', TEMPORAL_UI_ORIGIN).send(json).expect(200);
    expect(decoded.headers['access-control-allow-origin']).toBe(TEMPORAL_UI_ORIGIN);
    expect(decoded.headers['access-control-allow-credentials']).toBe('true');
    expect(plainOf(decoded.body)).toEqual([{ reason: '写真が暗いです' }]);
    await createTenant(prisma, '二つ目の契約株式会社');
    const refused = await theOwner.post('/v1/temporal-codec/decode').set('Origin', TEMPORAL_UI_ORIGIN).send(json).expect(403);
    expect(refused.body.title).toContain('TEMPORAL_CODEC_TOKEN');
  });
});

describe('the codec and the master keys', () => {
  const payload = defaultPayloadConverter.toPayload({ reason: '住所が違います' })!;
  const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];

  it('a payload sealed under the previous master key opens while the keyring holds it, and not after', async () => {
    const [sealed] = await createPayloadCodec(createKeyring(oldKey)).encode([payload]);
    const [opened] = await createPayloadCodec(createKeyring(newKey, [oldKey])).decode([sealed!]);
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual({ reason: '住所が違います' });
    await expect(createPayloadCodec(createKeyring(newKey)).decode([sealed!])).rejects.toBeInstanceOf(PayloadKeyUnavailable);
  });

  it('a payload of a release before the codec passes through; a tampered one is refused', async () => {
    const codec = createPayloadCodec(createKeyring(newKey));
    expect(await codec.decode([payload])).toEqual([payload]);
    const [sealed] = await codec.encode([payload]);
    const tampered = { ...sealed!, data: Uint8Array.from(sealed!.data!, (b, i) => (i === 20 ? b ^ 1 : b)) };
    await expect(codec.decode([tampered])).rejects.toThrow();
  });
});
