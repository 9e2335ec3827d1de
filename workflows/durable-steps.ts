/**
 * Steps that outlive outages. An activity is tried in rounds: within a round Temporal retries it
 * (no history events), at first a minute apart at most, after the first hour ten; a round is bounded
 * (5, 15, then 60 minutes), after which the workflow notes the failure (state.attention, the
 * MynaflowNeedsAttention search attribute) and starts another round. So a step runs at most ten
 * minutes after PostgreSQL, SMTP or Temporal come back, however long they were away, and the history
 * grows by a few events an hour. Business errors are never retried: they end the step as themselves.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, proxyActivities, TemporalFailure } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { BUSINESS_ERRORS } from '../shared';

export type Activities = ReturnType<typeof createActivities>;

/** Each round's length and the longest wait between its attempts; later rounds take the last. */
const ROUNDS = [
  { minutes: 5, maximumInterval: '1 minute' },
  { minutes: 15, maximumInterval: '2 minutes' },
  { minutes: 60, maximumInterval: '5 minutes' },
  { minutes: 60, maximumInterval: '10 minutes' },
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

/** The activities of round `n` (1-based). */
export const activitiesForRound = (n: number): Activities => rounds[Math.min(n, rounds.length) - 1]!;

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

/** Between two rounds of a failing step: history stays small whatever the failure looks like. */
export const BETWEEN_ROUNDS_MS = 60_000;

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

/** A business error as the update's own failure, so the caller gets its type and details. */
export function asUpdateFailure(failure: ApplicationFailure): ApplicationFailure {
  return ApplicationFailure.create({ type: failure.type ?? undefined, message: failure.message, details: failure.details ?? undefined, nonRetryable: true });
}
