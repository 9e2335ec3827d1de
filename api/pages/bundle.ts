/**
 * What the app's own pages share: a script bundled by esbuild in memory on first use and kept (no
 * build step, nothing from a CDN), static files read once, and the security headers of a page that
 * runs only its own scripts and styles.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type { Response } from 'express';
import { PROJECT_ROOT } from '../../services/config/project-root';

export const WEB = path.join(PROJECT_ROOT, 'web');

/** The headers every page and asset gets; csp differs per page set. */
export function secure(res: Response, csp: string, cacheControl: string): Response {
  return res.set({
    'Content-Security-Policy': csp,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': cacheControl,
  });
}

const tags = new Map<string, { text: string; tag: string }>();

/**
 * A script or style sheet with its ETag, so a browser told `no-cache` revalidates it with a 304
 * (express answers 304 itself when If-None-Match holds the tag). The app generates no ETags of its
 * own: an API answer is never cached (no-store), and hashing each one cost a list page 3 % of its CPU.
 */
export function sendAsset(res: Response, name: string, text: string): void {
  let known = tags.get(name);
  if (known?.text !== text) tags.set(name, (known = { text, tag: `"${createHash('sha256').update(text).digest('base64url').slice(0, 27)}"` }));
  res.set('ETag', known.tag).send(text);
}

const bundles = new Map<string, Promise<string>>();

/** The script of web/{dir}/app.ts, built once per process (about a tenth of a second). */
export function pageBundle(dir: string): Promise<string> {
  let bundle = bundles.get(dir);
  if (!bundle) {
    bundle = build({
      entryPoints: [path.join(WEB, dir, 'app.ts')],
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
      tsconfig: path.join(WEB, 'tsconfig.json'),
    }).then(
      (result) => result.outputFiles.find((f) => f.path.endsWith('.js'))?.text ?? '',
      (err: unknown) => {
        bundles.delete(dir); // a later request tries again
        throw err;
      },
    );
    bundles.set(dir, bundle);
  }
  return bundle;
}

/** A file of web/, read on first use and kept. */
export function staticText(): (file: string) => string {
  const cache = new Map<string, string>();
  return (file) => {
    let text = cache.get(file);
    if (text === undefined) {
      text = fs.readFileSync(path.join(WEB, file), 'utf8');
      cache.set(file, text);
    }
    return text;
  };
}
