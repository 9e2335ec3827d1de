/**
 * Mass invitation's review list (everyone a filter matches, across pages) and 紙の登録依頼書 (paper
 * sheets for people with or without an e-mail address), over HTTP on a real Temporal dev server,
 * PostgreSQL and the SMTP capture. The sheets' QR codes are read back and the links used.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hashToken } from '../services/auth/token-hash';
import { lifecycleQuery, registrantWorkflowId } from '../shared';
import { Client, Connection } from '@temporalio/client';
import { createLoginUser, createTenant, loginAs, memoryLogger, testApp, type Agent } from './support/fixtures';
import { expectProblem } from './support/problems';
import { decodeQrSvg } from './support/qr-svg';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const harness = useWorkerHarness({ taskQueue: 'invitation-batches' });
/** A sheet's QR code: the link with its 登録コード as the token. */
const LINK = /^http:\/\/mynaflow\.test\/i\/#k=([0-9A-HJKMNP-TV-Z]{16})$/;
let tenantId: string;
let hr: Agent;
let viewer: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社一括依頼');
  [hr, viewer] = await Promise.all([harness.agent(tenantId, 'manager', '人事 一郎'), harness.agent(tenantId, 'viewer')]);
});

const row = (id: string) => harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
const lifecycle = (id: string) => harness.env.client.workflow.getHandle(registrantWorkflowId(tenantId, id)).query(lifecycleQuery);

/** A person added by HR, not invited (with an address or without). */
async function added(familyName: string, givenName: string, email?: string, employeeCode?: string): Promise<string> {
  const res = await hr.post('/v1/registrants').send({ familyName, givenName, ...(email ? { email } : {}), ...(employeeCode ? { employeeCode } : {}), invite: false }).expect(201);
  await until(async () => (await row(res.body.id)).workflowPendingSince === null, 'the workflow to start');
  return res.body.id as string;
}

async function retire(id: string) {
  await hr.put(`/v1/registrants/${id}/retirement`).send({ retirementDate: '2024-03-31' }).expect(200);
  await until(async () => (await row(id)).retired, 'the retirement to take effect');
}

describe('review before a mass invitation', () => {
  it('lists everyone a filter matches across pages, each with whether the invitation can go and why not', async () => {
    const tag = `審査${randomUUID().slice(0, 4)}`;
    const mailed = await added(tag, '一', `a-${randomUUID().slice(0, 6)}@example.co.jp`, 'R001');
    const noMail = await added(tag, '二', undefined, 'R002');
    const retiree = await added(tag, '三', `c-${randomUUID().slice(0, 6)}@example.co.jp`, 'R003');
    await retire(retiree);
    for (let i = 0; i < 3; i++) await added(tag, `他${i}`, undefined, `R1${i}`);
    // More than one page of the console's list (limit 2 here): the review still has all six.
    const page = await hr.get('/v1/registrants').query({ name: tag, limit: 2 }).expect(200);
    expect(page.body.nextCursor).toBeTruthy();

    const res = await hr.post('/v1/registrants/invitation-review').send({ channel: 'mail', filter: { name: tag } }).expect(200);
    expect(res.body).toMatchObject({ channel: 'mail', total: 6, invitable: 1 });
    const byId = new Map(res.body.people.map((p: { registrantId: string }) => [p.registrantId, p]));
    expect(byId.get(mailed)).toMatchObject({ invitable: true, employeeCode: 'R001' });
    expect(byId.get(noMail)).toMatchObject({ invitable: false, code: 'NOT_INVITABLE_NO_EMAIL', message: 'メールアドレスが登録されていないため、登録依頼を送信できません' });
    expect(byId.get(retiree)).toMatchObject({ invitable: false, code: 'NOT_INVITABLE_RETIRED', message: '退職者には登録依頼を送信できません' });
    expect(res.body.people.map((p: { employeeCode: string }) => p.employeeCode)).toEqual(['R001', 'R002', 'R003', 'R10', 'R11', 'R12']);

    // On paper, no address is needed: only the retiree is left out.
    const paper = await hr.post('/v1/registrants/invitation-review').send({ channel: 'paper', filter: { name: tag, retired: false } }).expect(200);
    expect(paper.body).toMatchObject({ total: 5, invitable: 5 });

    // The rows picked, one of them already invited: sending again is said to start a new round.
    await hr.post('/v1/registrants/invitations').send({ registrantIds: [mailed] }).expect(200);
    await until(async () => (await row(mailed)).invitationState === 'open', 'the invitation to open');
    const picked = await hr.post('/v1/registrants/invitation-review').send({ channel: 'mail', registrantIds: [mailed, noMail] }).expect(200);
    expect(picked.body.people[0]).toMatchObject({ registrantId: mailed, invitable: true, note: expect.stringContaining('前のメールのリンクは使えなくなります') });
    expect(await harness.prisma.operationEvent.count({ where: { tenantId, registrantId: noMail } })).toBe(1); // created only: the review changed nothing
  });

  it('refuses a selection given both ways or neither, more than 5,000 people, viewers; in Japanese', async () => {
    expectProblem(await hr.post('/v1/registrants/invitation-review').send({ channel: 'mail' }), 400, 'SELECTION_INVALID');
    expectProblem(await hr.post('/v1/registrants/invitation-review').send({ channel: 'mail', filter: {}, registrantIds: [randomUUID()] }), 400, 'SELECTION_INVALID');
    expect((await viewer.post('/v1/registrants/invitation-review').send({ channel: 'mail', filter: {} }).expect(403)).body.code).toBe('FORBIDDEN');
    // A tenant of 5,001 (rows only: nothing is invited, so no workflows are needed).
    const big = await createTenant(harness.prisma, '大きな会社');
    const owner = await harness.agent(big, 'owner');
    await harness.prisma.registrant.createMany({ data: Array.from({ length: 5001 }, (_, i) => ({ id: randomUUID(), tenantId: big, workflowId: `big-${i}-${randomUUID()}`, familyName: '大', givenName: `${i}` })) });
    const res = await owner.post('/v1/registrants/invitation-review').send({ channel: 'paper', filter: {} });
    expectProblem(res, 400, 'SELECTION_TOO_LARGE');
    expect(res.body.title).toContain('条件を絞り込んでください');
    await owner.post('/v1/registrants/invitation-review').send({ channel: 'paper', filter: { name: '大', category: 'employee', retired: false, employeeCode: 'none' } }).expect(200);
  });
});

describe('紙の登録依頼書', () => {
  it('opens a round without a mail for a person without an address; the sheet’s QR code is their own working link', async () => {
    const id = await added('紙', '太郎', undefined, 'P001');
    const mailsBefore = harness.outbox.mails.length;
    const res = await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: [id] }).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ issued: 1, pending: 0, skipped: 0 });
    const sheet = res.body.results[0].sheet;
    expect(sheet).toMatchObject({ familyName: '紙', givenName: '太郎', employeeCode: 'P001' });
    const token = LINK.exec(decodeQrSvg(sheet.qrSvg) ?? '')?.[1];
    expect(token).toBeDefined();
    // The same link as a code to type, and where: the QR code's token in groups of four.
    expect(sheet.registrationCode).toBe(token!.match(/.{4}/g)!.join('-'));
    expect(sheet.codeEntryUrl).toBe('http://mynaflow.test/i/');

    // The round is open (workflow and row agree), 90 days, and nothing was mailed.
    const r = await row(id);
    expect(r.invitationState).toBe('open');
    expect(new Date(sheet.expiresAt)).toEqual(r.invitationExpiresAt);
    expect(r.invitationExpiresAt!.getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000);
    expect((await lifecycle(id)).invitation).toMatchObject({ state: 'open', round: 1 });
    expect(harness.outbox.mails.length).toBe(mailsBefore);
    const link = await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(token!) } });
    expect(link.revokedAt).toBeNull();
    const ops = await harness.prisma.operationEvent.findMany({ where: { registrantId: id }, orderBy: { id: 'asc' }, select: { operation: true, actorLabel: true } });
    expect(ops.map((o) => o.operation)).toEqual(['registrant_created', 'paper_invitation_issued', 'invitation_printed']);
    expect(ops[1]!.actorLabel).toBe('人事 一郎');

    // The employee opens the sheet's link: their first visit (password and consent).
    const opened = await request(harness.app).post('/v1/registration/link').send({ token }).expect(200);
    expect(opened.body).toMatchObject({ firstVisit: true, familyName: '紙' });
    // A code one character off is no link (and says no more than any unknown link).
    const wrong = token!.slice(0, -1) + (token!.endsWith('0') ? '1' : '0');
    expectProblem(await request(harness.app).post('/v1/registration/link').send({ token: wrong }), 404, 'LINK_INVALID');

    // A second sheet joins the same round: no second opening, and the first sheet still works.
    const again = await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: [id] }).expect(200);
    const second = LINK.exec(decodeQrSvg(again.body.results[0].sheet.qrSvg) ?? '')?.[1];
    expect(second).toBeDefined();
    expect(second).not.toBe(token);
    expect((await lifecycle(id)).invitation).toMatchObject({ round: 1 });
    await request(harness.app).post('/v1/registration/link').send({ token }).expect(200);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'paper_invitation_issued' } })).toBe(1);
    // The timeline shows the paper round, not a mail.
    const timeline = await hr.get(`/v1/registrants/${id}/timeline`).expect(200);
    expect(timeline.body.mails).toEqual([]);
    expect(timeline.body.past.map((e: { operation: string }) => e.operation)).toContain('paper_invitation_issued');
  });

  it('two HR users printing one person at once: one round, both sheets work (the second joins the round rather than killing the first)', async () => {
    const id = await added('同時', '印刷');
    const other = await harness.agent(tenantId, 'owner', '人事 二郎');
    const answers = await Promise.all([hr, other].map((agent) => agent.post('/v1/registrants/paper-invitations').send({ registrantIds: [id] }).expect(200)));
    const tokens = answers.map((res) => LINK.exec(decodeQrSvg(res.body.results[0].sheet.qrSvg) ?? '')?.[1]);
    expect(tokens.every(Boolean)).toBe(true);
    expect((await lifecycle(id)).invitation).toMatchObject({ state: 'open', round: 1 });
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'paper_invitation_issued' } })).toBe(1);
    for (const token of tokens) expect((await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(token!) } })).revokedAt).toBeNull();
  });

  it('Temporal out of reach mid-batch: the sheets of people whose round is open are answered (live links), the rest pending; with none issued, 503 and nothing done', async () => {
    const open = await added('停止', '済');
    await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: [open] }).expect(200); // its round is open
    const closed = await added('停止', '未');
    // More people needing Temporal than a call opens rounds for at once (8), all before the open one.
    const others = await Promise.all(Array.from({ length: 9 }, (_, i) => added('停止', `未${i}`)));
    const dead = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) });
    const { app } = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: dead, taskQueue: 'invitation-batches', stepAnswerWithinMs: 1000 });
    const down = await loginAs(app, harness.outbox, await createLoginUser(harness.prisma, tenantId, 'manager', '人事 停止'));
    try {
      // The open round needs no Temporal (a sheet joins it); the other person's round does.
      const res = await down.post('/v1/registrants/paper-invitations').send({ registrantIds: [open, closed] }).expect(200);
      expect(res.body).toMatchObject({ issued: 1, pending: 1, skipped: 0 });
      expect(res.body.results[1]).toMatchObject({ registrantId: closed, outcome: 'pending', code: 'TRY_AGAIN_LATER' });
      expect(LINK.exec(decodeQrSvg(res.body.results[0].sheet.qrSvg) ?? '')?.[1]).toBeDefined();
      // Whatever the order: the person whose round is open gets a sheet though the rounds asked
      // before theirs (in flight together) could not open.
      const after = await down.post('/v1/registrants/paper-invitations').send({ registrantIds: [closed, ...others, open] }).expect(200);
      expect(after.body).toMatchObject({ issued: 1, pending: 10, skipped: 0 });
      expect(after.body.results.map((x: { registrantId: string; outcome: string }) => [x.registrantId, x.outcome])).toEqual([...[closed, ...others].map((id) => [id, 'pending']), [open, 'issued']]);
      for (const id of others) expect((await row(id)).invitationState).toBeNull();
      // Only the one needing Temporal: 503, and nothing of it changed.
      expectProblem(await down.post('/v1/registrants/paper-invitations').send({ registrantIds: [closed] }), 503, 'TEMPORAL_UNAVAILABLE');
      expect((await row(closed)).invitationState).toBeNull();
      expect(await harness.prisma.operationEvent.count({ where: { registrantId: closed, operation: { in: ['paper_invitation_issued', 'invitation_printed'] } } })).toBe(0);
    } finally {
      await dead.connection.close().catch(() => undefined);
    }
    // Back: the same request issues the sheet.
    expect((await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: [closed] }).expect(200)).body).toMatchObject({ issued: 1 });
  });

  it('a batch of twenty without open rounds (opened several at once): each sheet carries its own person\'s link, in the order given, each round opened and printed once', async () => {
    const tag = `並行${randomUUID().slice(0, 4)}`;
    const people = await Promise.all(Array.from({ length: 20 }, (_, i) => added(tag, `${i}番`, undefined, `C${String(i).padStart(3, '0')}`)));
    const retiree = await added(tag, '退職');
    await retire(retiree);
    const order = [...people.slice(10), retiree, ...people.slice(0, 10)];
    const res = await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: order }).expect(200);
    expect(res.body).toMatchObject({ issued: 20, pending: 0, skipped: 1 });
    expect(res.body.results.map((x: { registrantId: string }) => x.registrantId)).toEqual(order);
    for (const [i, result] of (res.body.results as { registrantId: string; outcome: string; sheet?: { qrSvg: string; givenName: string } }[]).entries()) {
      if (order[i] === retiree) {
        expect(result.outcome).toBe('skipped');
        continue;
      }
      // The sheet's name and its QR code's link are this person's, not a neighbour's in flight.
      expect(result.sheet!.givenName).toBe(`${people.indexOf(order[i]!)}番`);
      const token = LINK.exec(decodeQrSvg(result.sheet!.qrSvg) ?? '')?.[1];
      const link = await harness.prisma.invitation.findUniqueOrThrow({ where: { tokenHash: hashToken(token!) } });
      expect(link.registrantId).toBe(order[i]);
    }
    const events = await harness.prisma.operationEvent.groupBy({ by: ['registrantId', 'operation'], where: { registrantId: { in: people }, operation: { in: ['paper_invitation_issued', 'invitation_printed'] } }, _count: true });
    expect(events).toHaveLength(40);
    expect(events.every((e) => e._count === 1)).toBe(true);
    for (const id of people) expect((await lifecycle(id)).invitation).toMatchObject({ state: 'open', round: 1 });
  });

  it('prints a batch in the order given, skipping retirees and people waiting for HR with the reason; viewers may not', async () => {
    const aMail = `t-${randomUUID().slice(0, 6)}@example.co.jp`;
    const a = await added('束', '一', aMail);
    const b = await added('束', '二');
    const retiree = await added('束', '退職');
    await retire(retiree);
    const unknown = randomUUID();
    const res = await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: [b, retiree, unknown, a] }).expect(200);
    expect(res.body).toMatchObject({ issued: 2, skipped: 2 });
    expect(res.body.results.map((x: { registrantId: string; outcome: string; code?: string }) => [x.registrantId, x.outcome, x.code])).toEqual([
      [b, 'issued', undefined],
      [retiree, 'skipped', 'NOT_INVITABLE_RETIRED'],
      [unknown, 'skipped', 'REGISTRANT_NOT_FOUND'],
      [a, 'issued', undefined],
    ]);
    expect(res.body.results[1].message).toBe('退職者には登録依頼を送信できません');
    // The person with an address was not mailed the invitation (the sheet is the invitation).
    expect(harness.outbox.mails.some((m) => m.to.includes(aMail))).toBe(false);
    expect((await row(a)).invitationState).toBe('open');
    expect((await viewer.post('/v1/registrants/paper-invitations').send({ registrantIds: [a] }).expect(403)).body.code).toBe('FORBIDDEN');
    expectProblem(await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: Array.from({ length: 101 }, () => randomUUID()) }), 400, 'VALIDATION_FAILED');
  });
});
