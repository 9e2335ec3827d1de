/**
 * What the database layer throws when PostgreSQL stops (a fast shutdown, for real) under work in
 * flight, and that each is told apart from a bug as "the database is away" (so the API answers 503
 * DATABASE_UNAVAILABLE, not 500): a statement running inside a transaction, a transaction idle
 * between two statements when its connection is cut (node-postgres then throws a plain Error of its
 * own through the adapter), and a statement outside any transaction. And that the pool survives it:
 * connections cut inside transactions give their slots back (services/db/pg-adapter.ts, fix 6), and a
 * pool with no free connection gives up after pool_timeout (fix 5). The cluster is this file's own.
 */
import { createPrisma } from '../services/db/client';
import { directSql } from '../services/db/direct-sql';
import { outageOf } from '../services/health/outages';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';

let pg: PrivatePostgres;

beforeAll(async () => {
  pg = await startPrivatePostgres('cut_errors');
}, 120_000);

afterAll(async () => {
  await pg?.close();
});

const failure = (p: Promise<unknown>) => p.then(() => new Error('the work was not cut'), (err: unknown) => err);

it.each([150, 400])('PostgreSQL stopped %i ms into three kinds of work: every failure is classified as the database being away', async (afterMs) => {
  const prisma = createPrisma(pg.url);
  await prisma.$queryRaw`select 1`;
  const running = failure(prisma.$transaction(async (tx) => void (await tx.$executeRaw`select pg_sleep(5)`), { timeout: 20_000 }));
  const idle = failure(
    prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`select 1`;
        await new Promise((r) => setTimeout(r, afterMs + 400));
        await tx.$queryRaw`select 2`;
      },
      { timeout: 20_000 },
    ),
  );
  const single = failure(prisma.$queryRaw`select pg_sleep(5)`);
  await new Promise((r) => setTimeout(r, afterMs));
  await pg.stop();
  const errors = await Promise.all([running, idle, single]);
  expect(errors.map((e) => (e as Error).message === 'the work was not cut' ? 'not cut' : outageOf(e))).toEqual(['database', 'database', 'database']);
  await pg.start();
  await prisma.$disconnect();
}, 60_000);

it('transactions cut while idle give their pooled connections back: a pool of 2 whose both connections were cut serves again once PostgreSQL is back, and closes', async () => {
  const prisma = createPrisma(pg.url, 2);
  await prisma.$queryRaw`select 1`;
  const idle = () =>
    failure(
      prisma.$transaction(
        async (tx) => {
          await tx.$queryRaw`select 1`;
          await new Promise((r) => setTimeout(r, 600));
          await tx.$queryRaw`select 2`;
        },
        { timeout: 20_000 },
      ),
    );
  const cut = [idle(), idle()];
  await new Promise((r) => setTimeout(r, 200));
  await pg.stop();
  expect((await Promise.all(cut)).map(outageOf)).toEqual(['database', 'database']);
  await pg.start();
  // Before the fix both slots stayed taken by dead connections and these waited for ever.
  const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 5000))]);
  expect(await within(prisma.$queryRaw<{ n: number }[]>`select 3 as n`.then((rows) => rows[0]!.n))).toBe(3);
  expect(await within(prisma.$transaction(async (tx) => (await tx.$queryRaw<{ n: number }[]>`select 4 as n`)[0]!.n))).toBe(4);
  expect(await within(prisma.$disconnect().then(() => 'closed'))).toBe('closed');
}, 60_000);

it('a pool with no free connection answers within its pool_timeout (classified as the database being away) instead of waiting for ever', async () => {
  const url = new URL(pg.url);
  url.searchParams.set('pool_timeout', '1');
  const prisma = createPrisma(url.toString(), 1);
  const holder = prisma.$transaction(async (tx) => void (await tx.$executeRaw`select pg_sleep(3)`), { timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 300));
  const startedAt = Date.now();
  const err = await failure(prisma.$queryRaw`select 1`);
  expect(outageOf(err)).toBe('database');
  expect(Date.now() - startedAt).toBeLessThan(2500);
  await holder;
  await prisma.$disconnect();
}, 30_000);

it('plain SQL on the pool (the number pull): a statement and an idle transaction cut by a stop read as the database away, the cut connection leaves the pool, and both serve again after', async () => {
  const prisma = createPrisma(pg.url, 2);
  const sql = await directSql(prisma);
  await sql.$queryRaw`select 1`;
  const running = failure(sql.$queryRaw`select pg_sleep(5)`);
  const idle = failure(
    sql.transaction(async (tx) => {
      await tx.$queryRaw`select 1`;
      await new Promise((r) => setTimeout(r, 600));
      await tx.$queryRaw`select 2`;
    }),
  );
  await new Promise((r) => setTimeout(r, 200));
  await pg.stop();
  expect((await Promise.all([running, idle])).map(outageOf)).toEqual(['database', 'database']);
  await pg.start();
  const within = <T>(p: Promise<T>) => Promise.race([p, new Promise<'still waiting'>((r) => setTimeout(() => r('still waiting'), 5000))]);
  expect(await within(sql.transaction(async (tx) => (await tx.$queryRaw<{ n: number }[]>`select 3 as n`)[0]!.n))).toBe(3);
  expect(await within(prisma.$queryRaw<{ n: number }[]>`select 4 as n`.then((rows) => rows[0]!.n))).toBe(4);
  expect(await within(prisma.$disconnect().then(() => 'closed'))).toBe('closed');
}, 60_000);
