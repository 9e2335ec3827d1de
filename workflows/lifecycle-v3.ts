/**
 * The lifecycle as released up to the safe-steps release (v2 with webhooks and reopening: "v3").
 * Runs started on it replay on this code; nothing new starts here. Do not change it: only the
 * upgrade hook at the loop's wake was added, behind UPGRADE_PATCH, so a running v3 workflow
 * continues as new on the current lifecycle (workflows/lifecycle.ts) at its next wake, and two plain
 * variables it reads (steps waiting for their turn, update ids carried out).
 *
 * Known defects kept for replay (fixed in the current lifecycle): the turn-taking below admits every
 * waiter at once; a timer step's failure fails the workflow; the withdraw signal's work is untracked.
 */
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  currentUpdateInfo,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createActivities } from '../activities';
import {
  approveUpdate,
  BUSINESS_ERRORS,
  DELETION_NOTICE_DAYS,
  deleteNowUpdate,
  INVITE_VALID_DAYS,
  inviteUpdate,
  lifecycleQuery,
  mayChangeRegistration,
  refuseUpdate,
  remandUpdate,
  scheduleDeletionUpdate,
  SEARCH_ATTRIBUTES,
  setRetirementUpdate,
  startOfJapanDay,
  statusQuery,
  submitUpdate,
  unlockLoginUpdate,
  webhookDeliveryWorkflowId,
  withdrawSignal,
  japanDate,
  type DecisionRequest,
  type InviteOptions,
  type InviteRequest,
  type LifecycleRefusal,
  type LifecycleState,
  type MailKind,
  type RegistrantWorkflowInput,
  type StepActor,
} from '../shared';
import type { registrantWorkflow } from './registrant';
import type { webhookDeliveryWorkflow } from './webhook-delivery';

const acts = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...BUSINESS_ERRORS],
  },
});

const DAY_MS = 24 * 60 * 60 * 1000;
const SYSTEM: StepActor = { type: 'system', id: null };

/** Decisions and deletions report to payroll's webhooks from this release on. */
export const WEBHOOKS_PATCH = 'webhooks-v1';
/** From this release on, an approved person whom HR unlocked may change their registration and send it again. */
export const REOPEN_PATCH = 'reopen-after-unlock-v1';

/** A v3 run continues as new on the current lifecycle at its next wake. */
export const UPGRADE_PATCH = 'upgrade-to-safe-steps-v4';

/**
 * Starts one delivery workflow per webhook delivery a step wrote. Abandoned children: a delivery
 * keeps retrying after this workflow ends (a deletion is reported after the data is gone).
 */
async function deliverWebhooks(ids: string[] | undefined): Promise<void> {
  // Activity results recorded before this release have no ids: nothing to start, no marker.
  if (!ids?.length || !patched(WEBHOOKS_PATCH)) return;
  for (const deliveryId of ids) {
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

/**
 * A business error of an activity (DraftIncomplete, DependentNotFound…) fails the update as itself,
 * so the caller gets its type and details rather than a wrapped activity failure.
 */
async function unwrapBusiness<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && (BUSINESS_ERRORS as readonly string[]).includes(err.cause.type ?? '')) {
      throw ApplicationFailure.create({ type: err.cause.type ?? undefined, message: err.cause.message, details: err.cause.details ?? undefined, nonRetryable: true });
    }
    throw err;
  }
}

const refuse = (code: LifecycleRefusal) => ApplicationFailure.create({ type: 'LifecycleRefusal', message: code, nonRetryable: true });

export async function lifecycleV3(input: RegistrantWorkflowInput): Promise<LifecycleState> {
  // Keys are unique to this workflow's first run, so a registrant's later workflow (restarted after
  // an upgrade or a termination) never finds an earlier run's mail or step already "done".
  const { workflowId, firstExecutionRunId } = workflowInfo();
  const keyBase = `${workflowId}/${firstExecutionRunId}`;
  const registrantId = input.registrantId;
  const reminderDays = input.reminderDays.filter((d) => d > 0 && d < INVITE_VALID_DAYS);
  const state: LifecycleState = input.carried ?? {
    status: input.status ?? 'unregistered',
    loginLocked: input.status === 'completed',
    invitation: null,
    retirementDate: null,
    retired: false,
    deletion: null,
    deleted: false,
    seq: 0,
  };
  // The sandbox has no structuredClone; the state is plain JSON anyway.
  const snapshot = (): LifecycleState => JSON.parse(JSON.stringify(state)) as LifecycleState;
  /** A unique, replay-stable idempotency key for the next database step. */
  const stepKey = (what: string) => `${keyBase}/step/${++state.seq}/${what}`;

  // Handlers and timer steps take turns: a step's activities finish before the next step checks state.
  let busy = false;
  let changed = false;
  // Added for the upgrade only (plain variables: no commands, so histories replay as they were): who
  // waits for a turn, and which updates were carried out, for the new run to remember.
  let waiting = 0;
  const handled: string[] = [];
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const updateId = currentUpdateInfo()?.id;
    waiting++;
    await condition(() => !busy);
    waiting--;
    busy = true;
    try {
      const result = await fn();
      if (updateId !== undefined) handled.push(updateId);
      return result;
    } finally {
      busy = false;
      changed = true;
      publish();
    }
  }

  function publish() {
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTES.tenant, value: input.tenantId },
      { key: SEARCH_ATTRIBUTES.status, value: state.deleted ? 'deleted' : state.retired ? `retired:${state.status}` : state.status },
      { key: SEARCH_ATTRIBUTES.inviteExpiresAt, value: state.invitation?.state === 'open' ? new Date(state.invitation.expiresAt) : null },
      { key: SEARCH_ATTRIBUTES.deletionDueAt, value: state.deletion ? new Date(startOfJapanDay(state.deletion.dueDate)) : null },
    ]);
  }

  // Decided once per run: runs started before this release keep their rule when they replay.
  const reopensAfterUnlock = patched(REOPEN_PATCH);
  // HR unlocking an approved person (seed 001: to correct data, or to add a newborn) reopens the registration.
  const editable = () => mayChangeRegistration(state, reopensAfterUnlock);

  // ---- checks shared by validators and handlers (state may change while a handler waits its turn)
  const mustLive = () => {
    if (state.deleted) throw refuse('DELETED');
  };
  const checkInvite = () => {
    mustLive();
    if (state.retired) throw refuse('NOT_INVITABLE_RETIRED');
    if (state.loginLocked) throw refuse('NOT_INVITABLE_LOCKED');
    if (state.status === 'pending') throw refuse('NOT_INVITABLE_PENDING');
  };
  const checkSubmit = () => {
    mustLive();
    if (!editable()) throw refuse('NOT_EDITABLE');
    if (state.invitation?.state !== 'open' || state.retired) throw refuse('INVITATION_NOT_OPEN');
  };
  const checkPending = () => {
    mustLive();
    if (state.status !== 'pending') throw refuse('NOT_PENDING');
  };
  const checkReason = (reason?: string) => {
    if (!reason?.trim()) throw refuse('REASON_REQUIRED');
  };

  /** A new invitation round: a new link (the old ones die) and 90 days from now. */
  async function startRound(actor: StepActor, kind: MailKind, options?: InviteOptions, remandReason?: string) {
    const round = (state.invitation?.round ?? 0) + 1;
    const invitedAt = Date.now();
    const expiresAt = new Date(invitedAt + INVITE_VALID_DAYS * DAY_MS).toISOString();
    await acts.sendInvitationMail({ registrantId, key: `${keyBase}/round/${round}/${kind}`, kind, expiresAt, round, options, remandReason, actor });
    state.invitation = { round, invitedAt: new Date(invitedAt).toISOString(), expiresAt, remindersSent: 0, state: 'open' };
  }

  // ---- messages
  setHandler(lifecycleQuery, () => snapshot());
  // The first API (invitation only) asked this query; it still answers in its terms.
  setHandler(statusQuery, () => ({
    stage: state.invitation ? (state.invitation.state === 'withdrawn' || state.invitation.state === 'expired' ? state.invitation.state : 'invited') : 'inviting',
    invitedAt: state.invitation?.invitedAt,
    expiresAt: state.invitation?.expiresAt,
    remindersSent: state.invitation?.remindersSent ?? 0,
  }));

  setHandler(withdrawSignal, () => {
    void exclusive(async () => {
      if (state.invitation?.state !== 'open') return;
      await acts.closeInvitation({ registrantId, state: 'withdrawn' });
      state.invitation.state = 'withdrawn';
    });
  });

  setHandler(
    inviteUpdate,
    ({ actor, options }) =>
      exclusive(async () => {
        checkInvite();
        // Paper joins a round already open (see lifecycle.ts); no history before paper asks this.
        if (!(options?.paper && state.invitation?.state === 'open')) await startRound(actor, 'invitation', options);
        return snapshot();
      }),
    { validator: (_: InviteRequest) => checkInvite() },
  );

  setHandler(
    submitUpdate,
    ({ actor }) =>
      exclusive(async () => {
        checkSubmit();
        // Throws DraftIncomplete (non-retryable) and changes nothing when the draft is not whole.
        await unwrapBusiness(acts.submitDraft({ registrantId, key: stepKey('submit'), actor }));
        state.status = 'pending';
        state.invitation!.state = 'submitted';
        return snapshot();
      }),
    { validator: (_: { actor: StepActor }) => checkSubmit() },
  );

  setHandler(
    approveUpdate,
    ({ actor, dependentId }) =>
      exclusive(async () => {
        checkPending();
        const result = await unwrapBusiness(acts.decide({ registrantId, key: stepKey('approve'), decision: 'approved', actor, dependentId }));
        await deliverWebhooks(result.webhookDeliveries);
        if (result.registrantStatus === 'completed') {
          state.status = 'completed';
          state.loginLocked = true;
          if (state.invitation) state.invitation.state = 'closed';
        }
        return snapshot();
      }),
    { validator: (_: DecisionRequest) => checkPending() },
  );

  setHandler(
    remandUpdate,
    ({ actor, reason, dependentId }) =>
      exclusive(async () => {
        checkPending();
        checkReason(reason);
        const result = await unwrapBusiness(acts.decide({ registrantId, key: stepKey('remand'), decision: 'remanded', actor, dependentId, reason }));
        await deliverWebhooks(result.webhookDeliveries);
        state.status = 'remanded';
        // The employee must be able to fix it: the reason goes out with a fresh 90-day link.
        await startRound(actor, 'remand', undefined, reason!.trim());
        return snapshot();
      }),
    {
      validator: ({ reason }) => {
        checkPending();
        checkReason(reason);
      },
    },
  );

  setHandler(
    refuseUpdate,
    ({ actor, reason }) =>
      exclusive(async () => {
        checkPending();
        checkReason(reason);
        await acts.decide({ registrantId, key: stepKey('refuse'), decision: 'refused', actor, reason });
        state.status = 'refused';
        if (state.invitation) state.invitation.state = 'closed';
        return snapshot();
      }),
    {
      validator: ({ reason }) => {
        checkPending();
        checkReason(reason);
      },
    },
  );

  setHandler(
    unlockLoginUpdate,
    ({ actor }) =>
      exclusive(async () => {
        mustLive();
        if (!state.loginLocked) throw refuse('NOT_LOCKED');
        await acts.recordStep({ registrantId, key: stepKey('step'), step: { type: 'login_unlocked' }, actor });
        state.loginLocked = false;
        return snapshot();
      }),
    {
      validator: (_: { actor: StepActor }) => {
        mustLive();
        if (!state.loginLocked) throw refuse('NOT_LOCKED');
      },
    },
  );

  const checkRetirement = (retirementDate: string | null) => {
    mustLive();
    if (retirementDate === null && state.retired) throw refuse('RETIREMENT_FIXED');
  };
  setHandler(
    setRetirementUpdate,
    ({ actor, retirementDate, deletion }) =>
      exclusive(async () => {
        checkRetirement(retirementDate);
        await acts.recordStep({ registrantId, key: stepKey('step'), step: { type: 'retirement_set', retirementDate, deletion }, actor });
        state.retirementDate = retirementDate;
        state.deletion = retirementDate && deletion ? { ...deletion, noticeSent: false } : null;
        return snapshot();
      }),
    { validator: ({ retirementDate }) => checkRetirement(retirementDate) },
  );

  const checkSchedule = (dueDate: string | null) => {
    mustLive();
    if (!state.retirementDate) throw refuse('NOT_RETIRED_FOR_DELETION');
    if (dueDate === null && !state.deletion) throw refuse('NO_DELETION_SCHEDULED');
    if (dueDate !== null && dueDate < japanDate(Date.now())) throw refuse('DELETION_DATE_PAST');
  };
  setHandler(
    scheduleDeletionUpdate,
    ({ actor, dueDate }) =>
      exclusive(async () => {
        checkSchedule(dueDate);
        await acts.recordStep({ registrantId, key: stepKey('step'), step: dueDate ? { type: 'deletion_scheduled', dueDate } : { type: 'deletion_cancelled' }, actor });
        state.deletion = dueDate ? { dueDate, rule: 'manual', noticeSent: false } : null;
        return snapshot();
      }),
    { validator: ({ dueDate }) => checkSchedule(dueDate) },
  );

  setHandler(
    deleteNowUpdate,
    ({ actor, kind, dependentId }) =>
      exclusive(async () => {
        mustLive();
        if (kind === 'dependent' && !dependentId) throw refuse('DEPENDENT_REQUIRED');
        const shredded = await unwrapBusiness(acts.shred({ registrantId, kind, dependentId, rule: 'immediate', dueDate: null, actor, stepKey: stepKey(`delete-${kind}`) }));
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
        return snapshot();
      }),
    {
      validator: ({ kind, dependentId }) => {
        mustLive();
        if (kind === 'dependent' && !dependentId) throw refuse('DEPENDENT_REQUIRED');
      },
    },
  );

  // ---- timers: the earliest thing due, from the state alone
  interface Due {
    at: number;
    run: () => Promise<void>;
  }
  function nextDue(): Due | null {
    const candidates: Due[] = [];
    const inv = state.invitation;
    if (inv?.state === 'open') {
      const i = inv.remindersSent;
      if (i < reminderDays.length && editable()) {
        candidates.push({
          at: Date.parse(inv.invitedAt) + reminderDays[i]! * DAY_MS,
          run: async () => {
            await acts.sendInvitationMail({ registrantId, key: `${keyBase}/round/${inv.round}/reminder/${i + 1}`, kind: 'reminder', expiresAt: inv.expiresAt, round: inv.round, actor: SYSTEM });
            inv.remindersSent = i + 1;
          },
        });
      }
      candidates.push({
        at: Date.parse(inv.expiresAt),
        run: async () => {
          await acts.closeInvitation({ registrantId, state: 'expired' });
          inv.state = 'expired';
        },
      });
    }
    if (state.retirementDate && !state.retired) {
      candidates.push({
        at: startOfJapanDay(state.retirementDate),
        run: async () => {
          await acts.recordStep({ registrantId, key: stepKey('step'), step: { type: 'retired', retirementDate: state.retirementDate! }, actor: SYSTEM });
          state.retired = true;
          if (state.invitation?.state === 'open') state.invitation.state = 'closed';
        },
      });
    }
    const deletion = state.deletion;
    if (deletion && state.retirementDate) {
      const dueAt = startOfJapanDay(deletion.dueDate);
      if (!deletion.noticeSent) {
        candidates.push({
          at: dueAt - DELETION_NOTICE_DAYS * DAY_MS,
          run: async () => {
            await acts.noticeDeletionDue({ tenantId: input.tenantId, registrantId, dueDate: deletion.dueDate });
            deletion.noticeSent = true;
          },
        });
      }
      // Never before the person has retired, whatever date HR typed.
      candidates.push({
        at: Math.max(dueAt, startOfJapanDay(state.retirementDate)),
        run: async () => {
          const shredded = await acts.shred({
            registrantId,
            kind: 'scheduled',
            rule: deletion.rule,
            dueDate: deletion.dueDate,
            actor: SYSTEM,
            stepKey: stepKey('scheduled-deletion'),
          });
          await deliverWebhooks(shredded.webhookDeliveries);
          state.deleted = true;
          state.deletion = null;
        },
      });
    }
    candidates.sort((a, b) => a.at - b.at);
    return candidates[0] ?? null;
  }

  publish();
  if (!input.carried && input.invite !== false) {
    await exclusive(() => startRound(input.startedBy ?? SYSTEM, 'invitation', input.invite || undefined));
  }

  while (!state.deleted) {
    changed = false;
    const next = nextDue();
    const wait = next ? next.at - Date.now() : undefined;
    const wake = () => changed || workflowInfo().continueAsNewSuggested;
    let woken = false;
    if (wait === undefined) woken = await condition(wake).then(() => true);
    else if (wait > 0) woken = await condition(wake, wait);
    // Released v3 runs move to the current lifecycle at their first wake after the upgrade: a new
    // run carrying the state. Replaying a v3 history finds no marker here and goes on as it did.
    if (patched(UPGRADE_PATCH)) {
      // Also after every step still waiting for its turn (a withdrawal by signal is not a tracked handler).
      await condition(() => !busy && waiting === 0 && allHandlersFinished());
      await continueAsNew<typeof registrantWorkflow>({ ...input, invite: false, carried: { ...state, handled: handled.slice(-100) } });
    }
    if (!woken) {
      await exclusive(async () => {
        // Re-derived under the turn: a handler may have moved the date meanwhile.
        const due = nextDue();
        if (due && due.at <= Date.now()) await due.run();
      });
    }
    if (workflowInfo().continueAsNewSuggested) {
      await condition(() => !busy && allHandlersFinished());
      await continueAsNew<typeof registrantWorkflow>({ ...input, invite: false, carried: state });
    }
  }
  await condition(allHandlersFinished);
  return state;
}
