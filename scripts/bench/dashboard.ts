/**
 * Dashboard bench: the collection dashboard (GET /v1/dashboard's service: the funnel per group and
 * nine attention lists) on a tenant of 10 × --count registrants (100,000 by default) in every state,
 * with their links, drafts and a few mails the server has not taken, seeded in SQL. Measured against
 * the status counts of the registrant list (GET /v1/registrants/summary), the overview it replaces,
 * in the same run. Goal: the dashboard's p95 within 1 s.
 */
import { randomUUID } from 'node:crypto';
import { createPrisma } from '../../services/db/client';
import { createDashboard } from '../../services/registrants/dashboard';
import { summarizeRegistrants } from '../../services/registrants/listing';
import { seedRegistrants } from './seed';
import { percentiles, say, type Cleanup, type Stack } from './stack';

const GOAL_P95_MS = 1000;
const RUNS = 15;

export async function runDashboardBench(stack: Stack, cleanup: Cleanup, opts: { count: number }): Promise<boolean> {
  const people = opts.count * 10;
  const url = await stack.migratedDatabase('bench_dashboard');
  const prisma = createPrisma(url);
  cleanup.add('disconnect the dashboard bench database', () => prisma.$disconnect());
  const tenant = await prisma.tenant.create({ data: { name: 'ダッシュボード株式会社', customerNumber: randomUUID().slice(0, 12) } });
  // Another tenant as large: the queries must not read it.
  const other = await prisma.tenant.create({ data: { name: '別の会社', customerNumber: randomUUID().slice(0, 12) } });

  say(`dashboard: seeding ${people} registrants (and as many in another tenant)…`);
  const t0 = Date.now();
  for (const t of [tenant.id, other.id]) await seedRegistrants(prisma, t, people);
  await prisma.$executeRaw`ANALYZE`;
  say(`dashboard: seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const dashboard = createDashboard({ prisma });
  const timed = async (fn: () => Promise<unknown>) => {
    const samples: number[] = [];
    await fn(); // warm
    for (let i = 0; i < RUNS; i++) {
      const start = performance.now();
      await fn();
      samples.push(performance.now() - start);
    }
    return percentiles(samples);
  };
  const d = await dashboard.forTenant(tenant.id);
  const counted = Object.values(d.funnel).reduce((a, b) => a + b, 0);
  const retirees = Math.floor(people / 10);
  let ok = true;
  // Everyone who is neither retired nor refused is in exactly one stage.
  if (counted !== people - retirees) {
    say(`FAIL: the funnel counts ${counted} people, expected ${people - retirees}`);
    ok = false;
  }
  const base = await timed(() => summarizeRegistrants(prisma, tenant.id));
  const full = await timed(() => dashboard.forTenant(tenant.id));
  const pass = full.p95 <= GOAL_P95_MS;
  say(
    `dashboard at ${people} registrants: p50 ${full.p50.toFixed(0)} ms, p95 ${full.p95.toFixed(0)} ms (goal ≤ ${GOAL_P95_MS} ms) ${pass ? 'PASS' : 'FAIL'}; ` +
      `the status counts alone p50 ${base.p50.toFixed(0)} ms → ratio ${(full.p50 / base.p50).toFixed(1)}×`,
  );
  say(`dashboard funnel: ${JSON.stringify(d.funnel)}; waiting for approval ${d.lists.waitingApproval.count}, expiring within 7 days ${d.lists.expiringSoon.count}, mails not taken ${d.lists.mailsNotTaken.count}`);
  // A goal missed is a figure, not a broken bench: only the checks decide the exit code.
  return ok;
}
