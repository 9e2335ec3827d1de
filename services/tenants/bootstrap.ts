/** Creating a tenant with its first owner: the ops CLI and the first `npm start` use this. */
import { randomBytes, randomInt } from 'node:crypto';
import type { History } from '../audit/types';
import { SYSTEM_ACTOR } from '../audit/types';
import { checkPasswordPolicy, hashPassword } from '../auth/passwords';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';

export interface NewTenant {
  tenantName: string;
  ownerEmail: string;
  ownerName: string;
  /** generated (and returned) when omitted */
  ownerPassword?: string;
  customerNumber?: string;
  /** a vendors' test company (services/tenants/sandbox.ts); fixed at creation */
  sandbox?: boolean;
}

/** A 7-digit customer number not yet used (the manual shows お客様番号 as 7 digits). */
async function freeCustomerNumber(prisma: PrismaClient): Promise<string> {
  for (;;) {
    const candidate = String(randomInt(1_000_000, 10_000_000));
    if (!(await prisma.tenant.findUnique({ where: { customerNumber: candidate } }))) return candidate;
  }
}

export async function createTenantWithOwner(prisma: PrismaClient, history: History, input: NewTenant) {
  const password = input.ownerPassword ?? randomBytes(12).toString('base64url');
  checkPasswordPolicy(password);
  const customerNumber = input.customerNumber ?? (await freeCustomerNumber(prisma));
  if (await prisma.tenant.findUnique({ where: { customerNumber } })) {
    throw new AppError(409, 'CUSTOMER_NUMBER_TAKEN', 'このお客様番号は既に使われています');
  }
  const passwordHash = await hashPassword(password);
  const { tenant, owner } = await prisma.$transaction(async (tx) => {
    const tenant = await tx.tenant.create({ data: { name: input.tenantName.trim(), customerNumber, sandbox: input.sandbox ?? false } });
    const owner = await tx.loginUser.create({
      data: { tenantId: tenant.id, email: input.ownerEmail.trim().toLowerCase(), name: input.ownerName.trim(), role: 'owner', passwordHash },
    });
    return { tenant, owner };
  });
  await history.record({ tenantId: tenant.id, actor: SYSTEM_ACTOR, operation: 'login_user_created', detail: { loginUserId: owner.id, name: owner.name, role: 'owner' } });
  return { tenant, owner, password };
}
