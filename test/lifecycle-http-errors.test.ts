/**
 * Error answers of HR's lifecycle steps over HTTP, each from its real cause (the Temporal dev server,
 * real PostgreSQL, the SMTP capture): more requests in flight for one person than Temporal takes
 * (its per-workflow limit, lowered to 2 here) is 503 LIFECYCLE_BUSY with nothing done, and a mail
 * server that refuses the address (550) is 409 MAIL_REJECTED with nothing sent and no link left.
 */
import { randomUUID } from 'node:crypto';
import { lifecycleQuery, registrantWorkflowId, submitUpdate, type RegistrantWorkflowInput } from '../shared';
import { activityRunning, completeDraft, holdRow } from './support/lifecycle';
import { isTo } from './support/mail-gate';
import { expectProblem } from './support/problems';
import { createLocalEnv } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';
import { createTenant, type Agent } from './support/fixtures';

const TASK_QUEUE = 'lifecycle-http-errors';
/** Addresses the SMTP capture refuses at RCPT TO with 550, as a server refuses an unknown mailbox. */
const NO_MAILBOX = 'nobox-';

const harness = useWorkerHarness({
  taskQueue: TASK_QUEUE,
  env: () => createLocalEnv({ dynamicConfig: { 'history.maxInFlightUpdates': 2 } }),
  outbox: { rejectRecipient: (address) => address.startsWith(NO_MAILBOX) },
  // The API's own Temporal client (its retries decide what a refusal becomes), not the test's.
  apiOwnClient: true,
  // A minute to answer: the waiting requests get their outcomes (200, 409), never a 202, however slow the machine.
  stepAnswerWithinMs: 60_000,
});
let tenantId: string;
let hr: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社エラー応答');
  hr = await harness.agent(tenantId, 'manager', '人事 応答');
});

const operations = async (registrantId: string) => (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);

it('a third request while two wait for the person\'s turn: 503 LIFECYCLE_BUSY at once, nothing done; the two waiting are carried out in turn', async () => {
  const id = randomUUID();
  const workflowId = registrantWorkflowId(tenantId, id);
  const email = `busy-${id.slice(0, 8)}@example.co.jp`;
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '混雑', givenName: '一', email, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [] };
  const handle = await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to be open');
  await completeDraft(harness.prisma, id);
  await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });

  // The person's row held: the first remand waits inside its step, the second for its turn.
  const lock = await holdRow(id);
  const accepted = async () => ((await handle.fetchHistory()).events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
  const before = await accepted();
  const first = hr.post(`/v1/registrants/${id}/remand`).send({ reason: '写真が不鮮明です' }).then((r) => r);
  let second: typeof first | undefined;
  try {
    await activityRunning(handle, 'decide');
    second = hr.post(`/v1/registrants/${id}/remand`).send({ reason: '裏面がありません' }).then((r) => r);
    await until(async () => (await accepted()) === before + 2, 'both remands taken on');

    const started = Date.now();
    const third = await hr.post(`/v1/registrants/${id}/approval`).send({});
    expectProblem(third, 503, 'LIFECYCLE_BUSY');
    expect(third.body.title).toContain('混み合っています');
    expect(third.headers['retry-after']).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5000);
  } finally {
    await lock.release();
  }
  expect((await first).status).toBe(200);
  // Judged again when its turn came: the person is no longer pending.
  expectProblem((await second)!, 409, 'NOT_PENDING');
  expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'remanded', statusReason: '写真が不鮮明です' });
  expect((await operations(id)).filter((o) => ['approved', 'remanded'].includes(o))).toEqual(['remanded']);
  await handle.terminate('test finished');
});

it('a resend to an address the mail server refuses (550): 409 MAIL_REJECTED in Japanese, nothing delivered, no link left working', async () => {
  const email = `${NO_MAILBOX}${randomUUID().slice(0, 8)}@example.co.jp`;
  const created = await hr.post('/v1/registrants').send({ familyName: '宛先', givenName: '不明', email }).expect(201);
  const id = created.body.id as string;
  const handle = harness.env.client.workflow.getHandle(created.body.workflowId as string);
  // The first invitation met the same refusal in the workflow's loop: nothing to mail, not invited.
  await until(async () => !(await handle.query(lifecycleQuery)).mailDue, 'the first invitation tried');
  expect((await handle.query(lifecycleQuery)).invitation).toBeNull();

  const res = await hr.post(`/v1/registrants/${id}/invitation`).send({});
  expectProblem(res, 409, 'MAIL_REJECTED');
  expect(harness.outbox.mails.filter((m) => isTo(m, email))).toEqual([]);
  expect(await harness.prisma.invitation.count({ where: { registrantId: id, revokedAt: null } })).toBe(0);
  expect(await operations(id)).not.toContain('invitation_sent');
  await handle.terminate('test finished');
});
