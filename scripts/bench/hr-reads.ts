/**
 * HR-read bench: the console's reads under load, through HTTP with a session cookie, driven by
 * autocannon in a child process (so the load generator does not share the app's event loop).
 *
 * 1. A registrant read (`GET /v1/registrants/{id}`, which also records the read in the operation
 *    history) and HOME's counts (`GET /v1/registrants/summary`) on a tenant of 1,000, each against a
 *    bare Express + `pg` handler running the same SQL in the same run: for the read, the session,
 *    registrant and dependents SELECTs and the history row (its own transaction: the tenant's lock,
 *    the last hash, an HMAC, one INSERT), as the goal reads; and, for scale, the SELECTs
 *    alone (what the hardware gives a read that records nothing). Goals: ≥ 1,500 req/s, p99 ≤ 50 ms,
 *    ≤ 2× the bare same-SQL handler's time.
 * 2. The registrant list (50 a page) and the counts on a tenant of 10 × --count (100,000 by
 *    default). Goal: p95 ≤ 100 ms at 50 concurrent (autocannon reports p97.5, which is taken: it is
 *    the stricter).
 * 3. The registrant CSV export of that tenant: the live heap while it is made and sent (goal: flat,
 *    within 64 MiB however many rows).
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import express from 'express';
import { Pool } from 'pg';
import { hashSessionToken, createSessions } from '../../services/auth/sessions';
import { createPrisma, type PrismaClient } from '../../services/db/client';
import { SESSION_COOKIE } from '../../api/auth/middleware';
import { startBenchApi } from './api';
import { seedRegistrants } from './seed';
import { cpuProfile, heapPeak, mib, profileFileFor, ROOT, say, secs, type Cleanup, type Stack } from './stack';

const CONNECTIONS = 50;
const SMALL_TENANT = 1000;
const GOAL_RPS = 1500;
const GOAL_P99_MS = 50;
const GOAL_BARE_RATIO = 2;
const GOAL_LARGE_P95_MS = 100;

interface Load {
  rps: number;
  p50: number;
  p97_5: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon's CLI in a child process, its JSON result read back. */
export function autocannon(url: string, headers: Record<string, string>, durationS: number): Promise<Load> {
  const args = [require.resolve('autocannon/autocannon.js'), '--json', '-c', String(CONNECTIONS), '-d', String(durationS)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  args.push(url);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err.slice(0, 500)}`));
      const r = JSON.parse(out) as { requests: { average: number }; latency: { p50: number; p97_5: number; p99: number }; non2xx: number; errors: number };
      resolve({ rps: r.requests.average, p50: r.latency.p50, p97_5: r.latency.p97_5, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors });
    });
  });
}

/** The same SELECTs as the app's handlers, with nothing else: what the hardware gives. */
async function startBareServer(url: string, cleanup: Cleanup): Promise<string> {
  const pool = new Pool({ connectionString: url, max: 10 });
  // An idle connection cut by the database (its stop at the end of the run) must not crash the bench.
  pool.on('error', () => undefined);
  cleanup.add('close the bare pg pool', () => pool.end());
  const app = express();
  const session = async (req: express.Request) => {
    const token = /mynaflow_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1] ?? '';
    const { rows } = await pool.query(
      'SELECT s.*, u.role, u.deleted_at, u.locked_at, t.name AS tenant_name FROM sessions s JOIN login_users u ON u.id = s.login_user_id JOIN tenants t ON t.id = s.tenant_id WHERE s.id = $1 AND s.second_factor_done',
      [hashSessionToken(token)],
    );
    return rows[0] as { tenant_id: string; login_user_id: string } | undefined;
  };
  const read = async (req: express.Request, res: express.Response, record: boolean) => {
    const s = await session(req);
    if (!s) return void res.status(401).end();
    const { rows } = await pool.query('SELECT * FROM registrants WHERE id = $1 AND tenant_id = $2', [req.params.id, s.tenant_id]);
    if (!rows[0]) return void res.status(404).end();
    const deps = await pool.query('SELECT * FROM dependents WHERE registrant_id = $1 AND draft = false ORDER BY created_at', [req.params.id]);
    if (record) await recordView(s, rows[0] as { id: string; family_name: string; given_name: string });
    res.json({ ...rows[0], dependents: deps.rows });
  };
  // The read as the app records it (services/audit/history.ts), one transaction per read.
  const chainKey = randomBytes(32);
  const recordView = async (s: { tenant_id: string; login_user_id: string }, r: { id: string; family_name: string; given_name: string }) => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SELECT current_setting('transaction_isolation') AS isolation FROM (SELECT pg_advisory_xact_lock(hashtextextended($1::text, 0))) AS locked", [`operation_events:${s.tenant_id}`]);
      const last = await client.query('SELECT hash FROM operation_events WHERE tenant_id = $1::uuid ORDER BY id DESC LIMIT 1', [s.tenant_id]);
      const prev = (last.rows[0] as { hash: string } | undefined)?.hash ?? '0'.repeat(64);
      const at = new Date();
      const label = `${r.family_name} ${r.given_name}`;
      const hash = createHmac('sha256', chainKey).update(JSON.stringify([s.tenant_id, at.toISOString(), 'login_user', s.login_user_id, '人事 ベンチ', r.id, label, 'registrant_viewed', prev])).digest('hex');
      await client.query(
        "INSERT INTO operation_events (tenant_id, occurred_at, actor_type, actor_id, actor_label, registrant_id, registrant_label, operation, label, prev_hash, hash) VALUES ($1, $2, 'login_user', $3, '人事 ベンチ', $4, $5, 'registrant_viewed', '登録者情報の閲覧', $6, $7)",
        [s.tenant_id, at, s.login_user_id, r.id, label, prev, hash],
      );
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  };
  app.get('/registrants/:id', (req, res, next) => read(req, res, true).catch(next));
  app.get('/registrants/:id/selects-only', (req, res, next) => read(req, res, false).catch(next));
  app.get('/summary', async (req, res) => {
    const s = await session(req);
    if (!s) return void res.status(401).end();
    const [byStatus, retired, deps] = await Promise.all([
      pool.query('SELECT status, count(*)::int AS n FROM registrants WHERE tenant_id = $1 GROUP BY status', [s.tenant_id]),
      pool.query('SELECT count(*)::int AS n FROM registrants WHERE tenant_id = $1 AND retired', [s.tenant_id]),
      pool.query('SELECT d.status, count(*)::int AS n FROM dependents d JOIN registrants r ON r.id = d.registrant_id WHERE r.tenant_id = $1 AND NOT d.draft GROUP BY d.status', [s.tenant_id]),
    ]);
    res.json({ registrants: byStatus.rows, retired: retired.rows[0], dependents: deps.rows });
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.add('stop the bare server', () => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function ownerSession(prisma: PrismaClient, tenantId: string): Promise<string> {
  const user = await prisma.loginUser.create({ data: { tenantId, email: `owner-${randomUUID().slice(0, 8)}@bench.mynaflow.test`, name: '人事 ベンチ', role: 'owner', passwordHash: 'bench: no password login' } });
  const sessions = createSessions({ prisma, idleMinutes: 30, absoluteHours: 12, loginLockMinutes: 30 });
  const { token, session } = await sessions.create({ tenantId, loginUserId: user.id });
  // As after the password and the mailed code.
  await prisma.session.update({ where: { id: session.id }, data: { secondFactorDone: true } });
  return `${SESSION_COOKIE}=${token}`;
}

export async function runHrReadsBench(stack: Stack, cleanup: Cleanup, opts: { count: number; seconds: number }): Promise<boolean> {
  const people = opts.count * 10;
  const url = await stack.migratedDatabase('bench_hr_reads');
  const prisma = createPrisma(url);
  cleanup.add('disconnect the HR-read bench database', () => prisma.$disconnect());
  const { base } = await startBenchApi(stack, cleanup, prisma);
  const bare = await startBareServer(url, cleanup);

  const small = await prisma.tenant.create({ data: { name: '中堅株式会社', customerNumber: randomUUID().slice(0, 12) } });
  const large = await prisma.tenant.create({ data: { name: '大手株式会社', customerNumber: randomUUID().slice(0, 12) } });
  say(`hr reads: seeding ${SMALL_TENANT} and ${people} registrants in two tenants…`);
  const t0 = Date.now();
  await seedRegistrants(prisma, small.id, SMALL_TENANT);
  await seedRegistrants(prisma, large.id, people);
  // As autovacuum leaves tables at rest (statistics, and the visibility map that index-only scans use).
  await prisma.$executeRaw`VACUUM ANALYZE`;
  say(`hr reads: seeded in ${secs(Date.now() - t0)}`);
  const [smallCookie, largeCookie] = [await ownerSession(prisma, small.id), await ownerSession(prisma, large.id)];
  const someone = (await prisma.registrant.findFirstOrThrow({ where: { tenantId: small.id }, select: { id: true } })).id;

  let ok = true;
  const checked = async (what: string, u: string, cookie: string) => {
    const probe = await fetch(u, { headers: { cookie } });
    if (probe.status !== 200) throw new Error(`${what} answered ${probe.status} before the load`);
    // BENCH_CPU_PROFILE=name.cpuprofile: a CPU profile of the app (it runs in this process) under each
    // of its loads, written to name-<measure>.cpuprofile.
    const profile = what.startsWith('bare') ? undefined : profileFileFor(what.replace(/[^a-z0-9]+/gi, '-'));
    const run = () => autocannon(u, { cookie }, opts.seconds);
    const load = profile ? await cpuProfile(profile, run) : await run();
    if (load.non2xx || load.errors) {
      say(`FAIL: ${what}: ${load.non2xx} answers other than 2xx, ${load.errors} errors under load`);
      ok = false;
    }
    return load;
  };
  const line = (l: Load) => `${l.rps.toFixed(0)} req/s, p50 ${l.p50} ms, p97.5 ${l.p97_5} ms, p99 ${l.p99} ms`;
  const goals: { what: string; pass: boolean }[] = [];

  for (const [name, appPath, barePath, selectsOnly] of [
    ['registrant read', `/v1/registrants/${someone}`, `/registrants/${someone}`, `/registrants/${someone}/selects-only`],
    ['summary counts', '/v1/registrants/summary', '/summary', undefined],
  ] as const) {
    const viaBare = await checked(`bare ${name}`, bare + barePath, smallCookie);
    const viaApp = await checked(name, base + appPath, smallCookie);
    const ratio = viaBare.rps / viaApp.rps;
    say(`${name} (tenant of ${SMALL_TENANT}), ${CONNECTIONS} connections, ${opts.seconds} s: app ${line(viaApp)}; bare Express + pg, same SQL ${line(viaBare)}; app/bare time ${ratio.toFixed(1)}×`);
    if (selectsOnly) {
      const viaSelects = await checked(`bare ${name}, SELECTs only`, bare + selectsOnly, smallCookie);
      say(`  for scale: bare SELECTs only (the read recorded nowhere) ${line(viaSelects)}; app/bare time ${(viaSelects.rps / viaApp.rps).toFixed(1)}×`);
    }
    goals.push(
      { what: `${name} ${viaApp.rps.toFixed(0)} req/s (goal ≥ ${GOAL_RPS})`, pass: viaApp.rps >= GOAL_RPS },
      { what: `${name} p99 ${viaApp.p99} ms (goal ≤ ${GOAL_P99_MS} ms)`, pass: viaApp.p99 <= GOAL_P99_MS },
      { what: `${name} ${ratio.toFixed(1)}× the bare handler with the same SQL (goal ≤ ${GOAL_BARE_RATIO}×)`, pass: ratio <= GOAL_BARE_RATIO },
    );
  }

  for (const [name, appPath] of [
    ['registrant list (50 a page)', '/v1/registrants?limit=50'],
    ['summary counts', '/v1/registrants/summary'],
  ] as const) {
    const load = await checked(`${name} at ${people}`, base + appPath, largeCookie);
    say(`${name}, tenant of ${people}, ${CONNECTIONS} connections: ${line(load)}`);
    goals.push({ what: `${name} at ${people}: p97.5 ${load.p97_5} ms (goal p95 ≤ ${GOAL_LARGE_P95_MS} ms)`, pass: load.p97_5 <= GOAL_LARGE_P95_MS });
  }

  // The CSV export of the large tenant: the heap may not grow with the rows.
  const exportCsv = async () => {
    const res = await fetch(`${base}/v1/registrants/export.csv`, { headers: { cookie: largeCookie } });
    if (res.status !== 200 || !res.body) throw new Error(`the export answered ${res.status}`);
    let lines = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) for (const b of chunk) if (b === 10) lines++;
    return lines;
  };
  const t1 = Date.now();
  const exported = await heapPeak(exportCsv);
  const flat = exported.peak <= 64 * 1024 * 1024;
  say(`registrant CSV export of ${people}: ${exported.result} lines in ${secs(Date.now() - t1)}, peak live heap growth ${mib(exported.peak)}`);
  if (exported.result < people) {
    say(`FAIL: the export has ${exported.result} lines for ${people} people`);
    ok = false;
  }
  goals.push({ what: `CSV export of ${people}: heap growth ${mib(exported.peak)} (goal ≤ 64 MiB)`, pass: flat });

  for (const g of goals) console.log(`${g.pass ? 'PASS' : 'FAIL'}  goal: ${g.what}`);
  // A goal missed is a figure, not a broken bench: only the checks decide the exit code.
  return ok;
}
