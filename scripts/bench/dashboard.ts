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
  for (const t of [tenant.id, other.id]) {
    await prisma.$executeRaw`INSERT INTO groups (id, tenant_id, name) SELECT gen_random_uuid(), ${t}::uuid, '部署' || g FROM generate_series(1, 20) g`;
    // i % 20 picks the state: unregistered (not invited / invited / opened / in progress), pending, completed, remanded, retired.
    await prisma.$executeRaw`
      INSERT INTO registrants (id, tenant_id, group_id, family_name, given_name, status, invitation_state, invitation_expires_at, submitted_at, retired, deletion_due_date, workflow_id, updated_at)
      SELECT gen_random_uuid(), ${t}::uuid,
             (SELECT id FROM groups WHERE tenant_id = ${t}::uuid ORDER BY name OFFSET (i % 20) LIMIT 1),
             '試験', '太郎' || i,
             (CASE WHEN i % 20 < 8 THEN 'unregistered' WHEN i % 20 < 11 THEN 'pending' WHEN i % 20 < 17 THEN 'completed' WHEN i % 20 < 18 THEN 'remanded' ELSE 'completed' END)::"Status",
             (CASE WHEN i % 20 BETWEEN 2 AND 7 THEN 'open' WHEN i % 20 < 17 AND i % 20 >= 8 THEN 'closed' ELSE NULL END)::"InvitationState",
             CASE WHEN i % 20 BETWEEN 2 AND 7 THEN now() + ((i % 90) || ' days')::interval END,
             CASE WHEN i % 20 BETWEEN 8 AND 10 THEN now() - ((i % 30) || ' days')::interval END,
             i % 20 >= 18,
             CASE WHEN i % 20 >= 18 THEN (now() + ((i % 365) || ' days')::interval)::date END,
             'bench-' || gen_random_uuid(), now()
        FROM generate_series(1, ${people}) i`;
    // Links for the invited; a third of them opened.
    await prisma.$executeRaw`
      INSERT INTO invitations (id, registrant_id, issue_key, token_hash, expires_at, opened_at)
      SELECT gen_random_uuid(), r.id, 'bench/' || r.id, md5(r.id::text), r.invitation_expires_at,
             CASE WHEN (hashtext(r.id::text) & 3) = 0 THEN now() END
        FROM registrants r WHERE r.tenant_id = ${t}::uuid AND r.invitation_state = 'open'`;
    // Drafts for a sixth of the invited (answers saved, not sent).
    await prisma.$executeRaw`
      WITH drafted AS (SELECT id FROM registrants WHERE tenant_id = ${t}::uuid AND invitation_state = 'open' AND (hashtext(id::text) & 7) = 1),
           secrets AS (INSERT INTO vault_secrets (id, tenant_id, kind, ciphertext, iv, auth_tag, wrapped_key, key_id)
                       SELECT gen_random_uuid(), ${t}::uuid, 'draft', '\\x00', '\\x00', '\\x00', '\\x00', 'bench' FROM drafted RETURNING id),
           pairs AS (SELECT d.id AS rid, s.id AS sid FROM (SELECT id, row_number() OVER () n FROM drafted) d JOIN (SELECT id, row_number() OVER () n FROM secrets) s USING (n))
      UPDATE registrants r SET draft_secret_id = p.sid FROM pairs p WHERE r.id = p.rid`;
    // A few mails the server has not taken for 20 minutes.
    await prisma.$executeRaw`
      INSERT INTO mail_deliveries (key, recipient, kind, created_at)
      SELECT r.workflow_id || '/run/round/1/invitation', 'x@example.jp', 'invitation', now() - interval '20 minutes'
        FROM registrants r WHERE r.tenant_id = ${t}::uuid AND r.invitation_state = 'open' LIMIT 50`;
  }
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
