/**
 * Operators' actions that are not one person's workflow step: revive a person's workflow from the
 * database, redeliver a webhook, pause and resume a tenant's mail to employees. Each is recorded in
 * the operation history, in the transaction of the change where there is one. The console (owners),
 * the API and `npm run ops` share them.
 */
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { registrantWorkflowId, retryNowUpdate, webhookDeliveryWorkflowId, type StepActor } from '../../shared';
import type { webhookDeliveryWorkflow } from '../../workflows';
import type { OperationHistory } from '../audit/history';
import type { Actor } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import { TEMPORAL_DOWN } from '../registrants/step-runner';
import { createRegistrantWorkflows, inLanes, START_CONCURRENCY } from '../registrants/workflow-starts';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import { tenantWorkflowsQuery } from '../temporal/search-attributes';

export interface OperatorActionDeps {
  prisma: PrismaClient;
  temporal: TemporalDeps;
  history: OperationHistory;
  inviteReminderDays: number[];
}

/** Who acts: the history's actor and the same as a workflow step's. */
export interface Operator {
  actor: Actor;
  step: StepActor;
  ip?: string | null;
  userAgent?: string | null;
}

export function createOperatorActions({ prisma, temporal, history, inviteReminderDays }: OperatorActionDeps) {
  const client: Client = temporal.client;
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });

  const event = (op: Operator, tenantId: string) => ({ tenantId, actor: op.actor, ip: op.ip ?? null, userAgent: op.userAgent ?? null });

  /** Workflows of the tenant with a step waiting out a back-off: each is asked to try now. */
  async function retryWaiting(tenantId: string, op: Operator): Promise<number> {
    const ids: string[] = [];
    const query = tenantWorkflowsQuery(tenantId, `ExecutionStatus = 'Running' AND MynaflowNeedsAttention = true`);
    for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
    let retried = 0;
    await inLanes(ids, START_CONCURRENCY, async (workflowId) => {
      try {
        await withDeadline(client, 10_000, () => client.workflow.getHandle(workflowId).executeUpdate(retryNowUpdate, { args: [{ actor: op.step }], updateId: randomUUID() }));
        retried++;
      } catch {
        // Nothing waiting any more (NOTHING_TO_RETRY), or busy: its own back-off still runs.
      }
    });
    return retried;
  }

  return {
    /**
     * Starts the person's workflow anew from the database state (a queued person as they were meant
     * to start, invitation included) when it is not running: failed, terminated, timed out, lost.
     */
    async revive(tenantId: string, registrantId: string, op: Operator): Promise<{ workflowId: string }> {
      const r = await prisma.registrant.findFirst({ where: { id: registrantId, tenantId } });
      if (!r) throw REGISTRANT_NOT_FOUND();
      const running = await withDeadline(client, 5000, () => client.workflow.getHandle(r.workflowId).describe()).then(
        (d) => d.status.name === 'RUNNING',
        (err: Error) => {
          if (err.name === 'WorkflowNotFoundError') return false;
          throw TEMPORAL_DOWN();
        },
      );
      if (running) throw new AppError(409, 'WORKFLOW_RUNNING', 'この登録者のワークフローは動いています。復旧の必要はありません');
      let started: boolean;
      try {
        started = await workflows.startFromDatabase(r);
      } catch {
        throw TEMPORAL_DOWN();
      }
      // Started by someone else meanwhile (the reconciler): theirs, already recorded.
      if (started) await history.record({ ...event(op, tenantId), operation: 'workflow_restored', registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` }, detail: { status: r.status, by: 'operator' } });
      return { workflowId: registrantWorkflowId(tenantId, r.id) };
    },

    /**
     * Delivers a failed (or still failing) webhook delivery again from its first attempt. The row
     * goes back to pending in the transaction that records it, so a process that dies before the
     * delivery's workflow starts leaves it to the sweep; a delivery workflow still backing off is
     * replaced by a new one that tries now.
     */
    async redeliver(tenantId: string | null, deliveryId: string, op: Operator): Promise<{ status: 'started' | 'queued' }> {
      const d = await prisma.webhookDelivery.findFirst({ where: { id: deliveryId, ...(tenantId ? { webhook: { tenantId } } : {}) }, include: { webhook: true } });
      if (!d) throw new AppError(404, 'DELIVERY_NOT_FOUND', 'Webhookの配信が見つかりません');
      const notFailing = (status: string) => new AppError(409, 'DELIVERY_NOT_FAILING', `この配信は再送できません（${status === 'delivered' ? '配信済み' : '取り消し済み'}）`);
      if (d.status !== 'failed' && d.status !== 'pending') throw notFailing(d.status);
      if (d.webhook.deletedAt) throw new AppError(409, 'WEBHOOK_REMOVED', 'このWebhookは削除されています');
      const workflowId = webhookDeliveryWorkflowId(d.id);
      await prisma.$transaction(async (tx) => {
        // Only while still failing or pending: a delivery that went through meanwhile is not sent again.
        const reset = await tx.webhookDelivery.updateMany({ where: { id: d.id, status: { in: ['failed', 'pending'] } }, data: { status: 'pending', attempts: 0 } });
        if (reset.count !== 1) throw notFailing((await tx.webhookDelivery.findUniqueOrThrow({ where: { id: d.id } })).status);
        await history.record({ ...event(op, d.webhook.tenantId), operation: 'webhook_redelivered', detail: { deliveryId: d.id, event: d.event, previousStatus: d.status, previousAttempts: d.attempts } }, tx);
      });
      try {
        await withDeadline(client, 5000, () =>
          client.workflow.start<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', {
            taskQueue: temporal.taskQueue,
            workflowId,
            args: [{ deliveryId: d.id }],
            // A run still backing off (or one the sweep started meanwhile) is replaced: the new one
            // tries at once. Reset first: a process dying here leaves a pending row for the sweep.
            workflowIdConflictPolicy: 'TERMINATE_EXISTING',
          }),
        );
        return { status: 'started' };
      } catch {
        // Pending with no attempt: the reconciler's sweep starts it.
        return { status: 'queued' };
      }
    },

    /**
     * Pauses or resumes the mail to the tenant's employees. Resuming asks every workflow waiting on a
     * paused mail to try now (best effort: the rest try on their own back-off, within 30 minutes).
     */
    async setMailPause(tenantId: string, paused: boolean, op: Operator): Promise<{ paused: boolean; retried: number }> {
      const changed = await prisma.$transaction(async (tx) => {
        // Conditional: of two operators pausing at once, one changes it and is recorded.
        const moved = await tx.tenant.updateMany({
          where: { id: tenantId, mailPausedAt: paused ? null : { not: null } },
          data: paused ? { mailPausedAt: new Date(), mailPausedBy: op.actor.label } : { mailPausedAt: null, mailPausedBy: null },
        });
        if (moved.count !== 1) return false;
        await history.record({ ...event(op, tenantId), operation: paused ? 'mail_paused' : 'mail_resumed' }, tx);
        return true;
      });
      const retried = !paused && changed ? await retryWaiting(tenantId, op).catch(() => 0) : 0;
      return { paused, retried };
    },
  };
}

export type OperatorActions = ReturnType<typeof createOperatorActions>;
