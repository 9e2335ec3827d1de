/** The operation history's contract, shared by everything that records what people do. */
import type { ActorType, Prisma, Purpose } from '../../prisma/generated/client';
import type { RawSql } from '../db/direct-sql';
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
  /** `db`: a transaction (Prisma's or direct SQL's) to record in; a client: its own transaction; none: a group commit. */
  record(input: OperationInput, db?: HistoryDb | RawSql): Promise<void>;
  /** Several rows of one tenant in the caller's (READ COMMITTED) transaction: one lock, one INSERT, in order. */
  recordMany(inputs: OperationInput[], tx: HistoryDb | RawSql): Promise<void>;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', label: 'システム' };

/** Filters of the operation history screen and its CSV download. */
export interface HistoryFilters {
  tenantId: string;
  /** inclusive */
  from?: Date;
  /** exclusive */
  to?: Date;
  /** part of the actor's label (case-insensitive) or their exact id */
  actor?: string;
  /** part of the registrant's label (case-insensitive) or their exact id */
  registrant?: string;
  /** an operation code, or part of its label */
  operation?: string;
}

export interface HistorySearch extends HistoryFilters {
  /** default 50, at most 500 */
  limit?: number;
  /** nextCursor of the previous page */
  cursor?: string | null;
}

export interface HistoryItem {
  /** BigInt id as a string */
  id: string;
  occurredAt: Date;
  /** deleted: a login user who has since been deleted (the label stays as written then) */
  actor: { type: ActorType; id: string | null; label: string; deleted: boolean };
  registrant: { id: string | null; label: string } | null;
  operation: string;
  label: string;
  purpose: Purpose | null;
  purposeLabel: string | null;
  ip: string | null;
  userAgent: string | null;
  /** beside the latest remand or refusal while it stands: the reason, read from the person's row */
  reason?: string;
}

export interface HistoryPage {
  items: HistoryItem[];
  /** null on the last page */
  nextCursor: string | null;
}

export interface VerifyResult {
  ok: boolean;
  /** rows whose hash was recomputed */
  checked: number;
  /** tenants whose chain was walked */
  tenants: number;
  /** rows from before the chain was keyed (plain sha256), all at the start of their chains */
  unkeyed: number;
  /**
   * hash_mismatch: the row was changed; chain_broken: rows were removed, inserted or reordered;
   * unkeyed: a plain-hashed row after keyed ones (written without the key); key_unavailable: the row
   * was keyed with a master key this keyring lacks (keep retired keys to verify); anchor_missing: the
   * kept head is gone or changed (tail cut off or rewritten); anchor_forged: the kept head's signature is wrong.
   */
  firstBroken?: { tenantId: string; id: string; reason: 'hash_mismatch' | 'chain_broken' | 'unkeyed' | 'key_unavailable' | 'anchor_missing' | 'anchor_forged' };
  /** each intact tenant's last row: kept elsewhere, it lets a later run detect a chain cut off at its end */
  heads: { tenantId: string; id: string; hash: string }[];
}

export type HistoryCsvEncoding = 'cp932' | 'utf8-bom' | 'utf8';
