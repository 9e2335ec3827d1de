/**
 * Telling a dependency being away from a bug. A request that fails because PostgreSQL or Temporal is
 * unreachable is answered 503 with Retry-After and a code naming the part (DATABASE_UNAVAILABLE,
 * TEMPORAL_UNAVAILABLE), and logged at warn once a minute per part with the count of requests turned
 * away meanwhile — not a stack trace per request at error level.
 */
import type { Logger } from '../logging/logger';

export type Part = 'database' | 'temporal';

/** Seconds a client is asked to wait before retrying an outage answer. */
export const OUTAGE_RETRY_AFTER_SECONDS = 10;

// Prisma: can't reach (P1001), timed out (P1002, P1008), connection closed (P1017), no pooled
// connection within the timeout (P2024).
const PRISMA_OUTAGE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024']);
const ADAPTER_OUTAGE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections', 'TransactionAlreadyClosed']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
// PostgreSQL: connection exceptions (08…) and the server shutting down or starting (57P01–57P03).
const PG_OUTAGE = /^(08|57P0[123])/;
const DATABASE_MESSAGES = /Can't reach database server|Connection terminated|terminating connection|the database system is (starting up|shutting down)|Timed out fetching a new connection|connect ECONNREFUSED/i;
// node-postgres's own errors for a connection that was lost: plain Errors without a code, thrown as
// they are through the Prisma adapter (e.g. the next statement of a transaction whose connection the
// server cut while it was idle).
// A pool with no free connection within its pool_timeout says so the same way (Prisma's P2024).
const PG_CLIENT_LOST = /^(Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|timeout exceeded when trying to connect)/;
// gRPC: UNAVAILABLE (14), DEADLINE_EXCEEDED (4).
const GRPC_OUTAGE = new Set([14, 4]);

type Err = { name?: string; code?: unknown; message?: string; cause?: unknown; meta?: { driverAdapterError?: { cause?: { kind?: string; originalCode?: string } } } };

function chain(err: unknown): Err[] {
  const out: Err[] = [];
  for (let e = err as Err | undefined, depth = 0; e && typeof e === 'object' && depth < 6; e = e.cause as Err | undefined, depth++) out.push(e);
  return out;
}

/** Which part an error says is away, if any. */
export function outageOf(err: unknown): Part | null {
  const errors = chain(err);
  for (const e of errors) {
    const name = e.name ?? '';
    if (name === 'ServiceError' || name === 'TransportError' || name.startsWith('Temporal')) {
      if (errors.some((c) => typeof c.code === 'number' && GRPC_OUTAGE.has(c.code))) return 'temporal';
    }
  }
  for (const e of errors) {
    if (typeof e.code === 'string' && PRISMA_OUTAGE_CODES.has(e.code)) return 'database';
    const adapter = e.meta?.driverAdapterError?.cause;
    if (adapter?.kind && ADAPTER_OUTAGE_KINDS.has(adapter.kind)) return 'database';
    if (adapter?.originalCode && PG_OUTAGE.test(adapter.originalCode)) return 'database';
    if (typeof e.code === 'string' && (e.code === 'P2010' || e.name === 'DriverAdapterError' || e.name?.startsWith('PrismaClient')) && DATABASE_MESSAGES.test(e.message ?? '')) return 'database';
    if (typeof e.code === 'string' && PG_OUTAGE.test(e.code) && e.code.length === 5) return 'database';
    if (e.code === undefined && PG_CLIENT_LOST.test(e.message ?? '')) return 'database';
  }
  // A bare socket error from the database driver (the gRPC client wraps its own in a ServiceError).
  if (errors.some((e) => typeof e.code === 'string' && SOCKET_CODES.has(e.code)) && errors.some((e) => /prisma|pg|database|postgres/i.test(`${e.name} ${e.message}`))) return 'database';
  return null;
}

/** The error says PostgreSQL is away (not that something about the request was wrong). */
export const databaseAway = (err: unknown): boolean => outageOf(err) === 'database';

/** A short, value-free description of what went wrong, for health checks and logs. */
export function describeError(err: unknown): string {
  const errors = chain(err);
  for (const e of errors) {
    const line = (e.message ?? '').split('\n').map((l) => l.trim()).filter(Boolean).at(-1);
    if (line) return line.slice(0, 200);
  }
  return String((errors[0]?.name ?? err) || 'unknown error');
}

const LOG_EVERY_MS = 60_000;

/** Warns once a minute per part while requests are turned away, with how many were. */
export function createOutageLog(logger: Logger) {
  const state = new Map<Part, { lastWarnAt: number; turnedAway: number }>();
  return (part: Part, err: unknown): void => {
    const now = Date.now();
    const s = state.get(part) ?? { lastWarnAt: 0, turnedAway: 0 };
    s.turnedAway++;
    if (now - s.lastWarnAt >= LOG_EVERY_MS) {
      logger.warn({ part, cause: describeError(err), turnedAway: s.turnedAway }, `${part === 'database' ? 'PostgreSQL' : 'Temporal'} unreachable: requests are answered 503 until it is back`);
      s.lastWarnAt = now;
      s.turnedAway = 0;
    }
    state.set(part, s);
  };
}
