/**
 * The registrant list's orders over HTTP, paged with the cursor: `updated` (a payroll sync's order,
 * the default), `-updated` (newest change first), `employeeCode` (people without a code last) and
 * `submitted` (earliest submission first, people who have not submitted last) and `kana` (五十音,
 * kept by a database trigger from the kana or, without them, the name).
 * Small pages walk the whole list in each order without skipping or repeating anyone, and a cursor
 * is only accepted by the order that made it. People are stored directly; Temporal points nowhere.
 */
import { randomUUID } from 'node:crypto';
import { useApiHarness } from './support/api-harness';
import { createTenant, type Agent } from './support/fixtures';

const harness = useApiHarness({ taskQueue: 'registrant-list-order' });
let hr: Agent;
let tenantId: string;
/** Employee code (or the name of someone without one) by id. */
const label = new Map<string, string>();

const CODES = ['E010', 'E002', null, 'E001', 'E003', null, 'E011', 'E020'];
/** Submission times (minutes past 10:00) by position: E003 sent first, then E002, then E011. */
const SUBMITTED: Record<number, number> = { 4: 5, 1: 20, 6: 45 };
/** Kana by position; the others have none (their name stands in, after every kana). */
const KANA: Record<number, [string, string]> = { 0: ['サトウ', 'イチロウ'], 3: ['アオキ', 'ハナコ'], 6: ['サトウ', 'アキラ'] };

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, '並び順株式会社');
  hr = await harness.agent(tenantId, 'viewer');
  // One a millisecond apart, so the update order is the order of creation.
  for (const [i, code] of CODES.entries()) {
    const r = await harness.prisma.registrant.create({
      data: {
        tenantId,
        workflowId: `wf-${randomUUID()}`,
        familyName: '並び',
        givenName: `${i}`,
        employeeCode: code,
        familyNameKana: KANA[i]?.[0],
        givenNameKana: KANA[i]?.[1],
        updatedAt: new Date(Date.UTC(2026, 10, 1, 9, 0, 0, i)),
        submittedAt: SUBMITTED[i] === undefined ? null : new Date(Date.UTC(2026, 10, 1, 10, SUBMITTED[i])),
      },
    });
    label.set(r.id, code ?? `no-code-${i}`);
  }
});

/** Every page of a sort, `limit` at a time: the labels in the order served. */
async function walk(sort: string | undefined, limit: number): Promise<string[]> {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 20; pages++) {
    const res = await hr.get('/v1/registrants').query({ ...(sort ? { sort } : {}), limit, ...(cursor ? { cursor } : {}) }).expect(200);
    seen.push(...(res.body.items as { id: string }[]).map((r) => label.get(r.id)!));
    cursor = res.body.nextCursor ?? undefined;
    if (!cursor) return seen;
  }
  throw new Error('the cursor never ended');
}

const byCreation = CODES.map((c, i) => c ?? `no-code-${i}`);

describe('orders of the registrant list', () => {
  it.each([1, 3, 8])('pages of %i: each order visits everyone once, in its order', async (limit) => {
    expect(await walk(undefined, limit)).toEqual(byCreation);
    expect(await walk('updated', limit)).toEqual(byCreation);
    expect(await walk('-updated', limit)).toEqual([...byCreation].reverse());
    const ids = [...label.entries()].filter(([, l]) => l.startsWith('no-code')).map(([id]) => id).sort();
    expect(await walk('employeeCode', limit)).toEqual(['E001', 'E002', 'E003', 'E010', 'E011', 'E020', ...ids.map((id) => label.get(id)!)]);
    const notSent = [...label.entries()].filter(([, l]) => !['E003', 'E002', 'E011'].includes(l)).map(([id]) => id).sort();
    expect(await walk('submitted', limit)).toEqual(['E003', 'E002', 'E011', ...notSent.map((id) => label.get(id)!)]);
    // アオキ ハナコ, サトウ アキラ, サトウ イチロウ; then 並び 1, 並び 2, 並び 4, 並び 5, 並び 7 (no kana).
    expect(await walk('kana', limit)).toEqual(['E001', 'E011', 'E010', 'E002', 'no-code-2', 'E003', 'no-code-5', 'E020']);
  });

  it('a person changed while HR pages newest-first is not shown twice, and nobody is lost', async () => {
    const first = await hr.get('/v1/registrants').query({ sort: '-updated', limit: 3 }).expect(200);
    const shown = (first.body.items as { id: string }[]).map((r) => r.id);
    // The newest person changes again: their row moves to the top, behind the cursor.
    await harness.prisma.registrant.update({ where: { id: shown[0]! }, data: { note: '変更' } });
    const rest: string[] = [];
    let cursor: string | null = first.body.nextCursor;
    while (cursor) {
      const res = await hr.get('/v1/registrants').query({ sort: '-updated', limit: 3, cursor }).expect(200);
      rest.push(...(res.body.items as { id: string }[]).map((r) => r.id));
      cursor = res.body.nextCursor;
    }
    expect(rest.filter((id) => shown.includes(id))).toEqual([]);
    expect(shown.length + rest.length).toBe(CODES.length);
  });

  it('refuses a cursor made by another order, or altered, with a machine code and nothing else', async () => {
    const byCode = await hr.get('/v1/registrants').query({ sort: 'employeeCode', limit: 2 }).expect(200);
    const byUpdate = await hr.get('/v1/registrants').query({ limit: 2 }).expect(200);
    for (const [sort, cursor] of [
      ['updated', byCode.body.nextCursor],
      ['-updated', byCode.body.nextCursor],
      ['employeeCode', byUpdate.body.nextCursor],
      ['submitted', byCode.body.nextCursor],
      ['updated', Buffer.from(`|${randomUUID()}`).toString('base64url')],
      ['employeeCode', Buffer.from('["employeeCode","E001","not-an-id"]').toString('base64url')],
      ['-updated', Buffer.from('["-updated","yesterday","00000000-0000-0000-0000-000000000000"]').toString('base64url')],
    ] as const) {
      const res = await hr.get('/v1/registrants').query({ sort, cursor, limit: 2 }).expect(400);
      expect(res.body).toMatchObject({ code: 'CURSOR_INVALID', title: 'カーソルが正しくありません。最初のページから取得し直してください' });
    }
    const unknown = await hr.get('/v1/registrants').query({ sort: 'name' }).expect(400);
    expect(unknown.body.code).toBe('VALIDATION_FAILED');
  });

  it("follows HR's edit of the kana (kept by the database, whoever writes the name)", async () => {
    const e001 = [...label.entries()].find(([, l]) => l === 'E001')![0];
    const manager = await harness.agent(tenantId, 'manager');
    await manager.patch(`/v1/registrants/${e001}`).send({ familyNameKana: 'ワタナベ' }).expect(200);
    expect((await walk('kana', 3)).slice(0, 3)).toEqual(['E011', 'E010', 'E001']);
    await manager.patch(`/v1/registrants/${e001}`).send({ familyNameKana: null, givenNameKana: null }).expect(200);
    expect((await walk('kana', 3)).slice(0, 3)).toEqual(['E011', 'E010', 'E002']);
  });
});
