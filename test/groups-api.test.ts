/**
 * グループ管理 over HTTP (seed 001 ch.6): the list with member counts by name, adding (trimmed names,
 * 1–100 characters, unique in the tenant), renaming, deleting (members stay, group-less), member
 * registration (a registrant is in one group at most; another tenant's registrant changes nothing),
 * the operation history of every change, viewers refused every change, and tenant isolation.
 * People are stored directly (no workflow is involved), so Temporal points nowhere.
 *
 * groups, registrants and operation_events are shared by every test file: everything here works on
 * tenants of its own.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { useApiHarness } from './support/api-harness';
import { createTenant, type Agent } from './support/fixtures';
import { expectProblem } from './support/problems';

const harness = useApiHarness({ taskQueue: 'groups' });
let tenantId: string;
let otherTenant: string;
let owner: Agent;
let manager: Agent;
let viewer: Agent;
let otherOwner: Agent;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, 'グループ管理株式会社');
  otherTenant = await createTenant(harness.prisma, '別会社グループ株式会社');
  [owner, manager, viewer, otherOwner] = await Promise.all([
    harness.agent(tenantId, 'owner', '人事 部長'),
    harness.agent(tenantId, 'manager', '人事 担当'),
    harness.agent(tenantId, 'viewer', '閲覧 担当'),
    harness.agent(otherTenant, 'owner'),
  ]);
});

async function registrant(tenant = tenantId, groupId: string | null = null) {
  const r = await harness.prisma.registrant.create({ data: { tenantId: tenant, familyName: '所属', givenName: randomUUID().slice(0, 6), groupId, workflowId: `wf-${randomUUID()}` } });
  return r.id;
}

const groupOf = async (id: string) => (await harness.prisma.registrant.findUniqueOrThrow({ where: { id } })).groupId;
const events = (operation: string) => harness.prisma.operationEvent.findMany({ where: { tenantId, operation }, orderBy: { id: 'asc' } });
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

describe('adding, listing, renaming', () => {
  it('adds a group with a trimmed name (201, Location), lists it by name with its member count, and records it', async () => {
    const name = unique('総務部');
    const res = await manager.post('/v1/groups').send({ name: `\u3000 ${name}  ` }).expect(201);
    expect(res.body).toEqual({ id: expect.any(String), name, memberCount: 0, createdAt: expect.any(String) });
    expect(res.headers.location).toBe(`/v1/groups/${res.body.id}`);
    await registrant(tenantId, res.body.id);
    await registrant(tenantId, res.body.id);

    const a = await owner.post('/v1/groups').send({ name: `あ${unique('')}` }).expect(201);
    const z = await owner.post('/v1/groups').send({ name: `Ａ${unique('')}` }).expect(201);
    const list = await viewer.get('/v1/groups').expect(200);
    const names = list.body.map((g: { name: string }) => g.name);
    expect(names).toEqual([...names].sort((x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    expect(list.body.find((g: { id: string }) => g.id === res.body.id)).toMatchObject({ name, memberCount: 2 });
    expect(names).toEqual(expect.arrayContaining([a.body.name, z.body.name]));
    // Another tenant's groups are not listed.
    const theirs = await otherOwner.get('/v1/groups').expect(200);
    expect(theirs.body.map((g: { id: string }) => g.id)).not.toContain(res.body.id);

    const recorded = (await events('group_created')).find((e) => (e.detail as { groupId?: string }).groupId === res.body.id);
    expect(recorded).toMatchObject({ label: 'グループの追加', actorLabel: '人事 担当', detail: { groupId: res.body.id, name } });
  });

  it('refuses an empty or too long name and a duplicate in the tenant (409 GROUP_NAME_TAKEN), in Japanese; another tenant may use the name', async () => {
    const blank = await manager.post('/v1/groups').send({ name: ' 　 ' });
    expectProblem(blank, 400, 'VALIDATION_FAILED');
    expect(blank.body.errors).toEqual([{ path: '/body/name', code: 'REQUIRED', message: 'グループ名を入力してください' }]);
    const long = await manager.post('/v1/groups').send({ name: '部'.repeat(101) });
    expectProblem(long, 400, 'VALIDATION_FAILED');
    expect(long.body.errors[0]).toMatchObject({ path: '/body/name', code: 'TOO_LONG' });
    await manager.post('/v1/groups').send({ name: '部'.repeat(100) }).expect(201);

    const name = unique('人事部');
    await manager.post('/v1/groups').send({ name }).expect(201);
    const dup = await owner.post('/v1/groups').send({ name: ` ${name} ` });
    expectProblem(dup, 409, 'GROUP_NAME_TAKEN');
    expect(dup.body.title).toContain('同じ名前のグループ');
    await otherOwner.post('/v1/groups').send({ name }).expect(201);
    expect(await harness.prisma.group.count({ where: { tenantId, name } })).toBe(1);
  });

  it('two additions of the same name at once: one is added, the other is told GROUP_NAME_TAKEN', async () => {
    const name = unique('同時');
    const [a, b] = await Promise.all([owner.post('/v1/groups').send({ name }), manager.post('/v1/groups').send({ name })]);
    expect([a.status, b.status].sort()).toEqual([201, 409]);
    expect([a, b].find((r) => r.status === 409)!.body.code).toBe('GROUP_NAME_TAKEN');
  });

  it('renames (409 when another group has the name; the same name is no change) and records before/after', async () => {
    const g = (await manager.post('/v1/groups').send({ name: unique('営業部') })).body;
    const other = (await manager.post('/v1/groups').send({ name: unique('開発部') })).body;
    await registrant(tenantId, g.id);
    const renamed = await owner.patch(`/v1/groups/${g.id}`).send({ name: `${g.name}二課` }).expect(200);
    expect(renamed.body).toMatchObject({ id: g.id, name: `${g.name}二課`, memberCount: 1 });
    expectProblem(await owner.patch(`/v1/groups/${g.id}`).send({ name: other.name }), 409, 'GROUP_NAME_TAKEN');
    const before = (await events('group_updated')).length;
    await owner.patch(`/v1/groups/${g.id}`).send({ name: `${g.name}二課` }).expect(200);
    expect((await events('group_updated')).length).toBe(before);
    const recorded = (await events('group_updated')).find((e) => (e.detail as { groupId?: string }).groupId === g.id);
    expect(recorded).toMatchObject({ label: 'グループの編集', detail: { groupId: g.id, before: g.name, after: `${g.name}二課` } });
    expectProblem(await owner.patch(`/v1/groups/${g.id}`).send({ name: '' }), 400, 'VALIDATION_FAILED');
    expectProblem(await owner.patch(`/v1/groups/${randomUUID()}`).send({ name: 'x' }), 404, 'GROUP_NOT_FOUND');
    // Another tenant's group is not found.
    expectProblem(await otherOwner.patch(`/v1/groups/${g.id}`).send({ name: 'x' }), 404, 'GROUP_NOT_FOUND');
  });
});

describe('members', () => {
  it('adds (moving people out of another group), removes only this group\'s members, returns the count, and records ids only', async () => {
    const sales = (await manager.post('/v1/groups').send({ name: unique('営業') })).body;
    const admin = (await manager.post('/v1/groups').send({ name: unique('総務') })).body;
    const [a, b, c] = [await registrant(), await registrant(tenantId, admin.id), await registrant(tenantId, admin.id)];
    const stamp = (await harness.prisma.registrant.findUniqueOrThrow({ where: { id: b } })).updatedAt;

    const res = await manager.put(`/v1/groups/${sales.id}/members`).send({ add: [a, b] }).expect(200);
    expect(res.body).toMatchObject({ id: sales.id, name: sales.name, memberCount: 2 });
    expect([await groupOf(a), await groupOf(b), await groupOf(c)]).toEqual([sales.id, sales.id, admin.id]);
    // Payroll's sync (updatedSince) sees the move.
    expect((await harness.prisma.registrant.findUniqueOrThrow({ where: { id: b } })).updatedAt.getTime()).toBeGreaterThan(stamp.getTime());

    // c is in 総務, not in 営業: removing it from 営業 leaves it where it is.
    const removed = await manager.put(`/v1/groups/${sales.id}/members`).send({ remove: [a, c] }).expect(200);
    expect(removed.body.memberCount).toBe(1);
    expect([await groupOf(a), await groupOf(b), await groupOf(c)]).toEqual([null, sales.id, admin.id]);

    const recorded = (await events('group_members_changed')).filter((e) => (e.detail as { groupId?: string }).groupId === sales.id);
    expect(recorded.map((e) => e.detail)).toEqual([
      { groupId: sales.id, name: sales.name, added: expect.arrayContaining([a, b]), removed: [] },
      { groupId: sales.id, name: sales.name, added: [], removed: [a] },
    ]);
    expect(recorded[0]).toMatchObject({ label: 'グループのメンバー登録', actorLabel: '人事 担当' });
    expect(JSON.stringify(recorded.map((e) => e.detail))).not.toContain('所属');

    // Nothing to change: nothing recorded.
    await manager.put(`/v1/groups/${sales.id}/members`).send({ add: [b] }).expect(200);
    expect((await events('group_members_changed')).filter((e) => (e.detail as { groupId?: string }).groupId === sales.id)).toHaveLength(2);
    // The list filter finds the members.
    const listed = await viewer.get(`/v1/registrants?groupId=${sales.id}`).expect(200);
    expect(listed.body.items.map((r: { id: string }) => r.id)).toEqual([b]);
    expect(listed.body.items[0].groupId).toBe(sales.id);
  });

  it('another tenant\'s or an unknown registrant changes nothing (404 naming each), nor does an id both added and removed (400)', async () => {
    const g = (await manager.post('/v1/groups').send({ name: unique('経理') })).body;
    const mine = await registrant();
    const theirs = await registrant(otherTenant);
    const unknown = randomUUID();
    const res = await manager.put(`/v1/groups/${g.id}/members`).send({ add: [mine, theirs], remove: [unknown] });
    expectProblem(res, 404, 'REGISTRANT_NOT_FOUND');
    expect(res.body.errors).toEqual([
      { path: '/body/add/1', code: 'REGISTRANT_NOT_FOUND', message: '登録者が見つかりません' },
      { path: '/body/remove/0', code: 'REGISTRANT_NOT_FOUND', message: '登録者が見つかりません' },
    ]);
    expect([await groupOf(mine), await groupOf(theirs)]).toEqual([null, null]);

    const both = await manager.put(`/v1/groups/${g.id}/members`).send({ add: [mine], remove: [mine] });
    expectProblem(both, 400, 'VALIDATION_FAILED');
    expect(both.body.errors[0]).toMatchObject({ path: '/body/remove/0', code: 'ADD_AND_REMOVE' });
    expect(await groupOf(mine)).toBeNull();

    // Another tenant cannot use this group, even with its own people.
    expectProblem(await otherOwner.put(`/v1/groups/${g.id}/members`).send({ add: [theirs] }), 404, 'GROUP_NOT_FOUND');
    expect(await groupOf(theirs)).toBeNull();
    // The contract: uuids only, at least one list.
    expect((await manager.put(`/v1/groups/${g.id}/members`).send({ add: ['not-a-uuid'] })).status).toBe(400);
    expect((await manager.put(`/v1/groups/${g.id}/members`).send({})).status).toBe(400);
  });
});

describe('deleting', () => {
  it('deletes a group (204); its members stay, group-less; recorded with the name and member count', async () => {
    const g = (await manager.post('/v1/groups').send({ name: unique('解散') })).body;
    const [a, b] = [await registrant(tenantId, g.id), await registrant(tenantId, g.id)];
    await owner.delete(`/v1/groups/${g.id}`).expect(204);
    expect(await harness.prisma.group.findUnique({ where: { id: g.id } })).toBeNull();
    expect([await groupOf(a), await groupOf(b)]).toEqual([null, null]);
    expect(await harness.prisma.registrant.count({ where: { id: { in: [a, b] } } })).toBe(2);
    const recorded = (await events('group_deleted')).find((e) => (e.detail as { groupId?: string }).groupId === g.id);
    expect(recorded).toMatchObject({ label: 'グループの削除', detail: { groupId: g.id, name: g.name, members: 2 } });
    expectProblem(await owner.delete(`/v1/groups/${g.id}`), 404, 'GROUP_NOT_FOUND');
    // The name is free again.
    await owner.post('/v1/groups').send({ name: g.name }).expect(201);
  });

  it('another tenant cannot delete it', async () => {
    const g = (await manager.post('/v1/groups').send({ name: unique('守') })).body;
    expectProblem(await otherOwner.delete(`/v1/groups/${g.id}`), 404, 'GROUP_NOT_FOUND');
    expect(await harness.prisma.group.findUnique({ where: { id: g.id } })).not.toBeNull();
  });
});

describe('roles', () => {
  it('viewers read the list but every change is 403 and changes nothing; without the CSRF token too', async () => {
    const g = (await manager.post('/v1/groups').send({ name: unique('閲覧') })).body;
    const r = await registrant();
    await viewer.get('/v1/groups').expect(200);
    const tries = [
      viewer.post('/v1/groups').send({ name: unique('不可') }),
      viewer.patch(`/v1/groups/${g.id}`).send({ name: unique('不可') }),
      viewer.delete(`/v1/groups/${g.id}`),
      viewer.put(`/v1/groups/${g.id}/members`).send({ add: [r] }),
    ];
    for (const res of await Promise.all(tries)) expectProblem(res, 403, 'FORBIDDEN');
    expect(await harness.prisma.group.findUniqueOrThrow({ where: { id: g.id } })).toMatchObject({ name: g.name });
    expect(await groupOf(r)).toBeNull();

    const forged = await manager.post('/v1/groups').set('X-CSRF-Token', 'forged').send({ name: unique('CSRF') });
    expectProblem(forged, 403, 'CSRF_TOKEN_INVALID');
    expect((await request(harness.app).get('/v1/groups')).status).toBe(401);
  });
});
