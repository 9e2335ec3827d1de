/**
 * Import jobs: a file with numbers too large for one request (up to 100,000 lines) stored by a
 * Temporal workflow a batch at a time (workflows/import-job.ts), with progress, cancel, and the file
 * sealed in the vault only while the job runs. The whole file is checked when it is uploaded, as the
 * request's import checks it: one bad line refuses it (with the report) and no job is made. The job
 * row, the sealed file and the history entry are one transaction; the workflow is started after the
 * commit, and a job whose start Temporal did not confirm is started by the reconciler (`queued`).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { components } from '../../api/generated/openapi';
import { Prisma, type ImportJob, type ImportJobStatus } from '../../prisma/generated/client';
import { cancelImportSignal, importJobWorkflowId, type ImportJobInput } from '../../shared';
import type { importJobWorkflow } from '../../workflows';
import type { History } from '../audit/types';
import type { ConfirmPassword } from '../auth/auth-service';
import type { PrismaClient } from '../db/client';
import { isUuid } from '../db/uuid';
import { createRequestRecords, type Keep } from '../idempotency/request-records';
import { AppError } from '../errors';
import { actorOf, type Acting } from '../login-users/login-users';
import { REQUEST_START_DEADLINE_MS } from './workflow-starts';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import type { Vault } from '../vault/types';
import { checkNumbersUpload, confirmImport, NumbersImportRejected, type NumbersImportReport } from './numbers-import';
import { NUMBERS_FILE, type NumbersField, type NumbersPerson } from './numbers-import-file';
import type { ImportFileSpec } from './csv-import';

/** Registrants (with their dependents) a batch stores in one transaction. */
export const IMPORT_BATCH_SIZE = 500;
export const MAX_JOB_ROWS = 100_000;
export const MAX_JOB_BYTES = 20 * 1024 * 1024;
/** The job's file limits: the request's columns and checks, more lines. */
export const JOB_FILE: ImportFileSpec<NumbersField> = { ...NUMBERS_FILE, maxRows: MAX_JOB_ROWS };

export const JOB_STATUS_LABELS: Record<ImportJobStatus, string> = {
  queued: '開始待ち',
  running: '取り込み中',
  cancelling: '中止しています',
  succeeded: '完了',
  cancelled: '中止',
  failed: '失敗',
};

export type ImportJobView = components['schemas']['ImportJob'];

export function jobView(j: ImportJob): ImportJobView {
  const done = `本人${j.doneRegistrants}人／${j.registrants}人`;
  const message: Record<ImportJobStatus, string> = {
    queued: `取り込みの開始を待っています（${j.registrants}人）`,
    running: `取り込んでいます（${done}）`,
    cancelling: `中止しています。取り込み中のバッチが終わると止まります（${done}）`,
    succeeded: `本人${j.doneRegistrants}人と扶養家族${j.dependents}人を登録し、マイナンバー${j.doneNumbers}件を保管しました`,
    cancelled: `中止しました。それまでに本人${j.doneRegistrants}人を登録し、マイナンバー${j.doneNumbers}件を保管しました（残りは登録していません）`,
    failed: `失敗しました：${j.error ?? '取り込みを続けられませんでした'}。それまでに本人${j.doneRegistrants}人を登録しました（残りは登録していません）`,
  };
  return {
    id: j.id,
    status: j.status,
    statusLabel: JOB_STATUS_LABELS[j.status],
    createdBy: (j.actor as { label?: string }).label ?? '',
    rows: j.rows,
    registrants: j.registrants,
    dependents: j.dependents,
    numbers: j.numbers,
    batches: j.batches,
    doneBatches: j.doneBatches,
    doneRegistrants: j.doneRegistrants,
    doneNumbers: j.doneNumbers,
    percent: j.registrants === 0 ? 100 : Math.floor((100 * j.doneRegistrants) / j.registrants),
    error: j.error,
    message: message[j.status],
    createdAt: j.createdAt.toISOString(),
    finishedAt: j.finishedAt?.toISOString() ?? null,
  };
}

/** Which lines make up each registrant, in order: a batch's people are found again by this. */
export function layoutOf(people: readonly NumbersPerson[]): string {
  return createHash('sha256')
    .update(JSON.stringify(people.map((p) => [p.row.line, p.dependents.map((d) => d.line)])))
    .digest('hex');
}

const JOB_NOT_FOUND = () => new AppError(404, 'IMPORT_JOB_NOT_FOUND', '取り込みが見つかりません');

/** Starts a job's workflow; false when Temporal did not confirm it (the reconciler will). */
export async function startImportJob(temporal: TemporalDeps, input: ImportJobInput): Promise<boolean> {
  try {
    await withDeadline(temporal.client, REQUEST_START_DEADLINE_MS, () =>
      temporal.client.workflow.start<typeof importJobWorkflow>('importJobWorkflow', {
        taskQueue: temporal.taskQueue,
        workflowId: importJobWorkflowId(input.jobId),
        args: [input],
        staticSummary: `取り込み ${input.jobId}（${input.batches}バッチ）`,
      }),
    );
    return true;
  } catch (err) {
    return (err as Error).name === 'WorkflowExecutionAlreadyStartedError';
  }
}

/**
 * Jobs not ended whose workflow is not running (the reconciler's round): a start Temporal never
 * confirmed, a job cancelled before it started, a workflow terminated by hand. Started (again): a
 * batch already stored is skipped, a cancelled job ends at once; so every job ends and its file is
 * shredded.
 */
export async function startQueuedImportJobs(prisma: PrismaClient, temporal: TemporalDeps, scope: { tenantId?: string }): Promise<number> {
  // A job just made or just moved is its request's or its workflow's: left to them for half a minute.
  const jobs = await prisma.importJob.findMany({ where: { status: { in: ['queued', 'running', 'cancelling'] }, updatedAt: { lt: new Date(Date.now() - 30_000) }, ...(scope.tenantId ? { tenantId: scope.tenantId } : {}) }, take: 100 });
  let started = 0;
  for (const j of jobs) {
    const running = await temporal.client.workflow
      .getHandle(importJobWorkflowId(j.id))
      .describe()
      .then((d) => d.status.name === 'RUNNING')
      .catch(() => false);
    if (!running && (await startImportJob(temporal, { jobId: j.id, tenantId: j.tenantId, batches: j.batches }))) started++;
  }
  return started;
}

export interface ImportJobsDeps {
  prisma: PrismaClient;
  history: History;
  vault: Vault;
  temporal: TemporalDeps;
  confirmPassword: ConfirmPassword;
}

export function createImportJobs({ prisma, history, vault, temporal, confirmPassword }: ImportJobsDeps) {
  const records = createRequestRecords(prisma, vault);
  const find = async (tenantId: string, id: string) => {
    const job = isUuid(id) ? await prisma.importJob.findFirst({ where: { id, tenantId } }) : null;
    if (!job) throw JOB_NOT_FOUND();
    return job;
  };

  /** The job, its sealed file and its history entry in one transaction; the workflow started after the commit. */
  async function create(acting: Acting, bytes: Buffer, reason: string, batchSize: number, keep: Keep<{ id: string }>): Promise<{ id: string }> {
    const { report, people } = await checkNumbersUpload(prisma, acting.tenantId, bytes, false, JOB_FILE);
    if (!report.ok) throw new NumbersImportRejected(report);
    const id = randomUUID();
    const actor = actorOf(acting.user);
    const job = await prisma.$transaction(
      async (tx) => {
        const fileSecretId = await vault.seal({ tenantId: acting.tenantId, kind: 'import_file', plaintext: bytes }, tx);
        const created = await tx.importJob.create({
          data: {
            id,
            tenantId: acting.tenantId,
            actor: actor as unknown as Prisma.InputJsonValue,
            reason,
            fileSecretId,
            encoding: report.encoding,
            rows: report.rows,
            registrants: people.length,
            dependents: report.dependents,
            numbers: report.numbers,
            batchSize,
            batches: Math.ceil(people.length / batchSize),
            layout: layoutOf(people),
          },
        });
        await history.record(
          { tenantId: acting.tenantId, actor, operation: 'numbers_import_started', detail: { jobId: id, reason, encoding: report.encoding, registrants: people.length, dependents: report.dependents, numbers: report.numbers }, ip: acting.ip, userAgent: acting.userAgent },
          tx,
        );
        await keep(tx, { id });
        return created;
      },
      { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 60_000 },
    );
    // After the commit; a start Temporal does not confirm now, the reconciler makes.
    await startImportJob(temporal, { jobId: id, tenantId: acting.tenantId, batches: job.batches });
    return { id };
  }

  return {
    /**
     * Checks the whole file (a dry run answers its report); otherwise, with the password and the
     * reason, stores the job and its sealed file and starts it. Refused with the report when a line
     * is wrong. With an Idempotency-Key a retried upload gets the first job, never a second (the key
     * covers the file and the reason).
     */
    async start(acting: Acting, bytes: Buffer, input: { dryRun: boolean; password?: string; reason?: string }, opts: { batchSize?: number; key?: string } = {}): Promise<{ report: NumbersImportReport } | { job: ImportJobView; replayed: boolean }> {
      if (input.dryRun) return { report: (await checkNumbersUpload(prisma, acting.tenantId, bytes, true, JOB_FILE)).report };
      const reason = await confirmImport(confirmPassword, acting, input);
      const once = await records.once<{ id: string }>(`${acting.user.id}/import-job`, opts.key, Buffer.concat([bytes, Buffer.from(`\u0000${reason}`)]), 202, (keep) => create(acting, bytes, reason, opts.batchSize ?? IMPORT_BATCH_SIZE, keep));
      // A replay answers the job as it stands now.
      return { job: jobView(await prisma.importJob.findUniqueOrThrow({ where: { id: once.body.id } })), replayed: once.replayed };
    },

    async get(acting: Acting, id: string): Promise<ImportJobView> {
      return jobView(await find(acting.tenantId, id));
    },

    /** The tenant's latest jobs, newest first. */
    async list(acting: Acting): Promise<ImportJobView[]> {
      return (await prisma.importJob.findMany({ where: { tenantId: acting.tenantId }, orderBy: { createdAt: 'desc' }, take: 20 })).map(jobView);
    },

    /** Stops a job between batches (what is stored stays); a job already ended is answered as it is. */
    async cancel(acting: Acting, id: string): Promise<ImportJobView> {
      const job = await find(acting.tenantId, id);
      if (job.status !== 'queued' && job.status !== 'running') return jobView(job);
      // Recorded only by the request that moved it (two cancels at once: one entry).
      await prisma.$transaction(async (tx) => {
        const { count } = await tx.importJob.updateMany({ where: { id, status: { in: ['queued', 'running'] } }, data: { status: 'cancelling' } });
        if (count === 1) await history.record({ tenantId: acting.tenantId, actor: actorOf(acting.user), operation: 'numbers_import_cancelled', detail: { jobId: id }, ip: acting.ip, userAgent: acting.userAgent }, tx);
      }, { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 30_000 });
      try {
        await withDeadline(temporal.client, REQUEST_START_DEADLINE_MS, () => temporal.client.workflow.getHandle(importJobWorkflowId(id)).signal(cancelImportSignal));
      } catch {
        // Not reached now: the workflow reads 'cancelling' from the row before its next batch.
      }
      return jobView(await prisma.importJob.findUniqueOrThrow({ where: { id } }));
    },
  };
}

export type ImportJobs = ReturnType<typeof createImportJobs>;
