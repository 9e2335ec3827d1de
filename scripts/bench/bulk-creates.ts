/**
 * The lifecycle bench's bulk create paths, measured in the same run as its no-op baseline: quick add
 * (calls of 100 people, as many calls in flight as make the baseline's starts in flight) and the
 * CSV import (files of the most rows a file may hold, one at a time). Each stores its people in one
 * transaction per call and then starts their workflows; the call is done when every start is
 * confirmed or left queued for the reconciler (counted: a person left queued is not fast).
 */
import type { Client } from '@temporalio/client';
import type { OperationHistory as History } from '../../services/audit/history';
import type { PrismaClient } from '../../services/db/client';
import { createBulkRegistrationService, MAX_QUICK_ADD_PEOPLE } from '../../services/registrants/bulk-registration';
import { createRegistrantCsvService } from '../../services/registrants/csv';
import { MAX_IMPORT_ROWS } from '../../services/registrants/csv-import';
import { createWorkflowBacklog } from '../../services/registrants/workflow-backlog';
import { START_CONCURRENCY } from '../../services/registrants/workflow-starts';
import type { RotatingVault as Vault } from '../../services/vault/vault';
import { pool, rate, say, secs } from './stack';

/** The goal for bulk paths: ≥ 0.9× the no-op start rate of the same run. */
export const GOAL_BULK_RATIO = 0.9;

export interface BulkPathsContext {
  prisma: PrismaClient;
  history: History;
  vault: Vault;
  client: Client;
  taskQueue: string;
  reminderDays: number[];
  acting: Parameters<ReturnType<typeof createBulkRegistrationService>['quickAdd']>[0];
  count: number;
  /** starts in flight in the baseline */
  concurrency: number;
  noopRate: number;
  /** Waits until the people stored so far have had their invitations and the worker is idle. */
  settle(): Promise<void>;
}

export interface BulkPathsOutcome {
  lines: string[];
  goals: { what: string; pass: boolean }[];
  failures: string[];
}

const never = async () => undefined;

export async function runBulkCreatePaths(ctx: BulkPathsContext): Promise<BulkPathsOutcome> {
  const { prisma, acting, count } = ctx;
  const deps = { prisma, history: ctx.history, vault: ctx.vault, temporal: { client: ctx.client, taskQueue: ctx.taskQueue }, inviteReminderDays: ctx.reminderDays };
  const bulk = createBulkRegistrationService(deps);
  // The import asks for no password (only exports with numbers do).
  const csv = createRegistrantCsvService({ ...deps, confirmPassword: never });
  const backlog = createWorkflowBacklog({ prisma, temporal: deps.temporal, inviteReminderDays: ctx.reminderDays });
  const queuedNow = () => prisma.registrant.count({ where: { tenantId: acting.tenantId, workflowPendingSince: { not: null } } });
  const outcome: BulkPathsOutcome = { lines: [], goals: [], failures: [] };

  async function measure(name: string, calls: number, inFlight: number, call: (i: number) => Promise<void>) {
    say(`${name}: ${count} people in ${calls} calls, ${inFlight} at a time`);
    const t0 = performance.now();
    const run = await pool(calls, inFlight, call);
    const ms = performance.now() - t0;
    const queued = await queuedNow();
    const ratio = count / (ms / 1000) / ctx.noopRate;
    outcome.lines.push(`${name.padEnd(21)} ${count} in ${secs(ms)} = ${rate(count, ms)}/s, ${queued} left queued for the reconciler; ratio to no-op ${ratio.toFixed(2)}`);
    outcome.goals.push({ what: `${name} / no-op starts ${ratio.toFixed(2)}× (goal ≥ ${GOAL_BULK_RATIO}×)`, pass: ratio >= GOAL_BULK_RATIO && queued === 0 });
    if (run.errors) outcome.failures.push(`${run.errors} ${name} calls failed (first: ${run.firstError?.message})`);
    // Those left queued are started as the reconciler's next round would (the bench worker runs no
    // schedule), so every invitation can be checked.
    if (queued) await backlog.run({ tenantId: acting.tenantId });
    await ctx.settle();
  }

  // Quick add: 100 a call; each call starts with START_CONCURRENCY lanes, so this many calls make the
  // baseline's starts in flight.
  const perCall = MAX_QUICK_ADD_PEOPLE;
  await measure('quick add', Math.ceil(count / perCall), Math.max(1, Math.round(ctx.concurrency / START_CONCURRENCY)), async (c) => {
    const people = Array.from({ length: Math.min(perCall, count - c * perCall) }, (_, k) => {
      const n = String(c * perCall + k + 1).padStart(6, '0');
      return { familyName: '一括', givenName: `追加${n}`, email: `quick-${n}@example.co.jp` };
    });
    await bulk.quickAdd(acting, { people });
  });

  // CSV import: full files, one at a time (each starts its people 32 at a time).
  const perFile = MAX_IMPORT_ROWS;
  await measure('CSV import', Math.ceil(count / perFile), 1, async (f) => {
    const rows = Array.from({ length: Math.min(perFile, count - f * perFile) }, (_, k) => {
      const n = String(f * perFile + k + 1).padStart(6, '0');
      return `I${n},取込,試験${n},csv-${n}@example.co.jp`;
    });
    const file = Buffer.from(['社員コード,姓,名,メールアドレス', ...rows].join('\r\n'), 'utf8');
    const { body } = await csv.importCsv(acting, file, { dryRun: false, invite: true });
    if (body.created !== rows.length) throw new Error(`CSV import stored ${body.created} of ${rows.length}`);
  });
  return outcome;
}
