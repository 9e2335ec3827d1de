/**
 * Locks for an address that names no single account (none, or several without the customer
 * number), kept exactly as an account's are (auth-service.ts): five wrong passwords from one source
 * lock that source out for LOGIN_LOCK_MINUTES, doubling with each lock up to a day; fifty in a day
 * from anywhere (a locked source counting five) lock the address itself for LOGIN_LOCK_MINUTES. A
 * 423 therefore tells nobody whether an account exists. Nobody is mailed: there is no one to mail.
 */
import type { PrismaClient } from '../db/client';
import type { Vault } from '../vault/types';

/** The address's own lock, beside its per-source rows. */
const WHOLE_ADDRESS = '*';

export interface UnknownAddressLockOptions {
  prisma: PrismaClient;
  vault: Pick<Vault, 'fingerprint'>;
  loginLockMinutes: number;
  maxFailures: number;
  maxSpreadFailures: number;
  maxSourceLockMinutes: number;
  now: () => Date;
}

export function createUnknownAddressLocks(o: UnknownAddressLockOptions) {
  const { prisma } = o;
  // Keyed, so the table holds no address: only who holds the master key can test one against it.
  const keyOf = (email: string) => o.vault.fingerprint(`login-address|${email.trim().toLowerCase()}`);
  /** Rows no lock or count of the last day needs any more. */
  const sweep = (): Promise<number> =>
    prisma.$executeRaw`DELETE FROM unknown_login_locks WHERE updated_at < now() - interval '2 days' AND (locked_until IS NULL OR locked_until < now())`;

  return {
    /** Whether the address, or this source for it, is locked now. */
    async locked(email: string, source: string): Promise<boolean> {
      const rows = await prisma.unknownLoginLock.findMany({ where: { addressKey: keyOf(email), source: { in: [source, WHOLE_ADDRESS] }, lockedUntil: { gt: o.now() } } });
      return rows.length > 0;
    },

    /** A wrong password for the address from this source; true when it (now) locks. */
    async countFailure(email: string, source: string): Promise<boolean> {
      const key = keyOf(email);
      // Now and then, rows no count of the last day needs (the table grows with every guessed address).
      if (Math.random() < 0.01) await sweep();
      const [counted] = await prisma.$queryRaw<{ failures: number }[]>`
        INSERT INTO unknown_login_locks (address_key, source, failures) VALUES (${key}, ${source}, 1)
        ON CONFLICT (address_key, source) DO UPDATE SET failures = unknown_login_locks.failures + 1, updated_at = now()
        RETURNING failures`;
      const [spread] = await prisma.$queryRaw<{ total: number }[]>`
        SELECT (COALESCE(SUM(failures), 0) + ${o.maxFailures}::int * COUNT(*) FILTER (WHERE locks > 0))::int AS total
          FROM unknown_login_locks WHERE address_key = ${key} AND source <> ${WHOLE_ADDRESS} AND updated_at > now() - interval '1 day'`;
      const at = o.now();
      if (spread && spread.total >= o.maxSpreadFailures) {
        await prisma.$executeRaw`
          INSERT INTO unknown_login_locks (address_key, source, locked_until) VALUES (${key}, ${WHOLE_ADDRESS}, ${at}::timestamptz + make_interval(mins => ${o.loginLockMinutes}::int))
          ON CONFLICT (address_key, source) DO UPDATE SET locked_until = EXCLUDED.locked_until, updated_at = now()
            WHERE unknown_login_locks.locked_until IS NULL OR unknown_login_locks.locked_until <= ${at}::timestamptz`;
        return true;
      }
      if (counted!.failures < o.maxFailures) return false;
      await prisma.$executeRaw`
        UPDATE unknown_login_locks
           SET failures = 0, locks = locks + 1,
               locked_until = ${at}::timestamptz + make_interval(mins => LEAST(${o.loginLockMinutes}::int * (2 ^ LEAST(locks, 10))::int, ${o.maxSourceLockMinutes}::int)),
               updated_at = now()
         WHERE address_key = ${key} AND source = ${source} AND failures >= ${o.maxFailures}`;
      return true;
    },

    sweep,
  };
}
