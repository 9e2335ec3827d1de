/**
 * Continue-as-new on a real Temporal dev server whose history limit is tiny: the registrant
 * workflow starts a new run when the server suggests it, carrying its state (status, dates, the
 * step counter), and the steps after it neither repeat nor lose a mail or a history row. Mail and
 * step keys are built from the first run's id, which survives continue-as-new.
 */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { invitationSubject } from '../services/mail/invitation-mail';
import { createDraftStore } from '../services/registrants/draft-store';
import {
  approveUpdate,
  japanDate,
  lifecycleQuery,
  registrantWorkflowId,
  scheduleDeletionUpdate,
  SEARCH_ATTRIBUTES,
  setRetirementUpdate,
  startOfJapanDay,
  submitUpdate,
  type LifecycleState,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../shared';
import { createLoginUser, createTenant, loginAs, memoryLogger, testApp, testVault, type Agent } from './support/fixtures';
import { holdRow } from './support/lifecycle';
import { randomMyNumber } from './support/leak-scan';
import { createLocalEnv } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

/** The invitation's subject as this file's company gets it. */
const INVITATION_SUBJECT = invitationSubject('invitation', '株式会社コンティニュー');

const TASK_QUEUE = 'continue-as-new';
/** Events in one run before the server suggests continue-as-new (the default is 4096). */
const HISTORY_LIMIT = 60;
const DAY_MS = 86_400_000;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, env: () => createLocalEnv({ dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': HISTORY_LIMIT } }) });
let tenantId: string;
let actor: StepActor;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社コンティニュー');
  const hr = await createLoginUser(harness.prisma, tenantId, 'manager', '人事 継続');
  actor = { type: 'login_user', id: hr.id, ip: '203.0.113.20', userAgent: 'jest' };
});

const day = (offset: number) => japanDate(startOfJapanDay(japanDate(Date.now())) + offset * DAY_MS);
const operations = async (registrantId: string) =>
  (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);

/** Every run of the workflow, oldest first, following the continue-as-new chain from the first run. */
async function runsOf(workflowId: string, firstRunId: string): Promise<string[]> {
  const runs = [firstRunId];
  for (;;) {
    const { events } = await harness.env.client.workflow.getHandle(workflowId, runs.at(-1)).fetchHistory();
    const next = events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
    if (!next) return runs;
    runs.push(next);
  }
}

describe('continue-as-new', () => {
  it('starts a new run carrying status, retirement, deletion date and step counter; later steps neither repeat nor lose a mail or a history row', async () => {
    const id = randomUUID();
    const email = `can-${id.slice(0, 8)}@example.co.jp`;
    const workflowId = registrantWorkflowId(tenantId, id);
    await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '継続', givenName: '太郎', email, workflowId } });
    const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [7, 30, 80] };
    const started = await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] });
    const firstRunId = started.firstExecutionRunId;
    // Without a run id the handle follows the chain to the current run, as the API's handles do.
    const handle = harness.env.client.workflow.getHandle(workflowId) as WorkflowHandle;
    await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to be open');

    // HR sets a retirement date, then moves the deletion date again and again until the history
    // is long enough for the server to suggest a new run.
    const retirementDate = day(200);
    // HR's request, as the API sends it: its update id comes from the request's Idempotency-Key.
    const retire = { args: [{ actor, retirementDate, deletion: { dueDate: day(400), rule: 'dependents_declaration_7y' } }] as const, updateId: `setRetirement.${randomUUID()}` };
    let last: LifecycleState = await handle.executeUpdate(setRetirementUpdate, { ...retire, args: [...retire.args] });
    let reschedules = 0;
    const continued = async () => (await harness.env.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name === 'CONTINUED_AS_NEW';
    while (!(await continued())) {
      if (reschedules >= 20) throw new Error(`no continue-as-new after ${reschedules} reschedules`);
      last = await handle.executeUpdate(scheduleDeletionUpdate, { args: [{ actor, dueDate: day(401 + reschedules) }] });
      reschedules += 1;
    }
    // Well below 20 updates: it was the history limit that triggered it.
    expect(reschedules).toBeGreaterThan(0);
    expect(reschedules).toBeLessThan(10);

    // The new run started from the old one and knows the first run's id (the base of every key).
    const [, secondRunId] = await runsOf(workflowId, firstRunId);
    expect(secondRunId).toBeDefined();
    expect(secondRunId).not.toBe(firstRunId);
    const secondRun = harness.env.client.workflow.getHandle(workflowId, secondRunId);
    const { events } = await secondRun.fetchHistory();
    const startedAttrs = events![0]!.workflowExecutionStartedEventAttributes!;
    expect(startedAttrs.continuedExecutionRunId).toBe(firstRunId);
    expect(startedAttrs.firstExecutionRunId).toBe(firstRunId);

    // The query on the new run answers with the state as the last step left it.
    const carried = await secondRun.query(lifecycleQuery);
    expect(carried).toEqual(last);
    expect(carried).toMatchObject({
      status: 'unregistered',
      retirementDate,
      retired: false,
      deletion: { dueDate: day(400 + reschedules), noticeSent: false },
      invitation: { round: 1, state: 'open', remindersSent: 0 },
      seq: 1 + reschedules,
    });
    // The new run publishes its search attributes again.
    const described = await secondRun.describe();
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.status)).toBe('unregistered');
    expect(described.typedSearchAttributes.get(SEARCH_ATTRIBUTES.deletionDueAt)).toEqual(new Date(startOfJapanDay(day(400 + reschedules))));

    // The retirement request retried with its update id after the new run began (the server only
    // remembers a run's own updates): the workflow knows it was carried out and does nothing again.
    expect(await handle.executeUpdate(setRetirementUpdate, { ...retire, args: [...retire.args] })).toEqual(last);
    expect((await operations(id)).filter((o) => o === 'retirement_set')).toHaveLength(1);

    // Later steps: one more reschedule (its key would collide with an earlier one had the counter
    // restarted, and it would silently do nothing), the employee's submission, HR's approval.
    const lastDue = day(500);
    expect(await handle.executeUpdate(scheduleDeletionUpdate, { args: [{ actor, dueDate: lastDue }] })).toMatchObject({ deletion: { dueDate: lastDue }, seq: 2 + reschedules });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).deletionDueDate).toEqual(new Date(`${lastDue}T00:00:00Z`));

    const drafts = createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
    await drafts.save(id, { myNumber: randomMyNumber(), gender: 'female', birthDate: '1990-04-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
    for (const side of ['front', 'back'] as const) await drafts.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
    expect(await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] })).toMatchObject({ status: 'pending' });
    const approved = await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
    expect(approved).toMatchObject({ status: 'completed', loginLocked: true, retirementDate, deletion: { dueDate: lastDue }, invitation: { state: 'closed' } });
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'completed', loginLocked: true, retirementDate: new Date(`${retirementDate}T00:00:00Z`) });

    // One row per step in the operation history, across the runs.
    expect(await operations(id)).toEqual([
      'invitation_sent',
      'retirement_set',
      ...Array<string>(reschedules + 1).fill('deletion_scheduled'),
      'submitted',
      'approved',
    ]);
    // One mail: the new run did not invite again.
    expect(harness.outbox.mails.filter((m) => m.to.includes(email)).map((m) => m.subject)).toEqual([INVITATION_SUBJECT]);
    const deliveries = await harness.prisma.mailDelivery.findMany({ where: { key: { startsWith: workflowId } }, orderBy: { createdAt: 'asc' } });
    // The invitation, and the notices of the submission and the approval (queued once each).
    expect(deliveries.map((d) => [d.kind, d.key.startsWith(`${workflowId}/${firstRunId}/round/1/invitation`) || d.key.startsWith(`${workflowId}/notice/`)])).toEqual([
      ['invitation', true],
      ['receipt', true],
      ['approval', true],
    ]);
    // Every step key is on the first run's id (the chain), and each kind of step is numbered 1, 2, 3…
    // without a gap or a repeat across the runs.
    const steps = (await harness.prisma.appliedStep.findMany({ where: { key: { startsWith: `${workflowId}/` } } })).map((s) => s.key);
    const base = `${workflowId}/${firstRunId}/`;
    expect(steps.every((k) => k.startsWith(base))).toBe(true);
    const kindAndOrdinal = steps.map((k) => k.slice(base.length).split('/').slice(0, 2).join('/')).sort();
    expect(kindAndOrdinal).toEqual(
      ['retirement_set/1', ...Array.from({ length: reschedules + 1 }, (_, i) => `deletion_scheduled/${i + 1}`), 'submit/1', 'approve/1'].sort(),
    );

    // However many runs the chain has by now, the current one holds the final state.
    const runs = await runsOf(workflowId, firstRunId);
    expect((await handle.describe()).runId).toBe(runs.at(-1));
    expect(await handle.query(lifecycleQuery)).toEqual(approved);
    await handle.terminate('test finished');
  });

  it('over the API: a step answered 202 still reads succeeded, and its retry with the same Idempotency-Key gets its outcome, once the run that carried it out has continued as new', async () => {
    const user = await createLoginUser(harness.prisma, tenantId, 'manager', '人事 継続API');
    const hr = await harness.login(user);
    const email = `can-api-${randomUUID().slice(0, 8)}@example.co.jp`;
    const created = await hr.post('/v1/registrants').send({ familyName: '継続', givenName: '花子', email }).expect(201);
    const id = created.body.id as string;
    const workflowId = created.body.workflowId as string;
    const handle = harness.env.client.workflow.getHandle(workflowId);
    const firstRunId = (await handle.describe()).runId;
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to be open');

    // The retirement waits for the person's row past the deadline of an API that answers within 3 s:
    // 202 and an operation. (Every other call here gets the usual 10 s.)
    const key = randomUUID();
    const retire = (agent: Agent) => agent.put(`/v1/registrants/${id}/retirement`).set('Idempotency-Key', key).send({ retirementDate: day(200) });
    const quick = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: harness.env.client, taskQueue: TASK_QUEUE, stepAnswerWithinMs: 3000 }).app;
    const hrQuick = await loginAs(quick, harness.outbox, user); // the same person: a retry of theirs is the same request
    const lock = await holdRow(id);
    let location = '';
    try {
      location = (await retire(hrQuick).expect(202)).headers.location!;
    } finally {
      await lock.release();
    }
    await until(async () => (await hr.get(location)).body.status === 'succeeded', 'the retirement to be carried out');

    // More of HR's steps until the server suggests a new run.
    const continued = async () => (await harness.env.client.workflow.getHandle(workflowId, firstRunId).describe()).status.name === 'CONTINUED_AS_NEW';
    for (let i = 0; !(await continued()); i++) {
      if (i >= 20) throw new Error('no continue-as-new after 20 reschedules');
      await hr.put(`/v1/registrants/${id}/deletion-schedule`).send({ dueDate: day(401 + i) }).expect(200);
    }
    expect((await handle.describe()).runId).not.toBe(firstRunId);

    // The new run never saw the request, yet both answers know it was carried out.
    expect((await hr.get(location).expect(200)).body).toMatchObject({ status: 'succeeded' });
    expect((await retire(hr).expect(200)).body).toMatchObject({ id, retirementDate: day(200) });
    expect((await operations(id)).filter((o) => o === 'retirement_set')).toHaveLength(1);
    await handle.terminate('test finished');
  });
});
