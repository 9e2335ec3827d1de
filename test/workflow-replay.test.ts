/**
 * Replay: the current workflow code must reproduce, command for command, the histories that
 * earlier releases and this one wrote on a real server. A change that would break a running
 * registrant's workflow fails here (DeterminismViolationError) instead of in production.
 *
 * test/histories/v1-*.json were recorded from the Temporal dev server with the first
 * (invitation-only) release; v2-*.json with the lifecycle release; v3-*.json with the release that
 * reports to payroll webhooks. `RECORD_HISTORIES=1 npx jest test/workflow-replay.test.ts` rewrites
 * the v3 journey from the current code.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { PrismaClient } from '../services/db/client';
import type { Outbox } from '../services/outbox/outbox';
import { createDraftStore } from '../services/registrants/draft-store';
import {
  approveUpdate,
  inviteUpdate,
  japanDate,
  lifecycleQuery,
  registrantWorkflowId,
  remandUpdate,
  setRetirementUpdate,
  startOfJapanDay,
  submitUpdate,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../shared';
import { createLoginUser, createTenant, memoryLogger, startOutbox, startWorker, testPrisma, testVault, type WorkerHandle } from './support/fixtures';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { createTimeSkippingEnv, quietRuntime, workflowBundle } from './support/temporal';

const HISTORIES = path.join(__dirname, 'histories');
const DAY_MS = 86_400_000;
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

/** Replays a history (JSON as `temporal workflow show -o json` prints it, or a fetched one). */
const replay = async (history: unknown, workflowId: string) => {
  quietRuntime();
  return Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, workflowId);
};

describe('histories of released versions replay on the current code', () => {
  const files = fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json'));

  it('has histories of every release to check', () => {
    expect(files.filter((f) => f.startsWith('v1-')).length).toBeGreaterThanOrEqual(2);
    expect(files.filter((f) => f.startsWith('v2-')).length).toBeGreaterThanOrEqual(1);
    expect(files.filter((f) => f.startsWith('v3-')).length).toBeGreaterThanOrEqual(1);
  });

  it.each(files)('%s', async (file) => {
    const json = JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8'));
    await expect(replay(json, file)).resolves.toBeUndefined();
  });
});

describe('a whole journey on the time-skipping server replays', () => {
  let env: TestWorkflowEnvironment;
  let prisma: PrismaClient;
  let outbox: Outbox;
  let worker: WorkerHandle;
  const { logger } = memoryLogger();

  beforeAll(async () => {
    [env, outbox] = await Promise.all([createTimeSkippingEnv(), startOutbox()]);
    prisma = testPrisma();
    worker = await startWorker(env, { prisma, outbox, logger, taskQueue: 'replay' });
  });
  afterAll(async () => {
    await worker?.stop();
    await env?.teardown();
    await outbox?.close();
    await prisma?.$disconnect();
  });

  it('invite, reminder, resend, submit, remand, resubmit, approve, retire, notice and deletion, reported to a webhook', async () => {
    const tenantId = await createTenant(prisma, '株式会社リプレイ');
    const hr = await createLoginUser(prisma, tenantId, 'manager');
    // A payroll connector subscribed to every event: decisions and the deletion start delivery children.
    const receiver = http.createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const client = await prisma.apiClient.create({ data: { tenantId, name: 'リプレイ給与', clientId: `mfc_${randomUUID()}`, secretHash: 'x', scopes: ['registrants:read'] } });
    const secretId = await testVault(prisma).seal({ tenantId, kind: 'webhook_secret', plaintext: Buffer.from('whsec_replay') });
    await prisma.webhook.create({ data: { tenantId, apiClientId: client.id, url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, events: ['registrant_completed', 'registrant_remanded', 'registrant_deleted'], secretId } });
    const actor: StepActor = { type: 'login_user', id: hr.id };
    const employee: StepActor = { type: 'registrant', id: null };
    const id = randomUUID();
    const workflowId = registrantWorkflowId(tenantId, id);
    await prisma.registrant.create({ data: { id, tenantId, familyName: '再生', givenName: '太郎', email: `replay-${id.slice(0, 8)}@example.co.jp`, workflowId } });
    const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [7, 30, 80] };
    const handle = await env.client.workflow.start('registrantWorkflow', { taskQueue: 'replay', workflowId, args: [input] });
    const drafts = createDraftStore({ prisma, vault: testVault(prisma) });
    const numbers: string[] = [];
    const fill = async () => {
      numbers.push(randomMyNumber());
      await drafts.save(id, { myNumber: numbers.at(-1)!, gender: 'male', birthDate: '1970-01-01', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
      for (const side of ['front', 'back'] as const) await drafts.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
    };

    await env.sleep(8 * DAY_MS);
    await handle.executeUpdate(inviteUpdate, { args: [{ actor, options: { message: '再送です' } }] });
    await fill();
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await handle.executeUpdate(remandUpdate, { args: [{ actor, reason: '裏面がありません' }] });
    await fill();
    await handle.executeUpdate(submitUpdate, { args: [{ actor: employee }] });
    await handle.executeUpdate(approveUpdate, { args: [{ actor }] });
    const today = japanDate(await env.currentTimeMs());
    const retirementDate = japanDate(startOfJapanDay(today) + 10 * DAY_MS);
    const dueDate = japanDate(startOfJapanDay(today) + 100 * DAY_MS);
    await handle.executeUpdate(setRetirementUpdate, { args: [{ actor, retirementDate, deletion: { dueDate, rule: 'manual' } }] });
    expect((await handle.query(lifecycleQuery)).status).toBe('completed');
    expect(await handle.result()).toMatchObject({ deleted: true, retired: true });

    const history = await handle.fetchHistory();
    const json = JSON.parse(historyToJSON(history));
    const kinds = new Set((json.events as { eventType: string }[]).map((e) => e.eventType));
    receiver.close();
    for (const kind of ['EVENT_TYPE_TIMER_FIRED', 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED', 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED', 'EVENT_TYPE_MARKER_RECORDED', 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED']) {
      expect(kinds).toContain(kind);
    }
    // Nothing personal in the history: ids, states and dates only.
    expect(containsAny(historyToJSON(history), numbers)).toEqual([]);
    await expect(replay(json, workflowId)).resolves.toBeUndefined();
    if (process.env.RECORD_HISTORIES) fs.writeFileSync(path.join(HISTORIES, 'v3-journey-webhooks.json'), `${JSON.stringify(json, null, 2)}\n`);
  });

  it('a history whose commands differ from what the code does is refused (the check can fail)', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(HISTORIES, 'v1-invited-then-withdrawn.json'), 'utf8'));
    // As if the first release had scheduled some other activity first.
    const scheduled = json.events.find((e: { eventType: string }) => e.eventType === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED');
    scheduled.activityTaskScheduledEventAttributes.activityType.name = 'somethingElse';
    await expect(replay(json, 'tampered')).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
