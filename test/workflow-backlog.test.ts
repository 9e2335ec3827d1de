/**
 * People stored while Temporal was unreachable get their workflows from the worker's backlog once it
 * answers again: a payroll sync against an API whose Temporal is down (a client pointed at a closed
 * port — the outage is outside the product) answers 503 after storing the people and marks them;
 * the backlog, run against a real Temporal dev server, starts their workflows with the state the
 * database holds (a retirement date and deletion due date included), sends no mail, and leaves the
 * row's updated_at alone. While Temporal still refuses, the people stay marked.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { lifecycleQuery, registrantWorkflowId } from '../shared';
import { createWorkflowBacklog, markWorkflowPending, scheduleWorkflowBacklog } from '../services/registrants/workflow-backlog';
import { createTemporalClient } from '../services/temporal/client';
import { createTenant, memoryLogger, testApp } from './support/fixtures';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'workflow-backlog';
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE });
const nowhere = createTemporalClient('127.0.0.1:1', 'default');
let tenantId: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社バックログ');
});

afterAll(async () => {
  await nowhere.connection.close();
});

const backlog = (client = harness.env.client, logger = memoryLogger().logger) =>
  createWorkflowBacklog({ prisma: harness.prisma, temporal: { client, taskQueue: TASK_QUEUE }, inviteReminderDays: [7], startDeadlineMs: 2000, logger });

describe('the workflow backlog', () => {
  it('a payroll sync while Temporal is down stores and marks the people (503); the backlog starts their workflows once it answers, without mail', async () => {
    const down = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: nowhere, taskQueue: TASK_QUEUE }).app;
    const owner = await harness.agent(tenantId, 'owner');
    const c = await owner.post('/v1/connectors').send({ name: '給与マスタ', scopes: ['registrants:write'] }).expect(201);
    const token = (await request(down).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token as string;
    const codes = ['BL1', 'BL2', 'BL3'];
    const res = await request(down)
      .post('/v1/registrants/batch')
      .auth(token, { type: 'bearer' })
      .send({ invite: true, items: codes.map((employeeCode, i) => ({ employeeCode, familyName: '保留', givenName: `${i + 1}`, email: `bl${i}-${randomUUID().slice(0, 6)}@example.co.jp` })) })
      .expect(503);
    expect(res.body).toMatchObject({ code: 'TEMPORAL_UNAVAILABLE', title: expect.stringContaining('接続が戻りしだい自動で開始します') });
    const stored = await harness.prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: codes } }, orderBy: { employeeCode: 'asc' } });
    expect(stored.map((r) => r.employeeCode)).toEqual(codes);
    expect(stored.every((r) => r.workflowPendingSince !== null)).toBe(true);

    // Still down: nobody is started and nobody loses their mark.
    expect(await backlog(nowhere).run({ tenantId })).toEqual({ started: 0, waiting: 3 });

    const mailsBefore = harness.outbox.mails.length;
    expect(await backlog().run({ tenantId })).toEqual({ started: 3, waiting: 0 });
    for (const r of stored) {
      const state = await harness.env.client.workflow.getHandle(r.workflowId).query(lifecycleQuery);
      expect(state).toMatchObject({ status: 'unregistered', invitation: null, deleted: false });
      const after = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
      expect(after.workflowPendingSince).toBeNull();
      expect(after.updatedAt).toEqual(r.updatedAt);
    }
    // HR decides when to invite; the backlog never mails anyone.
    expect(harness.outbox.mails.slice(mailsBefore).filter((m) => stored.some((r) => m.to.includes(r.email!)))).toEqual([]);
    expect(await backlog().run({ tenantId })).toEqual({ started: 0, waiting: 0 });
  });

  it('a retiree stored without a workflow gets one that holds their retirement and deletion dates; one already started counts as started', async () => {
    const [retiree, active] = await Promise.all(
      [
        { familyName: '退職', givenName: '予定', retirementDate: new Date('2026-03-31'), retired: true, deletionDueDate: new Date('2033-01-11'), deletionRule: 'manual', status: 'completed' as const },
        { familyName: '在職', givenName: '中' },
      ].map((data) => {
        const id = randomUUID();
        return harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), ...data } });
      }),
    );
    await markWorkflowPending(harness.prisma, [retiree!.id, active!.id]);
    // Someone acted on the active one meanwhile: their workflow already runs.
    await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId: active!.workflowId, args: [{ tenantId, registrantId: active!.id, reminderDays: [], invite: false }] });

    expect(await backlog().run({ tenantId })).toEqual({ started: 2, waiting: 0 });
    const state = await harness.env.client.workflow.getHandle(retiree!.workflowId).query(lifecycleQuery);
    expect(state).toMatchObject({ status: 'completed', retired: true, retirementDate: '2026-03-31', deletion: { dueDate: '2033-01-11', rule: 'manual' } });
  });

  it("the worker's schedule runs a round at once (a worker that starts after an outage does not wait a minute) and stops cleanly", async () => {
    const id = randomUUID();
    await harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), familyName: '起動', givenName: '直後' } });
    await markWorkflowPending(harness.prisma, [id]);
    const { logger, lines } = memoryLogger();
    const schedule = scheduleWorkflowBacklog(backlog(harness.env.client, logger), 3_600_000, logger);
    await until(async () => (await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).workflowPendingSince === null, 'the first round');
    await schedule.stop();
    expect(await harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id)).query(lifecycleQuery)).toMatchObject({ status: 'unregistered' });
    expect(lines.join('\n')).toContain('registrant workflows started from the backlog');
  });
});
