/** Webhook subscriptions (tag "payroll"): connectors manage their own; HR owners and managers see all. */
import { Router, type Request } from 'express';
import type { components } from '../generated/openapi';
import type { WebhookService } from '../../services/connectors/webhooks';
import { acting } from '../login-users/routes';
import { allow } from './middleware';

type Schemas = components['schemas'];

/** The tenant and, for a connector, whose webhooks these are. */
const whose = (req: Request) => (req.connector ? { tenantId: req.connector.tenant.id, connectorId: req.connector.client.id } : { tenantId: acting(req).tenantId, connectorId: undefined });

export function webhookRoutes(webhooks: WebhookService): Router {
  const router = Router();
  router.post('/v1/webhooks', allow({ scope: 'registrants:read' }), async (req, res) => {
    res.status(201).set('Cache-Control', 'no-store').json(await webhooks.subscribe(req.connector!, req.body as Schemas['WebhookCreate']));
  });
  router.get('/v1/webhooks', allow({ roles: ['owner', 'manager'], scope: 'registrants:read' }), async (req, res) => {
    const { tenantId, connectorId } = whose(req);
    res.json(await webhooks.list(tenantId, connectorId));
  });
  router.delete('/v1/webhooks/:webhookId', allow({ roles: ['owner'], scope: 'registrants:read' }), async (req, res) => {
    const { tenantId, connectorId } = whose(req);
    await webhooks.remove(tenantId, req.params.webhookId as string, connectorId);
    res.status(204).end();
  });
  router.get('/v1/webhooks/:webhookId/deliveries', allow({ roles: ['owner', 'manager'], scope: 'registrants:read' }), async (req, res) => {
    const { tenantId, connectorId } = whose(req);
    res.json(await webhooks.deliveries(tenantId, req.params.webhookId as string, connectorId));
  });
  return router;
}
