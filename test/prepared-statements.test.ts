/**
 * The hot reads' SELECTs run as prepared statements (services/db/statement-names.ts): parsed and
 * planned once per connection. A migration that changes a table under the running process must not
 * turn those reads into errors: PostgreSQL then refuses the old plan, and the read is prepared again.
 */
import { randomUUID } from 'node:crypto';
import { Prisma } from '../prisma/generated/client';
import type { PrismaClient } from '../services/db/client';
import { directSql, statementNames } from '../services/db/direct-sql';
import { mustPrepareAgain, PREPARED, StatementNames } from '../services/db/statement-names';
import { listRegistrants, summarizeRegistrants } from '../services/registrants/listing';
import { createTenant, ownerPrisma, testPrisma } from './support/fixtures';

let prisma: PrismaClient;

beforeAll(() => {
  prisma = testPrisma();
});

afterAll(() => prisma?.$disconnect());

it('a SELECT is prepared once on its connection and gives the same rows each time', async () => {
  const sql = await directSql(prisma);
  const probe = `probe_${randomUUID().replace(/-/g, '')}`;
  const select = Prisma.sql([`${PREPARED}SELECT `, `::int + 1 AS ${probe}`], 41);
  // One at a time: the pool hands the same idle connection back.
  for (let i = 0; i < 3; i++) expect(await sql.$queryRaw(select)).toEqual([{ [probe]: 42 }]);
  const prepared = await sql.$queryRaw<{ statement: string }[]>`SELECT statement FROM pg_prepared_statements WHERE statement LIKE ${`%${probe}%`}`;
  expect(prepared).toHaveLength(1);
});

it("the registrant list's page and HOME's counts are planned on every call (their best plan depends on the tenant's size); the dependents' SELECT is prepared", async () => {
  const tenantId = await createTenant(prisma, '計画株式会社');
  const id = randomUUID();
  await prisma.registrant.create({ data: { id, tenantId, workflowId: `wf-${id}`, familyName: '計画', givenName: '太郎', email: `plan-${id.slice(0, 8)}@example.co.jp` } });
  const sql = await directSql(prisma);
  for (let i = 0; i < 6; i++) {
    const page = await listRegistrants(prisma, tenantId, { status: 'unregistered', limit: 10 });
    expect(page.items.map((r) => r.id)).toEqual([id]);
    expect((await summarizeRegistrants(prisma, tenantId)).registrants.unregistered).toBe(1);
  }
  // The list's two SELECTs ran one after the other on the connection this query gets back.
  const prepared = await sql.$queryRaw<{ statement: string }[]>`SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%registrant%'`;
  expect(prepared.some((p) => p.statement.includes('FROM dependents d'))).toBe(true);
  expect(prepared.filter((p) => p.statement.includes('FROM registrants r WHERE') || p.statement.includes('GROUP BY'))).toEqual([]);
});

it('a column whose type a migration changes under the running process is still read: the reads are prepared again, none fails', async () => {
  // The migration runs as the database's owner, as deploys run them (the app's role may not).
  const owner = ownerPrisma();
  const table = `stale_plan_${randomUUID().replace(/-/g, '')}`;
  await owner.$executeRawUnsafe(`CREATE TABLE ${table} (v integer)`);
  try {
    await owner.$executeRawUnsafe(`INSERT INTO ${table} VALUES (7)`);
    const sql = await directSql(prisma);
    const read = Prisma.raw(`${PREPARED}SELECT v FROM ${table}`);
    // Prepared on every connection of the pool (ten in flight at once).
    const before = await Promise.all(Array.from({ length: 10 }, () => sql.$queryRaw(read)));
    expect(before).toEqual(Array.from({ length: 10 }, () => [{ v: 7 }]));
    const generations = statementNames.generations;
    await owner.$executeRawUnsafe(`ALTER TABLE ${table} ALTER COLUMN v TYPE text`);

    const after = await Promise.all(Array.from({ length: 10 }, () => sql.$queryRaw(read)));
    expect(after).toEqual(Array.from({ length: 10 }, () => [{ v: '7' }]));
    // One new generation of names for the ten failed together (each would leave its own statements).
    expect(statementNames.generations).toBe(generations + 1);
    // And from then on prepared afresh, not retried on every read.
    for (let i = 0; i < 3; i++) expect(await sql.$queryRaw(read)).toEqual([{ v: '7' }]);
    expect(statementNames.generations).toBe(generations + 1);
  } finally {
    await owner.$executeRawUnsafe(`DROP TABLE ${table}`);
    await owner.$disconnect();
  }
});

it('what PostgreSQL answers a stale plan is recognised in any server language, and nothing else is', async () => {
  expect(mustPrepareAgain({ code: '0A000', routine: 'RevalidateCachedQuery', message: 'cached plan must not change result type' })).toBe(true);
  // lc_messages = 'ja_JP': only the routine's name says it.
  expect(mustPrepareAgain({ code: '0A000', routine: 'RevalidateCachedQuery', message: 'キャッシュした実行計画は結果型を変更してはなりません' })).toBe(true);
  expect(mustPrepareAgain({ code: '26000', message: 'prepared statement "mynaflow_0_3" does not exist' })).toBe(true);
  expect(mustPrepareAgain({ code: '0A000', routine: 'transformSelectStmt', message: 'something else not supported' })).toBe(false);
  expect(mustPrepareAgain({ code: '42P01', message: 'relation does not exist' })).toBe(false);
  expect(mustPrepareAgain(null)).toBe(false);
});

it('only statements marked PREPARED are named, at most the bound, and forgetting gives each text a new name', () => {
  const names = new StatementNames(3, 100);
  expect(names.nameFor('INSERT INTO t VALUES ($1)')).toBeUndefined();
  expect(names.nameFor('SELECT 1')).toBeUndefined();
  expect(names.nameFor(`${PREPARED}SELECT ${'x'.repeat(100)}`)).toBeUndefined();
  const first = names.nameFor(`${PREPARED}SELECT 1`);
  expect(first).toBeDefined();
  expect(names.nameFor(`${PREPARED}SELECT 1`)).toBe(first);
  expect(names.nameFor(`${PREPARED}select 2`)).toBeDefined();
  expect(names.nameFor(`${PREPARED}SELECT 3`)).toBeDefined();
  expect(names.nameFor(`${PREPARED}SELECT 4`)).toBeUndefined();
  names.forget(first!);
  const again = names.nameFor(`${PREPARED}SELECT 1`);
  expect(again).toBeDefined();
  expect(again).not.toBe(first);
  // A name of an earlier generation failing late starts no new one.
  names.forget(first!);
  expect(names.nameFor(`${PREPARED}SELECT 1`)).toBe(again);
  expect(names.generations).toBe(1);
});
