/** The operation history's contract, shared by everything that records what people do. */
import type { ActorType, Prisma, Purpose } from '../../prisma/generated/client';
import type { OperationCode } from './operations';

export interface Actor {
  type: ActorType;
  /** login user, registrant or API client id; none for the system */
  id?: string | null;
  /** the name at the time: kept as written, renaming never rewrites history */
  label: string;
}

export interface OperationInput {
  tenantId: string;
  actor: Actor;
  operation: OperationCode;
  registrant?: { id: string; label: string } | null;
  purpose?: Purpose | null;
  ip?: string | null;
  userAgent?: string | null;
  /** small, non-personal facts (never a number) */
  detail?: Prisma.InputJsonValue;
}

/** Prisma client or interactive transaction: recording inside a transaction commits with it. */
export type HistoryDb = Pick<Prisma.TransactionClient, 'operationEvent' | '$queryRaw' | '$executeRaw'>;

export interface History {
  record(input: OperationInput, db?: HistoryDb): Promise<void>;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', label: 'システム' };
