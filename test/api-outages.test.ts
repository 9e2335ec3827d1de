/**
 * Outages answered fast and plainly: with PostgreSQL stopped (a cluster of this file's own) every
 * request is answered 503 DATABASE_UNAVAILABLE with Retry-After within a couple of seconds, the log
 * has one warning (no error line, no stack trace per request), liveness stays 200 and readiness says
 * which part is away and why; started again, the same app answers 200 without a restart. With
 * Temporal unreachable (a client pointed at a closed port — Temporal is outside the API process),
 * what needs it answers 503 TEMPORAL_UNAVAILABLE with Retry-After.
 */
import request from 'supertest';
import type { Express } from 'express';
import { createPrisma, type PrismaClient } from '../services/db/client';
import type { Outbox } from '../services/outbox/outbox';
import { createTemporalClient } from '../services/temporal/client';
import { createLoginUser, createTenant, loginAs, memoryLogger, startOutbox, testApp, type Agent } from './support/fixtures';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres';
import { until } from './support/until';

let pg: PrivatePostgres;
let prisma: PrismaClient;
let outbox: Outbox;
let app: Express;
let hr: Agent;
const log = memoryLogger();
const nowhere = createTemporalClient('127.0.0.1:1', 'default');

beforeAll(async () => {
  [pg, outbox] = await Promise.all([startPrivatePostgres('outage'), startOutbox()]);
  prisma = createPrisma(pg.url);
  app = testApp({ prisma, logger: log.logger, outbox, temporalClient: nowhere, taskQueue: 'api-outages' }).app;
  const tenantId = await createTenant(prisma, '株式会社停止試験');
  hr = await loginAs(app, outbox, await createLoginUser(prisma, tenantId, 'owner'));
}, 180_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await pg?.close();
  await outbox?.close();
  await nowhere.connection.close();
});

const levels = (from: number) => log.lines.slice(from).map((l) => JSON.parse(l) as { level: number; msg: string; part?: string; turnedAway?: number });

describe('PostgreSQL stopped', () => {
  it('answers 503 DATABASE_UNAVAILABLE with Retry-After, warns once instead of an error per request, and serves again once it is back', async () => {
    await hr.get('/v1/registrants').expect(200);
    await pg.stop();
    const from = log.lines.length;
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = Date.now();
      const res = await hr.get('/v1/registrants');
      timings.push(Date.now() - t);
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('10');
      expect(res.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE', title: expect.stringContaining('データベースに接続できません') });
    }
    // The login page's first step reads the database too.
    expect((await request(app).post('/v1/auth/login').send({ customerNumber: 'x', email: 'a@example.co.jp', password: 'p' })).body.code).toBe('DATABASE_UNAVAILABLE');
    process.stdout.write(`answers while PostgreSQL was stopped: ${timings.join(', ')} ms\n`);
    expect(Math.max(...timings)).toBeLessThan(5000);

    const lines = levels(from);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    const warnings = lines.filter((l) => l.level === 40 && l.part === 'database');
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('    at ');

    await request(app).get('/healthz/live').expect(200);
    const t = Date.now();
    const ready = await request(app).get('/healthz/ready').expect(503);
    expect(Date.now() - t).toBeLessThan(3000);
    expect(ready.headers['retry-after']).toBe('10');
    // Which part is away, not the backend's words: those are in the log, for operators.
    expect(ready.body.checks.database).toEqual({ status: 'error', latencyMs: expect.any(Number) });
    expect(JSON.stringify(warnings[0])).toMatch(/"cause":"[^"]+"/);
    // The probe's own finding is logged once, with the backend's words.
    const notReady = levels(from).filter((l) => l.msg === 'not ready');
    expect(notReady).toHaveLength(1);
    expect(JSON.stringify(notReady[0])).toMatch(/"error":"[^"]+"/);

    await pg.start();
    await until(async () => (await hr.get('/v1/registrants')).status === 200, 'the same app serving again');
    await until(async () => (await request(app).get('/healthz/ready')).body.checks.database.status === 'ok', 'readiness to see the database');
  });

  afterAll(() => pg.start().catch(() => undefined));
});

describe('Temporal unreachable', () => {
  it('a registration answers 503 TEMPORAL_UNAVAILABLE with Retry-After, and nothing is stored', async () => {
    const before = await prisma.registrant.count();
    const res = await hr.post('/v1/registrants').send({ familyName: '停止', givenName: '中', email: 'temporal-down@example.co.jp' }).expect(503);
    expect(res.body.code).toBe('TEMPORAL_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('10');
    expect(await prisma.registrant.count()).toBe(before);
    const ready = await request(app).get('/healthz/ready').expect(503);
    expect(ready.body.checks).toMatchObject({ database: { status: 'ok' }, temporal: { status: 'error' } });
  });
});
