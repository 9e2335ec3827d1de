/**
 * HR's steps in a registrant's lifecycle. Each is a Temporal workflow update: the workflow's
 * validator refuses what the state does not allow (409 with the reason in Japanese) before anything
 * happens, and its activities write the database and the operation history.
 */
import { WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { Registrant } from '../../prisma/generated/client';
import {
  approveUpdate,
  deleteNowUpdate,
  INVITE_VALID_DAYS,
  inviteUpdate,
  LIFECYCLE_REFUSALS,
  refuseUpdate,
  remandUpdate,
  scheduleDeletionUpdate,
  setRetirementUpdate,
  submitUpdate,
  unlockLoginUpdate,
  type ImmediateDeletionKind,
  type InviteOptions,
  type LifecycleState,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../../shared';
import type { registrantWorkflow } from '../../workflows';
import type { PrismaClient } from '../db/client';
import { AppError, DEPENDENT_NOT_FOUND, REGISTRANT_NOT_FOUND } from '../errors';
import { stepActorOf, type Acting } from '../login-users/login-users';
import { DEFAULT_RETENTION_RULE, MANUAL_RULE, RETENTION_RULES, retentionRule, todayInJapan } from '../retention/rules';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import { draftIssueMessage } from './draft';
import { loadRegistrantView, type RegistrantView } from './view';
import { createRegistrantWorkflows } from './workflow-starts';

/** Updates run activities (a mail, a transaction); give them time before answering 503. */
const UPDATE_DEADLINE_MS = 30_000;
/** HR is always told this long before a deletion, whatever the rule says. */
const MIN_NOTICE_DAYS = 30;

const TEMPORAL_DOWN = () => new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。時間をおいて再度お試しください');
const invalid = (path: string, code: string, message: string) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path, message, code }]);

const addDays = (date: string, days: number) => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/** The workflow's refusal or business error as the API answers it. */
function asAppError(err: unknown): AppError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const { type, message } = err.cause;
  if (type === 'LifecycleRefusal' && message in LIFECYCLE_REFUSALS) {
    return new AppError(409, message, LIFECYCLE_REFUSALS[message as keyof typeof LIFECYCLE_REFUSALS]);
  }
  if (type === 'DraftIncomplete') {
    const [issues] = (err.cause.details ?? []) as [{ path: string; code: string }[] | undefined];
    return new AppError(400, 'DRAFT_INCOMPLETE', '登録内容に不足があります。表示された項目を入力してから「登録を終了」を押してください', (issues ?? []).map((i) => ({ path: i.path, code: i.code, message: draftIssueMessage(i.code) })));
  }
  if (type === 'DependentNotFound') return DEPENDENT_NOT_FOUND();
  if (type === 'RegistrantHasNoEmail') return new AppError(409, 'NOT_INVITABLE_NO_EMAIL', LIFECYCLE_REFUSALS.NOT_INVITABLE_NO_EMAIL);
  if (type === 'RegistrantNotFound') return REGISTRANT_NOT_FOUND();
  return undefined;
}

export interface LifecycleServiceDeps {
  prisma: PrismaClient;
  temporal: TemporalDeps;
  /** Reminder days when the tenant has none set. */
  inviteReminderDays: number[];
}

const DAY_MS = 86_400_000;

/** A workflow from before the lifecycle (invitation only) has no update handlers. */
const isLegacy = (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.message.startsWith('No registered handler for update');

/**
 * The state a new lifecycle workflow takes over from the database: for a registrant whose workflow
 * ended without the data being deleted (terminated by an operator) or still runs the first,
 * invitation-only version. An open link keeps its expiry, and reminders already due are not resent.
 */
export function stateFromDatabase(r: Registrant, reminderDays: number[], now = Date.now()): LifecycleState {
  const expiresAt = r.invitationExpiresAt?.getTime();
  const open = r.invitationState === 'open' && expiresAt !== undefined && expiresAt > now;
  const invitedAt = open ? expiresAt - INVITE_VALID_DAYS * DAY_MS : 0;
  return {
    status: r.status,
    loginLocked: r.loginLocked,
    invitation: open
      ? { round: 1, invitedAt: new Date(invitedAt).toISOString(), expiresAt: new Date(expiresAt).toISOString(), remindersSent: reminderDays.filter((d) => invitedAt + d * DAY_MS <= now).length, state: 'open' }
      : null,
    retirementDate: r.retirementDate?.toISOString().slice(0, 10) ?? null,
    retired: r.retired,
    deletion: r.deletionDueDate ? { dueDate: r.deletionDueDate.toISOString().slice(0, 10), rule: r.deletionRule ?? MANUAL_RULE.code, noticeSent: false } : null,
    deleted: false,
    seq: 0,
  };
}

/** The input of a workflow that takes over a stored person: their state from the database, no mail. */
export const carriedInput = (r: Registrant, reminderDays: number[]): RegistrantWorkflowInput => ({
  tenantId: r.tenantId,
  registrantId: r.id,
  reminderDays,
  invite: false,
  carried: stateFromDatabase(r, reminderDays),
});

export function createLifecycleService({ prisma, temporal, inviteReminderDays }: LifecycleServiceDeps) {
  const client: Client = temporal.client;
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });

  const find = async (tenantId: string, id: string): Promise<Registrant> => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId } });
    if (!r) throw REGISTRANT_NOT_FOUND();
    return r;
  };

  /** Starts a lifecycle workflow for a registrant whose workflow has ended or is a legacy one. */
  async function revive(r: Registrant, legacyRunning: boolean): Promise<void> {
    const handle = client.workflow.getHandle(r.workflowId);
    if (legacyRunning) await handle.terminate('replaced by the lifecycle workflow (state carried over from the database)');
    const reminderDays = await workflows.reminderDaysOf(r.tenantId);
    await client.workflow.start<typeof registrantWorkflow>('registrantWorkflow', { taskQueue: temporal.taskQueue, workflowId: r.workflowId, args: [carriedInput(r, reminderDays)] });
  }

  /** Runs the update and answers with the registrant as the database now has it. */
  async function step<Arg>(r: Registrant, update: UpdateDefinition<LifecycleState, [Arg]>, arg: Arg): Promise<RegistrantView> {
    const run = () => withDeadline(client, UPDATE_DEADLINE_MS, () => client.workflow.getHandle(r.workflowId).executeUpdate(update, { args: [arg] }));
    try {
      try {
        await run();
      } catch (err) {
        // The row exists, so its workflow should too: an ended or legacy one is replaced, once.
        if (!(err instanceof WorkflowNotFoundError) && !isLegacy(err)) throw err;
        await withDeadline(client, UPDATE_DEADLINE_MS, () => revive(r, isLegacy(err)));
        await run();
      }
    } catch (err) {
      const known = asAppError(err);
      if (known) throw known;
      throw TEMPORAL_DOWN();
    }
    const now = await prisma.registrant.findUnique({ where: { id: r.id } });
    return loadRegistrantView(prisma, now ?? r);
  }

  const options = (o?: InviteOptions): InviteOptions | undefined => {
    if (!o) return undefined;
    const message = o.message?.trim();
    return { ...(message ? { message } : {}), ...(o.replyTo ? { replyTo: o.replyTo.trim() } : {}), ...(o.copyTo ? { copyTo: o.copyTo.trim() } : {}) };
  };

  return {
    async invite(acting: Acting, id: string, opts?: InviteOptions): Promise<RegistrantView> {
      const r = await find(acting.tenantId, id);
      if (!r.email) throw new AppError(409, 'NOT_INVITABLE_NO_EMAIL', LIFECYCLE_REFUSALS.NOT_INVITABLE_NO_EMAIL);
      return step(r, inviteUpdate, { actor: stepActorOf(acting), options: options(opts) });
    },

    /** One result per person; retirees and others who cannot be invited are skipped with the reason. */
    async inviteMany(acting: Acting, ids: string[], opts?: InviteOptions) {
      const found = new Map((await prisma.registrant.findMany({ where: { tenantId: acting.tenantId, id: { in: ids } } })).map((r) => [r.id, r]));
      const results: { registrantId: string; outcome: 'sent' | 'skipped'; code?: string; message?: string }[] = [];
      for (const registrantId of ids) {
        const r = found.get(registrantId);
        const skip = (e: AppError) => results.push({ registrantId, outcome: 'skipped', code: e.code, message: e.title });
        if (!r) skip(REGISTRANT_NOT_FOUND());
        else if (r.retired) skip(new AppError(409, 'NOT_INVITABLE_RETIRED', LIFECYCLE_REFUSALS.NOT_INVITABLE_RETIRED));
        else if (!r.email) skip(new AppError(409, 'NOT_INVITABLE_NO_EMAIL', LIFECYCLE_REFUSALS.NOT_INVITABLE_NO_EMAIL));
        else {
          try {
            await step(r, inviteUpdate, { actor: stepActorOf(acting), options: options(opts) });
            results.push({ registrantId, outcome: 'sent' });
          } catch (err) {
            // Temporal down: stop here rather than report every remaining person as skipped.
            if (!(err instanceof AppError) || err.status === 503) throw err;
            skip(err);
          }
        }
      }
      return { sent: results.filter((x) => x.outcome === 'sent').length, skipped: results.filter((x) => x.outcome === 'skipped').length, results };
    },

    async approve(acting: Acting, id: string, dependentId?: string) {
      return step(await find(acting.tenantId, id), approveUpdate, { actor: stepActorOf(acting), dependentId });
    },
    async remand(acting: Acting, id: string, reason: string, dependentId?: string) {
      return step(await find(acting.tenantId, id), remandUpdate, { actor: stepActorOf(acting), reason, dependentId });
    },
    async refuse(acting: Acting, id: string, reason: string) {
      return step(await find(acting.tenantId, id), refuseUpdate, { actor: stepActorOf(acting), reason });
    },
    /** The employee's "finish" (their own session, not HR's): DraftIncomplete answers 400 with what is missing. */
    async submit(registrant: Registrant, actor: StepActor): Promise<RegistrantView> {
      return step(registrant, submitUpdate, { actor });
    },
    async unlockLogin(acting: Acting, id: string) {
      return step(await find(acting.tenantId, id), unlockLoginUpdate, { actor: stepActorOf(acting) });
    },

    /**
     * The deletion due date: HR's own date, or the tenant's retention rule — never sooner than 30 days
     * from today, so the deletion notice always reaches HR first.
     */
    async setRetirement(acting: Acting, id: string, retirementDate: string | null, deletionDueDate?: string) {
      return this.setRetirementAs(stepActorOf(acting), await find(acting.tenantId, id), retirementDate, deletionDueDate);
    },

    /** The same for any actor (payroll syncing its employee master sets retirement dates too). */
    async setRetirementAs(actor: StepActor, r: Registrant, retirementDate: string | null, deletionDueDate?: string) {
      const today = todayInJapan();
      if (retirementDate === null) return step(r, setRetirementUpdate, { actor, retirementDate: null, deletion: null });
      if (deletionDueDate !== undefined && deletionDueDate < today) {
        throw invalid('/body/deletionDueDate', 'DELETION_DATE_PAST', '削除予定日には今日以降の日付を指定してください');
      }
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: r.tenantId }, select: { retentionRule: true } });
      const rule = retentionRule(tenant.retentionRule) ?? retentionRule(DEFAULT_RETENTION_RULE)!;
      const due = deletionDueDate ?? rule.dueDate(retirementDate);
      const earliest = addDays(today, MIN_NOTICE_DAYS);
      const deletion = { dueDate: due < earliest && deletionDueDate === undefined ? earliest : due, rule: deletionDueDate === undefined ? rule.code : MANUAL_RULE.code };
      return step(r, setRetirementUpdate, { actor, retirementDate, deletion });
    },

    async scheduleDeletion(acting: Acting, id: string, dueDate: string | null) {
      return step(await find(acting.tenantId, id), scheduleDeletionUpdate, { actor: stepActorOf(acting), dueDate });
    },

    async deleteNow(acting: Acting, id: string, kind: ImmediateDeletionKind, dependentId?: string) {
      if (kind === 'dependent' && !dependentId) throw invalid('/body/dependentId', 'required', '扶養家族を指定してください');
      return step(await find(acting.tenantId, id), deleteNowUpdate, { actor: stepActorOf(acting), kind, dependentId });
    },

    retentionRules: async (tenantId: string) => {
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId }, select: { retentionRule: true } });
      return { current: tenant.retentionRule, rules: RETENTION_RULES.map(({ code, label }) => ({ code, label })) };
    },
  };
}

export type LifecycleService = ReturnType<typeof createLifecycleService>;
