/**
 * Payroll connectors (連携アプリ): credentials a payroll package uses to call the API on its own.
 * Owners create them with scopes, allowed purposes of use and an optional IP allowlist; the secret is
 * shown once and stored hashed. The connector trades its credentials for a short-lived bearer token
 * (OAuth 2.0 client credentials, RFC 6749 §4.4); every token and every call is checked against the
 * connector as it is now (revoked → dead at once, allowlist, scopes).
 *
 * Secrets and tokens are stored as hashToken (SHA-256) of themselves.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { ApiClient, Purpose, Tenant } from '../../prisma/generated/client';
import { PURPOSES } from '../audit/purposes';
import { hashToken } from '../auth/token-hash';
import type { Actor, History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { actorOf, type Acting } from '../login-users/login-users';

export const SCOPES = ['registrants:read', 'registrants:write', 'numbers:pull'] as const;
export type Scope = (typeof SCOPES)[number];

/** Bearer tokens live this long; a payroll run asks for a new one when it expires. */
export const TOKEN_TTL_SECONDS = 600;

const invalid = (path: string, code: string, message: string) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path, code, message }]);
const NOT_FOUND = () => new AppError(404, 'CONNECTOR_NOT_FOUND', '連携アプリが見つかりません');
/** RFC 6749 §5.2 names; the same for an unknown id, a wrong secret and a revoked connector. */
export const INVALID_CLIENT = () => new AppError(401, 'invalid_client', 'クライアントIDまたはシークレットが正しくないか、連携アプリが停止されています');

export interface ConnectorView {
  id: string;
  name: string;
  clientId: string;
  scopes: Scope[];
  allowedPurposes: Purpose[];
  ipAllowlist: string[];
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

export const connectorView = (c: ApiClient): ConnectorView => ({
  id: c.id,
  name: c.name,
  clientId: c.clientId,
  scopes: c.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)),
  allowedPurposes: c.allowedPurposes,
  ipAllowlist: c.ipAllowlist,
  revokedAt: c.revokedAt?.toISOString() ?? null,
  lastUsedAt: c.lastUsedAt?.toISOString() ?? null,
  createdAt: c.createdAt.toISOString(),
});

export const connectorActor = (c: Pick<ApiClient, 'id' | 'name'>): Actor => ({ type: 'api_client', id: c.id, label: c.name });

/** An address or a CIDR block, IPv4 or IPv6. */
function parseAllowEntry(entry: string): { address: string; prefix?: number; family: 'ipv4' | 'ipv6' } | null {
  const [address, prefixText, extra] = entry.trim().split('/');
  if (!address || extra !== undefined) return null;
  const version = isIP(address);
  if (!version) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (prefixText === undefined) return { address, family };
  const prefix = Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText) || prefix > (version === 4 ? 32 : 128)) return null;
  return { address, prefix, family };
}

/** True when the allowlist is empty or names the address (IPv4-mapped IPv6 addresses count as IPv4). */
export function ipAllowed(allowlist: string[], ip: string | null | undefined): boolean {
  if (allowlist.length === 0) return true;
  if (!ip) return false;
  const address = ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
  const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  for (const entry of allowlist) {
    const e = parseAllowEntry(entry);
    if (!e) continue;
    if (e.prefix === undefined) list.addAddress(e.address, e.family);
    else list.addSubnet(e.address, e.prefix, e.family);
  }
  return list.check(address, family);
}

export interface ConnectorCaller {
  client: ApiClient;
  tenant: Tenant;
  scopes: Scope[];
  ip: string | null;
  userAgent: string | null;
}

export interface ConnectorServiceDeps {
  prisma: PrismaClient;
  history: History;
  now?: () => Date;
}

export function createConnectorService({ prisma, history, now = () => new Date() }: ConnectorServiceDeps) {
  function checkInput(input: { name?: string; scopes?: string[]; allowedPurposes?: Purpose[]; ipAllowlist?: string[] }, tenantPurposes: Purpose[]) {
    const name = input.name?.trim();
    if (!name) throw invalid('/body/name', 'NAME_REQUIRED', '連携アプリの名前を入力してください');
    const scopes = [...new Set(input.scopes ?? [])];
    if (scopes.length === 0) throw invalid('/body/scopes', 'SCOPES_REQUIRED', '許可する操作を1つ以上選んでください');
    const purposes = [...new Set(input.allowedPurposes ?? [])];
    if (scopes.includes('numbers:pull') && purposes.length === 0) {
      throw invalid('/body/allowedPurposes', 'PURPOSES_REQUIRED', 'マイナンバーを取得する連携アプリには、利用目的を1つ以上指定してください');
    }
    const unused = purposes.filter((p) => !tenantPurposes.includes(p));
    if (unused.length) throw invalid('/body/allowedPurposes', 'PURPOSE_NOT_IN_USE', '契約者設定で使っていない利用目的は指定できません');
    const ipAllowlist = (input.ipAllowlist ?? []).map((e) => e.trim()).filter(Boolean);
    const bad = ipAllowlist.findIndex((e) => !parseAllowEntry(e));
    if (bad >= 0) throw invalid(`/body/ipAllowlist/${bad}`, 'IP_INVALID', 'IPアドレスは 203.0.113.5 や 203.0.113.0/24 の形で入力してください');
    return { name, scopes, allowedPurposes: PURPOSES.filter((p) => purposes.includes(p)), ipAllowlist };
  }

  return {
    async list(tenantId: string): Promise<ConnectorView[]> {
      const rows = await prisma.apiClient.findMany({ where: { tenantId }, orderBy: { createdAt: 'asc' } });
      return rows.map(connectorView);
    },

    /** The secret is in this answer only; afterwards nobody can read it, not even the owner. */
    async create(acting: Acting, input: { name: string; scopes: Scope[]; allowedPurposes?: Purpose[]; ipAllowlist?: string[] }) {
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId } });
      const fields = checkInput(input, tenant.purposes);
      // A sandbox's credentials say so in their prefix, where a vendor's configuration shows them.
      const sbx = tenant.sandbox ? 'sbx_' : '';
      const clientId = `mfc_${sbx}${randomBytes(12).toString('hex')}`;
      const clientSecret = `mfs_${sbx}${randomBytes(32).toString('base64url')}`;
      const created = await prisma.$transaction(async (tx) => {
        const c = await tx.apiClient.create({ data: { tenantId: acting.tenantId, ...fields, clientId, secretHash: hashToken(clientSecret) } });
        await history.record(
          { tenantId: acting.tenantId, actor: actorOf(acting.user), operation: 'connector_created', ip: acting.ip, userAgent: acting.userAgent, detail: { connectorId: c.id, name: c.name, scopes: fields.scopes, allowedPurposes: fields.allowedPurposes } },
          tx,
        );
        return c;
      }, { isolationLevel: 'ReadCommitted' });
      return { ...connectorView(created), clientSecret };
    },

    /** Stops a connector at once: its tokens are deleted and its credentials refused from now on. */
    async revoke(acting: Acting, id: string): Promise<ConnectorView> {
      return prisma.$transaction(async (tx) => {
        const c = await tx.apiClient.findFirst({ where: { id, tenantId: acting.tenantId } });
        if (!c) throw NOT_FOUND();
        if (c.revokedAt) return connectorView(c);
        const revoked = await tx.apiClient.update({ where: { id }, data: { revokedAt: now() } });
        await tx.apiToken.deleteMany({ where: { apiClientId: id } });
        await history.record({ tenantId: acting.tenantId, actor: actorOf(acting.user), operation: 'connector_revoked', ip: acting.ip, userAgent: acting.userAgent, detail: { connectorId: id, name: c.name } }, tx);
        return connectorView(revoked);
      }, { isolationLevel: 'ReadCommitted' });
    },

    /** Client credentials → a bearer token with the requested scopes (all of the connector's by default). */
    async issueToken(
      input: { clientId?: string; clientSecret?: string; scope?: string },
      facts: { ip: string | null; userAgent: string | null },
      /** sees the client's company once the credentials hold, before a token is made (may refuse) */
      checkTenant: (tenant: Tenant) => void = () => undefined,
    ) {
      const found = input.clientId ? await prisma.apiClient.findUnique({ where: { clientId: input.clientId }, include: { tenant: true } }) : null;
      const given = Buffer.from(hashToken(input.clientSecret ?? ''));
      const ok = !!found && timingSafeEqual(given, Buffer.from(found.secretHash)) && found.revokedAt === null;
      if (!ok || !found) throw INVALID_CLIENT();
      const { tenant, ...client } = found;
      if (!ipAllowed(client.ipAllowlist, facts.ip)) throw new AppError(403, 'IP_NOT_ALLOWED', 'この接続元IPアドレスからの利用は許可されていません');
      checkTenant(tenant);
      const requested = input.scope?.trim() ? [...new Set(input.scope.trim().split(/\s+/))] : client.scopes;
      if (requested.some((s) => !client.scopes.includes(s))) throw new AppError(400, 'invalid_scope', 'この連携アプリに許可されていない操作が指定されました');
      const token = `mft_${tenant.sandbox ? 'sbx_' : ''}${randomBytes(32).toString('base64url')}`;
      const at = now();
      await prisma.$transaction(async (tx) => {
        // Expired tokens of this connector go as new ones come: the table stays small without a job.
        await tx.apiToken.deleteMany({ where: { apiClientId: client.id, expiresAt: { lt: at } } });
        await tx.apiToken.create({ data: { id: hashToken(token), apiClientId: client.id, scopes: requested, expiresAt: new Date(at.getTime() + TOKEN_TTL_SECONDS * 1000) } });
        await tx.apiClient.update({ where: { id: client.id }, data: { lastUsedAt: at } });
        await history.record({ tenantId: client.tenantId, actor: connectorActor(client), operation: 'connector_token_issued', ...facts, detail: { scopes: requested } }, tx);
      }, { isolationLevel: 'ReadCommitted' });
      return { access_token: token, token_type: 'Bearer' as const, expires_in: TOKEN_TTL_SECONDS, scope: requested.join(' ') };
    },

    /** The connector behind a bearer token, if the token is live and the connector may call from this address. */
    async authenticate(token: string, ip: string | null): Promise<{ client: ApiClient; tenant: Tenant; scopes: Scope[] } | 'ip_not_allowed' | null> {
      if (token.length < 20 || token.length > 200) return null;
      const row = await prisma.apiToken.findUnique({ where: { id: hashToken(token) }, include: { apiClient: { include: { tenant: true } } } });
      if (!row || row.expiresAt.getTime() <= now().getTime() || row.apiClient.revokedAt) return null;
      if (!ipAllowed(row.apiClient.ipAllowlist, ip)) return 'ip_not_allowed';
      const { tenant, ...client } = row.apiClient;
      return { client, tenant, scopes: row.scopes.filter((s): s is Scope => (SCOPES as readonly string[]).includes(s)) };
    },
  };
}

export type ConnectorService = ReturnType<typeof createConnectorService>;
