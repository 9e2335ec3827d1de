/**
 * HR's steps in a registrant's lifecycle. Each is a Temporal workflow update (step-runner.ts): the
 * workflow's validator refuses what the state does not allow (409 with the reason in Japanese)
 * before anything happens, and its activities write the database and the operation history. A step
 * that cannot finish within the API's deadline answers "pending" (202) and still happens.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import type { Registrant } from '../../prisma/generated/client';
import {
  approveUpdate,
  changeStatusUpdate,
  confirmDeletionUpdate,
  deleteNowUpdate,
  extendLinkUpdate,
  inviteUpdate,
  LIFECYCLE_REFUSALS,
  lifecycleQuery,
  registrantWorkflowId,
  refuseUpdate,
  remandUpdate,
  remindNowUpdate,
  retryNowUpdate,
  scheduleDeletionUpdate,
  setRetirementUpdate,
  submitUpdate,
  unlockLoginUpdate,
  withdrawSignal,
  withdrawUpdate,
  type ImmediateDeletionKind,
  type InviteOptions,
  type LifecycleState,
  type ManualStatus,
  type StepActor,
  type VerificationMethod,
} from '../../shared';
import type { OperationHistory } from '../audit/history';
import type { PrismaClient } from '../db/client';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import { hrEvent, stepActorOf, type Acting } from '../login-users/login-users';
import { DEFAULT_RETENTION_RULE, deletionDueBy, MANUAL_RULE, RETENTION_RULES, retentionRule, todayInJapan } from '../retention/rules';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import { createStepRunner, HANDLER_MISSING, NUMBER_NOT_REGISTERED_FOR_COMPLETION, OPERATION_ID, operationIdOf, requestArgs, TEMPORAL_DOWN, type OperationStatus, type StepOutcome, type StepTimings } from './step-runner';
import { loadRegistrantView, type RegistrantView } from './view';
import { createRegistrantWorkflows } from './workflow-starts';


const invalid = (path: string, code: string, message: string) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path, message, code }]);


export interface LifecycleServiceDeps {
  prisma: PrismaClient;
  temporal: TemporalDeps;
  /** Reminder days when the tenant has none set. */
  inviteReminderDays: number[];
  timings?: StepTimings;
  history: OperationHistory;
}

/** A step's answer: the registrant when it is done, the operation to look up when it is pending. */
export type StepAnswer = { state: 'done'; operationId: string; registrant: RegistrantView } | { state: 'pending'; operationId: string; registrantId: string };

export function createLifecycleService({ prisma, temporal, inviteReminderDays, timings, history }: LifecycleServiceDeps) {
  const client: Client = temporal.client;
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });

  const find = async (tenantId: string, id: string): Promise<Registrant> => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId } });
    if (!r) throw REGISTRANT_NOT_FOUND();
    return r;
  };

  /**
   * Starts a lifecycle workflow for a registrant whose workflow has ended or is a legacy one. A
   * person still queued (stored while Temporal was away) starts as they were meant to, invitation
   * included; a start the reconciler or another request made meanwhile is theirs to keep.
   */
  async function revive(r: Registrant, legacyRunning: boolean): Promise<void> {
    if (legacyRunning) await client.workflow.getHandle(r.workflowId).terminate('replaced by the lifecycle workflow (state carried over from the database)');
    await workflows.startFromDatabase(r);
  }

  const runner = createStepRunner({ client, reachable: () => workflows.reachable(), revive, timings });

  async function answer(r: Registrant, outcome: StepOutcome): Promise<StepAnswer> {
    if (outcome.state === 'pending') return { state: 'pending', operationId: outcome.operationId, registrantId: r.id };
    const now = await prisma.registrant.findUnique({ where: { id: r.id } });
    return { state: 'done', operationId: outcome.operationId, registrant: await loadRegistrantView(prisma, now ?? r) };
  }

  /** Runs the update (idempotent per key) and answers with the registrant as the database now has it. */
  async function step<Arg extends { actor: StepActor }>(r: Registrant, update: UpdateDefinition<LifecycleState, [Arg]>, arg: Arg, key?: string, reviveWithoutHandler = true): Promise<StepAnswer> {
    const operationId = operationIdOf(r, update.name, arg.actor, requestArgs(arg), key);
    return answer(r, await runner.run(r, update, arg, operationId, { reviveWithoutHandler }));
  }

  /**
   * The invitation's options as given. A copy of the mail (which holds the person's live link) goes
   * only to the sender's own address: an editor's session must not be able to send links elsewhere.
   */
  const options = (acting: Acting, o?: InviteOptions): InviteOptions | undefined => {
    if (!o) return undefined;
    const message = o.message?.trim();
    const copyTo = o.copyTo?.trim();
    if (copyTo && copyTo.normalize('NFKC').toLowerCase() !== acting.user.email.normalize('NFKC').toLowerCase()) {
      throw new AppError(400, 'COPY_TO_NOT_SELF', 'コピーを送れるのは、ご自身のメールアドレスだけです', [{ path: '/body/copyTo', message: 'ご自身のメールアドレスを指定してください', code: 'not_self' }]);
    }
    return { ...(message ? { message } : {}), ...(o.replyTo ? { replyTo: o.replyTo.trim() } : {}), ...(copyTo ? { copyTo: acting.user.email } : {}) };
  };

  /** An operator paused the tenant's mail: a send is refused at once, with the reason. */
  async function refuseWhileMailPaused(tenantId: string): Promise<void> {
    const t = await prisma.tenant.findUnique({ where: { id: tenantId }, select: { mailPausedAt: true } });
    if (t?.mailPausedAt) throw new AppError(409, 'MAIL_PAUSED', '従業員へのメール送信が一時停止中のため送信できません。オペレーターが再開すると送信できます');
  }

  return {
    async invite(acting: Acting, id: string, opts?: InviteOptions, key?: string): Promise<StepAnswer> {
      const r = await find(acting.tenantId, id);
      if (!r.email) throw new AppError(409, 'NOT_INVITABLE_NO_EMAIL', LIFECYCLE_REFUSALS.NOT_INVITABLE_NO_EMAIL);
      await refuseWhileMailPaused(acting.tenantId);
      return step(r, inviteUpdate, { actor: stepActorOf(acting), options: options(acting, opts) }, key);
    },

    /**
     * One result per person; retirees and others who cannot be invited are skipped with the reason.
     * With a key, each person's invitation is idempotent under it (a retried bulk call mails nobody twice).
     */
    async inviteMany(acting: Acting, ids: string[], opts?: InviteOptions, key?: string) {
      // Checked once for the whole call: a copy to another address refuses it (400), not each person.
      const checked = options(acting, opts);
      await refuseWhileMailPaused(acting.tenantId);
      const found = new Map((await prisma.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: ids } } })).map((r) => [r.id, r]));
      const results: { registrantId: string; outcome: 'sent' | 'pending' | 'skipped'; code?: string; message?: string }[] = [];
      for (const registrantId of ids) {
        const r = found.get(registrantId);
        const skip = (e: AppError) => results.push({ registrantId, outcome: 'skipped', code: e.code, message: e.title });
        if (!r) skip(REGISTRANT_NOT_FOUND());
        else if (r.retired) skip(new AppError(409, 'NOT_INVITABLE_RETIRED', LIFECYCLE_REFUSALS.NOT_INVITABLE_RETIRED));
        else if (!r.email) skip(new AppError(409, 'NOT_INVITABLE_NO_EMAIL', LIFECYCLE_REFUSALS.NOT_INVITABLE_NO_EMAIL));
        else {
          try {
            const done = await step(r, inviteUpdate, { actor: stepActorOf(acting), options: checked }, key);
            results.push({ registrantId, outcome: done.state === 'done' ? 'sent' : 'pending' });
          } catch (err) {
            // Temporal down: stop here rather than report every remaining person as skipped.
            if (!(err instanceof AppError) || err.status === 503) throw err;
            skip(err);
          }
        }
      }
      const count = (outcome: string) => results.filter((x) => x.outcome === outcome).length;
      return { sent: count('sent'), pending: count('pending'), skipped: count('skipped'), results };
    },

    /**
     * 紙の登録依頼書: a round without a mail (anyone, with or without an address; the mail pause does
     * not apply). The workflow judges it like a mailed invitation (retirees, locked and pending
     * people are refused); the links come from printing (invitation-qr.ts).
     */
    async openPaperRound(acting: Acting, r: Registrant, key?: string): Promise<StepAnswer> {
      return step(r, inviteUpdate, { actor: stepActorOf(acting), options: { paper: true } }, key);
    },

    async approve(acting: Acting, id: string, dependentId?: string, key?: string) {
      return step(await find(acting.tenantId, id), approveUpdate, { actor: stepActorOf(acting), dependentId }, key);
    },
    async remand(acting: Acting, id: string, reason: string, dependentId?: string, key?: string) {
      return step(await find(acting.tenantId, id), remandUpdate, { actor: stepActorOf(acting), reason, dependentId }, key);
    },
    async refuse(acting: Acting, id: string, reason: string, key?: string) {
      return step(await find(acting.tenantId, id), refuseUpdate, { actor: stepActorOf(acting), reason }, key);
    },
    /**
     * HR's status by hand (MANUAL_STATUS_MOVES): the workflow judges the move; the fields each move
     * needs are checked here first, so a bad request is a 400 at the field.
     */
    async changeStatus(acting: Acting, id: string, change: { status: ManualStatus; reason?: string; verificationMethod?: VerificationMethod }, key?: string) {
      const r = await find(acting.tenantId, id);
      const reason = change.reason?.trim();
      if (change.status === 'completed') {
        if (!change.verificationMethod) throw invalid('/body/verificationMethod', 'required', '本人確認の方法を選択してください');
        if (!r.myNumberSecretId) throw NUMBER_NOT_REGISTERED_FOR_COMPLETION();
      } else if (!reason) throw invalid('/body/reason', 'required', change.status === 'refused' ? '拒否理由を入力してください' : '拒否を取り消す理由を入力してください');
      const arg = change.status === 'completed' ? { verificationMethod: change.verificationMethod } : { reason };
      return step(r, changeStatusUpdate, { actor: stepActorOf(acting), status: change.status, ...arg }, key);
    },
    /** The employee's "finish" (their own session, not HR's): DraftIncomplete answers 400 with what is missing. */
    async submit(registrant: Registrant, actor: StepActor, key?: string): Promise<StepAnswer> {
      return step(registrant, submitUpdate, { actor }, key);
    },
    /** The open link stays valid `days` days longer (at most a new link's 90 days from now). */
    async extendLink(acting: Acting, id: string, days: number, key?: string) {
      return step(await find(acting.tenantId, id), extendLinkUpdate, { actor: stepActorOf(acting), days }, key);
    },

    /** The next reminder goes out now rather than on its day (it is not sent again then). */
    async remindNow(acting: Acting, id: string, key?: string) {
      const r = await find(acting.tenantId, id);
      await refuseWhileMailPaused(acting.tenantId);
      return step(r, remindNowUpdate, { actor: stepActorOf(acting) }, key);
    },

    /** Steps waiting out a failed dependency's back-off are tried now (an operator's action). */
    async retryNow(acting: Acting, id: string, key?: string) {
      return step(await find(acting.tenantId, id), retryNowUpdate, { actor: stepActorOf(acting) }, key);
    },

    async unlockLogin(acting: Acting, id: string, key?: string) {
      return step(await find(acting.tenantId, id), unlockLoginUpdate, { actor: stepActorOf(acting) }, key);
    },

    /**
     * Withdraws the invitation: no more reminders, the links stop working. A workflow of an earlier
     * release (no withdraw update) is told by its signal and the history entry is written here.
     */
    async withdraw(acting: Acting, id: string, key?: string): Promise<StepAnswer> {
      const r = await find(acting.tenantId, id);
      const actor = stepActorOf(acting);
      const operationId = operationIdOf(r, withdrawUpdate.name, actor, {}, key);
      try {
        // The workflow judges it (it also knows of a first invitation an outage still holds up).
        // A v3 workflow has no withdraw update; terminating it to start anew would be too much.
        return await step(r, withdrawUpdate, { actor }, key, false);
      } catch (err) {
        if (err instanceof AppError && err.code === 'INVITATION_CLOSED' && (await runner.status(r, operationId)).status === 'succeeded') {
          // Closed by this very request, sent again with its key: its answer, not a refusal.
          return answer(r, { state: 'done', operationId });
        }
        if (!(err instanceof AppError) || err.code !== HANDLER_MISSING().code) throw err;
      }
      if (r.invitationState !== 'open') throw new AppError(409, 'INVITATION_CLOSED', LIFECYCLE_REFUSALS.INVITATION_CLOSED);
      try {
        await withDeadline(client, 5000, () => client.workflow.getHandle(r.workflowId).signal(withdrawSignal));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new AppError(409, 'INVITATION_CLOSED', LIFECYCLE_REFUSALS.INVITATION_CLOSED);
        throw TEMPORAL_DOWN();
      }
      // Delivered, so it will happen (the old workflow withdraws at its turn); done once its state says so.
      await history.record(hrEvent(acting, 'invitation_withdrawn', r));
      const until = Date.now() + (timings?.answerWithinMs ?? 10_000);
      while (Date.now() < until) {
        const state = await withDeadline(client, 3000, () => client.workflow.getHandle(r.workflowId).query(lifecycleQuery)).catch(() => null);
        if (state?.invitation?.state === 'withdrawn') return answer(r, { state: 'done', operationId });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return answer(r, { state: 'pending', operationId });
    },

    /**
     * The deletion due date: HR's own date, or the tenant's retention rule — never sooner than 30 days
     * from today, so the deletion notice always reaches HR first.
     */
    async setRetirement(acting: Acting, id: string, retirementDate: string | null, deletionDueDate?: string, key?: string) {
      return this.setRetirementAs(stepActorOf(acting), await find(acting.tenantId, id), retirementDate, deletionDueDate, key);
    },

    /** The same for any actor (payroll syncing its employee master sets retirement dates too). */
    async setRetirementAs(actor: StepActor, r: Registrant, retirementDate: string | null, deletionDueDate?: string, key?: string) {
      const today = todayInJapan();
      if (retirementDate === null) return step(r, setRetirementUpdate, { actor, retirementDate: null, deletion: null }, key);
      if (deletionDueDate !== undefined && deletionDueDate < today) {
        throw invalid('/body/deletionDueDate', 'DELETION_DATE_PAST', '削除予定日には今日以降の日付を指定してください');
      }
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: r.tenantId }, select: { retentionRule: true } });
      const rule = retentionRule(tenant.retentionRule) ?? retentionRule(DEFAULT_RETENTION_RULE)!;
      const deletion = deletionDueDate === undefined ? { dueDate: deletionDueBy(rule, retirementDate, today), rule: rule.code } : { dueDate: deletionDueDate, rule: MANUAL_RULE.code };
      return step(r, setRetirementUpdate, { actor, retirementDate, deletion }, key);
    },

    async scheduleDeletion(acting: Acting, id: string, dueDate: string | null, key?: string) {
      return step(await find(acting.tenantId, id), scheduleDeletionUpdate, { actor: stepActorOf(acting), dueDate }, key);
    },

    /** HR confirms a deletion waiting since its due date (the tenant's confirmed mode): carried out now. */
    async confirmDeletion(acting: Acting, id: string, key?: string) {
      return step(await find(acting.tenantId, id), confirmDeletionUpdate, { actor: stepActorOf(acting) }, key);
    },

    async deleteNow(acting: Acting, id: string, kind: ImmediateDeletionKind, dependentId?: string, key?: string) {
      if (kind === 'dependent' && !dependentId) throw invalid('/body/dependentId', 'required', '扶養家族を指定してください');
      return step(await find(acting.tenantId, id), deleteNowUpdate, { actor: stepActorOf(acting), kind, dependentId }, key);
    },

    /** What became of a step answered "pending" (or of any step, by its operation id). */
    async operation(tenantId: string, id: string, operationId: string): Promise<{ operationId: string; status: OperationStatus['status']; registrant?: RegistrantView; error?: { status: number; code: string; title: string } }> {
      if (!OPERATION_ID.test(operationId)) throw new AppError(404, 'OPERATION_NOT_FOUND', '指定された処理が見つかりません');
      // The person may be gone by the operation itself (a deletion): its workflow still tells.
      const r = await prisma.registrant.findFirst({ where: { id, tenantId } });
      const found = await runner.status({ workflowId: r?.workflowId ?? registrantWorkflowId(tenantId, id) }, operationId);
      if (!r && found.status !== 'succeeded') throw REGISTRANT_NOT_FOUND();
      if (found.status === 'failed') return { operationId, status: 'failed', error: { status: found.error.status, code: found.error.code, title: found.error.title } };
      if (found.status === 'succeeded') return { operationId, status: 'succeeded', ...(r ? { registrant: await loadRegistrantView(prisma, r) } : {}) };
      return { operationId, status: found.status };
    },

    retentionRules: async (tenantId: string) => {
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { retentionRule: true } });
      return { current: tenant.retentionRule, rules: RETENTION_RULES.map(({ code, label }) => ({ code, label })) };
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;
