import type { PrismaClient } from '../db/client';

export const DEFAULT_CUSTOMER_NUMBER = '0000000001';

/** The tenant of the embedded defaults, created on first start. */
export async function ensureDefaultTenant(prisma: PrismaClient): Promise<string> {
  const tenant = await prisma.tenant.upsert({
    where: { customerNumber: DEFAULT_CUSTOMER_NUMBER },
    create: { customerNumber: DEFAULT_CUSTOMER_NUMBER, name: 'サンプル株式会社' },
    update: {},
  });
  return tenant.id;
}
