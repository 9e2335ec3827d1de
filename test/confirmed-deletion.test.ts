/**
 * HR-confirmed deletion (the tenant's `deletionMode: confirmed`) on the time-skipping Temporal test
 * server, with real PostgreSQL, vault and SMTP capture: on the due date the person is queued, not
 * deleted (nothing shredded, HOME's 削除の確認待ち, recorded once), stays queued however long it
 * takes, HR is reminded by mail (owners and managers, weekly, not again within the week); HR's
 * confirmation behind the password deletes as the tenant's scope says, with HR as the actor.
 * The history replays on the code with no cache. The automatic mode deletes on the day (test/registrant-lifecycle.test.ts and the replay journey).
 */
import { randomUUID } from 'node:crypto';
import { createMailTransport } from '../services/mail/transport';
import { createNoticeSender } from '../services/notices/notice-sender';
import { japanDate, lifecycleQuery, registrantWorkflowId, setRetirementUpdate, startOfJapanDay, upcomingQuery, type RegistrantWorkflowInput } from '../shared';
import { createTenant, memoryLogger, testVault, TEST_PASSWORD, type Agent } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';
import { expectProblem } from './support/problems';
import { Worker } from '@temporalio/worker';
import { dataConverterFor } from '../services/temporal/payload-codec';
import { testKeyring } from './support/keys';
import { createTimeSkippingEnv, workflowBundle } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const DAY_MS = 86_400_000;
const TASK_QUEUE = 'confirmed-deletion';
const { logger } = memoryLogger();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger, env: createTimeSkippingEnv });
let tenantId: string;
let hr: Agent;
let owner: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社確認削除');
  hr = await harness.agent(tenantId, 'manager', '人事 確認');
  owner = await harness.agent(tenantId, 'owner', 'オーナー 確認');
  await harness.prisma.tenant.update({ where: { id: tenantId }, data: { deletionMode: 'confirmed', submissionDigest: 'off' } });
});

const sender = (now: Date) =>
  createNoticeSender({ prisma: harness.prisma, mailer: createMailTransport(`smtp://127.0.0.1:${harness.outbox.smtpPort}`), mailFrom: 'mynaflow <noreply@example.jp>', publicUrl: 'http://localhost:3000', logger, now: () => now });

/** A completed retiree-to-be with a sealed number, and their workflow. */
async function completedPerson(label: string) {
  const id = randomUUID();
  const workflowId = registrantWorkflowId(tenantId, id);
  const secret = await testVault(harness.prisma).seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) });
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '確認', givenName: label, workflowId, status: 'completed', loginLocked: true, myNumberSecretId: secret, approvedNumberSecretId: secret } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [], status: 'completed', invite: false };
  const handle = await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  return { id, handle, secret };
}

describe('deletions HR confirms', () => {
  it('on the due date the person is queued, not deleted; HR is reminded; the confirmation deletes with HR as the actor', async () => {
    const { id, handle, secret } = await completedPerson('退職');
    const today = japanDate(await harness.env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) + DAY_MS);
    const dueDate = japanDate(startOfJapanDay(today) + 40 * DAY_MS);
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor: { type: 'system', id: null }, retirementDate, deletion: { dueDate, rule: 'manual' } }] });
    // Nothing to confirm before the day.
    expectProblem(await hr.post(`/v1/registrants/${id}/deletion/confirmation`).send({ password: TEST_PASSWORD }), 409, 'NO_DELETION_AWAITING');

    await harness.env.sleep(startOfJapanDay(dueDate) - (await harness.env.currentTimeMs()) + DAY_MS);
    await until(async () => Boolean((await handle.query(lifecycleQuery)).deletion?.awaiting), 'the deletion to wait for HR');
    const queued = await harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
    expect(queued.deletionAwaitingSince).not.toBeNull();
    expect(await harness.prisma.vaultSecret.count({ where: { id: secret } })).toBe(1);
    expect((await handle.query(upcomingQuery)).map((u) => u.kind)).not.toContain('deletion');
    const view = (await hr.get(`/v1/registrants/${id}`).expect(200)).body;
    expect(view.deletion).toMatchObject({ dueDate, awaitingConfirmationSince: queued.deletionAwaitingSince!.toISOString() });
    const home = (await hr.get('/v1/dashboard').expect(200)).body;
    expect(home.lists.deletionsAwaiting).toMatchObject({ count: 1, people: [expect.objectContaining({ id })] });

    // However long HR takes: still there, recorded once.
    await harness.env.sleep(20 * DAY_MS);
    expect(await harness.prisma.registrant.count({ where: { id } })).toBe(1);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'deletion_awaiting_confirmation' } })).toBe(1);

    // Owners and managers are reminded at once, not again within the week, again after it.
    const now = new Date();
    expect((await sender(now).run({ tenantId })).digests).toBe(2);
    const reminders = () => harness.outbox.mails.filter((m) => m.subject.includes('削除の確認待ち'));
    await until(async () => reminders().length === 2, 'the reminders');
    expect(reminders()[0]!.text).toContain('削除予定日を過ぎて確認を待っている登録者が 1 人います');
    expect((await sender(new Date(now.getTime() + 3 * DAY_MS)).run({ tenantId })).digests).toBe(0);
    expect((await sender(new Date(now.getTime() + 8 * DAY_MS)).run({ tenantId })).digests).toBe(2);

    // Back to automatic deletion would leave them waiting for ever: refused while anyone waits.
    const back = await owner.patch('/v1/tenant').send({ deletionMode: 'automatic' });
    expectProblem(back, 409, 'DELETIONS_AWAITING');
    expect(back.body.title).toContain('削除の確認待ちの登録者が1人います');

    // HR confirms: a wrong password deletes nothing; the right one deletes as the scope says.
    expectProblem(await hr.post(`/v1/registrants/${id}/deletion/confirmation`).send({ password: 'not-the-password' }), 400, 'PASSWORD_INCORRECT');
    expect(await harness.prisma.registrant.count({ where: { id } })).toBe(1);
    await hr.post(`/v1/registrants/${id}/deletion/confirmation`).send({ password: TEST_PASSWORD }).expect(200);
    expect(await harness.prisma.registrant.count({ where: { id } })).toBe(0);
    expect(await harness.prisma.vaultSecret.count({ where: { id: secret } })).toBe(0);
    const record = await harness.prisma.deletionRecord.findFirstOrThrow({ where: { registrantId: id } });
    expect(record).toMatchObject({ kind: 'registrant', rule: 'manual', actorType: 'login_user', actorLabel: '人事 確認' });
    expect(await handle.result()).toMatchObject({ deleted: true });
    // The whole history (queued, waiting, confirmed) replays on the code, with no cache.
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle(), dataConverter: dataConverterFor(testKeyring()) }, await handle.fetchHistory(), handle.workflowId);
    // Nothing waits any more: the next reminder has nothing to say, and automatic deletion may come back.
    expect((await sender(new Date(now.getTime() + 16 * DAY_MS)).run({ tenantId })).digests).toBe(0);
    await owner.patch('/v1/tenant').send({ deletionMode: 'automatic' }).expect(200);
  });
});
