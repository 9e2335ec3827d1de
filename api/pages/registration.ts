/**
 * The employee's phone pages (issue 6). GET /i/ is one HTML page; its script, bundled from
 * web/registration/, reads the token from the page's own address — the fragment of /i/#k={token},
 * which the browser never sends here (shared/invitation-link.ts) — and talks only to the
 * registration API (tag `registration`): no page-only backdoor. /i/{token}, the form of links
 * mailed before, still opens the page (access logs redact it).
 *
 * The token is in this page's address until its script takes it out, so: no referrer leaves the
 * page, nothing is cached, the page cannot be framed, and only scripts and styles of our own origin
 * run (no inline script at all).
 */
import { Router, type RequestHandler } from 'express';
import { INVITATION_PAGE } from '../../shared/invitation-link';
import { pageBundle, secure, sendAsset, staticText } from './bundle';

export const REGISTRATION_ASSETS = { script: '/assets/registration.js', styles: '/assets/registration.css' } as const;

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // previews: the chosen file (blob:) before upload, the stored image (same origin) after; data:
  // for the photo shrinker on Safari/iOS, which decodes the photo through a data: URL (shrink-image.ts)
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const registrationBundle = (): Promise<string> => pageBundle('registration');

export function registrationPages(): Router {
  const router = Router();
  const file = staticText();
  const page: RequestHandler = (_req, res) => {
    secure(res, PAGE_CSP, 'no-store').type('text/html; charset=utf-8').send(file('registration/index.html'));
  };
  router.get(INVITATION_PAGE, page);
  router.get('/i/:token', page);
  router.get(REGISTRATION_ASSETS.script, async (_req, res) => {
    sendAsset(secure(res, PAGE_CSP, 'no-cache').type('text/javascript; charset=utf-8'), 'registration/script', await registrationBundle());
  });
  router.get(REGISTRATION_ASSETS.styles, (_req, res) => {
    sendAsset(secure(res, PAGE_CSP, 'no-cache').type('text/css; charset=utf-8'), 'registration/styles.css', file('registration/styles.css'));
  });
  return router;
}
