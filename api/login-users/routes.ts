import { Router } from 'express';
import type { Role, UserKind } from '../../prisma/generated/client';
import type { LoginUserService } from '../../services/login-users/login-users';
import { ANY_ROLE, EDITORS, callerOf, requestFacts, requireRole } from '../auth/middleware';
import { authRateLimiters, type AuthRateLimiting } from '../auth/rate-limits';
import type { Request } from 'express';

export const acting = (req: Request) => {
  const caller = callerOf(req);
  return { user: caller.user, tenantId: caller.tenant.id, ...requestFacts(req) };
};

export function loginUserRoutes(service: LoginUserService, opts: { rateLimits: AuthRateLimiting }): Router {
  const router = Router();
  // The confirmation link is tried without a session: counted with the console's other attempts.
  const { attempts } = authRateLimiters(opts.rateLimits, 'auth');
  // Each request or resend mails two addresses: counted per caller's address like the other mailings.
  const { mailings } = authRateLimiters(opts.rateLimits, 'email-change');
  router.get('/v1/login-users', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await service.list(callerOf(req).tenant.id));
  });
  router.post('/v1/login-users', requireRole(...EDITORS), async (req, res) => {
    res.status(201).json(await service.create(acting(req), req.body as { email: string; name: string; role: Role; kind?: UserKind; department?: string | null; note?: string | null; password: string }));
  });
  router.patch('/v1/login-users/:loginUserId', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.update(acting(req), req.params.loginUserId as string, req.body as { name?: string; role?: Role; kind?: UserKind; department?: string | null; note?: string | null }));
  });
  router.delete('/v1/login-users/:loginUserId', requireRole(...EDITORS), async (req, res) => {
    await service.remove(acting(req), req.params.loginUserId as string);
    res.status(204).end();
  });
  router.post('/v1/login-users/:loginUserId/unlock', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.unlock(acting(req), req.params.loginUserId as string));
  });
  // A new e-mail address: the user themself, or whoever administers them (the service decides).
  router.post('/v1/login-users/:loginUserId/email-change', requireRole(...ANY_ROLE), mailings, async (req, res) => {
    res.json(await service.requestEmailChange(acting(req), req.params.loginUserId as string, req.body as { email: string; password: string }));
  });
  router.post('/v1/login-users/:loginUserId/email-change/resend', requireRole(...ANY_ROLE), mailings, async (req, res) => {
    res.json(await service.resendEmailChange(acting(req), req.params.loginUserId as string));
  });
  router.delete('/v1/login-users/:loginUserId/email-change', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await service.cancelEmailChange(acting(req), req.params.loginUserId as string));
  });
  // The token in the body, never in a URL: the console reads it from the link's fragment.
  router.post('/v1/auth/email-change/confirm', attempts, async (req, res) => {
    await service.confirmEmailChange(req.body as { token: string }, requestFacts(req));
    res.status(204).end();
  });
  router.post('/v1/login-users/:loginUserId/password', requireRole('owner'), async (req, res) => {
    await service.setPassword(acting(req), req.params.loginUserId as string, req.body as { password: string; newPassword: string });
    res.status(204).end();
  });
  return router;
}
