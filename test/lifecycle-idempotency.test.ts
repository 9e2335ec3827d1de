/**
 * HR's steps through the API are idempotent and honest about their outcome (time-skipping Temporal
 * server, real PostgreSQL, SMTP capture): the same Idempotency-Key acts once however often it is
 * sent, also while the first call is in flight; a step that cannot finish within the API's deadline
 * answers 202 with an operation to read, and still happens; Temporal out of reach answers 503 with
 * nothing done.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { lifecycleQuery, registrantWorkflowId, submitUpdate, type LifecycleState, type RegistrantWorkflowInput } from '../shared';
import { createLoginUser, createTenant, loginAs, memoryLogger, testApp, type Agent } from './support/fixtures';
import { completeDraft, holdRow } from './support/lifecycle';
import { expectProblem } from './support/problems';
import { createTimeSkippingEnv } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'lifecycle-idempotency';
/** The API answers 202 when a step takes longer than this. */
const ANSWER_WITHIN_MS = 3000;

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, env: createTimeSkippingEnv, stepAnswerWithinMs: ANSWER_WITHIN_MS });
let tenantId: string;
let hr: Agent;
const started: WorkflowHandle[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社再送安全');
  hr = await harness.agent(tenantId, 'manager', '人事 冪等');
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((h) => h.terminate('test finished').catch(() => undefined)));
});

const state = (handle: WorkflowHandle): Promise<LifecycleState> => handle.query(lifecycleQuery);
const operations = async (registrantId: string) => (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A person who has sent their registration: pending, waiting for HR's decision. */
async function pendingPerson(label: string) {
  const id = randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.co.jp`;
  const workflowId = registrantWorkflowId(tenantId, id);
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '冪等', givenName: label, email, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [] };
  const handle = (await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] })) as WorkflowHandle;
  started.push(handle);
  await until(async () => (await state(handle)).invitation?.state === 'open', 'the invitation to be open');
  await completeDraft(harness.prisma, id);
  await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
  return { id, email, handle };
}

describe('the same Idempotency-Key', () => {
  it('sent twice while the first approval is in flight: one approval, both calls get the same answer, and so does a later retry', async () => {
    const { id } = await pendingPerson('同時再送');
    const key = randomUUID();
    const lock = await holdRow(id);
    const approve = () => hr.post(`/v1/registrants/${id}/approval`).set('Idempotency-Key', key).send({});
    const first = approve().then((r) => r);
    await sleep(300);
    const second = approve().then((r) => r);
    await sleep(700);
    await lock.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body).toEqual(a.body);
    expect(a.body).toMatchObject({ id, status: 'completed' });
    expect([a.headers['idempotency-key'], b.headers['idempotency-key']]).toEqual([key, key]);

    // The person is no longer pending, yet the retry is the same request: its answer, not a 409.
    const later = await approve().expect(200);
    expect(later.body).toMatchObject({ id, status: 'completed' });
    expect((await operations(id)).filter((o) => o === 'approved')).toHaveLength(1);
  });

  it('without a key two approvals are two requests: one applies, the other is refused NOT_PENDING', async () => {
    const { id } = await pendingPerson('鍵なし');
    const lock = await holdRow(id);
    const first = hr.post(`/v1/registrants/${id}/approval`).send({}).then((r) => r);
    await sleep(300);
    const second = hr.post(`/v1/registrants/${id}/approval`).send({}).then((r) => r);
    await sleep(700);
    await lock.release();
    const answers = await Promise.all([first, second]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 409]);
    expectProblem(answers.find((r) => r.status === 409)!, 409, 'NOT_PENDING');
    expect((await operations(id)).filter((o) => o === 'approved')).toHaveLength(1);
    // Each answer carries the key the API made for it: the one that applied can be retried with it.
    const made = answers.find((r) => r.status === 200)!.headers['idempotency-key'];
    expect(made).toMatch(/^[0-9a-f-]{36}$/);
    expect((await hr.post(`/v1/registrants/${id}/approval`).set('Idempotency-Key', made!).send({}).expect(200)).body).toMatchObject({ status: 'completed' });
  });
});

describe('a step that outlasts the API deadline', () => {
  it('answers 202 with the operation, which reads pending, then succeeded once the step is done; a retry with the key answers the outcome', async () => {
    const { id } = await pendingPerson('保留');
    const key = randomUUID();
    const lock = await holdRow(id);
    let location = '';
    try {
      const accepted = await hr.post(`/v1/registrants/${id}/remand`).set('Idempotency-Key', key).send({ reason: '写真が暗いです' }).expect(202);
      expect(accepted.body).toEqual({ operationId: expect.stringMatching(/^remand\./), status: 'pending', registrantId: id });
      expect(accepted.headers.location).toBe(`/v1/registrants/${id}/operations/${accepted.body.operationId}`);
      expect(accepted.headers['retry-after']).toBe('5');
      location = accepted.headers.location!;
      expect((await hr.get(location).expect(200)).body).toEqual({ operationId: accepted.body.operationId, status: 'pending' });
      // Nothing decided yet: the database still says pending.
      expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    } finally {
      await lock.release();
    }
    await until(async () => (await hr.get(location)).body.status === 'succeeded', 'the remand to finish');
    const done = (await hr.get(location).expect(200)).body;
    expect(done.registrant).toMatchObject({ id, status: 'remanded', statusReason: '写真が暗いです', invitation: { state: 'open' } });

    const retried = await hr.post(`/v1/registrants/${id}/remand`).set('Idempotency-Key', key).send({ reason: '写真が暗いです' }).expect(200);
    expect(retried.body).toMatchObject({ id, status: 'remanded' });
    expect((await operations(id)).filter((o) => o === 'remanded')).toHaveLength(1);
  });

  it('reads a refused step as failed with its reason, and an operation Temporal never heard of as unknown', async () => {
    const { id } = await pendingPerson('失敗');
    // Taken on while the row is busy, then found impossible: no such dependent.
    const lock = await holdRow(id);
    let location = '';
    try {
      location = (await hr.post(`/v1/registrants/${id}/approval`).send({ dependentId: randomUUID() }).expect(202)).headers.location!;
    } finally {
      await lock.release();
    }
    await until(async () => (await hr.get(location)).body.status !== 'pending', 'the approval to end');
    expect((await hr.get(location).expect(200)).body).toMatchObject({ status: 'failed', error: { status: 404, code: 'DEPENDENT_NOT_FOUND', title: '扶養家族が見つかりません' } });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).status).toBe('pending');

    const unknown = `approve.${'A'.repeat(43)}`;
    expect((await hr.get(`/v1/registrants/${id}/operations/${unknown}`).expect(200)).body).toEqual({ operationId: unknown, status: 'unknown' });
    expectProblem(await hr.get(`/v1/registrants/${id}/operations/not-an-operation`), 404, 'OPERATION_NOT_FOUND');
    // Another tenant's person: not found, whatever the operation.
    const other = await harness.agent(await createTenant(harness.prisma, '別会社'), 'owner');
    expectProblem(await other.get(`/v1/registrants/${id}/operations/${unknown}`), 404, 'REGISTRANT_NOT_FOUND');
  });
});

describe('Temporal out of reach', () => {
  it('answers 503 and nothing is done; the same request succeeds later', async () => {
    const { id } = await pendingPerson('停止中');
    const dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const { app } = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: dead, taskQueue: TASK_QUEUE, stepAnswerWithinMs: 1000 });
    const user = await createLoginUser(harness.prisma, tenantId, 'manager', '人事 停止');
    // Logging in needs no Temporal; the step does.
    const down = await loginAs(app, harness.outbox, user);
    const key = randomUUID();
    const downAnswer = await down.post(`/v1/registrants/${id}/approval`).set('Idempotency-Key', key).send({});
    expectProblem(downAnswer, 503, 'TEMPORAL_UNAVAILABLE');
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).status).toBe('pending');
    expect(await operations(id)).not.toContain('approved');
    await dead.connection.close().catch(() => undefined);

    const later = await (await harness.login(user)).post(`/v1/registrants/${id}/approval`).set('Idempotency-Key', key).send({}).expect(200);
    expect(later.body).toMatchObject({ status: 'completed' });
  });
});
