import { Router } from 'express';
import type { TenantSettingsPatch, TenantSettingsService } from '../../services/tenants/settings';
import { ANY_ROLE, EDITORS, callerOf, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

export function tenantRoutes(service: TenantSettingsService): Router {
  const router = Router();
  router.get('/v1/tenant', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await service.get(callerOf(req).tenant.id));
  });
  // Managers change seed 001's 契約者情報 and the passcode; the service keeps the policy settings the owners'.
  router.patch('/v1/tenant', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.update(acting(req), req.body as TenantSettingsPatch));
  });
  // The passcode again, or a new one: to tell employees. Behind the caller's password, never cached.
  router.post('/v1/tenant/passcode/reveal', requireRole(...EDITORS), async (req, res) => {
    const passcode = await service.revealPasscode(acting(req), (req.body as { password: string }).password);
    res.set('Cache-Control', 'no-store').json({ passcode });
  });
  router.post('/v1/tenant/passcode', requireRole(...EDITORS), async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await service.regeneratePasscode(acting(req), (req.body as { password: string }).password));
  });
  return router;
}
