/**
 * Steps that outlive outages. An activity is tried in rounds: within a round Temporal retries it
 * (no history events, attempts at most a minute apart at first); a round is bounded, after which the
 * workflow notes the failure (state.attention, the MynaflowNeedsAttention search attribute) and
 * decides what next:
 * - a timer step (reminder, expiry, retirement, deletion, a mail an outage held up) hands the
 *   person's turn back and tries another 5-minute round after a back-off of 1, 5, 15, then 30
 *   minutes, for as long as the outage lasts: it never holds the turn for more than 5 minutes, and
 *   runs at most half an hour after the dependency is back;
 * - an HR or employee request tries REQUEST_ROUNDS rounds (5, then 15 minutes) and then fails as
 *   DependencyUnavailable, nothing done.
 * Business errors are never retried: they end the step as themselves.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TemporalFailure } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { BUSINESS_ERRORS } from '../shared';

export type Activities = ReturnType<typeof createActivities>;

/** Each round's length and the longest wait between its attempts; later rounds take the last. */
const ROUNDS = [
  { minutes: 5, maximumInterval: '1 minute' },
  { minutes: 15, maximumInterval: '2 minutes' },
] as const;

const rounds = ROUNDS.map(({ minutes, maximumInterval }) =>
  proxyActivities<Activities>({
    // A mail waits for SMTP and then for PostgreSQL to record it (activities/invitations.ts).
    startToCloseTimeout: '3 minutes',
    // The worker's keep-alive beats every 5 s: a dead worker's attempt is retried within 20 s.
    heartbeatTimeout: '20 seconds',
    scheduleToCloseTimeout: `${minutes} minutes`,
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval, nonRetryableErrorTypes: [...BUSINESS_ERRORS] },
  }),
);

/**
 * The activities of round `n` (1-based). With a summary, each call carries it (the Temporal UI shows
 * it on the activity: "リマインダー 2 回目" rather than only "sendInvitationMail").
 */
export function activitiesForRound(n: number, summary?: string): Activities {
  const acts = rounds[Math.min(n, rounds.length) - 1]!;
  if (!summary) return acts;
  return new Proxy(acts, {
    get: (target, name: keyof Activities) => (...args: unknown[]) =>
      (target[name] as unknown as { executeWithOptions(o: { summary: string }, a: unknown[]): Promise<unknown> }).executeWithOptions({ summary }, args),
  });
}

/** The business error an activity failed with (RegistrantNotFound, DraftIncomplete…), if it was one. */
export function businessError(err: unknown): ApplicationFailure | undefined {
  if (!(err instanceof ActivityFailure) || !(err.cause instanceof ApplicationFailure)) return undefined;
  return (BUSINESS_ERRORS as readonly string[]).includes(err.cause.type ?? '') ? err.cause : undefined;
}

/**
 * An activity that failed for want of a dependency: worth another round. Not a business error, and
 * not a cancellation (an operator cancelling the workflow must not meet a step retried forever).
 */
export const isOutage = (err: unknown): err is ActivityFailure => err instanceof ActivityFailure && !businessError(err) && !isCancellation(err);

/** Between two rounds of a failing request: history stays small whatever the failure looks like. */
export const BETWEEN_ROUNDS_MS = 60_000;

/** A timer step's back-off after its n-th failed round (1-based): 1, 5, 15, then 30 minutes. */
export const timerStepBackoffMs = (rounds: number): number => [1, 5, 15, 30][Math.min(rounds, 4) - 1]! * 60_000;

/**
 * The class of the innermost failure (the last attempt's error under a round's timeout), e.g.
 * "PrismaClientKnownRequestError" or "Error": what operators need, without a message that might
 * carry personal data.
 */
export function failureClass(err: unknown): string {
  let e: unknown = err;
  while (e instanceof TemporalFailure && e.cause && !(e instanceof ApplicationFailure)) e = e.cause;
  if (e instanceof ApplicationFailure) return e.type ?? 'Error';
  return e instanceof Error ? e.name : 'Unknown';
}

/**
 * HR's and the employee's steps wait this many rounds (about 20 minutes) before they give up: the
 * request fails as DependencyUnavailable, nothing done, and the person's other steps go on. A step
 * must not hold the person's turn for the whole of a long outage.
 */
export const REQUEST_ROUNDS = 2;

/** The failure of a request whose dependency stayed away for its rounds: nothing was done. */
export const dependencyUnavailable = () =>
  ApplicationFailure.create({ type: 'DependencyUnavailable', message: 'DEPENDENCY_UNAVAILABLE', nonRetryable: true });

/** A business error as the update's own failure, so the caller gets its type and details. */
export function asUpdateFailure(failure: ApplicationFailure): ApplicationFailure {
  return ApplicationFailure.create({ type: failure.type ?? undefined, message: failure.message, details: failure.details ?? undefined, nonRetryable: true });
}
