/**
 * The reconciler's three sweeps as activities, run by the reconciler workflow on a Temporal Schedule
 * (one schedule for the whole deployment, however many workers): they use the worker's own client.
 */
import { Context } from '@temporalio/activity';
import { DEFAULT_INVITE_REMINDER_DAYS } from '../services/config/config';
import { expireIdempotencyKeys } from '../services/idempotency/request-records';
import { createOrphanCheck } from '../services/reconciler/orphans';
import { createWebhookSweep } from '../services/reconciler/webhook-sweep';
import { createNoticeSender, type NoticeReport } from '../services/notices/notice-sender';
import { createReminderDaysSweep } from '../services/reconciler/reminder-days';
import { startQueuedImportJobs } from '../services/registrants/import-jobs';
import { createWorkflowBacklog } from '../services/registrants/workflow-backlog';
import type { ReconcileScope } from '../shared';
import type { ActivityDeps } from './index';

export function createReconcilerActivities(deps: ActivityDeps) {
  const { prisma, logger } = deps;
  const inviteReminderDays = deps.inviteReminderDays ?? DEFAULT_INVITE_REMINDER_DAYS;
  const temporal = () => ({ client: Context.current().client, taskQueue: Context.current().info.taskQueue });
  return {
    /** People stored whose workflow start Temporal never confirmed: started as their start was meant. */
    async startQueuedWorkflows(scope: ReconcileScope): Promise<{ started: number; waiting: number }> {
      const round = await createWorkflowBacklog({ prisma, temporal: temporal(), inviteReminderDays, logger }).run(scope);
      // Import jobs too: one whose start was not confirmed runs from the round after.
      return { ...round, started: round.started + (await startQueuedImportJobs(prisma, temporal(), scope)) };
    },
    async sweepWebhookDeliveries(scope: ReconcileScope): Promise<{ dispatched: number }> {
      const { client, taskQueue } = temporal();
      return createWebhookSweep({ prisma, client, taskQueue, logger }).run(scope);
    },
    async restoreOrphanWorkflows(scope: ReconcileScope): Promise<{ checked: number; restored: number }> {
      const { client, taskQueue } = temporal();
      return createOrphanCheck({ prisma, client, taskQueue, inviteReminderDays, logger, vault: deps.vault }).run(scope);
    },
    /** Employees' receipts and approval mails, HR's digests: queued in their events' transactions. */
    async sendNotices(scope: ReconcileScope): Promise<NoticeReport> {
      const sender = createNoticeSender({ prisma, mailer: deps.mailer, mailFrom: deps.mailFrom, publicUrl: deps.publicUrl, logger });
      // The keep-alive interceptor heartbeats; a heartbeat answered "timed out", or the worker
      // stopping, aborts this signal and the round starts no more sends.
      return sender.run(scope, { signal: Context.current().cancellationSignal });
    },
    /** A tenant's changed reminder days told to its people's workflows (their next reminder recomputed). */
    async tellReminderDays(scope: ReconcileScope): Promise<{ told: number }> {
      return createReminderDaysSweep({ prisma, client: Context.current().client, inviteReminderDays, logger }).run(scope, () => Context.current().heartbeat());
    },
    /** Idempotency keys older than a day are forgotten (answers of bulk requests hold names). */
    async expireIdempotencyKeys(): Promise<{ expired: number }> {
      return { expired: await expireIdempotencyKeys(prisma) };
    },
  };
}
