/**
 * The HR console (issue 6): one HTML page at /console whose script, bundled from web/console/, draws
 * every screen from the same JSON API any client uses (session cookie + CSRF header). Screens live in
 * the address's fragment (/console#/registrants?status=pending), so nothing of a search (names,
 * e-mail addresses) reaches a server log, and the server serves one page.
 */
import { Router } from 'express';
import { pageBundle, secure, sendAsset, staticText } from './bundle';

export const CONSOLE_ASSETS = { script: '/assets/console.js', styles: '/assets/console.css' } as const;

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // document images (same origin, or blob: once fetched for rotation), the TOTP QR code (data:)
  "img-src 'self' blob: data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const consoleBundle = (): Promise<string> => pageBundle('console');

export function consolePages(): Router {
  const router = Router();
  const file = staticText();
  // The bare address opens the console too; the script does not care where the page is.
  router.get(['/', '/console'], (_req, res) => {
    secure(res, CONSOLE_CSP, 'no-store').type('text/html; charset=utf-8').send(file('console/index.html'));
  });
  router.get(CONSOLE_ASSETS.script, async (_req, res) => {
    sendAsset(secure(res, CONSOLE_CSP, 'no-cache').type('text/javascript; charset=utf-8'), 'console/script', await consoleBundle());
  });
  router.get(CONSOLE_ASSETS.styles, (_req, res) => {
    sendAsset(secure(res, CONSOLE_CSP, 'no-cache').type('text/css; charset=utf-8'), 'console/styles.css', file('console/styles.css'));
  });
  return router;
}
