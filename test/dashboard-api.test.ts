/**
 * GET /v1/dashboard on the real app and PostgreSQL: each person lands in exactly one stage of the
 * funnel (per group too), and the attention lists hold the right people, most urgent first, with
 * their counts; another tenant's people count nowhere.
 */
import { randomUUID } from 'node:crypto';
import type { components } from '../api/generated/openapi';
import { useApiHarness } from './support/api-harness';
import { createTenant, testVault, type Agent } from './support/fixtures';

type Dashboard = components['schemas']['Dashboard'];
const harness = useApiHarness({ taskQueue: 'dashboard' });
const DAY = 86_400_000;
let tenantId: string;
let hr: Agent;
let viewer: Agent;
const ids: Record<string, string> = {};

async function person(key: string, data: Record<string, unknown> = {}, tenant = tenantId) {
  const id = randomUUID();
  await harness.prisma.registrant.create({ data: { id, tenantId: tenant, familyName: '集計', givenName: key, workflowId: `registrant-${tenant}-${id}`, ...data } });
  ids[key] = id;
  return id;
}
async function link(registrantId: string, opts: { opened?: boolean; expiresInDays: number }) {
  await harness.prisma.invitation.create({ data: { registrantId, issueKey: randomUUID(), tokenHash: randomUUID(), expiresAt: new Date(Date.now() + opts.expiresInDays * DAY), openedAt: opts.opened ? new Date() : null } });
}

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, 'ダッシュボード株式会社');
  const other = await createTenant(harness.prisma, '別の会社');
  [hr, viewer] = await Promise.all([harness.agent(tenantId, 'manager'), harness.agent(tenantId, 'viewer')]);
  const sales = await harness.prisma.group.create({ data: { tenantId, name: '営業部' } });
  const open = (days: number) => ({ invitationState: 'open' as const, invitationExpiresAt: new Date(Date.now() + days * DAY) });

  await person('未招待', { groupId: sales.id });
  await link(await person('未開封', { ...open(3), groupId: sales.id }), { expiresInDays: 3 });
  await link(await person('開封', open(60)), { opened: true, expiresInDays: 60 });
  const draft = await testVault(harness.prisma).seal({ tenantId, kind: 'draft', plaintext: Buffer.from('{}') });
  await link(await person('入力中', { ...open(50), draftSecretId: draft }), { opened: true, expiresInDays: 50 });
  await person('提出古', { status: 'pending', submittedAt: new Date(Date.now() - 5 * DAY) });
  await person('提出新', { status: 'pending', submittedAt: new Date(Date.now() - DAY) });
  await person('承認', { status: 'completed' });
  await person('差戻し', { status: 'remanded', invitationState: 'expired' });
  await person('開始待ち', { workflowPendingSince: new Date() });
  await person('退職', { retired: true, status: 'completed', deletionDueDate: new Date(Date.now() + 20 * DAY) });
  await person('拒否', { status: 'refused' });
  // 提出期限: passed without sending (oldest deadline first); passed but sent, or still ahead: not listed.
  const dueDay = (days: number) => new Date(`${new Date(Date.now() + days * DAY + 9 * 3_600_000).toISOString().slice(0, 10)}T00:00:00Z`);
  await person('期限切れ古', { submissionDueDate: dueDay(-10) });
  await person('期限切れ新', { status: 'remanded', submissionDueDate: dueDay(-1) });
  await person('期限内', { submissionDueDate: dueDay(0) });
  await person('期限後提出', { status: 'pending', submittedAt: new Date(Date.now() - 10 * DAY), submissionDueDate: dueDay(-3) });
  // A mail asked for 20 minutes ago that the server has not taken.
  const stuck = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: ids['未開封']! } });
  await harness.prisma.mailDelivery.create({ data: { key: `${stuck.workflowId}/run/round/1/invitation`, recipient: 'x@example.jp', kind: 'invitation', createdAt: new Date(Date.now() - 20 * 60_000) } });
  // Another tenant's: counted nowhere here.
  await link(await person('他社', open(2), other), { expiresInDays: 2 });
});

it('puts everyone in one stage of the funnel, per group too, leaving retirees and refusals out', async () => {
  const d = (await hr.get('/v1/dashboard').expect(200)).body as Dashboard;
  // 開始待ち and 差戻し have no live link: not invited (yet again)
  expect(d.funnel).toEqual({ notInvited: 6, invited: 1, opened: 1, inProgress: 1, submitted: 3, approved: 1 });
  expect(d.groups).toEqual([
    { groupId: expect.any(String), groupName: '営業部', funnel: { notInvited: 1, invited: 1, opened: 0, inProgress: 0, submitted: 0, approved: 0 } },
    { groupId: null, groupName: null, funnel: { notInvited: 5, invited: 0, opened: 1, inProgress: 1, submitted: 3, approved: 1 } },
  ]);
  expect(((await viewer.get('/v1/dashboard').expect(200)).body as Dashboard).funnel).toEqual(d.funnel);
});

it('lists who needs attention, most urgent first, with counts', async () => {
  const d = (await hr.get('/v1/dashboard').expect(200)).body as Dashboard;
  const names = (list: keyof Dashboard['lists']) => d.lists[list].people.map((p) => p.name.replace('集計 ', ''));
  expect(names('pastDue')).toEqual(['期限切れ古', '期限切れ新']);
  expect(d.lists.pastDue.count).toBe(2);
  // The day itself (midnight UTC of that date, whatever the database's time zone), for the screen to show as the day.
  const due = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: ids['期限切れ古']! } })).submissionDueDate!;
  expect(d.lists.pastDue.people[0]!.at).toBe(due.toISOString());
  expect(names('expiringSoon')).toEqual(['未開封']);
  expect(names('neverOpened')).toEqual(['未開封']);
  expect(names('openedNotSent')).toEqual(['入力中', '開封']);
  expect(names('waitingApproval')).toEqual(['期限後提出', '提出古', '提出新']);
  expect(names('remandedNoLink')).toEqual(['差戻し', '期限切れ新']);
  expect(names('mailsNotTaken')).toEqual(['未開封']);
  expect(names('startsQueued')).toEqual(['開始待ち']);
  expect(names('deletionsDue30')).toEqual(['退職']);
  expect(names('deletionsDue90')).toEqual(['退職']);
  expect(d.lists.waitingApproval.count).toBe(3);
  expect(d.lists.expiringSoon.people[0]!.at).toEqual(expect.any(String));
  expect(d.webhookDeliveriesFailed).toBe(0);
});
