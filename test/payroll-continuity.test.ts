/**
 * Payroll keeps its numbers while a person changes their registration (real Temporal dev server,
 * PostgreSQL, vault): after approval the employee, unlocked, corrects their own number and adds a
 * baby; until HR approves the change the connector is served the approved numbers (the baby is
 * PENDING), a remand changes nothing, and once approved the new numbers are served and the approved
 * secrets they replaced are shredded. A deletion takes the approved secrets with it. Dependents keep
 * their id (payroll's key) through the change; the pull carries kana and 扶養区分.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createRegistrationService } from '../services/registration/registration';
import { createDraftStore } from '../services/registrants/draft-store';
import type { Draft } from '../services/registrants/draft';
import { WorkflowUpdateStage } from '@temporalio/client';
import { approveUpdate, lifecycleQuery, refuseUpdate, submitUpdate } from '../shared';
import { activityRunning, holdRow, refusal } from './support/lifecycle';
import { createTenant, testVault, TEST_PASSWORD, type Agent } from './support/fixtures';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const harness = useWorkerHarness({ taskQueue: 'payroll-continuity' });
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
let tenantId: string;
let hr: Agent;
let token: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '株式会社給与継続');
  hr = await harness.agent(tenantId, 'manager');
  const owner = await harness.agent(tenantId, 'owner');
  const c = await owner.post('/v1/connectors').send({ name: '給与ソフト', scopes: ['numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201);
  token = (await request(harness.app).post('/v1/oauth/token').auth(c.body.clientId, c.body.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token;
});

type Pulled = { myNumber?: string; reason?: string; familyNameKana?: string | null; dependents?: { dependentId: string; givenName: string; kind: string; myNumber: string | null; unservedReason: string | null }[] };
async function pull(code: string): Promise<Pulled> {
  const res = await request(harness.app).post('/v1/numbers/pull').auth(token, { type: 'bearer' }).send({ purpose: 'withholding_slip', employeeCodes: [code], includeDependents: true }).expect(200);
  return res.body.served[0] ?? res.body.unserved[0];
}
const secretCount = (ids: (string | null)[]) => harness.prisma.vaultSecret.count({ where: { id: { in: ids.filter((x): x is string => !!x) } } });

/** HR adds the person (with this body); resolves once their invitation is open. */
async function invited(body: Record<string, unknown>) {
  const created = (await hr.post('/v1/registrants').send(body).expect(201)).body as { id: string; workflowId: string };
  const handle = harness.env.client.workflow.getHandle(created.workflowId);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
  return { created, handle };
}

/** The employee's registration pages as that person (the service behind them, without HTTP). */
function employeePages(registrantId: string) {
  const vault = testVault(harness.prisma);
  const registration = createRegistrationService({ prisma: harness.prisma, vault, drafts: createDraftStore({ prisma: harness.prisma, vault }), lifecycle: {} as never });
  const caller = async () => ({ registrant: await harness.prisma.registrant.findUniqueOrThrow({ where: { id: registrantId }, include: { tenant: true } }), ip: null, userAgent: null });
  return { registration, caller };
}

/** The employee's "finish" with this draft (as the registration pages save it). */
async function submit(id: string, workflowId: string, draft: Omit<Draft, 'removedDocumentIds' | 'removedDependentIds'> & { removedDependentIds?: string[] }) {
  const drafts = createDraftStore({ prisma: harness.prisma, vault: testVault(harness.prisma) });
  await drafts.save(id, { ...draft, removedDocumentIds: [], removedDependentIds: draft.removedDependentIds ?? [] });
  if ((await harness.prisma.document.count({ where: { registrantId: id } })) === 0) {
    for (const side of ['front', 'back'] as const) await drafts.addDocument(id, { purpose: 'identity', type: 'my_number_card', side, mimeType: 'image/png', image: PNG });
  }
  await harness.env.client.workflow.getHandle(workflowId).executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
}

/** HR unlocks the approved person and opens a new round; the employee sends their change. */
async function sendChange(created: { id: string; workflowId: string }, draft: Omit<Draft, 'removedDocumentIds' | 'removedDependentIds'> & { removedDependentIds?: string[] }) {
  await hr.post(`/v1/registrants/${created.id}/login-unlock`).expect(200);
  await hr.post(`/v1/registrants/${created.id}/invitation`).send({}).expect(200);
  await submit(created.id, created.workflowId, draft);
}

describe('a change of registration after approval', () => {
  it('keeps payroll served the approved numbers until HR approves the change; then the new ones, the replaced secrets shredded', async () => {
    const code = `PC-${randomUUID().slice(0, 6)}`;
    const [own, spouse, corrected, baby] = [randomMyNumber(), randomMyNumber(), randomMyNumber(), randomMyNumber()];
    const { created } = await invited({ familyName: '継続', givenName: '太郎', familyNameKana: 'ケイゾク', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseId = randomUUID();
    const spouseEntry = { id: spouseId, relationship: '配偶者', kind: 'dependent' as const, familyName: '継続', givenName: '花子', familyNameKana: 'ケイゾク', birthDate: '1988-01-01' };
    await submit(created.id, created.workflowId, { myNumber: own, gender: 'male', birthDate: '1985-10-10', dependents: [{ ...spouseEntry, myNumber: spouse }] });
    expect((await pull(code)).reason).toBe('PENDING');
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const approved = await pull(code);
    expect(approved).toMatchObject({ familyNameKana: 'ケイゾク', dependents: [{ dependentId: spouseId, givenName: '花子', kind: 'dependent', unservedReason: null }] });
    expect(approved.myNumber === own && approved.dependents![0]!.myNumber === spouse).toBe(true);
    const approvedSecrets = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, select: { approvedNumberSecretId: true, dependents: { select: { approvedNumberSecretId: true } } } });

    // Unlocked, the employee corrects their own number and adds a baby: 承認待ち again.
    const babyId = randomUUID();
    await sendChange(created, {
      myNumber: corrected,
      gender: 'male',
      birthDate: '1985-10-10',
      dependents: [{ ...spouseEntry, myNumber: spouse }, { id: babyId, relationship: '子', kind: 'dependent', familyName: '継続', givenName: '赤子', birthDate: '2026-10-01', myNumber: baby }],
    });
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id } })).status).toBe('pending');
    // Payroll: the approved numbers still; the baby waits for approval; the spouse keeps their key.
    const waiting = await pull(code);
    expect(waiting.myNumber === own).toBe(true);
    expect(waiting.dependents!.map((d) => [d.dependentId, d.unservedReason])).toEqual([
      [spouseId, null],
      [babyId, 'PENDING'],
    ]);
    expect(waiting.dependents![0]!.myNumber === spouse).toBe(true);

    // A remand changes nothing for payroll.
    await hr.post(`/v1/registrants/${created.id}/remand`).send({ reason: '赤ちゃんの書類を追加してください' }).expect(200);
    expect((await pull(code)).myNumber === own).toBe(true);
    await submit(created.id, created.workflowId, {
      myNumber: corrected,
      gender: 'male',
      birthDate: '1985-10-10',
      dependents: [{ ...spouseEntry, myNumber: spouse }, { id: babyId, relationship: '子', kind: 'dependent', familyName: '継続', givenName: '赤子', birthDate: '2026-10-01', myNumber: baby }],
    });

    // Approved: the new numbers are served; the approved secrets they replaced are gone.
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const now = await pull(code);
    expect(now.myNumber === corrected).toBe(true);
    expect(now.dependents!.map((d) => [d.dependentId, d.unservedReason])).toEqual([
      [spouseId, null],
      [babyId, null],
    ]);
    expect(now.dependents![1]!.myNumber === baby).toBe(true);
    expect(await secretCount([approvedSecrets.approvedNumberSecretId, ...approvedSecrets.dependents.map((d) => d.approvedNumberSecretId)])).toBe(0);
    const after = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });
    expect(after.approvedNumberSecretId).toBe(after.myNumberSecretId);
    expect(after.dependents.every((d) => d.approvedNumberSecretId === d.myNumberSecretId)).toBe(true);
    // Every number secret of the person is referenced: nothing sealed is left orphaned.
    const referenced = new Set([after.myNumberSecretId, ...after.dependents.map((d) => d.myNumberSecretId)]);
    expect(referenced.size).toBe(3);
    expect(containsAny(JSON.stringify(after), [own, corrected, baby, spouse])).toEqual([]);
  });

  it.each([
    ['refused by HR\'s decision', 'refusal'],
    ['set to refused by hand', 'status'],
  ] as const)('a change %s: the person goes back to the approved numbers and dependents (one the change took off is back), a new baby is refused with it, the refused numbers are shredded; payroll is served as before', async (_label, how) => {
    const code = `PR-${randomUUID().slice(0, 6)}`;
    const [own, spouse, corrected, baby] = [randomMyNumber(), randomMyNumber(), randomMyNumber(), randomMyNumber()];
    const { created } = await invited({ familyName: '却下', givenName: '次郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '却下', givenName: '花子', birthDate: '1988-01-01' };
    const parentEntry = { id: randomUUID(), relationship: '父', kind: 'dependent' as const, familyName: '却下', givenName: '父', birthDate: '1950-01-01' };
    const parent = randomMyNumber();
    await submit(created.id, created.workflowId, { myNumber: own, gender: 'male', birthDate: '1985-10-10', dependents: [{ ...spouseEntry, myNumber: spouse }, { ...parentEntry, myNumber: parent }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const approved = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });

    const babyId = randomUUID();
    await sendChange(created, {
      myNumber: corrected,
      gender: 'male',
      birthDate: '1985-10-10',
      // The parent taken off the list, a baby added.
      dependents: [{ ...spouseEntry, myNumber: spouse }, { ...parentEntry, myNumber: parent, noLongerDependent: true }, { id: babyId, relationship: '子', kind: 'dependent', familyName: '却下', givenName: '赤子', birthDate: '2026-10-01', myNumber: baby }],
    });
    const waiting = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });
    const refusedSecrets = [waiting.myNumberSecretId, waiting.dependents.find((d) => d.id === babyId)!.myNumberSecretId];
    expect(refusedSecrets.every((x) => x && x !== approved.approvedNumberSecretId)).toBe(true);

    if (how === 'refusal') await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '書類が本人のものではありません' }).expect(200);
    else await hr.post(`/v1/registrants/${created.id}/status`).send({ status: 'refused', reason: '提供拒否の申出' }).expect(200);

    const after = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });
    expect(after.status).toBe('refused');
    // The approved numbers are the current ones again; the refused ones are gone from the vault.
    expect(after.myNumberSecretId).toBe(approved.approvedNumberSecretId);
    expect(after.approvedNumberSecretId).toBe(approved.approvedNumberSecretId);
    const approvedOf = (depId: string) => approved.dependents.find((d) => d.id === depId)!.approvedNumberSecretId;
    expect(after.dependents.find((d) => d.id === spouseEntry.id)).toMatchObject({ myNumberSecretId: approvedOf(spouseEntry.id), status: 'completed', noLongerDependentAt: null });
    expect(after.dependents.find((d) => d.id === parentEntry.id)).toMatchObject({ myNumberSecretId: approvedOf(parentEntry.id), status: 'completed', noLongerDependentAt: null });
    expect(after.dependents.find((d) => d.id === babyId)).toMatchObject({ myNumberSecretId: null, approvedNumberSecretId: null, status: 'refused' });
    expect(await secretCount(refusedSecrets)).toBe(0);
    // What HR reveals is the approved number, and payroll is served it as before.
    const revealed = await hr.post(`/v1/registrants/${created.id}/my-number/reveal`).send({ password: TEST_PASSWORD, purpose: 'withholding_slip' }).expect(200);
    expect(revealed.body.myNumber === own).toBe(true);
    const pulled = await pull(code);
    expect(pulled.myNumber === own).toBe(true);
    expect(pulled.dependents!.map((d) => [d.givenName, d.unservedReason])).toEqual([
      ['花子', null],
      ['父', null],
      ['赤子', 'REFUSED'],
    ]);
    expect(pulled.dependents![0]!.myNumber === spouse && pulled.dependents![1]!.myNumber === parent).toBe(true);
  });

  it.each([
    ['HR refuses the change', 'refusal'],
    ['HR approves the change', 'approval'],
    ['HR approves that dependent alone', 'dependent'],
  ] as const)('a dependent the employee deletes in a change stays until HR decides, payroll still served its number; %s', async (_label, how) => {
    const code = `PD-${randomUUID().slice(0, 6)}`;
    const [own, spouse, parent] = [randomMyNumber(), randomMyNumber(), randomMyNumber()];
    const { created } = await invited({ familyName: '削除', givenName: '三郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '削除', givenName: '花子', birthDate: '1988-01-01' };
    const parentEntry = { id: randomUUID(), relationship: '父', kind: 'dependent' as const, familyName: '削除', givenName: '父', birthDate: '1950-01-01' };
    await submit(created.id, created.workflowId, { myNumber: own, gender: 'male', birthDate: '1985-10-10', dependents: [{ ...spouseEntry, myNumber: spouse }, { ...parentEntry, myNumber: parent }] });
    // An image kept of the parent (as HR files one).
    const parentImage = await testVault(harness.prisma).seal({ tenantId, kind: 'document', plaintext: PNG });
    await harness.prisma.document.create({ data: { registrantId: created.id, dependentId: parentEntry.id, purpose: 'identity', type: 'my_number_card', side: 'front', mimeType: 'image/png', byteSize: PNG.length, imageSecretId: parentImage, draft: false } });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const approvedParent = (await harness.prisma.dependent.findUniqueOrThrow({ where: { id: parentEntry.id } })).approvedNumberSecretId;

    // The employee deletes the parent from their list (not "no longer a dependent") and sends the change.
    await sendChange(created, { myNumber: own, gender: 'male', birthDate: '1985-10-10', dependents: [{ ...spouseEntry, myNumber: spouse }], removedDependentIds: [parentEntry.id] });
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: parentEntry.id } })).toMatchObject({ status: 'pending', myNumberSecretId: approvedParent, approvedNumberSecretId: approvedParent });
    // Payroll is served the parent as approved; HR sees the request on the parent.
    const waiting = await pull(code);
    expect(waiting.dependents!.map((d) => [d.givenName, d.unservedReason])).toEqual([
      ['花子', null],
      ['父', null],
    ]);
    expect(waiting.dependents![1]!.myNumber === parent).toBe(true);
    const shown = (await hr.get(`/v1/registrants/${created.id}`).expect(200)).body;
    expect(shown.dependents.map((d: { givenName: string; status: string; removalRequested: boolean }) => [d.givenName, d.status, d.removalRequested])).toEqual([
      ['花子', 'pending', false],
      ['父', 'pending', true],
    ]);

    // Sent back, the employee's corrected registration starts without the parent, and sends it so.
    await hr.post(`/v1/registrants/${created.id}/remand`).send({ reason: '配偶者の生年月日を確認してください' }).expect(200);
    const { registration, caller } = employeePages(created.id);
    const overview = await registration.overview(await caller());
    expect(overview.draft.dependents.map((d) => d.givenName)).toEqual(['花子']);
    expect(overview.draft.documents.filter((d) => d.dependentId === parentEntry.id)).toEqual([]);
    await submit(created.id, created.workflowId, { myNumber: own, gender: 'male', birthDate: '1985-10-10', dependents: [{ ...spouseEntry, myNumber: spouse }], removedDependentIds: [parentEntry.id] });
    expect((await pull(code)).dependents!.map((d) => d.givenName)).toEqual(['花子', '父']);

    if (how === 'refusal') {
      await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '父は引き続き扶養です' }).expect(200);
      // Back as approved, with its number and image; payroll is served as before.
      expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: parentEntry.id } })).toMatchObject({ status: 'completed', removalRequestedAt: null, myNumberSecretId: approvedParent, approvedNumberSecretId: approvedParent });
      expect(await secretCount([approvedParent, parentImage])).toBe(2);
      const pulled = await pull(code);
      expect(pulled.dependents!.map((d) => [d.givenName, d.unservedReason])).toEqual([
        ['花子', null],
        ['父', null],
      ]);
      expect(pulled.dependents![1]!.myNumber === parent).toBe(true);
      return;
    }
    const before = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id } })).updatedAt;
    if (how === 'approval') await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    else await hr.post(`/v1/registrants/${created.id}/approval`).send({ dependentId: parentEntry.id }).expect(200);
    // The person changed for payroll's sync (updatedSince), also when only the dependent was decided.
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id } })).updatedAt.getTime()).toBeGreaterThan(before.getTime());
    // Deleted: the row, its number and its image; payroll is served the spouse alone.
    expect(await harness.prisma.dependent.findUnique({ where: { id: parentEntry.id } })).toBeNull();
    expect(await secretCount([approvedParent, parentImage])).toBe(0);
    expect((await pull(code)).dependents!.map((d) => d.givenName)).toEqual(['花子']);
    expect((await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).myNumberSecretId).not.toBeNull();
  });

  it.each([
    ['refused', 'refusal'],
    ['approved', 'approval'],
  ] as const)('a change of gender, birth date and a dependent\'s names, %s: payroll is served the approved data until HR decides, the approved data again after a refusal, the new data after approval', async (_label, how) => {
    const code = `PF-${randomUUID().slice(0, 6)}`;
    const [own, spouse] = [randomMyNumber(), randomMyNumber()];
    const { created } = await invited({ familyName: '訂正', givenName: '六郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '訂正', givenName: '花子', familyNameKana: 'テイセイ', givenNameKana: 'ハナコ', birthDate: '1988-01-01', gender: 'female' as const };
    await submit(created.id, created.workflowId, { myNumber: own, gender: 'male', birthDate: '1985-10-10', dependents: [{ ...spouseEntry, myNumber: spouse }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);

    // The change: another birth date and gender, the spouse renamed — sent, remanded, sent again.
    const changed = { myNumber: own, gender: 'female' as const, birthDate: '1986-11-11', dependents: [{ ...spouseEntry, givenName: '華子', givenNameKana: 'ハナコ', birthDate: '1988-02-02', relationship: '妻', myNumber: spouse }] };
    await sendChange(created, changed);
    await hr.post(`/v1/registrants/${created.id}/remand`).send({ reason: '確認のため' }).expect(200);
    await submit(created.id, created.workflowId, changed);
    const pulledName = async () => (await pull(code)).dependents!.map((d) => d.givenName);
    // Until HR decides, payroll is served the approved numbers with the approved data, not the change's.
    expect(await pulledName()).toEqual(['花子']);
    expect(((await pull(code)) as { birthDate?: string }).birthDate).toBe('1985-10-10');

    if (how === 'refusal') {
      // HR corrects the spouse's kana meanwhile: HR's own correction stands, whatever HR decides on the change.
      await hr.patch(`/v1/registrants/${created.id}/dependents/${spouseEntry.id}`).send({ familyNameKana: 'テイセイヘン' }).expect(200);
      await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '申告内容の誤り' }).expect(200);
      expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id } })).toMatchObject({ gender: 'male', birthDate: new Date('1985-10-10T00:00:00Z'), approvedProfile: null });
      expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).toMatchObject({ relationship: '配偶者', givenName: '花子', familyNameKana: 'テイセイヘン', birthDate: new Date('1988-01-01T00:00:00Z'), gender: 'female', status: 'completed', approvedProfile: null });
      expect(await pulledName()).toEqual(['花子']);
      return;
    }
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    expect(await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id } })).toMatchObject({ gender: 'female', birthDate: new Date('1986-11-11T00:00:00Z'), approvedProfile: null });
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).toMatchObject({ relationship: '妻', givenName: '華子', approvedProfile: null });
    expect(await pulledName()).toEqual(['華子']);
  });

  it('the approved data kept for a change goes when HR deletes that number: a later refused change does not bring back a name approved away', async () => {
    const code = `PN-${randomUUID().slice(0, 6)}`;
    const own = randomMyNumber();
    const { created } = await invited({ familyName: '旧姓', givenName: '七郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '佐藤', givenName: '花子', birthDate: '1988-01-01' };
    const person = { myNumber: own, gender: 'male' as const, birthDate: '1985-10-10' };
    await submit(created.id, created.workflowId, { ...person, dependents: [{ ...spouseEntry, myNumber: randomMyNumber() }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    // A change renames the spouse; HR deletes the spouse's number (a wrong one) and approves the rest.
    await sendChange(created, { ...person, dependents: [{ ...spouseEntry, familyName: '鈴木', myNumber: randomMyNumber() }] });
    await hr.delete(`/v1/registrants/${created.id}/dependents/${spouseEntry.id}/my-number`).send({ password: TEST_PASSWORD }).expect(204);
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).toMatchObject({ familyName: '鈴木', approvedProfile: null });
    // Months later another change (a new number for the spouse) is refused: 鈴木 stays.
    await sendChange(created, { ...person, dependents: [{ ...spouseEntry, familyName: '鈴木', myNumber: randomMyNumber() }] });
    await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '確認できません' }).expect(200);
    expect((await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).familyName).toBe('鈴木');
  });

  it('a deleted dependent HR sends back is on the employee\'s list again; one never served to payroll is deleted at submission as before', async () => {
    const code = `PS-${randomUUID().slice(0, 6)}`;
    const [own, spouse, parent] = [randomMyNumber(), randomMyNumber(), randomMyNumber()];
    const { created } = await invited({ familyName: '差戻', givenName: '四郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '差戻', givenName: '花子', birthDate: '1988-01-01' };
    const parentEntry = { id: randomUUID(), relationship: '父', kind: 'dependent' as const, familyName: '差戻', givenName: '父', birthDate: '1950-01-01' };
    const person = { myNumber: own, gender: 'male' as const, birthDate: '1985-10-10' };
    await submit(created.id, created.workflowId, { ...person, dependents: [{ ...spouseEntry, myNumber: spouse }, { ...parentEntry, myNumber: parent }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    await sendChange(created, { ...person, dependents: [{ ...spouseEntry, myNumber: spouse }], removedDependentIds: [parentEntry.id] });

    // HR sends the parent back: the employee sees them on their list again and keeps them this time.
    await hr.post(`/v1/registrants/${created.id}/remand`).send({ reason: '父は扶養のままです', dependentId: parentEntry.id }).expect(200);
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: parentEntry.id } })).toMatchObject({ status: 'remanded', removalRequestedAt: null });
    const { registration, caller } = employeePages(created.id);
    const overviewOf = async () => registration.overview(await caller());
    expect((await overviewOf()).draft.dependents.map((d) => d.givenName)).toEqual(['花子', '父']);
    await submit(created.id, created.workflowId, { ...person, dependents: [{ ...spouseEntry, myNumber: spouse }, { ...parentEntry, myNumber: parent }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    expect((await pull(code)).dependents!.map((d) => [d.givenName, d.unservedReason])).toEqual([
      ['花子', null],
      ['父', null],
    ]);

    // Someone never approved: HR approved their spouse alone and sent the person back; the spouse,
    // deleted in the corrected registration, goes at once (payroll was never served them).
    const other = (await hr.post('/v1/registrants').send({ familyName: '未承認', givenName: '五郎', email: `n-${code.toLowerCase()}@example.co.jp` }).expect(201)).body;
    await until(async () => (await harness.env.client.workflow.getHandle(other.workflowId).query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
    const otherSpouse = { ...spouseEntry, id: randomUUID(), familyName: '未承認' };
    await submit(other.id, other.workflowId, { ...person, myNumber: randomMyNumber(), dependents: [{ ...otherSpouse, myNumber: randomMyNumber() }] });
    await hr.post(`/v1/registrants/${other.id}/approval`).send({ dependentId: otherSpouse.id }).expect(200);
    const approvedSpouse = (await harness.prisma.dependent.findUniqueOrThrow({ where: { id: otherSpouse.id } })).approvedNumberSecretId;
    expect(approvedSpouse).not.toBeNull();
    await hr.post(`/v1/registrants/${other.id}/remand`).send({ reason: '本人確認書類を撮り直してください' }).expect(200);
    await submit(other.id, other.workflowId, { ...person, myNumber: randomMyNumber(), dependents: [], removedDependentIds: [otherSpouse.id] });
    expect(await harness.prisma.dependent.findUnique({ where: { id: otherSpouse.id } })).toBeNull();
    expect(await secretCount([approvedSpouse])).toBe(0);
  });

  it('identity documents a change replaces stay, hidden, until HR decides: a refusal puts them back and shreds the change\'s, an approval (of the person or of one dependent) the reverse', async () => {
    const code = `PI-${randomUUID().slice(0, 6)}`;
    const { created, handle } = await invited({ familyName: '書類', givenName: '花子', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const { registration, caller } = employeePages(created.id);
    // Each image is told apart by its size: the PNG and n bytes more.
    const upload = async (side: 'front' | 'back', n: number, dependentId?: string) =>
      (await registration.addDocument(await caller(), { purpose: 'identity', type: 'my_number_card', side, ...(dependentId ? { dependentId } : {}) }, Buffer.concat([PNG, Buffer.alloc(n)]))).id;
    const finish = () => handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    const reopen = async () => {
      // Approval locks the login; a refusal does not.
      if ((await caller()).registrant.loginLocked) await hr.post(`/v1/registrants/${created.id}/login-unlock`).expect(200);
      await hr.post(`/v1/registrants/${created.id}/invitation`).send({}).expect(200);
    };
    // What HR's approval screen lists: whose, which side, which image.
    const hrSees = async () =>
      ((await hr.get(`/v1/registrants/${created.id}/documents`).expect(200)).body as { dependentId: string | null; side: string; byteSize: number }[])
        .map((d) => `${d.dependentId ? 'spouse' : 'self'} ${d.side} +${d.byteSize - PNG.length}`)
        .sort();
    const imageOf = async (documentId: string) => (await harness.prisma.document.findUniqueOrThrow({ where: { id: documentId } })).imageSecretId;

    const own = randomMyNumber();
    await registration.saveProfile(await caller(), { myNumber: own, myNumberConfirmation: own, gender: 'female', birthDate: '1990-04-01' });
    const spouseNumber = randomMyNumber();
    const spouseId = (await registration.addDependent(await caller(), { relationship: '夫', kind: 'category3', familyName: '書類', givenName: '一郎', birthDate: '1988-01-01', myNumber: spouseNumber, myNumberConfirmation: spouseNumber })).draft.dependents[0]!.id;
    const [selfFront, selfBack, spouseFront, spouseBack] = [await upload('front', 1), await upload('back', 2), await upload('front', 3, spouseId), await upload('back', 4, spouseId)];
    await finish();
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const approved = ['self back +2', 'self front +1', 'spouse back +4', 'spouse front +3'];
    expect(await hrSees()).toEqual(approved);
    const approvedImages = { selfFront: await imageOf(selfFront), selfBack: await imageOf(selfBack), spouseFront: await imageOf(spouseFront), spouseBack: await imageOf(spouseBack) };

    // A change retakes the person's front and the spouse's back; HR sees the new ones only, and
    // cannot open the replaced image, which is still sealed.
    await reopen();
    await upload('front', 10);
    await upload('back', 11, spouseId);
    await finish();
    expect(await hrSees()).toEqual(['self back +2', 'self front +10', 'spouse back +11', 'spouse front +3']);
    await hr.get(`/v1/registrants/${created.id}/documents/${selfFront}/image`).expect(404);
    expect(await secretCount([approvedImages.selfFront, approvedImages.spouseBack])).toBe(2);
    // Sent back, the employee retakes the front once more: the change's first retake goes at once.
    await hr.post(`/v1/registrants/${created.id}/remand`).send({ reason: '表面がぼやけています' }).expect(200);
    const firstRetake = (await harness.prisma.document.findFirstOrThrow({ where: { registrantId: created.id, dependentId: null, side: 'front', pendingChange: true } })).imageSecretId;
    expect((await registration.overview(await caller())).draft.documents.map((d) => `${d.side} +${d.byteSize - PNG.length}`).sort()).toEqual(['back +11', 'back +2', 'front +10', 'front +3']);
    await upload('front', 12);
    await finish();
    expect(await secretCount([firstRetake])).toBe(0);
    expect(await hrSees()).toEqual(['self back +2', 'self front +12', 'spouse back +11', 'spouse front +3']);
    const changeImages = (await harness.prisma.document.findMany({ where: { registrantId: created.id, pendingChange: true } })).map((d) => d.imageSecretId);
    expect(changeImages).toHaveLength(2);

    // Refused: the approved images are back (the same documents), the change's are shredded.
    await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '確認できません' }).expect(200);
    expect(await hrSees()).toEqual(approved);
    expect(await secretCount(changeImages)).toBe(0);
    expect(await secretCount(Object.values(approvedImages))).toBe(4);
    expect(await harness.prisma.document.count({ where: { registrantId: created.id, OR: [{ supersededAt: { not: null } }, { pendingChange: true }] } })).toBe(0);

    // HR confirms the approved registration by hand (完了). The next change retakes the spouse's
    // front and the person's back: HR approves the spouse alone (the image it replaced goes then),
    // then refuses the person's change (the spouse's approved retake stays).
    await hr.post(`/v1/registrants/${created.id}/status`).send({ status: 'completed', verificationMethod: 'notification_card_with_id' }).expect(200);
    expect(await hrSees()).toEqual(approved);
    await reopen();
    await upload('front', 20, spouseId);
    await upload('back', 21);
    await finish();
    await hr.post(`/v1/registrants/${created.id}/approval`).send({ dependentId: spouseId }).expect(200);
    expect(await secretCount([approvedImages.spouseFront])).toBe(0);
    expect(await hrSees()).toEqual(['self back +21', 'self front +1', 'spouse back +4', 'spouse front +20']);
    await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '裏面が読めません' }).expect(200);
    expect(await hrSees()).toEqual(['self back +2', 'self front +1', 'spouse back +4', 'spouse front +20']);
    expect(await secretCount([approvedImages.selfFront, approvedImages.selfBack, approvedImages.spouseBack])).toBe(3);

    // Approved as a whole: the replaced image goes, the retake is the approved one.
    await hr.post(`/v1/registrants/${created.id}/status`).send({ status: 'completed', verificationMethod: 'notification_card_with_id' }).expect(200);
    await reopen();
    await upload('back', 30);
    await finish();
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    expect(await hrSees()).toEqual(['self back +30', 'self front +1', 'spouse back +4', 'spouse front +20']);
    expect(await secretCount([approvedImages.selfBack])).toBe(0);
    expect(await harness.prisma.document.count({ where: { registrantId: created.id, OR: [{ supersededAt: { not: null } }, { pendingChange: true }] } })).toBe(0);
  });

  it('HR\'s own image and HR\'s deletion of the number while a change that retook images waits: each takes the approved image it replaces with it; a refusal has nothing to put back', async () => {
    const code = `PN-${randomUUID().slice(0, 6)}`;
    const { created, handle } = await invited({ familyName: '番号', givenName: '九郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const person = { gender: 'male' as const, birthDate: '1985-10-10', dependents: [] };
    await submit(created.id, created.workflowId, { ...person, myNumber: randomMyNumber() });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const [back, front] = (await harness.prisma.document.findMany({ where: { registrantId: created.id } })).sort((a, b) => a.side.localeCompare(b.side));
    await hr.post(`/v1/registrants/${created.id}/login-unlock`).expect(200);
    await hr.post(`/v1/registrants/${created.id}/invitation`).send({}).expect(200);
    const { registration, caller } = employeePages(created.id);
    const retake = async (side: 'front' | 'back', n: number) => (await registration.addDocument(await caller(), { purpose: 'identity', type: 'my_number_card', side }, Buffer.concat([PNG, Buffer.alloc(n)]))).id;
    const [frontRetake, backRetake] = [await retake('front', 8), await retake('back', 9)];
    await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    expect(await secretCount([front!.imageSecretId, back!.imageSecretId])).toBe(2);
    const retakeFrontImage = (await harness.prisma.document.findUniqueOrThrow({ where: { id: frontRetake } })).imageSecretId;

    // HR's own image of the front (書類の画像を差し替え) replaces the retake and the approved front kept
    // behind it; it stands whatever HR decides on the change.
    const hrFront = (await hr.post(`/v1/registrants/${created.id}/documents?purpose=identity&type=my_number_card&side=front`).set('Content-Type', 'image/png').send(Buffer.concat([PNG, Buffer.alloc(7)])).expect(201)).body as { id: string };
    expect(await secretCount([front!.imageSecretId, retakeFrontImage])).toBe(0);
    // The number deleted: the approved back kept behind the retake goes with it.
    await hr.delete(`/v1/registrants/${created.id}/my-number`).send({ password: TEST_PASSWORD }).expect(204);
    expect(await secretCount([back!.imageSecretId])).toBe(0);
    expect(await harness.prisma.document.findUnique({ where: { id: back!.id } })).toBeNull();

    await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '確認できません' }).expect(200);
    const listed = (await hr.get(`/v1/registrants/${created.id}/documents`).expect(200)).body as { id: string }[];
    expect(listed.map((d) => d.id).sort()).toEqual([backRetake, hrFront.id].sort());
    expect(await harness.prisma.document.count({ where: { registrantId: created.id, OR: [{ supersededAt: { not: null } }, { pendingChange: true }] } })).toBe(0);
  });

  it('a dependent HR adds without a number while a change waits is not part of the change: refusing the change leaves it 未登録', async () => {
    const code = `PH-${randomUUID().slice(0, 6)}`;
    const { created } = await invited({ familyName: '追加', givenName: '六郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const person = { gender: 'male' as const, birthDate: '1985-10-10', dependents: [] };
    await submit(created.id, created.workflowId, { ...person, myNumber: randomMyNumber() });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const baby = { id: randomUUID(), relationship: '子', kind: 'dependent' as const, familyName: '追加', givenName: '赤子', birthDate: '2026-10-01', myNumber: randomMyNumber() };
    await sendChange(created, { ...person, myNumber: randomMyNumber(), dependents: [baby] });
    const added = (await hr.post(`/v1/registrants/${created.id}/dependents`).send({ relationship: '父', familyName: '追加', givenName: '父' }).expect(201)).body as { id: string };

    await hr.post(`/v1/registrants/${created.id}/refusal`).send({ reason: '確認できません' }).expect(200);
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: added.id } })).toMatchObject({ status: 'unregistered', statusReason: null });
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: baby.id } })).toMatchObject({ status: 'refused', statusReason: '確認できません', myNumberSecretId: null });
  });

  it('the employee takes back the deletion of a dependent payroll is served (the change sent back whole): the dependent stays, with its number, once HR approves', async () => {
    const code = `PB-${randomUUID().slice(0, 6)}`;
    const [own, spouse] = [randomMyNumber(), randomMyNumber()];
    const { created, handle } = await invited({ familyName: '取消', givenName: '七郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '取消', givenName: '花子', birthDate: '1988-01-01' };
    const person = { myNumber: own, gender: 'male' as const, birthDate: '1985-10-10' };
    await submit(created.id, created.workflowId, { ...person, dependents: [{ ...spouseEntry, myNumber: spouse }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    const approvedSpouse = (await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).approvedNumberSecretId;
    await sendChange(created, { ...person, dependents: [], removedDependentIds: [spouseEntry.id] });
    await hr.post(`/v1/registrants/${created.id}/remand`).send({ reason: '配偶者の削除は誤りではありませんか' }).expect(200);

    const { registration, caller } = employeePages(created.id);
    const before = await registration.overview(await caller());
    expect([before.draft.dependents, before.draft.removedDependents]).toEqual([[], [{ id: spouseEntry.id, relationship: '配偶者', familyName: '取消', givenName: '花子' }]]);
    await expect(registration.restoreDependent(await caller(), randomUUID())).rejects.toMatchObject({ code: 'DEPENDENT_NOT_FOUND' });
    const restored = await registration.restoreDependent(await caller(), spouseEntry.id);
    expect(restored.draft.removedDependents).toEqual([]);
    expect(restored.draft.dependents.map((d) => [d.id, d.givenName, d.myNumber])).toEqual([[spouseEntry.id, '花子', { entered: true, last4: spouse.slice(-4) }]]);

    // Taken back and corrected: until HR approves, payroll is served the approved name.
    await registration.updateDependent(await caller(), spouseEntry.id, { givenName: '華子' });
    await handle.executeUpdate(submitUpdate, { args: [{ actor: { type: 'registrant', id: null } }] });
    expect((await pull(code)).dependents!.map((d) => [d.dependentId, d.givenName, d.unservedReason])).toEqual([[spouseEntry.id, '花子', null]]);
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: spouseEntry.id } })).toMatchObject({ status: 'completed', removalRequestedAt: null, givenName: '華子', approvedProfile: null });
    const served = await pull(code);
    expect(served.dependents!.map((d) => [d.dependentId, d.givenName, d.unservedReason])).toEqual([[spouseEntry.id, '華子', null]]);
    expect(served.dependents![0]!.myNumber === spouse).toBe(true);
    expect(await secretCount([approvedSpouse])).toBe(0); // the same number sealed again with the change, the approved copy shredded
  });

  it.each(['the deletion first', 'the refusal first'] as const)(
    'HR approves the deletion of a dependent and refuses the change at the same moment (%s): one after the other, each whole; payroll and the vault agree',
    async (order) => {
      const code = `PR-${randomUUID().slice(0, 6)}`;
      const [own, corrected, spouse] = [randomMyNumber(), randomMyNumber(), randomMyNumber()];
      const { created, handle } = await invited({ familyName: '競合', givenName: '八郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
      const spouseEntry = { id: randomUUID(), relationship: '配偶者', kind: 'dependent' as const, familyName: '競合', givenName: '花子', birthDate: '1988-01-01' };
      const person = { gender: 'male' as const, birthDate: '1985-10-10' };
      await submit(created.id, created.workflowId, { ...person, myNumber: own, dependents: [{ ...spouseEntry, myNumber: spouse }] });
      await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
      await sendChange(created, { ...person, myNumber: corrected, dependents: [], removedDependentIds: [spouseEntry.id] });
      const held = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });
      const actor = { type: 'login_user' as const, id: (await harness.prisma.loginUser.findFirstOrThrow({ where: { tenantId } })).id };

      // Both asked while the first one's transaction waits for the person's row: they queue.
      const lock = await holdRow(created.id);
      const approveDeletion = () => handle.startUpdate(approveUpdate, { args: [{ actor, dependentId: spouseEntry.id }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const refuseChange = () => handle.startUpdate(refuseUpdate, { args: [{ actor, reason: '確認できません' }], waitForStage: WorkflowUpdateStage.ACCEPTED });
      const first = order === 'the deletion first' ? await approveDeletion() : await refuseChange();
      await activityRunning(handle, 'decide');
      const second = order === 'the deletion first' ? await refuseChange() : await approveDeletion();
      await lock.release();
      await first.result();
      const secondRefused = order === 'the refusal first' ? await refusal(second.result()) : (await second.result(), null);

      const after = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });
      const served = await pull(code);
      // Either way the person is refused, back on the approved number, the corrected one shredded.
      expect(after).toMatchObject({ status: 'refused', myNumberSecretId: held.approvedNumberSecretId });
      expect(served.myNumber === own).toBe(true);
      expect(await secretCount([held.myNumberSecretId])).toBe(0);
      if (order === 'the deletion first') {
        // The deletion approved first stands: the spouse is gone with every secret.
        expect(secondRefused).toBeNull();
        expect(after.dependents).toEqual([]);
        expect(served.dependents).toEqual([]);
        expect(await secretCount([held.dependents[0]!.approvedNumberSecretId])).toBe(0);
      } else {
        // Refused first, nothing is left to approve: the spouse stays as approved.
        expect(secondRefused).toMatchObject({ message: 'NOT_PENDING' });
        expect(after.dependents.map((d) => [d.id, d.status, d.removalRequestedAt])).toEqual([[spouseEntry.id, 'completed', null]]);
        expect(served.dependents!.map((d) => [d.dependentId, d.unservedReason])).toEqual([[spouseEntry.id, null]]);
        expect(served.dependents![0]!.myNumber === spouse).toBe(true);
      }
      const decisions = (await harness.prisma.operationEvent.findMany({ where: { registrantId: created.id, operation: { in: ['approved', 'refused'] } }, orderBy: { id: 'asc' } })).map((e) => e.operation);
      expect(decisions).toEqual(order === 'the deletion first' ? ['approved', 'approved', 'refused'] : ['approved', 'refused']);
    },
  );

  it('deleting the numbers while a change waits takes the approved ones too: nothing is served, nothing sealed is left', async () => {
    const code = `PD-${randomUUID().slice(0, 6)}`;
    const { created } = await invited({ familyName: '削除', givenName: '一郎', email: `${code.toLowerCase()}@example.co.jp`, employeeCode: code });
    const child = { id: randomUUID(), relationship: '子', kind: 'dependent' as const, familyName: '削除', givenName: '次郎', birthDate: '2015-01-01' };
    await submit(created.id, created.workflowId, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents: [{ ...child, myNumber: randomMyNumber() }] });
    await hr.post(`/v1/registrants/${created.id}/approval`).send({}).expect(200);
    // The change corrects the number and deletes the child (kept until HR decides).
    await sendChange(created, { myNumber: randomMyNumber(), gender: 'male', birthDate: '1985-10-10', dependents: [], removedDependentIds: [child.id] });
    const before = await harness.prisma.registrant.findUniqueOrThrow({ where: { id: created.id }, include: { dependents: true } });
    expect(before.approvedNumberSecretId).not.toBe(before.myNumberSecretId);
    expect(before.dependents[0]!.removalRequestedAt).not.toBeNull();

    await hr.post(`/v1/registrants/${created.id}/deletion`).send({ scope: 'numbers', password: TEST_PASSWORD }).expect(200);
    expect(await secretCount([before.approvedNumberSecretId, before.myNumberSecretId, before.dependents[0]!.approvedNumberSecretId])).toBe(0);
    expect((await pull(code)).reason).toBe('NOT_REGISTERED');
    // The deletion the change asked for is moot: the child stays, unregistered, and no later approval deletes them.
    expect(await harness.prisma.dependent.findUniqueOrThrow({ where: { id: child.id } })).toMatchObject({ status: 'unregistered', removalRequestedAt: null, myNumberSecretId: null });
  });
});
