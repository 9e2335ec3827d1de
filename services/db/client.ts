import { Prisma, PrismaClient } from '../../prisma/generated/client';
import { createPgAdapter } from './pg-adapter';

export type { PrismaClient };

export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: createPgAdapter(databaseUrl) });
}

/** A unique constraint said no (another request stored the same key meanwhile). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002';
}
