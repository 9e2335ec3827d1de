import { Router } from 'express';
import type { components } from '../generated/openapi';
import type { Purpose } from '../../prisma/generated/client';
import type { RegistrantService } from '../../services/registrants/registrants';
import type { MyNumberService } from '../../services/registrants/my-number';
import { ANY_ROLE, EDITORS, requireRole } from '../auth/middleware';
import { allow } from '../connectors/middleware';
import { acting } from '../login-users/routes';

type RegistrantCreate = components['schemas']['RegistrantCreate'];
type MyNumberInput = components['schemas']['MyNumberInput'];

export function registrantRoutes(service: RegistrantService, numbers: MyNumberService): Router {
  const router = Router();
  router.post('/v1/registrants', requireRole(...EDITORS), async (req, res) => {
    const created = await service.create(acting(req), req.body as RegistrantCreate);
    res.status(201).location(`/v1/registrants/${created.id}`).json(created);
  });
  // HR and payroll connectors (registrants:read) read a person; both reads are recorded.
  router.get('/v1/registrants/:registrantId', allow({ roles: ANY_ROLE, scope: 'registrants:read' }), async (req, res) => {
    if (req.connector) return res.json(await service.getForConnector(req.connector, req.params.registrantId as string));
    res.json(await service.get(acting(req), req.params.registrantId as string));
  });
  router.post('/v1/registrants/:registrantId/withdraw', requireRole(...EDITORS), async (req, res) => {
    res.status(202).json(await service.withdraw(acting(req), req.params.registrantId as string));
  });
  router.put('/v1/registrants/:registrantId/my-number', requireRole(...EDITORS), async (req, res) => {
    const body = req.body as MyNumberInput;
    await numbers.set(acting(req), req.params.registrantId as string, body.myNumber, body.myNumberConfirmation);
    res.status(204).end();
  });
  router.delete('/v1/registrants/:registrantId/my-number', requireRole(...EDITORS), async (req, res) => {
    await numbers.remove(acting(req), req.params.registrantId as string);
    res.status(204).end();
  });
  // Reading is allowed to every role, but only with the password again and a purpose; it is recorded.
  router.post('/v1/registrants/:registrantId/my-number/reveal', requireRole(...ANY_ROLE), async (req, res) => {
    const { password, purpose } = req.body as { password: string; purpose: Purpose };
    const myNumber = await numbers.reveal(acting(req), req.params.registrantId as string, password, purpose);
    res.set('Cache-Control', 'no-store').json({ myNumber });
  });
  return router;
}
