/**
 * Idempotency-Key for HR's bulk requests (quick add, bulk entry, CSV import), as payroll's batch has
 * it: the answer is recorded in the same transaction that stores the people, so a retry — or the
 * same request sent twice at once, the second waiting on the first's key — gets the first answer and
 * stores nobody twice. The record first holds the answer as of the commit (everyone's workflow still
 * queued); once the starts are through it is brought up to date. The same key with another request
 * is refused. The request is kept as a keyed fingerprint only (bulk entries carry numbers), and a
 * key is remembered for a day (the reconciler forgets older ones): a retry comes within minutes.
 */
import type { Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import type { Vault } from '../vault/types';

type Tx = Prisma.TransactionClient;

const KEY_REUSED = () => new AppError(409, 'IDEMPOTENCY_KEY_REUSED', 'このIdempotency-Keyは別の内容の依頼に使われています。新しいキーで送ってください');
const KEY_FORMAT = /^[\x21-\x7e]{1,200}$/;

/** Called by the work inside its transaction with the answer as of the commit. */
export type Keep<T> = (tx: Tx, answer: T) => Promise<void>;

export interface Once<T> {
  /** The HTTP status to answer with (the first answer's, on a replay). */
  status: number;
  body: T;
  /** The answer of an earlier request with the key. */
  replayed: boolean;
}

/** How long an Idempotency-Key is remembered (HR's bulk requests and payroll's batch alike). */
export const IDEMPOTENCY_KEY_HOURS = 24;

/** Forgets keys older than IDEMPOTENCY_KEY_HOURS; returns how many. */
export async function expireIdempotencyKeys(prisma: PrismaClient, now = new Date()): Promise<number> {
  const where = { createdAt: { lt: new Date(now.getTime() - IDEMPOTENCY_KEY_HOURS * 3_600_000) } };
  const [hr, payroll] = await prisma.$transaction([prisma.requestRecord.deleteMany({ where }), prisma.idempotencyRecord.deleteMany({ where })]);
  return hr.count + payroll.count;
}

/** Records answers by (scope, key); `scope` names the caller and the operation. */
export function createRequestRecords(prisma: PrismaClient, vault: Pick<Vault, 'fingerprint' | 'hasFingerprint'>) {
  const serialized = (request: unknown) => (Buffer.isBuffer(request) ? request : JSON.stringify(request));

  async function previous<T>(scope: string, key: string, request: Buffer | string): Promise<Once<T> | null> {
    const found = await prisma.requestRecord.findUnique({ where: { scope_key: { scope, key } } });
    if (!found) return null;
    if (!vault.hasFingerprint(found.requestHash, request)) throw KEY_REUSED();
    return { status: found.status, body: found.response as T, replayed: true };
  }

  return {
    /**
     * Runs `work` once per key: `work` calls `keep(tx, answer)` inside its transaction, and its result
     * replaces the kept answer afterwards. Without a key it just runs.
     */
    async once<T>(scope: string, key: string | undefined, request: unknown, status: number, work: (keep: Keep<T>) => Promise<T>): Promise<Once<T>> {
      if (key === undefined) return { status, body: await work(async () => undefined), replayed: false };
      if (!KEY_FORMAT.test(key)) throw new AppError(400, 'IDEMPOTENCY_KEY_INVALID', 'Idempotency-Keyは200文字以内の半角英数字・記号で指定してください');
      const data = serialized(request);
      const earlier = await previous<T>(scope, key, data);
      if (earlier) return earlier;
      let body: T;
      try {
        body = await work(async (tx, answer) => {
          await tx.requestRecord.create({ data: { scope, key, requestHash: vault.fingerprint(data), status, response: answer as Prisma.InputJsonValue } });
        });
      } catch (err) {
        // Another request with the key committed first: its rows made ours fail (the key's row, or
        // an employee code it added). The same request: its answer is ours; another: KEY_REUSED.
        let concurrent: Once<T> | null = null;
        try {
          concurrent = await previous<T>(scope, key, data);
        } catch (lookup) {
          if (lookup instanceof AppError) throw lookup;
        }
        if (concurrent) return concurrent;
        throw err;
      }
      await prisma.requestRecord.update({ where: { scope_key: { scope, key } }, data: { response: body as Prisma.InputJsonValue } }).catch(() => {
        // The database went away after the commit: a replay answers "queued", which stays true.
      });
      return { status, body, replayed: false };
    },
  };
}

export type RequestRecords = ReturnType<typeof createRequestRecords>;
