/**
 * The employee's phone pages (issue 6). GET /i/{token} is one HTML page; its script, bundled by
 * esbuild from web/registration/ in memory on first use and kept, reads the token from the page's
 * own address and talks only to the registration API (tag `registration`): no page-only backdoor.
 *
 * The token is in this page's URL, so: no referrer leaves the page, nothing is cached, the page
 * cannot be framed, and only scripts and styles of our own origin run (no inline script at all).
 * Access logs redact /i/ paths (api/app.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { Router, type Response } from 'express';

const WEB = path.join(__dirname, '..', '..', 'web', 'registration');

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

function secure(res: Response, cacheControl: string): Response {
  return res.set({
    'Content-Security-Policy': PAGE_CSP,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': cacheControl,
  });
}

let bundle: Promise<string> | undefined;

/** The page script, built once per process (about a tenth of a second). */
export function registrationBundle(): Promise<string> {
  bundle ??= build({
    entryPoints: [path.join(WEB, 'app.ts')],
    bundle: true,
    write: false,
    outdir: 'out',
    format: 'iife',
    platform: 'browser',
    // iOS 15 and Android Chrome of the last few years
    target: ['es2020', 'safari15', 'chrome96'],
    minify: true,
    charset: 'utf8',
    legalComments: 'none',
    logLevel: 'silent',
    tsconfig: path.join(WEB, '..', 'tsconfig.json'),
  }).then(
    (result) => result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '',
    (err: unknown) => {
      bundle = undefined; // a later request tries again
      throw err;
    },
  );
  return bundle;
}

export function registrationPages(): Router {
  const router = Router();
  let html: string | undefined;
  let css: string | undefined;

  router.get('/i/:token', (_req, res) => {
    html ??= fs.readFileSync(path.join(WEB, 'index.html'), 'utf8');
    secure(res, 'no-store').type('text/html; charset=utf-8').send(html);
  });
  router.get(REGISTRATION_ASSETS.script, async (_req, res) => {
    const js = await registrationBundle();
    secure(res, 'no-cache').type('text/javascript; charset=utf-8').send(js);
  });
  router.get(REGISTRATION_ASSETS.styles, (_req, res) => {
    css ??= fs.readFileSync(path.join(WEB, 'styles.css'), 'utf8');
    secure(res, 'no-cache').type('text/css; charset=utf-8').send(css);
  });
  return router;
}
