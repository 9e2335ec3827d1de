/** HR's lifecycle steps (tag "lifecycle" in openapi.yaml); the service maps refusals to 409s. */
import { Router } from 'express';
import type { components } from '../generated/openapi';
import type { InvitationQrService, QrFormat } from '../../services/registrants/invitation-qr';
import type { LifecycleService } from '../../services/registrants/lifecycle';
import { ANY_ROLE, EDITORS, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

type Schemas = components['schemas'];

export function lifecycleRoutes(service: LifecycleService, qr: InvitationQrService): Router {
  const router = Router();
  const id = (req: { params: Record<string, unknown> }) => req.params.registrantId as string;

  router.get('/v1/retention-rules', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await service.retentionRules(acting(req).tenantId));
  });
  router.post('/v1/registrants/invitations', requireRole(...EDITORS), async (req, res) => {
    const { registrantIds, ...options } = req.body as Schemas['BulkInvite'];
    res.json(await service.inviteMany(acting(req), registrantIds, options));
  });
  router.post('/v1/registrants/:registrantId/invitation', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.invite(acting(req), id(req), (req.body ?? {}) as Schemas['InviteOptions']));
  });
  router.post('/v1/registrants/:registrantId/invitation/qr', requireRole(...EDITORS), async (req, res) => {
    const image = await qr.issue(acting(req), id(req), ((req.query.format as string | undefined) ?? 'png') as QrFormat);
    res.set('Cache-Control', 'no-store').type(image.contentType).send(image.body);
  });
  router.post('/v1/registrants/:registrantId/approval', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.approve(acting(req), id(req), (req.body as Schemas['Approval'] | undefined)?.dependentId));
  });
  router.post('/v1/registrants/:registrantId/remand', requireRole(...EDITORS), async (req, res) => {
    const { reason, dependentId } = req.body as Schemas['Remand'];
    res.json(await service.remand(acting(req), id(req), reason, dependentId));
  });
  router.post('/v1/registrants/:registrantId/refusal', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.refuse(acting(req), id(req), (req.body as Schemas['Refusal']).reason));
  });
  router.post('/v1/registrants/:registrantId/login-unlock', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.unlockLogin(acting(req), id(req)));
  });
  router.put('/v1/registrants/:registrantId/retirement', requireRole(...EDITORS), async (req, res) => {
    const { retirementDate, deletionDueDate } = req.body as Schemas['Retirement'];
    res.json(await service.setRetirement(acting(req), id(req), retirementDate, deletionDueDate));
  });
  router.put('/v1/registrants/:registrantId/deletion-schedule', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.scheduleDeletion(acting(req), id(req), (req.body as Schemas['DeletionSchedule']).dueDate));
  });
  router.delete('/v1/registrants/:registrantId/deletion-schedule', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.scheduleDeletion(acting(req), id(req), null));
  });
  router.post('/v1/registrants/:registrantId/deletion', requireRole(...EDITORS), async (req, res) => {
    const { scope, dependentId } = req.body as Schemas['ImmediateDeletion'];
    res.json(await service.deleteNow(acting(req), id(req), scope, dependentId));
  });
  return router;
}
