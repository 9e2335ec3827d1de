import { Prisma, PrismaClient } from '../../prisma/generated/client';
import { registerPool } from './direct-sql';
import { createPgAdapter } from './pg-adapter';

export type { PrismaClient };

/** `connections`: the pool's size when the URL gives no connection_limit (default 10). */
export function createPrisma(databaseUrl: string, connections?: number): PrismaClient {
  const adapter = createPgAdapter(withDefaultConnectionLimit(databaseUrl, connections));
  const prisma = new PrismaClient({ adapter });
  registerPool(prisma, () => adapter.pool);
  return prisma;
}

export function withDefaultConnectionLimit(databaseUrl: string, connections: number | undefined): string {
  if (connections === undefined) return databaseUrl;
  const url = new URL(databaseUrl);
  if (!url.searchParams.has('connection_limit')) url.searchParams.set('connection_limit', String(connections));
  return url.toString();
}

/** A unique constraint refused the write: Prisma's P2002, or PostgreSQL's 23505 through plain SQL (direct-sql.ts). */
/** A unique violation on an index over `column` (the error names the index or its fields). */
export function isUniqueViolationOn(err: unknown, column: string): boolean {
  if (!isUniqueViolation(err)) return false;
  const e = err as { meta?: unknown; message?: string; constraint?: string; detail?: string };
  return [JSON.stringify(e.meta ?? {}), e.message ?? '', e.constraint ?? '', e.detail ?? ''].some((t) => t.includes(column) || t.includes(column.replace(/_(\w)/g, (_m, c: string) => c.toUpperCase())));
}

export function isUniqueViolation(err: unknown): boolean {
  if (err instanceof Prisma.PrismaClientKnownRequestError) return err.code === 'P2002';
  return (err as { code?: unknown; severity?: unknown } | null)?.code === '23505' && (err as { severity?: unknown }).severity !== undefined;
}
