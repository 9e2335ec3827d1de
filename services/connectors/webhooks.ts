/**
 * Webhooks: a connector subscribes a URL to registrant events (completed, remanded, deleted).
 * Events are written as delivery rows in the same transaction as the change they report (so none is
 * lost or invented), then each is POSTed by a Temporal workflow whose activity retries with backoff.
 *
 * Every delivery is signed like Stripe's: `Mynaflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256
 * of "<t>.<body>" with the webhook's secret>`. Receivers check the HMAC and that t is recent. The
 * body carries ids, codes and statuses only — never a number or a name — so a leaked delivery log
 * reveals nothing; payroll fetches details through the API.
 */
import { environmentOf } from '../tenants/sandbox';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, fetch } from 'undici';
import type { Prisma, WebhookDelivery, WebhookEvent } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import type { Vault } from '../vault/types';
import type { ConnectorCaller } from './connectors';

type Tx = Prisma.TransactionClient;

export const WEBHOOK_EVENTS: readonly WebhookEvent[] = ['registrant_completed', 'registrant_remanded', 'registrant_deleted'];
const ATTEMPT_TIMEOUT_MS = 10_000;

const NOT_FOUND = () => new AppError(404, 'WEBHOOK_NOT_FOUND', 'Webhookが見つかりません');

/**
 * Loopback, private, link-local, CGNAT, multicast and reserved ranges: never a webhook receiver —
 * also when written as IPv6 that carries them: NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4
 * (2002::/16) addresses embed an IPv4 address a gateway would reach.
 */
const NOT_PUBLIC = (() => {
  const list = new BlockList();
  const v4 = [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const;
  for (const [net, prefix] of v4) {
    list.addSubnet(net, prefix, 'ipv4');
    const [a, b, c, d] = net.split('.').map(Number) as [number, number, number, number];
    const [high, low] = [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    list.addSubnet(`64:ff9b::${high}:${low}`, 96 + prefix, 'ipv6');
    list.addSubnet(`2002:${high}:${low}::`, 16 + prefix, 'ipv6');
  }
  for (const [net, prefix] of [['::', 127], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b:1::', 48]] as const) list.addSubnet(net, prefix, 'ipv6');
  return list;
})();

/** Name resolution (the system's by default; a test stands in for a DNS server with its own). */
export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;
const systemResolve: Resolve = (host) => lookup(host, { all: true });

function isPublic(a: { address: string; family: number }): boolean {
  // An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is checked as the IPv4 address it carries.
  const mapped = a.family === 6 && /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a.address);
  return mapped ? !NOT_PUBLIC.check(a.address.slice(7), 'ipv4') : !NOT_PUBLIC.check(a.address, a.family === 6 ? 'ipv6' : 'ipv4');
}

/** Why a URL's host is not a public address ('unresolvable' when DNS has no answer), or null. */
export async function privateTarget(url: string, resolve: Resolve = systemResolve): Promise<'unresolvable' | 'not_public' | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  } catch {
    return 'unresolvable';
  }
  if (addresses.length === 0) return 'unresolvable';
  return addresses.every(isPublic) ? null : 'not_public';
}

const NOT_PUBLIC_CODE = 'ENOTPUBLIC';
const failure = (code: string, message: string): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

/**
 * The resolver the delivery's socket connects with. Checking the name first and connecting later
 * would leave a window in which the name can answer a private address (DNS rebinding): here the
 * address checked is the address connected to.
 */
function connectLookup(resolve: Resolve, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (addresses) => {
        if (addresses.length === 0) return callback(failure('ENOTFOUND', `${hostname} has no address`), '', 0);
        if (!allowPrivate && !addresses.every(isPublic)) return callback(failure(NOT_PUBLIC_CODE, 'host is not a public address'), '', 0);
        if (options.all) return (callback as unknown as (err: null, all: typeof addresses) => void)(null, addresses);
        callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** One connection pool per resolver and rule, kept for the worker's life. */
const dispatchers = new WeakMap<Resolve, Map<boolean, Agent>>();
function dispatcherFor(resolve: Resolve, allowPrivate: boolean): Agent {
  const byRule = dispatchers.get(resolve) ?? new Map<boolean, Agent>();
  dispatchers.set(resolve, byRule);
  let agent = byRule.get(allowPrivate);
  if (!agent) byRule.set(allowPrivate, (agent = new Agent({ connect: { lookup: connectLookup(resolve, allowPrivate) } })));
  return agent;
}

export function signature(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export const webhookView = (w: { id: string; apiClientId: string; url: string; events: WebhookEvent[]; createdAt: Date }) => ({
  id: w.id,
  connectorId: w.apiClientId,
  url: w.url,
  events: w.events,
  createdAt: w.createdAt.toISOString(),
});

export const deliveryView = (d: WebhookDelivery) => ({
  id: d.id,
  event: d.event,
  payload: d.payload,
  status: d.status,
  attempts: d.attempts,
  lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null,
  lastStatusCode: d.lastStatusCode,
  lastError: d.lastError,
  deliveredAt: d.deliveredAt?.toISOString() ?? null,
  createdAt: d.createdAt.toISOString(),
});

/**
 * Writes the deliveries for an event inside the caller's transaction; returns their ids for the
 * workflow to deliver once the transaction has committed.
 */
export async function enqueueEvent(tx: Tx, tenantId: string, event: WebhookEvent, data: Record<string, Prisma.InputJsonValue | null>, stepKey: string): Promise<string[]> {
  const hooks = await tx.webhook.findMany({ where: { tenantId, deletedAt: null, events: { has: event }, apiClient: { revokedAt: null } }, select: { id: true } });
  const ids: string[] = [];
  const occurredAt = new Date();
  for (const h of hooks) {
    // The delivery id is in the payload so a receiver can drop a repeat.
    const id = randomUUID();
    await tx.webhookDelivery.create({ data: { id, webhookId: h.id, event, stepKey, createdAt: occurredAt, payload: { id, event, occurredAt: occurredAt.toISOString(), data } } });
    ids.push(id);
  }
  return ids;
}

export interface WebhookServiceDeps {
  prisma: PrismaClient;
  vault: Vault;
  /** Plain http:// receivers (development only); https:// otherwise. */
  allowHttp?: boolean;
}

export function createWebhookService({ prisma, vault, allowHttp = false }: WebhookServiceDeps) {
  function checkUrl(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/body/url', code: 'URL_INVALID', message: 'URLの形式が正しくありません' }]);
    }
    const ok = url.protocol === 'https:' || (allowHttp && url.protocol === 'http:');
    if (!ok || url.username || url.password) {
      throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/body/url', code: 'URL_NOT_HTTPS', message: 'Webhookの送信先は https:// で始まるURLにしてください' }]);
    }
    return url.toString();
  }

  /** Outside development, a receiver must be on the public internet (no SSRF into our network). */
  async function checkReachable(url: string): Promise<void> {
    if (allowHttp) return;
    const problem = await privateTarget(url);
    if (problem) {
      throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [
        { path: '/body/url', code: problem === 'unresolvable' ? 'URL_UNRESOLVABLE' : 'URL_NOT_PUBLIC', message: problem === 'unresolvable' ? 'Webhookの送信先のホスト名を解決できません' : 'Webhookの送信先には、インターネット上の公開アドレスを指定してください' },
      ]);
    }
  }

  /** Webhooks a caller may see: a connector its own, HR every one of the tenant. */
  const scope = (tenantId: string, connectorId?: string) => ({ tenantId, deletedAt: null, ...(connectorId ? { apiClientId: connectorId } : {}) });

  return {
    /** The signing secret is in this answer only. */
    async subscribe(caller: ConnectorCaller, input: { url: string; events: WebhookEvent[] }) {
      const url = checkUrl(input.url);
      await checkReachable(url);
      const events = WEBHOOK_EVENTS.filter((e) => input.events.includes(e));
      const secret = `whsec_${randomBytes(32).toString('base64url')}`;
      const hook = await prisma.$transaction(async (tx) => {
        const secretId = await vault.seal({ tenantId: caller.tenant.id, kind: 'webhook_secret', plaintext: Buffer.from(secret) }, tx);
        return tx.webhook.create({ data: { tenantId: caller.tenant.id, apiClientId: caller.client.id, url, events, secretId } });
      });
      return { ...webhookView(hook), secret };
    },

    async list(tenantId: string, connectorId?: string) {
      const rows = await prisma.webhook.findMany({ where: scope(tenantId, connectorId), orderBy: { createdAt: 'asc' } });
      return rows.map(webhookView);
    },

    /** Ends the subscription; deliveries still pending are cancelled by their next attempt. */
    async remove(tenantId: string, id: string, connectorId?: string): Promise<void> {
      const hook = await prisma.webhook.findFirst({ where: { ...scope(tenantId, connectorId), id } });
      if (!hook) throw NOT_FOUND();
      await prisma.$transaction(async (tx) => {
        await tx.webhook.update({ where: { id }, data: { deletedAt: new Date(), secretId: null } });
        if (hook.secretId) await vault.shred([hook.secretId], tx);
      });
    },

    /** The newest deliveries with their attempts, for the connector's developers and HR. */
    async deliveries(tenantId: string, id: string, connectorId?: string, limit = 100) {
      const hook = await prisma.webhook.findFirst({ where: { tenantId, id, ...(connectorId ? { apiClientId: connectorId } : {}) } });
      if (!hook) throw NOT_FOUND();
      const rows = await prisma.webhookDelivery.findMany({ where: { webhookId: id }, orderBy: { createdAt: 'desc' }, take: Math.min(Math.max(limit, 1), 500) });
      return rows.map(deliveryView);
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;

/** One attempt's outcome; the activity decides what to retry. */
export type AttemptResult = 'delivered' | 'gone' | 'cancelled' | 'done-before' | { failed: string };

/** The deliveries a step wrote (for a retried step whose first result was lost). */
export async function deliveriesOfStep(db: Pick<PrismaClient, 'webhookDelivery'>, stepKey: string): Promise<string[]> {
  const rows = await db.webhookDelivery.findMany({ where: { stepKey }, select: { id: true }, orderBy: { id: 'asc' } });
  return rows.map((r) => r.id);
}

/**
 * One delivery attempt: POSTs the signed payload and records the attempt. Idempotent: a delivery
 * already delivered or ended is not sent again.
 */
export async function attemptDelivery(deps: { prisma: PrismaClient; vault: Vault; allowPrivate?: boolean; resolve?: Resolve }, deliveryId: string): Promise<AttemptResult> {
  const { prisma, vault, allowPrivate = false, resolve = systemResolve } = deps;
  const d = await prisma.webhookDelivery.findUnique({ where: { id: deliveryId }, include: { webhook: { include: { apiClient: { include: { tenant: { select: { sandbox: true } } } } } } } });
  if (!d || d.status !== 'pending') return 'done-before';
  const hook = d.webhook;
  if (hook.deletedAt || hook.apiClient.revokedAt || !hook.secretId) {
    await prisma.webhookDelivery.update({ where: { id: d.id }, data: { status: 'cancelled' } });
    return 'cancelled';
  }
  // Checked again at each attempt: a name that resolved publicly at subscription may not now.
  const target = allowPrivate ? null : await privateTarget(hook.url, resolve);
  if (target) return notSent(prisma, d.id, target);
  const secret = (await vault.open(hook.secretId, hook.tenantId)).toString('utf8');
  const body = JSON.stringify(d.payload);
  const t = Math.floor(Date.now() / 1000);
  let status: number | null = null;
  let error: string | null = null;
  try {
    const res = await fetch(hook.url, {
      dispatcher: dispatcherFor(resolve, allowPrivate),
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'mynaflow-webhooks/1',
        'mynaflow-event': d.event,
        'mynaflow-delivery': d.id,
        'mynaflow-environment': environmentOf(hook.apiClient.tenant),
        'mynaflow-signature': signature(secret, t, body),
      },
      body,
      redirect: 'manual', // a redirect is not a delivery, and must not lead the POST elsewhere
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
    status = res.status;
    await res.body?.cancel();
  } catch (err) {
    const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
    if (cause?.code === NOT_PUBLIC_CODE) return notSent(prisma, d.id, 'not_public');
    error = (err as Error).name === 'TimeoutError' ? 'timeout' : `network: ${cause?.code ?? cause?.message ?? (err as Error).message}`.slice(0, 200);
  }
  const delivered = status !== null && status >= 200 && status < 300;
  const gone = status === 410;
  await prisma.webhookDelivery.update({
    where: { id: d.id },
    data: {
      attempts: { increment: 1 },
      lastAttemptAt: new Date(),
      lastStatusCode: status,
      lastError: delivered ? null : (error ?? `HTTP ${status}`),
      ...(delivered ? { status: 'delivered', deliveredAt: new Date() } : gone ? { status: 'cancelled' } : {}),
    },
  });
  if (delivered) return 'delivered';
  if (gone) return 'gone';
  return { failed: error ?? `HTTP ${status}` };
}

/** An attempt refused before anything was sent: the receiver is not (or no longer) reachable publicly. */
async function notSent(prisma: PrismaClient, id: string, why: 'unresolvable' | 'not_public'): Promise<AttemptResult> {
  await prisma.webhookDelivery.update({ where: { id }, data: { attempts: { increment: 1 }, lastAttemptAt: new Date(), lastStatusCode: null, lastError: why === 'unresolvable' ? 'host not resolvable' : 'host is not a public address' } });
  return { failed: why };
}
