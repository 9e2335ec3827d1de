/** The collection dashboard (tag "dashboard"): where everyone stands and who needs HR's eye. */
import { Router } from 'express';
import type { components } from '../generated/openapi';
import type { DashboardService } from '../../services/registrants/dashboard';
import { ANY_ROLE, callerOf, requireRole } from '../auth/middleware';

type Schemas = components['schemas'];

export function dashboardRoutes(dashboard: DashboardService): Router {
  const router = Router();
  router.get('/v1/dashboard', requireRole(...ANY_ROLE), async (req, res) => {
    const d = await dashboard.forTenant(callerOf(req).tenant.id);
    const body: Schemas['Dashboard'] = {
      ...d,
      lists: Object.fromEntries(
        Object.entries(d.lists).map(([k, l]) => [k, { count: l.count, people: l.people.map((p) => ({ ...p, at: p.at?.toISOString() ?? null })) }]),
      ) as Schemas['Dashboard']['lists'],
    };
    res.json(body);
  });
  return router;
}
