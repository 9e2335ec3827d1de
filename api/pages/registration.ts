/**
 * The employee's phone pages (issue 6). GET /i/{token} is one HTML page; its script, bundled from
 * web/registration/, reads the token from the page's own address and talks only to the registration
 * API (tag `registration`): no page-only backdoor.
 *
 * The token is in this page's URL, so: no referrer leaves the page, nothing is cached, the page
 * cannot be framed, and only scripts and styles of our own origin run (no inline script at all).
 * Access logs redact /i/ paths (api/app.ts).
 */
import { Router } from 'express';
import { pageBundle, secure, staticText } from './bundle';

export const REGISTRATION_ASSETS = { script: '/assets/registration.js', styles: '/assets/registration.css' } as const;

export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // previews: the chosen file (blob:) before upload, the stored image (same origin) after
  "img-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const registrationBundle = (): Promise<string> => pageBundle('registration');

export function registrationPages(): Router {
  const router = Router();
  const file = staticText();
  router.get('/i/:token', (_req, res) => {
    secure(res, PAGE_CSP, 'no-store').type('text/html; charset=utf-8').send(file('registration/index.html'));
  });
  router.get(REGISTRATION_ASSETS.script, async (_req, res) => {
    secure(res, PAGE_CSP, 'no-cache').type('text/javascript; charset=utf-8').send(await registrationBundle());
  });
  router.get(REGISTRATION_ASSETS.styles, (_req, res) => {
    secure(res, PAGE_CSP, 'no-cache').type('text/css; charset=utf-8').send(file('registration/styles.css'));
  });
  return router;
}
