/**
 * Operators' view and actions on a real Temporal dev server (visibility queries), the worker,
 * PostgreSQL and the SMTP capture: the search attributes a start sets before any worker ran; paused
 * mail waits as a retrying step the attention list shows, HR's sends are refused meanwhile, and
 * resuming sends it at once (not after its back-off); HR sends a reminder now and extends a link; a
 * terminated workflow is revived; a failed webhook is redelivered. Each action is in the history,
 * and only owners may act.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { components } from '../api/generated/openapi';
import { createRegistrantWorkflows } from '../services/registrants/workflow-starts';
import { lifecycleQuery, registrantWorkflowId, SEARCH_ATTRIBUTES, webhookDeliveryWorkflowId } from '../shared';
import { createTenant, testVault, type Agent } from './support/fixtures';
import { testKeyring } from './support/keys';
import { mailGate } from './support/mail-gate';
import { runOps } from './support/ops-cli';
import { expectProblem } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

type Attention = components['schemas']['OperatorAttention'];
const TASK_QUEUE = 'operator-actions';
const gate = mailGate();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, outbox: { decide: gate.decide } });
let tenantId: string;
let otherTenantId: string;
let owner: Agent;
let hr: Agent;
let viewer: Agent;
let otherOwner: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社オペレーター');
  otherTenantId = await createTenant(harness.prisma, '別会社オペレーター');
  [owner, hr, viewer, otherOwner] = await Promise.all([
    harness.agent(tenantId, 'owner', '運用 太郎'),
    harness.agent(tenantId, 'manager', '人事 花子'),
    harness.agent(tenantId, 'viewer'),
    harness.agent(otherTenantId, 'owner'),
  ]);
});

const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
const attention = async () => (await owner.get('/v1/operator/attention').expect(200)).body as Attention;
const operations = async (registrantId: string | null, operation: string) =>
  harness.prisma.operationEvent.findMany({ where: { tenantId, operation, ...(registrantId ? { registrantId } : {}) }, orderBy: { id: 'asc' } });

async function add(label: string) {
  const email = `op-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName: '運用', givenName: label, email }).expect(201);
  return { id: res.body.id as string, workflowId: res.body.workflowId as string, email, handle: harness.env.client.workflow.getHandle(res.body.workflowId as string) };
}

it('sets the search attributes in the start request: a workflow no worker has run yet is already findable by tenant, status and next timer', async () => {
  const id = randomUUID();
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '属性', givenName: '先行', email: 'sa@example.co.jp', workflowId: registrantWorkflowId(tenantId, id) } });
  // A task queue no worker polls: only the start request can have set them.
  const workflows = createRegistrantWorkflows({ prisma: harness.prisma, temporal: { client: harness.env.client, taskQueue: 'nobody-polls-this' }, inviteReminderDays: [7] });
  expect(await workflows.start({ tenantId, registrantId: id, reminderDays: [7] })).toBe(true);
  const handle = harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id));
  try {
    const described = await handle.describe();
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.tenant)).toBe(tenantId);
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.status)).toBe('unregistered');
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.needsAttention)).toBe(false);
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.nextTimerKind)).toBe('invitation-mail');
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.nextTimerAt)).toBeInstanceOf(Date);
    expect(described.historyLength).toBeLessThanOrEqual(2); // started, first task scheduled: nothing ran
    expect(await described.staticSummary()).toContain(id);
    await until(async () => (await harness.env.client.workflow.count(`MynaflowTenant = '${tenantId}' AND MynaflowNextTimerKind = 'invitation-mail' AND WorkflowId = '${handle.workflowId}'`)).count === 1, 'visibility to list it');
  } finally {
    await handle.terminate('test over');
    await harness.prisma.registrant.delete({ where: { id } });
  }
});

it('keeps the next timer through the first round: while the invitation is being mailed it is still the one due', async () => {
  const email = `op-${randomUUID().slice(0, 8)}@example.co.jp`;
  const held = gate.holdFirstMailTo(email);
  try {
    const res = await hr.post('/v1/registrants').send({ familyName: '運用', givenName: '初回', email }).expect(201);
    await held.held;
    // The worker has run the first task (the mail activity is under way): what it published stands.
    const described = await harness.env.client.workflow.getHandle(res.body.workflowId as string).describe();
    expect(described.raw.pendingActivities?.length).toBe(1);
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.nextTimerKind)).toBe('invitation-mail');
  } finally {
    held.release('accept');
    gate.clear();
  }
});

it('only owners see and use the operator routes; another tenant cannot reach this one’s people', async () => {
  const { id } = await add('権限');
  for (const agent of [hr, viewer]) {
    await agent.get('/v1/operator/attention').expect(403);
    await agent.put('/v1/operator/mail-pause').send({ paused: true }).expect(403);
    await agent.post(`/v1/operator/registrants/${id}/retry`).expect(403);
    await agent.post(`/v1/operator/registrants/${id}/revival`).expect(403);
    await agent.post(`/v1/operator/webhook-deliveries/${randomUUID()}/redelivery`).expect(403);
  }
  await viewer.post(`/v1/registrants/${id}/reminder`).expect(403);
  await viewer.post(`/v1/registrants/${id}/invitation/extension`).send({ days: 10 }).expect(403);
  await otherOwner.post(`/v1/operator/registrants/${id}/retry`).expect(404);
  await otherOwner.post(`/v1/operator/registrants/${id}/revival`).expect(404);
  expect((await harness.prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).mailPausedAt).toBeNull();
});

it('paused mail waits as a retrying step the operator sees; HR’s sends are refused meanwhile; resuming sends it at once, before its back-off', async () => {
  expect((await owner.put('/v1/operator/mail-pause').send({ paused: true }).expect(200)).body).toEqual({ paused: true, retried: 0 });
  const p = await add('一時停止');
  // The invitation's step fails with MailPaused and waits out its back-off.
  let waiting: Attention['workflows'][number] | undefined;
  await until(async () => {
    waiting = (await attention()).workflows.find((w) => w.registrantId === p.id);
    return Boolean(waiting?.steps?.length);
  }, 'the paused invitation in the attention list', 30_000);
  expect(waiting).toMatchObject({ name: '運用 一時停止', state: 'retrying', steps: [expect.objectContaining({ kind: 'invitation-mail', label: '登録依頼メール', attention: expect.objectContaining({ errorType: 'MailPaused', rounds: 1 }) })] });
  const retryAt = Date.parse(waiting!.steps![0]!.attention!.retryAt!);
  expect((await attention()).mailPause).toEqual({ since: expect.any(String), by: '運用 太郎' });
  expect(mailsTo(p.email)).toHaveLength(0);
  // HR is told why, in Japanese, and nothing is done.
  expectProblem(await hr.post(`/v1/registrants/${p.id}/invitation`).send({}), 409, 'MAIL_PAUSED');

  const resumed = (await owner.put('/v1/operator/mail-pause').send({ paused: false }).expect(200)).body as { retried: number };
  expect(resumed).toEqual({ paused: false, retried: 1 });
  const mail = await harness.outbox.waitFor((m) => m.to.includes(p.email), 30_000);
  expect(mail.receivedAt.getTime()).toBeLessThan(retryAt);
  await until(async () => (await p.handle.query(lifecycleQuery)).invitation?.state === 'open', 'the round to begin');
  expect((await p.handle.query(lifecycleQuery)).attention).toEqual({});
  expect((await attention()).workflows.find((w) => w.registrantId === p.id)).toBeUndefined();
  expect((await operations(null, 'mail_paused')).map((e) => e.actorLabel)).toEqual(['運用 太郎']);
  expect((await operations(null, 'mail_resumed')).map((e) => e.actorLabel)).toEqual(['運用 太郎']);
  expect((await operations(p.id, 'retry_requested')).map((e) => e.actorLabel)).toEqual(['運用 太郎']);
  // Nothing waits any more: a retry now is refused with the reason.
  expectProblem(await owner.post(`/v1/operator/registrants/${p.id}/retry`), 409, 'NOTHING_TO_RETRY');
});

it('a retry now that races a withdrawal leaves nothing waiting: the step no longer due leaves the attention list; two pauses at once are one', async () => {
  const pausesBefore = (await operations(null, 'mail_paused')).length;
  const pauses = await Promise.all([owner.put('/v1/operator/mail-pause').send({ paused: true }), owner.put('/v1/operator/mail-pause').send({ paused: true })]);
  expect(pauses.map((r) => r.status)).toEqual([200, 200]);
  expect(await operations(null, 'mail_paused')).toHaveLength(pausesBefore + 1);
  try {
    const p = await add('取り下げ競合');
    await until(async () => Boolean((await attention()).workflows.find((w) => w.registrantId === p.id)?.steps?.length), 'the paused invitation in the attention list', 30_000);
    // Both reach the workflow in one go: whichever runs first, the mail step is no longer due after.
    const [retried, withdrawn] = await Promise.all([owner.post(`/v1/operator/registrants/${p.id}/retry`), hr.post(`/v1/registrants/${p.id}/withdraw`).send({})]);
    // The withdrawal may have settled the step before the retry was judged: then there is nothing to retry.
    expect(withdrawn.status).toBe(200);
    if (retried.status !== 200) expectProblem(retried, 409, 'NOTHING_TO_RETRY');
    await until(async () => Object.keys((await p.handle.query(lifecycleQuery)).attention ?? {}).length === 0, 'the withdrawn step to stop waiting', 30_000);
    expect((await attention()).workflows.find((w) => w.registrantId === p.id)).toBeUndefined();
    expectProblem(await owner.post(`/v1/operator/registrants/${p.id}/retry`), 409, 'NOTHING_TO_RETRY');
    expect(mailsTo(p.email)).toHaveLength(0);
  } finally {
    await owner.put('/v1/operator/mail-pause').send({ paused: false }).expect(200);
  }
});

it('HR sends the next reminder now (not again on its day) and extends the open link, both recorded', async () => {
  const p = await add('リマインド');
  await harness.outbox.waitFor((m) => m.to.includes(p.email), 15_000);
  await until(async () => (await p.handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
  const before = (await p.handle.query(lifecycleQuery)).invitation!;

  await hr.post(`/v1/registrants/${p.id}/reminder`).expect(200);
  await until(async () => mailsTo(p.email).length === 2, 'the reminder');
  expect((await p.handle.query(lifecycleQuery)).invitation).toMatchObject({ round: 1, remindersSent: 1 });
  // The reminder due next is now the second one, on its own day.
  const upcoming = (await hr.get(`/v1/registrants/${p.id}/timeline`).expect(200)).body.upcoming as { name: string; kind: string }[];
  expect(upcoming.map((u) => [u.name, u.kind])).toContainEqual(['reminder-1-2', 'reminder']);
  expect((await operations(p.id, 'reminder_sent')).map((e) => e.actorLabel)).toEqual(['人事 花子']);

  expectProblem(await hr.post(`/v1/registrants/${p.id}/invitation/extension`).send({ days: 0 }), 400, 'VALIDATION_FAILED');
  const extended = await hr.post(`/v1/registrants/${p.id}/invitation/extension`).send({ days: 30 }).expect(200);
  // At most a new link's 90 days from now: later than before, the live links too.
  const expiresAt = Date.parse((await p.handle.query(lifecycleQuery)).invitation!.expiresAt);
  expect(expiresAt).toBeGreaterThan(Date.parse(before.expiresAt));
  expect(expiresAt).toBeLessThanOrEqual(Date.now() + 90 * 86_400_000);
  expect(extended.body.invitation?.expiresAt ?? extended.body.invitationExpiresAt).toBeDefined();
  const links = await harness.prisma.invitation.findMany({ where: { registrantId: p.id, revokedAt: null } });
  expect(links.length).toBeGreaterThan(0);
  for (const l of links) expect(l.expiresAt.getTime()).toBe(expiresAt);
  // HR sees both in the person's 経過.
  const timeline = (await hr.get(`/v1/registrants/${p.id}/timeline`).expect(200)).body as { past: { operation: string; actor: { label: string | null } }[] };
  expect(timeline.past.filter((e) => e.operation === 'link_extended').map((e) => e.actor.label)).toEqual(['人事 花子']);
  expect((await operations(p.id, 'link_extended')).map((e) => [e.actorLabel, (e.detail as { expiresAt: string }).expiresAt])).toEqual([['人事 花子', new Date(expiresAt).toISOString()]]);

  // No live link: nothing to extend.
  await hr.post(`/v1/registrants/${p.id}/withdraw`).expect(200);
  expectProblem(await hr.post(`/v1/registrants/${p.id}/invitation/extension`).send({ days: 10 }), 409, 'LINK_NOT_OPEN');
  expectProblem(await hr.post(`/v1/registrants/${p.id}/reminder`), 409, 'LINK_NOT_OPEN');
});

it('a terminated workflow shows in the attention list and is revived from the database state, recorded; a running one is not', async () => {
  const p = await add('復旧');
  await harness.outbox.waitFor((m) => m.to.includes(p.email), 15_000);
  await until(async () => (await p.handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
  await p.handle.terminate('operator test: lost workflow');
  await until(async () => (await attention()).workflows.some((w) => w.registrantId === p.id && w.state === 'terminated'), 'the terminated workflow listed', 30_000);

  expect((await owner.post(`/v1/operator/registrants/${p.id}/revival`).expect(200)).body).toEqual({ workflowId: p.workflowId });
  expect((await p.handle.describe()).status.name).toBe('RUNNING');
  // It carries on from the database: the link is open, no second invitation mail.
  await until(async () => (await p.handle.query(lifecycleQuery)).invitation?.state === 'open', 'the state carried over');
  expect(mailsTo(p.email)).toHaveLength(1);
  await until(async () => !(await attention()).workflows.some((w) => w.registrantId === p.id), 'the revived person off the list', 30_000);
  expect((await operations(p.id, 'workflow_restored')).map((e) => e.actorLabel)).toEqual(['運用 太郎']);
  expectProblem(await owner.post(`/v1/operator/registrants/${p.id}/revival`), 409, 'WORKFLOW_RUNNING');
});

it('a revived workflow\'s steps are its own: HR\'s same status change as the lost workflow\'s first (same reason, same place) is carried out again, not taken for done', async () => {
  const p = await add('再鍵');
  await until(async () => (await p.handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
  await hr.post(`/v1/registrants/${p.id}/status`).send({ status: 'refused', reason: '提供拒否の申出' }).expect(200);
  await hr.post(`/v1/registrants/${p.id}/status`).send({ status: 'unregistered', reason: '申出の撤回' }).expect(200);
  await p.handle.terminate('operator test: lost workflow');
  await owner.post(`/v1/operator/registrants/${p.id}/revival`).expect(200);

  // The revived run's first status change, with the lost run's first one's arguments.
  expect((await hr.post(`/v1/registrants/${p.id}/status`).send({ status: 'refused', reason: '提供拒否の申出' }).expect(200)).body).toMatchObject({ status: 'refused' });
  expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: p.id } })).toMatchObject({ status: 'refused' });
  expect((await operations(p.id, 'status_changed')).map((e) => (e.detail as { to?: string }).to)).toEqual(['refused', 'unregistered', 'refused']);
});

it('a failed webhook delivery is listed and redelivered from its first attempt, recorded; a delivered one and another tenant’s are refused', async () => {
  const received: string[] = [];
  const refusedIds: string[] = [];
  let failing = false;
  const receiver = http.createServer((req, res) => {
    const id = String(req.headers['mynaflow-delivery']);
    if (failing) {
      refusedIds.push(id);
      res.statusCode = 500;
    } else received.push(id);
    res.end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const apiClient = await harness.prisma.apiClient.create({ data: { tenantId, name: '運用給与', clientId: `mfc_${randomUUID()}`, secretHash: 'x', scopes: ['registrants:read'] } });
    const secretId = await testVault(harness.prisma).seal({ tenantId, kind: 'webhook_secret', plaintext: Buffer.from('whsec_operator') });
    const hook = await harness.prisma.webhook.create({ data: { tenantId, apiClientId: apiClient.id, url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['registrant_completed'], secretId } });
    const failed = await harness.prisma.webhookDelivery.create({ data: { webhookId: hook.id, event: 'registrant_completed', payload: { registrantId: randomUUID() }, status: 'failed', attempts: 10, lastError: 'HTTP 500' } });

    const listed = (await attention()).webhookDeliveries.find((d) => d.id === failed.id);
    expect(listed).toMatchObject({ status: 'failed', attempts: 10, lastError: 'HTTP 500', event: 'registrant_completed' });
    await otherOwner.post(`/v1/operator/webhook-deliveries/${failed.id}/redelivery`).expect(404);

    expect((await owner.post(`/v1/operator/webhook-deliveries/${failed.id}/redelivery`).expect(202)).body).toEqual({ status: 'started' });
    await until(async () => (await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: failed.id } })).status === 'delivered', 'the redelivery', 30_000);
    expect(received).toEqual([failed.id]);
    expect((await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: failed.id } })).attempts).toBe(1);
    expect((await operations(null, 'webhook_redelivered')).map((e) => [e.actorLabel, (e.detail as { deliveryId: string; previousAttempts: number }).previousAttempts])).toEqual([['運用 太郎', 10]]);
    expectProblem(await owner.post(`/v1/operator/webhook-deliveries/${failed.id}/redelivery`), 409, 'DELIVERY_NOT_FAILING');

    // A delivery whose workflow is backing off (the receiver answered 500): its run is stopped first,
    // the new one delivers at once, and only once.
    failing = true;
    const backingOff = await harness.prisma.webhookDelivery.create({ data: { webhookId: hook.id, event: 'registrant_completed', payload: { registrantId: randomUUID() }, status: 'pending' } });
    const first = await harness.env.client.workflow.start('webhookDeliveryWorkflow', { taskQueue: TASK_QUEUE, workflowId: webhookDeliveryWorkflowId(backingOff.id), args: [{ deliveryId: backingOff.id }] });
    await until(async () => refusedIds.includes(backingOff.id), 'the first attempt to fail', 30_000);
    failing = false;
    expect((await owner.post(`/v1/operator/webhook-deliveries/${backingOff.id}/redelivery`).expect(202)).body).toEqual({ status: 'started' });
    expect((await harness.env.client.workflow.getHandle(first.workflowId, first.firstExecutionRunId).describe()).status.name).toBe('TERMINATED');
    await until(async () => (await harness.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: backingOff.id } })).status === 'delivered', 'the redelivery', 30_000);
    expect(received.filter((id) => id === backingOff.id)).toEqual([backingOff.id]);
  } finally {
    receiver.close();
  }
});

describe('npm run ops (as a child process, on this stack)', () => {
  async function ops(...args: string[]) {
    const keyring = testKeyring();
    const { code, stdout, stderr } = await runOps(
      {
        DATABASE_URL: process.env.DATABASE_URL,
        TEMPORAL_ADDRESS: harness.env.address,
        TEMPORAL_TASK_QUEUE: TASK_QUEUE,
        MASTER_KEY: keyring.get(keyring.activeId)!.toString('base64'),
        DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-ops-')),
      },
      ...args,
    );
    return { code, out: stdout + stderr };
  }

  it('pauses and resumes mail, sends a reminder now, extends a link and explains a refusal, each recorded as the CLI', async () => {
    const p = await add('コマンド');
    await harness.outbox.waitFor((m) => m.to.includes(p.email), 15_000);
    await until(async () => (await p.handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');

    expect(await ops('pause-mail', '--tenant', tenantId)).toMatchObject({ code: 0, out: expect.stringContaining('paused') });
    expect((await ops('attention', '--tenant', tenantId)).out).toContain('mail to employees PAUSED');
    expect(await ops('resume-mail', '--tenant', tenantId)).toMatchObject({ code: 0, out: expect.stringContaining('resumed') });

    expect(await ops('remind', '--registrant', p.id)).toMatchObject({ code: 0, out: expect.stringContaining('reminder 1 sent') });
    await until(async () => mailsTo(p.email).length === 2, 'the reminder');
    expect(await ops('extend-link', '--registrant', p.id, '--days', '10')).toMatchObject({ code: 0, out: expect.stringContaining('link valid until') });
    const refused = await ops('retry', '--registrant', p.id);
    expect(refused).toMatchObject({ code: 1, out: expect.stringContaining('NOTHING_TO_RETRY: 再試行を待っている処理はありません') });
    expect((await ops('extend-link', '--registrant', p.id)).code).toBe(2);

    const cli = '運用コマンド（npm run ops）';
    expect((await operations(null, 'mail_paused')).map((e) => e.actorLabel)).toContain(cli);
    expect((await operations(null, 'mail_resumed')).map((e) => e.actorLabel)).toContain(cli);
    expect((await operations(p.id, 'reminder_sent')).map((e) => e.actorType)).toEqual(['system']);
    expect((await operations(p.id, 'link_extended')).map((e) => e.actorType)).toEqual(['system']);
  });
});
