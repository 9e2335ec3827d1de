/**
 * The worker's memory with many lifecycle workflows asleep (the bounds: < 400 MiB with
 * 10,000, < 500 MiB with 100,000). After the create paths have left their invited people asleep on
 * reminder timers, more people are stored in SQL, not invited (as a CSV import without invitations
 * leaves them), and their lifecycle workflows started the way the product starts them
 * (`createRegistrantWorkflows().start`: ids, search attributes, summary). Each runs its first task
 * on the worker and sleeps until HR invites them. The worker's RSS is sampled, after a GC and with
 * nothing in flight, at 10,000 asleep and at the target.
 */
import type { Client } from '@temporalio/client';
import type { PrismaClient } from '../../services/db/client';
import { createRegistrantWorkflows } from '../../services/registrants/workflow-starts';
import { registrantWorkflowId } from '../../shared';
import { mib, pool, rate, say, secs } from './stack';

/** The bounds on the worker's RSS. */
export const SLEEPER_GOALS = [
  { asleep: 10_000, mib: 400 },
  { asleep: 100_000, mib: 500 },
] as const;

const BATCH = 5_000;

export interface SleepersContext {
  prisma: PrismaClient;
  client: Client;
  taskQueue: string;
  reminderDays: number[];
  tenantId: string;
  /** lifecycle workflows asleep already */
  asleep: number;
  /** how many to have asleep in the end */
  target: number;
  concurrency: number;
  /** the worker's RSS after a GC */
  rss(): Promise<number>;
  /** resolves once nothing has been in flight in the worker for a few samples */
  workerIdle(): Promise<void>;
  running(): Promise<number>;
}

export interface SleepersOutcome {
  lines: string[];
  goals: { what: string; pass: boolean }[];
  failures: string[];
}

/** Stores `count` people who have not been invited; their ids, in order. */
async function storeUninvited(prisma: PrismaClient, tenantId: string, from: number, count: number): Promise<string[]> {
  const rows = await prisma.$queryRaw<{ id: string }[]>`
    INSERT INTO registrants (id, tenant_id, family_name, given_name, status, workflow_id, updated_at)
    SELECT id, ${tenantId}::uuid, '未招待', '試験' || n, 'unregistered'::"Status", ${registrantWorkflowId(tenantId, '')} || id, now()
      FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(${from}::int, ${from + count - 1}::int) n) AS people
    RETURNING id::text AS id`;
  return rows.map((r) => r.id);
}

export async function runSleepers(ctx: SleepersContext): Promise<SleepersOutcome> {
  const out: SleepersOutcome = { lines: [], goals: [], failures: [] };
  const workflows = createRegistrantWorkflows({ prisma: ctx.prisma, temporal: { client: ctx.client, taskQueue: ctx.taskQueue }, inviteReminderDays: ctx.reminderDays });
  // Stops at 10,000 on the way (when passed), then at the target.
  const stops = [...new Set([...SLEEPER_GOALS.map((g) => g.asleep).filter((n) => n > ctx.asleep && n < ctx.target), ctx.target])];
  let asleep = ctx.asleep;
  let stored = 0;
  for (const stop of stops) {
    const need = stop - asleep;
    if (need <= 0) continue;
    say(`asleep: starting ${need} more lifecycle workflows (people not invited yet), ${ctx.concurrency} in flight, to have ${stop} asleep`);
    const t0 = performance.now();
    let started = 0;
    for (let done = 0; done < need; done += BATCH) {
      const ids = await storeUninvited(ctx.prisma, ctx.tenantId, stored + 1, Math.min(BATCH, need - done));
      stored += ids.length;
      const run = await pool(ids.length, ctx.concurrency, async (i) => {
        if (!(await workflows.start({ tenantId: ctx.tenantId, registrantId: ids[i]!, reminderDays: ctx.reminderDays, invite: false }))) throw new Error('already running');
        started++;
      });
      if (run.errors) out.failures.push(`${run.errors} starts of people not invited failed (first: ${run.firstError?.message})`);
      if ((done / BATCH) % 4 === 3) say(`  started ${started}/${need}`);
    }
    const startMs = performance.now() - t0;
    await ctx.workerIdle();
    const running = await ctx.running();
    const rss = await ctx.rss();
    asleep = stop;
    out.lines.push(`asleep ${String(stop).padEnd(14)} ${need} more started in ${secs(startMs)} (${rate(need, startMs)}/s); ${running} lifecycle workflows running; worker RSS ${mib(rss)}`);
    if (running !== stop) out.failures.push(`${running} lifecycle workflows running, expected ${stop} asleep`);
    // Each bound is judged at its own count; a smaller run shows its figure against the 100,000 bound.
    const goal = SLEEPER_GOALS.find((g) => g.asleep === stop) ?? SLEEPER_GOALS[SLEEPER_GOALS.length - 1]!;
    out.goals.push({ what: `worker RSS with ${stop} lifecycle workflows asleep ${mib(rss)} (goal < ${goal.mib} MiB, the issue's bound at ${goal.asleep.toLocaleString('en')})`, pass: rss < goal.mib * 1024 * 1024 });
  }
  return out;
}
