/**
 * Registering several people at once (README "Registration methods"): bulk manual entry of up to
 * 10 verified people with their numbers, and quick add with invitations. Mounted before the routes
 * with `/v1/registrants/:registrantId`.
 */
import { Router, type Response } from 'express';
import type { Once } from '../../services/idempotency/request-records';
import type { BulkEntryRequest, BulkRegistrationService, QuickAddRequest } from '../../services/registrants/bulk-registration';
import { EDITORS, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

/** 201 with the answer; a replayed one says so (as payroll's batch does). */
export function sendOnce(res: Response, answer: Once<unknown>): void {
  if (answer.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(answer.status).json(answer.body);
}

export function bulkRegistrationRoutes(service: BulkRegistrationService): Router {
  const router = Router();
  // The numbers travel in this request body only; the answer never carries them.
  // With an Idempotency-Key a retry (or a double click) gets the first answer and stores nobody twice.
  router.post('/v1/registrants/bulk-entry', requireRole(...EDITORS), async (req, res) => {
    sendOnce(res.set('Cache-Control', 'no-store'), await service.bulkEntry(acting(req), req.body as BulkEntryRequest, req.get('idempotency-key')));
  });
  router.post('/v1/registrants/quick-add', requireRole(...EDITORS), async (req, res) => {
    sendOnce(res, await service.quickAdd(acting(req), req.body as QuickAddRequest, req.get('idempotency-key')));
  });
  return router;
}
