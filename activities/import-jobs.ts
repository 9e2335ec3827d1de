/**
 * An import job's steps (workflows/import-job.ts). A batch is stored in one transaction that holds
 * the job's row lock and counts the batch done, so a batch retried after a crash (before or after
 * its commit) is stored exactly once. The file is opened from the vault and parsed once per worker
 * (kept for the job's next batches); a worker that restarts parses it again.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Prisma } from '../prisma/generated/client';
import type { ImportJobOutcome } from '../shared';
import { SYSTEM_ACTOR, type Actor } from '../services/audit/types';
import { createHistory } from '../services/audit/history';
import { DEFAULT_INVITE_REMINDER_DAYS } from '../services/config/config';
import { startDeliveries } from '../services/connectors/delivery-starts';
import { isUniqueViolationOn } from '../services/db/client';
import { readImportFile } from '../services/registrants/csv-import';
import { JOB_FILE, layoutOf } from '../services/registrants/import-jobs';
import { checkNumbersRows, type NumbersPerson } from '../services/registrants/numbers-import-file';
import { isSandboxTenant, SandboxNumberRefused } from '../services/tenants/sandbox';
import { retentionOf, storePeople } from '../services/registrants/numbers-import-store';
import { createRegistrantWorkflows, queuedInput } from '../services/registrants/workflow-starts';
import { todayInJapan } from '../services/retention/rules';
import type { ActivityDeps } from './index';

/**
 * The parsed files of the jobs this worker ran last (a job's batches usually land on one worker):
 * plaintext numbers in memory, so kept briefly and dropped after a job's last batch.
 */
const parsed = new Map<string, { people: NumbersPerson[]; at: number }>();
const KEEP_PARSED = 2;
const KEEP_PARSED_MS = 10 * 60_000;

export function createImportJobActivities(deps: ActivityDeps) {
  const { prisma, vault, logger } = deps;
  const history = createHistory(prisma, vault);

  async function peopleOf(job: { id: string; tenantId: string; fileSecretId: string | null; layout: string }): Promise<NumbersPerson[]> {
    for (const [id, entry] of parsed) if (Date.now() - entry.at > KEEP_PARSED_MS) parsed.delete(id);
    const cached = parsed.get(job.id);
    if (cached) return cached.people;
    if (!job.fileSecretId) throw ApplicationFailure.nonRetryable('取り込むファイルが見つかりません（消去されています）', 'ImportRefused');
    const file = readImportFile(await vault.open(job.fileSecretId, job.tenantId), JOB_FILE);
    // Checked in full at the upload; codes taken since are caught by the database (below).
    const { lines, people } = checkNumbersRows(file, { takenCodes: new Set(), today: todayInJapan(), sandbox: await isSandboxTenant(prisma, job.tenantId) });
    // A batch is its place in this list: the list must be the one the upload made (a release
    // between the two that read files differently would otherwise store some people twice).
    if (lines.some((l) => !l.ok) || layoutOf(people) !== job.layout) {
      throw ApplicationFailure.nonRetryable('ファイルの内容を確認できませんでした（アップロード時の確認と結果が違います）', 'ImportRefused');
    }
    parsed.set(job.id, { people, at: Date.now() });
    while (parsed.size > KEEP_PARSED) parsed.delete(parsed.keys().next().value!);
    return people;
  }

  return {
    /** Stores batch `index` once; `cancelled` when HR asked the job to stop (nothing stored then). */
    async importBatch({ jobId, index }: { jobId: string; index: number }): Promise<{ stored: number; cancelled: boolean }> {
      const job = await prisma.importJob.findUniqueOrThrow({ where: { id: jobId } });
      if (job.status === 'cancelling') return { stored: 0, cancelled: true };
      if (job.doneBatches > index) return { stored: 0, cancelled: false };
      if (job.status === 'queued') await prisma.importJob.updateMany({ where: { id: jobId, status: 'queued' }, data: { status: 'running' } });
      const people = (await peopleOf(job)).slice(index * job.batchSize, (index + 1) * job.batchSize);
      const rule = await retentionOf(prisma, job.tenantId);
      const groupIds = new Map((await prisma.group.findMany({ where: { tenantId: job.tenantId }, select: { id: true, name: true } })).map((g) => [g.name, g.id]));
      let stored;
      try {
        stored = await prisma.$transaction(
          async (tx) => {
            // Not forever behind a lock a lost worker's transaction still holds: retried instead.
            await tx.$executeRaw`SET LOCAL lock_timeout = '30s'`;
            // The row lock makes the check and the count one step: a second attempt waits, then skips.
            const [locked] = await tx.$queryRaw<{ done_batches: number; status: string }[]>`SELECT done_batches, status::text AS status FROM import_jobs WHERE id = ${jobId}::uuid FOR UPDATE`;
            if (!locked || locked.done_batches !== index || locked.status === 'cancelling') return null;
            const out = await storePeople(tx, { vault, history }, { tenantId: job.tenantId, actor: job.actor as unknown as Actor, ip: null, userAgent: null, importId: jobId, rule, today: todayInJapan(), groupIds }, people);
            await tx.importJob.update({
              where: { id: jobId },
              data: { doneBatches: index + 1, doneRegistrants: { increment: people.length }, doneNumbers: { increment: out.numbers }, status: 'running' },
            });
            return out;
          },
          { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 300_000 },
        );
      } catch (err) {
        if (err instanceof SandboxNumberRefused) throw ApplicationFailure.nonRetryable(err.title, 'ImportRefused');
        // An employee code someone added meanwhile; any other clash (a group made at once) is retried.
        if (isUniqueViolationOn(err, 'employee_code')) {
          throw ApplicationFailure.nonRetryable(`${index * job.batchSize + 1}人目からの${people.length}人に、他の操作で同時に追加された社員コードと同じ人がいます`, 'ImportRefused');
        }
        throw err;
      }
      if (!stored) {
        const now = await prisma.importJob.findUniqueOrThrow({ where: { id: jobId }, select: { status: true } });
        return { stored: 0, cancelled: now.status === 'cancelling' };
      }
      // After the commit: their lifecycle workflows (from the stored state, no mail) and webhooks;
      // what Temporal does not confirm now, the reconciler starts.
      const temporal = { client: Context.current().client, taskQueue: Context.current().info.taskQueue };
      const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays: deps.inviteReminderDays ?? DEFAULT_INVITE_REMINDER_DAYS });
      const reminderDays = await workflows.reminderDaysOf(job.tenantId);
      const queued = await workflows.startQueued(
        stored.registrants.map((r) => queuedInput(r, reminderDays)),
        { concurrency: 16, budgetMs: 60_000 },
      );
      if (queued.size === 0) await startDeliveries(temporal, stored.deliveries);
      logger.info({ jobId, batch: index, registrants: people.length, queued: queued.size }, 'import batch stored');
      if (index === job.batches - 1) parsed.delete(jobId);
      return { stored: people.length, cancelled: false };
    },

    /** Ends the job: its status, the file shredded (nothing collected is kept beyond the job), recorded. */
    async finishImportJob({ jobId, outcome, error }: { jobId: string; outcome: ImportJobOutcome; error?: string }): Promise<void> {
      await prisma.$transaction(
        async (tx) => {
          const [job] = await tx.$queryRaw<{ status: string; file_secret_id: string | null }[]>`
            SELECT status::text AS status, file_secret_id::text FROM import_jobs WHERE id = ${jobId}::uuid FOR UPDATE`;
          if (!job || ['succeeded', 'cancelled', 'failed'].includes(job.status)) return;
          const row = await tx.importJob.update({ where: { id: jobId }, data: { status: outcome, finishedAt: new Date(), error: outcome === 'failed' ? (error ?? '取り込みを続けられませんでした') : null, fileSecretId: null } });
          if (job.file_secret_id) await vault.shred([job.file_secret_id], tx);
          parsed.delete(jobId);
          await history.record(
            {
              tenantId: row.tenantId,
              actor: (row.actor as unknown as Actor) ?? SYSTEM_ACTOR,
              operation: 'numbers_imported',
              detail: { jobId, outcome, reason: row.reason, encoding: row.encoding, registrants: row.doneRegistrants, numbers: row.doneNumbers, of: { registrants: row.registrants, numbers: row.numbers } },
            },
            tx,
          );
        },
        { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 60_000 },
      );
    },
  };
}
