/**
 * An operator's `temporal workflow reset` (the CLI, against the Temporal dev server) takes a
 * registrant's workflow back to an earlier point. Step keys are the chain, the kind of step, its
 * ordinal and its arguments, so after the reset no step is applied twice (a re-applied step finds its
 * key) and none is skipped (a different step in the same place has a key of its own).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { lifecycleQuery, registrantWorkflowId, setRetirementUpdate, unlockLoginUpdate, type LifecycleState, type StepActor } from '../shared';
import { createLoginUser, createTenant } from './support/fixtures';
import { TEMPORAL_CLI } from './support/temporal';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'lifecycle-reset';
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE });
let tenantId: string;
let actor: StepActor;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社リセット');
  actor = { type: 'login_user', id: (await createLoginUser(harness.prisma, tenantId, 'manager', '人事 リセット')).id };
});

const operations = async (registrantId: string) => (await harness.prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);
const stepKeys = async (workflowId: string) => (await harness.prisma.appliedStep.findMany({ where: { key: { startsWith: `${workflowId}/` } }, orderBy: { key: 'asc' } })).map((s) => s.key);

/** A person HR registered complete (bulk entry): approved, login locked, no invitation. */
async function completedPerson(label: string) {
  const id = randomUUID();
  const workflowId = registrantWorkflowId(tenantId, id);
  await harness.prisma.registrant.create({ data: { id, tenantId, familyName: '巻戻', givenName: label, workflowId, status: 'completed', loginLocked: true } });
  await harness.env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [{ tenantId, registrantId: id, reminderDays: [], invite: false, status: 'completed' }] });
  // Without a run id the handle follows the workflow to its current run, as the API's do.
  const handle = harness.env.client.workflow.getHandle(workflowId) as WorkflowHandle;
  return { id, workflowId, handle };
}

/** `temporal workflow reset` to the first workflow task, as an operator runs it. */
function reset(workflowId: string, ...extra: string[]) {
  const address = harness.env.connection.options.address;
  execFileSync(TEMPORAL_CLI, ['workflow', 'reset', '--address', address, '--namespace', 'default', '--workflow-id', workflowId, '--type', 'FirstWorkflowTask', '--reason', 'test: operator reset', ...extra], { stdio: 'pipe' });
}

async function newRun(handle: WorkflowHandle, runBefore: string): Promise<string> {
  let runId = runBefore;
  await until(async () => {
    const d = await handle.describe();
    runId = d.runId;
    return runId !== runBefore && d.status.name === 'RUNNING';
  }, 'the reset run');
  return runId;
}

describe('temporal workflow reset', () => {
  it('to before HR\'s steps, with them re-applied: the same state again, nothing applied twice in the database or the history', async () => {
    const { id, workflowId, handle } = await completedPerson('再適用');
    const retirementDate = '2031-03-31';
    const deletion = { dueDate: '2038-04-01', rule: 'manual' };
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate, deletion }] });
    const before: LifecycleState = await handle.executeUpdate(unlockLoginUpdate, { args: [{ actor }] });
    const keysBefore = await stepKeys(workflowId);
    expect(keysBefore).toHaveLength(2);
    const { runId: firstRun } = await handle.describe();

    reset(workflowId);
    await newRun(handle, firstRun);
    await until(async () => !(await handle.query(lifecycleQuery)).loginLocked, 'the re-applied steps');
    const after = await handle.query(lifecycleQuery);
    expect(after).toMatchObject({ retirementDate, loginLocked: false, deletion: { dueDate: deletion.dueDate } });
    expect(after.counts).toEqual(before.counts);

    expect(await stepKeys(workflowId)).toEqual(keysBefore);
    expect(await operations(id)).toEqual(['retirement_set', 'registrant_login_unlocked']);
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ loginLocked: false, retirementDate: new Date(`${retirementDate}T00:00:00Z`) });
    await handle.terminate('test finished');
  });

  it('to before a step, not re-applied, then HR does a different step in its place: it is applied, not taken for the one before', async () => {
    const { id, workflowId, handle } = await completedPerson('差替');
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate: '2031-03-31', deletion: { dueDate: '2038-04-01', rule: 'manual' } }] });
    const { runId: firstRun } = await handle.describe();

    reset(workflowId, '--reapply-exclude', 'All');
    await newRun(handle, firstRun);
    expect(await handle.query(lifecycleQuery)).toMatchObject({ retirementDate: null, loginLocked: true });

    // The operator's reason for the reset: the date was wrong. HR sets the right one.
    const corrected = await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate: '2030-09-30', deletion: { dueDate: '2037-10-01', rule: 'manual' } }] });
    expect(corrected).toMatchObject({ retirementDate: '2030-09-30' });
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({
      retirementDate: new Date('2030-09-30T00:00:00Z'),
      deletionDueDate: new Date('2037-10-01T00:00:00Z'),
    });
    // And a step of another kind in what used to be the first place: applied too.
    expect(await handle.executeUpdate(unlockLoginUpdate, { args: [{ actor }] })).toMatchObject({ loginLocked: false });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).loginLocked).toBe(false);
    expect(await operations(id)).toEqual(['retirement_set', 'retirement_set', 'registrant_login_unlocked']);
    await handle.terminate('test finished');
  });
});
