/**
 * The HR console's administration screens (issue 6) in a real Chromium, on a real Temporal dev
 * server, worker, PostgreSQL and the SMTP capture: ログインユーザ, 契約者情報, グループ管理, 操作履歴,
 * 連携アプリ, CSVアップロード / CSVダウンロード, 新規追加, 複数一括登録 and スマホで収集 — as an owner,
 * and what a viewer sees of them. Each test asserts what a person sees on the screen; the database and
 * the API are only asked to confirm what happened.
 *
 * No My Number is ever printed: the leak check at the end reports findings masked, the number inputs
 * are masked, and screenshots are taken after the numbers have left the page.
 */
import { randomUUID } from 'node:crypto';
import { Prisma } from '../prisma/generated/client';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import request from 'supertest';
import type { Express } from 'express';
import type { Browser, Locator, Page } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { PURPOSE_LABELS } from '../services/audit/purposes';
import { verifyPassword } from '../services/auth/passwords';
import type { PrismaClient } from '../services/db/client';
import type { Outbox } from '../services/outbox/outbox';
import type { Services } from '../services/container';
import { axeViolations, consoleLogin, drawCardImages, launchChromium, listen, numbersSeen, onScreen, openTab, redrawn, snap, type Tab } from './support/browser';
import { createLoginUser, createTenant, loginAs, memoryLogger, startOutbox, startWorker, testApp, testPrisma, type TestUser, type WorkerHandle } from './support/fixtures';
import { containsAny, randomMyNumber } from './support/leak-scan';
import { createLocalEnv } from './support/temporal';

const TASK_QUEUE = 'console-admin';
const SUITE = 'console-admin';

let env: TestWorkflowEnvironment;
let prisma: PrismaClient;
let outbox: Outbox;
let worker: WorkerHandle;
let app: Express;
let services: Services;
let http: Awaited<ReturnType<typeof listen>>;
let browser: Browser;
let tenantId: string;
let owner: TestUser;
let viewer: TestUser;
let hr: ReturnType<typeof request.agent>;
let tmp: string;
const { logger, lines } = memoryLogger();
/** Every number typed in this file, and everything the pages received or printed. */
const typed: string[] = [];
const seen: string[] = [];
const tabs: Tab[] = [];

beforeAll(async () => {
  [env, outbox] = await Promise.all([createLocalEnv(), startOutbox()]);
  prisma = testPrisma();
  tenantId = await createTenant(prisma, '株式会社管理画面テスト');
  // No passcode yet (the settings test sets it); two purposes in use.
  await prisma.tenant.update({ where: { id: tenantId }, data: { purposes: ['withholding_slip', 'employment_insurance'] } });
  worker = await startWorker(env, { prisma, outbox, logger, taskQueue: TASK_QUEUE });
  ({ app, services } = testApp({ prisma, logger, outbox, temporalClient: env.client, taskQueue: TASK_QUEUE }));
  owner = await createLoginUser(prisma, tenantId, 'owner', '人事 太郎');
  viewer = await createLoginUser(prisma, tenantId, 'viewer', '閲覧 次郎');
  hr = await loginAs(app, outbox, owner);
  http = await listen(app);
  browser = await launchChromium();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-console-admin-'));
});

afterAll(async () => {
  for (const t of tabs) await t.context.close().catch(() => undefined);
  await browser?.close();
  await http?.close();
  await worker?.stop();
  await env?.teardown();
  await outbox?.close();
  await prisma?.$disconnect();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

afterAll(() => {
  // Checked last, over everything this file saw; reported masked (the last four digits only).
  expect(numbersSeen(typed, [...seen, ...outbox.mails.map((m) => `${m.subject}\n${m.text}`), ...lines])).toEqual([]);
});

const number = () => {
  const n = randomMyNumber();
  typed.push(n);
  return n;
};
/** The same number with a wrong check digit. */
const wrongCheckDigit = (n: string) => `${n.slice(0, 11)}${(Number(n[11]) + 1) % 10}`;
const email = (who: string) => `${who}-${randomUUID().slice(0, 8)}@example.co.jp`;

/** A logged-in console in a browser context of its own. */
async function session(user: TestUser): Promise<Tab> {
  const tab = await openTab(browser, seen);
  tabs.push(tab);
  await consoleLogin(tab.page, http.base, outbox, user);
  return tab;
}

/** Opens a screen through its address and waits until its heading is drawn. */
async function open(page: Page, hash: string, pageName: string, title: string): Promise<void> {
  await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
  await onScreen(page, pageName);
  await page.locator('main h1', { hasText: title }).waitFor();
}

const textOf = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();
const button = (scope: Page | Locator, name: string) => scope.getByRole('button', { name, exact: true });
const dialog = (page: Page) => page.locator('dialog[open]');
const rowOf = (page: Page, scope: string, text: string) => page.locator(`${scope} tbody tr`, { hasText: text });
const readDownload = async (page: Page, click: () => Promise<void>) => {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: download.suggestedFilename(), bytes: fs.readFileSync((await download.path())!) };
};

async function addRegistrant(familyName: string, givenName: string): Promise<string> {
  const res = await hr.post('/v1/registrants').send({ familyName, givenName, email: email('r') }).expect(201);
  return res.body.id as string;
}

describe('ログインユーザ', () => {
  it('an owner adds a login user (a welcome mail goes out), changes their role and deletes them', async () => {
    const { page, errors } = await session(owner);
    await open(page, '#/users', 'login-users', 'ログインユーザ');
    expect(await textOf(rowOf(page, '#login-users', owner.email))).toContain('人事 太郎（あなた）');
    expect(await textOf(rowOf(page, '#login-users', owner.email))).toContain('最高権限');

    const address = email('shigyo');
    await button(page, '新規登録').click();
    const d = dialog(page);
    await d.getByLabel('氏名').fill('士業 花子');
    await d.getByLabel('メールアドレス').fill(address);
    await d.getByLabel('権限').selectOption({ label: '閲覧のみ' });
    await d.getByLabel('属性').selectOption({ label: '士業' });
    await d.getByLabel('部署').fill('顧問社労士事務所');
    // A mistyped confirmation is caught in the dialog.
    await d.getByLabel('初期パスワード', { exact: true }).fill('Shoki-Pass-2026');
    await d.getByLabel('初期パスワード（確認）').fill('Shoki-Pass-2027');
    await button(d, '登録する').click();
    await d.locator('.message.error').waitFor();
    expect(await textOf(d.locator('.message.error'))).toBe('初期パスワードが確認用と一致しません');
    await d.getByLabel('初期パスワード（確認）').fill('Shoki-Pass-2026');
    await snap(page, SUITE, 'login-user-new');
    await button(d, '登録する').click();
    await page.locator('#users-message.ok').waitFor();
    expect(await textOf(page.locator('#users-message'))).toBe(`士業 花子（${address}）をログインユーザに登録しました。ログイン画面の案内メールを送りました。`);
    const added = rowOf(page, '#login-users', address);
    expect(await textOf(added)).toContain('士業 花子');
    expect(await textOf(added)).toContain('閲覧のみ');
    expect(await textOf(added)).toContain('士業');
    expect(await textOf(added)).toContain('顧問社労士事務所');
    const welcome = await outbox.waitFor((m) => m.to.includes(address));
    expect(welcome.subject).toBe('【マイナンバー管理】ログインユーザに登録されました');
    expect(welcome.text).not.toContain('Shoki-Pass-2026');
    await snap(page, SUITE, 'login-users');

    await button(added, '編集').click();
    await dialog(page).getByLabel('権限').selectOption({ label: '管理担当者' });
    await button(dialog(page), '変更する').click();
    await page.locator('#users-message.ok').filter({ hasText: '権限：管理担当者' }).waitFor();
    expect(await textOf(rowOf(page, '#login-users', address))).toContain('管理担当者');
    const stored = await prisma.loginUser.findFirstOrThrow({ where: { tenantId, email: address } });
    expect(stored).toMatchObject({ role: 'manager', kind: 'professional', name: '士業 花子' });

    // The owner cannot delete themselves: no button on their own row.
    expect(await button(rowOf(page, '#login-users', owner.email), '削除').count()).toBe(0);
    await button(rowOf(page, '#login-users', address), '削除').click();
    expect(await textOf(dialog(page))).toContain(`士業 花子（${address}）を削除しますか？`);
    await button(dialog(page), '削除する').click();
    await page.locator('#users-message.ok').filter({ hasText: '士業 花子 を削除しました。' }).waitFor();
    expect(await rowOf(page, '#login-users', address).count()).toBe(0);
    expect(errors).toEqual([]);
  });
});

describe('ログインユーザ: メール変更 and PW変更', () => {
  it("an owner changes a manager's address (確認待ち until the link is opened and confirmed in another browser) and sets their password; the manager edits 契約者情報 but not the owners' settings", async () => {
    const manager = await createLoginUser(prisma, tenantId, 'manager', '管理 三郎');
    const { page, errors } = await session(owner);
    await open(page, '#/users', 'login-users', 'ログインユーザ');
    const next = email('moved');
    await button(rowOf(page, '#login-users', manager.email), 'メール変更').click();
    await dialog(page).getByLabel('新しいメールアドレス').fill(next);
    await dialog(page).getByLabel('あなたのパスワード').fill(owner.password);
    await button(dialog(page), '確認メールを送る').click();
    await page.locator('#users-message.ok').filter({ hasText: `${next} に確認メールを送りました` }).waitFor();
    expect(await textOf(rowOf(page, '#login-users', manager.email))).toContain(`確認待ち: ${next}`);
    expect(await button(rowOf(page, '#login-users', manager.email), '確認メールを再送').count()).toBe(1);
    expect((await prisma.loginUser.findUniqueOrThrow({ where: { id: manager.id } })).email).toBe(manager.email);

    // The new address's owner opens the link in a browser of their own (not logged in).
    const mail = await outbox.waitFor((m) => m.to.includes(next) && m.subject === '【マイナンバー管理】メールアドレス変更の確認');
    const link = /https?:\/\/\S+/.exec(mail.text)![0].replace(/^https?:\/\/[^/]+/, http.base);
    const visitor = await openTab(browser, seen);
    tabs.push(visitor);
    await visitor.page.goto(link);
    await onScreen(visitor.page, 'email-confirmation');
    // The token has left the address bar before anything is sent.
    expect(visitor.page.url()).not.toContain('token');
    await button(visitor.page, 'メールアドレスを確認する').click();
    await visitor.page.locator('#email-confirmation .box.ok').waitFor();
    expect((await prisma.loginUser.findUniqueOrThrow({ where: { id: manager.id } })).email).toBe(next);
    await open(page, '#/history', 'history', '操作履歴');
    await open(page, '#/users', 'login-users', 'ログインユーザ');
    expect(await textOf(rowOf(page, '#login-users', next))).not.toContain('確認待ち');

    // PW変更: behind the owner's own password.
    await button(rowOf(page, '#login-users', next), 'PW変更').click();
    const d = dialog(page);
    await d.getByLabel('新しいパスワード', { exact: true }).fill('Kanri-Pass-2026');
    await d.getByLabel('新しいパスワード（確認）').fill('Kanri-Pass-2026');
    await d.getByLabel('ご自身のパスワード').fill(owner.password);
    await button(d, '変更する').click();
    await page.locator('#users-message.ok').filter({ hasText: '管理 三郎 のパスワードを変更しました' }).waitFor();
    expect(await verifyPassword('Kanri-Pass-2026', (await prisma.loginUser.findUniqueOrThrow({ where: { id: manager.id } })).passwordHash)).toBe(true);
    await outbox.waitFor((m) => m.to.includes(next) && m.subject === '【マイナンバー管理】パスワードが管理者により変更されました');
    // One's own row: PW変更 is the セキュリティ screen.
    expect(await rowOf(page, '#login-users', owner.email).getByRole('link', { name: 'PW変更' }).count()).toBe(1);
    expect(errors).toEqual([]);

    // The manager (seed 001's 管理担当者): 契約者情報 and the passcode, not the owners' settings; no PW変更 for others.
    const m = await session({ ...manager, email: next, password: 'Kanri-Pass-2026' });
    await open(m.page, '#/settings', 'settings', '契約者情報');
    expect(await m.page.locator('#tenant-settings').count()).toBe(1);
    expect(await m.page.locator('#tenant-settings [name=purposes], #tenant-settings [name=retentionRule]').count()).toBe(0);
    expect(await textOf(m.page.locator('main'))).toContain('利用目的・再通知・お知らせ・保存期間・削除の設定を変更できるのは最高権限のユーザだけです。');
    await m.page.locator('#tenant-settings').getByLabel('会社名/組織名').fill('株式会社管理画面テスト（管理担当者）');
    await button(m.page.locator('#tenant-settings'), '変更する').click();
    await m.page.locator('main h1', { hasText: '契約者情報' }).waitFor();
    await m.page.locator('main', { hasText: '契約者情報を変更しました（会社名）' }).waitFor();
    await prisma.tenant.update({ where: { id: tenantId }, data: { name: '株式会社管理画面テスト' } });
    await open(m.page, '#/users', 'login-users', 'ログインユーザ');
    expect(await button(m.page.locator('#login-users'), 'PW変更').count()).toBe(0);
    expect(m.errors).toEqual([]);
  });
});

describe('a viewer', () => {
  it('sees the lists but no add, edit or delete controls, and no CSV upload in the menu; the API refuses them anyway', async () => {
    const groupName = `閲覧テスト部-${randomUUID().slice(0, 4)}`;
    const group = (await hr.post('/v1/groups').send({ name: groupName }).expect(201)).body as { id: string };
    const member = await addRegistrant('閲覧', '対象');
    await hr.put(`/v1/groups/${group.id}/members`).send({ add: [member] }).expect(200);

    const { page, errors } = await session(viewer);
    const menu = await page.locator('nav.menu a').allTextContents();
    expect(menu).toEqual(expect.arrayContaining(['HOME', 'ログインユーザ', 'グループ管理', '操作履歴', '契約者情報', 'CSVダウンロード']));
    for (const hidden of ['CSVアップロード', '新規追加', '複数一括登録', 'スマホで収集']) expect(menu).not.toContain(hidden);

    await open(page, '#/users', 'login-users', 'ログインユーザ');
    expect(await textOf(rowOf(page, '#login-users', viewer.email))).toContain('閲覧のみ');
    expect(await textOf(rowOf(page, '#login-users', owner.email))).toContain('人事 太郎');
    for (const name of ['新規登録', '編集', '削除', 'ロック解除']) expect(await button(page.locator('main'), name).count()).toBe(0);
    await snap(page, SUITE, 'viewer-login-users');

    await open(page, '#/groups', 'groups', 'グループ管理');
    expect(await textOf(rowOf(page, '#groups', groupName))).toContain('1人');
    for (const name of ['新規追加', '編集', '削除']) expect(await button(page.locator('main'), name).count()).toBe(0);
    expect(await page.locator('main a', { hasText: 'メンバー登録' }).count()).toBe(0);
    await page.locator('#groups a', { hasText: groupName }).click();
    await onScreen(page, 'group');
    expect(await textOf(page.locator('#group-members'))).toContain('閲覧 対象');
    expect(await page.locator('#group-candidates').count()).toBe(0);
    expect(await button(page.locator('main'), 'グループから外す').count()).toBe(0);

    await open(page, '#/settings', 'settings', '契約者情報');
    expect(await page.locator('#tenant-settings').count()).toBe(0);
    expect(await textOf(page.locator('main'))).toContain('契約者情報を変更できるのは最高権限・管理担当者のユーザだけです。');
    expect(await page.locator('main input, main select, main textarea').count()).toBe(0);

    await open(page, '#/csv-upload', 'csv-upload', 'CSVアップロード');
    expect(await page.locator('main input[type=file]').count()).toBe(0);
    expect(await textOf(page.locator('main'))).toContain('閲覧のみの権限ではできません');

    await open(page, '#/csv-download', 'csv-download', 'CSVダウンロード');
    expect(await button(page, 'CSVダウンロード（マイナンバーなし）').count()).toBe(1);
    expect(await button(page, 'マイナンバー付きでダウンロード').count()).toBe(0);

    await open(page, '#/connectors', 'connectors', '連携アプリ');
    expect(await textOf(page.locator('main'))).toContain('閲覧のみの権限では表示できません');
    await open(page, '#/history', 'history', '操作履歴');
    expect(await button(page, '改ざんがないか確認する').count()).toBe(0);
    expect(errors).toEqual([]);

    // What the screens do not offer, the API refuses (its own tests cover each route).
    const api = await loginAs(app, outbox, viewer);
    await api.post('/v1/groups').send({ name: '勝手な部' }).expect(403);
    await api.patch('/v1/tenant').send({ passcode: 'Viewer-1234' }).expect(403);
    await api.post('/v1/login-users').send({ name: '勝手', email: email('x'), role: 'owner', password: 'Password-1234' }).expect(403);
    await api.post('/v1/registrants/import?dryRun=true').set('Content-Type', 'text/csv').send('姓,名\n山田,太郎\n').expect(403);
  });
});

describe('契約者情報', () => {
  it('an owner sets the company passcode and changes the purposes in use; the add screens warn while it is unset, and the owner sees it again or issues a new one behind their password', async () => {
    const { page, errors } = await session(owner);
    // No passcode yet: every screen that sends links says what that means, with the way to set one.
    for (const [hash, screen, title] of [['#/add', 'add', '新規追加'], ['#/quick-add', 'quick-add', 'スマホで収集']] as const) {
      await open(page, hash, screen, title);
      const warning = page.locator('main .box.warning', { hasText: '企業パスコードが設定されていません' });
      expect(await textOf(warning)).toContain('パスコードなしで登録画面に入れます');
      expect(await warning.getByRole('link', { name: '契約者情報でパスコードを設定する' }).getAttribute('href')).toBe('#/settings');
    }
    await open(page, '#/csv-upload', 'csv-upload', 'CSVアップロード');
    expect(await page.locator('main .box.warning', { hasText: '企業パスコード' }).isVisible()).toBe(false);
    await page.getByLabel('登録した人に収集メール（マイナンバー登録のお願い）を送る').check();
    expect(await page.locator('main .box.warning', { hasText: '企業パスコードが設定されていません' }).isVisible()).toBe(true);
    await open(page, '#/settings', 'settings', '契約者情報');
    expect(await textOf(page.locator('#passcode-state'))).toBe('未設定');
    expect(await textOf(page.locator('main .box.warning'))).toContain('パスコードが設定されていません');
    expect(await page.locator('#purposes-in-use li').allTextContents()).toEqual(['給与所得・退職所得の源泉徴収票作成事務', '雇用保険届出事務']);
    expect(await textOf(page.locator('#reminder-days'))).toBe('招待から 7日後、30日後、80日後');
    expect(await page.locator('#retention-rules li').count()).toBeGreaterThan(0);
    await snap(page, SUITE, 'settings');

    // Too short a passcode: the API's message under the form.
    await page.getByLabel('パスコード', { exact: true }).fill('abc');
    await button(page, '変更する').click();
    await page.locator('#tenant-settings-message.error').waitFor();
    expect(await textOf(page.locator('#tenant-settings-message'))).toBe('パスコードは4〜32文字の半角英数字・記号で入力してください');

    await page.getByLabel('パスコード', { exact: true }).fill('Kaisha-2026');
    await page.getByLabel('ご自身のパスワード（パスコードを変更する場合）').fill(owner.password);
    await page.getByLabel('健康保険・厚生年金保険届出事務').check();
    await page.getByLabel('雇用保険届出事務').uncheck();
    await button(page, '変更する').click();
    await page.locator('main .box.ok', { hasText: '契約者情報を変更しました（パスコード、利用目的）。' }).waitFor();
    expect(await textOf(page.locator('#passcode-state'))).toBe('設定済み');
    expect(await page.locator('#purposes-in-use li').allTextContents()).toEqual(['給与所得・退職所得の源泉徴収票作成事務', '健康保険・厚生年金保険届出事務']);
    expect(await page.locator('main .box.warning').count()).toBe(0);
    expect(await page.inputValue('#f-passcode')).toBe('');
    expect(await page.content()).not.toContain('Kaisha-2026');
    await snap(page, SUITE, 'settings-changed');

    const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    expect(await verifyPassword('Kaisha-2026', tenant.passcodeHash!)).toBe(true);
    expect(tenant.purposes).toEqual(['withholding_slip', 'health_insurance_pension']);
    // Nothing sent to the page carried the passcode back, until the owner asks for it below.
    expect(seen.some((s) => s.includes('Kaisha-2026'))).toBe(false);

    // Shown again behind the owner's password (a wrong one is said in the dialog), and recorded.
    await button(page, 'パスコードを表示').click();
    await dialog(page).getByLabel('ご自身のパスワード').fill('not-my-password');
    await button(dialog(page), '表示する').click();
    await page.locator('#passcode-form-message.error').waitFor();
    await dialog(page).getByLabel('ご自身のパスワード').fill(owner.password);
    await button(dialog(page), '表示する').click();
    expect(await textOf(page.locator('#passcode-value'))).toBe('Kaisha-2026');
    await button(dialog(page), '閉じる').click();
    expect(await prisma.operationEvent.count({ where: { tenantId, operation: 'passcode_revealed' } })).toBe(1);

    // A new one issued: the old one stops working, the new one is shown once and works.
    await button(page, '新しいパスコードを発行').click();
    expect(await textOf(dialog(page))).toContain('今のパスコードは使えなくなります');
    await dialog(page).getByLabel('ご自身のパスワード').fill(owner.password);
    await button(dialog(page), '発行する').click();
    const issued = await textOf(page.locator('#passcode-value'));
    expect(issued).toMatch(/^[A-HJ-NP-Z2-9]{8}$/);
    await button(dialog(page), '閉じる').click();
    const renewed = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    expect(await verifyPassword(issued, renewed.passcodeHash!)).toBe(true);
    expect(await verifyPassword('Kaisha-2026', renewed.passcodeHash!)).toBe(false);

    // Set: the add screens remind HR to tell employees, by another way than the mail.
    await open(page, '#/add', 'add', '新規追加');
    expect(await textOf(page.locator('main .box.info', { hasText: '企業パスコードを設定しています' }))).toContain('メールとは別の方法');
    expect(errors).toEqual([]);
  });

  it('an owner chooses how long retirees\' data is kept, that a scheduled deletion takes the numbers only and waits for HR\'s confirmation, and fills in the rest of 契約者情報', async () => {
    const { page, errors } = await session(owner);
    await open(page, '#/settings', 'settings', '契約者情報');
    await page.getByLabel('保存期間のルール（退職者）').selectOption('employment_insurance_4y');
    await page.getByLabel('削除予定日に削除するもの').selectOption('numbers');
    await page.getByLabel('削除予定日の削除').selectOption('confirmed');
    // The rest of 契約者情報 (seed 001), as people type it.
    await page.getByLabel('事業形態').selectOption('sole_proprietor');
    await page.getByLabel('申請部署').fill('総務部');
    await page.getByLabel('メールでのお知らせ').selectOption('no');
    await page.getByLabel('申請者氏名').fill('マイナ 太郎');
    await page.getByLabel('連絡先メールアドレス').fill('soumu@example.co.jp');
    await page.getByLabel('郵便番号').fill('150-0036');
    await page.getByLabel('都道府県').fill('東京都');
    await page.getByLabel('市区町村・番地').fill('渋谷区南平台町15-10');
    await page.getByLabel('電話番号').fill('03-1234-5678');
    await page.getByLabel('業種').fill('その他情報関連サービス');
    await button(page, '変更する').click();
    await page.locator('.box.ok', { hasText: '保存期間、削除するもの、削除の方法、契約者の連絡先' }).waitFor();
    expect(await textOf(page.locator('#contract-address'))).toBe('〒150-0036 東京都渋谷区南平台町15-10');
    expect(await textOf(page.locator('#retention-current'))).toBe('雇用保険関係書類の保存期間（退職日の翌日から4年）');
    expect(await textOf(page.locator('#deletion-scope'))).toBe('マイナンバーと書類の画像のみ（登録者の情報は残り「未登録」に）');
    expect(await textOf(page.locator('#deletion-mode'))).toBe('担当者の確認後に削除（削除予定日に確認待ちへ）');
    const fact = async (label: string) => textOf(page.locator(`dt:text-is("${label}") + dd`).first());
    expect([await fact('事業形態'), await fact('申請部署'), await fact('メールでのお知らせ')]).toEqual(['個人事業主', '総務部', '希望しない']);
    expect(await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } })).toMatchObject({
      retentionRule: 'employment_insurance_4y',
      deletionScope: 'numbers',
      deletionMode: 'confirmed',
      contractDetails: expect.objectContaining({ businessType: 'sole_proprietor', department: '総務部', newsletter: false }),
    });
    // Back to the defaults for the other tests of this tenant.
    await prisma.tenant.update({ where: { id: tenantId }, data: { retentionRule: 'dependents_declaration_7y', deletionScope: 'all_personal_data', deletionMode: 'automatic', contractDetails: Prisma.DbNull } });
    expect(errors).toEqual([]);
  });
});

describe('グループ管理', () => {
  it('an owner adds a group, renames it, registers members, takes one out and deletes the group', async () => {
    const [ichiro, jiro] = [await addRegistrant('青木', '一郎'), await addRegistrant('青木', '次郎')];
    const { page, errors } = await session(owner);
    await open(page, '#/groups', 'groups', 'グループ管理');

    await button(page, '新規追加').click();
    await dialog(page).getByLabel('グループ名').fill('総務部');
    await button(dialog(page), '追加する').click();
    await page.locator('#groups-message.ok', { hasText: 'グループ「総務部」を追加しました。' }).waitFor();
    expect(await textOf(rowOf(page, '#groups', '総務部'))).toContain('0人');

    // The same name again: the API's message in the dialog.
    await button(page, '新規追加').click();
    await dialog(page).getByLabel('グループ名').fill('総務部');
    await button(dialog(page), '追加する').click();
    await dialog(page).locator('.message.error').waitFor();
    expect(await textOf(dialog(page).locator('.message.error'))).toBe('同じ名前のグループが既にあります');
    await button(dialog(page), 'キャンセル').click();

    await button(rowOf(page, '#groups', '総務部'), '編集').click();
    await dialog(page).getByLabel('グループ名').fill('総務・人事部');
    await button(dialog(page), '変更する').click();
    await page.locator('#groups-message.ok', { hasText: 'グループ名を「総務・人事部」に変更しました。' }).waitFor();
    await snap(page, SUITE, 'groups');

    await rowOf(page, '#groups', '総務・人事部').locator('a', { hasText: 'メンバー登録' }).click();
    await onScreen(page, 'group');
    await page.locator('main h1', { hasText: 'グループ：総務・人事部' }).waitFor();
    expect(await textOf(page.locator('#group-members'))).toContain('このグループにはまだメンバーがいません');
    await page.getByLabel('青木 一郎を選ぶ').check();
    await page.getByLabel('青木 次郎を選ぶ').check();
    await button(page, '登録').click();
    await page.locator('#group-message.ok', { hasText: '2人をグループ「総務・人事部」に登録しました。' }).waitFor();
    expect(await textOf(page.locator('#member-count'))).toBe('2人');
    expect(await rowOf(page, '#group-members', '青木 一郎').count()).toBe(1);
    expect(await rowOf(page, '#group-candidates', '青木').count()).toBe(0);
    await snap(page, SUITE, 'group-members');

    await button(rowOf(page, '#group-members', '青木 次郎'), 'グループから外す').click();
    await page.locator('#group-message.ok', { hasText: '青木 次郎 をグループ「総務・人事部」から外しました。' }).waitFor();
    expect(await textOf(page.locator('#member-count'))).toBe('1人');
    expect(await rowOf(page, '#group-candidates', '青木 次郎').count()).toBe(1);

    await page.locator('main a', { hasText: 'グループ管理に戻る' }).click();
    await onScreen(page, 'groups');
    expect(await textOf(rowOf(page, '#groups', '総務・人事部'))).toContain('1人');
    await button(rowOf(page, '#groups', '総務・人事部'), '削除').click();
    expect(await textOf(dialog(page))).toContain('所属している1人は、グループなしになります（登録者は削除されません）。');
    await button(dialog(page), '削除する').click();
    await page.locator('#groups-message.ok', { hasText: 'グループ「総務・人事部」を削除しました。' }).waitFor();
    expect(await rowOf(page, '#groups', '総務・人事部').count()).toBe(0);
    const members = await prisma.registrant.findMany({ where: { id: { in: [ichiro, jiro] } }, select: { groupId: true } });
    expect(members).toEqual([{ groupId: null }, { groupId: null }]);
    expect(errors).toEqual([]);
  });
});

describe('操作履歴', () => {
  it('filters by operation (kept in the address across a reload), pages on, and downloads the filtered CSV', async () => {
    // 55 group additions: more than one page of the filtered history.
    for (let i = 1; i <= 55; i++) await hr.post('/v1/groups').send({ name: `履歴テスト${String(i).padStart(2, '0')}` }).expect(201);
    const { page, errors } = await session(owner);
    await open(page, '#/history', 'history', '操作履歴');
    expect(await page.locator('#history tbody tr').count()).toBeGreaterThan(0);
    expect(await page.locator('#history thead th').allTextContents()).toEqual(['日時', '操作者', '操作', '対象者', '利用目的', 'IPアドレス']);

    await page.getByLabel('操作内容').fill('グループの追加');
    // The unfiltered list also shows 50 with more to come: wait for the new drawing, not the count.
    await redrawn(page, () => button(page, '絞り込み').click());
    expect(await page.evaluate('location.hash')).toContain('operation=');
    await page.locator('#history-count', { hasText: '50件を表示しています（続きがあります）' }).waitFor();
    const labels = await page.locator('#history tbody tr td:nth-child(3)').allTextContents();
    expect(new Set(labels)).toEqual(new Set(['グループの追加']));
    expect(await textOf(page.locator('#history tbody tr').first())).toContain('人事 太郎');
    await snap(page, SUITE, 'history-filtered');

    await page.reload();
    await onScreen(page, 'history');
    await page.locator('#history-count', { hasText: '50件' }).waitFor();
    expect(await page.inputValue('#f-operation')).toBe('グループの追加');
    await button(page, 'さらに表示').click();
    await page.locator('#history-count', { hasText: /^(5[5-9]|[6-9]\d)件を表示しています$/ }).waitFor();
    expect(await button(page, 'さらに表示').isHidden()).toBe(true);

    // The CSV of the same search, Shift_JIS by default.
    const csv = await readDownload(page, () => button(page, 'CSVダウンロード').click());
    expect(csv.name).toMatch(/^operation-history-\d{8}\.csv$/);
    const text = iconv.decode(csv.bytes, 'cp932');
    const rows = text.trim().split('\r\n');
    expect(rows[0]).toContain('操作内容');
    expect(rows.length).toBe(1 + (await page.locator('#history tbody tr').count()));
    expect(rows.slice(1).every((r) => r.includes('グループの追加') && r.includes('人事 太郎'))).toBe(true);
    await page.locator('#history-csv-message.ok').waitFor();

    // A period in Japan time: from tomorrow finds nothing.
    const tomorrow = new Date(Date.now() + 9 * 3600_000 + 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('日付（から）').fill(tomorrow);
    await button(page, '絞り込み').click();
    await page.locator('#history td.empty', { hasText: '条件に合う操作履歴はありません' }).waitFor();
    await redrawn(page, () => page.locator('main a', { hasText: '条件をクリア' }).click());
    expect(await page.evaluate('location.hash')).toBe('#/history');
    await page.locator('#history-count', { hasText: '50件を表示しています（続きがあります）' }).waitFor();
    expect(errors).toEqual([]);
  });

  it('a download with numbers (a row per person, one instant) is one line, "N人分", its people behind a disclosure, each linked to their page', async () => {
    const people = ['一', '二', '三'].map((g, i) => {
      const n = number();
      return { employeeCode: `GRP-${i}-${randomUUID().slice(0, 4)}`, familyName: '履歴', givenName: g, myNumber: n, myNumberConfirmation: n };
    });
    await hr.post('/v1/registrants/bulk-entry').send({ people }).expect(201);
    await hr.post('/v1/registrants/export-with-numbers').send({ password: owner.password, purpose: 'withholding_slip', encoding: 'utf8-bom' }).expect(200);
    const [latest] = await prisma.operationEvent.findMany({ where: { tenantId, operation: 'numbers_downloaded' }, orderBy: { id: 'desc' }, take: 1 });
    // A row per person and one for the download itself, all at one instant.
    const rows = await prisma.operationEvent.findMany({ where: { tenantId, operation: 'numbers_downloaded', occurredAt: latest!.occurredAt, registrantId: { not: null } }, orderBy: { id: 'desc' } });
    expect(rows.length).toBeGreaterThanOrEqual(3);

    const { page, errors } = await session(owner);
    await open(page, '#/history', 'history', '操作履歴');
    await page.getByLabel('操作内容').fill('マイナンバーのダウンロード');
    await redrawn(page, () => button(page, '絞り込み').click());
    const line = page.locator(`#history tbody tr[data-operation=numbers_downloaded][data-grouped="${rows.length}"]`).first();
    // The download's own row is in the line too, not a line of its own.
    expect(await page.locator('#history tbody tr').first().getAttribute('data-grouped')).toBe(String(rows.length));
    expect(await line.locator('td:nth-child(3)').textContent()).toBe(`マイナンバーのダウンロード（${rows.length}人分）`);
    // Every row stays in the data: each person, a link to them.
    await line.locator('summary', { hasText: `${rows.length}人分` }).click();
    const links = line.locator('details li a');
    expect(await links.allTextContents()).toEqual(rows.map((r) => r.registrantLabel));
    expect(await links.evaluateAll((as) => as.map((a) => (a as unknown as { getAttribute(n: string): string }).getAttribute('href')))).toEqual(rows.map((r) => `#/registrants/${r.registrantId}`));
    await snap(page, SUITE, 'history-grouped');
    await links.first().click();
    await onScreen(page, 'registrant');
    expect(errors).toEqual([]);
  });

  it('checks the history, saves the signed result, and later checks against it; an edited file is refused', async () => {
    const { page, errors } = await session(owner);
    await open(page, '#/history', 'history', '操作履歴');
    await button(page, '改ざんがないか確認する').click();
    await page.locator('#verify-message.ok', { hasText: '改ざんは見つかりませんでした' }).waitFor();
    const saved = await readDownload(page, () => button(page, '確認結果を保存する（署名付き）').click());
    expect(saved.name).toMatch(/^operation-history-head-\d{4}-\d{2}-\d{2}\.json$/);
    const head = JSON.parse(saved.bytes.toString('utf8')) as { tenantId: string; signature: string };
    expect(head).toMatchObject({ tenantId, signature: expect.stringMatching(/^[0-9a-f]{16}\.[0-9a-f]{64}$/) });

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-head-'));
    const file = path.join(dir, saved.name);
    fs.writeFileSync(file, saved.bytes);
    await page.setInputFiles('#verify-head-file', file);
    await page.locator('#verify-message.ok', { hasText: '時点までの記録もそのまま残っています' }).waitFor();

    fs.writeFileSync(file, JSON.stringify({ ...head, signedAt: '2020-01-01T00:00:00.000Z' }));
    await page.setInputFiles('#verify-head-file', file);
    await page.locator('#verify-message:not(.ok)', { hasText: 'mynaflowが署名した確認結果ではありません' }).waitFor();
    fs.writeFileSync(file, 'not json');
    await page.setInputFiles('#verify-head-file', file);
    await page.locator('#verify-message', { hasText: '確認結果のファイルではありません' }).waitFor();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
  });
});

describe('連携アプリ', () => {
  it('an owner creates a connector and sees its secret once; a webhook it subscribed is listed with its deliveries and deleted; the connector is stopped', async () => {
    const { page, errors } = await session(owner);
    await open(page, '#/connectors', 'connectors', '連携アプリ');
    expect(await textOf(page.locator('#connectors'))).toContain('連携アプリはまだ登録されていません');
    expect(await textOf(page.locator('main'))).toContain('Webhookは、連携アプリがAPI（POST /v1/webhooks）で登録します。この画面からは登録できません。');

    await page.getByLabel('名前').fill('給与計算ソフト');
    await page.getByLabel('マイナンバーの取得').check();
    await button(page, '登録する').click();
    await page.locator('#connector-new-message.error').waitFor();
    expect(await textOf(page.locator('#connector-new-message'))).toBe('マイナンバーの取得を許可する場合は、取得できる利用目的を1つ以上選んでください');
    await page.locator('#f-allowedPurposes').getByLabel('給与所得・退職所得の源泉徴収票作成事務').check();
    await page.getByLabel('接続元IPアドレスの制限').fill('203.0.113.0/24\n198.51.100.7');
    await button(page, '登録する').click();
    await page.locator('#new-client-secret').waitFor();
    expect(await textOf(page.locator('.secret-box'))).toContain('「給与計算ソフト」を登録しました。クライアントシークレットは今だけ表示されます。');
    const clientId = await textOf(page.locator('#new-client-id'));
    const secret = await textOf(page.locator('#new-client-secret'));
    expect(secret).toMatch(/^mfs_/);
    const listed = rowOf(page, '#connectors', clientId);
    expect(await textOf(listed)).toContain('給与計算ソフト');
    expect(await textOf(listed)).toContain('マイナンバーの取得');
    expect(await textOf(listed)).toContain('203.0.113.0/24');
    expect(await textOf(listed)).toContain('有効');
    await snap(page, SUITE, 'connector-created');

    // A second one without limits, whose credentials work from here; it subscribes a webhook.
    await page.getByLabel('名前').fill('勤怠システム');
    await button(page, '登録する').click();
    await page.locator('.secret-box', { hasText: '「勤怠システム」を登録しました。' }).waitFor();
    const id2 = await textOf(page.locator('#new-client-id'));
    const secret2 = await textOf(page.locator('#new-client-secret'));
    expect(await textOf(rowOf(page, '#connectors', id2))).toContain('制限なし');
    const token = await request(app).post('/v1/oauth/token').auth(id2, secret2).type('form').send({ grant_type: 'client_credentials' }).expect(200);
    const bearer = token.body.access_token as string;
    await request(app).post('/v1/webhooks').auth(bearer, { type: 'bearer' }).send({ url: 'http://127.0.0.1:9/hooks/mynaflow', events: ['registrant_completed', 'registrant_deleted'] }).expect(201);

    // Shown once: after a reload the secrets are nowhere on the page.
    await page.reload();
    await onScreen(page, 'connectors');
    await page.locator('#connectors tbody tr').nth(1).waitFor();
    const content = await page.content();
    expect(content.includes(secret) || content.includes(secret2)).toBe(false);
    expect(await page.locator('.secret-box').count()).toBe(0);
    const hook = rowOf(page, '#webhooks', 'http://127.0.0.1:9/hooks/mynaflow');
    expect(await textOf(hook)).toContain('承認（完了）、削除');
    expect(await textOf(hook)).toContain('勤怠システム');
    await button(hook, '配信履歴').click();
    await page.locator('#deliveries', { hasText: 'まだ配信はありません' }).waitFor();
    await snap(page, SUITE, 'connectors');

    await button(hook, '削除').click();
    await button(dialog(page), '削除する').click();
    await page.locator('#connectors-message.ok', { hasText: 'を削除しました。' }).waitFor();
    expect(await textOf(page.locator('#webhooks'))).toContain('Webhookはまだ登録されていません');

    await button(rowOf(page, '#connectors', id2), '停止').click();
    expect(await textOf(dialog(page))).toContain('「勤怠システム」を停止しますか？');
    await button(dialog(page), '停止する').click();
    await page.locator('#connectors-message.ok', { hasText: '「勤怠システム」を停止しました。' }).waitFor();
    expect(await textOf(rowOf(page, '#connectors', id2))).toContain('停止');
    expect(await button(rowOf(page, '#connectors', id2), '停止').count()).toBe(0);
    await request(app).post('/v1/oauth/token').auth(id2, secret2).type('form').send({ grant_type: 'client_credentials' }).expect(401);
    expect(errors).toEqual([]);
  });
});

describe('運用', () => {
  it('an owner pauses the mail, sees the waiting invitation with its error, resumes it (the mail goes out at once); HR sends a reminder from the timeline; the screen passes axe; viewers have no such menu', async () => {
    const { page, errors } = await session(owner);
    await open(page, '#/operations', 'operations', '運用');
    expect(await textOf(page.locator('main'))).toContain('従業員へのメール送信は動いています。');
    await button(page, '送信を一時停止').click();
    await page.locator('#operations-message.ok', { hasText: 'メール送信を一時停止しました。' }).waitFor();
    await page.locator('main', { hasText: '従業員へのメール送信を一時停止しています' }).waitFor();

    const address = email('paused');
    const id = (await hr.post('/v1/registrants').send({ familyName: '運用', givenName: '待機', email: address }).expect(201)).body.id as string;
    // The invitation's step waits with the pause as its error; the list shows it after a reload.
    for (let i = 0; i < 100 && !(await rowOf(page, 'main', '運用 待機').count()); i++) {
      await page.waitForTimeout(300);
      await page.reload();
      await onScreen(page, 'operations');
    }
    const waiting = page.locator(`tr[data-registrant-id="${id}"]`);
    expect(await textOf(waiting)).toContain('再試行中');
    expect(await textOf(waiting)).toContain('登録依頼メール：メール送信の一時停止中（MailPaused）、1回失敗');
    expect(await axeViolations(page)).toEqual([]);
    await snap(page, SUITE, 'operations');

    await button(page, '送信を再開').click();
    await page.locator('#operations-message.ok', { hasText: '送信を再開しました。待っていた 1 件を今すぐ再試行しています。' }).waitFor();
    await outbox.waitFor((m) => m.to.includes(address), 20_000);
    expect(await prisma.operationEvent.count({ where: { tenantId, operation: { in: ['mail_paused', 'mail_resumed', 'retry_requested'] } } })).toBe(3);

    // HR sends the next reminder from the person's timeline.
    await prisma.registrant.findUniqueOrThrow({ where: { id } });
    for (let i = 0; i < 100 && (await prisma.registrant.findUniqueOrThrow({ where: { id } })).invitationState !== 'open'; i++) await page.waitForTimeout(100);
    await open(page, `#/registrants/${id}`, 'registrant', '運用 待機 さん');
    const reminderRow = page.locator('#timeline tbody tr', { hasText: 'リマインダー 1 回目' });
    await button(reminderRow, '今すぐ送信').click();
    await page.locator('#timeline-message.ok', { hasText: 'リマインダーを送信しました。' }).waitFor();
    await page.locator('#timeline tbody tr', { hasText: 'リマインダー 2 回目' }).waitFor();
    expect(outbox.mails.filter((m) => m.to.includes(address))).toHaveLength(2);
    // A link sent today is already at its longest (90 days): no extension offered.
    expect(await button(page.locator('#timeline tbody tr', { hasText: '登録用リンクの期限' }), '30日延長').count()).toBe(0);
    await snap(page.locator('section[aria-labelledby="timeline-heading"]'), SUITE, 'timeline');
    expect(errors).toEqual([]);

    const v = await session(viewer);
    expect(await v.page.locator('nav.menu a', { hasText: '運用' }).count()).toBe(0);
    await open(v.page, '#/operations', 'operations', '運用');
    expect(await textOf(v.page.locator('main'))).toContain('運用の画面は、最高権限のユーザが使えます。');
  });
});

describe('CSVアップロード', () => {
  const header = '社員コード,姓,名,セイ,メイ,メールアドレス,区分,生年月日,性別,グループ';
  const write = (name: string, text: string) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, iconv.encode(text.replace(/\n/g, '\r\n'), 'cp932'));
    return file;
  };

  it('a dry run shows the Japanese error of a bad line and keeps the import disabled; the fixed file is imported', async () => {
    const bad = write('bad.csv', `${header}\nC-001,山田,太郎,ヤマダ,タロウ,,従業員1,S55/1/1,男性,CSV営業部\nC-002,佐藤,花子,サトウ,ハナコ,,従業員2,H31/5/1,女性,\n`);
    const good = write('good.csv', `${header}\nC-001,山田,太郎,ヤマダ,タロウ,,従業員1,S55/1/1,男性,CSV営業部\nC-002,佐藤,花子,サトウ,ハナコ,,従業員2,H31/4/1,女性,\n`);
    const { page, errors } = await session(owner);
    await open(page, '#/csv-upload', 'csv-upload', 'CSVアップロード');

    const template = await readDownload(page, () => button(page, 'CSVサンプルをダウンロード').click());
    expect(iconv.decode(template.bytes, 'cp932')).toContain('社員コード');

    const importButton = button(page, 'この内容で登録する');
    expect(await importButton.isDisabled()).toBe(true);
    await page.setInputFiles('#f-file', bad);
    await button(page, '内容を確認する').click();
    await page.locator('#import-report').waitFor();
    expect(await textOf(page.locator('#import-summary'))).toBe('2行中1行に誤りがあります。直してからもう一度アップロードしてください（誤りが1行でもあると1人も登録しません）');
    expect(await textOf(page.locator('#import-report tr[data-line="2"]'))).toContain('OK');
    const badLine = await textOf(page.locator('#import-report tr[data-line="3"]'));
    expect(badLine).toContain('エラー');
    expect(badLine).toMatch(/「生年月日」：.*平成の期間外です/);
    expect(await textOf(page.locator('#import-report'))).toContain('新しく作成されるグループ：CSV営業部');
    expect(await importButton.isDisabled()).toBe(true);
    await snap(page, SUITE, 'csv-upload-dry-run-error');

    await page.setInputFiles('#f-file', good);
    expect(await page.locator('#import-report').count()).toBe(0);
    await button(page, '内容を確認する').click();
    await page.locator('#import-summary', { hasText: '2行すべて登録できます' }).waitFor();
    expect(await importButton.isEnabled()).toBe(true);
    await importButton.click();
    await page.locator('#import-summary', { hasText: '2人を登録しました' }).waitFor();
    expect(await textOf(page.locator('#import-message'))).toBe('2人を登録しました');
    expect(await importButton.isDisabled()).toBe(true);
    expect(await page.locator('#import-report tr[data-line="2"] a', { hasText: '詳細' }).count()).toBe(1);
    await snap(page, SUITE, 'csv-upload-imported');
    const stored = await prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: ['C-001', 'C-002'] } }, orderBy: { employeeCode: 'asc' }, include: { group: true } });
    expect(stored.map((r) => [r.familyName, r.givenName, r.group?.name ?? null])).toEqual([
      ['山田', '太郎', 'CSV営業部'],
      ['佐藤', '花子', null],
    ]);
    expect(errors).toEqual([]);
  });
});

describe('他のサービスからの移行（マイナンバー付き）', () => {
  const header = '社員コード,本人・扶養の別,続柄,姓,名,フリガナ（姓）,フリガナ（名）,生年月日,性別,区分,マイナンバー';
  const write = (name: string, text: string) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, iconv.encode(text.replace(/\n/g, '\r\n'), 'cp932'));
    return file;
  };

  it('a dry run names the bad line without its number; the fixed file is stored as a job behind the reason and the password, its progress followed to the end, its people completed', async () => {
    const [own, spouse] = [number(), number()];
    const lines = (spouseNumber: string) => `${header}\nM-001,本人,,移行,一郎,イコウ,イチロウ,S60/4/1,男性,従業員1,${own}\nM-001,扶養家族,配偶者,移行,花子,イコウ,ハナコ,H2/2/2,女性,第3号被保険者,${spouseNumber}\n`;
    const bad = write('numbers-bad.csv', lines(wrongCheckDigit(spouse)));
    typed.push(wrongCheckDigit(spouse));
    const good = write('numbers-good.csv', lines(spouse));
    const { page, errors } = await session(owner);
    await open(page, '#/csv-upload', 'csv-upload', 'CSVアップロード');
    const importButton = button(page, '移行ファイルを登録する');
    expect(await importButton.isDisabled()).toBe(true);

    await page.setInputFiles('#f-numbers-file', bad);
    await button(page, '移行ファイルを確認する').click();
    await page.locator('#numbers-import-report').waitFor();
    const badLine = await textOf(page.locator('#numbers-import-report tr[data-line="3"]'));
    expect(badLine).toContain('扶養家族');
    expect(badLine).toContain('「マイナンバー」：マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）');
    expect(await importButton.isDisabled()).toBe(true);

    await page.setInputFiles('#f-numbers-file', good);
    await button(page, '移行ファイルを確認する').click();
    await page.locator('#numbers-import-summary', { hasText: '2行すべて登録できます（本人1人、扶養家族1人、マイナンバー2件' }).waitFor();
    await snap(page, SUITE, 'numbers-import-dry-run');
    await importButton.click();
    const d = dialog(page);
    await d.getByLabel('取り込みの理由').fill('前のサービスからの移行');
    await d.getByLabel('パスワード').fill('not-my-password');
    await button(d, '登録する').click();
    await d.locator('.message.error').waitFor();
    expect(await textOf(d.locator('.message.error'))).toBe('パスワードが正しくありません');
    expect(await prisma.registrant.count({ where: { tenantId, employeeCode: 'M-001' } })).toBe(0);
    await d.getByLabel('パスワード').fill(owner.password);
    await button(d, '登録する').click();
    // The job's progress bar follows it to the end.
    await page.locator('#numbers-import-progress').waitFor();
    await page.locator('#numbers-import-message.ok', { hasText: '本人1人と扶養家族1人を登録し、マイナンバー2件を保管しました' }).waitFor();
    expect(await page.locator('#numbers-import-progress').getAttribute('value')).toBe('100');
    expect(await textOf(page.locator('#numbers-import-job-message'))).toBe('本人1人と扶養家族1人を登録し、マイナンバー2件を保管しました');
    expect(await button(page, '取り込みを中止する').isHidden()).toBe(true);
    expect(await dialog(page).count()).toBe(0);
    expect(await importButton.isDisabled()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await snap(page, SUITE, 'numbers-import-done');
    const stored = await prisma.registrant.findFirstOrThrow({ where: { tenantId, employeeCode: 'M-001' }, include: { dependents: true } });
    expect([stored.status, stored.dependents.map((x) => [x.givenName, x.kind, x.status])]).toEqual(['completed', [['花子', 'category3', 'completed']]]);
    const recorded = await hr.get('/v1/operation-history?operation=numbers_imported').expect(200);
    expect(recorded.body.items[0]).toMatchObject({ label: 'マイナンバー付き登録者の取り込み' });
    // A job still running when the page is opened (a batch a person here: it runs a while) is shown
    // again with its progress, and HR stops it: what was stored stays.
    const many = [header, ...Array.from({ length: 300 }, (_, i) => `R-${i},本人,,中止,${i}郎,,,,,,${number()}`)].join('\r\n');
    const acting = { user: await prisma.loginUser.findUniqueOrThrow({ where: { id: owner.id } }), tenantId, ip: null, userAgent: null };
    const started = await services.importJobs.start(acting, iconv.encode(many, 'cp932'), { dryRun: false, password: owner.password, reason: '中止の確認' }, { batchSize: 1 });
    if (!('job' in started)) throw new Error('no job');
    await open(page, '#/csv-download', 'csv-download', 'CSVダウンロード');
    await open(page, '#/csv-upload', 'csv-upload', 'CSVアップロード');
    await page.locator('#numbers-import-progress').waitFor();
    await page.locator('#numbers-import-job-message', { hasText: '取り込んでいます（本人' }).waitFor();
    await snap(page, SUITE, 'numbers-import-running');
    await button(page, '取り込みを中止する').click();
    await page.locator('#numbers-import-message.error', { hasText: '中止しました。それまでに本人' }).waitFor({ timeout: 30_000 });
    const job = await prisma.importJob.findUniqueOrThrow({ where: { id: started.job.id } });
    expect(job.status).toBe('cancelled');
    expect(job.doneRegistrants).toBeLessThan(300);
    expect(await prisma.registrant.count({ where: { tenantId, familyName: '中止' } })).toBe(job.doneRegistrants);
    expect(errors).toEqual([]);
  });
});

describe('書類の画像を登録・差し替え', () => {
  it('HR adds the image of a document it checked for a person, then replaces it, then one for a 第3号 dependent; the page lists it, the history records it', async () => {
    const id = await addRegistrant('書類', '登録');
    const { png, jpeg } = await drawCardImages(browser);
    const pngFile = path.join(tmp, 'licence.png');
    const jpegFile = path.join(tmp, 'licence.jpg');
    fs.writeFileSync(pngFile, png);
    fs.writeFileSync(jpegFile, jpeg);
    const { page, errors } = await session(owner);
    await open(page, `#/registrants/${id}`, 'registrant', '書類 登録 さん');
    for (const file of [pngFile, jpegFile]) {
      await button(page, '書類の画像を登録・差し替え').click();
      const d = dialog(page);
      await d.getByLabel('書類の目的').selectOption('identity');
      await d.getByLabel('書類', { exact: true }).selectOption('drivers_licence');
      await d.locator('input[type=file]').setInputFiles(file);
      if (file === pngFile) await snap(page, SUITE, 'document-upload-dialog');
      await button(d, '登録する').click();
      await dialog(page).waitFor({ state: 'detached' });
      await page.locator('.box.ok', { hasText: '運転免許証（表面）の画像を登録しました。' }).waitFor();
    }
    // One document in the slot: the second image replaced the first.
    const docs = await prisma.document.findMany({ where: { registrantId: id } });
    expect(docs.map((x) => [x.type, x.side, x.mimeType, x.draft])).toEqual([['drivers_licence', 'front', 'image/jpeg', false]]);
    expect(await page.locator('section[aria-labelledby="documents"]').textContent()).toContain('運転免許証');
    expect(await axeViolations(page)).toEqual([]);
    const recorded = await hr.get(`/v1/operation-history?operation=document_uploaded`).expect(200);
    expect(recorded.body.items.slice(0, 2).map((e: { label: string }) => e.label)).toEqual(['本人確認書類の登録（人事）', '本人確認書類の登録（人事）']);

    // A 第3号 dependent's own document: chosen under だれの書類, stored as theirs.
    const spouseId = ((await hr.post(`/v1/registrants/${id}/dependents`).send({ relationship: '配偶者', familyName: '書類', givenName: '配偶', kind: 'category3' }).expect(201)).body as { id: string }).id;
    await page.reload();
    await onScreen(page, 'registrant');
    await button(page, '書類の画像を登録・差し替え').click();
    const d = dialog(page);
    await d.getByLabel('だれの書類').selectOption({ label: '扶養家族 書類 配偶 さん（第3号被保険者）' });
    await d.getByLabel('書類の目的').selectOption('identity');
    await d.getByLabel('書類', { exact: true }).selectOption('passport');
    await d.locator('input[type=file]').setInputFiles(pngFile);
    await button(d, '登録する').click();
    await dialog(page).waitFor({ state: 'detached' });
    await page.locator('.box.ok', { hasText: 'パスポート（表面）の画像を登録しました。' }).waitFor();
    expect((await prisma.document.findMany({ where: { registrantId: id, dependentId: spouseId } })).map((x) => [x.type, x.side, x.mimeType])).toEqual([['passport', 'front', 'image/png']]);
    expect(errors).toEqual([]);
  });
});

describe('CSVダウンロード', () => {
  it('downloads registrants without numbers (Shift_JIS), with numbers behind the password and a purpose, and explains a character Shift_JIS cannot write', async () => {
    const own = number();
    await hr
      .post('/v1/registrants/bulk-entry')
      .send({ people: [{ employeeCode: 'D-001', familyName: '高橋', givenName: '三郎', myNumber: own, myNumberConfirmation: own }] })
      .expect(201);
    const { page, errors } = await session(owner);
    await open(page, '#/csv-download', 'csv-download', 'CSVダウンロード');
    await snap(page, SUITE, 'csv-download');

    const plain = await readDownload(page, () => button(page, 'CSVダウンロード（マイナンバーなし）').click());
    expect(plain.name).toMatch(/^registrants-\d{8}\.csv$/);
    const plainText = iconv.decode(plain.bytes, 'cp932');
    expect(plainText.split('\r\n')[0]).toContain('マイナンバー登録');
    expect(plainText).toContain('"D-001","高橋","三郎"');
    expect(plainText.includes(own)).toBe(false);
    await page.locator('#download-message.ok').waitFor();

    // With numbers: a wrong password is told in the dialog; the right one downloads.
    await button(page, 'マイナンバー付きでダウンロード').click();
    const d = dialog(page);
    // The purposes the company uses, as the settings have them now.
    const { purposes } = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } });
    expect(await d.getByLabel('利用目的').locator('option').allTextContents()).toEqual(['選択してください', ...purposes.map((p) => PURPOSE_LABELS[p])]);
    await d.getByLabel('利用目的').selectOption('withholding_slip');
    await d.getByLabel('パスワード').fill('not-my-password');
    await button(d, 'ダウンロード').click();
    await d.locator('.message.error').waitFor();
    expect(await textOf(d.locator('.message.error'))).toBe('パスワードが正しくありません');
    await d.getByLabel('パスワード').fill(owner.password);
    const withNumbers = await readDownload(page, () => button(d, 'ダウンロード').click());
    expect(withNumbers.name).toMatch(/^registrant-numbers-\d{8}\.csv$/);
    const numbersText = iconv.decode(withNumbers.bytes, 'cp932');
    expect(numbersText.includes(own)).toBe(true);
    await page.locator('#download-message.ok', { hasText: 'マイナンバー付きの登録者情報をダウンロードしました。' }).waitFor();
    expect(await dialog(page).count()).toBe(0);
    const recorded = await hr.get('/v1/operation-history?operation=numbers_downloaded').expect(200);
    expect(recorded.body.items[0]).toMatchObject({ label: 'マイナンバーのダウンロード', purposeLabel: '給与所得・退職所得の源泉徴収票作成事務' });

    // 𠮷 has no Shift_JIS code: the API names the cell, the screen suggests UTF-8, which works.
    await addRegistrant('𠮷田', '四郎');
    await button(page, 'CSVダウンロード（マイナンバーなし）').click();
    await page.locator('#download-message.error').waitFor();
    const told = await textOf(page.locator('#download-message'));
    expect(told).toContain('𠮷田 四郎）の「姓」：「𠮷」（U+20BB7）はShift_JISで表せません');
    expect(told).toContain('文字コードに「UTF-8（BOM付き）」を選んでダウンロード');
    await snap(page, SUITE, 'csv-download-unencodable');
    // One click: the same file in UTF-8 (BOM), the choice switched for what comes next.
    const utf8 = await readDownload(page, () => button(page, 'UTF-8（BOM付き）でダウンロード').click());
    expect(await page.getByLabel('文字コード').inputValue()).toBe('utf8-bom');
    expect(utf8.bytes.subarray(0, 3).toString('hex')).toBe('efbbbf');
    expect(utf8.bytes.toString('utf8')).toContain('𠮷田');
    expect(errors).toEqual([]);
  });
});

describe('adding registrants', () => {
  it('新規追加: one person; the screen says the invitation went out and links to them', async () => {
    const address = email('ito');
    const { page, errors } = await session(owner);
    await open(page, '#/add', 'add', '新規追加');
    // Sent empty (and a bad kana): each problem under its own field, the field marked and described by it.
    await page.getByLabel('フリガナ（姓）').fill('ito');
    await button(page, '登録する').click();
    await page.locator('#registrant-new-message.error').waitFor();
    expect(await textOf(page.locator('#registrant-new-message'))).toBe('入力内容に誤りがあります。各項目の下の説明を確認してください。');
    for (const [name, said] of [['familyName', '姓を入力してください'], ['givenName', '名を入力してください'], ['email', '収集メールを送るにはメールアドレスを入力してください'], ['familyNameKana', 'フリガナはカタカナで入力してください']]) {
      const control = page.locator(`#f-${name}`);
      expect([name, await control.getAttribute('aria-invalid'), await textOf(page.locator(`#f-${name}-error`))]).toEqual([name, 'true', said]);
      expect((await control.getAttribute('aria-describedby'))!.split(' ')).toContain(`f-${name}-error`);
    }
    // Typing in a field takes its error away; the others stay.
    await page.getByLabel('姓', { exact: true }).fill('伊');
    expect(await page.locator('#f-familyName-error').count()).toBe(0);
    expect(await page.getAttribute('#f-familyName', 'aria-invalid')).toBeNull();
    expect(await page.locator('#f-givenName-error').count()).toBe(1);
    // Aligned: the inputs of a row start at one height, hints and errors or not.
    const tops = await Promise.all(['familyName', 'givenName', 'familyNameKana', 'givenNameKana'].map(async (n) => Math.round((await page.locator(`#f-${n}`).boundingBox())!.y)));
    expect(new Set(tops).size).toBe(1);
    await snap(page, SUITE, 'add-errors');
    await page.getByLabel('姓', { exact: true }).fill('伊藤');
    await page.getByLabel('名', { exact: true }).fill('一郎');
    await page.getByLabel('フリガナ（姓）').fill('いとう');
    expect(await textOf(page.locator('#registrant-new-message'))).not.toBe(''); // the e-mail is still wrong
    await page.getByLabel('メールアドレス', { exact: true }).fill(address);
    // Every field said wrong is changed: the line saying so has gone too.
    expect(await textOf(page.locator('#registrant-new-message'))).toBe('');
    await page.getByLabel('フリガナ（名）').fill('イチロウ');
    await page.getByLabel('メールアドレス', { exact: true }).fill(address);
    await page.getByLabel('社員コード').fill('Ａ-100');
    await page.getByLabel('区分', { exact: true }).selectOption({ label: '従業員2（パート・アルバイト）' });
    // The mail's choices, as on スマホで収集: a deadline, a message, where replies go.
    const due = new Date(Date.now() + 9 * 3_600_000 + 21 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('提出期限（任意）').fill(due);
    await page.getByLabel('ご担当者からのメッセージ').fill('入社手続きのため、期限までにご登録ください。');
    await page.getByLabel('返信先メールアドレス（Reply-To）').fill('jinji@example.co.jp');
    await snap(page, SUITE, 'add');
    await button(page, '登録する').click();
    await page.locator('#added-summary').waitFor();
    expect(await textOf(page.locator('#added-summary'))).toBe(`伊藤 一郎 さんを登録し、収集メール（マイナンバー登録のお願い）を ${address} 宛てに送信予約しました。送信されると、登録者の詳細の「経過」に表示されます。`);
    const stored = await prisma.registrant.findFirstOrThrow({ where: { tenantId, email: address } });
    expect(stored).toMatchObject({ familyNameKana: 'イトウ', givenNameKana: 'イチロウ', employeeCode: 'A-100', category: 'part_time', status: 'unregistered' });
    expect(await page.getAttribute('main a.button', 'href')).toBe(`#/registrants/${stored.id}`);
    expect(stored.submissionDueDate?.toISOString().slice(0, 10)).toBe(due);
    const invitation = await outbox.waitFor((m) => m.to.includes(address), 15_000);
    expect(invitation.text).toContain(`【提出期限】${Number(due.slice(0, 4))}年${Number(due.slice(5, 7))}月${Number(due.slice(8, 10))}日`);
    expect(invitation.text).toContain('入社手続きのため、期限までにご登録ください。');
    expect(invitation.replyTo).toContain('jinji@example.co.jp');
    await snap(page, SUITE, 'added');

    // The same employee code again: the API's message, nothing stored.
    await button(page, '続けて登録する').click();
    await page.locator('#registrant-new').waitFor();
    await page.getByLabel('姓', { exact: true }).fill('伊藤');
    await page.getByLabel('名', { exact: true }).fill('二郎');
    await page.getByLabel('メールアドレス', { exact: true }).fill(email('ito2'));
    await page.getByLabel('社員コード').fill('A-100');
    await button(page, '登録する').click();
    await page.locator('#registrant-new-message.error').waitFor();
    // The API's answer is said under the field it concerns.
    expect(await textOf(page.locator('#f-employeeCode-error'))).toBe('この社員コードは他の登録者が使っています');
    expect(await page.getAttribute('#f-employeeCode', 'aria-invalid')).toBe('true');
    expect(errors).toEqual([]);
  });

  it('新規追加 without an e-mail, with a number checked on paper and a dependent: stored 完了, nothing mailed; a dependent\'s problem is said beside it', async () => {
    const [own, child] = [number(), number()];
    const { page, errors } = await session(owner);
    await open(page, '#/add', 'add', '新規追加');
    await page.getByLabel('姓', { exact: true }).fill('紙');
    await page.getByLabel('名', { exact: true }).fill('確認');
    await page.getByLabel('性別', { exact: true }).selectOption('female');
    await page.getByLabel('生年月日', { exact: true }).fill('s60/5/5');
    await page.getByLabel('入社日').fill('r3/4/1');
    await page.getByLabel('備考').fill('書類は総務で保管');
    // Typing a number turns the mail off: the person will be 完了.
    await page.getByLabel('マイナンバー（12桁）').fill(own);
    expect(await page.getByLabel(/登録後すぐに収集メールを送る/).isChecked()).toBe(false);
    expect(await page.getByLabel(/登録後すぐに収集メールを送る/).isDisabled()).toBe(true);
    await page.getByLabel('マイナンバー（確認のためもう一度）').fill(own);
    await page.getByLabel('本人確認の方法').selectOption('notification_card_with_id');
    await button(page, '扶養家族+').click();
    const dep = page.locator('#new-dependents fieldset.dependent').first();
    await dep.getByLabel('続柄').selectOption('子');
    await dep.getByLabel('姓', { exact: true }).fill('紙');
    await dep.getByLabel('名', { exact: true }).fill('次男');
    await dep.getByLabel('生年月日').fill('2099-01-01');
    await dep.getByLabel('マイナンバー（任意）').fill(child);
    await dep.getByLabel('マイナンバー（確認）').fill(child);
    await button(page, '登録する').click();
    // The API's problem about the dependent, beside the dependent; nothing stored.
    await dep.locator('.message.error').waitFor();
    expect(await textOf(dep.locator('.message.error'))).toBe('扶養家族1人目：生年月日に未来の日付は指定できません');
    expect(await prisma.registrant.count({ where: { tenantId, familyName: '紙', givenName: '確認' } })).toBe(0);
    await dep.getByLabel('生年月日').fill('h30/1/1');
    // The images of the documents HR checked go with it: a row without a file is said before anyone is stored.
    await button(page, '書類+').click();
    const card = page.locator('#new-documents fieldset.document-row').nth(0);
    await button(page, '登録する').click();
    await card.locator('.field-error', { hasText: '画像ファイルを選んでください' }).waitFor();
    expect(await prisma.registrant.count({ where: { tenantId, familyName: '紙', givenName: '確認' } })).toBe(0);
    const { png } = await drawCardImages(browser);
    const cardFile = path.join(tmp, 'card-back.png');
    const scanFile = path.join(tmp, 'scan.jpg');
    fs.writeFileSync(cardFile, png);
    fs.writeFileSync(scanFile, Buffer.from('%PDF-1.4\n%%EOF\n'));
    await card.getByLabel('書類', { exact: true }).selectOption('my_number_card');
    await card.getByLabel('面').selectOption('back');
    await card.locator('input[type=file]').setInputFiles(cardFile);
    // A PDF named like a JPEG passes the page; the API refuses it once the person is stored, and says so.
    await button(page, '書類+').click();
    const licence = page.locator('#new-documents fieldset.document-row').nth(1);
    // The same slot twice would replace the first image: said before anyone is stored.
    await licence.getByLabel('面').selectOption('back');
    await licence.locator('input[type=file]').setInputFiles(cardFile);
    await button(page, '登録する').click();
    await licence.locator('.field-error', { hasText: 'マイナンバーカード（個人番号カード）（裏面）はすでに選んでいます' }).waitFor();
    expect(await prisma.registrant.count({ where: { tenantId, familyName: '紙', givenName: '確認' } })).toBe(0);
    await licence.getByLabel('面').selectOption('front');
    await licence.getByLabel('書類の目的').selectOption('identity');
    await licence.getByLabel('書類', { exact: true }).selectOption('drivers_licence');
    await licence.locator('input[type=file]').setInputFiles(scanFile);
    await button(page, '登録する').click();
    await page.locator('#added-summary').waitFor();
    expect(await textOf(page.locator('#added-summary'))).toBe('紙 確認 さんを「完了」として登録しました（マイナンバーは書類で確認済み）。収集メールは送りません。');
    expect(await textOf(page.locator('#added-documents'))).toBe('書類の画像を登録しました：マイナンバーカード（個人番号カード）（裏面）');
    expect(await textOf(page.locator('.box.warning li'))).toMatch(/^運転免許証（表面）：.*JPEG、PNG、GIF形式の画像を選んでください/);
    const stored = await prisma.registrant.findFirstOrThrow({ where: { tenantId, familyName: '紙', givenName: '確認' }, include: { dependents: true, documents: true } });
    expect(stored.documents.map((d) => [d.purpose, d.type, d.side, d.mimeType, d.draft])).toEqual([['number_confirmation', 'my_number_card', 'back', 'image/png', false]]);
    expect(stored).toMatchObject({ status: 'completed', loginLocked: true, email: null, gender: 'female', note: '書類は総務で保管' });
    expect(stored.birthDate?.toISOString().slice(0, 10)).toBe('1985-05-05');
    expect(stored.dependents.map((d) => [d.givenName, d.status, d.birthDate?.toISOString().slice(0, 10)])).toEqual([['次男', 'completed', '2018-01-01']]);
    // The numbers left the page with the registration.
    expect(await page.locator('#f-myNumber').count()).toBe(0);
    await snap(page, SUITE, 'add-completed-on-paper');
    expect(errors).toEqual([]);
  });

  it('複数一括登録: a wrong check digit is shown beside its row and nothing is stored; fixed, everyone is stored as completed', async () => {
    const [first, third, spouse] = [number(), number(), number()];
    const { page, errors } = await session(owner);
    await open(page, '#/bulk', 'bulk', '複数一括登録');
    expect(await page.locator('fieldset.person').count()).toBe(10);
    expect(await page.getAttribute('#p0-myNumber', 'inputmode')).toBe('numeric');
    expect(await page.getAttribute('#p0-myNumber', 'autocomplete')).toBe('off');
    await snap(page, SUITE, 'bulk');

    const person = (i: number) => page.locator(`#p${i}`);
    await person(0).getByLabel('社員コード').fill('B-001');
    await person(0).getByLabel('姓', { exact: true }).fill('小林');
    await person(0).getByLabel('名', { exact: true }).fill('一子');
    await person(0).getByLabel('生年月日').fill('s60/4/1');
    await person(0).getByLabel('性別').selectOption('female');
    await person(0).getByLabel('マイナンバー', { exact: true }).fill(first);
    await person(0).getByLabel('マイナンバー（確認）').fill(first);
    await button(person(0), '扶養家族+').click();
    const dep = page.locator('#p0-d0');
    await dep.getByLabel('続柄').selectOption('配偶者');
    await dep.getByLabel('姓', { exact: true }).fill('小林');
    await dep.getByLabel('名', { exact: true }).fill('太一');
    await dep.getByLabel('マイナンバー', { exact: true }).fill(spouse);
    await dep.getByLabel('マイナンバー（確認）').fill(spouse);
    // Row 2 stays empty; row 3 has a wrong check digit.
    await person(2).getByLabel('社員コード').fill('B-003');
    await person(2).getByLabel('姓', { exact: true }).fill('加藤');
    await person(2).getByLabel('名', { exact: true }).fill('三太');
    await person(2).getByLabel('マイナンバー', { exact: true }).fill(wrongCheckDigit(third));
    await person(2).getByLabel('マイナンバー（確認）').fill(wrongCheckDigit(third));
    await button(page, '登録する').click();

    await page.locator('#p2-message.error').waitFor();
    expect(await textOf(page.locator('#p2-message'))).toBe('3人目：マイナンバーに誤りがあります（最後の一桁が、ほかの桁から計算される値と合いません）。番号を確かめて入力し直してください');
    expect(await page.getAttribute('#p2-myNumber', 'aria-invalid')).toBe('true');
    expect(await textOf(page.locator('#p0-message'))).toBe('');
    expect(await textOf(page.locator('#bulk-entry-message'))).toContain('1人も登録していません');
    expect(await prisma.registrant.count({ where: { tenantId, employeeCode: { in: ['B-001', 'B-003'] } } })).toBe(0);

    await person(2).getByLabel('マイナンバー', { exact: true }).fill(third);
    await person(2).getByLabel('マイナンバー（確認）').fill(third);
    await button(page, '登録する').click();
    await page.locator('#bulk-summary').waitFor();
    expect(await textOf(page.locator('#bulk-summary'))).toBe('2人（扶養家族1人）を完了の状態で登録しました');
    expect(await page.locator('#bulk-result li').allTextContents()).toEqual(['小林 一子（社員コード B-001）', '加藤 三太（社員コード B-003）']);
    // The numbers have left the page.
    expect(await page.inputValue('#p0-myNumber')).toBe('');
    expect(await page.inputValue('#p2-myNumber')).toBe('');
    expect(await page.locator('#p0-d0').count()).toBe(0);
    expect(containsAny(await page.content(), typed)).toEqual([]);
    await snap(page, SUITE, 'bulk-done');
    const stored = await prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: ['B-001', 'B-003'] } }, include: { dependents: true }, orderBy: { employeeCode: 'asc' } });
    expect(stored.map((r) => [r.employeeCode, r.status, r.birthDate?.toISOString().slice(0, 10) ?? null, r.dependents.length])).toEqual([
      ['B-001', 'completed', '1985-04-01', 1],
      ['B-003', 'completed', null, 0],
    ]);
    expect(errors).toEqual([]);
  });

  it('スマホで収集: a bad address is shown on its row; then everyone is invited with the message, reply-to and a copy to oneself', async () => {
    const addresses = [email('watanabe'), email('nakamura'), email('yamamoto')];
    const { page, errors } = await session(owner);
    await open(page, '#/quick-add', 'quick-add', 'スマホで収集');
    expect(await page.locator('#quick-rows tbody tr').count()).toBe(10);
    await button(page, '行を追加').click();
    expect(await page.locator('#quick-rows tbody tr').count()).toBe(11);
    const fill = async (n: number, family: string, given: string, address: string) => {
      await page.getByLabel(`${n}行目 姓`, { exact: true }).fill(family);
      await page.getByLabel(`${n}行目 名`, { exact: true }).fill(given);
      await page.getByLabel(`${n}行目 メールアドレス`, { exact: true }).fill(address);
    };
    await fill(1, '渡辺', '二郎', addresses[0]!);
    await fill(2, '中村', '三子', addresses[1]!);
    await page.getByLabel('2行目 区分', { exact: true }).selectOption('part_time');
    await fill(4, '山本', '四郎', 'yamamoto-at-example');
    await page.getByLabel('ご担当者からのメッセージ').fill('年末調整のため、今月中にご登録をお願いします。');
    await page.getByLabel('返信先メールアドレス（Reply-To）').fill('jinji@example.co.jp');
    await page.getByLabel('自分にもコピーを送る', { exact: false }).check();
    const due = new Date(Date.now() + 9 * 3_600_000 + 30 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('提出期限（任意）').fill(due);
    await button(page, '保存して送信リストを確認').click();
    await page.locator('#q3-message.error').waitFor();
    expect(await textOf(page.locator('#q3-message'))).toBe('メールアドレスの形式が正しくありません');
    expect(await page.getAttribute('#f-q3-email', 'aria-invalid')).toBe('true');
    expect(await textOf(page.locator('#q0-message'))).toBe('');
    expect(await prisma.registrant.count({ where: { tenantId, email: { in: addresses } } })).toBe(0);
    await snap(page, SUITE, 'quick-add-error');

    await page.getByLabel('4行目 メールアドレス', { exact: true }).fill(addresses[2]!);
    await button(page, '保存して送信リストを確認').click();
    // 送信リスト確認: saved, nobody mailed yet; the three ticked, then 送信.
    await page.locator('dialog #review-count').waitFor();
    expect(await textOf(page.locator('#review-count'))).toBe('対象者：3名（全3名中）');
    expect(outbox.mails.some((m) => addresses.some((a) => m.to.includes(a)))).toBe(false);
    expect(await page.locator('#review-options textarea').count()).toBe(0); // the message was given on the screen before
    await snap(page, SUITE, 'quick-add-review');
    // Who was added shows at once, before the review (they are stored whatever happens to the mail).
    expect(await textOf(page.locator('#quick-summary'))).toBe('3人を登録しました。収集メールはまだ送っていません');
    await page.click('#review-send');
    await page.locator('#quick-summary', { hasText: '収集メールを送信しました' }).waitFor();
    expect(await textOf(page.locator('#quick-summary'))).toBe('3人を登録し、3人に収集メールを送信しました');
    const invited = await page.locator('#quick-result tbody tr').allTextContents();
    expect(invited).toHaveLength(3);
    expect(invited[0]).toContain('渡辺 二郎');
    expect(await page.inputValue('#f-q0-familyName')).toBe('');
    await snap(page, SUITE, 'quick-add-done');

    for (const address of addresses) {
      const mail = await outbox.waitFor((m) => m.to.includes(address), 15_000);
      expect(mail.text).toContain('年末調整のため、今月中にご登録をお願いします。');
      expect(mail.text).toContain(`【提出期限】${Number(due.slice(0, 4))}年${Number(due.slice(5, 7))}月${Number(due.slice(8, 10))}日`);
      expect(mail.replyTo).toContain('jinji@example.co.jp');
      expect(mail.cc).toContain(owner.email);
    }
    const stored = await prisma.registrant.findFirstOrThrow({ where: { tenantId, email: addresses[1] } });
    expect(stored).toMatchObject({ familyName: '中村', givenName: '三子', category: 'part_time' });
    expect(errors).toEqual([]);
  });
});
