/**
 * HR's lifecycle steps (tag "lifecycle" in openapi.yaml). Each takes an Idempotency-Key: a retry with
 * the same key and body acts once and answers like the first call. A step the workflow has taken on
 * but not finished within the API's deadline answers 202 with where to read its outcome.
 */
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { components } from '../generated/openapi';
import type { InvitationQrService, QrFormat } from '../../services/registrants/invitation-qr';
import type { InvitationBatches } from '../../services/registrants/invitation-batches';
import type { LifecycleService, StepAnswer } from '../../services/registrants/lifecycle';
import type { TimelineService } from '../../services/registrants/timeline';
import type { ConfirmPassword } from '../../services/auth/auth-service';
import { ANY_ROLE, EDITORS, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';

type Schemas = components['schemas'];

/**
 * The request's Idempotency-Key, or a new one: either way it goes back in the answer's header, so a
 * client that did not send one can still retry safely with it.
 */
export function idempotencyKey(req: Request, res: Response): string {
  const key = req.get('idempotency-key') || randomUUID();
  res.set('Idempotency-Key', key);
  return key;
}

/** Done: the registrant (200). Pending: 202, the operation to read, and when to look. */
export function sendStep(res: Response, answer: StepAnswer): void {
  if (answer.state === 'done') {
    res.json(answer.registrant);
    return;
  }
  const pending: Schemas['OperationPending'] = { operationId: answer.operationId, status: 'pending', registrantId: answer.registrantId };
  res
    .status(202)
    .location(`/v1/registrants/${answer.registrantId}/operations/${answer.operationId}`)
    .set('Retry-After', '5')
    .json(pending);
}

export function lifecycleRoutes(service: LifecycleService, qr: InvitationQrService, batches: InvitationBatches, confirmPassword: ConfirmPassword, timeline: TimelineService): Router {
  const router = Router();
  const id = (req: { params: Record<string, unknown> }) => req.params.registrantId as string;

  router.get('/v1/retention-rules', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await service.retentionRules(acting(req).tenantId));
  });
  router.post('/v1/registrants/invitations', requireRole(...EDITORS), async (req, res) => {
    const { registrantIds, ...options } = req.body as Schemas['BulkInvite'];
    const result: Schemas['BulkInviteResult'] = await service.inviteMany(acting(req), registrantIds, options, idempotencyKey(req, res));
    res.json(result);
  });
  // The review list before a mass invitation: everyone a filter matches (across pages) or the rows picked.
  router.post('/v1/registrants/invitation-review', requireRole(...EDITORS), async (req, res) => {
    const result: Schemas['InvitationReviewResult'] = await batches.review(acting(req), req.body as Schemas['InvitationReview']);
    res.json(result);
  });
  // The sheets carry live links: never cached, never replayed from an idempotency record.
  router.post('/v1/registrants/paper-invitations', requireRole(...EDITORS), async (req, res) => {
    const result: Schemas['PaperInvitationResult'] = await batches.paper(acting(req), (req.body as Schemas['PaperInvitations']).registrantIds, req.get('idempotency-key') || undefined);
    res.set('Cache-Control', 'no-store').json(result);
  });
  router.post('/v1/registrants/:registrantId/invitation', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.invite(acting(req), id(req), (req.body ?? {}) as Schemas['InviteOptions'], idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/invitation/qr', requireRole(...EDITORS), async (req, res) => {
    const image = await qr.issue(acting(req), id(req), ((req.query.format as string | undefined) ?? 'png') as QrFormat);
    res.set('Cache-Control', 'no-store').type(image.contentType).send(image.body);
  });
  router.post('/v1/registrants/:registrantId/withdraw', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.withdraw(acting(req), id(req), idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/approval', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.approve(acting(req), id(req), (req.body as Schemas['Approval'] | undefined)?.dependentId, idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/remand', requireRole(...EDITORS), async (req, res) => {
    const { reason, dependentId } = req.body as Schemas['Remand'];
    sendStep(res, await service.remand(acting(req), id(req), reason, dependentId, idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/refusal', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.refuse(acting(req), id(req), (req.body as Schemas['Refusal']).reason, idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/status', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.changeStatus(acting(req), id(req), req.body as Schemas['StatusChange'], idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/invitation/extension', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.extendLink(acting(req), id(req), (req.body as Schemas['LinkExtension']).days, idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/reminder', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.remindNow(acting(req), id(req), idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/login-unlock', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.unlockLogin(acting(req), id(req), idempotencyKey(req, res)));
  });
  router.put('/v1/registrants/:registrantId/retirement', requireRole(...EDITORS), async (req, res) => {
    const { retirementDate, deletionDueDate } = req.body as Schemas['Retirement'];
    sendStep(res, await service.setRetirement(acting(req), id(req), retirementDate, deletionDueDate, idempotencyKey(req, res)));
  });
  router.put('/v1/registrants/:registrantId/deletion-schedule', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.scheduleDeletion(acting(req), id(req), (req.body as Schemas['DeletionSchedule']).dueDate, idempotencyKey(req, res)));
  });
  router.delete('/v1/registrants/:registrantId/deletion-schedule', requireRole(...EDITORS), async (req, res) => {
    sendStep(res, await service.scheduleDeletion(acting(req), id(req), null, idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/deletion', requireRole(...EDITORS), async (req, res) => {
    const { scope, dependentId, password } = req.body as Schemas['ImmediateDeletion'];
    const caller = acting(req);
    // Irreversible: the password again, checked here so that it never travels to the workflow.
    await confirmPassword(caller.user.id, password, { ip: caller.ip, userAgent: caller.userAgent });
    sendStep(res, await service.deleteNow(caller, id(req), scope, dependentId, idempotencyKey(req, res)));
  });
  router.post('/v1/registrants/:registrantId/deletion/confirmation', requireRole(...EDITORS), async (req, res) => {
    const caller = acting(req);
    // Irreversible: the password again, checked here so that it never travels to the workflow.
    await confirmPassword(caller.user.id, (req.body as Schemas['PasswordConfirmation']).password, { ip: caller.ip, userAgent: caller.userAgent });
    sendStep(res, await service.confirmDeletion(caller, id(req), idempotencyKey(req, res)));
  });
  router.get('/v1/registrants/:registrantId/timeline', requireRole(...ANY_ROLE), async (req, res) => {
    const t = await timeline.forRegistrant(acting(req).tenantId, id(req));
    const body: Schemas['Timeline'] = {
      past: t.past.map((e) => ({ ...e, at: e.at.toISOString() })),
      mails: t.mails.map((m) => ({ ...m, askedAt: m.askedAt.toISOString(), sentAt: m.sentAt?.toISOString() ?? null })),
      draftSavedAt: t.draftSavedAt?.toISOString() ?? null,
      upcoming: t.upcoming,
      workflow: t.workflow,
    };
    res.json(body);
  });
  router.get('/v1/registrants/:registrantId/operations/:operationId', requireRole(...ANY_ROLE), async (req, res) => {
    const operation: Schemas['Operation'] = await service.operation(acting(req).tenantId, id(req), req.params.operationId as string);
    res.json(operation);
  });
  return router;
}
