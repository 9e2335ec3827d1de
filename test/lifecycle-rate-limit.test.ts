/**
 * A namespace over its rate limit (Temporal answers RESOURCE_EXHAUSTED, cause RPS_LIMIT) only slows
 * HR's steps: the API's client retries the refusal within the request's deadline, so each step is
 * carried out once and answered 200, never 503 LIFECYCLE_BUSY (that answer is for one person's
 * updates over their in-flight limit, lifecycle-http-errors.test.ts). The Temporal dev server runs
 * with its per-namespace limit lowered to a few requests a second; the API uses its own client.
 */
import { Connection } from '@temporalio/client';
import { createLocalEnv } from './support/temporal';
import { useWorkerHarness } from './support/worker-harness';
import { createTenant, type Agent } from './support/fixtures';

const TASK_QUEUE = 'lifecycle-rate-limit';
const PEOPLE = 10;

const harness = useWorkerHarness({
  taskQueue: TASK_QUEUE,
  env: () => createLocalEnv({ dynamicConfig: { 'frontend.namespaceRPS': 4, 'frontend.namespaceBurstRatio': 1 } }),
  apiOwnClient: true,
  // Time for every step's outcome (200), however slow the throttled server.
  stepAnswerWithinMs: 90_000,
});
let hr: Agent;

beforeAll(async () => {
  hr = await harness.agent(await createTenant(harness.prisma, '株式会社流量制限'), 'manager', '人事 流量');
}, 120_000);

it('the server refuses calls over the limit (RESOURCE_EXHAUSTED) to a client that does not retry', async () => {
  // No interceptors: the SDK's default retry of RESOURCE_EXHAUSTED is off, so refusals show.
  const bare = await Connection.connect({ address: harness.env.connection.options.address!, interceptors: [] });
  try {
    const calls = await Promise.allSettled(Array.from({ length: 20 }, () => bare.workflowService.describeNamespace({ namespace: 'default' })));
    const refused = calls.filter((c) => c.status === 'rejected' && (c.reason as { code?: number }).code === 8);
    expect(refused.length).toBeGreaterThan(0);
  } finally {
    await bare.close();
  }
});

it(`${PEOPLE} refusals at once over the namespace's rate limit: each answered 200 and carried out once, none 503`, async () => {
  const ids: string[] = [];
  for (let i = 0; i < PEOPLE; i++) ids.push((await hr.post('/v1/registrants').send({ familyName: '流量', givenName: `${i + 1}`, invite: false }).expect(201)).body.id as string);
  const answers = await Promise.all(ids.map((id) => hr.post(`/v1/registrants/${id}/status`).send({ status: 'refused', reason: '書類不備のため' })));
  expect(answers.map((a) => a.status)).toEqual(ids.map(() => 200));
  expect(answers.map((a) => a.body.status)).toEqual(ids.map(() => 'refused'));
  for (const id of ids) {
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'refused', statusReason: '書類不備のため' });
    const changes = await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'status_changed' } });
    expect([id, changes]).toEqual([id, 1]);
  }
}, 180_000);
