/**
 * The console's registrant search and HOME counts over HTTP: the list's name filter (family, given or
 * "family given" with or without a space, kana in hiragana, katakana or half-width), the e-mail filter
 * (case-insensitive), retirement and deletion months, `sort`, all composing with the other filters and
 * the cursor; `%` and `_` taken literally; and GET /v1/registrants/summary (not taken for an id),
 * counting the tenant's registrants and the dependents HR can see. People are stored directly (no
 * workflow is involved), so Temporal points nowhere. Every query is scoped to tenants of this file.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Status } from '../prisma/generated/client';
import { useApiHarness } from './support/api-harness';
import { createTenant, type Agent } from './support/fixtures';

const harness = useApiHarness({ taskQueue: 'registrant-search' });
let tenantId: string;
let viewer: Agent;
const ids: Record<string, string> = {};

const day = (d: string) => new Date(`${d}T00:00:00Z`);

async function person(key: string, data: Record<string, unknown>, tenant = tenantId) {
  const r = await harness.prisma.registrant.create({ data: { tenantId: tenant, workflowId: `wf-${randomUUID()}`, familyName: '', givenName: '', ...data } });
  ids[key] = r.id;
  return r.id;
}

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '検索株式会社');
  viewer = await harness.agent(tenantId, 'viewer');

  await person('taro', { familyName: '山田', givenName: '太郎', familyNameKana: 'ヤマダ', givenNameKana: 'タロウ', email: 'Taro.Yamada@Example.co.jp', status: 'completed', retirementDate: day('2026-03-31'), retired: true, deletionDueDate: day('2033-01-11') });
  await person('hanako', { familyName: '山田', givenName: '花子', familyNameKana: 'ヤマダ', givenNameKana: 'ハナコ', email: 'hanako@example.co.jp', status: 'pending', retirementDate: day('2026-04-01'), deletionDueDate: day('2033-02-01') });
  await person('ichiro', { familyName: '田中', givenName: '一郎', familyNameKana: 'タナカ', givenNameKana: 'イチロウ', email: 'ichiro@sample.jp', status: 'unregistered' });
  await person('mary', { familyName: "O'Brien", givenName: 'Mary Ann', email: 'mary_ann@sample.jp', status: 'unregistered' });
  await person('percent', { familyName: '100%', givenName: 'a_b', email: 'pct@sample.jp', status: 'remanded' });
  // Another company's 山田 is never found here.
  await person('elsewhere', { familyName: '山田', givenName: '太郎', email: 'taro@example.co.jp' }, await createTenant(harness.prisma, '検索の別会社'));
});

async function found(query: Record<string, string>): Promise<string[]> {
  const res = await viewer.get('/v1/registrants').query(query).expect(200);
  const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
  return (res.body.items as { id: string }[]).map((r) => names[r.id] ?? r.id).sort();
}

describe('name', () => {
  it.each([
    ['山田', ['hanako', 'taro']],
    ['太郎', ['taro']],
    ['山田太郎', ['taro']],
    ['山田 太郎', ['taro']],
    ['山田　太郎', ['taro']],
    ['田太', ['taro']],
    ['田', ['hanako', 'ichiro', 'taro']],
    ['やまだ', ['hanako', 'taro']],
    ['ヤマダ ハナコ', ['hanako']],
    ['ﾀﾅｶｲﾁﾛｳ', ['ichiro']],
    ['たなかいちろう', ['ichiro']],
    ['mary ann', ['mary']],
    ['brienmary', ['mary']],
    ['ＭＡＲＹ', ['mary']],
    ['%', ['percent']],
    ['_', ['percent']],
    ['0%a', ['percent']],
    ['鈴木', []],
  ])('%s', async (name, expected) => {
    expect(await found({ name })).toEqual(expected);
  });

  it('a blank name is no filter; a very long one is refused in Japanese', async () => {
    expect(await found({ name: ' 　' })).toHaveLength(5);
    const res = await viewer.get('/v1/registrants').query({ name: '長'.repeat(101) });
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ path: '/query/name', code: 'TOO_LONG' });
  });
});

describe('email, months, sort', () => {
  it('e-mail: part of the address, case-insensitive, _ literal', async () => {
    expect(await found({ email: 'EXAMPLE.CO' })).toEqual(['hanako', 'taro']);
    expect(await found({ email: 'taro.y' })).toEqual(['taro']);
    expect(await found({ email: '_ann' })).toEqual(['mary']);
    expect(await found({ email: 'nobody' })).toEqual([]);
  });

  it('退職予定 (retiring): a retirement date set and not retired yet; false is everyone else', async () => {
    // taro retired on his date; hanako has a date ahead; the others have none.
    expect(await found({ retiring: 'true' })).toEqual(['hanako']);
    expect(await found({ retiring: 'false' })).toEqual(['ichiro', 'mary', 'percent', 'taro']);
    expect(await found({ retiring: 'true', name: '山田' })).toEqual(['hanako']);
    expect((await viewer.get('/v1/registrants').query({ retiring: 'soon' })).status).toBe(400);
  });

  it('retirement and deletion months (YYYY-MM), the first and last day included', async () => {
    expect(await found({ retirementMonth: '2026-03' })).toEqual(['taro']);
    expect(await found({ retirementMonth: '2026-04' })).toEqual(['hanako']);
    expect(await found({ retirementMonth: '2026-05' })).toEqual([]);
    expect(await found({ deletionMonth: '2033-01' })).toEqual(['taro']);
    expect(await found({ deletionMonth: '2033-02' })).toEqual(['hanako']);
    for (const bad of ['2026-13', '2026-3', '26-03', '0000-01', '2026-03-01']) {
      const res = await viewer.get('/v1/registrants').query({ retirementMonth: bad });
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    // Each malformed filter is named, whichever way the page is then chosen (a name search goes through another query).
    for (const extra of [{}, { name: '山田' }]) {
      const del = await viewer.get('/v1/registrants').query({ deletionMonth: '0000-01', ...extra }).expect(400);
      expect(del.body.errors).toEqual([expect.objectContaining({ path: '/query/deletionMonth' })]);
      const since = await viewer.get('/v1/registrants').query({ updatedSince: '2026-02-30T00:00:00Z', ...extra }).expect(400);
      expect(since.body.errors).toEqual([expect.objectContaining({ path: expect.stringContaining('updatedSince') })]);
    }
  });

  it('filters compose with each other and with the cursor; sort=updated is the cursor order, nothing else is taken', async () => {
    expect(await found({ name: '山田', status: 'pending' })).toEqual(['hanako']);
    expect(await found({ name: '山田', retired: 'true' })).toEqual(['taro']);
    expect(await found({ email: 'sample.jp', name: 'a' })).toEqual(['mary', 'percent']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await viewer.get('/v1/registrants').query({ name: '田', sort: 'updated', limit: '1', ...(cursor ? { cursor } : {}) }).expect(200);
      seen.push(...res.body.items.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([ids.taro, ids.hanako, ids.ichiro].sort());
    expect((await viewer.get('/v1/registrants').query({ sort: 'name' })).status).toBe(400);
  });

  it('withTotal: everyone matching the filters, on every page of the cursor; not answered unless asked', async () => {
    const first = await viewer.get('/v1/registrants').query({ name: '田', limit: '1', withTotal: 'true' }).expect(200);
    expect([first.body.items.length, first.body.total]).toEqual([1, 3]);
    const second = await viewer.get('/v1/registrants').query({ name: '田', limit: '1', withTotal: 'true', cursor: first.body.nextCursor }).expect(200);
    expect(second.body.total).toBe(3);
    expect((await viewer.get('/v1/registrants').query({ withTotal: 'true' }).expect(200)).body.total).toBe(5); // this tenant's only
    expect((await viewer.get('/v1/registrants').query({ retiring: 'true', withTotal: 'true' }).expect(200)).body.total).toBe(1);
    expect((await viewer.get('/v1/registrants').query({ name: '田' }).expect(200)).body.total).toBeUndefined();
  });
});

describe('GET /v1/registrants/summary', () => {
  it('counts the tenant\'s registrants by status and retirees, and the submitted dependents by status', async () => {
    const t = await createTenant(harness.prisma, '集計株式会社');
    const hr = await harness.agent(t, 'viewer');
    const empty = await hr.get('/v1/registrants/summary').expect(200);
    const zero = { total: 0, unregistered: 0, pending: 0, remanded: 0, completed: 0, refused: 0 };
    expect(empty.body).toEqual({ registrants: { ...zero, retired: 0 }, dependents: zero });

    const statuses: [Status, boolean][] = [['unregistered', false], ['unregistered', false], ['pending', false], ['remanded', false], ['completed', true], ['completed', false], ['refused', true]];
    const made: string[] = [];
    for (const [status, retired] of statuses) made.push(await person(randomUUID(), { familyName: '集計', givenName: status, status, retired }, t));
    const dependent = (registrantId: string, status: Status, draft = false) => harness.prisma.dependent.create({ data: { registrantId, relationship: '子', familyName: '集計', givenName: status, status, draft } });
    await dependent(made[4]!, 'completed');
    await dependent(made[4]!, 'pending');
    await dependent(made[3]!, 'remanded');
    await dependent(made[0]!, 'unregistered', true); // still in the employee's draft: not counted
    await dependent(made[6]!, 'refused');

    const res = await hr.get('/v1/registrants/summary').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      registrants: { total: 7, unregistered: 2, pending: 1, remanded: 1, completed: 2, refused: 1, retired: 2 },
      dependents: { total: 4, unregistered: 0, pending: 1, remanded: 1, completed: 1, refused: 1 },
    });
    // Nobody logged in: 401.
    expect((await request(harness.app).get('/v1/registrants/summary')).status).toBe(401);

    // HOME's dependents counts link to the people with a dependent in that status (not drafts, not former dependents).
    const withDependent = async (status: Status) => ((await hr.get('/v1/registrants').query({ dependentsStatus: status }).expect(200)).body.items as { id: string }[]).map((x) => x.id).sort();
    expect(await withDependent('pending')).toEqual([made[4]]);
    expect(await withDependent('unregistered')).toEqual([]);
    expect(await withDependent('completed')).toEqual([made[4]]);
    await harness.prisma.dependent.updateMany({ where: { registrantId: made[4]!, status: 'completed' }, data: { noLongerDependentAt: new Date() } });
    expect(await withDependent('completed')).toEqual([]);
  });

  it('many screens asking at once (counted together) each get counts no older than their request', async () => {
    const t = await createTenant(harness.prisma, '同時集計株式会社');
    const hr = await harness.agent(t, 'viewer');
    const answers: Promise<unknown>[] = [];
    for (let stored = 1; stored <= 30; stored++) {
      // Others keep a count running all along…
      for (let k = 0; k < 3; k++) answers.push(hr.get('/v1/registrants/summary').expect(200));
      await person(randomUUID(), { familyName: '同時', givenName: `${stored}`, status: 'pending' }, t);
      // …and whoever asks after a person was stored sees them, not a count begun before.
      const seen = stored;
      answers.push(hr.get('/v1/registrants/summary').expect(200).then((res) => expect(res.body.registrants.pending).toBeGreaterThanOrEqual(seen)));
    }
    await Promise.all(answers);
    expect((await hr.get('/v1/registrants/summary').expect(200)).body.registrants).toMatchObject({ total: 30, pending: 30 });
  });
});
