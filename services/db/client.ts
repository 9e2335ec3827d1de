import { PrismaClient } from '../../prisma/generated/client';
import { createPgAdapter } from './pg-adapter';

export type { PrismaClient };

export function createPrisma(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: createPgAdapter(databaseUrl) });
}
