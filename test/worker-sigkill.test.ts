/**
 * The worker as it runs in production (services/worker/main.ts compiled, a child process with its own
 * workflow cache) killed with SIGKILL in the middle of a step: no shutdown, no goodbye. A second
 * worker process takes over from the history (the Temporal dev server, real PostgreSQL, the SMTP
 * capture): the step is done once, the mail sent once — an invitation mail, HR's approval (with the
 * approved number swapped in), a status set by hand, an import job's batch.
 */
import { invitationSubject } from '../services/mail/invitation-mail';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../services/config/config';
import type { Outbox } from '../services/outbox/outbox';
import { carriedInput } from '../services/registrants/carried-state';
import { createDraftStore } from '../services/registrants/draft-store';
import { loadKeyring } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';
import { approveUpdate, changeStatusUpdate, confirmDeletionUpdate, deleteNowUpdate, importJobWorkflowId, inviteUpdate, lifecycleQuery, registrantWorkflowId, submitUpdate, type RegistrantWorkflowInput } from '../shared';
import { createServices } from '../services/container';
import { hashToken } from '../services/auth/token-hash';
import { createMailTransport } from '../services/mail/transport';
import { capture } from './support/capture';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { createLoginUser, createTenant, startOutbox } from './support/fixtures';
import { createIsolatedDatabase } from './support/isolated-database';
import { activityRunning, holdRow, holdTableRow, PNG } from './support/lifecycle';
import { randomMyNumber } from './support/leak-scan';
import { isTo, mailGate, tokenOf } from './support/mail-gate';
import { createLocalEnv } from './support/temporal';
import { freePort } from '../services/devstack/ports';
import { tsToMs } from '@temporalio/common/lib/time';
import { until } from './support/until';
import { startTcpProxy } from './support/tcp-proxy';
import { appArgs, appEnv } from '../services/build/app-build';

/** The invitation's subject as this file's company gets it. */
const INVITATION_SUBJECT = invitationSubject('invitation', '株式会社強制終了');

const TASK_QUEUE = `sigkill-${randomUUID().slice(0, 8)}`;
const MASTER_KEY = randomBytes(32).toString('base64');

let env: TestWorkflowEnvironment;
let database: Awaited<ReturnType<typeof createIsolatedDatabase>>;
let prisma: PrismaClient;
let outbox: Outbox;
const gate = mailGate();
let tenantId: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  [env, outbox, database] = await Promise.all([createLocalEnv({ keyring: loadKeyring(loadConfig({ MASTER_KEY })) }), startOutbox({ decide: gate.decide }), createIsolatedDatabase('sigkill')]);
  prisma = createPrisma(database.url);
  tenantId = await createTenant(prisma, '株式会社強制終了');
}, 120_000);
// A test that failed leaves no worker polling this file's task queue for the next one.
afterEach(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await env?.teardown();
  await outbox?.close();
  await prisma?.$disconnect();
  await database?.drop();
});

/** Starts `npm start`'s worker on its own: resolves once it polls (it tells its parent "ready"). */
async function startWorkerProcess(name: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, appArgs('worker'), {
    env: appEnv('worker', {
      ...process.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: env.connection.options.address,
      TEMPORAL_TASK_QUEUE: TASK_QUEUE,
      SMTP_URL: `smtp://127.0.0.1:${outbox.smtpPort}`,
      MASTER_KEY,
      PUBLIC_URL: 'http://mynaflow.test',
      LOG_LEVEL: 'warn',
      ...extraEnv,
    }),
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.push(child);
  // Its output goes through the run's leak scan like everything else the product prints.
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => capture(`worker-${name}`, d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`unexpected message ${String(m)}`))));
    child.once('exit', (code, signal) => reject(new Error(`worker ${name} exited (${code ?? signal}) before it was ready`)));
  });
  return child;
}

function sigkill(child: ChildProcess): Promise<void> {
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  return gone;
}

const vault = () => createVault({ prisma, keyring: loadKeyring(loadConfig({ MASTER_KEY })) });
const mailsTo = (email: string) => outbox.mails.filter((m) => isTo(m, email));
const operations = async (registrantId: string) => (await prisma.operationEvent.findMany({ where: { registrantId }, orderBy: { id: 'asc' } })).map((e) => e.operation);

async function startRegistrant(label: string) {
  const id = randomUUID();
  const email = `${label}-${id.slice(0, 8)}@example.co.jp`;
  const workflowId = registrantWorkflowId(tenantId, id);
  await prisma.registrant.create({ data: { id, tenantId, familyName: '強制', givenName: label, email, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [] };
  const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] })) as WorkflowHandleWithFirstExecutionRunId;
  return { id, email, workflowId, handle };
}

/** Someone HR has not invited (no e-mail): their workflow started and asleep until HR acts. */
async function uninvited(givenName: string) {
  const id = randomUUID();
  const workflowId = registrantWorkflowId(tenantId, id);
  await prisma.registrant.create({ data: { id, tenantId, familyName: '強制', givenName, workflowId } });
  const input: RegistrantWorkflowInput = { tenantId, registrantId: id, reminderDays: [], invite: false };
  const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId, args: [input] })) as WorkflowHandleWithFirstExecutionRunId;
  return { id, workflowId, handle, hr: await createLoginUser(prisma, tenantId, 'manager') };
}

/** As `uninvited`, with the number HR checked on paper typed in (as PUT …/my-number stores it). */
async function numberOnPaper(givenName: string) {
  const person = await uninvited(givenName);
  await prisma.registrant.update({ where: { id: person.id }, data: { myNumberSecretId: await vault().seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) }) } });
  return person;
}

/** HR's 完了 by hand, the number verified with the person's card. */
const completeByHand = (handle: WorkflowHandleWithFirstExecutionRunId, hr: { id: string }) =>
  handle.executeUpdate(changeStatusUpdate, { args: [{ actor: { type: 'login_user', id: hr.id }, status: 'completed', verificationMethod: 'my_number_card' }] });

/** What HR's 完了 leaves, whichever workers ran it: completed, the number approved, recorded once. */
async function expectCompletedOnce(id: string) {
  const r = await prisma.registrant.findUniqueOrThrow({ where: { id } });
  expect(r).toMatchObject({ status: 'completed', loginLocked: true });
  expect(r.approvedNumberSecretId).toBe(r.myNumberSecretId);
  const recorded = await prisma.operationEvent.findMany({ where: { registrantId: id } });
  expect(recorded.map((e) => [e.operation, (e.detail as { to?: string; verificationMethod?: string } | null)?.to, (e.detail as { verificationMethod?: string } | null)?.verificationMethod])).toEqual([['status_changed', 'completed', 'my_number_card']]);
}

/** Which attempts of an activity type the history shows started, and by which worker process. */
async function attempts(handle: WorkflowHandleWithFirstExecutionRunId, type: string) {
  const events = (await handle.fetchHistory()).events ?? [];
  const scheduled = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).map((e) => String(e.eventId)));
  return events.filter((e) => scheduled.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId))).map((e) => e.activityTaskStartedEventAttributes!.attempt);
}

it('killed while the SMTP server holds the invitation, then killed while a decision waits for the database: each step happens once on the next process', async () => {
  const { id, email, handle } = await startRegistrant('二度死ぬ');

  // 1. Worker A dies mid-send: the server has the message, A never hears back.
  const mail = gate.holdFirstMailTo(email);
  const workerA = await startWorkerProcess('A');
  await mail.held;
  await sigkill(workerA);
  mail.release('drop'); // the connection died with A: the server keeps nothing
  expect(mailsTo(email)).toHaveLength(0);

  const metricsPort = await freePort();
  const workerB = await startWorkerProcess('B', { METRICS_PORT: String(metricsPort) });
  // B retries the mail once A's heartbeats have stopped (20 s at most).
  await outbox.waitFor((m) => m.to.includes(email), 60_000);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to be open', 30_000);
  expect(mailsTo(email).filter((m) => m.subject === INVITATION_SUBJECT)).toHaveLength(1);
  expect(await attempts(handle, 'sendInvitationMail')).toEqual([2]);
  // B's Prometheus endpoint: the SDK's own series and the mail it sent.
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/^mynaflow_mails_sent_total\{[^}]*kind="invitation"[^}]*\} 1$/m);
  for (const series of ['temporal_workflow_task_schedule_to_start_latency', 'temporal_activity_execution_latency', 'temporal_sticky_cache_size']) expect(metrics).toContain(series);
  // The worker raised the namespace's retention from the dev server's one day: closed histories stay a month.
  const namespace = await env.client.workflowService.describeNamespace({ namespace: 'default' });
  expect(tsToMs(namespace.config?.workflowExecutionRetentionTtl)).toBe(30 * 86_400_000);

  // The employee sends the registration; B carries it.
  const drafts = createDraftStore({ prisma, vault: vault() });
  await drafts.save(id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-05-05', dependents: [], removedDocumentIds: [], removedDependentIds: [] });
  for (const side of ['front', 'back'] as const) await drafts.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
  await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });

  // 2. HR approves while the person's row is held elsewhere: B's decision waits, and B dies.
  const hr = await createLoginUser(prisma, tenantId, 'manager');
  const lock = await holdRow(id, database.url);
  const approving = handle.executeUpdate(approveUpdate, { args: [{ actor: { type: 'login_user', id: hr.id } }] });
  await activityRunning(handle, 'decide');
  await sigkill(workerB);
  const workerC = await startWorkerProcess('C');
  await lock.release();
  expect(await approving).toMatchObject({ status: 'completed', loginLocked: true });

  const approved = await prisma.registrant.findUniqueOrThrow({ where: { id } });
  expect(approved).toMatchObject({ status: 'completed', loginLocked: true, invitationState: 'closed' });
  // The number payroll is served is the one approved, swapped in the decision's transaction.
  expect(approved.approvedNumberSecretId).toBe(approved.myNumberSecretId);
  expect(approved.myNumberSecretId).not.toBeNull();
  expect(await operations(id)).toEqual(['invitation_sent', 'submitted', 'approved']);
  expect((await attempts(handle, 'decide')).at(-1)).toBeGreaterThan(1);
  // The approval's notice, queued in the decision's transaction, goes out by C's reconciler round:
  // one invitation, one receipt, one approval mail, whoever died when.
  await outbox.waitFor((m) => m.to.includes(email) && m.subject.includes('登録が完了しました'), 90_000);
  expect(mailsTo(email).map((m) => m.subject).sort()).toEqual(
    ['【株式会社強制終了】マイナンバー登録のお願い', '【株式会社強制終了】マイナンバーの提出を受け付けました', '【株式会社強制終了】マイナンバーの登録が完了しました'].sort(),
  );
  await handle.terminate('test finished');
  await sigkill(workerC);
}, 240_000);

it('killed while the SMTP server holds the invitation, which the server then keeps (at least once): the next worker sends one more copy with the same Message-ID, either copy\'s link works, recorded once', async () => {
  const { id, email, workflowId, handle } = await startRegistrant('二通');
  const mail = gate.holdFirstMailTo(email);
  const workerK = await startWorkerProcess('kept-K');
  await mail.held;
  await sigkill(workerK);
  mail.release('keep-and-drop'); // the server keeps the message; K never heard its 250
  const workerL = await startWorkerProcess('kept-L');
  await outbox.waitFor(() => mailsTo(email).length >= 2, 60_000);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to be open', 30_000);
  const [first, second] = mailsTo(email);
  expect(mailsTo(email)).toHaveLength(2);
  // Receiving servers may drop the repeat by its Message-ID; the ledger has the one it sent.
  expect(second!.messageId).toBe(first!.messageId);
  const deliveries = await prisma.mailDelivery.findMany({ where: { key: { startsWith: workflowId }, kind: 'invitation' } });
  expect(deliveries).toMatchObject([{ status: 'sent', messageId: first!.messageId }]);
  for (const m of [first!, second!]) {
    expect(await prisma.invitation.findUnique({ where: { tokenHash: hashToken(tokenOf(m)) } })).toMatchObject({ registrantId: id, revokedAt: null });
  }
  expect(await operations(id)).toEqual(['invitation_sent']);
  expect(await attempts(handle, 'sendInvitationMail')).toEqual([2]);
  await handle.terminate('test finished');
  await sigkill(workerL);
}, 240_000);

it('a status set by hand (完了 with a number HR verified) while the person\'s row is held, the worker killed: the next worker completes the person once', async () => {
  const { id, handle, hr } = await numberOnPaper('手動');
  const workerD = await startWorkerProcess('status-D');
  const lock = await holdRow(id, database.url);
  const changing = completeByHand(handle, hr);
  await activityRunning(handle, 'changeStatus');
  await sigkill(workerD);
  const workerE = await startWorkerProcess('status-E');
  await lock.release();
  expect(await changing).toMatchObject({ status: 'completed', loginLocked: true });
  // Recorded once, with the method, though the step ran on two workers.
  await expectCompletedOnce(id);
  expect((await attempts(handle, 'changeStatus')).at(-1)).toBeGreaterThan(1);
  await handle.terminate('test finished');
  await sigkill(workerE);
}, 240_000);

it('the worker killed after a step committed but before Temporal heard of it (its link to Temporal cut first): the next worker\'s attempt finds the step done and does nothing again', async () => {
  const { id, handle, hr } = await numberOnPaper('確定後');
  // Worker F reaches Temporal through a proxy the test can cut; the database it reaches directly.
  const proxy = await startTcpProxy(env.connection.options.address);
  try {
    const workerF = await startWorkerProcess('committed-F', { TEMPORAL_ADDRESS: proxy.address });
    const lock = await holdRow(id, database.url);
    const changing = completeByHand(handle, hr);
    await activityRunning(handle, 'changeStatus');
    // Nothing F says reaches Temporal any more (its completion included); then the step commits.
    proxy.mode('blackhole');
    await lock.release();
    await until(async () => (await prisma.registrant.findUniqueOrThrow({ where: { id } })).status === 'completed', 'the step to commit');
    await sigkill(workerF);
    const workerG = await startWorkerProcess('committed-G');
    expect(await changing).toMatchObject({ status: 'completed', loginLocked: true });
    // G's attempt ran the step again and found it applied: one entry, not two.
    expect((await attempts(handle, 'changeStatus')).at(-1)).toBeGreaterThan(1);
    await expectCompletedOnce(id);
    await handle.terminate('test finished');
    await sigkill(workerG);
  } finally {
    await proxy.close();
  }
}, 240_000);

it('a deploy stops the worker (SIGTERM) during a step: within the grace the step finishes on that worker and it exits 0; one still running after the grace is cut and done once by the next worker within seconds', async () => {
  // 1. Within the grace: the running attempt completes, nothing is retried.
  const first = await numberOnPaper('猶予内');
  const workerT = await startWorkerProcess('term-T', { SHUTDOWN_GRACE_SECONDS: '30' });
  const exitedT = new Promise<number | null>((resolve) => workerT.once('exit', (code) => resolve(code)));
  let lock = await holdRow(first.id, database.url);
  const completing = completeByHand(first.handle, first.hr);
  await activityRunning(first.handle, 'changeStatus');
  workerT.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(workerT.exitCode).toBeNull(); // draining, not gone
  await lock.release();
  expect(await exitedT).toBe(0);
  // The workflow goes on with whichever worker polls next.
  const workerU = await startWorkerProcess('term-U');
  expect(await completing).toMatchObject({ status: 'completed' });
  expect(await attempts(first.handle, 'changeStatus')).toEqual([1]);
  await expectCompletedOnce(first.id);
  await first.handle.terminate('test finished');
  await sigkill(workerU); // the step below must run on V

  // 2. Past the grace: the attempt is cut with its transaction; the next worker does the step once.
  const second = await numberOnPaper('猶予後');
  const workerV = await startWorkerProcess('term-V', { SHUTDOWN_GRACE_SECONDS: '2' });
  const exitedV = new Promise<void>((resolve) => workerV.once('exit', () => resolve()));
  lock = await holdRow(second.id, database.url);
  const cut = completeByHand(second.handle, second.hr);
  await activityRunning(second.handle, 'changeStatus');
  const stoppedAt = Date.now();
  workerV.kill('SIGTERM');
  await exitedV;
  // Gone a few seconds after the grace (it never waits on a step that does not end).
  expect(Date.now() - stoppedAt).toBeLessThan(15_000);
  // With no worker running, the row let go: the cut attempt's transaction went with the process.
  await lock.release();
  await new Promise((r) => setTimeout(r, 2000));
  expect(await prisma.registrant.findUniqueOrThrow({ where: { id: second.id } })).toMatchObject({ status: 'unregistered' });
  expect(await operations(second.id)).toEqual([]);
  const workerW = await startWorkerProcess('term-W');
  expect(await cut).toMatchObject({ status: 'completed' });
  // Retried well before the attempt's 3-minute timeout (the heartbeat's 20 s, or at once), counted
  // in Temporal's own clock from the cut to the next attempt.
  // (History records the start of the attempt that ended the activity only.)
  const events = (await second.handle.fetchHistory()).events ?? [];
  const lastStart = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => tsToMs(e.eventTime)).at(-1)!;
  expect(lastStart - stoppedAt).toBeLessThan(60_000);
  expect((await attempts(second.handle, 'changeStatus')).at(-1)).toBeGreaterThan(1);
  await expectCompletedOnce(second.id);
  await second.handle.terminate('test finished');
  await sigkill(workerW);
}, 240_000);

it('a paper round (登録依頼書) for someone without e-mail, the worker killed while the round waits for the person\'s row: the next worker opens it once, nothing mailed', async () => {
  const { id, workflowId, handle, hr } = await uninvited('紙');
  const mailsBefore = outbox.mails.length;

  const workerP = await startWorkerProcess('paper-P');
  const lock = await holdRow(id, database.url);
  // What 「登録依頼書（紙）を印刷」 asks the workflow (services/registrants/lifecycle.ts openPaperRound).
  const opening = handle.executeUpdate(inviteUpdate, { args: [{ actor: { type: 'login_user', id: hr.id }, options: { paper: true } }] });
  await activityRunning(handle, 'sendInvitationMail');
  await sigkill(workerP);
  const workerQ = await startWorkerProcess('paper-Q');
  await lock.release();
  expect(await opening).toMatchObject({ invitation: { state: 'open', round: 1 } });

  expect(await prisma.registrant.findUniqueOrThrow({ where: { id } })).toMatchObject({ invitationState: 'open' });
  // Opened once though the step ran on two workers; no link made and nothing mailed (the sheets
  // carry the links, each issued when printed).
  expect(await operations(id)).toEqual(['paper_invitation_issued']);
  expect(await prisma.invitation.count({ where: { registrantId: id } })).toBe(0);
  expect(outbox.mails.length).toBe(mailsBefore);
  expect(await prisma.mailDelivery.findMany({ where: { key: { startsWith: workflowId } }, select: { kind: true, status: true } })).toEqual([{ kind: 'paper', status: 'sent' }]);
  expect((await attempts(handle, 'sendInvitationMail')).at(-1)).toBeGreaterThan(1);
  await handle.terminate('test finished');
  await sigkill(workerQ);
}, 240_000);

it("HR deletes a person now (their number, a dependent's, identity images): the worker killed while the deletion waits for the person's row; the next worker deletes everything once", async () => {
  const { id, handle, hr } = await uninvited('削除');
  // What a deletion must leave nothing of: the person's number, a dependent's, an identity image.
  const v = vault();
  const seal = (kind: 'my_number' | 'document', plaintext: Buffer) => v.seal({ tenantId, kind, plaintext });
  const secrets = [await seal('my_number', Buffer.from(randomMyNumber())), await seal('my_number', Buffer.from(randomMyNumber())), await seal('document', PNG)];
  await prisma.registrant.update({ where: { id }, data: { myNumberSecretId: secrets[0], approvedNumberSecretId: secrets[0], status: 'completed' } });
  const spouse = await prisma.dependent.create({ data: { registrantId: id, relationship: '妻', familyName: '強制', givenName: '配偶', status: 'completed', myNumberSecretId: secrets[1], approvedNumberSecretId: secrets[1] } });
  await prisma.document.create({ data: { registrantId: id, purpose: 'identity', type: 'my_number_card', side: 'front', mimeType: 'image/png', byteSize: PNG.length, imageSecretId: secrets[2], draft: false } });

  const workerF = await startWorkerProcess('delete-F');
  const lock = await holdRow(id, database.url);
  const deleting = handle.executeUpdate(deleteNowUpdate, { args: [{ actor: { type: 'login_user', id: hr.id }, kind: 'registrant' }] });
  await activityRunning(handle, 'shred');
  await sigkill(workerF);
  // F died inside the deletion's transaction: nothing of it is committed.
  expect(await prisma.vaultSecret.count({ where: { id: { in: secrets } } })).toBe(3);
  const workerG = await startWorkerProcess('delete-G');
  await lock.release();
  expect(await deleting).toMatchObject({ deleted: true });

  expect(await prisma.registrant.findUnique({ where: { id } })).toBeNull();
  expect(await prisma.dependent.findUnique({ where: { id: spouse.id } })).toBeNull();
  expect(await prisma.document.count({ where: { registrantId: id } })).toBe(0);
  expect(await prisma.vaultSecret.count({ where: { id: { in: secrets } } })).toBe(0);
  // Deleted once: one certificate of what went, one history entry, though two workers ran the step.
  const records = await prisma.deletionRecord.findMany({ where: { registrantId: id } });
  expect(records.map((r) => [r.kind, r.items])).toEqual([['registrant', { numbers: 2, documents: 1, dependents: 1 }]]);
  const recorded = await prisma.operationEvent.findMany({ where: { tenantId, operation: 'registrant_deleted', registrantId: id } });
  expect(recorded).toHaveLength(1);
  expect((await attempts(handle, 'shred')).at(-1)).toBeGreaterThan(1);
  // The lifecycle ends with the person: nothing is left to remind, approve or delete.
  await handle.result();
  await sigkill(workerG);
}, 240_000);

it("a deletion due in a company that confirms deletions: HR confirms, the worker is killed while the deletion waits for the person's row; the next worker deletes once", async () => {
  const confirming = await createTenant(prisma, '株式会社確認削除');
  await prisma.tenant.update({ where: { id: confirming }, data: { deletionMode: 'confirmed' } });
  const id = randomUUID();
  const number = await vault().seal({ tenantId: confirming, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) });
  // Retired in January, to be deleted from February: due long ago.
  const r = await prisma.registrant.create({
    data: { id, tenantId: confirming, familyName: '強制', givenName: '確認', workflowId: registrantWorkflowId(confirming, id), status: 'completed', myNumberSecretId: number, approvedNumberSecretId: number, retired: true, retirementDate: new Date('2026-01-31T00:00:00Z'), deletionDueDate: new Date('2026-02-01T00:00:00Z'), deletionRule: 'manual' },
  });
  const input = carriedInput(r, []);
  input.carried!.deletion!.noticeSent = true;
  const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId: r.workflowId!, args: [input] })) as WorkflowHandleWithFirstExecutionRunId;
  const hr = await createLoginUser(prisma, confirming, 'manager');

  const workerH = await startWorkerProcess('confirm-H');
  // The day's step only queues the deletion: HR has to confirm it.
  await until(async () => (await handle.query(lifecycleQuery)).deletion?.awaiting === true, 'the deletion to await confirmation', 60_000);
  expect(await prisma.vaultSecret.count({ where: { id: number } })).toBe(1);
  const lock = await holdRow(id, database.url);
  const confirmingDeletion = handle.executeUpdate(confirmDeletionUpdate, { args: [{ actor: { type: 'login_user', id: hr.id } }] });
  await activityRunning(handle, 'shred');
  await sigkill(workerH);
  const workerI = await startWorkerProcess('confirm-I');
  await lock.release();
  expect(await confirmingDeletion).toMatchObject({ deleted: true });

  expect(await prisma.registrant.findUnique({ where: { id } })).toBeNull();
  expect(await prisma.vaultSecret.count({ where: { id: number } })).toBe(0);
  expect((await prisma.deletionRecord.findMany({ where: { registrantId: id } })).map((d) => [d.kind, d.rule, d.dueDate?.toISOString().slice(0, 10)])).toEqual([['registrant', 'manual', '2026-02-01']]);
  // Queued once, deleted once, whoever died when.
  const recorded = await prisma.operationEvent.findMany({ where: { tenantId: confirming, registrantId: id }, orderBy: { id: 'asc' } });
  expect(recorded.map((e) => e.operation)).toEqual(['deletion_awaiting_confirmation', 'registrant_deleted']);
  expect((await attempts(handle, 'shred')).at(-1)).toBeGreaterThan(1);
  await handle.result();
  await sigkill(workerI);
}, 240_000);

it("a change that deletes a dependent payroll is served: the worker killed while the submission, then the approval, waits for the person's row; the dependent is kept until approved, then deleted once", async () => {
  // Approved with a spouse, unlocked and invited again for a change (as HR's unlock and resend leave them).
  const id = randomUUID();
  const v = vault();
  const [own, spouseNumber] = [await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) }), await v.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(randomMyNumber()) })];
  const r = await prisma.registrant.create({
    data: { id, tenantId, familyName: '強制', givenName: '変更', workflowId: registrantWorkflowId(tenantId, id), status: 'completed', gender: 'male', birthDate: new Date('1985-05-05T00:00:00Z'), myNumberSecretId: own, approvedNumberSecretId: own, invitationState: 'open', invitationExpiresAt: new Date(Date.now() + 30 * 86_400_000) },
  });
  const spouse = await prisma.dependent.create({ data: { registrantId: id, relationship: '配偶者', familyName: '強制', givenName: '配偶', status: 'completed', myNumberSecretId: spouseNumber, approvedNumberSecretId: spouseNumber } });
  const handle = (await env.client.workflow.start('registrantWorkflow', { taskQueue: TASK_QUEUE, workflowId: r.workflowId!, args: [carriedInput(r, [])] })) as WorkflowHandleWithFirstExecutionRunId;
  const drafts = createDraftStore({ prisma, vault: v });
  await drafts.save(id, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-05-05', dependents: [], removedDocumentIds: [], removedDependentIds: [spouse.id] });
  for (const side of ['front', 'back'] as const) await drafts.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });

  // 1. The employee sends the change while the person's row is held; the worker dies inside the submission.
  const workerJ = await startWorkerProcess('change-J');
  let lock = await holdRow(id, database.url);
  const submitting = handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
  await activityRunning(handle, 'submitDraft');
  await sigkill(workerJ);
  const workerK = await startWorkerProcess('change-K');
  await lock.release();
  await submitting;
  // Kept until HR decides: payroll's number still there, the spouse awaiting the decision.
  expect(await prisma.dependent.findUniqueOrThrow({ where: { id: spouse.id } })).toMatchObject({ status: 'pending', myNumberSecretId: spouseNumber, approvedNumberSecretId: spouseNumber });
  expect((await prisma.dependent.findUniqueOrThrow({ where: { id: spouse.id } })).removalRequestedAt).not.toBeNull();
  expect(await prisma.vaultSecret.count({ where: { id: spouseNumber } })).toBe(1);
  expect((await attempts(handle, 'submitDraft')).at(-1)).toBeGreaterThan(1);

  // 2. HR approves while the row is held; the worker dies inside the decision.
  const hr = await createLoginUser(prisma, tenantId, 'manager');
  lock = await holdRow(id, database.url);
  const approving = handle.executeUpdate(approveUpdate, { args: [{ actor: { type: 'login_user', id: hr.id } }] });
  await activityRunning(handle, 'decide');
  await sigkill(workerK);
  const workerL = await startWorkerProcess('change-L');
  await lock.release();
  expect(await approving).toMatchObject({ status: 'completed' });
  expect(await prisma.dependent.findUnique({ where: { id: spouse.id } })).toBeNull();
  expect(await prisma.vaultSecret.count({ where: { id: spouseNumber } })).toBe(0);
  // Each step once, whoever died when.
  expect((await prisma.operationEvent.findMany({ where: { registrantId: id }, orderBy: { id: 'asc' } })).map((e) => e.operation)).toEqual(['submitted', 'approved']);
  await handle.terminate('test finished');
  await sigkill(workerL);
}, 240_000);

it('an import job: the worker killed inside a batch; the next worker stores that batch once and finishes the file', async () => {
  const v = vault();
  const services = createServices({
    prisma,
    temporal: { client: env.client, taskQueue: TASK_QUEUE },
    vault: v,
    mailer: createMailTransport(`smtp://127.0.0.1:${outbox.smtpPort}`),
    mailFrom: 'mynaflow <noreply@mynaflow.test>',
    publicUrl: 'http://mynaflow.test',
    inviteReminderDays: [],
    loginLockMinutes: 30,
    session: { idleMinutes: 30, absoluteHours: 12 },
  });
  const hr = await createLoginUser(prisma, tenantId, 'manager', '取込 担当');
  const acting = { user: await prisma.loginUser.findUniqueOrThrow({ where: { id: hr.id } }), tenantId, ip: null, userAgent: null };
  const lines = ['社員コード,本人・扶養の別,続柄,姓,名,マイナンバー'];
  for (let i = 1; i <= 300; i++) lines.push(`K${String(i).padStart(4, '0')},本人,,強制,${i},${randomMyNumber()}`);
  const workerA = await startWorkerProcess('import-A');
  // The job's row held: batch 0 waits inside its transaction for the lock when A dies.
  const out = await services.importJobs.start(acting, Buffer.from(lines.join('\r\n')), { dryRun: false, password: hr.password, reason: '移行' }, { batchSize: 50 });
  if (!('job' in out)) throw new Error('no job');
  const id = out.job.id;
  await until(async () => (await prisma.importJob.findUniqueOrThrow({ where: { id } })).doneBatches >= 2, 'two batches stored', 60_000);
  const lock = await holdTableRow('import_jobs', id, database.url);
  const handle = env.client.workflow.getHandle(importJobWorkflowId(id));
  await activityRunning(handle, 'importBatch');
  await sigkill(workerA);
  await lock.release();
  const workerB = await startWorkerProcess('import-B');
  await until(async () => (await prisma.importJob.findUniqueOrThrow({ where: { id } })).status === 'succeeded', 'the job to succeed', 120_000);
  // Each person once, every number sealed once, the file gone.
  const stored = await prisma.registrant.findMany({ where: { tenantId, employeeCode: { startsWith: 'K' } }, select: { employeeCode: true, myNumberSecretId: true } });
  expect(stored).toHaveLength(300);
  expect(new Set(stored.map((r) => r.employeeCode)).size).toBe(300);
  expect(await prisma.importJob.findUniqueOrThrow({ where: { id } })).toMatchObject({ doneBatches: 6, doneRegistrants: 300, doneNumbers: 300, fileSecretId: null });
  expect(await prisma.vaultSecret.count({ where: { tenantId, kind: 'import_file' } })).toBe(0);
  // The batch A died in was tried again by B.
  const history = (await handle.fetchHistory()).events ?? [];
  expect(history.some((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 0) > 1)).toBe(true);
  await sigkill(workerB);
}, 240_000);
