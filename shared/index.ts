/**
 * What workflows, activities and clients agree on: task queue, workflow ids, messages and types.
 * Only deterministic, dependency-free code here (the workflow bundle imports it).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ManualStatus, VerificationMethod } from './status-moves';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'mynaflow';

/** An invitation link stays valid this long. */
export const INVITE_VALID_DAYS = 90;

/** One workflow per registrant; the id is derived so a second start for the same person is refused. */
export function registrantWorkflowId(tenantId: string, registrantId: string): string {
  return `registrant-${tenantId}-${registrantId}`;
}

export interface RegistrantWorkflowInput {
  tenantId: string;
  registrantId: string;
  /** Days after the invitation on which a reminder is mailed, increasing. */
  reminderDays: number[];
  /** Invite at once (default) with these options, or not (registered by HR without invitation). */
  invite?: InviteOptions | false;
  /** Status the registrant starts in (bulk entry by HR starts completed). */
  status?: RegistrantStatus;
  /** State carried over by continue-as-new. */
  carried?: LifecycleState;
  /** Who added the person (HR, a payroll connector): the first invitation is theirs in the history. */
  startedBy?: StepActor;
}

export type InvitationStage = 'inviting' | 'invited' | 'withdrawn' | 'expired';

export interface RegistrantWorkflowStatus {
  stage: InvitationStage;
  invitedAt?: string;
  expiresAt?: string;
  remindersSent: number;
}

export type MailKind = 'invitation' | 'reminder' | 'remand';

export interface SendInvitationMailInput {
  registrantId: string;
  /** Idempotency key: the same key never sends a second mail. */
  key: string;
  kind: MailKind;
  expiresAt: string;
  /** invitation round: a new round (resend, remand) makes a new link and kills the old ones */
  round?: number;
  /** what HR wrote into the invitation; the remand reason */
  options?: InviteOptions;
  remandReason?: string;
  /** who asked for it (recorded in the operation history) */
  actor?: StepActor;
}

/** HR withdraws the invitation: no more reminders, the links stop working. */
export const withdrawSignal = defineSignal('withdraw');
export const statusQuery = defineQuery<RegistrantWorkflowStatus>('status');

/** Error types activities throw for business rules; workflows never retry them. */
/** The error type of a mail the tenant's operator paused: waited out like an outage, never a business error. */
export const MAIL_PAUSED = 'MailPaused';

export const BUSINESS_ERRORS = ['RegistrantNotFound', 'RegistrantHasNoEmail', 'MailRejected', 'DraftIncomplete', 'DependentNotFound', 'NumberNotRegistered'] as const;

// ---- lifecycle (workflow v2) ------------------------------------------------------------------

export type RegistrantStatus = 'unregistered' | 'pending' | 'remanded' | 'refused' | 'completed';
export type InvitationState = 'open' | 'submitted' | 'expired' | 'withdrawn' | 'closed';

/** Who asked for a step: recorded in the operation history by the activity. Never personal data. */
export interface StepActor {
  type: 'login_user' | 'registrant' | 'api_client' | 'system';
  id: string | null;
  ip?: string | null;
  userAgent?: string | null;
}

export interface InviteOptions {
  /** the sender's message, shown in the mail */
  message?: string;
  replyTo?: string;
  /** a copy of the mail goes here (the sender) */
  copyTo?: string;
  /** 紙の登録依頼書: the round opens without a mail; HR prints the person's links (QR codes) instead */
  paper?: true;
}

export interface InvitationRound {
  round: number;
  invitedAt: string;
  expiresAt: string;
  /** how many of the reminder days are dealt with (sent, skipped, or already past when the days changed) */
  remindersSent: number;
  /**
   * Reminder mails of this round so far; their idempotency keys count on from it. Apart from
   * remindersSent once the days changed to an earlier next day (absent in rounds from before that).
   */
  remindersMailed?: number;
  /** the reminder day the last reminder went out (or was skipped) for; an operator's early one counts as its day's */
  remindedThroughDay?: number;
  state: InvitationState;
}

export interface ScheduledDeletion {
  /** YYYY-MM-DD in Japan: the first day the data may not be kept */
  dueDate: string;
  /** retention rule code or "manual" */
  rule: string;
  noticeSent: boolean;
  /** due, and waiting for HR to confirm it (the tenant deletes on confirmation) */
  awaiting?: boolean;
}

/**
 * A step that could not finish because a dependency (PostgreSQL, SMTP, Temporal) failed: it is
 * retried on a durable back-off until it succeeds. Error classes only, never a message.
 */
export interface StepAttention {
  /** when the step first failed */
  since: string;
  /** rounds failed so far (each round is up to an hour of activity retries) */
  rounds: number;
  /** class of the last failure, e.g. "TimeoutFailure", "PrismaClientKnownRequestError" */
  errorType: string;
  /** the next try of a timer step (HR's steps retry at once, in their own request) */
  retryAt?: string;
}

/** What the workflow will do next and when (the timers it waits on), with a step that keeps failing. */
export interface UpcomingStep {
  /** the step's name, e.g. "reminder-1-2", "expiry-1", "retirement", "deletion-notice", "deletion" */
  name: string;
  /** the kind of step, without its round (the MynaflowNextTimerKind search attribute) */
  kind?: TimerKind;
  /** when it is due (ISO); a retrying step's next try is in attention.retryAt */
  at: string;
  /** its label in the Temporal UI and the console, in Japanese */
  label: string;
  attention?: StepAttention;
}

/** The kinds of step the lifecycle waits for. */
export type TimerKind = 'invitation-mail' | 'remand-mail' | 'reminder' | 'link-expiry' | 'retirement' | 'deletion-notice' | 'deletion';

/** Everything the workflow holds: ids, states and dates only. */
export interface LifecycleState {
  status: RegistrantStatus;
  loginLocked: boolean;
  invitation: InvitationRound | null;
  /** YYYY-MM-DD in Japan */
  retirementDate: string | null;
  retired: boolean;
  deletion: ScheduledDeletion | null;
  deleted: boolean;
  /** steps taken so far (runs before the safe-steps release built their keys from it) */
  seq: number;
  /** steps waiting on a failed dependency, by step name (from the safe-steps release on) */
  attention?: Record<string, StepAttention>;
  /** the last HR/employee requests carried out (update ids), so a retry after continue-as-new acts once */
  handled?: string[];
  /** how often each kind of step ran: part of its idempotency key */
  counts?: Record<string, number>;
  /** an invitation or remand mail still to go out (the first one, or one an outage held up) */
  mailDue?: MailDue;
}

/** A mail a new round waits for: the round begins when it is out. */
export interface MailDue {
  kind: 'invitation' | 'remand';
  round: number;
  invitedAt: string;
  expiresAt: string;
  actor: StepActor;
  options?: InviteOptions;
}

export const lifecycleQuery = defineQuery<LifecycleState>('lifecycle');
/** The steps the workflow waits to take, earliest first (read-only: adds nothing to the history). */
export const upcomingQuery = defineQuery<UpcomingStep[]>('upcoming');

export interface InviteRequest {
  actor: StepActor;
  options?: InviteOptions;
}
export interface DecisionRequest {
  actor: StepActor;
  /** required for remand and refusal */
  reason?: string;
  /** only this dependent (approve / remand per dependent) */
  dependentId?: string;
}
export interface RetirementRequest {
  actor: StepActor;
  /** YYYY-MM-DD; null clears it (not once retired) */
  retirementDate: string | null;
  /** computed by the retention rule unless HR sets it */
  deletion: { dueDate: string; rule: string } | null;
}
export interface DeletionScheduleRequest {
  actor: StepActor;
  /** a new due date, or null to cancel the scheduled deletion */
  dueDate: string | null;
}
export { MANUAL_STATUS_MOVES, VERIFICATION_METHODS, type ManualStatus, type VerificationMethod } from './status-moves';
export interface StatusChangeRequest {
  actor: StepActor;
  status: ManualStatus;
  /** required for refused and unregistered; kept in the registrant row, never in the history */
  reason?: string;
  /** required for completed */
  verificationMethod?: VerificationMethod;
}

export type ImmediateDeletionKind = 'numbers' | 'registrant' | 'dependent';
export interface DeleteNowRequest {
  actor: StepActor;
  kind: ImmediateDeletionKind;
  dependentId?: string;
}

/** HR (re)sends the invitation: a new link, the 90 days start again. */
export const inviteUpdate = defineUpdate<LifecycleState, [InviteRequest]>('invite');
/** The employee's "finish": the draft becomes the submission, atomically. */
export const submitUpdate = defineUpdate<LifecycleState, [{ actor: StepActor }]>('submit');
export const approveUpdate = defineUpdate<LifecycleState, [DecisionRequest]>('approve');
export const remandUpdate = defineUpdate<LifecycleState, [DecisionRequest]>('remand');
export const refuseUpdate = defineUpdate<LifecycleState, [DecisionRequest]>('refuse');
export const unlockLoginUpdate = defineUpdate<LifecycleState, [{ actor: StepActor }]>('unlockLogin');
export const setRetirementUpdate = defineUpdate<LifecycleState, [RetirementRequest]>('setRetirement');
export const scheduleDeletionUpdate = defineUpdate<LifecycleState, [DeletionScheduleRequest]>('scheduleDeletion');
export const deleteNowUpdate = defineUpdate<LifecycleState, [DeleteNowRequest]>('deleteNow');
/**
 * The tenant's reminder days changed: the next reminder of an open link is recomputed from them.
 * Days already past at the change are not sent late (nobody gets a burst of reminders).
 */
export const reminderDaysSignal = defineSignal<[{ days: number[] }]>('reminderDays');
/** HR confirms a deletion that fell due in the tenant's confirmed mode: carried out now. */
export const confirmDeletionUpdate = defineUpdate<LifecycleState, [{ actor: StepActor }]>('confirmDeletion');
/** HR sets the status by hand (MANUAL_STATUS_MOVES). */
export const changeStatusUpdate = defineUpdate<LifecycleState, [StatusChangeRequest]>('changeStatus');
/** HR withdraws the invitation (an update from the safe-steps release on; the signal stays for old callers). */
export const withdrawUpdate = defineUpdate<LifecycleState, [{ actor: StepActor }]>('withdraw');

// Operators' steps (the owner role; `npm run ops`): recorded in the operation history like HR's.
/** Steps waiting out a failed dependency's back-off are tried now. */
export const retryNowUpdate = defineUpdate<LifecycleState, [{ actor: StepActor }]>('retryNow');
/** The open link is valid `days` more days from now (the same link: nothing is mailed). */
export const extendLinkUpdate = defineUpdate<LifecycleState, [{ actor: StepActor; days: number }]>('extendLink');
/** The next reminder goes out now instead of on its day. */
export const remindNowUpdate = defineUpdate<LifecycleState, [{ actor: StepActor }]>('remindNow');
/** The longest a link may be extended by at once. */
export const MAX_LINK_EXTENSION_DAYS = INVITE_VALID_DAYS;

/**
 * Why an update was refused, as the validator says it: a machine code the API maps to its
 * Japanese message. Thrown as the error message of a rejected update.
 */
export const LIFECYCLE_REFUSALS = {
  NOT_INVITABLE_RETIRED: '退職者には登録依頼を送信できません',
  NOT_INVITABLE_LOCKED: 'ログインがロックされている登録者には登録依頼を送信できません。ロックを解除してください',
  NOT_INVITABLE_PENDING: '承認待ちの登録者には登録依頼を送信できません。承認または差戻ししてください',
  NOT_INVITABLE_NO_EMAIL: 'メールアドレスが登録されていないため、登録依頼を送信できません',
  MAIL_REJECTED: 'メールサーバーが宛先を受け付けませんでした。メールアドレスを確認してください',
  INVITATION_NOT_OPEN: '登録用リンクの有効期限が切れているか、無効になっています',
  INVITATION_CLOSED: 'この登録依頼は既に終了しています',
  NOT_EDITABLE: '提出済みのため変更できません。差戻しされると変更できます',
  NOT_PENDING: '承認待ちではないため、この操作はできません',
  REASON_REQUIRED: '理由を入力してください',
  NOT_LOCKED: 'ログインはロックされていません',
  RETIREMENT_FIXED: '退職済みのため退職日は取り消せません',
  NOT_RETIRED_FOR_DELETION: '退職日が設定されていないため、削除予定日を設定できません',
  NO_DELETION_SCHEDULED: '削除予定はありません',
  DELETION_DATE_PAST: '削除予定日には今日以降の日付を指定してください',
  DEPENDENT_REQUIRED: '扶養家族を指定してください',
  DELETED: 'この登録者のデータは削除済みです',
  LINK_NOT_OPEN: '有効な登録用リンクがありません。登録依頼を送信してください',
  EXTENSION_INVALID: `延長する日数は1〜${MAX_LINK_EXTENSION_DAYS}日で指定してください`,
  NO_REMINDER_DUE: 'この登録依頼で送る予定のリマインダーはありません',
  NOTHING_TO_RETRY: '再試行を待っている処理はありません',
  STATUS_UNCHANGED: '既にそのステータスです',
  STATUS_CHANGE_NOT_ALLOWED: '現在のステータスからは、そのステータスに変更できません',
  VERIFICATION_METHOD_REQUIRED: '本人確認の方法を選択してください',
  NO_DELETION_AWAITING: '確認を待っている削除はありません',
} as const;
export type LifecycleRefusal = keyof typeof LIFECYCLE_REFUSALS;

/** Search attributes registered on the namespace, so operators can filter in the Temporal UI. */
export const SEARCH_ATTRIBUTES = {
  tenant: defineSearchAttributeKey('MynaflowTenant', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('MynaflowStatus', SearchAttributeType.KEYWORD),
  inviteExpiresAt: defineSearchAttributeKey('MynaflowInviteExpiresAt', SearchAttributeType.DATETIME),
  deletionDueAt: defineSearchAttributeKey('MynaflowDeletionDueAt', SearchAttributeType.DATETIME),
  /** a step waits on a failed dependency (state.attention says which, since when) */
  needsAttention: defineSearchAttributeKey('MynaflowNeedsAttention', SearchAttributeType.BOOL),
  /** what the workflow waits for next (TimerKind) and when */
  nextTimerKind: defineSearchAttributeKey('MynaflowNextTimerKind', SearchAttributeType.KEYWORD),
  nextTimerAt: defineSearchAttributeKey('MynaflowNextTimerAt', SearchAttributeType.DATETIME),
} as const;

/** The values of the search attributes, as the workflow publishes them and a start request sets them. */
export interface LifecycleAttributes {
  tenant: string;
  status: string;
  inviteExpiresAt: string | null;
  deletionDueAt: string | null;
  needsAttention: boolean;
  /** absent: not published (histories from before the next-timer attributes) */
  next?: { kind: TimerKind; at: string } | null;
}

export function lifecycleAttributes(tenantId: string, state: LifecycleState, next?: { kind: TimerKind; at: string } | null): LifecycleAttributes {
  return {
    tenant: tenantId,
    status: state.deleted ? 'deleted' : state.retired ? `retired:${state.status}` : state.status,
    inviteExpiresAt: state.invitation?.state === 'open' ? state.invitation.expiresAt : null,
    deletionDueAt: state.deletion ? new Date(startOfJapanDay(state.deletion.dueDate)).toISOString() : null,
    needsAttention: Object.keys(state.attention ?? {}).length > 0,
    ...(next !== undefined ? { next } : {}),
  };
}

/** The attributes as Temporal takes them (upsert, or a start request's typedSearchAttributes). */
export function searchAttributePairs(v: LifecycleAttributes) {
  const date = (iso: string | null | undefined) => (iso ? new Date(iso) : null);
  return [
    { key: SEARCH_ATTRIBUTES.tenant, value: v.tenant },
    { key: SEARCH_ATTRIBUTES.status, value: v.status },
    { key: SEARCH_ATTRIBUTES.inviteExpiresAt, value: date(v.inviteExpiresAt) },
    { key: SEARCH_ATTRIBUTES.deletionDueAt, value: date(v.deletionDueAt) },
    { key: SEARCH_ATTRIBUTES.needsAttention, value: v.needsAttention },
    ...(v.next !== undefined
      ? [
          { key: SEARCH_ATTRIBUTES.nextTimerKind, value: v.next?.kind ?? null },
          { key: SEARCH_ATTRIBUTES.nextTimerAt, value: date(v.next?.at) },
        ]
      : []),
  ] as const;
}

/** The instant a Japanese calendar date begins. */
export const startOfJapanDay = (date: string): number => Date.parse(`${date}T00:00:00+09:00`);
/** The Japanese calendar date of an instant. */
export function japanDate(ms: number): string {
  return new Date(ms + 9 * 60 * 60 * 1000).toISOString().slice(0, 10);
}

/** HR is told this many days before a deletion is due. */
export const DELETION_NOTICE_DAYS = 30;

/** One mail per tenant and due date lists every deletion due then. */
export const deletionNoticeWorkflowId = (tenantId: string, dueDate: string) => `deletion-notice-${tenantId}-${dueDate}`;
export interface DeletionNoticeInput {
  tenantId: string;
  dueDate: string;
}
export const deletionDueSignal = defineSignal<[{ registrantId: string }]>('deletionDue');

// ---- webhooks ---------------------------------------------------------------------------------

/**
 * Attempts a webhook delivery gets before it is marked failed: waits of 10 s doubling up to 1 h
 * (10 s, 20 s … 2,560 s, 1 h, 1 h), about 3 h 25 min from the first attempt to the last.
 */
export const WEBHOOK_DELIVERY_MAX_ATTEMPTS = 12;
/** One delivery workflow per delivery row: a second start for the same delivery is refused. */
export const webhookDeliveryWorkflowId = (deliveryId: string) => `webhook-delivery-${deliveryId}`;

// ---- import jobs --------------------------------------------------------------------------------

/** An import job's workflow: ids only; the file stays sealed in the vault. */
export interface ImportJobInput {
  jobId: string;
  tenantId: string;
  batches: number;
}
export const importJobWorkflowId = (jobId: string) => `import-job-${jobId}`;
/** HR asked to stop: the batch under way finishes, no other starts. */
export const cancelImportSignal = defineSignal('cancelImport');
export type ImportJobOutcome = 'succeeded' | 'cancelled' | 'failed';

/** The deployment's one reconciler schedule (services/reconciler/schedule.ts). */
export const RECONCILER_SCHEDULE_ID = 'mynaflow-reconciler';
/** What a reconciler round looks at: everything, or one tenant (tests share a database). */
export interface ReconcileScope {
  tenantId?: string;
}
export interface ReconcileReport {
  started: number;
  waiting: number;
  dispatched: number;
  restored: number;
  /** Idempotency keys forgotten (older than a day, whatever the scope). */
  expired: number;
  /** Notices sent (receipts, approval mails, digests); absent in rounds from before them. */
  noticesSent?: number;
  /** Workflows told of their tenant's new reminder days; absent in rounds from before it. */
  reminderDaysTold?: number;
  /** The sweeps that failed this round (the next round tries again). */
  failed: string[];
}
export { mayChangeRegistration, type RegistrationState } from './registration-rules';
