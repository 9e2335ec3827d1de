/**
 * Sandbox tenants: payroll vendors' test companies (docs/integration-guide.ja.md 「サンドボックス」).
 * They behave as real ones do, but hold only invented numbers: twelve digits beginning with
 * SANDBOX_PREFIX whose check digit is right. Nothing ever issued a real number to a sandbox, so no
 * real one can be stored there by mistake (the vault refuses it too, whatever path it came by).
 * Every answer given to a sandbox's users, employees or connectors says so (ENVIRONMENT_HEADER), and
 * a client that declares the environment it means is refused the other one (ENVIRONMENT_MISMATCH).
 */
import type { Response } from 'express';
import { AppError } from '../errors';
import { checkDigit, INDIVIDUAL_NUMBER_MESSAGES, SANDBOX_PREFIX } from '../mynumber/validate';

export { SANDBOX_PREFIX };

/** Whether a normalised 12-digit number is an invented one of the reserved pattern. */
export function isSandboxNumber(n: string): boolean {
  return /^[0-9]{12}$/.test(n) && n.startsWith(SANDBOX_PREFIX) && checkDigit(n.slice(0, 11)) === Number(n[11]);
}

/** The n-th invented number (0 ≤ n < 10,000,000), check digit included. */
export function sandboxNumber(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= 10_000_000) throw new RangeError('sandboxNumber takes 0 ≤ n < 10,000,000');
  const first11 = `${SANDBOX_PREFIX}${String(n).padStart(7, '0')}`;
  return `${first11}${checkDigit(first11)}`;
}

/** The vault's refusal: a 400 where an API request sealed it; activities turn it into their non-retryable business error. */
export class SandboxNumberRefused extends AppError {
  constructor() {
    super(400, 'NUMBER_NOT_SANDBOX', INDIVIDUAL_NUMBER_MESSAGES.NUMBER_NOT_SANDBOX);
    this.name = 'SandboxNumberRefused';
  }
}

/** A response header on every answer given to a tenant's callers: which kind of company answered. */
export const ENVIRONMENT_HEADER = 'Mynaflow-Environment';
export type Environment = 'production' | 'sandbox';
export const environmentOf = (tenant: { sandbox: boolean }): Environment => (tenant.sandbox ? 'sandbox' : 'production');

/**
 * Marks the answer with the tenant's environment, and refuses the call when the client declared the
 * other one in the same request header (a payroll system configured for production that was given a
 * sandbox's credentials, or the reverse, stops there instead of mixing invented and real people).
 */
export function markEnvironment(req: { get(name: string): string | undefined }, res: Response, tenant: { sandbox: boolean }): void {
  const env = environmentOf(tenant);
  res.set(ENVIRONMENT_HEADER, env);
  const declared = req.get(ENVIRONMENT_HEADER)?.trim().toLowerCase();
  if (declared && declared !== 'production' && declared !== 'sandbox') {
    throw new AppError(400, 'ENVIRONMENT_UNKNOWN', `${ENVIRONMENT_HEADER} には production か sandbox を指定してください`);
  }
  if (declared && declared !== env) {
    throw new AppError(
      403,
      'ENVIRONMENT_MISMATCH',
      env === 'sandbox'
        ? 'サンドボックス（試験用の会社）の認証情報です。本番環境（Mynaflow-Environment: production）では使えません'
        : '本番の会社の認証情報です。サンドボックス（Mynaflow-Environment: sandbox）では使えません',
    );
  }
}

/**
 * Whether tenants are sandboxes, remembered once read: the flag is fixed at creation (a trigger
 * refuses a change), so an answer never goes stale. `read` says how to read one not yet known
 * (null: no such tenant, which is not remembered).
 */
export function createSandboxFlags() {
  const known = new Map<string, boolean>();
  return async (tenantId: string, read: (tenantId: string) => Promise<boolean | null>): Promise<boolean> => {
    const hit = known.get(tenantId);
    if (hit !== undefined) return hit;
    const flag = await read(tenantId);
    if (flag === null) return false; // no such tenant: whatever refers to it fails on its own
    known.set(tenantId, flag);
    return flag;
  };
}

const flagsByClient = new WeakMap<object, ReturnType<typeof createSandboxFlags>>();

/** Whether the tenant is a sandbox (cached per database client: the flag never changes). */
export function isSandboxTenant(prisma: { tenant: { findUnique(args: { where: { id: string }; select: { sandbox: true } }): Promise<{ sandbox: boolean } | null> } }, tenantId: string): Promise<boolean> {
  let flags = flagsByClient.get(prisma);
  if (!flags) flagsByClient.set(prisma, (flags = createSandboxFlags()));
  return flags(tenantId, async (id) => (await prisma.tenant.findUnique({ where: { id }, select: { sandbox: true } }))?.sandbox ?? null);
}
