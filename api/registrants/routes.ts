import express, { Router, type RequestHandler } from 'express';
import type { components } from '../generated/openapi';
import { AppError } from '../../services/errors';
import type { PrismaClient } from '../../services/db/client';
import type { RegistrationAccess } from '../../services/registration/access';
import type { RegistrantDocumentService } from '../../services/registrants/documents';
import { IMAGE_TOO_LARGE, MAX_IMAGE_BYTES } from '../../services/registration/images';
import type { RegistrantService } from '../../services/registrants/registrants';
import type { MyNumberService } from '../../services/registrants/my-number';
import { ANY_ROLE, EDITORS, callerOf, requireRole } from '../auth/middleware';
import { allow } from '../connectors/middleware';
import { acting } from '../login-users/routes';

type RegistrantCreate = components['schemas']['RegistrantCreate'];
type MyNumberInput = components['schemas']['MyNumberInput'];
type Schemas = components['schemas'];

export interface RegistrantRouteDeps {
  prisma: PrismaClient;
  documents: RegistrantDocumentService;
  registrationAccess: RegistrationAccess;
}

export function registrantRoutes(service: RegistrantService, numbers: MyNumberService, deps: RegistrantRouteDeps): Router {
  const router = Router();
  // Before /v1/registrants/:registrantId, which would take "summary" for an id.
  router.get('/v1/registrants/summary', requireRole(...ANY_ROLE), async (req, res) => {
    const summary: Schemas['RegistrantSummary'] = await service.summary(callerOf(req).tenant.id);
    res.json(summary);
  });
  router.post('/v1/registrants', requireRole(...EDITORS), async (req, res) => {
    const created = await service.create(acting(req), req.body as RegistrantCreate, req.get('idempotency-key'));
    res.status(201).location(`/v1/registrants/${created.id}`).json(created);
  });
  // HR and payroll connectors (registrants:read) read a person; both reads are recorded.
  router.get('/v1/registrants/:registrantId', allow({ roles: ANY_ROLE, scope: 'registrants:read' }), async (req, res) => {
    if (req.connector) return res.json(await service.getForConnector(req.connector, req.params.registrantId as string));
    res.json(await service.get(acting(req), req.params.registrantId as string));
  });
  router.patch('/v1/registrants/:registrantId', requireRole(...EDITORS), async (req, res) => {
    res.json(await service.update(acting(req), req.params.registrantId as string, req.body as Schemas['RegistrantPatch']));
  });
  router.post('/v1/registrants/:registrantId/dependents', requireRole(...EDITORS), async (req, res) => {
    const dependent: Schemas['DependentSummary'] = await service.addDependent(acting(req), req.params.registrantId as string, req.body as Schemas['NewDependent'], req.get('idempotency-key'));
    res.status(201).json(dependent);
  });
  router.patch('/v1/registrants/:registrantId/dependents/:dependentId', requireRole(...EDITORS), async (req, res) => {
    const dependent: Schemas['DependentSummary'] = await service.updateDependent(acting(req), req.params.registrantId as string, req.params.dependentId as string, req.body as Schemas['DependentPatch']);
    res.json(dependent);
  });
  // The approval screen: what was submitted, and each image (every view recorded).
  router.get('/v1/registrants/:registrantId/documents', requireRole(...ANY_ROLE), async (req, res) => {
    const documents: Schemas['SubmittedDocument'][] = await deps.documents.list(callerOf(req).tenant.id, req.params.registrantId as string);
    res.json(documents);
  });
  // Images without the number for the approval screen (editors); the number-bearing ones like the number.
  // The image is the request body itself, read only for HR's owners and managers (one byte over the
  // limit is read, so "too large" is told apart from "exactly 4 MB").
  const parseImage = express.raw({ type: () => true, limit: MAX_IMAGE_BYTES + 1 });
  const rawImage: RequestHandler = (req, res, next) => parseImage(req, res, (err?: unknown) => next((err as { type?: string } | undefined)?.type === 'entity.too.large' ? IMAGE_TOO_LARGE() : err));
  router.post('/v1/registrants/:registrantId/documents', requireRole(...EDITORS), rawImage, async (req, res) => {
    const q = req.query as unknown as { purpose: Schemas['DocumentPurpose']; type: Schemas['DocumentType']; side?: 'front' | 'back'; dependentId?: string };
    const image = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    res.status(201).json(await deps.documents.upload(acting(req), req.params.registrantId as string, { purpose: q.purpose, type: q.type, side: q.side ?? 'front', dependentId: q.dependentId }, image));
  });
  router.get('/v1/registrants/:registrantId/documents/:documentId/image', requireRole(...EDITORS), async (req, res) => {
    const { mimeType, image } = await deps.documents.image(acting(req), req.params.registrantId as string, req.params.documentId as string);
    res.set('Cache-Control', 'no-store').set('X-Content-Type-Options', 'nosniff').type(mimeType).send(image);
  });
  router.post('/v1/registrants/:registrantId/documents/:documentId/image/reveal', requireRole(...EDITORS), async (req, res) => {
    const { password, reason } = req.body as Schemas['DocumentRevealRequest'];
    const { mimeType, image } = await deps.documents.revealImage(acting(req), req.params.registrantId as string, req.params.documentId as string, password, reason);
    res.set('Cache-Control', 'no-store').set('X-Content-Type-Options', 'nosniff').type(mimeType).send(image);
  });
  // A forgotten password on the employee's pages: HR clears it; the person sets a new one from their link.
  router.post('/v1/registrants/:registrantId/password-reset', requireRole(...EDITORS), async (req, res) => {
    await deps.registrationAccess.resetPassword(acting(req), req.params.registrantId as string);
    res.status(204).end();
  });
  router.put('/v1/registrants/:registrantId/my-number', requireRole(...EDITORS), async (req, res) => {
    const body = req.body as MyNumberInput;
    await numbers.set(acting(req), req.params.registrantId as string, body.myNumber, body.myNumberConfirmation);
    res.status(204).end();
  });
  router.delete('/v1/registrants/:registrantId/dependents/:dependentId/my-number', requireRole(...EDITORS), async (req, res) => {
    await numbers.remove(acting(req), req.params.registrantId as string, (req.body as { password: string }).password, req.params.dependentId as string);
    res.status(204).end();
  });
  router.put('/v1/registrants/:registrantId/dependents/:dependentId/my-number', requireRole(...EDITORS), async (req, res) => {
    const body = req.body as MyNumberInput;
    await numbers.set(acting(req), req.params.registrantId as string, body.myNumber, body.myNumberConfirmation, req.params.dependentId as string);
    res.status(204).end();
  });
  router.delete('/v1/registrants/:registrantId/my-number', requireRole(...EDITORS), async (req, res) => {
    await numbers.remove(acting(req), req.params.registrantId as string, (req.body as { password: string }).password);
    res.status(204).end();
  });
  // Reading is allowed to every role, but only with the password again and why (a purpose, or the
  // collection check before approval); it is recorded.
  router.post('/v1/registrants/:registrantId/my-number/reveal', requireRole(...ANY_ROLE), async (req, res) => {
    const { password, purpose, reason, dependentId } = req.body as Schemas['RevealRequest'];
    const why = reason ?? purpose;
    if (!why || (reason && purpose)) throw new AppError(400, 'REVEAL_REASON_REQUIRED', '利用目的（または取得時の確認）をひとつ選んでください', [{ path: '/body/purpose', message: '利用目的を選んでください', code: 'required' }]);
    const myNumber = await numbers.reveal(acting(req), req.params.registrantId as string, password, why, dependentId);
    res.set('Cache-Control', 'no-store').json({ myNumber });
  });
  return router;
}
