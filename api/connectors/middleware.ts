/**
 * Payroll connectors call with `Authorization: Bearer <token>`. `identifyConnector` resolves the
 * token (never rejects by itself); `allow` guards a route for HR roles, connector scopes or both, so
 * one route serves the console and payroll alike. Connectors are rate-limited per connector (429 with
 * Retry-After), whatever address they call from.
 */
import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { OpenApiRequest } from 'express-openapi-validator/dist/framework/types';
import type { Role } from '../../prisma/generated/client';
import type { History } from '../../services/audit/types';
import { connectorActor, type ConnectorCaller, type ConnectorService, type Scope } from '../../services/connectors/connectors';
import { AppError } from '../../services/errors';
import { markEnvironment } from '../../services/tenants/sandbox';
import type { RateLimitCounters } from '../../services/rate-limits/postgres-store';
import { requestFacts, requireRole } from '../auth/middleware';
import { sendProblem } from '../problem';

declare module 'express-serve-static-core' {
  interface Request {
    connector?: ConnectorCaller;
  }
}

export interface ConnectorRateLimit {
  /** calls per window and connector */
  limit: number;
  windowSeconds: number;
}

export const DEFAULT_CONNECTOR_RATE_LIMIT: ConnectorRateLimit = { limit: 600, windowSeconds: 60 };

const bearerOf = (req: Request) => /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];

/**
 * Resolves a bearer token to its connector, before the body is read (an unknown caller gets a small
 * body limit). Every call a connector makes is then recorded by recordConnectorCall (operation
 * api_called: method and route template — the template, so ids and employee codes stay out), on top
 * of what the operation itself records.
 */
export function authenticateConnector(connectors: ConnectorService, opts: { except?: (req: Request) => boolean } = {}): RequestHandler {
  return async (req, res, next) => {
    const token = bearerOf(req);
    if (!token || opts.except?.(req)) return next();
    try {
      const facts = requestFacts(req);
      const found = await connectors.authenticate(token, facts.ip);
      if (found === 'ip_not_allowed') return next(new AppError(403, 'IP_NOT_ALLOWED', 'この接続元IPアドレスからの利用は許可されていません'));
      if (!found) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        return next(new AppError(401, 'INVALID_TOKEN', 'アクセストークンが無効か、有効期限が切れています'));
      }
      req.connector = { ...found, ...facts };
      markEnvironment(req, res, found.tenant);
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Records the call of a connector authenticated earlier, by the route template the validator
 * matched. Recorded before the operation runs (and awaited), so the trail has the call even when
 * the operation fails or the client goes away mid-stream.
 */
export function recordConnectorCall(history: History): RequestHandler {
  return async (req, _res, next) => {
    const connector = req.connector;
    if (!connector) return next();
    try {
      const route = (req as OpenApiRequest).openapi?.openApiRoute ?? '(unmatched)';
      await history.record({ tenantId: connector.tenant.id, actor: connectorActor(connector.client), operation: 'api_called', ip: connector.ip, userAgent: connector.userAgent, detail: { method: req.method, route: String(route) } });
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Whether the operation (as the OpenAPI validator matched it) lists bearerAuth among its security. */
function acceptsBearer(req: Request): boolean {
  const security = (req as OpenApiRequest).openapi?.schema.security ?? [];
  return security.some((requirement) => 'bearerAuth' in requirement);
}

/** Counted in PostgreSQL like the login limits: one budget per connector across every API instance. */
export function connectorRateLimit(l: ConnectorRateLimit, counters: RateLimitCounters): RequestHandler {
  return rateLimit({
    windowMs: l.windowSeconds * 1000,
    limit: l.limit,
    store: counters.store('connector'),
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    // Counted on the operations a connector may call (their contract documents the 429); on any
    // other it gets its 401/403 at once, as the contract says.
    skip: (req) => !req.connector || !acceptsBearer(req),
    keyGenerator: (req) => `connector:${req.connector!.client.id}`,
    handler: (req: Request & { rateLimit?: { resetTime?: Date } }, res) => {
      const reset = req.rateLimit?.resetTime?.getTime() ?? Date.now() + l.windowSeconds * 1000;
      res.set('Retry-After', String(Math.max(1, Math.ceil((reset - Date.now()) / 1000))));
      sendProblem(res, new AppError(429, 'TOO_MANY_REQUESTS', '短時間にリクエストが集中しました。Retry-After の秒数だけ待ってから再度お試しください'));
    },
  });
}

/** HR with one of `roles`, or a connector holding `scope` (omit either to refuse that kind). */
export function allow(opts: { roles?: Role[]; scope?: Scope }): RequestHandler {
  const hr = opts.roles ? requireRole(...opts.roles) : undefined;
  return (req, res, next) => {
    if (req.connector) {
      if (!opts.scope) return next(new AppError(403, 'FORBIDDEN', '連携アプリからは利用できない操作です'));
      if (!req.connector.scopes.includes(opts.scope)) {
        res.set('WWW-Authenticate', `Bearer error="insufficient_scope", scope="${opts.scope}"`);
        return next(new AppError(403, 'INSUFFICIENT_SCOPE', 'この連携アプリには許可されていない操作です'));
      }
      return next();
    }
    if (!hr) return next(new AppError(401, 'UNAUTHENTICATED', 'アクセストークンを指定してください'));
    return hr(req, res, next);
  };
}
