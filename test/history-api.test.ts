/**
 * 操作履歴 over HTTP: search with filters and cursor pages, the CSV download (CP932 with CRLF by
 * default, UTF-8 with BOM on request; itself recorded) and the chain verification (editors only),
 * which must point at a row tampered with as superuser.
 *
 * operation_events is shared by every test file and cannot be cleaned up: everything here works on
 * tenants of its own, every count is scoped to them, and a tampered row is put back at once.
 */
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import request from 'supertest';
import { Prisma, type OperationEvent } from '../prisma/generated/client';
import type { OperationInput } from '../services/audit/types';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, ownerPrisma, type Agent, type TestUser } from './support/fixtures';
import { bytesOf } from './support/http';

const harness = useApiHarness({ taskQueue: 'history-api' });

let tenant: string;
let other: string;
let owner: TestUser;
let manager: TestUser;
let viewer: TestUser;
let managerAgent: Agent;
let viewerAgent: Agent;
let ownerAgent: Agent;

const yamada = randomUUID();
const tanaka = randomUUID();
const HEADER = ['日時', '実施者', '登録者', '操作内容', '利用目的', 'IPアドレス'];

const rowsOf = (tenantId: string) => harness.prisma.operationEvent.findMany({ where: { tenantId }, orderBy: { id: 'asc' } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Japan time as the CSV writes it, computed independently of the product's formatter. */
const jst = (d: Date) => d.toLocaleString('sv-SE', { timeZone: 'Asia/Tokyo' }).replace(/-/g, '/');
const jstDate = (d: Date) => d.toLocaleDateString('sv-SE', { timeZone: 'Asia/Tokyo' }).replace(/-/g, '');

/** The events seeded for the filters, oldest first; `times` gets each one's stored time. */
const seeded: { op: string; occurredAt: Date; id: bigint }[] = [];
const seed = (): OperationInput[] => [
  { tenantId: tenant, actor: { type: 'login_user', id: manager.id, label: '佐藤 花子' }, operation: 'registrant_created', registrant: { id: yamada, label: '山田 太郎' }, ip: '198.51.100.1' },
  {
    tenantId: tenant,
    actor: { type: 'login_user', id: viewer.id, label: '鈴木 一郎' },
    operation: 'number_revealed',
    registrant: { id: yamada, label: '山田 太郎' },
    purpose: 'withholding_slip',
    ip: '198.51.100.2',
    userAgent: 'Seed/1.0',
  },
  { tenantId: tenant, actor: { type: 'api_client', id: 'payroll-1', label: 'Payroll Connector' }, operation: 'number_pulled', registrant: { id: tanaka, label: '田中 次郎' }, purpose: 'dividends' },
  { tenantId: tenant, actor: { type: 'login_user', id: viewer.id, label: '鈴木 一郎' }, operation: 'numbers_downloaded', purpose: 'employment_insurance' },
  { tenantId: tenant, actor: { type: 'system', label: 'システム' }, operation: 'invitation_sent', registrant: { id: tanaka, label: '田中 次郎' } },
  { tenantId: tenant, actor: { type: 'login_user', id: randomUUID(), label: '退職 担当' }, operation: 'registrant_viewed', registrant: { id: randomUUID(), label: '=HYPERLINK("http://evil")' } },
];

beforeAll(async () => {
  tenant = await createTenant(harness.prisma, '履歴API株式会社');
  other = await createTenant(harness.prisma, '履歴API別会社');
  [owner, manager, viewer] = await Promise.all([
    createLoginUser(harness.prisma, tenant, 'owner', '履歴 オーナー'),
    createLoginUser(harness.prisma, tenant, 'manager', '佐藤 花子'),
    createLoginUser(harness.prisma, tenant, 'viewer', '鈴木 一郎'),
  ]);
  [ownerAgent, managerAgent, viewerAgent] = await Promise.all([harness.login(owner), harness.login(manager), harness.login(viewer)]);
  for (const e of seed()) {
    await harness.services.history.record(e);
    const last = await harness.prisma.operationEvent.findFirstOrThrow({ where: { tenantId: tenant }, orderBy: { id: 'desc' } });
    seeded.push({ op: last.operation, occurredAt: last.occurredAt, id: last.id });
    await sleep(3);
  }
  // the same names in another tenant: never to be seen from ours
  await harness.services.history.record({ tenantId: other, actor: { type: 'login_user', id: manager.id, label: '佐藤 花子' }, operation: 'number_revealed', registrant: { id: yamada, label: '山田 太郎' }, purpose: 'withholding_slip' });
});

interface Item {
  id: string;
  occurredAt: string;
  actor: { type: string; id: string | null; label: string; deleted: boolean };
  registrant: { id: string | null; label: string } | null;
  operation: string;
  label: string;
  purpose: string | null;
  purposeLabel: string | null;
  ip: string | null;
  userAgent: string | null;
}

async function search(agent: Agent, query: Record<string, string | number> = {}): Promise<{ items: Item[]; nextCursor: string | null }> {
  const res = await agent.get('/v1/operation-history').query(query);
  expect(res.status).toBe(200);
  return res.body as { items: Item[]; nextCursor: string | null };
}
const ops = async (query: Record<string, string | number>) => (await search(viewerAgent, query)).items.map((i) => i.operation);

/** The raw bytes of a download. */
function download(agent: Agent, query: Record<string, string> = {}) {
  return bytesOf(agent.get('/v1/operation-history.csv').query(query));
}

/** Runs SQL with the append-only triggers off (as the owner: the app role may not), in a transaction of its own. */
async function tamper(fn: (tx: Prisma.TransactionClient) => Promise<unknown>): Promise<void> {
  const owner = ownerPrisma();
  try {
    await owner.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
      await fn(tx);
    });
  } finally {
    await owner.$disconnect();
  }
}

describe('GET /v1/operation-history', () => {
  it("lists the tenant's events newest first, exactly what the table holds for it", async () => {
    const db = await rowsOf(tenant);
    const { items, nextCursor } = await search(viewerAgent, { limit: 500 });
    expect(nextCursor).toBeNull();
    expect(items.map((i) => i.id)).toEqual(db.map((r) => r.id.toString()).reverse());
    // the logins of the three users are there, recorded by the real login
    expect(items.filter((i) => i.operation === 'login_succeeded').map((i) => i.actor.id).sort()).toEqual([owner.id, manager.id, viewer.id].sort());
  });

  it('an event carries labels, purpose name, actor state and request facts', async () => {
    const { items } = await search(viewerAgent, { operation: 'number_revealed' });
    expect(items).toEqual([
      {
        id: seeded[1]!.id.toString(),
        occurredAt: seeded[1]!.occurredAt.toISOString(),
        actor: { type: 'login_user', id: viewer.id, label: '鈴木 一郎', deleted: false },
        registrant: { id: yamada, label: '山田 太郎' },
        operation: 'number_revealed',
        label: 'マイナンバーの表示',
        purpose: 'withholding_slip',
        purposeLabel: '給与所得・退職所得の源泉徴収票作成事務',
        ip: '198.51.100.2',
        userAgent: 'Seed/1.0',
      },
    ]);
    const viewed = (await search(viewerAgent, { operation: 'registrant_viewed' })).items;
    // a login user who does not exist (any more) is marked deleted
    expect(viewed[0]!.actor).toMatchObject({ label: '退職 担当', deleted: true });
    const system = (await search(viewerAgent, { operation: 'invitation_sent' })).items;
    expect(system[0]!.actor).toEqual({ type: 'system', id: null, label: 'システム', deleted: false });
  });

  it('filters by registrant (name or id), actor (name or id) and operation (code or Japanese label)', async () => {
    expect(await ops({ registrant: '山田' })).toEqual(['number_revealed', 'registrant_created']);
    expect(await ops({ registrant: tanaka })).toEqual(['invitation_sent', 'number_pulled']);
    expect(await ops({ registrant: tanaka.toUpperCase() })).toEqual(['invitation_sent', 'number_pulled']);
    expect(await ops({ actor: 'payroll' })).toEqual(['number_pulled']);
    expect(await ops({ actor: viewer.id, operation: 'マイナンバー' })).toEqual(['numbers_downloaded', 'number_revealed']);
    expect(await ops({ operation: 'number_pulled' })).toEqual(['number_pulled']);
    expect(await ops({ operation: '収集メール' })).toEqual(['invitation_sent']);
    expect(await ops({ registrant: '存在しない人' })).toEqual([]);
  });

  it('filters by time: from inclusive, to exclusive', async () => {
    const t = seeded.map((s) => s.occurredAt.toISOString());
    expect(await ops({ from: t[1]!, to: t[3]! })).toEqual(['number_pulled', 'number_revealed']);
    expect(await ops({ from: t[4]!, operation: 'invitation_sent' })).toEqual(['invitation_sent']);
    expect(await ops({ to: t[1]!, registrant: '山田' })).toEqual(['registrant_created']);
    // what the table holds for the same period
    const db = await harness.prisma.operationEvent.findMany({ where: { tenantId: tenant, occurredAt: { gte: seeded[0]!.occurredAt, lt: seeded[5]!.occurredAt } }, orderBy: { id: 'desc' } });
    expect(await ops({ from: t[0]!, to: t[5]! })).toEqual(db.map((r) => r.operation));
    expect(db).toHaveLength(5);
  });

  it('never shows another tenant, whatever the filter', async () => {
    const ours = await search(viewerAgent, { registrant: yamada, limit: 500 });
    const theirs = await harness.prisma.operationEvent.findMany({ where: { tenantId: other } });
    expect(theirs).toHaveLength(1);
    expect(ours.items.map((i) => i.id)).not.toContain(theirs[0]!.id.toString());
    const them = await harness.agent(other, 'viewer', '他社 閲覧');
    const seen = await search(them, { limit: 500 });
    const mine = new Set((await rowsOf(tenant)).map((r) => r.id.toString()));
    expect(seen.items.length).toBeGreaterThan(0);
    expect(seen.items.filter((i) => mine.has(i.id))).toEqual([]);
    expect(await ops({ actor: '他社 閲覧' })).toEqual([]);
  });

  it('cursor pages walk every row once, in order', async () => {
    const db = (await rowsOf(tenant)).map((r) => r.id.toString()).reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: Item[]; nextCursor: string | null } = await search(viewerAgent, { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      expect(page.items.length).toBeGreaterThan(0);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(seen).toEqual(db);
    expect(pages).toBe(Math.ceil(db.length / 2));

    // with a filter
    const first = await search(viewerAgent, { registrant: '田中', limit: 1 });
    expect(first.items.map((i) => i.operation)).toEqual(['invitation_sent']);
    const rest = await search(viewerAgent, { registrant: '田中', limit: 1, cursor: first.nextCursor! });
    expect(rest.items.map((i) => i.operation)).toEqual(['number_pulled']);
    // the last page says so itself: no empty page to fetch
    expect(rest.nextCursor).toBeNull();
  });

  it('refuses a bad cursor, limit, date or parameter with 400 and a Japanese title', async () => {
    const bad = await viewerAgent.get('/v1/operation-history').query({ cursor: 'not-a-cursor!' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_CURSOR', title: 'ページ指定が正しくありません' });
    for (const query of [{ limit: 0 }, { limit: 501 }, { limit: 'many' }, { from: 'yesterday' }, { to: '2026-13-40T00:00:00Z' }, { tenantId: other }]) {
      const res = await viewerAgent.get('/v1/operation-history').query(query);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', title: '入力内容に誤りがあります' });
    }
  });

  it("shows a remand's reason beside the latest remand while it stands, read from the person (the chain never holds it)", async () => {
    const t = await createTenant(harness.prisma, '履歴理由株式会社');
    const agent = await harness.agent(t, 'viewer');
    const person = await harness.prisma.registrant.create({ data: { tenantId: t, familyName: '理由', givenName: '花子', workflowId: `wf-${randomUUID()}`, status: 'remanded', statusReason: '裏面の画像が不鮮明です' } });
    const event = (operation: OperationInput['operation']): OperationInput => ({ tenantId: t, actor: { type: 'login_user', id: manager.id, label: '佐藤 花子' }, operation, registrant: { id: person.id, label: '理由 花子' } });
    for (const op of ['remanded', 'submitted', 'remanded'] as const) await harness.services.history.record(event(op));
    const reasons = async () => (await search(agent, { registrant: person.id })).items.map((i) => [i.operation, (i as Item & { reason?: string }).reason ?? null]);
    expect(await reasons()).toEqual([['remanded', '裏面の画像が不鮮明です'], ['submitted', null], ['remanded', null]]);
    expect(JSON.stringify(await harness.prisma.operationEvent.findMany({ where: { tenantId: t } }), (_k, v) => (typeof v === 'bigint' ? String(v) : v))).not.toContain('不鮮明');
    // Sent again: the remand no longer stands, so no reason is shown.
    await harness.prisma.registrant.update({ where: { id: person.id }, data: { status: 'pending' } });
    expect((await reasons()).every(([, r]) => r === null)).toBe(true);
  });

  it('needs a login', async () => {
    expect((await request(harness.app).get('/v1/operation-history')).status).toBe(401);
    expect((await request(harness.app).get('/v1/operation-history.csv')).status).toBe(401);
    expect((await request(harness.app).post('/v1/operation-history/verify')).status).toBe(401);
  });
});

describe('GET /v1/operation-history.csv', () => {
  const exportsBy = (userId: string) => harness.prisma.operationEvent.findMany({ where: { tenantId: tenant, actorId: userId, operation: 'history_exported' }, orderBy: { id: 'asc' } });

  it('CP932 with CRLF by default: header row, one row per event as searched, JST times, purpose names', async () => {
    const { items } = await search(viewerAgent, { limit: 500 });
    const before = new Date();
    const res = await download(viewerAgent);
    const after = new Date();
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=Shift_JIS');
    expect(res.headers['cache-control']).toBe('no-store');
    expect([jstDate(before), jstDate(after)].map((d) => `attachment; filename="operation-history-${d}.csv"`)).toContain(res.headers['content-disposition']);

    const bytes = res.body as Buffer;
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(false);
    const text = iconv.decode(bytes, 'cp932');
    // really CP932: encoding back gives the same bytes, and it is not UTF-8 (Japanese would differ)
    expect(iconv.encode(text, 'cp932').equals(bytes)).toBe(true);
    expect(bytes.equals(Buffer.from(text, 'utf8'))).toBe(false);
    expect(text.endsWith('\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);

    const records = parse(text) as string[][];
    expect(records[0]).toEqual(HEADER);
    const rows = records.slice(1);
    expect(rows).toHaveLength(items.length);
    rows.forEach((row, i) => {
      const item = items[i]!;
      expect(row).toEqual([
        jst(new Date(item.occurredAt)),
        item.actor.deleted ? `${item.actor.label}（削除済み）` : item.actor.label,
        item.registrant?.label.startsWith('=') ? `'${item.registrant.label}` : (item.registrant?.label ?? ''),
        item.label,
        item.purposeLabel ?? '',
        item.ip ?? '',
      ]);
    });
    const revealed = rows.find((r) => r[3] === 'マイナンバーの表示')!;
    expect(revealed).toEqual([jst(seeded[1]!.occurredAt), '鈴木 一郎', '山田 太郎', 'マイナンバーの表示', '給与所得・退職所得の源泉徴収票作成事務', '198.51.100.2']);
    // a cell that would be a formula in Excel is neutralised
    expect(rows.find((r) => r[3] === '登録者情報の閲覧')).toEqual([jst(seeded[5]!.occurredAt), '退職 担当（削除済み）', `'=HYPERLINK("http://evil")`, '登録者情報の閲覧', '', '']);
  });

  it('applies the same filters as the search', async () => {
    const query = { registrant: '山田', from: seeded[1]!.occurredAt.toISOString() };
    const { items } = await search(viewerAgent, query);
    expect(items.map((i) => i.operation)).toEqual(['number_revealed']);
    const res = await download(viewerAgent, query);
    expect(res.status).toBe(200);
    const records = parse(iconv.decode(res.body as Buffer, 'cp932')) as string[][];
    expect(records.slice(1).map((r) => r[3])).toEqual(['マイナンバーの表示']);
  });

  it('encoding=utf8 gives UTF-8 with a BOM and the same content', async () => {
    const query = { registrant: '田中' };
    const cp932 = await download(managerAgent, query);
    const utf8 = await download(managerAgent, { ...query, encoding: 'utf8' });
    expect(utf8.status).toBe(200);
    expect(utf8.headers['content-type']).toBe('text/csv; charset=UTF-8');
    const bytes = utf8.body as Buffer;
    expect(bytes.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))).toBe(true);
    const text = bytes.subarray(3).toString('utf8');
    expect(text).toBe(iconv.decode(cp932.body as Buffer, 'cp932'));
    expect(text.split('\r\n')).toHaveLength(1 + 2 + 1);
    expect((await download(managerAgent, { encoding: 'cp932' })).status).toBe(200);
    const bad = await download(managerAgent, { encoding: 'sjis' });
    expect(bad.status).toBe(400);
  });

  it('a name CP932 cannot write: 422 naming the place (never a silent "?"); UTF-8 carries it', async () => {
    const u = await createTenant(harness.prisma, '外字株式会社');
    const hr = await createLoginUser(harness.prisma, u, 'manager', '外字 担当');
    const agent = await harness.login(hr);
    await harness.services.history.record({ tenantId: u, actor: { type: 'login_user', id: hr.id, label: '外字 担当' }, operation: 'registrant_viewed', registrant: { id: randomUUID(), label: '𠮷野 家子' } });

    const res = await agent.get('/v1/operation-history.csv');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'CSV_UNENCODABLE',
      title: 'Shift_JIS（CP932）で表せない文字が含まれています。UTF-8で出力するか、該当箇所を確認してください',
      errors: [{ path: '/rows/1/登録者', message: '「𠮷」はShift_JISで表せません', code: 'cp932' }],
    });
    const utf8 = await download(agent, { encoding: 'utf8' });
    expect(utf8.status).toBe(200);
    const records = parse((utf8.body as Buffer).subarray(3).toString('utf8')) as string[][];
    expect(records[1]!.slice(1, 4)).toEqual(['外字 担当', '𠮷野 家子', '登録者情報の閲覧']);
  });

  it('every download is itself recorded (who, when, from where, which encoding and filters — never their text)', async () => {
    const before = await exportsBy(viewer.id);
    const from = seeded[0]!.occurredAt.toISOString();
    expect((await download(viewerAgent, { registrant: '山田', from }).set('User-Agent', 'csv-test')).status).toBe(200);
    expect((await download(viewerAgent, { encoding: 'utf8' })).status).toBe(200);
    const after = await exportsBy(viewer.id);
    expect(after).toHaveLength(before.length + 2);
    const [filtered, plain] = after.slice(-2) as [OperationEvent, OperationEvent];
    expect(filtered).toMatchObject({ actorType: 'login_user', actorLabel: '鈴木 一郎', label: '操作履歴のダウンロード', userAgent: 'csv-test', registrantId: null, purpose: null });
    expect(filtered.ip).toBeTruthy();
    expect(filtered.detail).toEqual({ encoding: 'cp932', from, filteredBy: ['registrant'] });
    expect(JSON.stringify(filtered.detail)).not.toContain('山田');
    expect(plain.detail).toEqual({ encoding: 'utf8', filteredBy: [] });
    // and shows in the history
    const { items } = await search(managerAgent, { operation: '操作履歴のダウンロード', actor: viewer.id });
    expect(items[0]).toMatchObject({ id: plain.id.toString(), operation: 'history_exported', actor: { id: viewer.id, label: '鈴木 一郎' } });
  });
});

describe('POST /v1/operation-history/verify', () => {
  const verify = (agent: Agent, body?: object) => (body ? agent.post('/v1/operation-history/verify').send(body) : agent.post('/v1/operation-history/verify'));
  const verifications = () => harness.prisma.operationEvent.findMany({ where: { tenantId: tenant, operation: 'history_verified' }, orderBy: { id: 'asc' } });
  const KEYED = /^[0-9a-f]{16}\.[0-9a-f]{64}$/;
  const head = { tenantId: expect.any(String), id: expect.stringMatching(/^\d+$/), hash: expect.stringMatching(KEYED), signedAt: expect.any(String), signature: expect.stringMatching(KEYED) };

  it('reports an intact chain with the number of rows checked, and records the check', async () => {
    const count = await harness.prisma.operationEvent.count({ where: { tenantId: tenant } });
    const newest = (await rowsOf(tenant)).at(-1)!;
    const res = await verify(managerAgent);
    expect(res.status).toBe(200);
    // the head is the newest row checked, for the operator to keep outside the database
    expect(res.body).toEqual({ ok: true, checked: count, unkeyed: 0, head: { ...head, tenantId: tenant, id: newest.id.toString(), hash: newest.hash } });
    const last = (await verifications()).at(-1)!;
    expect(last).toMatchObject({ actorId: manager.id, label: '操作履歴の検証', detail: { ok: true, checked: count } });
    // the record itself chains on: the next check counts it
    expect((await verify(ownerAgent)).body).toEqual({ ok: true, checked: count + 1, unkeyed: 0, head });
  });

  it('is for editors: a viewer gets 403, a forged CSRF token 403, and neither is recorded', async () => {
    const before = (await verifications()).length;
    const res = await verify(viewerAgent);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', title: 'この操作を行う権限がありません' });
    const csrf = await managerAgent.post('/v1/operation-history/verify').set('X-CSRF-Token', 'forged');
    expect(csrf.status).toBe(403);
    expect(csrf.body.code).toBe('CSRF_TOKEN_INVALID');
    expect((await verifications()).length).toBe(before);
  });

  it('finds a row edited as superuser (hash_mismatch at that row), and is whole again once it is put back', async () => {
    const rows = await rowsOf(tenant);
    const victim = rows.find((r) => r.id === seeded[1]!.id)!;
    const position = rows.indexOf(victim) + 1;
    // as a tamperer would: the reveal made to look like a harmless view
    await tamper((tx) => tx.$executeRaw`UPDATE operation_events SET operation = 'registrant_viewed', label = '登録者情報の閲覧', purpose = NULL WHERE id = ${victim.id} AND tenant_id = ${tenant}::uuid`);
    try {
      const res = await verify(managerAgent);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ok: false, checked: position, unkeyed: 0, firstBroken: { id: victim.id.toString(), reason: 'hash_mismatch' } });
      // the failed check is recorded too
      expect((await verifications()).at(-1)).toMatchObject({ detail: { ok: false, checked: position } });
      // another tenant's chain is not affected
      const them = await harness.agent(other, 'owner', '他社 オーナー');
      expect((await verify(them)).body).toMatchObject({ ok: true });
    } finally {
      await tamper((tx) => tx.$executeRaw`UPDATE operation_events SET operation = ${victim.operation}, label = ${victim.label}, purpose = ${victim.purpose}::"Purpose" WHERE id = ${victim.id} AND tenant_id = ${tenant}::uuid`);
    }
    const count = await harness.prisma.operationEvent.count({ where: { tenantId: tenant } });
    expect((await verify(managerAgent)).body).toEqual({ ok: true, checked: count, unkeyed: 0, head });
  });

  it('finds a deleted row (chain_broken at the next one)', async () => {
    const rows = await rowsOf(tenant);
    const victim = rows.find((r) => r.id === seeded[3]!.id)!;
    const next = rows[rows.indexOf(victim) + 1]!;
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE id = ${victim.id} AND tenant_id = ${tenant}::uuid`);
    try {
      const res = await verify(ownerAgent);
      expect(res.body).toEqual({ ok: false, checked: rows.indexOf(victim) + 1, unkeyed: 0, firstBroken: { id: next.id.toString(), reason: 'chain_broken' } });
    } finally {
      const { id, detail, ...rest } = victim;
      await harness.prisma.operationEvent.create({ data: { id, ...rest, detail: detail === null ? Prisma.DbNull : (detail as Prisma.InputJsonValue) } });
    }
    const count = await harness.prisma.operationEvent.count({ where: { tenantId: tenant } });
    expect((await verify(ownerAgent)).body).toEqual({ ok: true, checked: count, unkeyed: 0, head });
  });
  it('checks a signed head sent back: intact, cut off at its end, edited, or another tenant\'s', async () => {
    const kept = (await verify(managerAgent)).body.head as { id: string; hash: string; signedAt: string; signature: string };
    expect(await verify(managerAgent, { head: kept }).then((r) => r.body)).toMatchObject({ ok: true });
    expect((await verifications()).at(-1)).toMatchObject({ detail: { ok: true, against: kept.id } });
    // edited: the signature no longer fits
    expect((await verify(managerAgent, { head: { ...kept, signedAt: '2020-01-01T00:00:00.000Z' } })).body).toMatchObject({ ok: false, firstBroken: { id: kept.id, reason: 'anchor_forged' } });
    // another tenant's genuine head
    const them = await harness.agent(other, 'owner', '他社 オーナー');
    const theirs = (await verify(them)).body.head as Record<string, string>;
    expect((await verify(managerAgent, { head: theirs })).body).toMatchObject({ ok: false, firstBroken: { reason: 'anchor_forged' } });
    // the kept head's row gone (and the rows after it): the chain alone looks whole
    const after = await harness.prisma.operationEvent.findMany({ where: { tenantId: tenant, id: { gte: BigInt(kept.id) } }, orderBy: { id: 'asc' } });
    await tamper((tx) => tx.$executeRaw`DELETE FROM operation_events WHERE tenant_id = ${tenant}::uuid AND id >= ${BigInt(kept.id)}`);
    try {
      expect((await verify(managerAgent, { head: kept })).body).toMatchObject({ ok: false, firstBroken: { id: kept.id, reason: 'anchor_missing' } });
    } finally {
      await tamper(async (tx) => {
        await tx.$executeRaw`DELETE FROM operation_events WHERE tenant_id = ${tenant}::uuid AND id >= ${BigInt(kept.id)}`;
        for (const { id, detail, ...rest } of after) await tx.operationEvent.create({ data: { id, ...rest, detail: detail === null ? Prisma.DbNull : (detail as Prisma.InputJsonValue) } });
      });
    }
    // malformed heads are refused before anything is checked
    expect((await verify(managerAgent, { head: { ...kept, hash: 'x' } })).status).toBe(400);
    expect((await verify(managerAgent, { head: kept, extra: 1 })).status).toBe(400);
    expect((await verify(managerAgent)).body).toMatchObject({ ok: true });
  });
});
