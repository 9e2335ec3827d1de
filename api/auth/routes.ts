import { Router } from 'express';
import { ENVIRONMENT_HEADER, environmentOf } from '../../services/tenants/sandbox';
import type { components } from '../generated/openapi';
import type { AuthService } from '../../services/auth/auth-service';
import { toView } from '../../services/login-users/login-users';
import { AppError } from '../../services/errors';
import { authRateLimiters, type AuthRateLimiting } from './rate-limits';
import { ANY_ROLE, callerOf, clearSessionCookie, requestFacts, requireRole, sessionToken, setSessionCookie, type Caller } from './middleware';

type Me = components['schemas']['Me'];

export interface AuthRouteOptions {
  secureCookies: boolean;
  rateLimits: AuthRateLimiting;
  sessionAbsoluteHours: number;
  loginLockMinutes: number;
}

const NO_SESSION = () => new AppError(401, 'UNAUTHENTICATED', 'ログインしてください');

export function me(caller: Pick<Caller, 'user' | 'tenant' | 'csrfToken'>, lockMinutes: number): Me {
  return {
    user: toView(caller.user, lockMinutes),
    tenant: { id: caller.tenant.id, name: caller.tenant.name, customerNumber: caller.tenant.customerNumber, sandbox: caller.tenant.sandbox },
    csrfToken: caller.csrfToken,
  };
}

export function authRoutes(auth: AuthService, opts: AuthRouteOptions): Router {
  const router = Router();
  const cookie = { secure: opts.secureCookies, maxAgeSeconds: opts.sessionAbsoluteHours * 3600 };
  const { attempts, mailings } = authRateLimiters(opts.rateLimits, 'auth');

  router.post('/v1/auth/login', attempts, async (req, res) => {
    const { email, password, customerNumber } = req.body as { email: string; password: string; customerNumber?: string };
    const result = await auth.login({ email, password, customerNumber, ...requestFacts(req) });
    setSessionCookie(res, result.sessionToken, cookie);
    res.json({ secondFactor: result.secondFactor, csrfToken: result.csrfToken });
  });

  router.post('/v1/auth/second-factor', attempts, async (req, res) => {
    const token = sessionToken(req);
    if (!token) throw NO_SESSION();
    await auth.verifySecondFactor({ sessionToken: token, code: (req.body as { code: string }).code, ...requestFacts(req) });
    const found = await auth.authenticate(token);
    if (!found) throw NO_SESSION();
    res.set(ENVIRONMENT_HEADER, environmentOf(found.tenant));
    res.json(me({ user: found.user, tenant: found.tenant, csrfToken: found.session.csrfToken }, opts.loginLockMinutes));
  });

  router.post('/v1/auth/second-factor/resend', mailings, async (req, res) => {
    const token = sessionToken(req);
    if (!token) throw NO_SESSION();
    await auth.resendLoginCode(token);
    res.status(204).end();
  });

  router.post('/v1/auth/logout', requireRole(...ANY_ROLE), async (req, res) => {
    await auth.logout(sessionToken(req)!, requestFacts(req));
    clearSessionCookie(res, opts.secureCookies);
    res.status(204).end();
  });

  router.get('/v1/auth/me', requireRole(...ANY_ROLE), (req, res) => {
    res.json(me(callerOf(req), opts.loginLockMinutes));
  });

  router.post('/v1/auth/password', requireRole(...ANY_ROLE), async (req, res) => {
    const { currentPassword, newPassword } = req.body as { currentPassword: string; newPassword: string };
    // The session that changed the password stays; every other one of the user ends.
    await auth.changePassword(callerOf(req).user.id, currentPassword, newPassword, { ...requestFacts(req), keepSessionToken: sessionToken(req) });
    res.status(204).end();
  });

  router.post('/v1/auth/password-reset/request', mailings, async (req, res) => {
    await auth.requestPasswordReset({ ...(req.body as { email: string; customerNumber?: string }), ...requestFacts(req) });
    res.status(202).end();
  });

  router.post('/v1/auth/password-reset', attempts, async (req, res) => {
    await auth.resetPassword({ ...(req.body as { email: string; code: string; newPassword: string; customerNumber?: string }), ...requestFacts(req) });
    res.status(204).end();
  });

  router.post('/v1/auth/customer-number/request', mailings, async (req, res) => {
    await auth.requestCustomerNumberReminder({ ...(req.body as { email: string }), ...requestFacts(req) });
    res.status(202).end();
  });

  router.post('/v1/auth/customer-number', attempts, async (req, res) => {
    res.json(await auth.revealCustomerNumbers({ ...(req.body as { email: string; code: string }), ...requestFacts(req) }));
  });

  router.post('/v1/auth/totp/enrolment', requireRole(...ANY_ROLE), async (req, res) => {
    const enrolment = await auth.startTotpEnrolment(callerOf(req).user.id, (req.body as { password: string }).password, requestFacts(req));
    res.set('Cache-Control', 'no-store').json(enrolment);
  });

  router.post('/v1/auth/totp/enrolment/confirm', requireRole(...ANY_ROLE), async (req, res) => {
    const caller = callerOf(req);
    await auth.confirmTotpEnrolment(caller.user.id, (req.body as { code: string }).code, { ...requestFacts(req), keepSessionToken: sessionToken(req) });
    const found = await auth.authenticate(sessionToken(req)!);
    res.json(me({ user: found!.user, tenant: found!.tenant, csrfToken: caller.csrfToken }, opts.loginLockMinutes));
  });

  router.post('/v1/auth/email-method', requireRole(...ANY_ROLE), async (req, res) => {
    await auth.startEmailMethodSwitch(callerOf(req).user.id);
    res.status(204).end();
  });

  router.post('/v1/auth/email-method/confirm', requireRole(...ANY_ROLE), async (req, res) => {
    const caller = callerOf(req);
    await auth.confirmEmailMethodSwitch(caller.user.id, (req.body as { code: string }).code, requestFacts(req));
    const found = await auth.authenticate(sessionToken(req)!);
    res.json(me({ user: found!.user, tenant: found!.tenant, csrfToken: caller.csrfToken }, opts.loginLockMinutes));
  });

  return router;
}
