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
import { createWorkflowBacklog } from '../services/registrants/workflow-backlog';
import type { ReconcileScope } from '../shared';
import type { ActivityDeps } from './index';

const HEARTBEAT_EVERY_MS = 5_000;

export function createReconcilerActivities(deps: ActivityDeps) {
  const { prisma, logger } = deps;
  const inviteReminderDays = deps.inviteReminderDays ?? DEFAULT_INVITE_REMINDER_DAYS;
  const temporal = () => ({ client: Context.current().client, taskQueue: Context.current().info.taskQueue });
  /**
   * A sweep heartbeats while it runs (the workflow gives it a 20-second heartbeat timeout): a live
   * one may take its 2 minutes, a dead worker's is retried within seconds, and a heartbeat answered
   * "timed out" aborts the attempt's cancellationSignal, which the notice sender stops on.
   */
  async function alive<T>(sweep: () => Promise<T>): Promise<T> {
    const ctx = Context.current();
    const beat = setInterval(() => ctx.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await sweep();
    } finally {
      clearInterval(beat);
    }
  }
  return {
    /** People stored whose workflow start Temporal never confirmed: started as their start was meant. */
    async startQueuedWorkflows(scope: ReconcileScope): Promise<{ started: number; waiting: number }> {
      return alive(() => createWorkflowBacklog({ prisma, temporal: temporal(), inviteReminderDays, logger }).run(scope));
    },
    async sweepWebhookDeliveries(scope: ReconcileScope): Promise<{ dispatched: number }> {
      const { client, taskQueue } = temporal();
      return alive(() => createWebhookSweep({ prisma, client, taskQueue, logger }).run(scope));
    },
    async restoreOrphanWorkflows(scope: ReconcileScope): Promise<{ checked: number; restored: number }> {
      const { client, taskQueue } = temporal();
      return alive(() => createOrphanCheck({ prisma, client, taskQueue, inviteReminderDays, logger, vault: deps.vault }).run(scope));
    },
    /** Employees' receipts and approval mails, HR's digests: queued in their events' transactions. */
    async sendNotices(scope: ReconcileScope): Promise<NoticeReport> {
      const sender = createNoticeSender({ prisma, mailer: deps.mailer, mailFrom: deps.mailFrom, publicUrl: deps.publicUrl, logger });
      return alive(() => sender.run(scope, { signal: Context.current().cancellationSignal }));
    },
    /** Idempotency keys older than a day are forgotten (answers of bulk requests hold names). */
    async expireIdempotencyKeys(): Promise<{ expired: number }> {
      return { expired: await expireIdempotencyKeys(prisma) };
    },
  };
}
