/**
 * Notices that close the loop, on a real Temporal dev server, the worker, PostgreSQL and the SMTP
 * capture: the employee's receipt on submitting and the mail on approval are queued in the event's
 * transaction and sent by the sender (the reconciler's round runs it; called here directly); a mail
 * server away defers them, one refusing for good marks them rejected, a paused tenant holds them;
 * HR's digest goes to owners and managers once per period with the count of new submissions.
 */
import { randomUUID } from 'node:crypto';
import { createMailTransport } from '../services/mail/transport';
import { digestDue, createNoticeSender } from '../services/notices/notice-sender';
import { lifecycleQuery, submitUpdate } from '../shared';
import { createLoginUser, createTenant, memoryLogger, type Agent } from './support/fixtures';
import { containsAny } from './support/leak-scan';
import { completeDraft } from './support/lifecycle';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const TASK_QUEUE = 'notices';
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, outbox: { rejectRecipient: (a) => a.startsWith('refuse-') } });
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
  expect(receipt.text).toContain('株式会社お知らせ');

  await hr.post(`/v1/registrants/${p.id}/approval`).send({}).expect(200);
  await sender().run({ tenantId });
  await sender().run({ tenantId });
  expect(mailsTo(p.email).map((m) => m.subject)).toEqual([
    '【マイナンバー管理】マイナンバー登録のお願い',
    '【マイナンバー管理】マイナンバーの提出を受け付けました',
    '【マイナンバー管理】マイナンバーの登録が完了しました',
  ]);
  const timeline = (await hr.get(`/v1/registrants/${p.id}/timeline`).expect(200)).body as { mails: { kind: string; status: string }[] };
  expect(timeline.mails.map((m) => [m.kind, m.status])).toEqual([
    ['invitation', 'sent'],
    ['receipt', 'sent'],
    ['approval', 'sent'],
  ]);
});

it('a mail server away defers them to the next round; one refusing the address for good marks them rejected, not retried', async () => {
  const p = await submitted('不在');
  const away = await sender({ smtpUrl: 'smtp://127.0.0.1:1' }).run({ tenantId });
  expect(away.deferred).toBeGreaterThanOrEqual(1);
  expect((await ledger(p.id, 'receipt')).map((m) => m.status)).toEqual(['sending']);
  await sender().run({ tenantId });
  expect((await ledger(p.id, 'receipt')).map((m) => m.status)).toEqual(['sent']);
  expect(mailsTo(p.email).filter((m) => m.subject.includes('受け付けました'))).toHaveLength(1);

  // The invitation to this address was refused too; the receipt is queued by the submission anyway.
  const refused = `refuse-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName: '通知', givenName: '拒否', email: refused }).expect(201);
  const id = res.body.id as string;
  await harness.prisma.mailDelivery.create({ data: { key: `${res.body.workflowId}/notice/receipt/0123456789abcdef`, recipient: refused, kind: 'receipt' } });
  expect((await sender().run({ tenantId })).rejected).toBe(1);
  expect((await ledger(id, 'receipt')).map((m) => m.status)).toEqual(['rejected']);
  expect((await sender().run({ tenantId })).rejected).toBe(0);
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

  // The same hour: nothing more. An hour on, nothing new: no digest either.
  expect((await sender({ now: new Date(t0.getTime() + 10 * 60_000) }).run({ tenantId: digestTenant })).digests).toBe(0);
  expect((await sender({ now: new Date(t0.getTime() + HOUR + 60_000) }).run({ tenantId: digestTenant })).digests).toBe(0);
  // A new submission: the next digest tells of one new, three waiting.
  await submitted('三件目', undefined, agent);
  expect((await sender({ now: new Date(Date.now() + HOUR + 60_000) }).run({ tenantId: digestTenant })).digests).toBe(2);
  expect(digestsTo(manager.email).map((m) => m.subject)).toEqual([
    '【マイナンバー管理】新しい提出が 2 件あります（承認待ち 2 件）',
    '【マイナンバー管理】新しい提出が 1 件あります（承認待ち 3 件）',
  ]);
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
