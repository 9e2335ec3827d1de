/**
 * Who is calling: the console session cookie (HR login users). Roles are enforced here, on the
 * server, for every route; CSRF is checked for every state-changing request made with the cookie.
 */
import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { parse as parseCookie, serialize as serializeCookie } from 'cookie';
import type { Role } from '../../prisma/generated/client';
import type { CallerTenant, CallerUser } from '../../services/auth/sessions';
import { AppError } from '../../services/errors';
import { markEnvironment } from '../../services/tenants/sandbox';

export const SESSION_COOKIE = 'mynaflow_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface Caller {
  kind: 'login_user';
  user: CallerUser;
  tenant: CallerTenant;
  sessionId: string;
  csrfToken: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

/** What the middleware needs from the auth service. */
export interface SessionAuthenticator {
  authenticate(sessionToken: string): Promise<{ session: { id: string; csrfToken: string }; user: CallerUser; tenant: CallerTenant } | null>;
}

/**
 * Over HTTPS the cookie is `__Host-` prefixed: the browser keeps it only if it is Secure, for this
 * host exactly and path "/", so a sibling subdomain or a plain-http page cannot set or shadow it.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
const cookieName = (secure: boolean) => (secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE);

export function sessionToken(req: Request): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  const cookies = parseCookie(header);
  // Over HTTPS only the prefixed cookie counts: an unprefixed one may have been planted by a sibling host.
  return req.secure ? cookies[SECURE_SESSION_COOKIE] : (cookies[SECURE_SESSION_COOKIE] ?? cookies[SESSION_COOKIE]);
}

export function setSessionCookie(res: Response, token: string, opts: { secure: boolean; maxAgeSeconds: number }): void {
  res.append(
    'Set-Cookie',
    serializeCookie(cookieName(opts.secure), token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: opts.secure,
      path: '/',
      maxAge: opts.maxAgeSeconds,
    }),
  );
}

export function clearSessionCookie(res: Response, secure: boolean): void {
  res.append('Set-Cookie', serializeCookie(cookieName(secure), '', { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: 0 }));
  // A cookie of the name used before HTTPS (or the prefix) goes too.
  if (secure) res.append('Set-Cookie', serializeCookie(SESSION_COOKIE, '', { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: 0 }));
}

const UNAUTHENTICATED = () => new AppError(401, 'UNAUTHENTICATED', 'ログインしてください');
const FORBIDDEN = () => new AppError(403, 'FORBIDDEN', 'この操作を行う権限がありません');

/** Compared as bytes: a header with non-ASCII characters has more bytes than characters. */
const sameToken = (a: string, b: string) => {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
};
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const CSRF_INVALID = () => new AppError(403, 'CSRF_TOKEN_INVALID', '画面の有効期限が切れました。再読み込みしてからやり直してください');

/** A safe method, or the session's CSRF token in the X-CSRF-Token header (the cookie alone proves nothing). */
export function csrfHolds(req: Request, sessionCsrfToken: string): boolean {
  if (SAFE_METHODS.has(req.method)) return true;
  const sent = req.get(CSRF_HEADER);
  return !!sent && sameToken(sent, sessionCsrfToken);
}

/**
 * Resolves the caller from the session cookie (if any), and marks the answer with its company's
 * environment (services/tenants/sandbox.ts); rejects only a call that declared the other one.
 */
export function identifyCaller(auth: SessionAuthenticator): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = sessionToken(req);
      if (token) {
        const found = await auth.authenticate(token);
        if (found) {
          req.caller = { kind: 'login_user', user: found.user, tenant: found.tenant, sessionId: found.session.id, csrfToken: found.session.csrfToken };
          markEnvironment(req, res, found.tenant);
        }
      }
      next();
    } catch (err) {
      next(err);
    }
  };
}

/**
 * Lets through only login users with one of `roles`. State-changing requests must also carry the
 * session's CSRF token in the X-CSRF-Token header (the cookie alone proves nothing).
 */
export function requireRole(...roles: Role[]): RequestHandler {
  return (req, _res, next) => {
    const caller = req.caller;
    if (!caller) return next(UNAUTHENTICATED());
    if (!csrfHolds(req, caller.csrfToken)) return next(CSRF_INVALID());
    if (!roles.includes(caller.user.role)) return next(FORBIDDEN());
    next();
  };
}

export const ANY_ROLE: Role[] = ['owner', 'manager', 'viewer'];
export const EDITORS: Role[] = ['owner', 'manager'];

/** The caller of a route guarded by requireRole. */
export function callerOf(req: Request): Caller {
  if (!req.caller) throw UNAUTHENTICATED();
  return req.caller;
}

/** Request facts the operation history keeps. */
export function requestFacts(req: Request): { ip: string | null; userAgent: string | null } {
  return { ip: req.ip ?? null, userAgent: req.get('user-agent')?.slice(0, 512) ?? null };
}
