/**
 * Notices that close the loop, on a real Temporal dev server, the worker, PostgreSQL and the SMTP
 * capture: the employee's receipt on submitting and the mail on approval are queued in the event's
 * transaction and sent by the sender (the reconciler's round runs it; called here directly). The
 * capture going away mid-round (behind a TCP proxy) ends the round and nothing is lost; a mailbox put
 * off (450) holds up only its notice, one refused for good (550) is rejected; two rounds at once send
 * each notice once, a cancelled round stops; a paused tenant holds its own notices only; HR's digest
 * goes to owners and managers once per period with the count of new submissions.
 */
import { randomUUID } from 'node:crypto';
import { createMailTransport } from '../services/mail/transport';
import { digestDue, createNoticeSender } from '../services/notices/notice-sender';
import { lifecycleQuery, registrantWorkflowId, submitUpdate } from '../shared';
import { createLoginUser, createTenant, memoryLogger, type Agent } from './support/fixtures';
import { containsAny } from './support/leak-scan';
import { completeDraft } from './support/lifecycle';
import { mailGate } from './support/mail-gate';
import { startTcpProxy } from './support/tcp-proxy';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'notices';
const gate = mailGate();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, outbox: { decide: gate.decide, rejectRecipient: (a) => (a.startsWith('refuse-') ? 550 : a.startsWith('busy-') ? 450 : false) } });
const { logger } = memoryLogger();
const HOUR = 3_600_000;
let tenantId: string;
let hr: Agent;
const numbers: string[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社お知らせ');
  // Digests are tested on a tenant of their own.
  await harness.prisma.tenant.update({ where: { id: tenantId }, data: { submissionDigest: 'off' } });
  hr = await harness.agent(tenantId, 'manager', '人事 花子');
});

const sender = (opts: { now?: Date; smtpUrl?: string } = {}) =>
  createNoticeSender({
    prisma: harness.prisma,
    mailer: createMailTransport(opts.smtpUrl ?? `smtp://127.0.0.1:${harness.outbox.smtpPort}`),
    mailFrom: 'mynaflow <noreply@example.jp>',
    publicUrl: 'http://localhost:3000',
    logger,
    now: () => opts.now ?? new Date(),
  });
const mailsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email));
const ledger = (registrantId: string, kind: string) =>
  harness.prisma.mailDelivery.findMany({ where: { kind, key: { contains: registrantId } } });

/** A person invited through the API who then submits (as the registration pages do). */
async function submitted(label: string, email = `n-${randomUUID().slice(0, 8)}@example.co.jp`, agent = hr) {
  const res = await agent.post('/v1/registrants').send({ familyName: '通知', givenName: label, email }).expect(201);
  const handle = harness.env.client.workflow.getHandle(res.body.workflowId as string);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation');
  numbers.push(await completeDraft(harness.prisma, res.body.id as string));
  await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
  return { id: res.body.id as string, email, handle };
}

afterAll(() => {
  expect(containsAny(harness.outbox.mails.map((m) => `${m.subject}\n${m.text}`).join('\n'), numbers)).toEqual([]);
});

it('the employee gets a receipt on submitting and a mail on approval, once each, shown in the timeline', async () => {
  const p = await submitted('受付');
  expect((await ledger(p.id, 'receipt')).map((m) => m.status)).toEqual(['sending']);
  expect((await sender().run({ tenantId })).sent).toBeGreaterThanOrEqual(1);
  const receipt = mailsTo(p.email).find((m) => m.subject.includes('提出を受け付けました'))!;
  expect(receipt.text).toContain('通知 受付 様');
  // From the employer, as the invitation was.
  expect(receipt.from).toMatch(/^"?株式会社お知らせ マイナンバー登録窓口"? </);
  expect(receipt.text).toContain('株式会社お知らせ');

  await hr.post(`/v1/registrants/${p.id}/approval`).send({}).expect(200);
  await sender().run({ tenantId });
  await sender().run({ tenantId });
  expect(mailsTo(p.email).map((m) => m.subject)).toEqual([
    '【株式会社お知らせ】マイナンバー登録のお願い',
    '【株式会社お知らせ】マイナンバーの提出を受け付けました',
    '【株式会社お知らせ】マイナンバーの登録が完了しました',
  ]);
  const timeline = (await hr.get(`/v1/registrants/${p.id}/timeline`).expect(200)).body as { mails: { kind: string; status: string }[] };
  expect(timeline.mails.map((m) => [m.kind, m.status])).toEqual([
    ['invitation', 'sent'],
    ['receipt', 'sent'],
    ['approval', 'sent'],
  ]);
});

it('the real mail server going away mid-round ends the round; the rest wait untouched and go out once each in the next', async () => {
  const proxy = await startTcpProxy(`127.0.0.1:${harness.outbox.smtpPort}`);
  try {
    const [a, b, c] = [await submitted('不在一'), await submitted('不在二'), await submitted('不在三')];
    // The capture has the first receipt's DATA when the server goes away: no answer reaches the sender.
    const first = gate.holdFirstMailTo(a.email);
    const round = sender({ smtpUrl: `smtp://${proxy.address}` }).run({ tenantId });
    await first.held;
    proxy.mode('refuse');
    first.release('drop');
    expect(await round).toMatchObject({ sent: 0, deferred: 3 });
    const rows = async () => (await Promise.all([a, b, c].map(async (p) => (await ledger(p.id, 'receipt'))[0]!))).map((r) => [r.status, r.attempts, r.claimedUntil]);
    // Only the one tried is counted; none is left claimed, so the next round takes all three.
    expect(await rows()).toEqual([
      ['sending', 1, null],
      ['sending', 0, null],
      ['sending', 0, null],
    ]);
    proxy.mode('pass');
    expect(await sender({ smtpUrl: `smtp://${proxy.address}` }).run({ tenantId })).toMatchObject({ sent: 3, deferred: 0 });
    for (const p of [a, b, c]) expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(1);
  } finally {
    gate.clear();
    await proxy.close();
  }
});

/** A person stored with a notice queued directly (no workflow, so no invitation mail to the address). */
async function queuedNotice(email: string, tenant = tenantId, createdAt = new Date()) {
  const id = randomUUID();
  const workflowId = registrantWorkflowId(tenant, id);
  await harness.prisma.registrant.create({ data: { id, tenantId: tenant, familyName: '通知', givenName: '直接', email, workflowId } });
  const key = `${workflowId}/notice/receipt/${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await harness.prisma.mailDelivery.create({ data: { key, recipient: email, kind: 'receipt', createdAt } });
  return { id, key };
}

it('a mailbox the server puts off (450) holds up that notice only, counted, until it gives up after three days; one refused for good (550) is rejected at once', async () => {
  const busy = await queuedNotice(`busy-${randomUUID().slice(0, 8)}@example.co.jp`, tenantId, new Date(Date.now() - 60_000));
  const refused = await queuedNotice(`refuse-${randomUUID().slice(0, 8)}@example.co.jp`, tenantId, new Date(Date.now() - 30_000));
  const p = await submitted('後続');
  const report = await sender().run({ tenantId });
  expect(report).toMatchObject({ deferred: 1, rejected: 1 });
  expect(report.sent).toBeGreaterThanOrEqual(1);
  // Behind both in the queue, the next notice still went.
  expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(1);
  const row = (key: string) => harness.prisma.mailDelivery.findUniqueOrThrow({ where: { key } });
  expect(await row(busy.key)).toMatchObject({ status: 'sending', attempts: 1, claimedUntil: null });
  expect(await row(refused.key)).toMatchObject({ status: 'rejected' });
  expect((await sender().run({ tenantId })).rejected).toBe(0);
  expect(await row(busy.key)).toMatchObject({ status: 'sending', attempts: 2 });
  // Three days on, still put off: no more tries.
  expect((await sender({ now: new Date(Date.now() + 3 * 24 * HOUR) }).run({ tenantId })).rejected).toBe(1);
  expect(await row(busy.key)).toMatchObject({ status: 'rejected', attempts: 2 });
});

it('two rounds at once send each notice once (a claimed one is skipped); a round whose attempt is cancelled or out of time starts no more sends', async () => {
  const [a, b, c] = [await submitted('同時一'), await submitted('同時二'), await submitted('同時三')];
  // Nothing goes out of a round already out of time.
  expect(await sender().run({ tenantId }, { budgetMs: 0 })).toMatchObject({ sent: 0, deferred: 3 });
  const first = gate.holdFirstMailTo(a.email);
  const cancelled = new AbortController();
  const roundA = sender().run({ tenantId }, { signal: cancelled.signal });
  await first.held;
  // While A is sending the first, B takes the other two and leaves A's alone.
  const roundB = await sender().run({ tenantId });
  expect(roundB).toMatchObject({ sent: 2, deferred: 0 });
  cancelled.abort();
  first.release('accept');
  expect(await roundA).toMatchObject({ sent: 1, deferred: 2 });
  for (const p of [a, b, c]) {
    expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(1);
    expect((await ledger(p.id, 'receipt')).map((r) => r.status)).toEqual(['sent']);
  }
  expect(await sender().run({ tenantId })).toMatchObject({ sent: 0, deferred: 0 });
});

it('a paused tenant’s backlog does not hold up other tenants’ notices behind it', async () => {
  const pausedTenant = await createTenant(harness.prisma, '株式会社停止中');
  await harness.prisma.tenant.update({ where: { id: pausedTenant }, data: { mailPausedAt: new Date() } });
  // More than a round's batch, all older than the other tenant's notice.
  const { id } = await queuedNotice('paused-head@example.co.jp', pausedTenant, new Date(Date.now() - HOUR));
  const workflowId = registrantWorkflowId(pausedTenant, id);
  await harness.prisma.mailDelivery.createMany({
    data: Array.from({ length: 250 }, (_, i) => ({ key: `${workflowId}/notice/approval/${String(i).padStart(16, '0')}`, recipient: 'paused-head@example.co.jp', kind: 'approval', createdAt: new Date(Date.now() - HOUR + i) })),
  });
  const p = await submitted('後ろ');
  // Scoped to both tenants (other files' tenants share the database).
  const report = await sender().run({ tenantIds: [pausedTenant, tenantId] });
  expect(report.held).toBe(251);
  expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(1);
  expect(mailsTo('paused-head@example.co.jp')).toHaveLength(0);
});

it('while an operator paused the tenant’s mail the employees’ notices wait, and go out once it is resumed; a tenant without notices queues none', async () => {
  const p = await submitted('停止中');
  await harness.prisma.tenant.update({ where: { id: tenantId }, data: { mailPausedAt: new Date() } });
  try {
    expect((await sender().run({ tenantId })).held).toBeGreaterThanOrEqual(1);
    expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(0);
  } finally {
    await harness.prisma.tenant.update({ where: { id: tenantId }, data: { mailPausedAt: null } });
  }
  await sender().run({ tenantId });
  expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(1);

  await harness.prisma.tenant.update({ where: { id: tenantId }, data: { employeeNotices: false } });
  try {
    const q = await submitted('通知なし');
    expect(await ledger(q.id, 'receipt')).toEqual([]);
  } finally {
    await harness.prisma.tenant.update({ where: { id: tenantId }, data: { employeeNotices: true } });
  }
});

it('HR’s hourly digest goes to owners and managers (not viewers) once per hour, with the new and the waiting count; nothing new, no digest', async () => {
  const digestTenant = await createTenant(harness.prisma, '株式会社ダイジェスト');
  await harness.prisma.tenant.update({ where: { id: digestTenant }, data: { submissionDigest: 'hourly', digestSentAt: new Date(Date.now() - 2 * HOUR) } });
  const [owner, manager, viewer] = await Promise.all([
    createLoginUser(harness.prisma, digestTenant, 'owner', '代表 一郎'),
    createLoginUser(harness.prisma, digestTenant, 'manager', '人事 二郎'),
    createLoginUser(harness.prisma, digestTenant, 'viewer', '閲覧 三郎'),
  ]);
  const agent = await harness.login(manager);
  await submitted('一件目', undefined, agent);
  await submitted('二件目', undefined, agent);
  const digestsTo = (email: string) => harness.outbox.mails.filter((m) => m.to.includes(email) && m.subject.includes('新しい提出'));

  const t0 = new Date();
  expect((await sender({ now: t0 }).run({ tenantId: digestTenant })).digests).toBe(2);
  for (const u of [owner, manager]) expect(digestsTo(u.email).map((m) => m.subject)).toEqual(['【マイナンバー管理】新しい提出が 2 件あります（承認待ち 2 件）']);
  expect(digestsTo(owner.email)[0]!.text).toContain('代表 一郎 様');
  expect(digestsTo(viewer.email)).toHaveLength(0);

  // The same hour: nothing more.
  expect((await sender({ now: new Date(t0.getTime() + 10 * 60_000) }).run({ tenantId: digestTenant })).digests).toBe(0);
  // A new submission: the next digest tells of one new, three waiting.
  await submitted('三件目', undefined, agent);
  expect((await sender({ now: new Date(Date.now() + HOUR + 60_000) }).run({ tenantId: digestTenant })).digests).toBe(2);
  expect(digestsTo(manager.email).map((m) => m.subject)).toEqual([
    '【マイナンバー管理】新しい提出が 2 件あります（承認待ち 2 件）',
    '【マイナンバー管理】新しい提出が 1 件あります（承認待ち 3 件）',
  ]);
});

it('a period with nothing new ends all the same: a daily digest’s next submission waits for the next morning; one approved before it went out is not sent', async () => {
  const quiet = await createTenant(harness.prisma, '株式会社静か');
  const twoDaysAgo = new Date(Date.now() - 48 * HOUR);
  await harness.prisma.tenant.update({ where: { id: quiet }, data: { submissionDigest: 'daily', digestSentAt: twoDaysAgo } });
  const manager = await createLoginUser(harness.prisma, quiet, 'manager', '人事 静香');
  const agent = await harness.login(manager);
  expect((await sender().run({ tenantId: quiet })).digests).toBe(0);
  const mark = (await harness.prisma.tenant.findUniqueOrThrow({ where: { id: quiet } })).digestSentAt!;
  expect(mark.getTime()).toBeGreaterThan(twoDaysAgo.getTime());
  // Submitted after this morning's (empty) period: no digest until tomorrow's.
  await submitted('翌朝', undefined, agent);
  expect((await sender().run({ tenantId: quiet })).digests).toBe(0);
  expect(harness.outbox.mails.filter((m) => m.to.includes(manager.email) && m.subject.includes('新しい提出'))).toHaveLength(0);

  // Tomorrow morning it is queued; HR approved the person first: nothing is left to tell.
  const tomorrow = new Date(Date.now() + 24 * HOUR);
  await harness.prisma.registrant.updateMany({ where: { tenantId: quiet, status: 'pending' }, data: { status: 'completed' } });
  await harness.prisma.tenant.update({ where: { id: quiet }, data: { digestSentAt: new Date(Date.now() - 1000) } });
  await harness.prisma.mailDelivery.create({ data: { key: `digest/${quiet}/${manager.id}/${mark.toISOString()}`, recipient: manager.email, kind: 'digest' } });
  expect((await sender({ now: tomorrow }).run({ tenantId: quiet })).sent).toBe(0);
  expect(await harness.prisma.mailDelivery.count({ where: { key: { startsWith: `digest/${quiet}/` } } })).toBe(0);
  expect(harness.outbox.mails.filter((m) => m.to.includes(manager.email) && m.subject.includes('新しい提出'))).toHaveLength(0);
});

it('a daily digest is due once a day from 9:00 in Japan', () => {
  const at = (iso: string) => new Date(iso);
  const daily = (sent: string | null) => ({ submissionDigest: 'daily' as const, digestSentAt: sent ? at(sent) : null });
  // 08:59 JST = 23:59Z the day before; 09:00 JST = 00:00Z.
  expect(digestDue(daily('2026-12-03T00:00:00Z'), at('2026-12-03T23:59:00Z'))).toBe(false);
  expect(digestDue(daily('2026-12-03T00:00:00Z'), at('2026-12-04T00:00:00Z'))).toBe(true);
  expect(digestDue(daily('2026-12-04T00:00:30Z'), at('2026-12-04T08:00:00Z'))).toBe(false);
  expect(digestDue(daily(null), at('2026-12-04T08:00:00Z'))).toBe(true);
  expect(digestDue({ submissionDigest: 'off', digestSentAt: null }, at('2026-12-04T08:00:00Z'))).toBe(false);
});
