/**
 * The employee's registration API (tag "registration"), used by the phone pages. The link token
 * travels in request bodies, never in a URL; the session is its own cookie, scoped to these routes,
 * and a state-changing call must carry its CSRF token like the console's.
 */
import { ENVIRONMENT_HEADER, environmentOf, markEnvironment } from '../../services/tenants/sandbox';
import { randomUUID } from 'node:crypto';
import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import { parse as parseCookie, serialize as serializeCookie } from 'cookie';
import type { components } from '../generated/openapi';
import type { RegistrationAccess } from '../../services/registration/access';
import { IMAGE_TOO_LARGE, MAX_IMAGE_BYTES } from '../../services/registration/images';
import type { RegistrantCaller, RegistrationService } from '../../services/registration/registration';
import type { RegistrationSessions } from '../../services/registration/sessions';
import { AppError } from '../../services/errors';
import { ANY_ROLE, CSRF_INVALID, csrfHolds, requestFacts, requireRole } from '../auth/middleware';
import { authRateLimiters, type AuthRateLimiting } from '../auth/rate-limits';
import { acting } from '../login-users/routes';

type Schemas = components['schemas'];

export const REGISTRATION_COOKIE = 'mynaflow_registration';
const COOKIE_PATH = '/v1/registration';

declare module 'express-serve-static-core' {
  interface Request {
    registrantCaller?: RegistrantCaller & { csrfToken: string };
    /** the registration session the cookie names, looked up before the body is read (null: none valid) */
    registrationSession?: Awaited<ReturnType<RegistrationSessions['find']>>;
  }
}

/** Looks up the employee's session early (api/request-size.ts): a known caller may send more. */
export function identifyRegistrant(sessions: RegistrationSessions): RequestHandler {
  return async (req, res, next) => {
    const token = tokenOf(req);
    if (!token || !req.originalUrl.startsWith(COOKIE_PATH)) return next();
    try {
      req.registrationSession = await sessions.find(token);
      if (req.registrationSession) markEnvironment(req, res, req.registrationSession.registrant.tenant);
      next();
    } catch (err) {
      next(err);
    }
  };
}

export interface RegistrationRouteOptions {
  secureCookies: boolean;
  rateLimits: AuthRateLimiting;
  /** how long the cookie may live (the session ends sooner when idle or when its link dies) */
  absoluteHours: number;
}

export interface RegistrationRouteDeps {
  access: RegistrationAccess;
  sessions: RegistrationSessions;
  registration: RegistrationService;
}

const UNAUTHENTICATED = () => new AppError(401, 'UNAUTHENTICATED', '登録用リンクを開いてログインしてください');
const tokenOf = (req: Request) => (req.headers.cookie ? parseCookie(req.headers.cookie)[REGISTRATION_COOKIE] : undefined);

export function registrationRoutes(deps: RegistrationRouteDeps, opts: RegistrationRouteOptions): Router {
  const { access, sessions, registration } = deps;
  const router = Router();
  const { attempts } = authRateLimiters(opts.rateLimits, 'registration', { failuresOnly: true });

  const setCookie = (res: Response, token: string, maxAge: number) =>
    res.append('Set-Cookie', serializeCookie(REGISTRATION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: opts.secureCookies, path: COOKIE_PATH, maxAge }));

  /** Only the registrant's own session; state changes also need its CSRF token. */
  const requireRegistrant: RequestHandler = async (req, _res, next) => {
    try {
      const s = req.registrationSession !== undefined ? req.registrationSession : await sessions.find(tokenOf(req));
      if (!s) throw UNAUTHENTICATED();
      if (!csrfHolds(req, s.csrfToken)) throw CSRF_INVALID();
      req.registrantCaller = { registrant: s.registrant, csrfToken: s.csrfToken, ...requestFacts(req) };
      next();
    } catch (err) {
      next(err);
    }
  };
  const me = (req: Request) => req.registrantCaller!;

  router.post('/v1/registration/link', attempts, async (req, res) => {
    const info = await access.linkInfo((req.body as Schemas['LinkToken']).token, requestFacts(req));
    res.set('Cache-Control', 'no-store').set(ENVIRONMENT_HEADER, environmentOf(info)).json(info);
  });
  router.post('/v1/registration/setup', attempts, async (req, res) => {
    const body = req.body as Schemas['RegistrationSetup'];
    const { token, csrfToken } = await access.setUp(body, requestFacts(req));
    setCookie(res, token, opts.absoluteHours * 3600);
    res.json({ csrfToken });
  });
  router.post('/v1/registration/login', attempts, async (req, res) => {
    const { token, csrfToken } = await access.logIn(req.body as Schemas['RegistrationLogin'], requestFacts(req));
    setCookie(res, token, opts.absoluteHours * 3600);
    res.json({ csrfToken });
  });
  router.post('/v1/registration/logout', requireRegistrant, async (req, res) => {
    await sessions.revoke(tokenOf(req));
    setCookie(res, '', 0);
    res.status(204).end();
  });

  router.get('/v1/registration', requireRegistrant, async (req, res) => {
    res.set('Cache-Control', 'no-store').json({ ...(await registration.overview(me(req))), csrfToken: me(req).csrfToken });
  });
  router.get('/v1/registration/consents', requireRegistrant, async (req, res) => {
    res.json(await access.consents(me(req).registrant.id));
  });
  router.post('/v1/registration/consents', requireRegistrant, async (req, res) => {
    const caller = me(req);
    await access.consent(caller.registrant, (req.body as { consentedPurposes?: unknown }).consentedPurposes, { ip: caller.ip, userAgent: caller.userAgent });
    res.set('Cache-Control', 'no-store').json(await registration.overview(caller));
  });
  router.put('/v1/registration/profile', requireRegistrant, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await registration.saveProfile(me(req), req.body as Schemas['RegistrationProfile']));
  });
  router.post('/v1/registration/dependents', requireRegistrant, async (req, res) => {
    res.status(201).set('Cache-Control', 'no-store').json(await registration.addDependent(me(req), req.body as Schemas['RegistrationDependentInput']));
  });
  router.patch('/v1/registration/dependents/:dependentId', requireRegistrant, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await registration.updateDependent(me(req), req.params.dependentId as string, req.body as Schemas['RegistrationDependentInput']));
  });
  router.delete('/v1/registration/dependents/:dependentId', requireRegistrant, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await registration.removeDependent(me(req), req.params.dependentId as string));
  });
  router.post('/v1/registration/dependents/:dependentId/restore', requireRegistrant, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await registration.restoreDependent(me(req), req.params.dependentId as string));
  });

  // The image is the request body itself (what a phone's fetch sends from a file or the camera);
  // one byte over the limit is read so "too large" is told apart from "exactly 4 MB".
  const parseRaw = express.raw({ type: () => true, limit: MAX_IMAGE_BYTES + 1 });
  const rawImage: RequestHandler = (req, res, next) =>
    parseRaw(req, res, (err?: unknown) => next((err as { type?: string } | undefined)?.type === 'entity.too.large' ? IMAGE_TOO_LARGE() : err));
  router.post('/v1/registration/documents', requireRegistrant, rawImage, async (req, res) => {
    const q = req.query as unknown as { purpose: Schemas['DocumentPurpose']; type: Schemas['DocumentType']; side?: 'front' | 'back'; dependentId?: string };
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    res.status(201).set('Cache-Control', 'no-store').json(await registration.addDocument(me(req), { purpose: q.purpose, type: q.type, side: q.side ?? 'front', dependentId: q.dependentId }, body));
  });
  router.get('/v1/registration/documents/:documentId/image', requireRegistrant, async (req, res) => {
    const { mimeType, image } = await registration.documentImage(me(req), req.params.documentId as string);
    res.set('Cache-Control', 'no-store').set('X-Content-Type-Options', 'nosniff').type(mimeType).send(image);
  });
  router.delete('/v1/registration/documents/:documentId', requireRegistrant, async (req, res) => {
    res.set('Cache-Control', 'no-store').json(await registration.removeDocument(me(req), req.params.documentId as string));
  });
  router.post('/v1/registration/submission', requireRegistrant, async (req, res) => {
    const key = req.get('idempotency-key') || randomUUID();
    res.set('Idempotency-Key', key);
    const { pending, registration: now } = await registration.finish(me(req), key);
    res.set('Cache-Control', 'no-store').status(pending ? 202 : 200).json(now);
  });

  // HR reads the consents a person gave.
  router.get('/v1/registrants/:registrantId/consents', requireRole(...ANY_ROLE), async (req, res) => {
    res.json(await access.consentsInTenant(acting(req).tenantId, req.params.registrantId as string));
  });
  return router;
}
