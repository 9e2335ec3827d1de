/**
 * Registering several people at once (README "Registration methods"): bulk manual entry of up to
 * 10 verified people with their numbers, and quick add with invitations. Mounted before the routes
 * with `/v1/registrants/:registrantId`.
 */
import { Router } from 'express';
import type { BulkEntryRequest, BulkRegistrationService, QuickAddRequest } from '../../services/registrants/bulk-registration';
import { EDITORS, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

export function bulkRegistrationRoutes(service: BulkRegistrationService): Router {
  const router = Router();
  // The numbers travel in this request body only; the answer never carries them.
  router.post('/v1/registrants/bulk-entry', requireRole(...EDITORS), async (req, res) => {
    res.status(201).set('Cache-Control', 'no-store').json(await service.bulkEntry(acting(req), req.body as BulkEntryRequest));
  });
  router.post('/v1/registrants/quick-add', requireRole(...EDITORS), async (req, res) => {
    res.status(201).json(await service.quickAdd(acting(req), req.body as QuickAddRequest));
  });
  return router;
}
