import { Router } from 'express';
import type { Role, UserKind } from '../../prisma/generated/client';
import type { LoginUserService } from '../../services/login-users/login-users';
import { ANY_ROLE, EDITORS, callerOf, requestFacts, requireRole } from '../auth/middleware';
import type { Request } from 'express';

export const acting = (req: Request) => {
  const caller = callerOf(req);
  return { user: caller.user, tenantId: caller.tenant.id, ...requestFacts(req) };
};

export function loginUserRoutes(service: LoginUserService): Router {
  const router = Router();
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
  return router;
}
