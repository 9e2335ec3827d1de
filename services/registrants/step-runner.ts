/**
 * How the API carries out a lifecycle step: a Temporal update with an id derived from the request's
 * Idempotency-Key, so a retried request joins (or finds) the first one instead of acting twice.
 *
 * The answer says what is known:
 * - done: the update finished; the registrant as the database has it now;
 * - a refusal or business error (409, 400, 404): nothing happened;
 * - pending (HTTP 202): the workflow has, or may have, the request and carries it out when its
 *   dependencies answer; `GET /v1/registrants/{id}/operations/{operationId}` tells the outcome, and
 *   a retry with the same Idempotency-Key is safe;
 * - 503: Temporal did not answer at all, so nothing was asked; a retry with the same key is safe.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type Client,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import type { Registrant } from '../../prisma/generated/client';
import { LIFECYCLE_REFUSALS, lifecycleQuery, type LifecycleState, type StepActor } from '../../shared';
import { AppError, DEPENDENT_NOT_FOUND, REGISTRANT_NOT_FOUND } from '../errors';
import { withDeadline } from '../temporal/client';
import { draftIssueMessage } from './draft';

export const TEMPORAL_DOWN = () => new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。時間をおいて、同じ操作をもう一度お試しください');

/** The running workflow is of a release without this step (the caller falls back to the old way). */
export const HANDLER_MISSING = () => new AppError(409, 'STEP_HANDLER_MISSING', 'この登録者のワークフローはこの操作に対応していません');

/** What the caller learns of a step. */
export type StepOutcome = { state: 'done'; operationId: string } | { state: 'pending'; operationId: string };

/** What a later look at an operation finds. */
export type OperationStatus =
  | { status: 'succeeded' }
  | { status: 'failed'; error: AppError }
  | { status: 'pending' }
  /** Temporal has no record of it (it never arrived, or its run has ended): retry with the same key. */
  | { status: 'unknown' };

export interface StepTimings {
  /** How long the API waits for the step to finish before answering "pending" (default 10 s). */
  answerWithinMs?: number;
}

/** The workflow's refusal or business error as the API answers it. */
export function asAppError(err: unknown): AppError | undefined {
  if (!(err instanceof WorkflowUpdateFailedError) || !(err.cause instanceof ApplicationFailure)) return undefined;
  const { type, message } = err.cause;
  if (type === 'LifecycleRefusal' && message in LIFECYCLE_REFUSALS) {
    return new AppError(409, message, LIFECYCLE_REFUSALS[message as keyof typeof LIFECYCLE_REFUSALS]);
  }
  if (type === 'DraftIncomplete') {
    const [issues] = (err.cause.details ?? []) as [{ path: string; code: string }[] | undefined];
    return new AppError(400, 'DRAFT_INCOMPLETE', '登録内容に不足があります。表示された項目を入力してから「この内容で会社に提出する」を押してください', (issues ?? []).map((i) => ({ path: i.path, code: i.code, message: draftIssueMessage(i.code) })));
  }
  if (type === 'DependentNotFound') return DEPENDENT_NOT_FOUND();
  if (type === 'NumberNotRegistered') return NUMBER_NOT_REGISTERED_FOR_COMPLETION();
  if (type === 'RegistrantHasNoEmail') return new AppError(409, 'NOT_INVITABLE_NO_EMAIL', LIFECYCLE_REFUSALS.NOT_INVITABLE_NO_EMAIL);
  if (type === 'MailRejected') return new AppError(409, 'MAIL_REJECTED', LIFECYCLE_REFUSALS.MAIL_REJECTED);
  if (type === 'RegistrantNotFound') return REGISTRANT_NOT_FOUND();
  if (type === 'DependencyUnavailable') return DEPENDENCY_UNAVAILABLE();
  return undefined;
}

/** A completion by hand needs the number HR registered first. */
export const NUMBER_NOT_REGISTERED_FOR_COMPLETION = () =>
  new AppError(409, 'NUMBER_NOT_REGISTERED', 'マイナンバーが登録されていないため「完了」にできません。先にマイナンバーを入力してください');

/** The step waited out its rounds and its database or mail server stayed away: nothing was done. */
export const DEPENDENCY_UNAVAILABLE = () =>
  new AppError(503, 'DEPENDENCY_UNAVAILABLE', 'メールサーバーまたはデータベースが応答しないため、処理できませんでした。復旧後に、新しい操作としてもう一度お試しください');
/** Temporal refused to take more requests for this person now: nothing was asked. */
const STEPS_BUSY = () => new AppError(503, 'LIFECYCLE_BUSY', 'この登録者への操作が混み合っています。少し時間をおいて、もう一度お試しください');
/** An update that failed for a reason the API does not know: definitely not done. */
const STEP_FAILED = () => new AppError(500, 'STEP_FAILED', '処理に失敗しました。管理者にお問い合わせください');

/** gRPC status of a client call's failure (the client wraps it). */
function grpcCode(err: unknown): number | undefined {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}
const DEADLINE_EXCEEDED = 4;
const CANCELLED = 1;
const RESOURCE_EXHAUSTED = 8;
/** The call ran out of time: the request may have reached Temporal. */
const timedOut = (err: unknown) => err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || [DEADLINE_EXCEEDED, CANCELLED].includes(grpcCode(err) ?? -1);

/** The update has no handler in the running workflow (one from an earlier release). */
export const isMissingHandler = (err: unknown) =>
  err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.message.startsWith('No registered handler for update');

const digest = (parts: unknown[]) => createHash('sha256').update(JSON.stringify(parts)).digest('base64url');

/**
 * The update id of a request: the same key, caller, person, step and arguments give the same id (a
 * retry); a different body under the same key is a different request. Without a key every call is
 * its own. Ids and digests only: no personal data in it.
 */
export function operationIdOf(r: Pick<Registrant, 'tenantId' | 'id'>, step: string, actor: StepActor, args: unknown, idempotencyKey?: string): string {
  const key = idempotencyKey ?? randomUUID();
  return `${step}.${digest([r.tenantId, r.id, `${actor.type}:${actor.id ?? ''}`, step, key, args])}`;
}
export const OPERATION_ID = /^[A-Za-z]+\.[A-Za-z0-9_-]{43}$/;

/** Arguments as they identify a request: who asked from where is not part of it. */
export function requestArgs(arg: unknown): unknown {
  if (!arg || typeof arg !== 'object') return arg;
  const { actor: _actor, ...rest } = arg as Record<string, unknown>;
  return rest;
}

export interface StepRunnerDeps {
  client: Client;
  /** Whether Temporal answers (a cheap call with a short deadline). */
  reachable(): Promise<boolean>;
  /** Starts a workflow for a stored person whose workflow has ended or runs the first release. */
  revive(r: Registrant, legacyRunning: boolean): Promise<void>;
  timings?: StepTimings;
}

export function createStepRunner({ client, reachable, revive, timings = {} }: StepRunnerDeps) {
  const answerWithinMs = timings.answerWithinMs ?? 10_000;

  /** Asks once: the update accepted and awaited, or an error saying why not. */
  async function ask<Arg>(r: Registrant, update: UpdateDefinition<LifecycleState, [Arg]>, arg: Arg, operationId: string, until: number): Promise<'done' | 'pending'> {
    const handle = client.workflow.getHandle(r.workflowId);
    let accepted: WorkflowUpdateHandle<LifecycleState>;
    try {
      accepted = await withDeadline(client, Math.max(until - Date.now(), 1000), () => handle.startUpdate(update, { args: [arg], updateId: operationId, waitForStage: WorkflowUpdateStage.ACCEPTED }));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof WorkflowUpdateFailedError) throw err;
      if (grpcCode(err) === RESOURCE_EXHAUSTED) throw STEPS_BUSY();
      // No answer in time: either Temporal is down (nothing was asked) or the request waits in the
      // workflow for a worker (it will still be carried out). Anything else: it was refused.
      if (timedOut(err) && (await reachable())) return 'pending';
      throw TEMPORAL_DOWN();
    }
    try {
      await withDeadline(client, Math.max(until - Date.now(), 1000), () => accepted.result());
      return 'done';
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw err;
      // Accepted: whatever happens to this connection, the workflow carries it out.
      return 'pending';
    }
  }

  return {
    /**
     * Runs a step. A workflow that has ended without the data being deleted, or still runs the first
     * release, is replaced once (its state taken from the database) and asked again.
     */
    async run<Arg>(r: Registrant, update: UpdateDefinition<LifecycleState, [Arg]>, arg: Arg, operationId: string, opts: { reviveWithoutHandler?: boolean } = {}): Promise<StepOutcome> {
      const until = Date.now() + answerWithinMs;
      let state: 'done' | 'pending';
      try {
        try {
          state = await ask(r, update, arg, operationId, until);
        } catch (err) {
          if (isMissingHandler(err) && opts.reviveWithoutHandler === false) throw HANDLER_MISSING();
          if (!(err instanceof WorkflowNotFoundError) && !isMissingHandler(err)) throw err;
          await withDeadline(client, 10_000, () => revive(r, isMissingHandler(err)));
          state = await ask(r, update, arg, operationId, Math.max(until, Date.now() + 5000));
        }
      } catch (err) {
        if (err instanceof AppError) throw err;
        // A failure of the update itself is final: nothing was done, and retrying the same request
        // would meet the same outcome.
        if (err instanceof WorkflowUpdateFailedError) throw asAppError(err) ?? STEP_FAILED();
        throw TEMPORAL_DOWN();
      }
      return { state, operationId };
    },

    /** The outcome of an earlier step by its operation id. */
    async status(r: Pick<Registrant, 'workflowId'>, operationId: string): Promise<OperationStatus> {
      const handle = client.workflow.getHandle(r.workflowId);
      try {
        await withDeadline(client, 1500, () => handle.getUpdateHandle(operationId).result());
        return { status: 'succeeded' };
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) {
          return { status: 'failed', error: asAppError(err) ?? STEP_FAILED() };
        }
        if (!(err instanceof WorkflowNotFoundError)) {
          if (await reachable()) return { status: 'pending' };
          throw TEMPORAL_DOWN();
        }
      }
      // Not in this run: an earlier run (before continue-as-new) may have carried it out.
      try {
        const state = await withDeadline(client, 3000, () => handle.query(lifecycleQuery));
        return state.handled?.includes(operationId) ? { status: 'succeeded' } : { status: 'unknown' };
      } catch {
        return { status: 'unknown' };
      }
    },
  };
}

export type StepRunner = ReturnType<typeof createStepRunner>;
