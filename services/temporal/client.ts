import { Client, Connection } from '@temporalio/client';

export interface TemporalDeps {
  client: Client;
  taskQueue: string;
}

/** A client whose connection is made on first use, so the API starts (and reports) while Temporal is down. */
export function createTemporalClient(address: string, namespace: string): Client {
  return new Client({ connection: Connection.lazy({ address }), namespace });
}

/** Runs a Temporal call with a deadline so an unreachable server fails fast instead of hanging. */
export function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + ms, fn);
}
