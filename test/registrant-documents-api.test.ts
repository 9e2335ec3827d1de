/**
 * HR's view of submitted identity documents for the approval screen (seed 001 ch.9 本人確認): the
 * employee uploads through the registration API (images sealed in the vault, in the draft, invisible to
 * HR), the submission makes them HR's (the draft flag cleared as the submit activity does, since no
 * workflow runs here); HR lists them and opens each image — the same bytes, its own type, not cached,
 * not sniffed, every view recorded (document id, never bytes). An image that shows the number opens
 * only like the number: owners and managers, the password again and a recorded reason (the collection
 * check while the person awaits approval, a purpose of use afterwards); viewers see no images. Drafts,
 * other registrants' and other tenants' documents are 404. Temporal points nowhere.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { PURPOSES } from '../services/audit/purposes';
import { hashToken } from '../services/auth/token-hash';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, testVault, type Agent, type TestUser } from './support/fixtures';
import { bytesOf } from './support/http';

// Smallest images of each kind: only their signatures matter to the server.
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const JPEG = Buffer.concat([Buffer.from('ffd8ffe000104a464946', 'hex'), randomBytes(64)]);
const GIF = Buffer.from('474946383961010001000000002c00000000010001000002', 'hex');

const harness = useApiHarness({ taskQueue: 'registrant-documents' });
let tenantId: string;
let manager: Agent;
let managerUser: TestUser;
let viewer: Agent;
let viewerUser: TestUser;
let otherOwner: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '書類確認株式会社');
  const otherTenant = await createTenant(harness.prisma, '書類の別会社');
  [managerUser, viewerUser] = await Promise.all([createLoginUser(harness.prisma, tenantId, 'manager', '承認 担当'), createLoginUser(harness.prisma, tenantId, 'viewer', '閲覧 担当')]);
  [manager, viewer, otherOwner] = await Promise.all([harness.login(managerUser), harness.login(viewerUser), harness.agent(otherTenant, 'owner')]);
});

/** An invited registrant whose phone has set up its registration session. */
async function invitedPhone() {
  const r = await harness.prisma.registrant.create({
    data: { tenantId, familyName: '書類', givenName: '提出', email: `d-${randomUUID().slice(0, 8)}@example.co.jp`, workflowId: `wf-${randomUUID()}`, invitationState: 'open', invitationExpiresAt: new Date(Date.now() + 86_400_000) },
  });
  const token = randomBytes(32).toString('base64url');
  await harness.prisma.invitation.create({ data: { registrantId: r.id, issueKey: `docs-${randomUUID()}`, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + 86_400_000) } });
  const phone = request.agent(harness.app);
  const setup = await phone.post('/v1/registration/setup').send({ token, password: 'phone-pass-1234', consentedPurposes: [...PURPOSES] }).expect(200);
  const upload = async (query: string, image: Buffer, type: string) => {
    const res = await phone.post(`/v1/registration/documents?${query}`).set('X-CSRF-Token', setup.body.csrfToken).set('Content-Type', type).send(image).expect(201);
    return res.body.id as string;
  };
  return { id: r.id, upload };
}

/** What the submission does to the draft's images (activities/lifecycle.ts submitDraft). */
const submit = (registrantId: string) => harness.prisma.document.updateMany({ where: { registrantId, draft: true }, data: { draft: false } });
const views = (registrantId: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, registrantId, operation: 'document_viewed' }, orderBy: { id: 'asc' } });
const imageUrl = (registrantId: string, documentId: string) => `/v1/registrants/${registrantId}/documents/${documentId}/image`;
const revealImage = (agent: Agent, registrantId: string, documentId: string, body: object) => agent.post(`${imageUrl(registrantId, documentId)}/reveal`).send(body);
const revealBytes = (agent: Agent, registrantId: string, documentId: string, body: object) => bytesOf(revealImage(agent, registrantId, documentId, body));

describe('submitted documents', () => {
  it('are invisible while in the draft; once submitted, listed and opened as uploaded, each view recorded', async () => {
    const p = await invitedPhone();
    const back = await p.upload('purpose=number_confirmation&type=my_number_card&side=back', PNG, 'image/png');
    const front = await p.upload('purpose=identity&type=my_number_card&side=front', JPEG, 'image/jpeg');

    // In the draft: the employee's alone.
    expect((await viewer.get(`/v1/registrants/${p.id}/documents`).expect(200)).body).toEqual([]);
    const early = await manager.get(imageUrl(p.id, back));
    expect([early.status, early.body.code]).toEqual([404, 'DOCUMENT_NOT_FOUND']);

    await submit(p.id);
    // Oldest first: the two uploads a second apart whatever the clock's resolution (counted from the
    // second upload's own time: on a loaded machine the submission alone may take over a second).
    const frontAt = (await harness.prisma.document.findUniqueOrThrow({ where: { id: front } })).createdAt;
    await harness.prisma.document.update({ where: { id: back }, data: { createdAt: new Date(frontAt.getTime() - 1000) } });
    // A category-3 dependent's own document, sealed like an upload.
    const spouse = await harness.prisma.dependent.create({ data: { registrantId: p.id, relationship: '配偶者', kind: 'category3', familyName: '書類', givenName: '配偶', status: 'pending' } });
    const sealed = await testVault(harness.prisma).seal({ tenantId, kind: 'document', plaintext: GIF });
    const theirs = await harness.prisma.document.create({ data: { registrantId: p.id, dependentId: spouse.id, purpose: 'identity', type: 'passport', side: 'front', mimeType: 'image/gif', byteSize: GIF.length, imageSecretId: sealed, draft: false } });

    const list = await viewer.get(`/v1/registrants/${p.id}/documents`).expect(200);
    expect(list.body).toEqual([
      { showsNumber: true, id: back, dependentId: null, purpose: 'number_confirmation', type: 'my_number_card', side: 'back', mimeType: 'image/png', byteSize: PNG.length, createdAt: expect.any(String), pendingChange: false },
      { showsNumber: false, id: front, dependentId: null, purpose: 'identity', type: 'my_number_card', side: 'front', mimeType: 'image/jpeg', byteSize: JPEG.length, createdAt: expect.any(String), pendingChange: false },
      { showsNumber: false, id: theirs.id, dependentId: spouse.id, purpose: 'identity', type: 'passport', side: 'front', mimeType: 'image/gif', byteSize: GIF.length, createdAt: expect.any(String), pendingChange: false },
    ]);

    const served = (res: request.Response, bytes: Buffer, type: string) => {
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(Buffer.compare(res.body as Buffer, bytes)).toBe(0);
    };
    for (const [id, bytes, type] of [[front, JPEG, 'image/jpeg'], [theirs.id, GIF, 'image/gif']] as const) served(await bytesOf(manager.get(imageUrl(p.id, id))).expect(200), bytes, type);
    // The card's back shows the number: not on a plain GET, whoever asks.
    const plain = await manager.get(imageUrl(p.id, back));
    expect([plain.status, plain.body.code]).toEqual([403, 'NUMBER_IMAGE_NEEDS_REVEAL']);
    // The person awaits approval: the collection check is the reason, after the password.
    await harness.prisma.registrant.update({ where: { id: p.id }, data: { status: 'pending' } });
    served(await revealBytes(manager, p.id, back, { password: managerUser.password, reason: 'collection_check' }).expect(200), PNG, 'image/png');

    const recorded = await views(p.id);
    expect(recorded.map((e) => [e.label, e.actorLabel, e.registrantLabel, (e.detail as { documentId: string }).documentId])).toEqual([
      ['本人確認書類の閲覧', '承認 担当', '書類 提出', front],
      ['本人確認書類の閲覧', '承認 担当', '書類 提出', theirs.id],
      ['本人確認書類の閲覧', '承認 担当', '書類 提出', back],
    ]);
    expect(recorded[2]!.detail).toMatchObject({ documentId: back, reason: 'collection_check' });
    expect(recorded[1]!.detail).toEqual({ documentId: theirs.id, dependentId: spouse.id, purpose: 'identity', type: 'passport', side: 'front' });
    // Never the image: the detail is a few ids and codes.
    for (const e of recorded) expect(JSON.stringify(e.detail).length).toBeLessThan(300);
    // Listing is not a view of an image.
    await viewer.get(`/v1/registrants/${p.id}/documents`).expect(200);
    expect(await views(p.id)).toHaveLength(3);
  });

  it('number-bearing images: viewers never; owners and managers with the password and a reason — the collection check before approval, a purpose of the tenant after — each recorded', async () => {
    const p = await invitedPhone();
    const card = await p.upload('purpose=number_confirmation&type=notification_card&side=front', PNG, 'image/png');
    const licence = await p.upload('purpose=identity&type=drivers_licence&side=front', JPEG, 'image/jpeg');
    await submit(p.id);
    await harness.prisma.registrant.update({ where: { id: p.id }, data: { status: 'pending' } });

    // Viewers see no image at all, with or without a reason.
    for (const res of [await viewer.get(imageUrl(p.id, licence)), await viewer.get(imageUrl(p.id, card)), await revealImage(viewer, p.id, card, { password: viewerUser.password, reason: 'collection_check' })]) {
      expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
    }
    // A wrong password shows nothing (and counts towards the account lock).
    const wrong = await revealImage(manager, p.id, card, { password: 'not-my-password', reason: 'collection_check' });
    expect([wrong.status, wrong.body.code]).toEqual([400, 'PASSWORD_INCORRECT']);
    // No reason, or one that is not a reason: refused by the contract.
    expect((await revealImage(manager, p.id, card, { password: managerUser.password })).status).toBe(400);
    expect((await revealImage(manager, p.id, card, { password: managerUser.password, reason: 'curiosity' })).status).toBe(400);
    expect(await views(p.id)).toEqual([]);

    // Approved: the collection is over; only a purpose the tenant uses opens it.
    await harness.prisma.registrant.update({ where: { id: p.id }, data: { status: 'completed' } });
    const late = await revealImage(manager, p.id, card, { password: managerUser.password, reason: 'collection_check' });
    expect([late.status, late.body.code]).toEqual([400, 'COLLECTION_CHECK_NOT_APPLICABLE']);
    expect(late.body.title).toMatch(/承認待ち/);
    await harness.prisma.tenant.update({ where: { id: tenantId }, data: { purposes: ['withholding_slip'] } });
    const disabled = await revealImage(manager, p.id, card, { password: managerUser.password, reason: 'dividends' });
    expect([disabled.status, disabled.body.code]).toEqual([400, 'PURPOSE_DISABLED']);
    const ok = await revealBytes(manager, p.id, card, { password: managerUser.password, reason: 'withholding_slip' }).expect(200);
    expect(Buffer.compare(ok.body as Buffer, PNG)).toBe(0);
    // An identity-only image stays on the approval screen for editors.
    await bytesOf(manager.get(imageUrl(p.id, licence))).expect(200);

    const recorded = await views(p.id);
    expect(recorded.map((e) => [(e.detail as { documentId: string }).documentId, e.purpose])).toEqual([
      [card, 'withholding_slip'],
      [licence, null],
    ]);
  });

  it('a draft image, another registrant\'s document, another tenant or an unknown id is 404 and nothing is recorded', async () => {
    const a = await invitedPhone();
    const b = await invitedPhone();
    const submitted = await a.upload('purpose=identity&type=drivers_licence&side=front', PNG, 'image/png');
    await submit(a.id);
    const draft = await a.upload('purpose=number_confirmation&type=notification_card&side=front', JPEG, 'image/jpeg');

    expect((await manager.get(`/v1/registrants/${a.id}/documents`).expect(200)).body.map((d: { id: string }) => d.id)).toEqual([submitted]);
    const cases: [string, string, string][] = [
      [imageUrl(a.id, draft), 'DOCUMENT_NOT_FOUND', 'draft'],
      [imageUrl(b.id, submitted), 'DOCUMENT_NOT_FOUND', 'another registrant'],
      [imageUrl(a.id, randomUUID()), 'DOCUMENT_NOT_FOUND', 'unknown document'],
      [imageUrl(randomUUID(), submitted), 'REGISTRANT_NOT_FOUND', 'unknown registrant'],
      [`/v1/registrants/${randomUUID()}/documents`, 'REGISTRANT_NOT_FOUND', 'unknown registrant list'],
    ];
    for (const [url, code, what] of cases) {
      const res = await manager.get(url);
      expect([what, res.status, res.body.code]).toEqual([what, 404, code]);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    for (const url of [imageUrl(a.id, submitted), `/v1/registrants/${a.id}/documents`]) {
      const res = await otherOwner.get(url);
      expect([res.status, res.body.code]).toEqual([404, 'REGISTRANT_NOT_FOUND']);
    }
    expect(await views(a.id)).toHaveLength(0);
    expect((await request(harness.app).get(imageUrl(a.id, submitted))).status).toBe(401);
  });
});

describe('HR uploads a document image', () => {
  const upload = (agent: Agent, registrantId: string, query: string, image: Buffer, type = 'image/png') => agent.post(`/v1/registrants/${registrantId}/documents?${query}`).set('Content-Type', type).send(image);

  it('for the person or a 第3号 dependent, checked as the phone pages check it; the same slot again replaces the image and shreds the old one; recorded', async () => {
    const p = await invitedPhone();
    const first = await upload(manager, p.id, 'purpose=identity&type=drivers_licence&side=front', PNG);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ purpose: 'identity', type: 'drivers_licence', side: 'front', mimeType: 'image/png', byteSize: PNG.length, dependentId: null, showsNumber: false });
    const firstSecret = (await harness.prisma.document.findUniqueOrThrow({ where: { id: first.body.id } })).imageSecretId!;

    // A retake of the same slot: one document, the new bytes, the old image shredded.
    const again = await upload(manager, p.id, 'purpose=identity&type=drivers_licence&side=front', JPEG, 'application/octet-stream');
    expect(again.status).toBe(201);
    const listed = (await manager.get(`/v1/registrants/${p.id}/documents`).expect(200)).body as { id: string; mimeType: string }[];
    expect(listed.map((d) => [d.id, d.mimeType])).toEqual([[again.body.id, 'image/jpeg']]);
    expect(await harness.prisma.vaultSecret.count({ where: { id: firstSecret } })).toBe(0);
    const opened = await bytesOf(manager.get(imageUrl(p.id, again.body.id)));
    expect(Buffer.compare(opened.body as Buffer, JPEG)).toBe(0);

    const spouse = await harness.prisma.dependent.create({ data: { registrantId: p.id, relationship: '配偶者', kind: 'category3', familyName: '書類', givenName: '第三号', status: 'completed' } });
    expect((await upload(manager, p.id, `purpose=number_confirmation&type=my_number_card&side=back&dependentId=${spouse.id}`, GIF, 'image/gif')).body).toMatchObject({ dependentId: spouse.id, showsNumber: true });
    const child = await harness.prisma.dependent.create({ data: { registrantId: p.id, relationship: '子', kind: 'dependent', familyName: '書類', givenName: '子', status: 'completed' } });
    expect((await upload(manager, p.id, `purpose=identity&type=passport&dependentId=${child.id}`, PNG)).body.code).toBe('DEPENDENT_DOCUMENTS_NOT_NEEDED');

    const recorded = await harness.prisma.operationEvent.findMany({ where: { tenantId, registrantId: p.id, operation: 'document_uploaded' }, orderBy: { id: 'asc' } });
    expect(recorded.map((e) => (e.detail as { replaced: number }).replaced)).toEqual([0, 1, 0]);
    expect(recorded.map((e) => (e.detail as { documentId: string }).documentId)).toEqual([first.body.id, again.body.id, expect.any(String)]);
  });

  it('two uploads to one slot at once leave one document and one image: the other image is shredded, none orphaned', async () => {
    const p = await invitedPhone();
    const before = await harness.prisma.vaultSecret.count({ where: { tenantId, kind: 'document' } });
    const [a, b] = await Promise.all([upload(manager, p.id, 'purpose=identity&type=passport', PNG), upload(manager, p.id, 'purpose=identity&type=passport', JPEG, 'image/jpeg')]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const docs = await harness.prisma.document.findMany({ where: { registrantId: p.id } });
    expect(docs).toHaveLength(1);
    expect([a.body.id, b.body.id]).toContain(docs[0]!.id);
    expect(await harness.prisma.vaultSecret.count({ where: { tenantId, kind: 'document' } })).toBe(before + 1);
  });

  it('refuses what the phone pages refuse — not an image, too large, a type that cannot serve the purpose — and viewers, storing nothing', async () => {
    const p = await invitedPhone();
    const notImage = await upload(manager, p.id, 'purpose=identity&type=passport', Buffer.from('%PDF-1.4 not an image'), 'image/png');
    expect([notImage.status, notImage.body.errors?.[0]?.code]).toEqual([400, 'IMAGE_TYPE']);
    const tooLarge = await upload(manager, p.id, 'purpose=identity&type=passport', Buffer.concat([PNG, Buffer.alloc(4 * 1024 * 1024)]));
    expect([tooLarge.status, tooLarge.body.code]).toEqual([413, 'IMAGE_TOO_LARGE']);
    const wrongType = await upload(manager, p.id, 'purpose=number_confirmation&type=passport', PNG);
    expect([wrongType.status, wrongType.body.errors?.[0]?.code]).toEqual([400, 'NOT_A_NUMBER_DOCUMENT']);
    expect((await upload(viewer, p.id, 'purpose=identity&type=passport', PNG)).status).toBe(403);
    expect((await upload(otherOwner, p.id, 'purpose=identity&type=passport', PNG)).status).toBe(404);
    expect(await harness.prisma.document.count({ where: { registrantId: p.id } })).toBe(0);
  });
});
