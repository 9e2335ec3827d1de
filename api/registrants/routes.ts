import { Router } from 'express';
import type { components } from '../generated/openapi';
import type { RegistrantService } from '../../services/registrants/registrants';

type RegistrantCreate = components['schemas']['RegistrantCreate'];

/** Until authentication identifies the caller's tenant, every call acts for `tenantId`. */
export function registrantRoutes(service: RegistrantService, tenantId: string): Router {
  const router = Router();
  router.post('/v1/registrants', async (req, res) => {
    const created = await service.create(tenantId, req.body as RegistrantCreate);
    res.status(201).location(`/v1/registrants/${created.id}`).json(created);
  });
  router.get('/v1/registrants/:registrantId', async (req, res) => {
    res.json(await service.get(tenantId, req.params.registrantId));
  });
  router.post('/v1/registrants/:registrantId/withdraw', async (req, res) => {
    res.status(202).json(await service.withdraw(tenantId, req.params.registrantId));
  });
  return router;
}
