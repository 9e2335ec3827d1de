/**
 * The employee's side over HTTP, on a real Temporal dev server, PostgreSQL and the SMTP capture: the
 * invitation link from the mail → first-visit set-up (password, company passcode, consent) → the
 * draft (number twice, documents judged by content, dependents) invisible to HR → "finish" as a
 * workflow update → HR's decision → the employee's view of it.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { hashPassword } from '../services/auth/passwords';
import { lifecycleQuery } from '../shared';
import { createTenant, memoryLogger, testVault, type Agent, TEST_PASSWORD } from './support/fixtures';
import { bytesOf } from './support/http';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { JAPANESE } from './support/problems';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';
import { tokenOf } from './support/mail-gate';

const TASK_QUEUE = 'registration-api';
const PASSCODE = 'Kaisha-2026';
// Smallest images of each kind: only their signatures matter to the server.
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const JPEG = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), Buffer.alloc(64, 1)]);
const GIF = Buffer.from('474946383961010001000000002c00000000010001000002', 'hex');

const { logger, lines } = memoryLogger();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger });
let tenantId: string;
let hr: Agent;
let viewer: Agent;
/** Every number typed in this file: none may show up in a response, a mail or a log line. */
const typed: string[] = [];
const responses: string[] = [];

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社本人登録');
  await harness.prisma.tenant.update({ where: { id: tenantId }, data: { passcodeHash: await hashPassword(PASSCODE), purposes: ['withholding_slip', 'employment_insurance', 'health_insurance_pension'] } });
  hr = await harness.agent(tenantId, 'manager', '人事 太郎');
  viewer = await harness.agent(tenantId, 'viewer');
});

afterAll(() => {
  // Checked last, over everything this file saw.
  const seen = [...responses, ...harness.outbox.mails.map((m) => `${m.subject}\n${m.text}`), ...lines].join('\n');
  expect(containsAny(seen, typed)).toEqual([]);
});

const number = () => {
  const n = randomMyNumber();
  typed.push(n);
  return n;
};
/** A valid-looking number whose check digit is wrong. */
const badCheckDigit = () => {
  const n = number();
  return n.slice(0, 11) + String((Number(n[11]) + 1) % 10);
};

/** A registrant invited by HR over the API; resolves with the link token from the mail. */
async function invited(extra: Record<string, unknown> = {}) {
  const email = `e-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName: '山田', givenName: '一郎', email, ...extra }).expect(201);
  const mail = await harness.outbox.waitFor((m) => m.to.includes(email), 15_000);
  const handle = harness.env.client.workflow.getHandle(res.body.workflowId);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
  return { id: res.body.id as string, email, token: tokenOf(mail), handle };
}

/** The employee's phone: a cookie jar plus the CSRF token of the session. */
class Phone {
  agent = request.agent(harness.app);
  csrf = '';
  private track<T extends request.Response>(res: T): T {
    responses.push(JSON.stringify(res.body ?? ''), JSON.stringify(res.headers));
    return res;
  }
  async setUp(token: string, password = 'my-phone-pass') {
    const res = this.track(await this.agent.post('/v1/registration/setup').send({ token, password, passcode: PASSCODE, consentedPurposes: ['withholding_slip', 'employment_insurance', 'health_insurance_pension'] }));
    if (res.status === 200) this.csrf = res.body.csrfToken;
    return res;
  }
  async logIn(token: string, password = 'my-phone-pass') {
    const res = this.track(await this.agent.post('/v1/registration/login').send({ token, password }));
    if (res.status === 200) this.csrf = res.body.csrfToken;
    return res;
  }
  async get(path = '') {
    return this.track(await this.agent.get(`/v1/registration${path}`));
  }
  async send(method: 'post' | 'put' | 'patch' | 'delete', path: string, body?: object) {
    const req = this.agent[method](`/v1/registration${path}`).set('X-CSRF-Token', this.csrf);
    return this.track(await (body ? req.send(body) : req));
  }
  async upload(query: string, image: Buffer, contentType = 'image/png') {
    return this.track(await this.agent.post(`/v1/registration/documents?${query}`).set('X-CSRF-Token', this.csrf).set('Content-Type', contentType).send(image));
  }
}

/** Everything a whole submission needs for the person alone. */
async function fillIn(phone: Phone) {
  const n = number();
  await phone.send('put', '/profile', { myNumber: n, myNumberConfirmation: n, gender: 'female', birthDate: '1990-04-01' }).then((r) => expect(r.status).toBe(200));
  await phone.upload('purpose=number_confirmation&type=my_number_card&side=back', PNG).then((r) => expect(r.status).toBe(201));
  await phone.upload('purpose=identity&type=my_number_card&side=front', JPEG, 'image/jpeg').then((r) => expect(r.status).toBe(201));
}

const codes = (res: request.Response) => (res.body.errors ?? []).map((e: { code: string }) => e.code);

describe('opening the link', () => {
  it('first visit: tells whose link it is and what to consent to; set-up needs the passcode and every consent, and records them', async () => {
    const { id, token } = await invited();
    const info = await request(harness.app).post('/v1/registration/link').send({ token }).expect(200);
    expect(info.body).toMatchObject({ familyName: '山田', givenName: '一郎', companyName: '株式会社本人登録', firstVisit: true, passcodeRequired: true });
    expect(info.body.purposes.map((p: { code: string }) => p.code)).toEqual(['withholding_slip', 'employment_insurance', 'health_insurance_pension']);
    expect(info.body.purposes[0].label).toBe('給与所得・退職所得の源泉徴収票作成事務');

    const phone = new Phone();
    const wrongPasscode = await phone.agent.post('/v1/registration/setup').send({ token, password: 'my-phone-pass', passcode: 'nope', consentedPurposes: ['withholding_slip', 'employment_insurance', 'health_insurance_pension'] });
    expect(wrongPasscode.status).toBe(401);
    expect(wrongPasscode.body.code).toBe('PASSCODE_INCORRECT');
    expect(wrongPasscode.body.title).toMatch(JAPANESE);
    const partialConsent = await phone.agent.post('/v1/registration/setup').send({ token, password: 'my-phone-pass', passcode: PASSCODE, consentedPurposes: ['withholding_slip'] });
    expect(partialConsent.status).toBe(400);
    expect(partialConsent.body.code).toBe('CONSENT_REQUIRED');
    const weak = await phone.agent.post('/v1/registration/setup').send({ token, password: 'short', passcode: PASSCODE, consentedPurposes: [] });
    expect(weak.body.code).toBe('WEAK_PASSWORD');
    // Nothing of the failed attempts stuck: no password, no consents.
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).passwordHash).toBeNull();
    expect(await harness.prisma.consent.count({ where: { registrantId: id } })).toBe(0);

    expect((await phone.setUp(token)).status).toBe(200);
    const me = await phone.get();
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ status: 'unregistered', editable: true, remandReason: null, draft: { myNumber: { entered: false, last4: null } } });
    expect(me.body.issues.map((i: { code: string }) => i.code)).toEqual(expect.arrayContaining(['NUMBER_REQUIRED', 'GENDER_REQUIRED', 'BIRTH_DATE_REQUIRED', 'NUMBER_DOCUMENT_REQUIRED', 'IDENTITY_DOCUMENT_REQUIRED']));

    const mine = await phone.get('/consents');
    expect(mine.body.map((c: { purpose: string }) => c.purpose).sort()).toEqual(['employment_insurance', 'health_insurance_pension', 'withholding_slip']);
    const hrView = await hr.get(`/v1/registrants/${id}/consents`).expect(200);
    expect(hrView.body).toHaveLength(3);
    const history = await harness.prisma.operationEvent.findMany({ where: { tenantId, registrantId: id, operation: { in: ['consented', 'login_succeeded', 'login_failed'] } }, orderBy: { id: 'asc' } });
    expect(history.map((e) => [e.operation, e.actorType])).toEqual([
      ['login_failed', 'registrant'],
      ['consented', 'registrant'],
      ['login_succeeded', 'registrant'],
    ]);

    // The second visit is the password, and set-up is not offered again.
    expect((await request(harness.app).post('/v1/registration/link').send({ token })).body.firstVisit).toBe(false);
    expect((await new Phone().setUp(token)).body.code).toBe('ALREADY_SET_UP');
    const later = new Phone();
    expect((await later.logIn(token, 'wrong-password')).body.code).toBe('PASSWORD_INCORRECT');
    expect((await later.logIn(token)).status).toBe(200);
    expect((await later.get()).status).toBe(200);
  });

  it('a purpose the company adds later is asked before "finish": listed, refused until consented, then recorded', async () => {
    const { id, token } = await invited();
    const phone = new Phone();
    expect((await phone.setUp(token)).status).toBe(200);
    await fillIn(phone);
    expect((await phone.get()).body.consentsMissing).toEqual([]);
    const original = ['withholding_slip', 'employment_insurance', 'health_insurance_pension'] as const;
    await harness.prisma.tenant.update({ where: { id: tenantId }, data: { purposes: [...original, 'workers_compensation'] } });
    try {
      const me = await phone.get();
      expect(me.body.consentsMissing).toEqual([{ code: 'workers_compensation', label: '労働者災害補償保険法に基づく請求に関する事務' }]);
      const early = await phone.send('post', '/submission');
      expect(early.status).toBe(409);
      expect(early.body).toMatchObject({ code: 'CONSENT_REQUIRED', title: expect.stringMatching(JAPANESE) });
      expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).status).toBe('unregistered');

      expect((await phone.send('post', '/consents', { consentedPurposes: [] })).body.code).toBe('CONSENT_REQUIRED');
      const agreed = await phone.send('post', '/consents', { consentedPurposes: ['workers_compensation'] });
      expect(agreed.status).toBe(200);
      expect(agreed.body.consentsMissing).toEqual([]);
      const recorded = await harness.prisma.operationEvent.findMany({ where: { registrantId: id, operation: 'consented' }, orderBy: { id: 'asc' } });
      expect(recorded.map((e) => e.detail)).toEqual([{ purposes: [...original] }, { purposes: ['workers_compensation'] }]);
      expect((await hr.get(`/v1/registrants/${id}/consents`).expect(200)).body).toHaveLength(4);
      expect((await phone.send('post', '/submission')).status).toBe(200);
    } finally {
      await harness.prisma.tenant.update({ where: { id: tenantId }, data: { purposes: [...original] } });
    }
  });

  it('HR clears a forgotten password: the open session ends, the next visit is a first visit again, the draft is kept; recorded; viewers cannot', async () => {
    const { id, token } = await invited();
    const phone = new Phone();
    expect((await phone.setUp(token)).status).toBe(200);
    const n = number();
    expect((await phone.send('put', '/profile', { myNumber: n, myNumberConfirmation: n, gender: 'male', birthDate: '1980-01-02' })).status).toBe(200);

    expect((await viewer.post(`/v1/registrants/${id}/password-reset`)).status).toBe(403);
    await hr.post(`/v1/registrants/${id}/password-reset`).expect(204);
    expect((await phone.get()).status).toBe(401);
    expect((await request(harness.app).post('/v1/registration/link').send({ token })).body.firstVisit).toBe(true);
    expect((await new Phone().logIn(token)).body.code).toBe('SETUP_REQUIRED');
    const again = new Phone();
    expect((await again.setUp(token, 'a-new-phone-pass')).status).toBe(200);
    const mine = await again.get();
    expect(mine.body.draft).toMatchObject({ gender: 'male', birthDate: '1980-01-02', myNumber: { entered: true, last4: n.slice(-4) } });
    const event = await harness.prisma.operationEvent.findFirstOrThrow({ where: { registrantId: id, operation: 'registrant_password_reset' } });
    expect(event).toMatchObject({ actorType: 'login_user', label: '登録者のパスワード初期化' });
    expect((await hr.post(`/v1/registrants/${randomUUID()}/password-reset`)).status).toBe(404);
  });

  it('unknown, replaced and expired links get their own Japanese answer; wrong passwords in a row block the login for a while', async () => {
    expect((await request(harness.app).post('/v1/registration/link').send({ token: 'x'.repeat(43) })).body.code).toBe('LINK_INVALID');
    const { id, token, handle, email } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    for (let i = 0; i < 9; i++) expect((await new Phone().logIn(token, `wrong-${i}`)).status).toBe(401);
    const blocked = await new Phone().logIn(token, 'wrong-last');
    expect(blocked.status).toBe(423);
    expect(blocked.body.code).toBe('LOGIN_BLOCKED');
    expect((await new Phone().logIn(token)).body.code).toBe('LOGIN_BLOCKED'); // even the right password, for now
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'login_locked' } })).toBe(1);

    // HR resends: a new link; the old one and the session opened with it are dead.
    await hr.post(`/v1/registrants/${id}/invitation`).send({}).expect(200);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.round === 2, 'the second round');
    const replaced = await request(harness.app).post('/v1/registration/link').send({ token }).expect(410);
    expect(replaced.body.code).toBe('LINK_REVOKED');
    expect(replaced.body.title).toMatch(JAPANESE);
    expect((await phone.get()).status).toBe(401);

    // Expiry itself is the workflow's 90-day timer (tested with the time-skipping server); here the
    // newest link's row says it has passed.
    const newest = harness.outbox.mails.filter((m) => m.to.includes(email)).pop()!;
    await harness.prisma.invitation.updateMany({ where: { registrantId: id, revokedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await request(harness.app).post('/v1/registration/link').send({ token: tokenOf(newest) });
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe('LINK_EXPIRED');
  });

  it('refuses the registration calls without the session, with an HR session, or without the CSRF token', async () => {
    expect((await request(harness.app).get('/v1/registration')).status).toBe(401);
    expect((await hr.get('/v1/registration')).status).toBe(401);
    const { token } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const noCsrf = await phone.agent.put('/v1/registration/profile').send({ gender: 'male' });
    expect(noCsrf.status).toBe(403);
    expect(noCsrf.body.code).toBe('CSRF_TOKEN_INVALID');
    // The session cookie is scoped to the registration API, httpOnly and SameSite=Strict.
    const res = await phone.agent.post('/v1/registration/login').send({ token, password: 'my-phone-pass' });
    expect(res.headers['set-cookie']![0]).toMatch(/mynaflow_registration=[^;]+; Max-Age=\d+; Path=\/v1\/registration; HttpOnly; SameSite=Strict/);
  });
});

describe('the draft', () => {
  it('checks the number typed twice and its check digit, saves nothing wrong, and never shows the number back', async () => {
    const { id, token } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const wrong = await phone.send('put', '/profile', { myNumber: badCheckDigit(), myNumberConfirmation: 'whatever', gender: 'male' });
    expect(wrong.status).toBe(400);
    expect(codes(wrong)).toEqual(['NUMBER_CHECK_DIGIT']);
    const n = number();
    const mismatch = await phone.send('put', '/profile', { myNumber: n, myNumberConfirmation: number() });
    expect(codes(mismatch)).toEqual(['NUMBER_MISMATCH']);
    const future = await phone.send('put', '/profile', { birthDate: '2999-01-01' });
    expect(codes(future)).toEqual(['BIRTH_DATE_OUT_OF_RANGE']);
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).draftSecretId).toBeNull();

    // Full-width digits and hyphens are what people type on a phone.
    const fullWidth = n.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));
    const ok = await phone.send('put', '/profile', { myNumber: `${fullWidth.slice(0, 4)}-${fullWidth.slice(4)}`, myNumberConfirmation: n, gender: 'male', birthDate: '1980-01-01' });
    expect(ok.status).toBe(200);
    expect(ok.body.draft).toMatchObject({ myNumber: { entered: true, last4: n.slice(-4) }, gender: 'male', birthDate: '1980-01-01' });
    expect(JSON.stringify(ok.body)).not.toContain(n);

    // HR sees none of it until "finish".
    const hrView = await hr.get(`/v1/registrants/${id}`).expect(200);
    expect(hrView.body).toMatchObject({ status: 'unregistered', myNumber: { registered: false } });
    const row = await harness.prisma.registrant.findUniqueOrThrow({ where: { id } });
    expect(row.gender).toBeNull();
    expect(row.birthDate).toBeNull();
  });

  it('takes JPEG, PNG and GIF by their content up to 4 MB; a retake replaces; the preview is the image itself', async () => {
    const { id, token } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const pdf = await phone.upload('purpose=identity&type=passport', Buffer.from('%PDF-1.4 not an image'), 'image/png');
    expect(pdf.status).toBe(400);
    expect(codes(pdf)).toEqual(['IMAGE_TYPE']);
    const huge = Buffer.concat([PNG, Buffer.alloc(4 * 1024 * 1024 + 1 - PNG.length)]);
    const tooLarge = await phone.upload('purpose=identity&type=passport', huge);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body).toMatchObject({ code: 'IMAGE_TOO_LARGE', title: '画像のサイズは4MBまでにしてください' });
    const muchTooLarge = await phone.upload('purpose=identity&type=passport', Buffer.concat([huge, Buffer.alloc(1024 * 1024)]));
    expect(muchTooLarge.body.code).toBe('IMAGE_TOO_LARGE');
    const notANumberProof = await phone.upload('purpose=number_confirmation&type=passport', PNG);
    expect(codes(notANumberProof)).toEqual(['NOT_A_NUMBER_DOCUMENT']);
    expect(await harness.prisma.document.count({ where: { registrantId: id } })).toBe(0);

    // Exactly 4 MB is fine; a GIF named as a JPEG is stored as what it is.
    const exact = await phone.upload('purpose=identity&type=passport', Buffer.concat([PNG, Buffer.alloc(4 * 1024 * 1024 - PNG.length)]));
    expect(exact.status).toBe(201);
    const gif = await phone.upload('purpose=identity&type=passport', GIF, 'image/jpeg');
    expect(gif.status).toBe(201);
    const docs = gif.body.draft.documents;
    expect(docs).toHaveLength(1); // the retake replaced the 4 MB one
    expect(docs[0]).toMatchObject({ type: 'passport', side: 'front', mimeType: 'image/gif', submitted: false });
    expect(await harness.prisma.vaultSecret.count({ where: { document: { registrantId: id } } })).toBe(1);

    const preview = await bytesOf(phone.agent.get(`/v1/registration/documents/${docs[0].id}/image`));
    expect(preview.status).toBe(200);
    expect(preview.headers['content-type']).toBe('image/gif');
    expect(preview.headers['cache-control']).toBe('no-store');
    expect(Buffer.compare(preview.body as Buffer, GIF)).toBe(0);
    // Someone else's session cannot see it.
    const other = new Phone();
    await other.setUp((await invited()).token);
    expect((await other.agent.get(`/v1/registration/documents/${docs[0].id}/image`)).status).toBe(404);

    const removed = await phone.send('delete', `/documents/${docs[0].id}`);
    expect(removed.body.draft.documents).toEqual([]);
    expect(await harness.prisma.document.count({ where: { registrantId: id } })).toBe(0);
  });

  it('adds, edits, deletes dependents and marks one no longer a dependent; only category-3 dependents bring documents', async () => {
    const { id, token } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const missing = await phone.send('post', '/dependents', { familyName: '山田', relationship: '子' });
    expect(missing.status).toBe(400);
    const spouseNumber = number();
    const spouse = await phone.send('post', '/dependents', { familyName: '山田', givenName: '花子', relationship: '配偶者', kind: 'category3', birthDate: '1991-02-03', myNumber: spouseNumber, myNumberConfirmation: spouseNumber });
    expect(spouse.status).toBe(201);
    const child = await phone.send('post', '/dependents', { familyName: '山田', givenName: '次郎', relationship: '子', birthDate: '2020-05-05' });
    const parent = await phone.send('post', '/dependents', { familyName: '山田', givenName: '父', relationship: '父', birthDate: '1950-01-01' });
    expect(parent.body.draft.dependents).toHaveLength(3);

    const notCategory3 = await phone.upload(`purpose=identity&type=passport&dependentId=${child.body.id}`, PNG);
    expect(notCategory3.status).toBe(409);
    expect(notCategory3.body.code).toBe('DEPENDENT_DOCUMENTS_NOT_NEEDED');
    expect((await phone.upload(`purpose=number_confirmation&type=notification_card&dependentId=${spouse.body.id}`, PNG)).status).toBe(201);

    const childNumber = number();
    const edited = await phone.send('patch', `/dependents/${child.body.id}`, { givenName: '二郎', myNumber: childNumber, myNumberConfirmation: childNumber });
    expect(edited.body.draft.dependents.find((d: { id: string }) => d.id === child.body.id)).toMatchObject({ givenName: '二郎', myNumber: { entered: true, last4: childNumber.slice(-4) } });
    await phone.send('patch', `/dependents/${parent.body.id}`, { noLongerDependent: true }).then((r) => expect(r.status).toBe(200));
    const afterDelete = await phone.send('delete', `/dependents/${spouse.body.id}`);
    expect(afterDelete.body.draft.dependents.map((d: { givenName: string }) => d.givenName)).toEqual(['二郎', '父']);
    expect(afterDelete.body.draft.documents).toEqual([]); // the spouse's document went with them
    expect((await phone.send('delete', `/dependents/${spouse.body.id}`)).status).toBe(404);

    // Draft dependents carry no personal data in plain columns, and HR does not count them.
    const rows = await harness.prisma.dependent.findMany({ where: { registrantId: id } });
    expect(rows.every((r) => r.draft && r.familyName === '' && r.givenName === '')).toBe(true);
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body.dependentsStatus ?? null).toBeNull();
  });

  it('two tabs saving at once both land', async () => {
    const { token } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const results = await Promise.all(['一', '二', '三', '四'].map((g) => phone.send('post', '/dependents', { familyName: '山田', givenName: g, relationship: '子' })));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    expect((await phone.get()).body.draft.dependents.map((d: { givenName: string }) => d.givenName).sort()).toEqual(['一', '三', '二', '四'].sort());
  });
});

describe('finish, decision, and back to the employee', () => {
  it('各種福祉手帳 is an identity document with a photo (one is enough); a 学生証 has none (a second document is needed)', async () => {
    const { token } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const identityIssue = async () => ((await phone.get()).body.issues as { code: string }[]).some((i) => i.code === 'IDENTITY_DOCUMENT_REQUIRED');
    expect((await phone.upload('purpose=number_confirmation&type=notification_card', PNG)).status).toBe(201);
    expect((await phone.upload('purpose=identity&type=student_id', PNG)).status).toBe(201);
    expect(await identityIssue()).toBe(true);
    expect((await phone.upload('purpose=identity&type=pension_book', PNG)).status).toBe(201);
    expect(await identityIssue()).toBe(false);

    const other = new Phone();
    await other.setUp((await invited()).token);
    expect((await other.upload('purpose=number_confirmation&type=notification_card', PNG)).status).toBe(201);
    expect((await other.upload('purpose=identity&type=welfare_certificate&side=front', PNG)).status).toBe(201);
    expect(((await other.get()).body.issues as { code: string }[]).some((i) => i.code === 'IDENTITY_DOCUMENT_REQUIRED')).toBe(false);
  });

  it('a half-finished draft is refused with what is missing; a whole one is submitted once; remand reopens it from what was sent; approval locks the login', async () => {
    const { id, token, handle, email } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    const half = await phone.send('put', '/profile', { gender: 'female' });
    expect(half.status).toBe(200);
    const refused = await phone.send('post', '/submission');
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('DRAFT_INCOMPLETE');
    expect(codes(refused)).toEqual(expect.arrayContaining(['NUMBER_REQUIRED', 'BIRTH_DATE_REQUIRED', 'NUMBER_DOCUMENT_REQUIRED', 'IDENTITY_DOCUMENT_REQUIRED']));
    expect(refused.body.errors.every((e: { message: string }) => JAPANESE.test(e.message))).toBe(true);
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).status).toBe('unregistered');

    await fillIn(phone);
    const child = await phone.send('post', '/dependents', { familyName: '山田', givenName: '三郎', relationship: '子', birthDate: '2019-07-07', ...(() => { const n = number(); return { myNumber: n, myNumberConfirmation: n }; })() });
    expect(child.body.issues).toEqual([]);
    const done = await phone.send('post', '/submission');
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'pending', editable: false, issues: [] });
    expect((await handle.query(lifecycleQuery)).status).toBe('pending');
    expect((await phone.send('post', '/submission')).body.code).toBe('NOT_EDITABLE');
    expect((await phone.send('put', '/profile', { gender: 'male' })).body.code).toBe('NOT_EDITABLE');

    const hrView = await hr.get(`/v1/registrants/${id}`).expect(200);
    expect(hrView.body).toMatchObject({ status: 'pending', myNumber: { registered: true }, dependentsStatus: 'pending' });
    const submittedRow = await harness.prisma.registrant.findUniqueOrThrow({ where: { id }, include: { dependents: true, documents: true } });
    expect(submittedRow.dependents.map((d) => [d.givenName, d.draft])).toEqual([['三郎', false]]);
    expect(submittedRow.documents.every((d) => !d.draft)).toBe(true);
    expect(await harness.prisma.operationEvent.count({ where: { registrantId: id, operation: 'submitted', actorType: 'registrant' } })).toBe(1);

    // Remand: the reason reaches the employee with a new link; the draft starts from what was sent.
    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '本人確認書類の写真が不鮮明です' }).expect(200);
    const remandMail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('不鮮明'), 15_000);
    expect((await phone.get()).status).toBe(401); // the old link's session ended with its round
    const again = new Phone();
    expect((await again.logIn(tokenOf(remandMail))).status).toBe(200);
    const reopened = await again.get();
    expect(reopened.body).toMatchObject({ status: 'remanded', remandReason: '本人確認書類の写真が不鮮明です', editable: true, issues: [] });
    expect(reopened.body.draft.dependents.map((d: { givenName: string }) => d.givenName)).toEqual(['三郎']);
    expect(reopened.body.draft.documents.every((d: { submitted: boolean }) => d.submitted)).toBe(true);
    const identity = reopened.body.draft.documents.find((d: { purpose: string }) => d.purpose === 'identity');
    // A retake of the identity photo replaces the submitted one at the next "finish".
    expect((await again.upload('purpose=identity&type=my_number_card&side=front', PNG)).status).toBe(201);
    expect((await again.send('post', '/submission')).body.status).toBe('pending');
    expect(await harness.prisma.document.findUnique({ where: { id: identity.id } })).toBeNull();
    expect(await harness.prisma.document.count({ where: { registrantId: id } })).toBe(2);

    await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    const locked = await request(harness.app).post('/v1/registration/link').send({ token: tokenOf(remandMail) });
    expect(locked.status).toBe(423);
    expect(locked.body).toMatchObject({ code: 'LOGIN_LOCKED', title: expect.stringContaining('ロック') });
    expect((await again.get()).status).toBe(401);
  });
});

describe("HR's corrections while a remanded person is changing their registration", () => {
  it('reach the draft: the corrected kana and number are what the person sees and sends again; a dependent HR deleted does not come back, nor does its number survive in the draft', async () => {
    const { id, token, email } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    await fillIn(phone);
    const [saburo, shiro] = [number(), number()];
    const a = await phone.send('post', '/dependents', { familyName: '山田', givenName: '三郎', givenNameKana: 'サンロウ', relationship: '子', birthDate: '2019-07-07', myNumber: saburo, myNumberConfirmation: saburo });
    const b = await phone.send('post', '/dependents', { familyName: '山田', givenName: '四郎', relationship: '子', birthDate: '2021-01-01', myNumber: shiro, myNumberConfirmation: shiro });
    expect((await phone.send('post', '/submission')).body.status).toBe('pending');

    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '性別が違います' }).expect(200);
    const remandMail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('性別が違います'), 15_000);
    const again = new Phone();
    expect((await again.logIn(tokenOf(remandMail))).status).toBe(200);
    // The person starts changing: their draft now exists (from what they sent).
    expect((await again.send('put', '/profile', { gender: 'male' })).status).toBe(200);
    const draftBefore = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).draftSecretId;
    expect(draftBefore).not.toBeNull();

    // Meanwhile HR corrects the kana and the number of one child and deletes the other.
    await hr.patch(`/v1/registrants/${id}/dependents/${a.body.id}`).send({ givenNameKana: 'サブロウ' }).expect(200);
    const corrected = number();
    await hr.put(`/v1/registrants/${id}/dependents/${a.body.id}/my-number`).send({ myNumber: corrected, myNumberConfirmation: corrected }).expect(204);
    await hr.post(`/v1/registrants/${id}/deletion`).send({ scope: 'dependent', dependentId: b.body.id, password: TEST_PASSWORD }).expect(200);

    // The draft was sealed anew each time; the copy holding the deleted child's number is shredded.
    expect(await harness.prisma.vaultSecret.findUnique({ where: { id: draftBefore! } })).toBeNull();
    const seen = await again.get();
    expect(seen.body.draft.dependents).toEqual([expect.objectContaining({ id: a.body.id, givenNameKana: 'サブロウ', myNumber: { entered: true, last4: corrected.slice(-4) } })]);
    expect(seen.body.draft.gender).toBe('male');

    expect((await again.send('post', '/submission')).body.status).toBe('pending');
    const after = await harness.prisma.registrant.findUniqueOrThrow({ where: { id }, include: { dependents: true } });
    expect(after.gender).toBe('male');
    expect(after.dependents.map((d) => [d.id, d.givenNameKana])).toEqual([[a.body.id, 'サブロウ']]);
    const sent = (await testVault(harness.prisma).open(after.dependents[0]!.myNumberSecretId!, tenantId)).toString('utf8');
    expect(sent === corrected).toBe(true);
  });

  it("HR's deletion of the person's own number also empties the draft's copy", async () => {
    const { id, token, email } = await invited();
    const phone = new Phone();
    await phone.setUp(token);
    await fillIn(phone);
    expect((await phone.send('post', '/submission')).body.status).toBe('pending');
    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: '番号確認書類が読めません' }).expect(200);
    const remandMail = await harness.outbox.waitFor((m) => m.to.includes(email) && m.text.includes('番号確認書類が読めません'), 15_000);
    const again = new Phone();
    await again.logIn(tokenOf(remandMail));
    expect((await again.send('put', '/profile', { birthDate: '1990-04-02' })).status).toBe(200);

    await hr.delete(`/v1/registrants/${id}/my-number`).send({ password: TEST_PASSWORD }).expect(204);
    const seen = await again.get();
    expect(seen.body.draft.myNumber).toEqual({ entered: false, last4: null });
    expect(seen.body.draft.birthDate).toBe('1990-04-02');
    expect((await again.send('post', '/submission')).body.code).toBe('DRAFT_INCOMPLETE');
  });
});
