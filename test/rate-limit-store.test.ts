/**
 * The rate-limit counters in PostgreSQL (services/rate-limits/postgres-store.ts): fixed windows like
 * express-rate-limit's memory store, shared by every store with the same prefix (another API
 * instance), separate for another prefix, atomic under concurrent hits, and swept once expired.
 */
import { randomUUID } from 'node:crypto';
import type { Options, Store } from 'express-rate-limit';
import type { PrismaClient } from '../services/db/client';
import { createRateLimitCounters } from '../services/rate-limits/postgres-store';
import { testPrisma } from './support/fixtures';
import { until } from './support/until';

let prisma: PrismaClient;
beforeAll(() => {
  prisma = testPrisma();
});
afterAll(async () => {
  await prisma.$disconnect();
});

/** A store as express-rate-limit would set it up: `prefix` stands for a deployment (or a test app). */
function store(prefix: string, windowMs = 60_000, name = 'login'): Store {
  const s = createRateLimitCounters({ prisma, keyPrefix: prefix }).store(name);
  void s.init?.({ windowMs } as Options);
  return s;
}

const row = (key: string) => prisma.rateLimitWindow.findUnique({ where: { key } });

it('counts hits in one window, with a reset time one window ahead', async () => {
  const prefix = `t-${randomUUID()}:`;
  const s = store(prefix, 60_000);
  const first = await s.increment('203.0.113.1');
  expect(first.totalHits).toBe(1);
  expect(first.resetTime!.getTime() - Date.now()).toBeGreaterThan(55_000);
  expect(first.resetTime!.getTime() - Date.now()).toBeLessThanOrEqual(60_000);
  const second = await s.increment('203.0.113.1');
  expect(second.totalHits).toBe(2);
  // The window does not move with later hits.
  expect(Math.abs(second.resetTime!.getTime() - first.resetTime!.getTime())).toBeLessThan(1000);
  expect((await s.get!('203.0.113.1'))?.totalHits).toBe(2);
  expect(await s.get!('203.0.113.2')).toBeUndefined();
  // The raw key is the limiter's prefix and express-rate-limit's key.
  expect(await row(`${prefix}login:203.0.113.1`)).toMatchObject({ hits: 2 });
});

it('another store with the same prefix (another API instance, or one restarted) shares the count; another prefix or limiter does not', async () => {
  const prefix = `t-${randomUUID()}:`;
  await store(prefix).increment('198.51.100.7');
  await store(prefix).increment('198.51.100.7');
  expect((await store(prefix).increment('198.51.100.7')).totalHits).toBe(3);
  expect((await store(`t-${randomUUID()}:`).increment('198.51.100.7')).totalHits).toBe(1);
  expect((await store(prefix, 60_000, 'mailings').increment('198.51.100.7')).totalHits).toBe(1);
});

it('a hit after the window ended starts a new window at 1', async () => {
  const prefix = `t-${randomUUID()}:`;
  const s = store(prefix, 60_000);
  for (let i = 0; i < 3; i++) await s.increment('192.0.2.5');
  // End the window as the database's clock sees it.
  await prisma.rateLimitWindow.update({ where: { key: `${prefix}login:192.0.2.5` }, data: { resetsAt: new Date(Date.now() - 1000) } });
  expect(await s.get!('192.0.2.5')).toBeUndefined();
  const fresh = await s.increment('192.0.2.5');
  expect(fresh.totalHits).toBe(1);
  expect(fresh.resetTime!.getTime() - Date.now()).toBeGreaterThan(55_000);
});

it('a short window really ends', async () => {
  const s = store(`t-${randomUUID()}:`, 300);
  expect((await s.increment('k')).totalHits).toBe(1);
  expect((await s.increment('k')).totalHits).toBe(2);
  await new Promise((r) => setTimeout(r, 400));
  expect((await s.increment('k')).totalHits).toBe(1);
});

it('concurrent hits from two instances are all counted, each seeing its own number', async () => {
  const prefix = `t-${randomUUID()}:`;
  const [a, b] = [store(prefix), store(prefix)];
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment('203.0.113.99')));
  expect(results.map((r) => r.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
});

it('decrement, resetKey and resetAll', async () => {
  const prefix = `t-${randomUUID()}:`;
  const s = store(prefix);
  await s.increment('a');
  await s.increment('a');
  await s.increment('b');
  await s.decrement('a');
  expect((await s.get!('a'))?.totalHits).toBe(1);
  await s.resetKey('a');
  expect(await s.get!('a')).toBeUndefined();
  expect((await s.increment('a')).totalHits).toBe(1);
  const other = store(`t-${randomUUID()}:`);
  await other.increment('b');
  await s.resetAll!();
  expect(await s.get!('b')).toBeUndefined();
  expect((await other.get!('b'))?.totalHits).toBe(1);
});

it('expired windows are swept (a process sweeps on its first hit, then now and then)', async () => {
  const stale = `t-${randomUUID()}:login:192.0.2.200`;
  await prisma.rateLimitWindow.create({ data: { key: stale, hits: 7, resetsAt: new Date(Date.now() - 60_000) } });
  const live = `t-${randomUUID()}:`;
  await store(live).increment('192.0.2.201');
  await until(async () => (await row(stale)) === null, 'the expired window to be swept', 10_000);
  expect(await row(`${live}login:192.0.2.201`)).toMatchObject({ hits: 1 });
});
