import { Client, Connection, isRetryableError, makeGrpcRetryInterceptor, type GrpcRetryOptions } from '@temporalio/client';
import type { TemporalConnectionSettings } from '../config/temporal-connection';
import type { Keyring } from '../vault/keyring';
import { dataConverterFor } from './payload-codec';

export interface TemporalDeps {
  client: Client;
  taskQueue: string;
}

/**
 * The SDK's retries of a failed call (UNAVAILABLE…), with the pause between two capped at 500 ms
 * instead of 5 s: a retry is scheduled whatever the call's deadline, so a long pause let a call with
 * a 3 s deadline answer after 5.5 s (Temporal's port refusing). Capped, a deadline holds within
 * half a second, and a call is over (no retry left pending) when its promise settles.
 */
const retries: GrpcRetryOptions = {
  delayFunction: (attempt) => Math.min(500, 100 * 1.7 ** attempt * (0.8 + Math.random() * 0.4)),
  retryableDecider: (attempt, status) => attempt < 20 && isRetryableError(status),
};

/**
 * An update Temporal refused because the workflow has too many in flight (RESOURCE_EXHAUSTED, cause
 * CONCURRENT_LIMIT: "limit on number of concurrent in-flight updates has been reached", or their
 * payload size) is not retried. Retried within the request's deadline, such a refusal only ran the
 * deadline out and the API answered "possibly taken on" (202) for a request Temporal had refused;
 * answered at once, it is 503 LIFECYCLE_BUSY, nothing asked (services/registrants/step-runner.ts).
 * Other RESOURCE_EXHAUSTED answers (a namespace's rate limit) are retried as before.
 */
const UPDATE_METHOD = '/temporal.api.workflowservice.v1.WorkflowService/UpdateWorkflowExecution';
const RESOURCE_EXHAUSTED = 8;
const tooManyInFlight = (status: { code: number; details?: string }) => status.code === RESOURCE_EXHAUSTED && /in-flight updates/.test(status.details ?? '');
const retryCalls = makeGrpcRetryInterceptor(retries);
const retryUpdates = makeGrpcRetryInterceptor({ ...retries, retryableDecider: (attempt, status) => !tooManyInFlight(status) && retries.retryableDecider(attempt, status) });
const retrying: typeof retryCalls = (options, nextCall) => (options.method_definition.path === UPDATE_METHOD ? retryUpdates : retryCalls)(options, nextCall);

/**
 * A client whose connection is made on first use, so the API starts (and reports) while Temporal is
 * down. With the keyring, every payload is encrypted (payload-codec.ts) — what the API and worker use.
 * `secured`: TLS, a client certificate and/or an API key (config.temporal.connection).
 */
export function createTemporalClient(address: string, namespace: string, keyring?: Keyring, secured: TemporalConnectionSettings = {}): Client {
  return new Client({
    connection: Connection.lazy({ address, ...secured, interceptors: [retrying] }),
    namespace,
    ...(keyring ? { dataConverter: dataConverterFor(keyring) } : {}),
  });
}

/** Runs a Temporal call with a deadline so an unreachable server fails fast instead of hanging. */
export function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + ms, fn);
}
