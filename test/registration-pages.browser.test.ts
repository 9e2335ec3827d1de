/**
 * The employee's phone pages (issue 6) in a real Chromium at 375 × 812 (mobile, touch), on a real
 * Temporal dev server, worker, PostgreSQL and the SMTP capture: from the link in the invitation
 * mail through first visit, number, documents, dependents, review and "finish"; the back button;
 * images refused in the page before any upload; expired / replaced / invalid links; HR's remand
 * (the reason shows) and approval (the locked page).
 *
 * No My Number is ever printed: findings are reported masked, and nothing of a page is logged.
 */
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import type { Express } from 'express';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { hashPassword } from '../services/auth/passwords';
import type { PrismaClient } from '../services/db/client';
import type { CapturedMail, Outbox } from '../services/outbox/outbox';
import { lifecycleQuery } from '../shared';
import { capture } from './support/capture';
import { createLoginUser, createTenant, loginAs, memoryLogger, PUBLIC_URL, startOutbox, startWorker, testApp, testPrisma, type WorkerHandle } from './support/fixtures';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { createLocalEnv } from './support/temporal';
import { until } from './support/until';
import { axeViolations, drawCameraPhoto, drawCardImages, snap as snapScreen } from './support/browser';
import { INVITATION_LINK, tokenOf } from './support/mail-gate';
import jsQR from 'jsqr';
import { PNG as PngImage } from 'pngjs';

/** The little of the DOM that the callbacks run inside the page use (this file is compiled without the DOM library). */
interface InPage {
  document: {
    querySelector(selector: string): { textContent: string | null; querySelector(selector: string): { textContent: string | null } | null } | null;
  };
}

const TASK_QUEUE = 'registration-pages';
const PASSCODE = 'Kaisha-2026';
const PURPOSES = ['withholding_slip', 'employment_insurance', 'health_insurance_pension', 'category3_pension'];
const CHROMIUM = '/usr/bin/chromium';

let env: TestWorkflowEnvironment;
let prisma: PrismaClient;
let outbox: Outbox;
let worker: WorkerHandle;
let app: Express;
let server: Server;
let base: string;
let browser: Browser;
let hr: ReturnType<typeof request.agent>;
let tmp: string;
const files = { png: '', jpeg: '', big: '', pdf: '', photo: '' };
const { logger, lines } = memoryLogger();
/** Every number typed in this file, and everything the pages received or printed. */
const typed: string[] = [];
const seen: string[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  [env, outbox] = await Promise.all([createLocalEnv(), startOutbox()]);
  prisma = testPrisma();
  const tenantId = await createTenant(prisma, '株式会社スマホ登録');
  await prisma.tenant.update({ where: { id: tenantId }, data: { passcodeHash: await hashPassword(PASSCODE), purposes: PURPOSES as never } });
  worker = await startWorker(env, { prisma, outbox, logger, taskQueue: TASK_QUEUE });
  app = testApp({ prisma, logger, outbox, temporalClient: env.client, taskQueue: TASK_QUEUE }).app;
  hr = await loginAs(app, outbox, await createLoginUser(prisma, tenantId, 'manager', '人事 花子'));
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });

  // Real little images, drawn by the browser itself; a 5 MB "photo" and a PDF named like a JPEG.
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-pages-'));
  const { png, jpeg } = await drawCardImages(browser, 160, 100);
  const write = (name: string, data: Buffer) => {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, data);
    return p;
  };
  files.png = write('card-back.png', png);
  files.jpeg = write('card-front.jpg', jpeg);
  files.big = write('huge-photo.png', Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(5 * 1024 * 1024)]));
  files.photo = write('IMG_0001.JPG', await drawCameraPhoto(browser));
  files.pdf = write('scan.jpg', Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1'));
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  await worker?.stop();
  await env?.teardown();
  await outbox?.close();
  await prisma?.$disconnect();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

afterAll(() => {
  // Checked last, over everything this file saw; reported masked (the last four digits only).
  const all = [...seen, ...outbox.mails.map((m) => `${m.subject}\n${m.text}`), ...lines].join('\n');
  expect(containsAny(all, typed).map((n) => `********${n.slice(-4)}`)).toEqual([]);
});


const number = () => {
  const n = randomMyNumber();
  typed.push(n);
  return n;
};
/** The page's address for a mailed link (the test server stands in for PUBLIC_URL). */
const pageUrl = (m: CapturedMail) => INVITATION_LINK.exec(m.text)![0].replace(PUBLIC_URL, base);

/** A registrant invited by HR over the API; resolves with the invitation mail. */
async function invited(familyName = '佐藤', givenName = '一郎', extra: { submissionDueDate?: string } = {}) {
  const email = `p-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName, givenName, email, ...extra }).expect(201);
  const mail = await outbox.waitFor((m) => m.to.includes(email), 15_000);
  // The company has a passcode: the mail says one is needed and whom to ask, never what it is.
  expect(mail.text).toContain('登録の最初に、会社のパスコードの入力が必要です。パスコードはこのメールには書いていません。');
  expect(mail.text).not.toContain(PASSCODE);
  const handle = env.client.workflow.getHandle(res.body.workflowId);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
  return { id: res.body.id as string, email, mail, handle };
}

interface Phone {
  page: Page;
  requests: { method: string; url: string; referer?: string }[];
  errors: string[];
}

/** A phone: its own browser context (cookies), every request and page error recorded. */
async function phone(): Promise<Phone> {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'ja-JP' });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const p: Phone = { page, requests: [], errors: [] };
  page.on('request', (r) => p.requests.push({ method: r.method(), url: r.url(), referer: r.headers()['referer'] }));
  page.on('pageerror', (e) => p.errors.push(e.message));
  page.on('console', (m) => {
    seen.push(m.text());
    capture('browser-console', m.text());
  });
  page.on('response', async (r) => {
    if (!(r.headers()['content-type'] ?? '').includes('json')) return;
    seen.push(await r.text().catch(() => ''));
  });
  return p;
}

const onPage = (page: Page, name: string) => page.waitForSelector(`main[data-page="${name}"]`);
/** A picture of each step under test-output/screenshots/registration/ (never with a number typed in). */
const snap = (page: Page, name: string) => snapScreen(page, 'registration', name);
const textOf = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').trim();
const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });
const documentUploads = (p: Phone) => p.requests.filter((r) => r.method === 'POST' && r.url.includes('/v1/registration/documents'));

/** Drops a file into a document slot's camera or file input and waits for the stored image. */
async function upload(page: Page, slot: string, file: string, source: 'camera' | 'file' = 'camera', expectMessage = 'アップロードしました') {
  await page.setInputFiles(`input[type=file][data-slot="${slot}"][data-source="${source}"]`, file);
  await page.waitForFunction(
    ([s, m]) => {
      const el = (globalThis as unknown as InPage).document.querySelector(`section.slot.filled[data-slot="${s}"]`);
      return !!el?.querySelector('img[data-document-id]') && (el.querySelector('.message')?.textContent ?? '').includes(m!);
    },
    [slot, expectMessage] as const,
  );
}

async function firstVisit(p: Phone, url: string, opts: { wrongPasscodeFirst?: boolean } = {}) {
  // From a blank page: the link's page is loaded afresh (the test of a link opened over the page is below).
  await p.page.goto('about:blank');
  const res = await p.page.goto(url);
  expect(res!.status()).toBe(200);
  await onPage(p.page, 'setup');
  // What is coming is said first; the purposes come before the button that accepts them.
  expect(await textOf(p.page, '#what-is-coming')).toContain('ご用意いただくもの：マイナンバーカード');
  const [purposesTop, buttonTop] = [(await p.page.locator('#purposes').boundingBox())!.y, (await button(p.page, '上記の利用目的に同意してログイン').boundingBox())!.y];
  expect(purposesTop).toBeLessThan(buttonTop);
  await p.page.fill('#password', 'sumaho-pass-1');
  await p.page.fill('#password-confirmation', 'sumaho-pass-1');
  if (opts.wrongPasscodeFirst) {
    await p.page.fill('#passcode', 'wrong-code');
    await button(p.page, '上記の利用目的に同意してログイン').click();
    await p.page.waitForSelector('#passcode-message.error');
    expect(await textOf(p.page, '#passcode-message')).toContain('企業パスコードが正しくありません');
    // Said once, under the field (not again in the form's line).
    expect(await textOf(p.page, '#access-message')).toBe('');
    expect(await p.page.getAttribute('main', 'data-page')).toBe('setup');
    // The passcode can be shown to check what was typed, and hidden again.
    await p.page.click('#passcode-reveal');
    expect([await p.page.getAttribute('#passcode', 'type'), await p.page.getAttribute('#passcode-reveal', 'aria-pressed'), await textOf(p.page, '#passcode-reveal')]).toEqual(['text', 'true', '隠す']);
    await p.page.click('#passcode-reveal');
    expect(await p.page.getAttribute('#passcode', 'type')).toBe('password');
    // Typing again clears the stale error.
    await p.page.fill('#passcode', 'x');
    expect(await p.page.locator('#passcode-message.error').count()).toBe(0);
  }
  await p.page.fill('#passcode', PASSCODE);
  await button(p.page, '上記の利用目的に同意してログイン').click();
  await onPage(p.page, 'profile');
}

/** A date entered as a phone user would: the calendar (西暦 unless an era letter is given), the year typed, month and day picked. */
async function fillDate(page: Page, id: string, iso: string, era = '') {
  const year = era ? String(Number(iso.slice(0, 4)) - ({ S: 1925, H: 1988, R: 2018 } as Record<string, number>)[era]!) : iso.slice(0, 4);
  await page.selectOption(`#${id}-era`, era);
  await page.fill(`#${id}`, year);
  await page.selectOption(`#${id}-month`, String(Number(iso.slice(5, 7))));
  await page.selectOption(`#${id}-day`, String(Number(iso.slice(8, 10))));
}
/** The date the parts hold, as YYYY-MM-DD (西暦 entries only). */
const dateIn = async (page: Page, id: string) =>
  `${await page.inputValue(`#${id}`)}-${(await page.inputValue(`#${id}-month`)).padStart(2, '0')}-${(await page.inputValue(`#${id}-day`)).padStart(2, '0')}`;

async function fillProfile(page: Page, n: string, gender: 'male' | 'female', birthDate: string) {
  await page.check(`input[name=gender][value=${gender}]`);
  await fillDate(page, 'birth-date', birthDate);
  await page.fill('#self-number', n);
  await page.fill('#self-confirmation', n);
}

async function addDependent(page: Page, d: { familyName: string; givenName: string; relationship: string; birthDate: string; kind?: 'category3'; number: string }) {
  await button(page, '扶養家族を追加').click();
  await onPage(page, 'dependent-new');
  await page.fill('#dep-familyName', d.familyName);
  await page.fill('#dep-givenName', d.givenName);
  await fillDate(page, 'dep-birth-date', d.birthDate);
  await page.selectOption('#dep-relationship', d.relationship);
  if (d.kind) await page.check(`input[name=dep-kind][value=${d.kind}]`);
  await page.fill('#dep-number', d.number);
  await page.fill('#dep-confirmation', d.number);
  await button(page, '決定').click();
}

const dependentRow = (page: Page, givenName: string) => page.locator('li.dependent', { hasText: givenName });

it('the page code type-checks against the DOM (web/tsconfig.json)', async () => {
  await promisify(execFile)(path.join(__dirname, '..', 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'web/tsconfig.json'], { cwd: path.join(__dirname, '..') });
});

describe('the employee on a phone', () => {
  it('goes from the mailed link to "finish"; HR sees pending; a remand shows its reason on the new link; after approval the link shows the lock', async () => {
    // HR set a deadline: the pages say it until the registration is sent.
    const due = new Date(Date.now() + 9 * 3_600_000 + 10 * 86_400_000).toISOString().slice(0, 10);
    const dueText = new RegExp(`^提出期限：${Number(due.slice(0, 4))}年${Number(due.slice(5, 7))}月${Number(due.slice(8, 10))}日（[日月火水木金土]）まで$`);
    const { id, email, mail, handle } = await invited('佐藤', '一郎', { submissionDueDate: due });
    const p = await phone();
    const { page } = p;
    const own = number();

    // The page itself: strict headers, since its address holds the token.
    const res = await page.goto(pageUrl(mail));
    const headers = res!.headers();
    expect(headers['content-security-policy']).toMatch(/default-src 'none'.*script-src 'self'/);
    expect(headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(headers).toMatchObject({ 'x-frame-options': 'DENY', 'referrer-policy': 'no-referrer', 'cache-control': 'no-store' });

    // First visit: own password, a wrong company passcode is told, then the right one with consent.
    await onPage(page, 'setup');
    await snap(page, 'setup');
    expect(await textOf(page, 'header .company')).toBe('株式会社スマホ登録');
    expect(await textOf(page, 'header .person')).toContain('佐藤 一郎 様');
    expect(await textOf(page, '#submission-due')).toMatch(dueText);
    expect(await page.locator('#purposes li').allTextContents()).toEqual([
      '給与所得・退職所得の源泉徴収票作成事務',
      '雇用保険届出事務',
      '健康保険・厚生年金保険届出事務',
      '国民年金の第3号被保険者の届出事務',
    ]);
    await firstVisit(p, pageUrl(mail), { wrongPasscodeFirst: true });
    expect((await hr.get(`/v1/registrants/${id}/consents`).expect(200)).body).toHaveLength(PURPOSES.length);

    expect(await textOf(page, '#submission-due')).toMatch(dueText);
    // Where they are, as a count and as the steps named (the current one marked for screen readers).
    expect(await textOf(page, '.progress-count')).toBe('ステップ 1 / 5');
    expect(await page.locator('.progress li').allTextContents()).toEqual(['マイナンバー', '番号確認書類', '本人確認書類', '扶養家族', '確認・送信']);
    expect(await page.locator('.progress li[aria-current=step]').textContent()).toBe('マイナンバー');
    expect(await page.title()).toBe('マイナンバーと生年月日（ステップ 1）｜マイナンバー登録');
    // ステップ1: the check digit is checked as it is typed, before anything is sent.
    await page.locator('#self-number').pressSequentially(own.slice(0, 11) + String((Number(own[11]) + 1) % 10));
    await page.waitForSelector('#self-number-message.error');
    expect(await textOf(page, '#self-number-message')).toBe('マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください');
    expect(await page.getAttribute('#self-number', 'inputmode')).toBe('numeric');
    await page.fill('#self-number', '');
    await page.locator('#self-number').pressSequentially(own);
    await page.waitForSelector('#self-number-message.ok');
    await page.locator('#self-confirmation').pressSequentially(own.slice(0, 11) + String((Number(own[11]) + 5) % 10));
    await page.waitForSelector('#self-confirmation-message.error');
    expect(await textOf(page, '#self-confirmation-message')).toBe('確認用に入力したマイナンバーが一致しません');
    expect(p.requests.filter((r) => r.url.includes('/v1/registration/profile'))).toEqual([]);
    await page.fill('#self-confirmation', own);
    await page.check('input[name=gender][value=male]');
    // A date past the picker's limit, typed: the server refuses it and says so under the field; the page stays.
    // Required fields are marked before any try.
    expect(await page.locator('#birth-date-group legend .required').textContent()).toBe('必須');
    expect(await page.locator('label[for=self-number] .required').textContent()).toBe('必須');
    // Half a date is told at once, without sending anything.
    await page.fill('#birth-date', '1985');
    await button(page, '決定').click();
    expect(await textOf(page, '#birth-date-message')).toBe('生年月日は、年・月・日をすべて入力してください');
    expect(p.requests.filter((r) => r.url.includes('/v1/registration/profile'))).toEqual([]);
    await fillDate(page, 'birth-date', '2099-01-01');
    await button(page, '決定').click();
    await page.waitForSelector('#birth-date-message.error');
    expect(await textOf(page, '#birth-date-message')).toBe('生年月日には今日以前の日付を入力してください');
    expect(await textOf(page, '#profile-message')).toContain('生年月日には今日以前の日付を入力してください');
    await onPage(page, 'profile');
    expect(await dateIn(page, 'birth-date')).toBe('2099-01-01');
    // 和暦, as many people know their birthday: 昭和60年6月15日, read back as the day it is.
    await fillDate(page, 'birth-date', '1985-06-15', 'S');
    expect(await textOf(page, '#birth-date-said')).toBe('1985年6月15日（昭和60年）');
    // Changed: the error about the old date is gone (no stale error), here and under the form.
    expect(await textOf(page, '#birth-date-message')).toBe('');
    expect(await textOf(page, '#profile-message')).toBe('');
    await button(page, '決定').click();

    // ステップ2: the card's back by camera, then a retake from the phone's pictures.
    await onPage(page, 'number-doc');
    expect(await page.isChecked('input[name=number-doc-type][value=my_number_card]')).toBe(true);
    expect(await page.getAttribute('input[data-slot="number_confirmation-my_number_card-back"][data-source=camera]', 'capture')).toBe('environment');
    await upload(page, 'number_confirmation-my_number_card-back', files.png);
    const firstImage = await page.getAttribute('section[data-slot="number_confirmation-my_number_card-back"] img', 'data-document-id');
    await upload(page, 'number_confirmation-my_number_card-back', files.jpeg, 'file', '撮り直した画像に差し替えました');
    await snap(page, 'number-doc-retake');
    expect(await page.getAttribute('section[data-slot="number_confirmation-my_number_card-back"] img', 'data-document-id')).not.toBe(firstImage);
    expect(await prisma.document.count({ where: { registrantId: id, purpose: 'number_confirmation' } })).toBe(1);
    // The preview is the stored image itself, and it really is one (the browser decoded it).
    expect(await page.$eval('section[data-slot="number_confirmation-my_number_card-back"] img', (img) => {
      const image = img as unknown as { decode(): Promise<void>; naturalWidth: number };
      return image.decode().then(() => image.naturalWidth);
    })).toBe(160);
    await button(page, '次へ').click();

    // ステップ3: with the card, its front is the identity document.
    await onPage(page, 'identity-doc');
    expect(await page.isChecked('input[name=identity-photo][value=yes]')).toBe(true);
    expect(await page.isChecked('input[name=identity-type][value=my_number_card]')).toBe(true);
    await upload(page, 'identity-my_number_card-front', files.jpeg);
    await snap(page, 'identity-doc');
    await button(page, '決定').click();

    // ステップ4: a category-3 spouse with their own documents, a child then marked no longer a
    // dependent, a parent added and deleted.
    await onPage(page, 'dependents');
    await addDependent(page, { familyName: '佐藤', givenName: '花子', relationship: '配偶者', birthDate: '1987-02-03', kind: 'category3', number: number() });
    await onPage(page, 'number-doc');
    expect(await textOf(page, 'h1')).toBe('扶養家族の番号確認書類');
    expect(await textOf(page, '.progress-count')).toBe('ステップ 4 / 5'); // still the dependents' step
    // 通知カード proves the number only while its details match the 住民票: the page says so.
    expect(await textOf(page, '#notification-card-note')).toContain('記載が今の住民票と同じ場合だけ使えます');
    await page.check('input[name=number-doc-type][value=notification_card]');
    await page.waitForSelector('section[data-slot="number_confirmation-notification_card-front"]');
    await upload(page, 'number_confirmation-notification_card-front', files.png);
    await button(page, '次へ').click();
    await onPage(page, 'identity-doc');
    expect(await textOf(page, 'h1')).toBe('扶養家族の本人確認書類');
    // 各種福祉手帳 has a photo: one is enough (seed 001's list).
    expect(await page.locator('label', { has: page.locator('input[name=identity-type][value=welfare_certificate]') }).textContent()).toContain('各種福祉手帳');
    await page.check('input[name=identity-type][value=welfare_certificate]');
    await page.waitForSelector('section[data-slot="identity-welfare_certificate-front"]');
    await upload(page, 'identity-welfare_certificate-front', files.jpeg);
    await button(page, '決定').click();
    await onPage(page, 'dependents');

    await addDependent(page, { familyName: '佐藤', givenName: '次郎', relationship: '子', birthDate: '2015-05-05', number: number() });
    await onPage(page, 'dependents');
    await dependentRow(page, '次郎').getByRole('button', { name: '詳細・編集' }).click();
    await onPage(page, 'dependent-edit');
    expect(await page.inputValue('#dep-givenName')).toBe('次郎');
    await page.check('#dep-not-dependent');
    await button(page, '決定').click();
    await onPage(page, 'dependents');
    expect(await dependentRow(page, '次郎').textContent()).toContain('扶養対象外');

    await addDependent(page, { familyName: '佐藤', givenName: '父', relationship: '父', birthDate: '1950-01-01', number: number() });
    await onPage(page, 'dependents');
    await dependentRow(page, '父').getByRole('button', { name: '削除' }).click();
    await onPage(page, 'dependent-delete');
    await button(page, '削除').click();
    await onPage(page, 'dependents');
    expect(await page.locator('li.dependent .dependent-name').allTextContents()).toEqual(['佐藤 花子配偶者', '佐藤 次郎子']);
    await snap(page, 'dependents');

    // 登録情報の確認: the number only as its last four digits; nothing missing.
    await button(page, '扶養家族編集を終了して登録情報の確認').click();
    await onPage(page, 'review');
    expect(await textOf(page, '.progress-count')).toBe('ステップ 5 / 5');
    expect(await textOf(page, '#review-self')).toContain('1985年6月15日'); // the 和暦 entry, as the day it is
    expect(await textOf(page, '#review-self .masked-number')).toBe(`＊＊＊＊ ＊＊＊＊ ${own.slice(-4)}`);
    expect(await page.locator('#issues').count()).toBe(0);
    await snap(page, 'review');
    expect(containsAny(await page.content(), typed).length).toBe(0);
    const hrBefore = await hr.get(`/v1/registrants/${id}`).expect(200);
    expect(hrBefore.body.status).toBe('unregistered');

    await button(page, 'この内容で会社に提出する').click();
    await onPage(page, 'done');
    // Sent, and waiting for the company: not "complete" before HR has checked it.
    expect(await textOf(page, 'h1')).toBe('送信しました（会社の確認待ち）');
    expect(await page.locator('#submission-due').count()).toBe(0); // sent: the deadline no longer concerns them
    expect(await textOf(page, '.box.ok')).toBe('登録内容を会社のマイナンバー担当者に送信しました。');
    await snap(page, 'done');
    const hrAfter = await hr.get(`/v1/registrants/${id}`).expect(200);
    expect(hrAfter.body).toMatchObject({ status: 'pending', myNumber: { registered: true }, dependentsStatus: 'pending' });
    expect((await handle.query(lifecycleQuery)).status).toBe('pending');
    // After "finish" the back button cannot reopen the steps. The page already shows "done": wait
    // until it has drawn itself again (every drawing replaces the heading) before looking.
    const doneHeading = await page.waitForSelector('main > h1');
    await page.goBack();
    await page.waitForFunction((h) => !(h as unknown as { isConnected: boolean }).isConnected, doneHeading);
    await onPage(page, 'done');

    // The token left the page only in the body of POST /v1/registration/link and the set-up (the
    // link carries it in the fragment, which no request does); no referrer anywhere.
    const token = tokenOf(mail);
    expect(p.requests.filter((r) => r.url.includes(token))).toEqual([]);
    expect(p.requests.filter((r) => r.referer)).toEqual([]);

    // HR remands: the new link logs in with the password and shows the reason on the review.
    await hr.post(`/v1/registrants/${id}/remand`).send({ reason: 'マイナンバーカード裏面の写真がぼやけています。撮り直してください。' }).expect(200);
    const remandMail = await outbox.waitFor((m) => m.to.includes(email) && m.text.includes('ぼやけて'), 15_000);
    await page.goto(pageUrl(remandMail));
    await onPage(page, 'login');
    await page.fill('#password', 'not-my-password');
    await button(page, 'ログイン').click();
    await page.waitForSelector('#password-message.error');
    expect(await textOf(page, '#password-message')).toBe('パスワードが正しくありません');
    await snap(page, 'login-wrong-password');
    await page.fill('#password', 'sumaho-pass-1');
    await button(page, 'ログイン').click();
    await onPage(page, 'review');
    await snap(page, 'remanded-review');
    expect(await textOf(page, '#remand .reason')).toBe('マイナンバーカード裏面の写真がぼやけています。撮り直してください。');
    expect(await textOf(page, '#review-self .masked-number')).toBe(`＊＊＊＊ ＊＊＊＊ ${own.slice(-4)}`);
    await button(page, '本人の登録を修正').click();
    await onPage(page, 'profile');
    expect(await textOf(page, '#self-entered')).toContain(own.slice(-4));
    await button(page, '決定').click(); // the number stays as it is when left empty
    await onPage(page, 'number-doc');
    await upload(page, 'number_confirmation-my_number_card-back', files.png, 'camera', '撮り直した画像に差し替えました');
    // The card's front is there already (shown beside the back): both checks done, the identity step is skipped.
    expect(await page.locator('section.slot.filled[data-slot="identity-my_number_card-front"]').count()).toBe(1);
    await button(page, '次へ').click();
    await onPage(page, 'dependents');
    // A submitted dependent deleted by mistake is listed as to be deleted, and taken back.
    await dependentRow(page, '次郎').getByRole('button', { name: '削除' }).click();
    await onPage(page, 'dependent-delete');
    await button(page, '削除').click();
    await onPage(page, 'dependents');
    expect(await page.locator('#removed-dependents li.dependent .dependent-name').allTextContents()).toEqual(['佐藤 次郎子']);
    await snap(page, 'dependents-removed');
    await button(page, '扶養家族編集を終了して登録情報の確認').click();
    await onPage(page, 'review');
    expect(await textOf(page, '#review-removed')).toBe('削除する扶養家族：佐藤 次郎（子）');
    await button(page, '扶養家族の登録を修正').click();
    await onPage(page, 'dependents');
    await page.locator('#removed-dependents li.dependent', { hasText: '次郎' }).getByRole('button', { name: '元に戻す' }).click();
    await page.locator('#removed-dependents').waitFor({ state: 'detached' });
    expect(await page.locator('li.dependent .dependent-name').allTextContents()).toEqual(['佐藤 花子配偶者', '佐藤 次郎子']);
    expect(await dependentRow(page, '次郎').textContent()).toContain('扶養対象外');
    await button(page, '扶養家族編集を終了して登録情報の確認').click();
    await onPage(page, 'review');
    expect(await page.locator('#review-removed').count()).toBe(0);
    expect(await page.locator('#remand').count()).toBe(1);
    await button(page, 'この内容で会社に提出する').click();
    await onPage(page, 'done');
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body.status).toBe('pending');
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body.dependents.map((d: { givenName: string }) => d.givenName)).toEqual(['花子', '次郎']);

    // HR approves: the login is locked, and the link says the registration is done (not a warning).
    await hr.post(`/v1/registrants/${id}/approval`).send({}).expect(200);
    await page.goto(pageUrl(remandMail));
    await onPage(page, 'locked');
    expect(await axeViolations(page)).toEqual([]);
    await snap(page, 'locked');
    expect(await textOf(page, 'h1')).toBe('登録は完了しています');
    expect(await textOf(page, '.box.ok')).toBe('担当者による確認（承認）が終わり、マイナンバーの登録は完了しています。');
    expect(await page.locator('.box.warning').count()).toBe(0);
    expect(p.errors).toEqual([]);
  });

  it('keeps what was entered across the back button and a reload, and refuses a 5 MB image and a PDF named .jpg before any upload', async () => {
    const { id, mail } = await invited('鈴木', '二郎');
    const p = await phone();
    const { page } = p;
    const own = number();
    await firstVisit(p, pageUrl(mail));
    await fillProfile(page, own, 'female', '1992-11-30');
    await button(page, '決定').click();
    await onPage(page, 'number-doc');

    await page.setInputFiles('input[data-slot="number_confirmation-my_number_card-back"][data-source=file]', files.big);
    await page.waitForSelector('section[data-slot="number_confirmation-my_number_card-back"] .message.error');
    expect(await textOf(page, 'section[data-slot="number_confirmation-my_number_card-back"] .message')).toContain('画像のサイズは4MBまでにしてください');
    await page.setInputFiles('input[data-slot="number_confirmation-my_number_card-back"][data-source=camera]', files.pdf);
    await page.waitForFunction(() => ((globalThis as unknown as InPage).document.querySelector('section[data-slot="number_confirmation-my_number_card-back"] .message')?.textContent ?? '').includes('JPEG、PNG、GIF形式の画像を選んでください'));
    expect(documentUploads(p)).toEqual([]);
    await snap(page, 'refused-pdf');
    expect(await page.locator('section[data-slot="number_confirmation-my_number_card-back"] img').count()).toBe(0);

    // Back: the saved step shows what was entered (the number only as "entered, ending …").
    await page.goBack();
    await onPage(page, 'profile');
    expect(await page.isChecked('input[name=gender][value=female]')).toBe(true);
    expect(await dateIn(page, 'birth-date')).toBe('1992-11-30');
    expect(await textOf(page, '#self-entered')).toContain(`末尾 ${own.slice(-4)}`);
    expect(await page.inputValue('#self-number')).toBe('');

    // Typed but not saved: forward asks first; staying keeps the typing and the history, leaving is allowed.
    await page.fill('#birth-date', '1991'); // typed, not saved
    const asked: string[] = [];
    page.once('dialog', (d) => void (asked.push(d.message()), d.dismiss()));
    await page.goForward();
    await page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash === '#profile');
    expect(asked).toEqual([expect.stringContaining('まだ保存されていません')]);
    await onPage(page, 'profile');
    expect(await page.inputValue('#birth-date')).toBe('1991');
    page.once('dialog', (d) => void d.accept());
    await page.goForward();
    await onPage(page, 'number-doc');
    await upload(page, 'number_confirmation-my_number_card-back', files.png);

    // A reload keeps the session and the step; the uploaded image is still there.
    await page.reload();
    await onPage(page, 'number-doc');
    expect(await page.locator('section.slot.filled[data-slot="number_confirmation-my_number_card-back"] img').count()).toBe(1);
    // Back after the reload still reaches the profile, not a login.
    await page.goBack();
    await onPage(page, 'profile');
    expect(documentUploads(p)).toHaveLength(1);

    // Identity without a photo: two documents of different kinds.
    await page.goForward();
    await onPage(page, 'number-doc');
    await button(page, '次へ').click();
    await onPage(page, 'identity-doc');
    await page.check('input[name=identity-photo][value=no]');
    await page.waitForSelector('#identity-type-1');
    await button(page, '決定').click();
    await page.waitForSelector('#identity-doc-message.error');
    expect(await textOf(page, '#identity-doc-message')).toContain('資格確認書（健康保険）のおもて面');
    // The 2026 list: 資格確認書 and 基礎年金番号通知書; paper 健康保険証 said to be no longer usable.
    expect(await page.locator('#identity-type-1 option').allTextContents()).toEqual(expect.arrayContaining(['資格確認書（健康保険）', '基礎年金番号通知書（年金手帳）']));
    expect(await textOf(page, 'body')).toContain('紙の健康保険証は、使えなくなりました');
    // 学生証 without a photo counts as one of the two.
    await page.selectOption('#identity-type-1', 'student_id');
    await page.waitForSelector('section[data-slot="identity-student_id-front"]');
    await upload(page, 'identity-health_insurance_card-front', files.png);
    await upload(page, 'identity-student_id-front', files.jpeg, 'file');
    await snap(page, 'identity-two-documents');
    await button(page, '決定').click();
    await onPage(page, 'dependents');
    await button(page, '登録情報の確認').click();
    await onPage(page, 'review');
    expect(await page.locator('#issues').count()).toBe(0);
    expect(await page.locator('#review-self .documents li').allTextContents()).toEqual([
      '番号確認：マイナンバーカード（個人番号カード）　裏面（個人番号の記載されている面）',
      '本人確認：資格確認書（健康保険）　おもて面',
      '本人確認：学生証（顔写真なし）　おもて面',
    ]);

    // Log out, and a temporary block (ten wrong passwords or passcodes: tested over the API) has its page.
    await button(page, 'ログアウト').click();
    await onPage(page, 'login');
    await prisma.registrant.update({ where: { id }, data: { loginBlockedUntil: new Date(Date.now() + 30 * 60_000) } });
    await page.fill('#password', 'sumaho-pass-1');
    await button(page, 'ログイン').click();
    await onPage(page, 'blocked');
    expect(await textOf(page, '.box.warning')).toContain('しばらくログインできません');
    expect(p.errors).toEqual([]);
  });
});

describe('keyboard only, and the accessibility checker on every page', () => {
  it('a person with no mouse registers from the link to "sent": every control is reached with Tab and used with keys, focus is always visible, axe finds nothing on any page', async () => {
    const { id, mail } = await invited('鍵盤', '操作');
    const context = await browser.newContext({ viewport: { width: 1024, height: 800 }, locale: 'ja-JP' });
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    // Interception of file choosers stays on for the whole test: each waitForEvent below would otherwise switch
    // it on anew, and that switch can reach the browser after the key press that opens the chooser (seen in CI).
    page.on('filechooser', () => undefined);
    const own = number();
    const found: Record<string, string[]> = {};
    const check = async (name: string) => {
      await onPage(page, name);
      found[name] = await axeViolations(page);
    };
    /** Presses Tab until the element is focused (at most 40 times): it can be reached by keyboard. */
    const tabTo = async (selector: string) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        if (await page.evaluate((sel) => (globalThis as unknown as { document: { activeElement: { matches(s: string): boolean } | null } }).document.activeElement?.matches(sel) ?? false, selector)) return;
      }
      throw new Error(`${selector} was not reached with Tab`);
    };
    /** The outline a keyboard user sees on the focused control (or, for a hidden file input, on its button). */
    const focusRing = (selector: string) =>
      page.locator(selector).evaluate((el) => {
        const g = globalThis as unknown as { getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string } };
        const shown = (el as unknown as { type?: string; parentElement: unknown }).type === 'file' ? (el as unknown as { parentElement: unknown }).parentElement : el;
        const style = g.getComputedStyle(shown);
        return `${style.outlineStyle} ${style.outlineWidth}`;
      });
    const pressFor = async (key: string, page_: string) => {
      await page.keyboard.press(key);
      await onPage(page, page_);
    };

    await page.goto(pageUrl(mail));
    await check('setup');
    await tabTo('#password');
    expect(await focusRing('#password')).toBe('solid 3px');
    await page.keyboard.type('keyboard-pass-1');
    await tabTo('#password-confirmation');
    await page.keyboard.type('keyboard-pass-1');
    await tabTo('#passcode');
    await page.keyboard.type(PASSCODE);
    await tabTo('button.primary');
    await pressFor('Enter', 'profile');
    await check('profile');

    // Gender by arrow keys in the radio group, the birth date by typing (year) and type-ahead (month, day).
    await tabTo('input[name=gender]');
    await page.keyboard.press('ArrowDown'); // 女性
    expect(await page.isChecked('input[name=gender][value=female]')).toBe(true);
    await tabTo('#birth-date');
    await page.keyboard.type('1988');
    await tabTo('#birth-date-month');
    await page.keyboard.type('7');
    await tabTo('#birth-date-day');
    await page.keyboard.type('9');
    expect(await textOf(page, '#birth-date-said')).toBe('1988年7月9日（昭和63年）');
    await tabTo('#self-number');
    await page.keyboard.type(own);
    await tabTo('#self-confirmation');
    await page.keyboard.type(own);
    await tabTo('button.primary');
    await pressFor('Enter', 'number-doc');
    await check('number-doc');

    // The upload buttons: focus is visible on the button around the hidden file input; Space opens the chooser.
    const slotInput = (slot: string) => `input[type=file][data-slot="${slot}"][data-source=file]`;
    await tabTo(slotInput('number_confirmation-my_number_card-back'));
    expect(await focusRing(slotInput('number_confirmation-my_number_card-back'))).toBe('solid 3px');
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
    await chooser.setFiles(files.png);
    await page.waitForSelector('section.slot.filled[data-slot="number_confirmation-my_number_card-back"] img[data-document-id]');
    await tabTo('button.primary');
    await pressFor('Enter', 'identity-doc');
    await check('identity-doc');
    await tabTo(slotInput('identity-my_number_card-front'));
    const [identityChooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
    await identityChooser.setFiles(files.jpeg);
    await page.waitForSelector('section.slot.filled[data-slot="identity-my_number_card-front"] img[data-document-id]');
    await tabTo('button.primary');
    await pressFor('Enter', 'dependents');
    await check('dependents');
    await tabTo('#add-dependent');
    await pressFor('Enter', 'dependent-new');
    await check('dependent-new');
    await tabTo('button.secondary'); // 戻る
    await pressFor('Enter', 'dependents');
    await tabTo('button.primary');
    await pressFor('Enter', 'review');
    await check('review');
    await tabTo('button.primary');
    await pressFor('Enter', 'done');
    await check('done');
    expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length))).toEqual({});
    expect((await hr.get(`/v1/registrants/${id}`).expect(200)).body.status).toBe('pending');
  });
});

describe('a My Number card', () => {
  it('covers both checks in one step: its back and front on one page, then straight on to the dependents; the review has nothing missing', async () => {
    const { id, mail } = await invited('両面', '一枚');
    const p = await phone();
    const { page } = p;
    await firstVisit(p, pageUrl(mail));
    await fillProfile(page, number(), 'female', '1990-01-02');
    await button(page, '決定').click();
    await onPage(page, 'number-doc');
    expect(await textOf(page, '#card-both-sides')).toContain('「本人確認書類」のステップは不要です');
    // The front is offered here but not demanded (the identity step still takes it otherwise).
    expect(await textOf(page, 'section[data-slot="identity-my_number_card-front"] h3')).toContain('任意');
    await upload(page, 'number_confirmation-my_number_card-back', files.png);
    await upload(page, 'identity-my_number_card-front', files.jpeg);
    await snap(page, 'number-doc-card-both-sides');
    await button(page, '次へ').click();
    await onPage(page, 'dependents');
    await button(page, '登録情報の確認').click();
    await onPage(page, 'review');
    expect(await page.locator('#issues').count()).toBe(0);
    const docs = await prisma.document.findMany({ where: { registrantId: id }, select: { purpose: true, type: true, side: true } });
    expect(docs.map((d) => `${d.purpose}/${d.type}/${d.side}`).sort()).toEqual(['identity/my_number_card/front', 'number_confirmation/my_number_card/back']);
    // Another document type: no front slot, and the identity step follows as before.
    await page.goBack();
    await onPage(page, 'dependents');
    await page.goBack();
    await onPage(page, 'number-doc');
    await page.check('input[name=number-doc-type][value=notification_card]');
    await page.waitForSelector('section[data-slot="number_confirmation-notification_card-front"]');
    expect(await page.locator('section[data-slot="identity-my_number_card-front"]').count()).toBe(0);
  });
});

describe('a phone camera photo', () => {
  it('of 4032×3024 and over 4 MB is made to fit in the browser: long side 2,000 px, turned upright from its EXIF orientation, JPEG under 4 MB, stored', async () => {
    const photo = fs.readFileSync(files.photo);
    expect(photo.length).toBeGreaterThan(4 * 1024 * 1024);
    expect(photo.length).toBeLessThan(5.5 * 1024 * 1024);
    const { id, mail } = await invited('写真', '大きい');
    const p = await phone();
    const { page } = p;
    await firstVisit(p, pageUrl(mail));
    await fillProfile(page, number(), 'male', '1961-05-20');
    await button(page, '決定').click();
    await onPage(page, 'number-doc');
    await upload(page, 'number_confirmation-my_number_card-back', files.photo, 'camera', 'アップロードしました（送りやすい大きさに縮小しました）');
    await snap(page, 'camera-photo-shrunk');
    // What was stored: a JPEG under the limit, upright (the phone held it portrait), 1,500×2,000.
    const doc = await prisma.document.findFirstOrThrow({ where: { registrantId: id, purpose: 'number_confirmation' } });
    const stored = await page.evaluate(async (src) => {
      type Img = { src: string; decode(): Promise<void>; naturalWidth: number; naturalHeight: number };
      type Ctx = { drawImage(i: Img, x: number, y: number): void; getImageData(...a: number[]): { data: Uint8ClampedArray } };
      const d = (globalThis as unknown as { document: { createElement(t: 'img'): Img; createElement(t: 'canvas'): { width: number; height: number; getContext(k: '2d'): Ctx } } }).document;
      const img = d.createElement('img');
      img.src = src;
      await img.decode();
      const c = d.createElement('canvas');
      [c.width, c.height] = [img.naturalWidth, img.naturalHeight];
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      const brightness = (x: number, y: number) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)).reduce((a, b) => a + b, 0) / 3;
      const res = await fetch(src);
      const bytes = new Uint8Array(await res.arrayBuffer());
      return { width: img.naturalWidth, height: img.naturalHeight, top: brightness(img.naturalWidth / 2, 100), bottom: brightness(img.naturalWidth / 2, img.naturalHeight - 100), size: bytes.length, jpeg: bytes[0] === 0xff && bytes[1] === 0xd8, type: res.headers.get('content-type') };
    }, `/v1/registration/documents/${doc.id}/image`);
    expect(stored).toMatchObject({ width: 1500, height: 2000, jpeg: true });
    expect(stored.size).toBeLessThan(4 * 1024 * 1024);
    // The photo's dark left third is at the top once turned upright (clockwise, as Orientation 6 says).
    expect(stored.top).toBeLessThan(90);
    expect(stored.bottom).toBeGreaterThan(150);
    expect(p.errors).toEqual([]);
  });
});

describe('a purpose added later', () => {
  it('is asked on a page of its own before any step, and then the steps go on', async () => {
    const { mail } = await invited('高橋', '三郎');
    const p = await phone();
    const { page } = p;
    await firstVisit(p, pageUrl(mail));
    const tenant = await prisma.registrant.findFirstOrThrow({ where: { email: { in: mail.to } }, select: { tenantId: true } });
    await prisma.tenant.update({ where: { id: tenant.tenantId }, data: { purposes: [...PURPOSES, 'property_savings'] as never } });
    try {
      await page.reload();
      await onPage(page, 'consent');
      expect(await textOf(page, 'ul.purposes')).toBe('財産形成住宅貯蓄・財産形成年金貯蓄に関する事務');
      await snap(page, 'consent-added-purpose');
      await button(page, '上記の利用目的に同意して続ける').click();
      await onPage(page, 'profile');
      // What they agreed to, and when, is theirs to see on every page.
      await page.getByText('同意した利用目的を見る').click();
      await page.locator('#my-consents li', { hasText: '財産形成住宅貯蓄' }).waitFor();
      const consents = await page.locator('#my-consents li').allTextContents();
      expect(consents).toHaveLength(PURPOSES.length + 1);
      expect(consents.every((c) => /（\d{4}年\d{1,2}月\d{1,2}日 \d{1,2}:\d{2} に同意）$/.test(c))).toBe(true);
      expect(p.errors).toEqual([]);
    } finally {
      await prisma.tenant.update({ where: { id: tenant.tenantId }, data: { purposes: PURPOSES as never } });
    }
  });
});

describe('the link\'s token stays out of every URL a server sees', () => {
  it('the address bar loses it once the page has it; a reload goes on; links mailed in the old form still open', async () => {
    const seenByServer: string[] = [];
    const listen = (req: { url?: string }) => void seenByServer.push(req.url ?? '');
    server.on('request', listen);
    try {
      const { mail } = await invited('伊藤', '五郎');
      const token = tokenOf(mail);
      expect(pageUrl(mail)).toBe(`${base}/i/#k=${token}`);
      const p = await phone();
      const { page } = p;
      await page.goto(pageUrl(mail));
      await onPage(page, 'setup');
      // out of the address bar and the tab's history entry
      expect(page.url()).toBe(`${base}/i/`);
      await page.reload();
      await onPage(page, 'setup');
      expect(await textOf(page, 'header .person')).toContain('伊藤 五郎 様');
      // no request the browser made, and none the server received, had it in its URL or Referer
      expect(p.requests.filter((r) => r.url.includes(token) || r.referer?.includes(token))).toEqual([]);
      expect(seenByServer.filter((u) => u.includes(token))).toEqual([]);

      // The old form (/i/<token>, valid 90 days from before): opens, and the address is cleaned too.
      const old = await phone();
      await old.page.goto(`${base}/i/${token}`);
      await onPage(old.page, 'setup');
      expect(old.page.url()).toBe(`${base}/i/`);
      expect(old.errors).toEqual([]);
      expect(p.errors).toEqual([]);
    } finally {
      server.off('request', listen);
    }
  });
});

describe('opened on a computer', () => {
  it('shows the same link as a QR code to go on with the phone (a phone shows none)', async () => {
    const { mail } = await invited('中村', '四郎');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ja-JP' });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(pageUrl(mail));
    await onPage(page, 'setup');
    const qr = page.locator('#phone-qr svg');
    await qr.waitFor();
    // What a phone's camera reads: decoded from the pixels on the screen.
    const png = PngImage.sync.read(await page.locator('#phone-qr').screenshot());
    const read = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
    expect(read?.data).toBe(`${base}/i/#k=${tokenOf(mail)}`);
    expect(await page.locator('#phone-hand-off').textContent()).toContain('ほかの人に見せたり、撮影させたりしないでください');
    await snap(page, 'pc-hand-off');

    const p = await phone();
    await p.page.goto(pageUrl(mail));
    await onPage(p.page, 'setup');
    expect(await p.page.locator('#phone-hand-off').count()).toBe(0);
  });
});

describe('a paper sheet\'s 登録コード typed', () => {
  it('opens the person\'s registration from /i/ without a link: a code that cannot be one and a wrong one are said at the field, the sheet\'s code typed in lower case with spaces gets in', async () => {
    const res = await hr.post('/v1/registrants').send({ familyName: '紙野', givenName: '手入力' }).expect(201);
    const sheet = (await hr.post('/v1/registrants/paper-invitations').send({ registrantIds: [res.body.id] }).expect(200)).body.results[0].sheet;
    expect(sheet.codeEntryUrl).toBe(`${PUBLIC_URL}/i/`);
    const p = await phone();
    const { page } = p;
    await page.goto(sheet.codeEntryUrl.replace(PUBLIC_URL, base));
    await onPage(page, 'code-entry');
    expect(await textOf(page, 'h1')).toBe('登録コードの入力');
    expect(await axeViolations(page)).toEqual([]);

    await page.fill('#registration-code', '1234');
    await button(page, '次へ').click();
    await page.waitForSelector('#registration-code-message.error');
    expect(await textOf(page, '#registration-code-message')).toContain('英数字16文字');
    const code: string = sheet.registrationCode;
    const wrong = `${code.slice(0, -1)}${code.endsWith('0') ? '1' : '0'}`;
    await page.fill('#registration-code', wrong);
    await button(page, '次へ').click();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector('#registration-code-message')?.textContent?.includes('登録コードが違います'));
    expect(await page.getAttribute('main', 'data-page')).toBe('code-entry');
    await snap(page, 'code-entry');

    await page.fill('#registration-code', code.toLowerCase().replace(/-/g, ' '));
    await button(page, '次へ').click();
    await onPage(page, 'setup');
    expect(await textOf(page, '.person')).toContain('紙野 手入力 様');
    await page.fill('#password', 'kami-pass-01');
    await page.fill('#password-confirmation', 'kami-pass-01');
    await page.fill('#passcode', PASSCODE);
    await button(page, '上記の利用目的に同意してログイン').click();
    await onPage(page, 'profile');
    // The code went to the API in a request body only: no address the browser asked for carries it.
    expect(p.requests.filter((r) => r.url.includes(code.replace(/-/g, '')) || (r.referer ?? '').includes(code.replace(/-/g, '')))).toEqual([]);
    // A reload goes on with the same person.
    await page.reload();
    await onPage(page, 'profile');
    expect(p.errors).toEqual([]);
  });
});

describe('links that no longer work', () => {
  it('an unknown link, a replaced one and an expired one each get their own page', async () => {
    const p = await phone();
    const { page } = p;
    await page.goto(`${base}/i/${'x'.repeat(43)}`);
    await onPage(page, 'link-invalid');
    expect(await axeViolations(page)).toEqual([]);
    expect(await textOf(page, 'h1')).toBe('このリンクは無効です');

    const { id, email, mail, handle } = await invited('高橋', '三郎');
    await hr.post(`/v1/registrants/${id}/invitation`).send({}).expect(200);
    await until(async () => (await handle.query(lifecycleQuery)).invitation?.round === 2, 'the second round');
    await page.goto(pageUrl(mail));
    await onPage(page, 'link-revoked');
    expect(await axeViolations(page)).toEqual([]);
    expect(await textOf(page, 'h1')).toBe('このリンクは使えなくなりました');

    // Expiry itself is the workflow's 90-day timer (tested with the time-skipping server); here the
    // newest link's row says it has passed.
    const newest = outbox.mails.filter((m) => m.to.includes(email)).pop()!;
    await prisma.invitation.updateMany({ where: { registrantId: id, revokedAt: null }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await page.goto(pageUrl(newest));
    await onPage(page, 'link-expired');
    expect(await axeViolations(page)).toEqual([]);
    await snap(page, 'link-expired');
    expect(await textOf(page, 'h1')).toBe('リンクの有効期限が切れています');
    expect(await textOf(page, '.box.warning')).toContain('有効期限');
    // The tab kept that link; a 登録依頼書 handed over since can still be typed from here.
    await button(page, '登録依頼書の登録コードを入力する').click();
    await onPage(page, 'code-entry');
    await page.reload();
    await onPage(page, 'code-entry');
    expect(p.errors).toEqual([]);
  });
});
