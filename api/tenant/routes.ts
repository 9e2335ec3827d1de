import { Router } from 'express';
import type { TenantSettingsPatch, TenantSettingsService } from '../../services/tenants/settings';
import { ANY_ROLE, callerOf, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

export function tenantRoutes(service: TenantSettingsService): Router {
  const router = Router();
  router.get('/v1/tenant', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await service.get(callerOf(req).tenant.id));
  });
  // Contract settings are the owners' alone.
  router.patch('/v1/tenant', requireRole('owner'), async (req, res) => {
    res.json(await service.update(acting(req), req.body as TenantSettingsPatch));
  });
  return router;
}
