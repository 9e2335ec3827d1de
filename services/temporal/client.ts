import { Client, Connection } from '@temporalio/client';

export interface TemporalDeps {
  client: Client;
  taskQueue: string;
}

/** A client whose connection is made on first use, so the API starts (and reports) while Temporal is down. */
export function createTemporalClient(address: string, namespace: string): Client {
  return new Client({ connection: Connection.lazy({ address }), namespace });
}

export class DeadlineExceeded extends Error {
  constructor(ms: number) {
    super(`Temporal did not answer within ${ms} ms`);
    this.name = 'DeadlineExceeded';
  }
}

/**
 * Runs a Temporal call with a deadline so an unreachable server fails fast instead of hanging. The
 * gRPC deadline alone is not a bound: a retry the client scheduled before it can outlive it by
 * seconds (measured: 5.5 s for a 3 s deadline with the server's port refusing), so the wait is also
 * cut by a timer. A call cut this way may still reach Temporal: callers treat it as "unknown".
 */
export function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineExceeded(ms)), ms + 100);
    timer.unref();
  });
  return Promise.race([client.connection.withDeadline(Date.now() + ms, fn), cut]).finally(() => clearTimeout(timer));
}
