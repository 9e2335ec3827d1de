/**
 * The registrant lifecycle (current release): invitation, reminders, submission, decisions,
 * retirement and the deletion of the data years later.
 *
 * The workflow holds only ids, states and dates (LifecycleState); everything personal stays in
 * PostgreSQL and is touched by activities. Three rules hold it together:
 * - One step at a time. HR's updates, the employee's submission and every timer step run under one
 *   mutex (async-mutex, as in temporalio/samples-typescript safe-message-handlers), and each checks
 *   the state again once it holds it: of two concurrent decisions exactly one applies.
 * - Outages delay, never cancel. An activity that cannot reach PostgreSQL, SMTP or Temporal is tried
 *   again in rounds (durable-steps.ts) for as long as it takes; a timer step gives the turn back
 *   between rounds, so other due steps and HR go on; the workflow never fails for an outage.
 * - Each step once. Steps carry reset-safe keys (step-keys.ts); HR's requests carry an update id the
 *   API derives from the request's Idempotency-Key, remembered across continue-as-new.
 * Every timer is derived from the state by `nextDue`, so changing a date just wakes the loop.
 */
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  currentUpdateInfo,
  log,
  ParentClosePolicy,
  patched,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError, type UpdateDefinition } from '@temporalio/common';
import { Mutex } from 'async-mutex';
import {
  approveUpdate,
  changeStatusUpdate,
  confirmDeletionUpdate,
  DELETION_NOTICE_DAYS,
  deleteNowUpdate,
  extendLinkUpdate,
  INVITE_VALID_DAYS,
  inviteUpdate,
  japanDate,
  lifecycleAttributes,
  lifecycleQuery,
  MAIL_PAUSED,
  upcomingQuery,
  mayChangeRegistration,
  MANUAL_STATUS_MOVES,
  MAX_LINK_EXTENSION_DAYS,
  refuseUpdate,
  reminderDaysSignal,
  remandUpdate,
  remindNowUpdate,
  retryNowUpdate,
  scheduleDeletionUpdate,
  searchAttributePairs,
  setRetirementUpdate,
  startOfJapanDay,
  statusQuery,
  submitUpdate,
  unlockLoginUpdate,
  webhookDeliveryWorkflowId,
  withdrawSignal,
  withdrawUpdate,
  type InvitationRound,
  type InviteOptions,
  type LifecycleRefusal,
  type LifecycleState,
  type MailDue,
  type RegistrantWorkflowInput,
  type StatusChangeRequest,
  type StepActor,
  type TimerKind,
} from '../shared';
import {
  activitiesForRound,
  asUpdateFailure,
  BETWEEN_ROUNDS_MS,
  businessError,
  dependencyUnavailable,
  failureClass,
  isOutage,
  REQUEST_ROUNDS,
  timerStepBackoffMs,
  type Activities,
} from './durable-steps';
import type { registrantWorkflow } from './registrant';
import { stepKey } from './step-keys';
import type { webhookDeliveryWorkflow } from './webhook-delivery';

const DAY_MS = 24 * 60 * 60 * 1000;
const SYSTEM: StepActor = { type: 'system', id: null };
/** HR requests remembered for a retry with the same Idempotency-Key after continue-as-new. */
const HANDLED_KEPT = 100;

/** From this patch on the workflow publishes its next timer (MynaflowNextTimerKind/At). */
export const NEXT_TIMER_PATCH = 'next-timer-attributes-v1';
/** A retry-now leaves the step waiting (due now) rather than dropping its retry date. */
export const RETRY_NOW_PATCH = 'retry-now-keeps-waiting';
/** From this patch on a workflow takes the tenant's new reminder days (reminderDaysSignal). */
export const REMINDER_DAYS_PATCH = 'reminder-days-signal-v1';
/**
 * New days whose next one comes earlier than the old list's (day 14 after day 7's reminder, when
 * [7, 30, 80] becomes [14, 60]) send it: the position in the list may go back, and the mails' keys
 * count on from the mails sent (remindersMailed) instead of from that position.
 */
export const REMINDER_DAYS_BY_DAY_PATCH = 'reminder-days-by-day-v1';
/** The first search attributes published include the invitation due at start. */
export const FIRST_PUBLISH_PATCH = 'first-publish-after-invite';

/** The Temporal UI's summary of an HR, employee or operator step's activities. */
const STEP_SUMMARIES: Record<string, string> = {
  withdraw: '登録依頼の取り下げ',
  invite: '登録依頼メール',
  submit: '登録内容の提出',
  approve: '承認',
  remand: '差戻し',
  refuse: '拒否',
  changeStatus: 'ステータスの変更（人事）',
  unlockLogin: 'ログインロック解除',
  setRetirement: '退職日の設定',
  scheduleDeletion: '削除予定日の設定',
  deleteNow: '即時削除',
  confirmDeletion: '削除の実行（確認済み）',
  retryNow: '再試行の指示（オペレーター）',
  extendLink: '登録用リンクの延長（オペレーター）',
  remindNow: 'リマインダーの即時送信（オペレーター）',
};

/** Reminder mails of a round so far (rounds from before remindersMailed: one per day dealt with). */
const mailedIn = (inv: InvitationRound) => inv.remindersMailed ?? inv.remindersSent;
/**
 * The i-th day's reminder went out (or was skipped) with the n-th key. The count of mails moves only
 * where a days change started it: elsewhere the keys stay `remindersSent + 1`, as runs from before
 * it computed them on replay.
 */
function reminded(inv: InvitationRound, i: number, n: number, day: number | undefined): void {
  inv.remindersSent = i + 1;
  if (inv.remindersMailed !== undefined) inv.remindersMailed = n;
  if (day !== undefined) inv.remindedThroughDay = day;
}
const refuse = (code: LifecycleRefusal) => ApplicationFailure.create({ type: 'LifecycleRefusal', message: code, nonRetryable: true });

/** One delivery workflow per webhook delivery a step wrote; abandoned, so it outlives this workflow. */
async function deliverWebhooks(ids: string[] | undefined): Promise<void> {
  for (const deliveryId of ids ?? []) {
    try {
      await startChild<typeof webhookDeliveryWorkflow>('webhookDeliveryWorkflow', {
        workflowId: webhookDeliveryWorkflowId(deliveryId),
        args: [{ deliveryId }],
        parentClosePolicy: ParentClosePolicy.ABANDON,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }
}

/** Fills what a state carried from an earlier release lacks. */
function withDefaults(s: LifecycleState): LifecycleState {
  return { ...s, attention: s.attention ?? {}, handled: s.handled ?? [], counts: s.counts ?? {} };
}

interface Due {
  /** names the step in state.attention */
  name: string;
  kind: TimerKind;
  at: number;
  /** the timer's summary in the Temporal UI */
  label: string;
  run: (acts: Activities) => Promise<void>;
  /** what a business error of the step means (the default: the workflow stops, the person is gone) */
  onBusinessError?: (type: string) => void;
}

export async function lifecycle(input: RegistrantWorkflowInput): Promise<LifecycleState> {
  const { workflowId, firstExecutionRunId } = workflowInfo();
  // The chain: kept across continue-as-new and reset, new for a registrant's later workflow (revived
  // after a termination), so a later workflow never finds an earlier one's step already done.
  const chain = `${workflowId}/${firstExecutionRunId}`;
  const registrantId = input.registrantId;
  const usable = (days: number[]) => days.filter((d) => d > 0 && d < INVITE_VALID_DAYS);
  // The tenant may change them while the person waits (reminderDaysSignal); carried on continue-as-new.
  let reminderInput = input.reminderDays;
  let reminderDays = usable(reminderInput);
  const state: LifecycleState = withDefaults(
    input.carried ?? {
      status: input.status ?? 'unregistered',
      loginLocked: input.status === 'completed',
      invitation: null,
      retirementDate: null,
      retired: false,
      deletion: null,
      deleted: false,
      seq: 0,
    },
  );
  const attention = state.attention!;
  const counts = state.counts!;
  // Runs started before the patch keep publishing what they published (their histories replay).
  const publishesNextTimer = patched(NEXT_TIMER_PATCH);
  // Decided once at the start of a run (a marker in a handler's task upsets the time-skipping server).
  const retryNowKeepsWaiting = patched(RETRY_NOW_PATCH);
  // The sandbox has no structuredClone; the state is plain JSON anyway.
  const snapshot = (): LifecycleState => JSON.parse(JSON.stringify(state)) as LifecycleState;

  /** The key of the next step of this kind; counted once the step is done. */
  const keyFor = (kind: string, args: unknown) => stepKey(chain, kind, (counts[kind] ?? 0) + 1, args);
  const counted = (kind: string) => {
    counts[kind] = (counts[kind] ?? 0) + 1;
    state.seq++;
  };

  // ---- one step at a time
  const lock = new Mutex();
  let changed = false;
  // The state as the last finished step left it: validators judge a request by it, never by the
  // half-done state of a step in flight (a resend must not slip in while a remand is mailing).
  let committed = snapshot();
  function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return lock.runExclusive(async () => {
      try {
        return await fn();
      } finally {
        changed = true;
        committed = snapshot();
        publish();
      }
    });
  }

  let published = '';
  function publish() {
    const next = publishesNextTimer ? earliest(candidates()) : undefined;
    const values = lifecycleAttributes(input.tenantId, state, next === undefined ? undefined : next && { kind: next.kind, at: new Date(dueAt(next)).toISOString() });
    // Only changes reach the history.
    const signature = JSON.stringify(values);
    if (signature === published) return;
    published = signature;
    upsertSearchAttributes([...searchAttributePairs(values)] as Parameters<typeof upsertSearchAttributes>[0]);
  }

  // ---- outages
  function flag(name: string, err: unknown, retryAt?: number) {
    const before = attention[name];
    attention[name] = {
      since: before?.since ?? new Date(Date.now()).toISOString(),
      rounds: (before?.rounds ?? 0) + 1,
      errorType: failureClass(err),
      ...(retryAt !== undefined ? { retryAt: new Date(retryAt).toISOString() } : {}),
    };
    log.warn('lifecycle step waits on a failed dependency', { step: name, rounds: attention[name].rounds, errorType: attention[name].errorType });
    publish();
  }
  function settle(name: string) {
    if (!attention[name]) return;
    delete attention[name];
    publish();
  }

  /**
   * An HR or employee step's activity, tried round after round (the caller's request is answered
   * "pending" meanwhile) until it succeeds, fails for a business reason (which fails the update), or
   * its dependency stays away for REQUEST_ROUNDS rounds: then the update fails as
   * DependencyUnavailable, nothing done, and the person's turn is free again.
   */
  async function durably<T>(name: string, call: (acts: Activities) => Promise<T>): Promise<T> {
    try {
      for (let round = 1; ; round++) {
        try {
          return await call(activitiesForRound(round, STEP_SUMMARIES[name]));
        } catch (err) {
          const business = businessError(err);
          if (business) throw asUpdateFailure(business);
          if (!isOutage(err)) throw err;
          flag(name, err);
          // Mail paused by an operator: no point waiting a round, the request is not done.
          if (round >= REQUEST_ROUNDS || failureClass(err) === MAIL_PAUSED) throw dependencyUnavailable();
          await sleep(BETWEEN_ROUNDS_MS, { summary: `${name}（再試行待ち）` });
        }
      }
    } finally {
      settle(name);
    }
  }

  // Decided by the state: an approved person whom HR unlocked may change their registration.
  const editable = (s: LifecycleState) => mayChangeRegistration(s);

  // ---- checks shared by validators (on the committed state) and handlers (on the state once it is
  // their turn: it may have changed while they waited)
  type Check<A> = (s: LifecycleState, arg: A) => void;
  const mustLive = (s: LifecycleState) => {
    if (s.deleted) throw refuse('DELETED');
  };
  const checkInvite = (s: LifecycleState) => {
    mustLive(s);
    if (s.retired) throw refuse('NOT_INVITABLE_RETIRED');
    if (s.loginLocked) throw refuse('NOT_INVITABLE_LOCKED');
    if (s.status === 'pending') throw refuse('NOT_INVITABLE_PENDING');
  };
  const checkSubmit = (s: LifecycleState) => {
    mustLive(s);
    if (!editable(s)) throw refuse('NOT_EDITABLE');
    if (s.invitation?.state !== 'open' || s.retired) throw refuse('INVITATION_NOT_OPEN');
  };
  const checkPending = (s: LifecycleState) => {
    mustLive(s);
    if (s.status !== 'pending') throw refuse('NOT_PENDING');
  };
  const checkReason = (reason?: string) => {
    if (!reason?.trim()) throw refuse('REASON_REQUIRED');
  };
  const checkDecisionWithReason: Check<{ reason?: string }> = (s, { reason }) => {
    checkPending(s);
    checkReason(reason);
  };
  const checkWithdraw = (s: LifecycleState) => {
    mustLive(s);
    if (s.invitation?.state !== 'open' && !s.mailDue) throw refuse('INVITATION_CLOSED');
  };
  const checkUnlock = (s: LifecycleState) => {
    mustLive(s);
    if (!s.loginLocked) throw refuse('NOT_LOCKED');
  };
  const checkRetirement: Check<{ retirementDate: string | null }> = (s, { retirementDate }) => {
    mustLive(s);
    if (retirementDate === null && s.retired) throw refuse('RETIREMENT_FIXED');
  };
  const checkSchedule: Check<{ dueDate: string | null }> = (s, { dueDate }) => {
    mustLive(s);
    if (!s.retirementDate) throw refuse('NOT_RETIRED_FOR_DELETION');
    if (dueDate === null && !s.deletion) throw refuse('NO_DELETION_SCHEDULED');
    if (dueDate !== null && dueDate < japanDate(Date.now())) throw refuse('DELETION_DATE_PAST');
  };
  const checkStatusChange: Check<StatusChangeRequest> = (s, { status, reason, verificationMethod }) => {
    mustLive(s);
    if (s.status === status) throw refuse('STATUS_UNCHANGED');
    if (!MANUAL_STATUS_MOVES[status]?.includes(s.status)) throw refuse('STATUS_CHANGE_NOT_ALLOWED');
    if (status === 'completed') {
      if (!verificationMethod) throw refuse('VERIFICATION_METHOD_REQUIRED');
    } else checkReason(reason);
  };
  const checkDeleteNow: Check<{ kind: string; dependentId?: string }> = (s, { kind, dependentId }) => {
    mustLive(s);
    if (kind === 'dependent' && !dependentId) throw refuse('DEPENDENT_REQUIRED');
  };

  /** The next round's dates: 90 days from now. */
  function nextRound(kind: MailDue['kind'], actor: StepActor, options?: InviteOptions): MailDue {
    const invitedAt = Date.now();
    return { kind, round: (state.invitation?.round ?? 0) + 1, invitedAt: new Date(invitedAt).toISOString(), expiresAt: new Date(invitedAt + INVITE_VALID_DAYS * DAY_MS).toISOString(), actor, options };
  }
  const sendRound = (acts: Activities, m: MailDue) =>
    acts.sendInvitationMail({ registrantId, key: `${chain}/round/${m.round}/${m.kind}`, kind: m.kind, expiresAt: m.expiresAt, round: m.round, options: m.options, actor: m.actor });
  /** The round begins once its mail is out: a new link (the old ones died with it), 90 days. */
  function begin(m: MailDue) {
    state.invitation = { round: m.round, invitedAt: m.invitedAt, expiresAt: m.expiresAt, remindersSent: 0, state: 'open' };
    if (state.mailDue?.round === m.round) delete state.mailDue;
  }
  /** Whether a mail still due is still wanted: nothing newer began, and the person may get it. */
  function stillWanted(m: MailDue): boolean {
    if (state.deleted || m.round !== (state.invitation?.round ?? 0) + 1) return false;
    if (m.kind === 'remand') return state.status === 'remanded' && !state.retired;
    return !state.retired && !state.loginLocked && state.status !== 'pending';
  }

  // ---- messages
  setHandler(lifecycleQuery, () => snapshot());
  setHandler(upcomingQuery, () =>
    candidates()
      .sort((a, b) => a.at - b.at)
      .map(({ name, kind, at, label }) => ({ name, kind, at: new Date(at).toISOString(), label, ...(attention[name] ? { attention: { ...attention[name] } } : {}) })),
  );
  // The first API (invitation only) asked this query; it still answers in its terms.
  setHandler(statusQuery, () => ({
    stage: state.invitation ? (state.invitation.state === 'withdrawn' || state.invitation.state === 'expired' ? state.invitation.state : 'invited') : 'inviting',
    invitedAt: state.invitation?.invitedAt,
    expiresAt: state.invitation?.expiresAt,
    remindersSent: state.invitation ? mailedIn(state.invitation) : 0,
  }));

  /**
   * An HR or employee step. The validator refuses at once what the state does not allow; the
   * handler waits its turn and checks again. A request already carried out (same update id, e.g. an
   * API retry with the same Idempotency-Key after continue-as-new) answers the state and does nothing.
   */
  function step<A>(update: UpdateDefinition<LifecycleState, [A]>, check: (s: LifecycleState, arg: NoInfer<A>) => void, run: (arg: NoInfer<A>) => Promise<void>) {
    const repeated = (id: string | undefined) => id !== undefined && state.handled!.includes(id);
    setHandler(
      update,
      (arg: A) => {
        const id = currentUpdateInfo()?.id;
        return exclusive(async () => {
          if (repeated(id)) return snapshot();
          check(state, arg);
          await run(arg);
          if (id !== undefined) state.handled = [...state.handled!, id].slice(-HANDLED_KEPT);
          return snapshot();
        });
      },
      {
        validator: (arg: A) => {
          if (!repeated(currentUpdateInfo()?.id)) check(committed, arg);
        },
      },
    );
  }

  /**
   * No more mail, the links die. A round whose mail an outage still holds up is dropped (nothing went
   * out). `actor` is recorded with the withdrawal; without one the caller records it (the signal's
   * API did).
   */
  const withdraw = async (actor?: StepActor) => {
    delete state.mailDue;
    const inv = state.invitation;
    if (inv?.state !== 'open') return;
    await durably('withdraw', (acts) => acts.closeInvitation({ registrantId, state: 'withdrawn', actor }));
    inv.state = 'withdrawn';
  };
  step(withdrawUpdate, checkWithdraw, ({ actor }) => withdraw(actor));
  // Callers from before the withdraw update: tracked (an async handler), so continue-as-new waits for
  // it, and a failure is logged rather than failing the workflow.
  setHandler(withdrawSignal, async () => {
    await exclusive(async () => {
      if (state.deleted) return;
      await withdraw().catch((err: unknown) => log.warn('withdrawal by signal failed', { errorType: failureClass(err) }));
    });
  });

  setHandler(reminderDaysSignal, async (payload) => {
    // Signals have no validator: one without a list (sent by hand) is dropped here, since throwing
    // would fail this and every later workflow task of the person. (A list is taken as before: old
    // histories replay as they ran.)
    const days: unknown = (payload as { days?: unknown } | null)?.days;
    if (!Array.isArray(days)) return log.warn('reminder days signal ignored: no list of days');
    const next = usable(days as number[]);
    // Days it already has: nothing at all happens (a wake of the loop would restart its timer).
    if (next.join(',') === reminderDays.join(',')) return;
    // A signal a worker without this handler took (a rolling deploy) did nothing; it replays so.
    if (!patched(REMINDER_DAYS_PATCH)) return;
    await exclusive(async () => {
      if (next.join(',') === reminderDays.join(',')) return;
      const before = reminderDays;
      reminderInput = days;
      reminderDays = next;
      // Days of the new list already past count as dealt with: the next reminder is the first still ahead.
      const inv = state.invitation;
      if (inv?.state !== 'open') return;
      const past = (d: number) => Date.parse(inv.invitedAt) + d * DAY_MS <= Date.now();
      if (patched(REMINDER_DAYS_BY_DAY_PATCH)) {
        // So do the days up to the last reminder's own (one an operator sent early covered its day).
        const through = inv.remindedThroughDay ?? (inv.remindersSent > 0 ? (before[inv.remindersSent - 1] ?? 0) : 0);
        inv.remindersMailed = mailedIn(inv);
        inv.remindersSent = next.filter((d) => past(d) || d <= through).length;
      } else inv.remindersSent = Math.max(inv.remindersSent, next.filter(past).length);
    });
  });

  step(
    inviteUpdate,
    checkInvite,
    async ({ actor, options }) => {
      // 紙の登録依頼書 joins a round already open (another HR user's sheets, handed out, keep working):
      // only a person without one gets a new round. (No history before paper asks this.)
      if (options?.paper && state.invitation?.state === 'open') return;
      // Nothing of the round changes until the mail is out: a mail server away for long fails this
      // request (DependencyUnavailable), and the links the person has keep working.
      const round = nextRound('invitation', actor, options);
      await durably('invite', (acts) => sendRound(acts, round));
      begin(round);
    },
  );

  step(
    submitUpdate,
    checkSubmit,
    async ({ actor }) => {
      // DraftIncomplete (a business error) fails the update and changes nothing.
      const key = keyFor('submit', null);
      await durably('submit', (acts) => acts.submitDraft({ registrantId, key, actor }));
      counted('submit');
      state.status = 'pending';
      state.invitation!.state = 'submitted';
    },
  );

  step(
    approveUpdate,
    checkPending,
    async ({ actor, dependentId }) => {
      const key = keyFor('approve', { dependentId: dependentId ?? null });
      const result = await durably('approve', (acts) => acts.decide({ registrantId, key, decision: 'approved', actor, dependentId }));
      counted('approve');
      await deliverWebhooks(result.webhookDeliveries);
      if (result.registrantStatus === 'completed') {
        state.status = 'completed';
        state.loginLocked = true;
        if (state.invitation) state.invitation.state = 'closed';
      }
    },
  );

  step(
    remandUpdate,
    checkDecisionWithReason,
    async ({ actor, reason, dependentId }) => {
      const key = keyFor('remand', { dependentId: dependentId ?? null, reason: reason!.trim() });
      const result = await durably('remand', (acts) => acts.decide({ registrantId, key, decision: 'remanded', actor, dependentId, reason }));
      counted('remand');
      await deliverWebhooks(result.webhookDeliveries);
      state.status = 'remanded';
      // The employee must be able to fix it: the reason (read from the row) goes out with a fresh
      // 90-day link. The decision stands whatever the mail server does; a mail it cannot take now
      // is left to the loop, which sends it when the server is back.
      const round = nextRound('remand', actor);
      try {
        await durably('remand', (acts) => sendRound(acts, round));
        begin(round);
      } catch (err) {
        if (!(err instanceof ApplicationFailure)) throw err;
        if (err.type === 'DependencyUnavailable') state.mailDue = round;
        else log.warn('remand mail not sent', { errorType: err.type }); // no address, or refused: HR resends
      }
    },
  );

  step(
    refuseUpdate,
    checkDecisionWithReason,
    async ({ actor, reason }) => {
      const key = keyFor('refuse', { reason: reason!.trim() });
      await durably('refuse', (acts) => acts.decide({ registrantId, key, decision: 'refused', actor, reason }));
      counted('refuse');
      state.status = 'refused';
      if (state.invitation) state.invitation.state = 'closed';
    },
  );

  step(
    changeStatusUpdate,
    checkStatusChange,
    async ({ actor, status, reason, verificationMethod }) => {
      const key = keyFor('status_changed', { status, reason: reason?.trim() ?? null, verificationMethod: verificationMethod ?? null });
      const result = await durably('changeStatus', (acts) => acts.changeStatus({ registrantId, key, status, reason, verificationMethod, actor }));
      counted('status_changed');
      await deliverWebhooks(result.webhookDeliveries);
      state.status = status;
      if (status === 'unregistered') return;
      // Decided by HR: no more mail, the links (and with them the reminders and the expiry) end.
      delete state.mailDue;
      if (state.invitation) state.invitation.state = 'closed';
      if (status === 'completed') state.loginLocked = true;
    },
  );

  step(
    unlockLoginUpdate,
    checkUnlock,
    async ({ actor }) => {
      const key = keyFor('login_unlocked', null);
      await durably('unlockLogin', (acts) => acts.recordStep({ registrantId, key, step: { type: 'login_unlocked' }, actor }));
      counted('login_unlocked');
      state.loginLocked = false;
    },
  );

  step(
    setRetirementUpdate,
    checkRetirement,
    async ({ actor, retirementDate, deletion }) => {
      const key = keyFor('retirement_set', { retirementDate, deletion });
      await durably('setRetirement', (acts) => acts.recordStep({ registrantId, key, step: { type: 'retirement_set', retirementDate, deletion }, actor }));
      counted('retirement_set');
      state.retirementDate = retirementDate;
      state.deletion = retirementDate && deletion ? { ...deletion, noticeSent: false } : null;
    },
  );

  step(
    scheduleDeletionUpdate,
    checkSchedule,
    async ({ actor, dueDate }) => {
      const kind = dueDate ? 'deletion_scheduled' : 'deletion_cancelled';
      const key = keyFor(kind, { dueDate });
      await durably('scheduleDeletion', (acts) => acts.recordStep({ registrantId, key, step: dueDate ? { type: 'deletion_scheduled', dueDate } : { type: 'deletion_cancelled' }, actor }));
      counted(kind);
      state.deletion = dueDate ? { dueDate, rule: 'manual', noticeSent: false } : null;
    },
  );

  const checkConfirmDeletion = (s: LifecycleState) => {
    mustLive(s);
    if (!s.deletion?.awaiting) throw refuse('NO_DELETION_AWAITING');
  };
  step(confirmDeletionUpdate, checkConfirmDeletion, async ({ actor }) => {
    const deletion = state.deletion!;
    await durably('confirmDeletion', (acts) => scheduledDeletion(acts, deletion, actor, true));
  });

  step(
    deleteNowUpdate,
    checkDeleteNow,
    async ({ actor, kind, dependentId }) => {
      const key = keyFor(`delete-${kind}`, { dependentId: dependentId ?? null });
      const shredded = await durably('deleteNow', (acts) => acts.shred({ registrantId, kind, dependentId, rule: 'immediate', dueDate: null, actor, stepKey: key }));
      counted(`delete-${kind}`);
      await deliverWebhooks(shredded.webhookDeliveries);
      if (kind === 'registrant') {
        state.deleted = true;
        state.deletion = null;
        if (state.invitation) state.invitation.state = 'closed';
      } else if (kind === 'numbers') {
        // Nothing is left to approve: the person registers again if asked to.
        state.status = 'unregistered';
        state.loginLocked = false;
      }
    },
  );

  // ---- operators' steps
  const waiting = (s: LifecycleState) => Object.entries(s.attention ?? {}).filter(([, a]) => a.retryAt).map(([name]) => name);
  const checkRetryNow = (s: LifecycleState) => {
    mustLive(s);
    if (waiting(s).length === 0) throw refuse('NOTHING_TO_RETRY');
  };
  const openLink = (s: LifecycleState) => {
    mustLive(s);
    if (s.invitation?.state !== 'open' || s.retired || Date.parse(s.invitation.expiresAt) <= Date.now()) throw refuse('LINK_NOT_OPEN');
    return s.invitation;
  };
  /** The extended expiry: `days` later, but never more than a new link's 90 days from now. */
  const extendedExpiry = (expiresAt: string, days: number) => Math.min(Date.parse(expiresAt) + days * DAY_MS, Date.now() + INVITE_VALID_DAYS * DAY_MS);
  const checkExtend: Check<{ days: number }> = (s, { days }) => {
    const inv = openLink(s);
    if (!Number.isInteger(days) || days < 1 || days > MAX_LINK_EXTENSION_DAYS || extendedExpiry(inv.expiresAt, days) <= Date.parse(inv.expiresAt)) throw refuse('EXTENSION_INVALID');
  };
  const checkRemindNow = (s: LifecycleState) => {
    const inv = openLink(s);
    if (!editable(s) || inv.remindersSent >= reminderDays.length) throw refuse('NO_REMINDER_DUE');
  };

  step(retryNowUpdate, checkRetryNow, async ({ actor }) => {
    const steps = waiting(state);
    const key = keyFor('retry_requested', { steps });
    await durably('retryNow', (acts) => acts.recordStep({ registrantId, key, step: { type: 'retry_requested', steps }, actor }));
    counted('retry_requested');
    // Due at once: the loop wakes (the update changed the state) and runs them in turn. A step the
    // loop settled meanwhile is gone; one still waiting keeps a retryAt, so it stays "waiting" and is
    // settled like any other once it is no longer due.
    // (Runs from before the patch dropped retryAt instead; they replay that way.)
    const now = new Date(Date.now()).toISOString();
    for (const name of steps) {
      const entry = attention[name];
      if (!entry?.retryAt) continue;
      if (retryNowKeepsWaiting) entry.retryAt = now;
      else delete entry.retryAt;
    }
  });

  step(extendLinkUpdate, checkExtend, async ({ actor, days }) => {
    const inv = state.invitation!;
    const expiresAt = new Date(extendedExpiry(inv.expiresAt, days)).toISOString();
    const key = keyFor('link_extended', { expiresAt });
    await durably('extendLink', (acts) => acts.recordStep({ registrantId, key, step: { type: 'link_extended', from: inv.expiresAt, expiresAt }, actor }));
    counted('link_extended');
    inv.expiresAt = expiresAt;
  });

  step(remindNowUpdate, checkRemindNow, async ({ actor }) => {
    const inv = state.invitation!;
    const i = inv.remindersSent;
    const n = mailedIn(inv) + 1;
    const day = reminderDays[i];
    // The scheduled reminder's own key: it goes out once, now or on its day, never both.
    await durably('remindNow', (acts) =>
      acts.sendInvitationMail({ registrantId, key: `${chain}/round/${inv.round}/reminder/${n}`, kind: 'reminder', expiresAt: inv.expiresAt, round: inv.round, actor }),
    );
    reminded(inv, i, n, day);
  });

  // ---- timers: the earliest thing due, from the state alone
  function candidates(): Due[] {
    const list: Due[] = [];
    const mail = state.mailDue;
    if (mail && stillWanted(mail)) {
      list.push({
        name: `${mail.kind}-mail-${mail.round}`,
        kind: mail.kind === 'remand' ? 'remand-mail' : 'invitation-mail',
        at: Date.parse(mail.invitedAt),
        label: mail.kind === 'remand' ? '差戻しメール' : '登録依頼メール',
        run: async (acts) => {
          await sendRound(acts, mail);
          begin(mail);
        },
        // No address, or the server refuses it: nothing to mail; HR sees the person not invited.
        onBusinessError: (type) => {
          if (type === 'RegistrantNotFound') return stop();
          delete state.mailDue;
        },
      });
    }
    const inv = state.invitation;
    if (inv?.state === 'open') {
      const i = inv.remindersSent;
      const n = mailedIn(inv) + 1;
      const day = reminderDays[i];
      const expiresAt = Date.parse(inv.expiresAt);
      const at = Date.parse(inv.invitedAt) + (day ?? 0) * DAY_MS;
      // A reminder that could not go out before the link died is not sent at all.
      if (i < reminderDays.length && editable(state) && at < expiresAt && Date.now() < expiresAt) {
        list.push({
          name: `reminder-${inv.round}-${n}`,
          kind: 'reminder',
          at,
          label: `リマインダー ${n} 回目`,
          run: async (acts) => {
            await acts.sendInvitationMail({ registrantId, key: `${chain}/round/${inv.round}/reminder/${n}`, kind: 'reminder', expiresAt: inv.expiresAt, round: inv.round, actor: SYSTEM });
            reminded(inv, i, n, day);
          },
          // No address any more (HR removed it), or refused: this reminder is skipped, the link still works.
          onBusinessError: (type) => {
            if (type === 'RegistrantNotFound') return stop();
            reminded(inv, i, n, day);
          },
        });
      }
      list.push({
        name: `expiry-${inv.round}`,
        kind: 'link-expiry',
        at: expiresAt,
        label: '登録用リンクの期限',
        run: async (acts) => {
          await acts.closeInvitation({ registrantId, state: 'expired' });
          inv.state = 'expired';
        },
      });
    }
    if (state.retirementDate && !state.retired) {
      const retirementDate = state.retirementDate;
      list.push({
        name: 'retirement',
        kind: 'retirement',
        at: startOfJapanDay(retirementDate),
        label: '退職日',
        run: async (acts) => {
          await acts.recordStep({ registrantId, key: keyFor('retired', { retirementDate }), step: { type: 'retired', retirementDate }, actor: SYSTEM });
          counted('retired');
          state.retired = true;
          if (state.invitation?.state === 'open') state.invitation.state = 'closed';
        },
      });
    }
    const deletion = state.deletion;
    if (deletion && state.retirementDate) {
      const dueAt = startOfJapanDay(deletion.dueDate);
      if (!deletion.noticeSent) {
        list.push({
          name: 'deletion-notice',
          kind: 'deletion-notice',
          at: dueAt - DELETION_NOTICE_DAYS * DAY_MS,
          label: '削除予定のお知らせ',
          run: async (acts) => {
            await acts.noticeDeletionDue({ tenantId: input.tenantId, registrantId, dueDate: deletion.dueDate });
            deletion.noticeSent = true;
          },
        });
      }
      // Never before the person has retired, whatever date HR typed (nor while their retirement
      // step waits out an outage). One waiting for HR's confirmation waits for confirmDeletion.
      if (state.retired && !deletion.awaiting) {
        list.push({
          name: 'deletion',
          kind: 'deletion',
          at: Math.max(dueAt, startOfJapanDay(state.retirementDate)),
          label: '削除予定日',
          run: (acts) => scheduledDeletion(acts, deletion, SYSTEM),
        });
      }
    }
    return list;
  }

  /**
   * The scheduled deletion, on its day or confirmed by HR. In the tenant's confirmed mode the day's
   * step only queues it (the activity answers `awaiting`): the timer stops and HR's confirmDeletion
   * carries it out under the same key.
   */
  async function scheduledDeletion(acts: Activities, deletion: NonNullable<LifecycleState['deletion']>, actor: StepActor, confirmed = false): Promise<void> {
    const key = keyFor('scheduled-deletion', { dueDate: deletion.dueDate, rule: deletion.rule });
    const shredded = await acts.shred({ registrantId, kind: 'scheduled', rule: deletion.rule, dueDate: deletion.dueDate, actor, stepKey: key, ...(confirmed ? { confirmed } : {}) });
    if (shredded.awaiting) {
      deletion.awaiting = true;
      return;
    }
    counted('scheduled-deletion');
    await deliverWebhooks(shredded.webhookDeliveries);
    state.deletion = null;
    if (shredded.scope === 'numbers') {
      // The tenant keeps people's records and deletes their numbers: the person stays, unregistered.
      state.status = 'unregistered';
      state.loginLocked = false;
      if (state.invitation?.state === 'open') state.invitation.state = 'closed';
    } else {
      state.deleted = true;
    }
  }

  /** The person's row is gone (a business error of a timer step): nothing is left to look after. */
  function stop() {
    state.deleted = true;
    state.deletion = null;
  }

  /** When a step is due: its date, or later while it waits out an outage. */
  const dueAt = (d: Due) => Math.max(d.at, attention[d.name]?.retryAt ? Date.parse(attention[d.name]!.retryAt!) : 0);

  /** The step due first (candidates() is pure: queries and publish() call it too). */
  const earliest = (list: Due[]): Due | null => list.reduce<Due | null>((first, d) => (first && dueAt(first) <= dueAt(d) ? first : d), null);

  function nextDue(): Due | null {
    // A mail no longer wanted (something newer began, the person retired) is dropped.
    if (state.mailDue && !stillWanted(state.mailDue)) delete state.mailDue;
    const list = candidates();
    // A failed step that is no longer due (the link was withdrawn meanwhile) stops waiting.
    for (const name of Object.keys(attention)) {
      if (attention[name]!.retryAt && !list.some((d) => d.name === name)) settle(name);
    }
    return earliest(list);
  }

  /** Runs the step due now, if any (under the turn: a handler may have moved the date meanwhile). */
  async function runDue(): Promise<void> {
    const due = nextDue();
    if (!due || dueAt(due) > Date.now()) return;
    try {
      // Short rounds: the person's turn is held at most a round's 5 minutes.
      await due.run(activitiesForRound(1, due.label));
      settle(due.name);
    } catch (err) {
      const business = businessError(err);
      if (business) {
        settle(due.name);
        log.warn('lifecycle step refused by the database', { step: due.name, errorType: business.type });
        return (due.onBusinessError ?? stop)(business.type ?? '');
      }
      if (!isOutage(err)) throw err;
      flag(due.name, err, Date.now() + timerStepBackoffMs((attention[due.name]?.rounds ?? 0) + 1));
    }
  }

  // Before the patch the first publish came before the invitation was due: it cleared the next
  // timer the start request had set until the invitation's round ended.
  const publishesAfterInvite = patched(FIRST_PUBLISH_PATCH);
  if (!publishesAfterInvite) publish();
  // The first invitation is a step of the loop like any due mail: an outage holds up its mail, not
  // the person's turn.
  if (!input.carried && input.invite !== false) {
    state.mailDue = nextRound('invitation', input.startedBy ?? SYSTEM, input.invite || undefined);
    committed = snapshot();
  }
  if (publishesAfterInvite) publish();

  while (!state.deleted) {
    changed = false;
    const next = nextDue();
    const wait = next ? dueAt(next) - Date.now() : undefined;
    const wake = () => changed || workflowInfo().continueAsNewSuggested;
    let woken = false;
    if (wait === undefined) woken = await condition(wake).then(() => true);
    else if (wait > 0) woken = await condition(wake, wait, { summary: attention[next!.name] ? `${next!.label}（再試行）` : next!.label });
    if (!woken) await exclusive(runDue);
    if (workflowInfo().continueAsNewSuggested) {
      await condition(() => !lock.isLocked() && allHandlersFinished());
      await continueAsNew<typeof registrantWorkflow>({ ...input, reminderDays: reminderInput, invite: false, carried: state });
    }
  }
  await condition(allHandlersFinished);
  return state;
}
