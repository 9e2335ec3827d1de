/**
 * The walking skeleton through every layer: HTTP → PostgreSQL → Temporal workflow → activity →
 * SMTP, on a real Temporal dev server.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import request from 'supertest';
import { createTemporalClient } from '../services/temporal/client';
import { createLoginUser, createTenant, loginAs, memoryLogger, PUBLIC_URL, testApp, type Agent } from './support/fixtures';
import { TEMPORAL_CLI } from './support/temporal';
import { useWorkerHarness } from './support/worker-harness';
import { until } from './support/until';

const TASK_QUEUE = 'skeleton-e2e';
const { logger } = memoryLogger();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger });
let tenantId: string;
/** A manager's logged-in session. */
let hr: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社スケルトン');
  hr = await harness.agent(tenantId, 'manager');
});

describe('POST /v1/registrants', () => {
  it('stores the registrant, starts its workflow and mails the invitation link', async () => {
    const res = await hr
      .post('/v1/registrants')
      .send({ familyName: '山田', givenName: '太郎', email: 'taro@example.co.jp', employeeCode: 'E0001' })
      .expect(201);

    expect(res.headers.location).toBe(`/v1/registrants/${res.body.id}`);
    expect(res.body).toMatchObject({ familyName: '山田', givenName: '太郎', status: 'unregistered', employeeCode: 'E0001' });
    expect(res.body.workflowId).toBe(`registrant-${tenantId}-${res.body.id}`);

    const mail = await harness.outbox.waitFor((m) => m.to.includes('taro@example.co.jp'));
    // The employer's name as the subject's lead and the sender's display name (a mail from an
    // unknown service asking for a My Number looks like phishing).
    expect(mail.subject).toBe('【株式会社スケルトン】マイナンバー登録のお願い');
    expect(mail.from).toMatch(/^"?株式会社スケルトン マイナンバー登録窓口"? <[^<>]+@[^<>]+>$/);
    // What to prepare, whom to ask, how to tell the mail is genuine; no passcode section (this company has none).
    expect(mail.text).toContain('【ご用意いただくもの】');
    expect(mail.text).not.toContain('【パスコード】');
    expect(mail.text).toContain('ご不明な点は、株式会社スケルトン のご担当者にお問い合わせください（このメールへの返信は届きません）。');
    expect(mail.text).toContain(`リンクのアドレスが ${new URL(PUBLIC_URL).origin}/ で始まることを確かめてから開いてください。`);
    expect(mail.text).toContain('山田 太郎 様');
    expect(mail.text).toContain('株式会社スケルトン');
    const link = /http:\/\/mynaflow\.test\/i\/#k=([A-Za-z0-9_-]{43})/.exec(mail.text);
    expect(link).not.toBeNull();
    expect(mail.text.startsWith(PUBLIC_URL)).toBe(false);

    // Only the token's hash is stored, and it is the one in the mail.
    const invitations = await harness.prisma.invitation.findMany({ where: { registrantId: res.body.id } });
    expect(invitations).toHaveLength(1);
    expect(invitations[0]!.tokenHash).toBe(createHash('sha256').update(link![1]!).digest('hex'));
    expect(JSON.stringify(invitations)).not.toContain(link![1]);

    const stored = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: res.body.id } });
    expect(stored).toMatchObject({ tenantId, email: 'taro@example.co.jp', workflowId: res.body.workflowId });
  });

  it("takes a submission deadline (提出期限), the sender's message and reply-to: the mail says them, the employee's link and HR's record show the deadline", async () => {
    const due = new Date(Date.now() + 9 * 3_600_000 + 14 * 86_400_000).toISOString().slice(0, 10);
    const [y, m, d] = due.split('-').map(Number) as [number, number, number];
    const res = await hr
      .post('/v1/registrants')
      .send({ familyName: '期限', givenName: '守', email: 'kigen@example.co.jp', submissionDueDate: due, message: '年末調整に使います。', replyTo: 'jinji@example.co.jp', copyToSelf: true })
      .expect(201);
    expect(res.body.submissionDueDate).toBe(due);
    const mail = await harness.outbox.waitFor((x) => x.to.includes('kigen@example.co.jp'));
    expect(mail.text).toMatch(new RegExp(`【提出期限】${y}年${m}月${d}日（[日月火水木金土]）までに登録してください。`));
    expect(mail.text).toContain('【担当者からのメッセージ】\n年末調整に使います。');
    expect(mail.text).toContain('このメールに返信するか jinji@example.co.jp までお問い合わせください');
    expect(mail.replyTo).toContain('jinji@example.co.jp');
    expect(mail.cc).toBeTruthy(); // the copy to the sender
    // The employee's link says it too.
    const token = /#k=([A-Za-z0-9_-]{43})/.exec(mail.text)![1]!;
    const info = await request(harness.app).post('/v1/registration/link').send({ token }).expect(200);
    expect(info.body.submissionDueDate).toBe(due);
    expect((await hr.get(`/v1/registrants/${res.body.id}`).expect(200)).body.submissionDueDate).toBe(due);
  });

  it('refuses a deadline in the past or beyond the link (90 days), in Japanese at its field, storing nobody', async () => {
    const before = await harness.prisma.registrant.count({ where: { tenantId } });
    const day = (days: number) => new Date(Date.now() + 9 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10);
    for (const [due, code] of [[day(-1), 'DUE_DATE_PAST'], [day(120), 'DUE_DATE_TOO_LATE'], ['2027-02-30', 'DATE_INVALID']] as const) {
      const res = await hr.post('/v1/registrants').send({ familyName: '期限', givenName: '誤', email: 'kigen-x@example.co.jp', submissionDueDate: due }).expect(400);
      expect(res.body.errors).toEqual([{ path: '/body/submissionDueDate', code, message: expect.stringMatching(/提出期限/) }]);
    }
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(before);
  });

  it('shows the workflow in `temporal workflow list` and reports the invitation on GET', async () => {
    const created = await hr
      .post('/v1/registrants')
      .send({ familyName: '佐藤', givenName: '花子', email: 'hanako@example.co.jp' })
      .expect(201);
    await harness.outbox.waitFor((m) => m.to.includes('hanako@example.co.jp'));

    const address = harness.env.connection.options.address;
    const listed = execFileSync(TEMPORAL_CLI, ['workflow', 'list', '--address', address, '--namespace', 'default', '--output', 'json'], {
      encoding: 'utf8',
    });
    const ids = JSON.parse(listed).map((w: { execution: { workflowId: string } }) => w.execution.workflowId);
    expect(ids).toContain(created.body.workflowId);

    // The round is open once the mail is out and recorded (a moment after the server took it).
    await until(async () => (await hr.get(`/v1/registrants/${created.body.id}`)).body.invitation?.state === 'open', 'the invitation to be recorded');
    const got = await hr.get(`/v1/registrants/${created.body.id}`).expect(200);
    expect(got.body.invitation.state).toBe('open');
    const ninetyDays = Date.parse(got.body.invitation.expiresAt) - Date.parse(created.body.createdAt);
    expect(ninetyDays).toBeGreaterThan(90 * 24 * 3600 * 1000 - 60_000);
    expect(ninetyDays).toBeLessThan(90 * 24 * 3600 * 1000 + 60_000);
  });

  it('refuses bad input with one problem format and stores nothing', async () => {
    const before = await harness.prisma.registrant.count({ where: { tenantId } });
    const res = await hr.post('/v1/registrants').send({ familyName: '山田', email: 'not-an-email' }).expect(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', title: '入力内容に誤りがあります' });
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/body/givenName', '/body/email']));

    const malformed = await hr.post('/v1/registrants').set('content-type', 'application/json').send('{"familyName":').expect(400);
    expect(malformed.body.code).toBe('MALFORMED_JSON');
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(before);
  });

  it('answers 409 for a duplicate employee code', async () => {
    const body = { familyName: '鈴木', givenName: '一郎', email: 'ichiro@example.co.jp', employeeCode: 'DUP-1' };
    await hr.post('/v1/registrants').send(body).expect(201);
    const res = await hr.post('/v1/registrants').send({ ...body, email: 'other@example.co.jp' }).expect(409);
    expect(res.body.code).toBe('EMPLOYEE_CODE_TAKEN');
  });

  it('many creates of one tenant at once (stored together) each get their answer: a code taken twice in the batch stores one of them, the others are stored, chained and mailed once', async () => {
    const owner = await harness.agent(tenantId, 'owner');
    await hr.post('/v1/registrants').send({ familyName: '既存', givenName: '社員', email: 'exists@example.co.jp', employeeCode: 'GRP-OLD' }).expect(201);
    const bodies = Array.from({ length: 16 }, (_, i) => ({ familyName: '同時', givenName: `${i}号`, email: `together-${i}@example.co.jp`, employeeCode: `GRP-${i}` }));
    bodies[5]!.employeeCode = 'GRP-TWICE';
    bodies[11]!.employeeCode = 'GRP-TWICE';
    bodies[8]!.employeeCode = 'GRP-OLD';
    const answers = await Promise.all(bodies.map((b) => hr.post('/v1/registrants').send(b)));
    const conflicts = answers.map((r, i) => (r.status === 409 ? i : -1)).filter((i) => i >= 0);
    expect(conflicts).toContain(8);
    expect(conflicts.filter((i) => i === 5 || i === 11)).toHaveLength(1);
    expect(conflicts).toHaveLength(2);
    for (const i of conflicts) expect(answers[i]!.body.code).toBe('EMPLOYEE_CODE_TAKEN');
    const stored = answers.filter((r) => r.status === 201);
    expect(stored).toHaveLength(14);
    for (const r of stored) expect(r.body).toMatchObject({ status: 'unregistered', workflowQueued: false });

    const rows = await harness.prisma.registrant.findMany({ where: { tenantId, familyName: '同時' } });
    expect(rows.map((r) => r.id).sort()).toEqual(stored.map((r) => r.body.id).sort());
    expect(rows.every((r) => r.workflowPendingSince === null && r.workflowStart === null)).toBe(true);
    const created = await harness.prisma.operationEvent.findMany({ where: { tenantId, operation: 'registrant_created', registrantId: { in: rows.map((r) => r.id) } } });
    expect(created.map((e) => e.registrantId).sort()).toEqual(rows.map((r) => r.id).sort());
    expect((await owner.post('/v1/operation-history/verify').expect(200)).body).toMatchObject({ ok: true });
    for (const r of stored) await harness.outbox.waitFor((m) => m.to.includes(r.body.email));
    await new Promise((r) => setTimeout(r, 300));
    for (const b of bodies) expect(harness.outbox.mails.filter((m) => m.to.includes(b.email)).length).toBe(answers[bodies.indexOf(b)]!.status === 201 ? 1 : 0);
  });

  it('withdraws an invitation: the link is revoked, HR sees withdrawn, a second withdrawal is refused', async () => {
    const created = await hr
      .post('/v1/registrants')
      .send({ familyName: '高橋', givenName: '次郎', email: 'jiro@example.co.jp' })
      .expect(201);
    await harness.outbox.waitFor((m) => m.to.includes('jiro@example.co.jp'));
    await until(async () => (await hr.get(`/v1/registrants/${created.body.id}`)).body.invitation?.state === 'open', 'the invitation to be open');
    const withdrawn = await hr.post(`/v1/registrants/${created.body.id}/withdraw`).expect(200);
    expect(withdrawn.body.invitation).toMatchObject({ state: 'withdrawn' });
    // Recorded once, by the workflow's step, with HR as the actor.
    const recorded = await harness.prisma.operationEvent.findMany({ where: { registrantId: created.body.id, operation: 'invitation_withdrawn' } });
    expect(recorded).toHaveLength(1);
    expect(recorded[0]!.actorType).toBe('login_user');
    const invitations = await harness.prisma.invitation.findMany({ where: { registrantId: created.body.id } });
    expect(invitations.every((i) => i.revokedAt !== null)).toBe(true);
    const again = await hr.post(`/v1/registrants/${created.body.id}/withdraw`).expect(409);
    expect(again.body.code).toBe('INVITATION_CLOSED');
  });

  it('answers 404 for an unknown registrant', async () => {
    const res = await hr.get('/v1/registrants/00000000-0000-4000-8000-000000000000').expect(404);
    expect(res.body.code).toBe('REGISTRANT_NOT_FOUND');
  });
});

describe('access', () => {
  it('requires a login, the right role and the CSRF token', async () => {
    const body = { familyName: '伊藤', givenName: '四郎', email: 'shiro@example.co.jp' };
    const anonymous = await request(harness.app).post('/v1/registrants').send(body).expect(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
    const viewer = await harness.agent(tenantId, 'viewer');
    expect((await viewer.post('/v1/registrants').send(body).expect(403)).body.code).toBe('FORBIDDEN');
    const noCsrf = await hr.post('/v1/registrants').set('X-CSRF-Token', 'forged').send(body).expect(403);
    expect(noCsrf.body.code).toBe('CSRF_TOKEN_INVALID');
    expect(await harness.prisma.registrant.count({ where: { email: 'shiro@example.co.jp' } })).toBe(0);
  });

  it('keeps tenants apart', async () => {
    const created = await hr.post('/v1/registrants').send({ familyName: '渡辺', givenName: '五郎', email: 'goro@example.co.jp' }).expect(201);
    const otherTenant = await createTenant(harness.prisma, '別会社');
    const outsider = await harness.agent(otherTenant, 'owner');
    expect((await outsider.get(`/v1/registrants/${created.body.id}`).expect(404)).body.code).toBe('REGISTRANT_NOT_FOUND');
  });
});

describe('/healthz', () => {
  it('is ok when PostgreSQL and Temporal answer', async () => {
    const res = await request(harness.app).get('/healthz').expect(200);
    expect(res.body).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' }, temporal: { status: 'ok' } } });
  });

  it('reports Temporal unreachable with 503, and POST stores nothing then', async () => {
    const client = createTemporalClient('127.0.0.1:1', 'default');
    const downApp = testApp({ prisma: harness.prisma, logger, outbox: harness.outbox, temporalClient: client, taskQueue: TASK_QUEUE }).app;
    const health = await request(downApp).get('/healthz').expect(503);
    expect(health.body).toMatchObject({ status: 'unavailable', checks: { database: { status: 'ok' }, temporal: { status: 'error' } } });

    const before = await harness.prisma.registrant.count({ where: { tenantId } });
    const downHr = await loginAs(downApp, harness.outbox, await createLoginUser(harness.prisma, tenantId, 'owner'));
    const res = await downHr.post('/v1/registrants').send({ familyName: '田中', givenName: '三郎', email: 'saburo@example.co.jp' }).expect(503);
    expect(res.body.code).toBe('TEMPORAL_UNAVAILABLE');
    // Other test files share the database: count this tenant's registrants only.
    expect(await harness.prisma.registrant.count({ where: { tenantId } })).toBe(before);
    expect(await harness.prisma.registrant.count({ where: { email: 'saburo@example.co.jp' } })).toBe(0);
    await client.connection.close();
  });
});

describe('API contract', () => {
  it('serves the spec and browsable docs', async () => {
    const spec = await request(harness.app).get('/openapi.yaml').expect(200);
    expect(spec.text).toContain('openapi: 3.0.3');
    await request(harness.app).get('/docs').expect(301).expect('location', '/docs/');
    const docs = await request(harness.app).get('/docs/').expect(200);
    expect(docs.text).toContain('swagger-ui');
    // Served by the app itself, no CDN.
    await request(harness.app).get('/docs/swagger-ui-bundle.js').expect(200);
  });

  it('answers unknown routes with the problem format', async () => {
    const res = await request(harness.app).get('/v1/nothing-here').expect(404);
    expect(res.body.code).toBe('NOT_FOUND');
  });
});
