/**
 * Writes stored in groups (single registrations of a tenant, services/db/group-commit.ts) with
 * PostgreSQL stopped for real in the middle: the registration inside its transaction and the 15
 * queued behind it for the next group are each answered 503 DATABASE_UNAVAILABLE, quickly (the
 * group fails as one instead of trying each of them alone), nothing of them is stored, and once the
 * database is back the same 16 registrations are stored. The database is a cluster of this file's own.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Express } from 'express';
import { createPrisma, type PrismaClient } from '../services/db/client';
import type { Outbox } from '../services/outbox/outbox';
import { createLoginUser, createTenant, loginAs, memoryLogger, startOutbox, testApp, type Agent } from './support/fixtures';
import { holdHistoryLock } from './support/history-lock';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import { createLocalEnv } from './support/temporal';
import { until } from './support/until';

let pg: PrivatePostgres;
let prisma: PrismaClient;
let outbox: Outbox;
let env: TestWorkflowEnvironment;
let app: Express;
let hr: Agent;
let tenantId: string;
const log = memoryLogger();

beforeAll(async () => {
  [pg, outbox, env] = await Promise.all([startPrivatePostgres('grouped_outage'), startOutbox(), createLocalEnv()]);
  prisma = createPrisma(pg.url);
  app = testApp({ prisma, logger: log.logger, outbox, temporalClient: env.client, taskQueue: 'grouped-outage' }).app;
  tenantId = await createTenant(prisma, '株式会社一括停止');
  hr = await loginAs(app, outbox, await createLoginUser(prisma, tenantId, 'manager'));
}, 180_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await pg?.close();
  await outbox?.close();
  await env?.teardown();
});

const people = Array.from({ length: 16 }, (_, i) => ({ familyName: '停止', givenName: `${i}`, email: `grouped-${i}@example.co.jp`, employeeCode: `G${i}` }));
const register = () => Promise.all(people.map((p) => hr.post('/v1/registrants').send(p)));

it('PostgreSQL stops while 16 registrations of a tenant wait (one in its transaction, 15 for the next group): each is answered 503 DATABASE_UNAVAILABLE within seconds, none is stored, and all 16 go through once it is back', async () => {
  const lock = await holdHistoryLock(pg.ownerUrl, tenantId);
  const answers = register();
  await lock.waiters();
  // The other 15 get a moment to pass their session check and queue behind the one at the lock.
  await new Promise((r) => setTimeout(r, 500));
  const from = log.lines.length;
  const stoppedAt = Date.now();
  await pg.stop();
  const refused = await answers;
  const answeredWithin = Date.now() - stoppedAt;
  process.stdout.write(`16 grouped registrations answered ${answeredWithin} ms after PostgreSQL stopped\n`);
  // Every one is told the database is away, the one whose transaction the stop cut included.
  expect(refused.map((r) => r.status)).toEqual(Array(16).fill(503));
  expect(refused.every((r) => r.body.code === 'DATABASE_UNAVAILABLE' && r.headers['retry-after'] === '10')).toBe(true);
  expect(answeredWithin).toBeLessThan(10_000);
  // An outage is a warning, not an error line with a stack per request.
  const lines = log.lines.slice(from).map((l) => JSON.parse(l) as { level: number });
  expect(lines.filter((l) => l.level >= 50)).toEqual([]);

  await pg.start();
  await until(async () => (await hr.get('/v1/registrants')).status === 200, 'the app serving again');
  expect(await prisma.registrant.count({ where: { tenantId } })).toBe(0);
  expect(await prisma.operationEvent.count({ where: { tenantId, operation: 'registrant_created' } })).toBe(0);

  // Nothing was left half-done or stuck in the group: the same registrations now go through.
  const stored = await register();
  expect(stored.map((r) => r.status)).toEqual(Array(16).fill(201));
  expect(await prisma.registrant.count({ where: { tenantId } })).toBe(16);
  expect(await prisma.operationEvent.count({ where: { tenantId, operation: 'registrant_created' } })).toBe(16);
});
