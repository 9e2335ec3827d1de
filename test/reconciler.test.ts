/**
 * The reconciler (a Temporal Schedule running reconcilerWorkflow every minute) against a real Temporal
 * dev server, real PostgreSQL, SMTP capture and a real HTTP webhook receiver. Rounds here are scoped
 * to the test's tenant (files share one database):
 * - people stored while Temporal was down (a payroll sync against a client pointed at a closed port —
 *   the outage is outside the product) are queued with their invitation; a round started while
 *   Temporal still refuses leaves them queued, the first round after it answers starts each workflow
 *   as its start was meant, and each person gets exactly one invitation;
 * - a person queued without an intent (a retiree from CSV) gets the database state, without mail;
 * - a person stored without any running workflow (terminated by hand, or never started and never
 *   marked) is restored from the database state, recorded in the history;
 * - a webhook delivery left pending with no attempt is dispatched and delivered once;
 * - a tenant's changed reminder days are told to its people's workflows;
 * - the schedule: one for the deployment, every minute, overlapping rounds skipped, updated in place.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ScheduleOverlapPolicy } from '@temporalio/client';
import request from 'supertest';
import type { Prisma } from '../prisma/generated/client';
import { lifecycleQuery, RECONCILER_SCHEDULE_ID, registrantWorkflowId, upcomingQuery, type ReconcileReport } from '../shared';
import { enqueueEvent } from '../services/connectors/webhooks';
import { ensureReconcilerSchedule } from '../services/reconciler/schedule';
import { createReminderDaysSweep } from '../services/reconciler/reminder-days';
import { createRegistrantWorkflows, queuedInput } from '../services/registrants/workflow-starts';
import { createTemporalClient } from '../services/temporal/client';
import { createTenant, memoryLogger, testApp } from './support/fixtures';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'reconciler';
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE });
const nowhere = createTemporalClient('127.0.0.1:1', 'default');
let tenantId: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社リコンサイル');
});

afterAll(async () => {
  await nowhere.connection.close();
});

/** One reconciler round of this tenant, run as the schedule runs it (a workflow on the worker). */
const round = (client = harness.env.client): Promise<ReconcileReport> =>
  client.workflow.execute('reconcilerWorkflow', { taskQueue: TASK_QUEUE, workflowId: `round-${randomUUID()}`, args: [{ tenantId }], workflowExecutionTimeout: '2 minutes' });

const longAgo = () => new Date(Date.now() - 10 * 60_000);
/** Queued without an intent, as an operator marks people to start from the database state. */
const markWorkflowPending = (ids: string[]) => harness.prisma.$executeRaw`UPDATE registrants SET workflow_pending_since = now() WHERE id = ANY(${ids}::uuid[])`;

describe('the reconciler', () => {
  it('a payroll sync while Temporal is down stores the people queued with their invitation (200, each item queued); the first round after it answers invites each exactly once', async () => {
    const down = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: nowhere, taskQueue: TASK_QUEUE }).app;
    const owner = await harness.agent(tenantId, 'owner');
    const c = await owner.post('/v1/connectors').send({ name: '給与マスタ', scopes: ['registrants:write'] }).expect(201);
    const token = (await request(down).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token as string;
    const codes = ['RC1', 'RC2', 'RC3'];
    const emails = codes.map((code) => `${code.toLowerCase()}-${randomUUID().slice(0, 6)}@example.co.jp`);
    const res = await request(down)
      .post('/v1/registrants/batch')
      .auth(token, { type: 'bearer' })
      .send({ invite: true, items: codes.map((employeeCode, i) => ({ employeeCode, familyName: '保留', givenName: `${i + 1}`, email: emails[i] })) })
      .expect(200);
    expect(res.body).toMatchObject({ created: 3, queued: 3 });
    expect(res.body.items.map((i: { outcome: string; queued: boolean }) => [i.outcome, i.queued])).toEqual(codes.map(() => ['created', true]));
    // A new person's retirement date has no workflow to go to yet: not done (503), everyone stored; the same body again passes it on.
    const retiring = { employeeCode: 'RC4', familyName: '保留', givenName: '退職', retirementDate: '2027-03-31' };
    expect((await request(down).post('/v1/registrants/batch').auth(token, { type: 'bearer' }).send({ items: [retiring] }).expect(503)).body).toMatchObject({ code: 'TEMPORAL_UNAVAILABLE', title: expect.stringContaining('同じ内容で再送してください') });
    const retiree = await harness.prisma.registrant.findFirstOrThrow({ where: { tenantId, employeeCode: 'RC4' } });
    expect(retiree.workflowPendingSince).not.toBeNull();
    const up = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: harness.env.client, taskQueue: TASK_QUEUE }).app;
    const again = await request(up).post('/v1/registrants/batch').auth(token, { type: 'bearer' }).send({ items: [retiring] }).expect(200);
    expect(again.body).toMatchObject({ unchanged: 0, updated: 1, queued: 0 });
    expect(await harness.env.client.workflow.getHandle(retiree.workflowId).query(lifecycleQuery)).toMatchObject({ retirementDate: '2027-03-31' });
    const stored = await harness.prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: codes } }, orderBy: { employeeCode: 'asc' } });
    expect(stored.map((r) => r.employeeCode)).toEqual(codes);
    expect(stored.every((r) => r.workflowPendingSince !== null && (r.workflowStart as { invite: unknown }).invite !== false)).toBe(true);
    const view = await owner.get(`/v1/registrants/${stored[0]!.id}`).expect(200);
    expect(view.body.workflowQueued).toBe(true);

    const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
    const first = await round();
    expect(first).toMatchObject({ started: 3, waiting: 0, failed: [] });
    for (const r of stored) {
      const after = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } });
      expect(after).toMatchObject({ workflowPendingSince: null, workflowStart: null });
    }
    for (const email of emails) await harness.outbox.waitFor((m) => m.to.includes(email));
    expect(await round()).toMatchObject({ started: 0, waiting: 0, restored: 0 });
    await new Promise((r) => setTimeout(r, 500));
    expect(emails.map((e) => mailsTo(e).length)).toEqual([1, 1, 1]);
    expect((await owner.get(`/v1/registrants/${stored[0]!.id}`).expect(200)).body.workflowQueued).toBe(false);
  });

  it('while Temporal refuses, the backlog starts nobody and keeps every mark; the next round starts them', async () => {
    const id = randomUUID();
    await harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), familyName: '待機', givenName: '中', workflowPendingSince: new Date(), workflowStart: { invite: false } } });
    const { createWorkflowBacklog } = await import('../services/registrants/workflow-backlog');
    const backlog = createWorkflowBacklog({ prisma: harness.prisma, temporal: { client: nowhere, taskQueue: TASK_QUEUE }, inviteReminderDays: [7], startDeadlineMs: 1000 });
    expect(await backlog.run({ tenantId })).toEqual({ started: 0, waiting: 1 });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).workflowPendingSince).not.toBeNull();
    expect(await round()).toMatchObject({ started: 1, waiting: 0 });
    expect(await harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id)).query(lifecycleQuery)).toMatchObject({ status: 'unregistered', invitation: null });
  });

  it('queued people whose start Temporal refuses for good (an oversized start) are passed over: the ten queued after them still start', async () => {
    const make = (at: Date, workflowStart: Prisma.InputJsonValue) => {
      const id = randomUUID();
      return harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), familyName: '後続', givenName: '待ち', workflowPendingSince: at, workflowStart } });
    };
    // Oldest first, one per lane (8 starts at once): every lane meets a refusal first.
    const message = 'あ'.repeat(750_000); // over Temporal's 2 MB payload limit
    const bad = await Promise.all(Array.from({ length: 8 }, () => make(new Date(Date.now() - 60_000), { invite: { message } })));
    const rest = await Promise.all(Array.from({ length: 10 }, () => make(new Date(), { invite: false })));
    expect(await round()).toMatchObject({ started: 10, waiting: 8 });
    for (const r of rest) expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: r.id } })).toMatchObject({ workflowPendingSince: null });
    expect(await harness.prisma.registrant.count({ where: { id: { in: bad.map((r) => r.id) }, workflowPendingSince: { not: null } } })).toBe(8);
    await harness.prisma.registrant.deleteMany({ where: { id: { in: bad.map((r) => r.id) } } });
  });

  it('a retiree queued without an intent gets a workflow holding their retirement and deletion dates, without mail; one already started counts as started', async () => {
    const [retiree, active] = await Promise.all(
      [
        { familyName: '退職', givenName: '予定', email: `retiree-${randomUUID().slice(0, 6)}@example.co.jp`, retirementDate: new Date('2026-03-31'), retired: true, deletionDueDate: new Date('2033-01-11'), deletionRule: 'manual', status: 'completed' as const },
        { familyName: '在職', givenName: '中' },
      ].map((data) => {
        const id = randomUUID();
        return harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), ...data } });
      }),
    );
    await markWorkflowPending([retiree!.id, active!.id]);
    // Someone acted on the active one meanwhile: their workflow already runs.
    await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId: active!.workflowId, args: [{ tenantId, registrantId: active!.id, reminderDays: [], invite: false }] });

    expect(await round()).toMatchObject({ started: 2, waiting: 0 });
    const state = await harness.env.client.workflow.getHandle(retiree!.workflowId).query(lifecycleQuery);
    expect(state).toMatchObject({ status: 'completed', retired: true, retirementDate: '2026-03-31', deletion: { dueDate: '2033-01-11', rule: 'manual' } });
    expect(harness.outbox.mails.filter((m) => m.to.includes(retiree!.email!))).toEqual([]);
    // The row's updated_at is payroll's "changed since": starting a workflow changes nothing there.
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: retiree!.id } })).updatedAt).toEqual(retiree!.updatedAt);
  });

  it('HR acting on a person still queued starts their workflow as it was meant, the invitation once, and carries out the step; the next round has nothing to do', async () => {
    const id = randomUUID();
    const email = `queued-step-${id.slice(0, 6)}@example.co.jp`;
    const workflowId = registrantWorkflowId(tenantId, id);
    // Stored by a bulk entry whose process died before the start (or Temporal was away).
    await harness.prisma.registrant.create({ data: { id, tenantId, workflowId, familyName: '保留', givenName: '退職', email, workflowPendingSince: new Date(), workflowStart: { invite: {} } } });
    const hr = await harness.agent(tenantId, 'owner');
    const res = await hr.put(`/v1/registrants/${id}/retirement`).send({ retirementDate: '2027-03-31' }).expect(200);
    expect(res.body).toMatchObject({ retirementDate: '2027-03-31', workflowQueued: false });
    await harness.outbox.waitFor((m) => m.to.includes(email));
    // The mail server accepts before the workflow hears back from the activity: wait for the workflow too.
    const handle = harness.env.client.workflow.getHandle(workflowId);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to be recorded open');
    expect(await handle.query(lifecycleQuery)).toMatchObject({ retirementDate: '2027-03-31', invitation: { round: 1, state: 'open' } });
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ workflowPendingSince: null, workflowStart: null });
    expect(await round()).toMatchObject({ started: 0, restored: 0 });
    await new Promise((r) => setTimeout(r, 500));
    expect(harness.outbox.mails.filter((m) => m.to.includes(email))).toHaveLength(1);
  });

  it('restores the workflow of a person stored without one (never started, or terminated by hand) from the database state, and records it', async () => {
    const make = async (data: Omit<Prisma.RegistrantUncheckedCreateInput, 'id' | 'tenantId' | 'workflowId'>) => {
      const id = randomUUID();
      return harness.prisma.registrant.create({ data: { id, tenantId, workflowId: registrantWorkflowId(tenantId, id), createdAt: longAgo(), ...data } });
    };
    const never = await make({ familyName: '孤児', givenName: '一', status: 'completed', retirementDate: new Date('2026-01-31'), retired: true, deletionDueDate: new Date('2033-02-01'), deletionRule: 'manual' });
    const terminated = await make({ familyName: '孤児', givenName: '二' });
    const fine = await make({ familyName: '健在', givenName: '三' });
    await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId: terminated.workflowId, args: [{ tenantId, registrantId: terminated.id, reminderDays: [], invite: false }] });
    await harness.env.client.workflow.getHandle(terminated.workflowId).terminate('an operator stopped it by mistake');
    const healthy = await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId: fine.workflowId, args: [{ tenantId, registrantId: fine.id, reminderDays: [], invite: false }] });
    // Just added (its start may be in flight): left alone.
    const fresh = await harness.prisma.registrant.create({ data: { id: randomUUID(), tenantId, workflowId: `registrant-${tenantId}-fresh-${randomUUID()}`, familyName: '新規', givenName: '四' } });

    const report = await round();
    expect(report.restored).toBe(2);
    expect(report.failed).toEqual([]);
    expect(await harness.env.client.workflow.getHandle(never.workflowId).query(lifecycleQuery)).toMatchObject({ status: 'completed', retired: true, deletion: { dueDate: '2033-02-01' } });
    expect((await harness.env.client.workflow.getHandle(terminated.workflowId).describe()).status.name).toBe('RUNNING');
    expect((await healthy.describe()).runId).toBe(healthy.firstExecutionRunId);
    await expect(harness.env.client.workflow.getHandle(fresh.workflowId).describe()).rejects.toThrow();
    const events = await harness.prisma.operationEvent.findMany({ where: { tenantId, operation: 'workflow_restored' } });
    expect(events.map((e) => e.registrantId).sort()).toEqual([never.id, terminated.id].sort());
    expect(await round()).toMatchObject({ restored: 0 });
  });

  it('dispatches a webhook delivery left pending with no attempt (its writer died before starting it); one delivery', async () => {
    const received: string[] = [];
    const receiver = http.createServer((req, res) => {
      received.push(req.headers['mynaflow-delivery'] as string);
      res.end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const owner = await harness.agent(tenantId, 'owner');
      const c = await owner.post('/v1/connectors').send({ name: '給与 webhook', scopes: ['registrants:read'] }).expect(201);
      const token = (await request(harness.app).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token as string;
      await request(harness.app).post('/v1/webhooks').auth(token, { type: 'bearer' }).send({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, events: ['registrant_completed'] }).expect(201);
      const [deliveryId] = await harness.prisma.$transaction((tx) => enqueueEvent(tx, tenantId, 'registrant_completed', { registrantId: randomUUID(), status: 'completed' }, `test/${randomUUID()}`));
      // Written a while ago and never started.
      await harness.prisma.webhookDelivery.update({ where: { id: deliveryId! }, data: { createdAt: longAgo() } });
      expect(await round()).toMatchObject({ dispatched: 1 });
      await until(async () => (await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: deliveryId! } })).status === 'delivered', 'the delivery');
      expect(await round()).toMatchObject({ dispatched: 0 });
      expect(received).toEqual([deliveryId]);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('a change of the tenant\'s reminder days reaches the people already invited: a round tells their workflows and clears the mark', async () => {
    const owner = await harness.agent(tenantId, 'owner');
    const hr = await harness.agent(tenantId, 'manager');
    const email = `days-${randomUUID().slice(0, 6)}@example.co.jp`;
    const person = (await hr.post('/v1/registrants').send({ familyName: '日数', givenName: '変更', email }).expect(201)).body as { id: string; workflowId: string };
    const handle = harness.env.client.workflow.getHandle(person.workflowId);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
    const invitedAt = Date.parse((await handle.query(lifecycleQuery)).invitation!.invitedAt);
    const firstReminder = async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at;
    expect(await firstReminder()).toBe(new Date(invitedAt + 7 * 86_400_000).toISOString());

    await owner.patch('/v1/tenant').send({ reminderDays: [2, 40] }).expect(200);
    // Until a round runs, the person keeps the old days.
    expect(await firstReminder()).toBe(new Date(invitedAt + 7 * 86_400_000).toISOString());
    // A round whose Temporal is away (a client pointed at a closed port) fails and keeps the mark: nothing is lost.
    const away = createReminderDaysSweep({ prisma: harness.prisma, client: nowhere, inviteReminderDays: [7, 30, 80], logger: memoryLogger().logger });
    await expect(away.run({ tenantId })).rejects.toThrow(/could not be told/);
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).reminderDaysChangedAt).not.toBeNull();
    const report = await round();
    expect(report.reminderDaysTold).toBeGreaterThanOrEqual(1);
    expect(report.failed).not.toContain('tellReminderDays');
    expect(await firstReminder()).toBe(new Date(invitedAt + 2 * 86_400_000).toISOString());
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).reminderDaysChangedAt).toBeNull();
    // Nothing marked, nobody told again.
    expect((await round()).reminderDaysTold).toBe(0);
    await owner.patch('/v1/tenant').send({ reminderDays: [7, 30, 80] }).expect(200);
    await round();
  });

  it('someone whose workflow starts with the days read before a change, after the sweep passed them by, is told by the next round', async () => {
    const t = await createTenant(harness.prisma, '株式会社日数競合');
    const owner = await harness.agent(t, 'owner');
    const workflows = createRegistrantWorkflows({ prisma: harness.prisma, temporal: { client: harness.env.client, taskQueue: TASK_QUEUE }, inviteReminderDays: [7, 30, 80] });
    const sweep = createReminderDaysSweep({ prisma: harness.prisma, client: harness.env.client, inviteReminderDays: [7, 30, 80], logger: memoryLogger().logger });
    // A create stored the person (their start queued) after reading the tenant's days: 7, 30, 80.
    const id = randomUUID();
    const row = await harness.prisma.registrant.create({
      data: { id, tenantId: t, familyName: '日数', givenName: '競合', email: `race-${id.slice(0, 6)}@example.co.jp`, workflowId: registrantWorkflowId(t, id), workflowPendingSince: new Date(), workflowStart: { invite: {} } },
    });
    // The owner changes the days and the sweep runs before the person's workflow exists: it finds
    // no workflow to tell and clears the tenant's mark.
    await owner.patch('/v1/tenant').send({ reminderDays: [2, 40] }).expect(200);
    expect(await sweep.run({ tenantId: t })).toEqual({ told: 0 });
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: t } })).reminderDaysChangedAt).toBeNull();

    // The create's start goes out with the days it read.
    expect(await workflows.startQueued([queuedInput(row, [7, 30, 80])])).toEqual(new Set());
    const handle = harness.env.client.workflow.getHandle(row.workflowId);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
    const invitedAt = Date.parse((await handle.query(lifecycleQuery)).invitation!.invitedAt);
    const firstReminder = async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at;
    expect(await firstReminder()).toBe(new Date(invitedAt + 7 * 86_400_000).toISOString());
    // Confirming the start found the days stale: the tenant is marked again, the start mark cleared.
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: t } })).reminderDaysChangedAt).not.toBeNull();
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).workflowPendingSince).toBeNull();

    // The next sweep tells them: the first reminder on day 2.
    expect(await sweep.run({ tenantId: t })).toEqual({ told: 1 });
    expect(await firstReminder()).toBe(new Date(invitedAt + 2 * 86_400_000).toISOString());
    // A start with the tenant's current days marks nothing.
    expect(await workflows.confirmStarts([{ tenantId: t, reminderDays: [2, 40] }], [])).toBe(0);
    expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: t } })).reminderDaysChangedAt).toBeNull();
    await handle.terminate('test finished');
  });

  it('a start Temporal took but never confirmed, made with the days read before a change: the backlog\'s start finds it running, tells it the new days and clears the mark', async () => {
    const t = await createTenant(harness.prisma, '株式会社日数未確認');
    const owner = await harness.agent(t, 'owner');
    const workflows = createRegistrantWorkflows({ prisma: harness.prisma, temporal: { client: harness.env.client, taskQueue: TASK_QUEUE }, inviteReminderDays: [7, 30, 80] });
    const sweep = createReminderDaysSweep({ prisma: harness.prisma, client: harness.env.client, inviteReminderDays: [7, 30, 80], logger: memoryLogger().logger });
    const { createWorkflowBacklog } = await import('../services/registrants/workflow-backlog');
    const backlog = createWorkflowBacklog({ prisma: harness.prisma, temporal: { client: harness.env.client, taskQueue: TASK_QUEUE }, inviteReminderDays: [7, 30, 80] });
    const id = randomUUID();
    const row = await harness.prisma.registrant.create({
      data: { id, tenantId: t, familyName: '日数', givenName: '未確認', email: `unconfirmed-${id.slice(0, 6)}@example.co.jp`, workflowId: registrantWorkflowId(t, id), workflowPendingSince: new Date(), workflowStart: { invite: {} } },
    });
    await owner.patch('/v1/tenant').send({ reminderDays: [2, 40] }).expect(200);
    expect(await sweep.run({ tenantId: t })).toEqual({ told: 0 });
    // The create's start reached Temporal with the old days, and its process died before hearing so:
    // the mark stays, nothing was checked.
    expect(await workflows.start(queuedInput(row, [7, 30, 80]))).toBe(true);
    const handle = harness.env.client.workflow.getHandle(row.workflowId);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
    const invitedAt = Date.parse((await handle.query(lifecycleQuery)).invitation!.invitedAt);
    const firstReminder = async () => (await handle.query(upcomingQuery)).find((u) => u.kind === 'reminder')?.at;
    expect(await firstReminder()).toBe(new Date(invitedAt + 7 * 86_400_000).toISOString());

    // The backlog starts the queued person again: already running, told the tenant's days, mark cleared.
    expect(await backlog.run({ tenantId: t })).toEqual({ started: 1, waiting: 0 });
    await until(async () => (await firstReminder()) === new Date(invitedAt + 2 * 86_400_000).toISOString(), 'the first reminder on day 2');
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).workflowPendingSince).toBeNull();
    expect(harness.outbox.mails.filter((m) => m.to.includes(row.email!))).toHaveLength(1);
    await handle.terminate('test finished');
  });

  it('the schedule: one for the deployment, a round a minute, overlapping rounds skipped; a worker starting again updates it in place', async () => {
    const client = harness.env.client;
    // A task queue no worker polls: the schedule's rounds would touch the whole shared database.
    await ensureReconcilerSchedule(client, 'reconciler-unpolled');
    // The worker starting again comes later: a round's workflow id carries the second it was asked
    // for, so two asked within one second are one round.
    await new Promise((r) => setTimeout(r, 1100));
    await ensureReconcilerSchedule(client, 'reconciler-unpolled', 30);
    const described = await client.schedule.getHandle(RECONCILER_SCHEDULE_ID).describe();
    expect(described.spec.intervals).toEqual([expect.objectContaining({ every: 30_000 })]);
    expect(described.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcilerWorkflow', taskQueue: 'reconciler-unpolled' });
    const schedules: string[] = [];
    for await (const s of client.schedule.list()) schedules.push(s.scheduleId);
    expect(schedules.filter((s) => s === RECONCILER_SCHEDULE_ID)).toHaveLength(1);
    // A round at once on create and again on each update (a worker starting after a deploy or an
    // outage); the second is skipped here only because the first, on a queue nobody polls, still runs.
    await until(async () => {
      const { numActionsTaken, numActionsSkippedOverlap } = (await client.schedule.getHandle(RECONCILER_SCHEDULE_ID).describe()).info;
      return numActionsTaken + numActionsSkippedOverlap >= 2;
    }, 'a round asked for on create and on update');
    await client.schedule.getHandle(RECONCILER_SCHEDULE_ID).delete();
  });
});
