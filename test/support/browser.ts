/**
 * Real Chromium for the page tests (Debian's /usr/bin/chromium through playwright-core, never a
 * downloaded browser), the app listening on a loopback port, and the HR console's login done the way
 * a person does it (password, then the code from the mail). Screenshots of the main screens go to
 * test-output/screenshots/<suite>/ (git-ignored) on every run.
 */
import axe from 'axe-core';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Express } from 'express';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { Outbox } from '../../services/outbox/outbox';
import { capture } from './capture';
import { containsAny } from './leak-scan';
import type { TestUser } from './fixtures';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export async function listen(app: Express): Promise<{ server: Server; base: string; close: () => Promise<void> }> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface Tab {
  page: Page;
  context: BrowserContext;
  requests: { method: string; url: string }[];
  /** uncaught errors of the page's script */
  errors: string[];
}

/**
 * A browser context of its own (own cookies). Everything the page printed or received as JSON is
 * pushed to `seen`, for the test's leak check.
 */
export async function openTab(browser: Browser, seen: string[], opts: { phone?: boolean } = {}): Promise<Tab> {
  const context = await browser.newContext(
    opts.phone
      ? { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'ja-JP' }
      : { viewport: { width: 1280, height: 900 }, locale: 'ja-JP', acceptDownloads: true },
  );
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const tab: Tab = { page, context, requests: [], errors: [] };
  page.on('request', (r) => tab.requests.push({ method: r.method(), url: r.url() }));
  page.on('pageerror', (e) => tab.errors.push(e.message));
  page.on('console', (m) => {
    seen.push(m.text());
    // The console's own console.error is a bug report; the browser's resource errors are not.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) tab.errors.push(m.text());
    capture('browser-console', m.text());
  });
  page.on('response', async (r) => {
    if (!(r.headers()['content-type'] ?? '').includes('json')) return;
    seen.push(await r.text().catch(() => ''));
  });
  return tab;
}

/** Waits for a screen of the console or the phone pages (main or #app carries data-page). */
export async function onScreen(page: Page, name: string): Promise<void> {
  try {
    await page.waitForSelector(`[data-page="${name}"]`);
  } catch (err) {
    // Say which screen it is instead (its name, heading and first message: never a number).
    const where = await page
      .evaluate(() => {
        const d = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null; getAttribute(a: string): string | null } | null } }).document;
        return `${d.querySelector('[data-page]')?.getAttribute('data-page')}: ${d.querySelector('h1')?.textContent} ${d.querySelector('.box, .message')?.textContent ?? ''}`;
      })
      .catch(() => '?');
    throw new Error(`expected screen "${name}", but it shows ${where}`, { cause: err });
  }
}

/** Runs an action that redraws the console's screen (search, navigation) and waits for the new drawing. */
export async function redrawn(page: Page, action: () => Promise<unknown>): Promise<void> {
  const before = await page.getAttribute('#app', 'data-draw');
  await action();
  await page.waitForFunction((b) => {
    const app = (globalThis as unknown as { document: { getElementById(id: string): { getAttribute(a: string): string | null } | null } }).document.getElementById('app');
    return app?.getAttribute('data-draw') !== b;
  }, before);
}

const counters = new Map<string, number>();
/**
 * A screenshot under test-output/screenshots/<suite>/ (never taken with a number on screen): the
 * full page, or one part of it (a locator).
 */
export async function snap(page: Page | Locator, suite: string, name: string): Promise<void> {
  const dir = path.join(__dirname, '..', '..', 'test-output', 'screenshots', suite);
  fs.mkdirSync(dir, { recursive: true });
  const n = (counters.get(suite) ?? 0) + 1;
  counters.set(suite, n);
  const file = path.join(dir, `${String(n).padStart(2, '0')}-${name}.png`);
  await ('goto' in page ? page.screenshot({ path: file, fullPage: true }) : page.screenshot({ path: file }));
}

/** A card-like picture drawn by the browser itself (wider than tall), as PNG and JPEG bytes. */
export async function drawCardImages(browser: Browser, width = 320, height = 200): Promise<{ png: Buffer; jpeg: Buffer }> {
  const scratch = await browser.newPage();
  try {
    const [png, jpeg] = await scratch.evaluate(
      ([w, h]) => {
        type Canvas = { width: number; height: number; getContext(k: '2d'): { fillStyle: string; fillRect(...a: number[]): void }; toDataURL(t: string, q?: number): string };
        const c = (globalThis as unknown as { document: { createElement(t: 'canvas'): Canvas } }).document.createElement('canvas');
        c.width = w;
        c.height = h;
        const g = c.getContext('2d');
        g.fillStyle = '#e8eef6';
        g.fillRect(0, 0, w, h);
        g.fillStyle = '#0b5cad';
        g.fillRect(w * 0.05, h * 0.1, w * 0.28, h * 0.6);
        g.fillRect(w * 0.4, h * 0.2, w * 0.53, h * 0.07);
        g.fillRect(w * 0.4, h * 0.4, w * 0.38, h * 0.07);
        return [c.toDataURL('image/png'), c.toDataURL('image/jpeg', 0.85)];
      },
      [width, height] as const,
    );
    return { png: Buffer.from(png.split(',')[1]!, 'base64'), jpeg: Buffer.from(jpeg.split(',')[1]!, 'base64') };
  } finally {
    await scratch.close();
  }
}

/**
 * A phone camera's photo as the phone gives it: 4032×3024 JPEG of 4.2–5 MB (drawn with grain, the
 * quality stepped until it lands there) carrying an EXIF Orientation of 6 (the phone was held
 * upright: viewers turn it 90° clockwise, to 3024×4032). The left third is dark blue, so which way
 * it was turned can be told from the result.
 */
export async function drawCameraPhoto(browser: Browser): Promise<Buffer> {
  const scratch = await browser.newPage();
  try {
    const dataUrl = await scratch.evaluate(() => {
      type Ctx = { fillStyle: string; fillRect(...a: number[]): void; getImageData(...a: number[]): { data: Uint8ClampedArray }; putImageData(d: unknown, x: number, y: number): void };
      type Canvas = { width: number; height: number; getContext(k: '2d'): Ctx; toDataURL(t: string, q?: number): string };
      const c = (globalThis as unknown as { document: { createElement(t: 'canvas'): Canvas } }).document.createElement('canvas');
      c.width = 4032;
      c.height = 3024;
      const g = c.getContext('2d');
      g.fillStyle = '#d8dee6';
      g.fillRect(0, 0, 4032, 3024);
      g.fillStyle = '#0b2f6d';
      g.fillRect(0, 0, 1344, 3024);
      const img = g.getImageData(0, 0, 4032, 3024);
      let seed = 7;
      for (let i = 0; i < img.data.length; i += 4) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const n = (seed % 41) - 20;
        for (let k = 0; k < 3; k++) img.data[i + k] = img.data[i + k]! + n;
      }
      g.putImageData(img, 0, 0);
      let best = '';
      for (const q of [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5, 0.4]) {
        best = c.toDataURL('image/jpeg', q);
        const bytes = (best.length - 'data:image/jpeg;base64,'.length) * 0.75;
        if (bytes <= 5 * 1024 * 1024) break;
      }
      return best;
    });
    const jpeg = Buffer.from(dataUrl.split(',')[1]!, 'base64');
    // APP1 Exif: big-endian TIFF, one IFD entry: Orientation (0x0112), SHORT, 1, value 6.
    const tiff = Buffer.from('4d4d002a00000008' + '0001' + '011200030000000100060000' + '00000000', 'hex');
    const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
    const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff]), body]);
    return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
  } finally {
    await scratch.close();
  }
}

/** The numbers typed that turn up in what a browser test saw, masked to their last four digits (expect it to be []). */
export function numbersSeen(typed: string[], texts: string[]): string[] {
  return containsAny(texts.join('\n'), typed).map((n) => `********${n.slice(-4)}`);
}

const codeIn = (text: string) => /第二認証コード: (\d{6})/.exec(text)?.[1];

/** Logs into the console like a person: e-mail, password, then the code mailed for the second factor. */
export async function consoleLogin(page: Page, base: string, outbox: Outbox, user: TestUser, opts: { totp?: () => string } = {}): Promise<void> {
  await page.goto(`${base}/console`);
  await onScreen(page, 'login');
  const before = outbox.mails.length;
  await page.getByLabel('メールアドレス').fill(user.email);
  await page.getByLabel('パスワード', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'ログイン', exact: true }).click();
  await page.waitForSelector('#second-factor');
  let code: string | undefined;
  if (opts.totp) code = opts.totp();
  else {
    const mail = await outbox.waitFor((m) => m.to.includes(user.email) && outbox.mails.indexOf(m) >= before && m.subject.includes('第二認証コード'));
    code = codeIn(mail.text);
  }
  if (!code) throw new Error('no second-factor code');
  await page.locator('#second-factor input[name=code]').fill(code);
  await page.getByRole('button', { name: '認証する' }).click();
  await page.waitForSelector('nav.menu');
}

/** axe-core's WCAG 2.1 A/AA rules over the screen as drawn (labels, names, contrast, landmarks, ids). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(axe.source); // through the DevTools protocol: the page's CSP does not apply
  return page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ passes: unknown[]; violations: { id: string; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    // WCAG 2.1 A/AA, and headings that do not skip a level (a best practice the issue asks for).
    const result = await run.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, rules: { 'heading-order': { enabled: true } } });
    if (result.passes.length < 5) return ['axe checked (almost) nothing: the screen did not draw'];
    return result.violations.map((v) => `${v.id} (${v.help}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  });
}

