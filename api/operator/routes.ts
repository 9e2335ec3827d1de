/**
 * Operators' routes (tag "operator"), for the tenant's owners: what needs attention (stuck steps,
 * ended workflows, queued starts, failing webhooks, paused mail) and the actions that fix it. Each
 * action is recorded in the operation history.
 */
import { Router, type Request } from 'express';
import type { components } from '../generated/openapi';
import type { OperatorActions, Operator } from '../../services/operator/actions';
import type { OperatorAttentionService } from '../../services/operator/attention';
import type { LifecycleService } from '../../services/registrants/lifecycle';
import { actorOf, stepActorOf } from '../../services/login-users/login-users';
import { requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';
import { idempotencyKey, sendStep } from '../registrants/lifecycle-routes';

type Schemas = components['schemas'];

/** Operators are the tenant's owners (最高権限): the only role that may steer workflows. */
export const OPERATORS = ['owner'] as const;

const operatorOf = (req: Request): Operator => {
  const a = acting(req);
  return { actor: actorOf(a.user), step: stepActorOf(a), ip: a.ip, userAgent: a.userAgent };
};

export function operatorRoutes(attention: OperatorAttentionService, actions: OperatorActions, lifecycle: LifecycleService): Router {
  const router = Router();
  router.get('/v1/operator/attention', requireRole(...OPERATORS), async (req, res) => {
    const a = await attention.forTenant(acting(req).tenantId);
    const body: Schemas['OperatorAttention'] = {
      ...a,
      startsQueued: a.startsQueued.map((s) => ({ ...s, since: s.since.toISOString() })),
      webhookDeliveries: a.webhookDeliveries.map((d) => ({ ...d, lastAttemptAt: d.lastAttemptAt?.toISOString() ?? null })),
      mailPause: a.mailPause ? { since: a.mailPause.since.toISOString(), by: a.mailPause.by } : null,
    };
    res.json(body);
  });
  router.post('/v1/operator/registrants/:registrantId/retry', requireRole(...OPERATORS), async (req, res) => {
    sendStep(res, await lifecycle.retryNow(acting(req), req.params.registrantId as string, idempotencyKey(req, res)));
  });
  router.post('/v1/operator/registrants/:registrantId/revival', requireRole(...OPERATORS), async (req, res) => {
    const a = acting(req);
    res.json(await actions.revive(a.tenantId, req.params.registrantId as string, operatorOf(req)));
  });
  router.post('/v1/operator/webhook-deliveries/:deliveryId/redelivery', requireRole(...OPERATORS), async (req, res) => {
    const a = acting(req);
    res.status(202).json(await actions.redeliver(a.tenantId, req.params.deliveryId as string, operatorOf(req)));
  });
  router.put('/v1/operator/mail-pause', requireRole(...OPERATORS), async (req, res) => {
    const a = acting(req);
    res.json(await actions.setMailPause(a.tenantId, (req.body as Schemas['MailPause']).paused, operatorOf(req)));
  });
  return router;
}
