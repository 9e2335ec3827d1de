/**
 * The HR console (issue 6) in a real Chromium, on a real Temporal dev server, worker, PostgreSQL and
 * the SMTP capture: login with the mailed code and with an authenticator app enrolled from the QR
 * screen, password reset, HOME counts, the list's filters, colours and pages, the approval screen
 * (document images zoomed and turned, per-dependent decisions, remand → the person sends again →
 * approval), the number shown behind password and purpose, QR printing, and a viewer who sees no
 * control that changes anything and is refused by the server when they try anyway.
 *
 * The employee's side here goes through the registration API (its pages have their own browser test,
 * test/registration-pages.browser.test.ts). No My Number is ever printed; findings are masked.
 */
import { TOTP_ENROLLED_SUBJECT } from '../services/auth/auth-mail';
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import type { Browser, Locator, Page } from 'playwright-core';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { hashPassword } from '../services/auth/passwords';
import { totpCode } from '../services/auth/totp';
import type { PrismaClient } from '../services/db/client';
import type { Outbox } from '../services/outbox/outbox';
import { japanDate, lifecycleQuery, setRetirementUpdate } from '../shared';
import { axeViolations, consoleLogin, drawCardImages, launchChromium, listen, numbersSeen, onScreen, openTab, redrawn, snap, type Tab } from './support/browser';
import { createLoginUser, createTenant, loginAs, memoryLogger, PUBLIC_URL, startOutbox, startWorker, testApp, testPrisma, type TestUser, type WorkerHandle } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';
import { createLocalEnv } from './support/temporal';
import { until } from './support/until';
import { tokenOf } from './support/mail-gate';

/** The little of the DOM used inside page callbacks (this file is compiled without the DOM library). */
interface Styled {
  getComputedStyle(el: unknown): { backgroundColor: string };
}

const TASK_QUEUE = 'console-pages';
const SUITE = 'console';
const PASSCODE = 'Kaisha-2026';
const PURPOSES = ['withholding_slip', 'employment_insurance', 'health_insurance_pension', 'category3_pension'];

let env: TestWorkflowEnvironment;
let prisma: PrismaClient;
let outbox: Outbox;
let worker: WorkerHandle;
let app: Express;
let base: string;
let closeServer: () => Promise<void>;
let browser: Browser;
let tenantId: string;
let manager: TestUser;
let viewer: TestUser;
let hr: ReturnType<typeof request.agent>;
let PNG: Buffer;
let JPEG: Buffer;
const { logger, lines } = memoryLogger();
const typed: string[] = [];
const seen: string[] = [];
const tabs: Tab[] = [];

beforeAll(async () => {
  [env, outbox] = await Promise.all([createLocalEnv(), startOutbox()]);
  prisma = testPrisma();
  tenantId = await createTenant(prisma, '株式会社コンソール');
  await prisma.tenant.update({ where: { id: tenantId }, data: { passcodeHash: await hashPassword(PASSCODE), purposes: PURPOSES as never } });
  worker = await startWorker(env, { prisma, outbox, logger, taskQueue: TASK_QUEUE });
  app = testApp({ prisma, logger, outbox, temporalClient: env.client, taskQueue: TASK_QUEUE }).app;
  manager = await createLoginUser(prisma, tenantId, 'manager', '人事 花子');
  viewer = await createLoginUser(prisma, tenantId, 'viewer', '監査 太郎');
  hr = await loginAs(app, outbox, manager);
  ({ base, close: closeServer } = await listen(app));
  browser = await launchChromium();
  // Real images drawn by the browser (a card-like picture, wider than tall, so turning it shows).
  ({ png: PNG, jpeg: JPEG } = await drawCardImages(browser));
});

afterAll(async () => {
  for (const t of tabs) await t.context.close().catch(() => undefined);
  await browser?.close();
  await closeServer?.();
  await worker?.stop();
  await env?.teardown();
  await outbox?.close();
  await prisma?.$disconnect();
});

afterAll(() => {
  // The reveal's own answer is the one place a number may travel; everything else must be clean.
  expect(numbersSeen(typed, [...seen.filter((s) => !s.startsWith('{"myNumber"')), ...outbox.mails.map((m) => `${m.subject}\n${m.text}`), ...lines])).toEqual([]);
});

afterEach(() => {
  // No page may throw: every uncaught script error of every tab fails the test that caused it.
  const errors = tabs.flatMap((t) => t.errors.splice(0));
  expect(errors).toEqual([]);
});

const number = () => {
  const n = randomMyNumber();
  typed.push(n);
  return n;
};

async function tab(): Promise<Tab> {
  const t = await openTab(browser, seen);
  tabs.push(t);
  return t;
}

async function loggedIn(user: TestUser): Promise<Page> {
  const t = await tab();
  await consoleLogin(t.page, base, outbox, user);
  return t.page;
}

const button = (page: Page, name: string) => page.getByRole('button', { name, exact: true });
const textOf = async (l: Locator) => ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();

/** Someone HR added over the API, invited; resolves when the link is open. */
async function invited(familyName: string, givenName: string) {
  const email = `c-${randomUUID().slice(0, 8)}@example.co.jp`;
  const res = await hr.post('/v1/registrants').send({ familyName, givenName, email }).expect(201);
  const mail = await outbox.waitFor((m) => m.to.includes(email), 15_000);
  const handle = env.client.workflow.getHandle(res.body.workflowId);
  await until(async () => (await handle.query(lifecycleQuery)).invitation?.state === 'open', 'the invitation to open');
  return { id: res.body.id as string, email, token: tokenOf(mail), handle };
}

/** The employee's side through the registration API: number, documents, one category-3 spouse, "finish". */
class Employee {
  agent = request.agent(app);
  csrf = '';
  numbers = { own: number(), spouse: number() };
  async setUp(token: string) {
    const res = await this.agent.post('/v1/registration/setup').send({ token, password: 'employee-pass-1', passcode: PASSCODE, consentedPurposes: PURPOSES }).expect(200);
    this.csrf = res.body.csrfToken;
  }
  async logIn(token: string) {
    const res = await this.agent.post('/v1/registration/login').send({ token, password: 'employee-pass-1' }).expect(200);
    this.csrf = res.body.csrfToken;
  }
  send(method: 'post' | 'put' | 'patch', path: string, body?: object) {
    const req = this.agent[method](`/v1/registration${path}`).set('X-CSRF-Token', this.csrf);
    return body ? req.send(body) : req;
  }
  upload(q: string, image: Buffer, type: string) {
    return this.agent.post(`/v1/registration/documents?${q}`).set('X-CSRF-Token', this.csrf).set('Content-Type', type).send(image).expect(201);
  }
  async registerWithSpouse() {
    const { own, spouse } = this.numbers;
    await this.send('put', '/profile', { myNumber: own, myNumberConfirmation: own, gender: 'female', birthDate: '1990-04-01' }).expect(200);
    await this.upload('purpose=number_confirmation&type=my_number_card&side=back', PNG, 'image/png');
    await this.upload('purpose=identity&type=my_number_card&side=front', JPEG, 'image/jpeg');
    const dep = await this.send('post', '/dependents', { familyName: '山本', givenName: '健', relationship: '配偶者', kind: 'category3', birthDate: '1989-02-03', gender: 'male', myNumber: spouse, myNumberConfirmation: spouse }).expect(201);
    await this.upload(`purpose=number_confirmation&type=notification_card&dependentId=${dep.body.id}`, PNG, 'image/png');
    await this.upload(`purpose=identity&type=passport&dependentId=${dep.body.id}`, JPEG, 'image/jpeg');
    await this.send('post', '/submission').expect(200);
  }
}

/** The person sends their number, documents and a category-3 spouse; resolves once HR sees them pending. */
async function submittedWithSpouse(person: { id: string; token: string }): Promise<Employee> {
  const employee = new Employee();
  await employee.setUp(person.token);
  await employee.registerWithSpouse();
  await until(async () => (await prisma.registrant.findUniqueOrThrow({ where: { id: person.id } })).status === 'pending', 'the submission');
  return employee;
}

describe('logging in', () => {
  test('password, then the mailed code; a wrong code says so in Japanese; logout brings the login back', async () => {
    const t = await tab();
    const { page } = t;
    await page.goto(`${base}/console`);
    await onScreen(page, 'login');
    await snap(page, SUITE, 'login');
    await page.getByLabel('メールアドレス').fill(manager.email);
    await page.getByLabel('パスワード', { exact: true }).fill('wrong-password');
    await button(page, 'ログイン').click();
    await page.waitForSelector('#login-message.error');
    expect(await page.textContent('#login-message')).toMatch(/[ぁ-んァ-ヶ一-龠]/);

    await page.getByLabel('パスワード', { exact: true }).fill(manager.password);
    const before = outbox.mails.length;
    await button(page, 'ログイン').click();
    await page.waitForSelector('#second-factor');
    await snap(page, SUITE, 'second-factor');
    await page.locator('#second-factor input[name=code]').fill('000000');
    await button(page, '認証する').click();
    await page.waitForSelector('#second-factor-message.error');
    const mail = await outbox.waitFor((m) => m.to.includes(manager.email) && outbox.mails.indexOf(m) >= before);
    await page.locator('#second-factor input[name=code]').fill(/第二認証コード: (\d{6})/.exec(mail.text)![1]!);
    await button(page, '認証する').click();
    await onScreen(page, 'home');
    expect(await page.textContent('.top .user')).toContain('人事 花子');

    await page.click('#logout');
    await onScreen(page, 'login');
    expect(t.errors).toEqual([]);
  });

  test('TOTP: enrolment from the QR screen, then the next login asks for the authenticator code and mails nothing', async () => {
    const user = await createLoginUser(prisma, tenantId, 'manager', 'トークン 利用者');
    const page = await loggedIn(user);
    await page.click('nav.menu >> text=セキュリティ');
    await onScreen(page, 'security');
    await button(page, '認証アプリ（トークン方式）に切り替える').click();
    // The password again first; a wrong one is said and shows no QR code.
    await page.locator('#totp-password input[name=password]').fill('not-my-password');
    await button(page, '次へ').click();
    await page.waitForSelector('#totp-password-message.error');
    expect(await page.locator('img.qr').count()).toBe(0);
    await page.locator('#totp-password input[name=password]').fill(user.password);
    await button(page, '次へ').click();
    const qr = page.locator('img.qr');
    await qr.waitFor();
    expect(await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(100);
    await snap(page, SUITE, 'totp-enrolment');
    const secret = ((await page.textContent('code.secret')) ?? '').trim();
    expect(secret).toMatch(/^[A-Z2-7]{16,}$/);
    await page.locator('#two-factor-confirm input[name=code]').fill('123456' === (await totpCode(secret, new Date())) ? '654321' : '123456');
    await button(page, '確定する').click();
    await page.waitForSelector('#two-factor-confirm-message.error');
    await page.locator('#two-factor-confirm input[name=code]').fill(await totpCode(secret, new Date()));
    await button(page, '確定する').click();
    await page.waitForSelector('text=認証アプリ（トークン方式）');
    expect(await page.textContent('.facts')).toContain('認証アプリ');

    // The notice of the change goes out after the answer: counted before the next login is.
    await outbox.waitFor((m) => m.to.includes(user.email) && m.subject === TOTP_ENROLLED_SUBJECT, 15_000);
    await page.click('#logout');
    await onScreen(page, 'login');
    const mailsBefore = outbox.mails.length;
    // The enrolment used this 30-second step's code; the next step's is accepted (clock drift) and new.
    await consoleLogin(page, base, outbox, user, { totp: () => '' }).catch(() => undefined);
    expect(await page.textContent('#second-factor')).toContain('認証アプリ');
    await page.locator('#second-factor input[name=code]').fill(await totpCode(secret, new Date(Date.now() + 30_000)));
    await button(page, '認証する').click();
    await onScreen(page, 'home');
    expect(outbox.mails.slice(mailsBefore).filter((m) => m.to.includes(user.email))).toEqual([]);
  });

  test('a session that ends mid-work brings the login back with a reason, and the same screen after logging in again', async () => {
    const user = await createLoginUser(prisma, tenantId, 'manager', '期限 確認');
    const person = await invited('期限', '対象');
    const page = await loggedIn(user);
    await page.goto(`${base}/console#/registrants`);
    await onScreen(page, 'registrants');
    // The session ends elsewhere (idle timeout, logout on another device, password changed).
    await prisma.session.deleteMany({ where: { loginUserId: user.id } });
    await page.evaluate((id) => ((globalThis as unknown as { location: { hash: string } }).location.hash = `#/registrants/${id}`), person.id);
    await onScreen(page, 'login');
    expect(await page.textContent('#login')).toContain('ログインの有効期限が切れました');
    const before = outbox.mails.length;
    await page.getByLabel('メールアドレス').fill(user.email);
    await page.getByLabel('パスワード', { exact: true }).fill(user.password);
    await button(page, 'ログイン').click();
    const mail = await outbox.waitFor((m) => m.to.includes(user.email) && outbox.mails.indexOf(m) >= before);
    await page.locator('#second-factor input[name=code]').fill(/第二認証コード: (\d{6})/.exec(mail.text)![1]!);
    await button(page, '認証する').click();
    await onScreen(page, 'registrant');
    expect(await page.textContent('h1')).toBe('期限 対象 さん');
  });

  test('password reset with the mailed code, without a session', async () => {
    const user = await createLoginUser(prisma, tenantId, 'viewer', '再設定 利用者');
    const t = await tab();
    const { page } = t;
    await page.goto(`${base}/console`);
    await onScreen(page, 'login');
    await page.click('text=パスワードを忘れた方');
    await onScreen(page, 'password-reset');
    const before = outbox.mails.length;
    await page.getByLabel('メールアドレス').fill(user.email);
    await button(page, 'セキュリティコードを送る').click();
    const mail = await outbox.waitFor((m) => m.to.includes(user.email) && outbox.mails.indexOf(m) >= before);
    await page.getByLabel('セキュリティコード').fill(/セキュリティコード: (\d{6})/.exec(mail.text)![1]!);
    await page.getByLabel('新しいパスワード').fill('brand-new-pass-1');
    await button(page, 'パスワードを再設定する').click();
    await page.waitForSelector('text=パスワードを再設定しました');
    await consoleLogin(page, base, outbox, { ...user, password: 'brand-new-pass-1' });
    await onScreen(page, 'home');
  });
});

describe('the collection', () => {
  test('HOME counts, the list in seed colours, filters and pages of 50', async () => {
    // A tenant of its own so the counts are exact.
    const own = await createTenant(prisma, '株式会社一覧');
    const user = await createLoginUser(prisma, own, 'manager', '一覧 担当');
    const base0 = { tenantId: own, familyName: '一覧', category: 'employee' as const };
    await prisma.registrant.createMany({
      data: [
        ...Array.from({ length: 52 }, (_, i) => ({ ...base0, givenName: `未登録${i}`, employeeCode: `U${String(i).padStart(3, '0')}`, workflowId: `wf-${randomUUID()}` })),
        { ...base0, familyName: '承認', givenName: '待子', status: 'pending' as const, employeeCode: 'P001', workflowId: `wf-${randomUUID()}` },
        { ...base0, familyName: '完了', givenName: '済男', status: 'completed' as const, employeeCode: 'C001', workflowId: `wf-${randomUUID()}` },
        { ...base0, familyName: '退職', givenName: '済子', status: 'completed' as const, retired: true, retirementDate: new Date('2026-03-31'), employeeCode: 'R001', workflowId: `wf-${randomUUID()}` },
      ],
    });
    const page = await loggedIn(user);
    await onScreen(page, 'home');
    const count = async (list: string, label: string) => (await page.locator(`#${list} .tile:has(.label:text-is("${label}")) .count`).textContent())?.trim();
    expect(await count('registrant-counts', '登録者数')).toBe('55');
    expect(await count('registrant-counts', '未登録')).toBe('52');
    expect(await count('registrant-counts', '承認待ち')).toBe('1');
    expect(await count('registrant-counts', '退職者')).toBe('1');
    // A zero is not an alarm: 差戻し (none here) has no warning colour; 承認待ち (one) keeps it.
    const tileBackground = (label: string) => page.locator(`#registrant-counts .tile:has(.label:text-is("${label}")) a`).evaluate((a) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(a).backgroundColor);
    expect(await count('registrant-counts', '差戻し')).toBe('0');
    expect(await tileBackground('差戻し')).toBe('rgb(255, 255, 255)');
    expect(await tileBackground('承認待ち')).not.toBe('rgb(255, 255, 255)');
    // 収集の状況: the funnel (retirees left out) and who needs attention, each name a link to the person.
    expect(await page.locator('#home-collection + * tbody tr').first().locator('td').allTextContents()).toEqual(['全体', '52', '0', '0', '0', '1', '1']);
    await page.locator('#attention-waitingApproval summary', { hasText: '承認待ち（古い順）：1人' }).click();
    await page.locator('#attention-waitingApproval a', { hasText: '承認 待子' }).click();
    await onScreen(page, 'registrant');
    await page.goBack();
    await onScreen(page, 'home');
    await snap(page, SUITE, 'home');

    await page.click('#registrant-counts .tile:has(.label:text-is("承認待ち")) a');
    await onScreen(page, 'registrants');
    expect(await page.locator('tbody tr').count()).toBe(1);
    const pendingRow = page.locator('tbody tr').first();
    expect(await pendingRow.getAttribute('class')).toBe('row-pending');
    expect(await pendingRow.evaluate((el) => (globalThis as unknown as Styled).getComputedStyle(el).backgroundColor)).toBe('rgb(255, 244, 194)');

    // The filter in use as a chip, the total, and the chip's × back to everyone.
    expect(await page.locator('.chips li').allTextContents()).toEqual(['ステータス（本人）：承認待ち×']);
    expect(await page.textContent('#list-total')).toBe('条件に合う登録者 1人');
    expect(await page.getAttribute('#more-filters', 'open')).not.toBeNull(); // a folded filter in use: open
    await redrawn(page, () => page.getByRole('link', { name: 'ステータス（本人）の条件を外す' }).click());
    expect(await page.locator('.chips').count()).toBe(0);
    expect(await page.evaluate('location.hash')).toBe('#/registrants'); // everyone, as the menu's マイナンバー管理 shows
    expect(await page.locator('tbody tr').count()).toBe(50);
    expect(await page.textContent('#list-total')).toBe('登録者 55人');
    expect(await page.getAttribute('#more-filters', 'open')).toBeNull(); // folded behind 「絞り込み」
    // Select-all takes this page's rows; one unticked leaves it mixed.
    await page.check('#select-all');
    expect(await page.locator('tbody input[type=checkbox]:checked').count()).toBe(50);
    await page.locator('tbody input[type=checkbox]').first().uncheck();
    expect(await page.locator('#select-all').evaluate((b) => (b as unknown as { indeterminate: boolean }).indeterminate)).toBe(true);
    await page.uncheck('#select-all');
    // All of this page ticked, then everyone across pages: the review for paper sheets lists all 55,
    // the 52 not registered ticked, the retiree and the one waiting for HR left out with the reason.
    await page.check('#select-all');
    expect(await textOf(page.locator('#select-wider'))).toContain('このページの50人を選択しています。');
    await page.click('#select-all-matching');
    expect(await textOf(page.locator('#select-wider'))).toContain('全員（55人）を選択しています。');
    await button(page, '選択した人の登録依頼書（紙）を印刷').click();
    await page.locator('dialog #review-count').waitFor();
    expect(await textOf(page.locator('#review-count'))).toBe('対象者：52名（全55名中）');
    expect(await page.locator('#review-left tbody tr').allTextContents()).toEqual([
      expect.stringContaining('承認待ちの登録者には登録依頼を送信できません'),
      expect.stringContaining('退職者には登録依頼を送信できません'),
    ]);
    await snap(page, SUITE, 'invitation-review');
    await button(page, 'キャンセル').click();
    // The same people for the collection mail: none has an address, so nobody can be mailed and each says why.
    await button(page, '選択した人に収集メールを送信').click();
    await page.locator('dialog #review-count').waitFor();
    const left = await page.locator('#review-left tbody tr').allTextContents();
    expect(left.filter((t) => t.includes('メールアドレスが登録されていないため、登録依頼を送信できません'))).toHaveLength(53);
    expect(left).toHaveLength(55);
    expect(await page.locator('dialog #review-send').isDisabled()).toBe(true);
    await button(page, 'キャンセル').click();
    await page.uncheck('#select-all');
    expect(await page.isHidden('#select-wider')).toBe(true);
    // 操作 is in view at 1366 px on every row, however wide the table is.
    const ops = (await page.locator('tbody tr td:last-child a', { hasText: '詳細' }).first().boundingBox())!;
    expect(ops.x + ops.width).toBeLessThanOrEqual(page.viewportSize()!.width);
    // By employee code unless HR picks another order.
    const codes = () => page.locator('tbody tr td:nth-child(5)').allTextContents();
    expect((await codes()).slice(0, 5)).toEqual(['C001', 'P001', 'R001', 'U000', 'U001']);
    await snap(page, SUITE, 'registrant-list');
    const colours = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [(r as unknown as { className: string }).className, (globalThis as unknown as Styled).getComputedStyle(r).backgroundColor]));
    expect(new Set(colours.map((c) => c.join(' ')))).toEqual(new Set(colours.map(([cls]) => `${cls} ${({ 'row-unregistered': 'rgb(253, 228, 236)', 'row-pending': 'rgb(255, 244, 194)', 'row-completed': 'rgb(255, 255, 255)', 'row-retired': 'rgb(230, 232, 235)' } as Record<string, string>)[cls!]}`)));
    await redrawn(page, () => page.click('text=次のページ'));
    await page.waitForSelector('text=5件を表示');
    expect(await codes()).toEqual(['U047', 'U048', 'U049', 'U050', 'U051']);
    // The newest change first: the person just edited heads the list, and the order stays in the address.
    await prisma.registrant.updateMany({ where: { tenantId: own, employeeCode: 'U010' }, data: { note: '住所変更' } });
    await page.getByLabel('並び順').selectOption({ label: '更新日時の新しい順' });
    await redrawn(page, () => button(page, '検索').click());
    expect(await page.evaluate('location.hash')).toBe('#/registrants?sort=-updated');
    expect((await codes())[0]).toBe('U010');
    await page.reload();
    await onScreen(page, 'registrants');
    expect(await page.getByLabel('並び順').inputValue()).toBe('-updated');
    expect((await codes())[0]).toBe('U010');
    await redrawn(page, () => page.click('text=次のページ'));
    await page.waitForSelector('text=5件を表示');
    expect(await codes()).not.toContain('U010');
    await redrawn(page, () => page.click('text=条件をクリア'));
    await page.click('#more-filters > summary');
    await page.getByLabel('退職者', { exact: true }).selectOption('true');
    await redrawn(page, () => button(page, '検索').click());
    await page.waitForSelector('text=1件を表示');
    expect(await page.locator('tbody tr', { hasText: '退職 済子' }).getAttribute('class')).toBe('row-retired');

    await redrawn(page, () => page.click('text=条件をクリア'));
    await page.getByLabel('登録者名', { exact: true }).fill('退職');
    await redrawn(page, () => button(page, '検索').click());
    await page.waitForSelector('text=1件を表示');
    expect(await page.textContent('tbody')).toContain('退職 済子');
    await page.getByLabel('登録者名', { exact: true }).fill('');
    await page.click('#more-filters > summary');
    await page.getByLabel('退職日（年月）', { exact: true }).fill('2026-03');
    await redrawn(page, () => button(page, '検索').click());
    await page.waitForFunction(() => (globalThis as unknown as { location: { hash: string } }).location.hash.includes('retirementMonth=2026-03'));
    await page.waitForSelector('text=1件を表示');
    await page.getByLabel('退職日（年月）', { exact: true }).fill('2026-04');
    await redrawn(page, () => button(page, '検索').click());
    await page.waitForSelector('text=条件に合う登録者はいません');
  });

  test('approval screen: images zoomed and turned, the spouse approved on their own, a remand, the person sends again, approval', async () => {
    const person = await invited('山本', '花子');
    const submitted = await submittedWithSpouse(person);

    const page = await loggedIn(manager);
    await page.click('nav.menu >> text=マイナンバー管理');
    await onScreen(page, 'registrants');
    await page.getByLabel('登録者名', { exact: true }).fill('山本 花子');
    await redrawn(page, () => button(page, '検索').click());
    await page.waitForSelector('text=1件を表示');
    await page.locator(`tr[data-registrant-id="${person.id}"]`).getByRole('link', { name: '承認', exact: true }).click();
    await onScreen(page, 'approval');
    const ownViewer = page.locator('.viewer').first();
    const image = ownViewer.locator('img.document-image');
    // The card's back shows the number: nothing is loaded until the password and the reason.
    expect(await ownViewer.locator('.caption').textContent()).toContain('番号確認書類');
    expect(await image.getAttribute('src')).toBeNull();
    await ownViewer.getByRole('button', { name: '確認して表示する' }).click();
    await page.getByLabel('表示する理由').selectOption('collection_check');
    await page.getByLabel('パスワード', { exact: true }).fill(manager.password);
    await button(page, '表示する').click();
    await page.waitForFunction(() => ((globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } }).document.querySelector('.viewer img.document-image')?.naturalWidth ?? 0) > 0);
    expect(await page.locator('.viewer').count()).toBe(2); // the person's and the spouse's documents
    const viewed = await prisma.operationEvent.findMany({ where: { tenantId, registrantId: person.id, operation: 'document_viewed' } });
    expect(viewed.map((e) => (e.detail as { reason?: string }).reason).filter(Boolean)).toEqual(['collection_check']);
    await ownViewer.getByRole('button', { name: '拡大' }).click();
    await ownViewer.getByRole('button', { name: '右に回転' }).click();
    expect(await image.getAttribute('data-zoom')).toBe('1.25');
    expect(await image.getAttribute('data-rotation')).toBe('90');
    const box = await page.locator('.viewer .frame').first().boundingBox();
    expect(box!.height).toBeGreaterThan(box!.width); // turned sideways: the frame follows
    await ownViewer.locator('.thumbs button').nth(1).click();
    expect(await image.getAttribute('data-rotation')).toBe('0');
    expect(await ownViewer.locator('.caption').textContent()).toContain('本人確認書類');
    // At 100 % the whole image is in the stage: nothing of the card is cut off.
    await page.waitForFunction(() => ((globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null } }).document.querySelector('.viewer img.document-image')?.naturalWidth ?? 0) > 0);
    const [frameBox, stageBox] = [(await ownViewer.locator('.frame').boundingBox())!, (await ownViewer.locator('.stage').boundingBox())!];
    expect(frameBox.width).toBeLessThanOrEqual(stageBox.width);
    expect(frameBox.height).toBeLessThanOrEqual(stageBox.height);

    // The number is checked beside the image, not in a dialog over it, as the collection check.
    const ownCheck = page.locator('.number-check[data-check=self]');
    await ownCheck.getByLabel('ご自身のパスワード').fill(manager.password);
    await ownCheck.getByRole('button', { name: '番号を表示して照合' }).click();
    const checked = ownCheck.locator('.revealed');
    await checked.waitFor();
    expect(((await checked.textContent()) ?? '').replace(/\s/g, '') === submitted.numbers.own).toBe(true); // compared, never printed
    expect(await page.locator('dialog[open]').count()).toBe(0);
    expect(await ownCheck.locator('.countdown').textContent()).toMatch(/あと(60|59|58)秒で隠します/);
    const [checkBox, viewerBox] = [(await ownCheck.boundingBox())!, (await ownViewer.boundingBox())!];
    expect(checkBox.x).toBeGreaterThanOrEqual(viewerBox.x + viewerBox.width); // to the right of the image
    expect(checkBox.y).toBeLessThan(viewerBox.y + viewerBox.height); // and level with it
    // The spouse, awaiting approval too, has a panel with what they typed.
    expect(await page.locator('.number-check[data-check^=dependent-]').textContent()).toContain('山本 健');
    await ownCheck.getByRole('button', { name: '隠す' }).click();
    await checked.waitFor({ state: 'detached' });
    await snap(page, SUITE, 'approval'); // after hiding: no number in a screenshot
    const revealed = await prisma.operationEvent.findMany({ where: { tenantId, registrantId: person.id, operation: 'number_revealed' } });
    expect(revealed.map((e) => [e.purpose, e.detail])).toEqual([[null, { reason: 'collection_check' }]]);
    // Every action of every dependent's row is in view at this width: no sideways scroll hides them.
    const dependentsWrap = page.locator('section[aria-labelledby=approval-dependents] .table-wrap');
    expect(await dependentsWrap.evaluate((el) => (el as unknown as { scrollWidth: number; clientWidth: number }).scrollWidth <= (el as unknown as { clientWidth: number }).clientWidth)).toBe(true);
    const rowButtons = await page.locator('section[aria-labelledby=approval-dependents] tr[data-dependent-id] button').all();
    expect(rowButtons.length).toBeGreaterThanOrEqual(3); // 承認, 差戻し, 番号を表示
    for (const b of rowButtons) {
      const box = (await b.boundingBox())!;
      expect(box.x + box.width).toBeLessThanOrEqual(page.viewportSize()!.width);
    }

    // The spouse first, on their own row (each row's buttons are described by the row's person).
    const spouseRow = page.locator('tr[data-dependent-id]', { hasText: '山本 健' });
    const describedBy = await spouseRow.getByRole('button', { name: '承認' }).getAttribute('aria-describedby');
    expect(await page.locator(`#${describedBy}`).textContent()).toBe('山本 健');
    await spouseRow.getByRole('button', { name: '承認' }).click();
    await page.waitForSelector('tr[data-dependent-id].row-completed');
    // Every decision says what it did.
    expect(await page.locator('.box.ok[role=status]').textContent()).toBe('扶養家族 山本 健 さんを承認しました。');

    // The person: remanded with a reason.
    await button(page, '差戻し').click();
    await page.getByLabel('理由').fill('番号確認書類の画像が不鮮明です。撮り直してください。');
    await button(page, '差し戻す').click();
    await onScreen(page, 'registrant');
    expect(await page.locator('.box.ok[role=status]').textContent()).toContain('さんの登録を差し戻しました。本人に理由を添えたメールと新しい登録用リンクを送ります。');
    expect(await page.textContent('.facts')).toContain('理由：番号確認書類の画像が不鮮明です');
    const remandMail = await outbox.waitFor((m) => m.to.includes(person.email) && m.text.includes('不鮮明'));
    expect(remandMail.text).toContain('撮り直してください');

    // The person sends again (their draft is what they sent), HR approves.
    const again = new Employee();
    await again.logIn(tokenOf(remandMail));
    await again.upload('purpose=number_confirmation&type=my_number_card&side=back', PNG, 'image/png');
    await again.send('post', '/submission').expect(200);
    await until(async () => (await prisma.registrant.findUniqueOrThrow({ where: { id: person.id } })).status === 'pending', 'the second submission');
    await page.goto(`${base}/console#/registrants/${person.id}/approval`);
    await onScreen(page, 'approval');
    await button(page, '承認する').click();
    // The dialog says what else approval does: the dependents still waiting are approved with the person.
    const waitingDependents = await prisma.dependent.findMany({ where: { registrantId: person.id, status: 'pending', draft: false, noLongerDependentAt: null } });
    const dialogText = (await page.locator('dialog').textContent()) ?? '';
    if (waitingDependents.length) expect(dialogText).toContain(`承認待ちの扶養家族 ${waitingDependents.length}人（`);
    else expect(dialogText).not.toContain('一緒に承認されます');
    await page.locator('dialog').getByRole('button', { name: '承認する' }).click();
    await onScreen(page, 'registrant');
    await page.waitForSelector('.badge.status-completed');
    expect(await page.locator('.box.ok[role=status]').textContent()).toContain('さんの登録を承認しました。');
    expect(await page.textContent('.facts')).toContain('ロック中（承認済み）');
    // 経過: what happened, newest first, with the mails the server took; nothing more is due.
    await page.locator('#timeline table').first().waitFor();
    const timeline = (await page.locator('#timeline').textContent()) ?? '';
    for (const line of ['今後の予定はありません', '承認', '差戻し', '登録内容の提出', '差戻しメール（2回目の依頼）をメールサーバーが受け付けました', '登録依頼メール（1回目の依頼）をメールサーバーが受け付けました']) expect(timeline).toContain(line);
    expect(timeline.indexOf('承認')).toBeLessThan(timeline.indexOf('差戻しメール'));
    await snap(page, SUITE, 'registrant-detail');
    await snap(page.locator('#timeline'), SUITE, 'timeline');
    const history = await prisma.operationEvent.findMany({ where: { tenantId, registrantId: person.id, operation: { in: ['approved', 'remanded'] } }, orderBy: { id: 'asc' } });
    expect(history.map((e) => e.operation)).toEqual(['approved', 'remanded', 'approved']);
  });

  test('the number is shown only behind the password and a purpose, and the showing is recorded', async () => {
    const person = await invited('表示', '確認');
    const employee = await submittedWithSpouse(person);
    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}`);
    await onScreen(page, 'registrant');
    expect(await page.textContent('main')).not.toContain(employee.numbers.own);
    await button(page, 'マイナンバーを表示').click();
    await page.getByLabel('利用目的', { exact: true }).selectOption('withholding_slip');
    await page.getByLabel('パスワード', { exact: true }).fill('not-my-password');
    await button(page, '表示する').click();
    await page.waitForSelector('#reveal-form-message.error');
    await page.getByLabel('パスワード', { exact: true }).fill(manager.password);
    await button(page, '表示する').click();
    const shown = ((await page.textContent('#revealed-number')) ?? '').replace(/\s/g, '');
    expect(shown === employee.numbers.own).toBe(true); // compared, never printed
    await button(page, '閉じる').click();
    await page.locator('#revealed-number').waitFor({ state: 'detached' });

    // The spouse's, from their row.
    await page.locator('tr[data-dependent-id]', { hasText: '山本 健' }).getByRole('button', { name: '番号を表示' }).click();
    expect(await page.textContent('dialog .facts')).toContain('山本 健（表示 確認 さんの扶養家族）');
    await page.getByLabel('利用目的', { exact: true }).selectOption('category3_pension');
    await page.getByLabel('パスワード', { exact: true }).fill(manager.password);
    await button(page, '表示する').click();
    const spouse = ((await page.textContent('#revealed-number')) ?? '').replace(/\s/g, '');
    expect(spouse === employee.numbers.spouse).toBe(true);
    await button(page, '閉じる').click();

    const events = await prisma.operationEvent.findMany({ where: { tenantId, registrantId: person.id, operation: 'number_revealed' }, orderBy: { id: 'asc' } });
    expect(events.map((e) => e.purpose)).toEqual(['withholding_slip', 'category3_pension']);
  });

  test('on a tablet (768 px) and a phone (375 px): the menu behind a button, lists and tables as cards, nothing wider than the screen', async () => {
    const person = await invited('携帯', '閲覧');
    await submittedWithSpouse(person);
    const page = await loggedIn(manager);
    type El = { tagName: string; id: string; className: string; getBoundingClientRect(): { right: number } };
    type Doc = { documentElement: { scrollWidth: number }; querySelectorAll(s: string): Iterable<El> };
    /** How far the page scrolls sideways, and what sticks out (named, so a failure says what). */
    const overflow = () =>
      page.evaluate(() => {
        const g = globalThis as unknown as { document: Doc; innerWidth: number };
        const over = g.document.documentElement.scrollWidth - g.innerWidth;
        if (over <= 0) return 'fits';
        const out = [...g.document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > g.innerWidth + 0.5);
        return `${over}px: ${out.slice(-5).map((e) => `${e.tagName.toLowerCase()}#${e.id}.${String(e.className).replace(/ /g, '.')}`).join(' ')}`;
      });
    for (const [width, height] of [[768, 1024], [375, 812]] as const) {
      await page.setViewportSize({ width, height });
      await page.goto(`${base}/console#/registrants?name=${encodeURIComponent('携帯')}`);
      await onScreen(page, 'registrants');
      // The menu folds behind 「メニュー」 and opens on a tap.
      const menuLink = page.locator('nav.menu a', { hasText: '操作履歴' });
      expect(await menuLink.isVisible()).toBe(false);
      await button(page, 'メニュー').click();
      expect(await menuLink.isVisible()).toBe(true);
      expect(await page.getAttribute('.menu-toggle', 'aria-expanded')).toBe('true');
      await button(page, 'メニュー').click();
      expect(await menuLink.isVisible()).toBe(false);
      // A row is a card: each value beside its column's name; the page never scrolls sideways.
      const card = page.locator('tbody tr').first();
      expect(await card.locator('td[data-label=登録者名]').textContent()).toBe('携帯 閲覧');
      expect([width, await overflow()]).toEqual([width, 'fits']);
      const detail = (await card.getByRole('link', { name: '詳細' }).boundingBox())!;
      expect(detail.x + detail.width).toBeLessThanOrEqual(width);
      await snap(page, SUITE, `list-${width}`);
      // The person's page and the approval screen, with their dependents table, fit too.
      for (const [hash, screen] of [[`#/registrants/${person.id}`, 'registrant'], [`#/registrants/${person.id}/approval`, 'approval']] as const) {
        await page.goto(`${base}/console${hash}`);
        await onScreen(page, screen);
        await page.locator('tr[data-dependent-id]').first().waitFor();
        expect([screen, width, await overflow()]).toEqual([screen, width, 'fits']);
        const approve = page.locator('tr[data-dependent-id] button').first();
        const box = (await approve.boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(width);
      }
      await snap(page, SUITE, `approval-${width}`);
    }
  });

  test('QR print page: the code of a fresh link for an invited person', async () => {
    const person = await invited('印刷', '太郎');
    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}`);
    await onScreen(page, 'registrant');
    await page.click('text=QRコードを印刷');
    await onScreen(page, 'qr');
    await button(page, 'QRコードを発行する').click();
    await page.waitForFunction(() => ((globalThis as unknown as { document: { querySelector(s: string): { naturalWidth: number } | null } }).document.querySelector('#qr-image')?.naturalWidth ?? 0) > 0);
    expect(await page.textContent('#qr-sheet')).toContain('印刷 太郎 様');
    await snap(page, SUITE, 'qr-print');
    expect(await prisma.operationEvent.count({ where: { tenantId, registrantId: person.id, operation: 'invitation_printed' } })).toBe(1);
  });
});

describe('登録依頼書（紙）', () => {
  test('HR prints sheets for people without an address from the list: one page each, a working QR code, nothing mailed', async () => {
    const tag = `紙面${randomUUID().slice(0, 4)}`;
    const ids: string[] = [];
    for (const given of ['一', '二']) {
      const res = await hr.post('/v1/registrants').send({ familyName: tag, givenName: given }).expect(201);
      ids.push(res.body.id);
    }
    await until(async () => (await prisma.registrant.count({ where: { id: { in: ids }, workflowPendingSince: null } })) === 2, 'the workflows to start');
    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants?name=${encodeURIComponent(tag)}`);
    await onScreen(page, 'registrants');
    await page.check('#select-all');
    await button(page, '選択した人の登録依頼書（紙）を印刷').click();
    await page.locator('dialog #review-count').waitFor();
    expect(await textOf(page.locator('#review-count'))).toBe('対象者：2名（全2名中）');
    await page.click('#review-send');
    await page.locator('#paper-sheets .paper-sheet').first().waitFor();
    expect(await page.locator('#paper-sheets .paper-sheet').count()).toBe(2);
    expect(await page.locator('#paper-sheets .paper-sheet .addressee').allTextContents()).toEqual([`${tag} 一 様`, `${tag} 二 様`]);
    await page.waitForFunction(() => Array.from((globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ naturalWidth: number }> } }).document.querySelectorAll('.sheet-qr')).every((i) => i.naturalWidth > 0));
    // Printed, each sheet is a page of its own and nothing of the console shows.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('.paper-sheet').first().evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { breakAfter: string } }).getComputedStyle(el).breakAfter)).toBe('page');
    expect(await page.isHidden('#app')).toBe(true);
    // Each has its own 登録コード (for a phone that cannot read the QR code) and where to type it,
    // and fits one A4 page inside the 15 mm margins (267 mm = 1,009 CSS px).
    const codes = await page.locator('.paper-sheet .registration-code').allTextContents();
    expect(codes).toHaveLength(2);
    for (const c of codes) expect(c).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(new Set(codes).size).toBe(2);
    expect(await page.locator('.paper-sheet .sheet-url').allTextContents()).toEqual([`${PUBLIC_URL}/i/`, `${PUBLIC_URL}/i/`]);
    for (const box of await Promise.all((await page.locator('.paper-sheet').all()).map((l) => l.boundingBox()))) expect(box!.height).toBeLessThanOrEqual(1009);
    await snap(page, SUITE, 'paper-sheets');
    await page.emulateMedia({ media: 'screen' });
    await button(page, '閉じる').click();
    expect(await page.locator('#paper-sheets').count()).toBe(0);
    for (const id of ids) expect((await prisma.registrant.findUniqueOrThrow({ where: { id } })).invitationState).toBe('open');
    expect(await prisma.operationEvent.count({ where: { registrantId: { in: ids }, operation: 'invitation_printed' } })).toBe(2);
    expect(outbox.mails.some((m) => m.text.includes(tag))).toBe(false);
  });
});

describe('registrant detail', () => {
  test('HR edits the person and a dependent, sets retirement and deletion dates, and uses the three deletions', async () => {
    const group = await hr.post('/v1/groups').send({ name: `経理部-${randomUUID().slice(0, 4)}` }).expect(201);
    const person = await invited('編集', '前子');
    await submittedWithSpouse(person);
    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}`);
    await onScreen(page, 'registrant');
    const fact = async (label: string) => (await page.locator(`.facts dt:text-is("${label}") + dd`).first().textContent())?.trim();

    // 登録者編集
    await page.click('#registrant-actions >> text=編集');
    await onScreen(page, 'registrant-edit');
    await page.getByLabel('フリガナ（姓）', { exact: true }).fill('ヘンシュウ');
    await page.getByLabel('社員コード').fill('E-900');
    await page.getByLabel('グループ').selectOption(group.body.id);
    await button(page, '保存する').click();
    await onScreen(page, 'registrant');
    expect(await fact('社員コード')).toBe('E-900');
    expect(await fact('フリガナ')).toBe('ヘンシュウ');
    expect(await fact('グループ')).toBe(group.body.name);

    // 扶養家族編集
    const spouseRow = () => page.locator('tr[data-dependent-id]', { hasText: '山本' });
    await spouseRow().getByRole('button', { name: '編集', exact: true }).click();
    await page.locator('dialog').getByLabel('生年月日').fill('1988-12-24');
    await redrawn(page, () => page.locator('dialog').getByRole('button', { name: '保存する' }).click());
    expect(await spouseRow().textContent()).toContain('1988/12/24');

    // 退職日 and 削除予定日
    await button(page, '退職日を設定').click();
    expect(await page.locator('#retirement-preview').textContent()).toBe('退職日を入れると、削除予定日がここに表示されます。');
    await page.locator('dialog').getByLabel('退職日').fill('2027-03-31');
    // The deletion due date is previewed as the date is typed (the tenant's rule: 7 years from 11 January after the retirement year).
    expect(await page.locator('#retirement-preview').textContent()).toBe('削除予定日：2035年1月11日（扶養控除等申告書の保存期間（退職年の翌年1月11日から7年））');
    await redrawn(page, () => page.locator('dialog').getByRole('button', { name: '設定する' }).click());
    expect(await fact('退職日')).toBe('2027/03/31（退職予定）');
    expect(await fact('削除予定日')).toMatch(/^2035\/01\/11（.+）$/);
    await button(page, '削除予定日を設定').click();
    await page.locator('dialog').getByLabel('削除予定日').fill('2034-01-11');
    await redrawn(page, () => page.locator('dialog').getByRole('button', { name: '設定する' }).click());
    expect(await fact('削除予定日')).toContain('2034/01/11');
    await snap(page, SUITE, 'registrant-edited');

    // One dependent: the surname must be typed, the box ticked and the password given again; a
    // wrong password is said in the dialog and deletes nothing.
    await spouseRow().getByRole('button', { name: '削除', exact: true }).click();
    await page.locator('dialog').getByLabel('確認のため、登録者の姓を入力してください').fill('違う');
    await page.locator('dialog').getByLabel('元に戻せないことを理解しました').check();
    await page.locator('dialog').getByLabel('ご自身のパスワード').fill('not-my-password');
    await page.locator('dialog').getByRole('button', { name: '削除する' }).click();
    await page.waitForSelector('#delete-form-message.error');
    await page.locator('dialog').getByLabel('確認のため、登録者の姓を入力してください').fill('編集');
    await page.locator('dialog').getByRole('button', { name: '削除する' }).click();
    await page.locator('#delete-form-message.error', { hasText: 'パスワードが正しくありません' }).waitFor();
    expect(await spouseRow().count()).toBe(1);
    await page.locator('dialog').getByLabel('ご自身のパスワード').fill(manager.password);
    await redrawn(page, () => page.locator('dialog').getByRole('button', { name: '削除する' }).click());
    expect(await spouseRow().count()).toBe(0);

    // The numbers and images only: the person stays.
    await button(page, 'マイナンバーと画像を削除').click();
    await page.locator('dialog').getByLabel('確認のため、登録者の姓を入力してください').fill('編集');
    await page.locator('dialog').getByLabel('元に戻せないことを理解しました').check();
    await page.locator('dialog').getByLabel('ご自身のパスワード').fill(manager.password);
    await redrawn(page, () => page.locator('dialog').getByRole('button', { name: '削除する' }).click());
    expect(await fact('マイナンバー')).toBe('未登録');
    expect(await page.textContent('#documents + *')).toContain('画像はありません');

    // HR registers the number from a paper document: the check digit is checked as it is typed.
    const paper = number();
    await button(page, 'マイナンバーを登録').click();
    const dialog = page.locator('dialog');
    await dialog.getByLabel('マイナンバー（12桁）').fill(`${paper.slice(0, 11)}${(Number(paper[11]) + 1) % 10}`);
    await page.waitForSelector('#number-check.error');
    await dialog.getByLabel('マイナンバー（12桁）').fill(paper);
    await page.waitForSelector('#number-check.ok');
    await dialog.getByLabel('マイナンバー（確認のためもう一度）').fill(paper);
    await redrawn(page, () => dialog.getByRole('button', { name: '登録する' }).click());
    expect(await fact('マイナンバー')).toBe('************');
    expect(await prisma.operationEvent.count({ where: { tenantId, registrantId: person.id, operation: 'number_registered', actorType: 'login_user' } })).toBe(1);

    // The registrant: gone from the list and the API.
    await button(page, '登録者を削除').click();
    await page.locator('dialog').getByLabel('確認のため、登録者の姓を入力してください').fill('編集');
    await page.locator('dialog').getByLabel('元に戻せないことを理解しました').check();
    await page.locator('dialog').getByLabel('ご自身のパスワード').fill(manager.password);
    await page.locator('dialog').getByRole('button', { name: '削除する' }).click();
    await onScreen(page, 'registrants');
    await hr.get(`/v1/registrants/${person.id}`).expect(404);
    const deletions = await prisma.deletionRecord.findMany({ where: { tenantId, registrantId: person.id }, orderBy: { executedAt: 'asc' } });
    expect(deletions.map((d) => d.kind)).toEqual(['dependent', 'numbers', 'registrant']);
  });

  test('HR adds a dependent with a number from paper, makes them 第3号被保険者, deletes only their number; corrects birth date and gender', async () => {
    const person = await invited('家族', '追加');
    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}`);
    await onScreen(page, 'registrant');
    const dialog = page.locator('dialog');
    const childRow = () => page.locator('tr[data-dependent-id]', { hasText: '追加子' });

    const paper = number();
    await button(page, '扶養家族を追加').click();
    await dialog.getByLabel('続柄').selectOption('配偶者');
    await dialog.getByLabel('名', { exact: true }).fill('追加子');
    await dialog.getByLabel('生年月日').fill('1990-02-03');
    await dialog.getByLabel('マイナンバー（任意・12桁）').fill(paper);
    await dialog.getByLabel('マイナンバー（確認のためもう一度）').fill(paper);
    await redrawn(page, () => dialog.getByRole('button', { name: '追加する' }).click());
    expect(await childRow().textContent()).toContain('扶養親族');
    expect(await childRow().textContent()).toContain('完了');

    await childRow().getByRole('button', { name: '編集', exact: true }).click();
    await dialog.getByLabel('区分').selectOption('category3');
    await redrawn(page, () => dialog.getByRole('button', { name: '保存する' }).click());
    expect(await childRow().textContent()).toContain('第3号被保険者');

    await childRow().getByRole('button', { name: '番号だけ削除' }).click();
    await dialog.getByLabel('ご自身のパスワード').fill(manager.password);
    await redrawn(page, () => dialog.getByRole('button', { name: '削除する' }).click());
    expect(await childRow().textContent()).toContain('未登録');
    expect(await childRow().getByRole('button', { name: '番号だけ削除' }).count()).toBe(0);
    const dep = await prisma.dependent.findFirstOrThrow({ where: { registrantId: person.id, givenName: '追加子' } });
    expect(dep).toMatchObject({ kind: 'category3', status: 'unregistered', myNumberSecretId: null });

    // 登録者編集: birth date and gender.
    await page.click('#registrant-actions >> text=編集');
    await onScreen(page, 'registrant-edit');
    await page.getByLabel('生年月日').fill('1970-07-07');
    await page.getByLabel('性別').selectOption('female');
    await button(page, '保存する').click();
    await onScreen(page, 'registrant');
    const fact = async (label: string) => (await page.locator(`.facts dt:text-is("${label}") + dd`).first().textContent())?.trim();
    expect(await fact('生年月日')).toBe('1970/07/07');
    expect(await fact('性別')).toBe('女性');
  });

  test('in the confirmed deletion mode a person past their deletion date waits on HOME; HR deletes them from their screen behind the password', async () => {
    await prisma.tenant.update({ where: { id: tenantId }, data: { deletionMode: 'confirmed' } });
    try {
      const paper = number();
      const person = (await hr.post('/v1/registrants').send({ familyName: '確認', givenName: '削除', myNumber: paper, myNumberConfirmation: paper, verificationMethod: 'my_number_card' }).expect(201)).body as { id: string; workflowId: string };
      const handle = env.client.workflow.getHandle(person.workflowId);
      await until(async () => (await prisma.registrant.findUniqueOrThrow({ where: { id: person.id } })).workflowPendingSince === null, 'the workflow to start');
      // Retired yesterday, due today: the day's step queues the deletion for HR.
      const today = japanDate(Date.now());
      await handle.executeUpdate(setRetirementUpdate, { args: [{ actor: { type: 'system', id: null }, retirementDate: japanDate(Date.now() - 86_400_000), deletion: { dueDate: today, rule: 'manual' } }] });
      await until(async () => Boolean((await handle.query(lifecycleQuery)).deletion?.awaiting), 'the deletion to wait for HR');

      const page = await loggedIn(manager);
      await page.goto(`${base}/console#/`);
      const waiting = page.locator('#attention-deletionsAwaiting');
      await waiting.waitFor();
      expect(await waiting.locator('summary').textContent()).toMatch(/^削除の確認待ち（削除予定日を過ぎています）：\d+人$/);
      // The list names them and links to them (the list is folded; the person's screen is opened by its address).
      expect(await waiting.locator('a', { hasText: '確認 削除' }).getAttribute('href')).toBe(`#/registrants/${person.id}`);
      await page.goto(`${base}/console#/registrants/${person.id}`);
      await onScreen(page, 'registrant');
      expect(await page.locator('main .box.warning', { hasText: '削除の確認を待っています' }).count()).toBe(1);
      await button(page, '削除を実行する').click();
      const dialog = page.locator('dialog');
      await dialog.getByLabel('ご自身のパスワード').fill(manager.password);
      await dialog.getByRole('button', { name: '削除を実行する' }).click();
      await onScreen(page, 'registrants');
      expect(await prisma.registrant.count({ where: { id: person.id } })).toBe(0);
      expect(await prisma.deletionRecord.findFirstOrThrow({ where: { registrantId: person.id } })).toMatchObject({ kind: 'registrant', actorType: 'login_user' });
    } finally {
      await prisma.tenant.update({ where: { id: tenantId }, data: { deletionMode: 'automatic' } });
    }
  });

  test('HR refuses a person who never submitted, takes it back, then completes them with a number checked on paper', async () => {
    const person = await invited('手動', '状態');
    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}`);
    await onScreen(page, 'registrant');
    const fact = async (label: string) => (await page.locator(`.facts dt:text-is("${label}") + dd`).first().textContent())?.trim();
    const dialog = page.locator('dialog');

    // 未登録 → 拒否: the reason is required, said in the dialog.
    await button(page, 'ステータスを変更').click();
    await dialog.getByLabel('変更後のステータス').selectOption('refused');
    expect(await page.locator('#status-move-hint').textContent()).toContain('提出前でも記録できます');
    await dialog.getByRole('button', { name: '変更する' }).click();
    await page.locator('#status-form-message', { hasText: '理由を入力してください' }).waitFor();
    await dialog.getByLabel('理由').fill('提供しない旨の申出書を受領');
    await redrawn(page, () => dialog.getByRole('button', { name: '変更する' }).click());
    expect(await fact('ステータス')).toBe('拒否 理由：提供しない旨の申出書を受領');
    expect(await fact('収集メール')).toBe('終了');

    // 拒否 → 未登録 (taken back), then the number from paper and 完了 with the method.
    await button(page, 'ステータスを変更').click();
    await dialog.getByLabel('変更後のステータス').selectOption('unregistered');
    await dialog.getByLabel('理由').fill('本人から提供の申出');
    await redrawn(page, () => dialog.getByRole('button', { name: '変更する' }).click());
    expect(await fact('ステータス')).toBe('未登録 理由：本人から提供の申出');

    // Without a number the server says what to do first, in the dialog.
    await button(page, 'ステータスを変更').click();
    await dialog.getByLabel('変更後のステータス').selectOption('completed');
    await dialog.getByLabel('本人確認の方法').selectOption('my_number_card');
    await dialog.getByRole('button', { name: '変更する' }).click();
    await page.locator('#status-form-message', { hasText: '先にマイナンバーを入力してください' }).waitFor();
    await dialog.getByRole('button', { name: 'キャンセル' }).click();

    const paper = number();
    await button(page, 'マイナンバーを登録').click();
    await dialog.getByLabel('マイナンバー（12桁）').fill(paper);
    await dialog.getByLabel('マイナンバー（確認のためもう一度）').fill(paper);
    await redrawn(page, () => dialog.getByRole('button', { name: '登録する' }).click());
    await button(page, 'ステータスを変更').click();
    await dialog.getByLabel('変更後のステータス').selectOption('completed');
    await dialog.getByLabel('本人確認の方法').selectOption('my_number_card');
    await redrawn(page, () => dialog.getByRole('button', { name: '変更する' }).click());
    expect(await fact('ステータス')).toBe('完了');
    expect(await fact('ログインロック')).toBe('ロック中（承認済み）');
    await snap(page, SUITE, 'status-completed-by-hand');
    // Nothing more to change by hand from 完了.
    expect(await button(page, 'ステータスを変更').count()).toBe(0);
    const changes = await prisma.operationEvent.findMany({ where: { tenantId, registrantId: person.id, operation: 'status_changed' }, orderBy: { id: 'asc' } });
    expect(changes.map((e) => e.detail)).toEqual([
      { from: 'unregistered', to: 'refused' },
      { from: 'refused', to: 'unregistered' },
      { from: 'unregistered', to: 'completed', verifiedBy: 'employer', verificationMethod: 'my_number_card' },
    ]);
  });
});

describe('a change that deletes a dependent', () => {
  test('HR sees the deletion requested on the approval screen, the number still registered, and approves it: the dependent goes', async () => {
    const person = await invited('削除', '申請');
    const employee = await submittedWithSpouse(person);
    await hr.post(`/v1/registrants/${person.id}/approval`).send({}).expect(200);
    // Unlocked and invited again, the employee takes the spouse off the list and sends the change.
    await hr.post(`/v1/registrants/${person.id}/login-unlock`).expect(200);
    await hr.post(`/v1/registrants/${person.id}/invitation`).send({}).expect(200);
    const again = await outbox.waitFor((m) => m.to.includes(person.email) && tokenOf(m) !== person.token, 15_000);
    await employee.logIn(tokenOf(again));
    const spouse = await prisma.dependent.findFirstOrThrow({ where: { registrantId: person.id } });
    await employee.agent.delete(`/v1/registration/dependents/${spouse.id}`).set('X-CSRF-Token', employee.csrf).expect(200);
    await employee.send('post', '/submission').expect(200);

    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}/approval`);
    await onScreen(page, 'approval');
    const spouseRow = page.locator('tr[data-dependent-id]', { hasText: '山本 健' });
    expect(await textOf(spouseRow)).toContain('本人が削除を申請');
    expect(await textOf(spouseRow)).toContain('登録済み');
    // Not 承認 of an entry: the deletion to approve, or 差戻し to put them back on the employee's list.
    expect(await spouseRow.locator('button').allTextContents()).toEqual(['削除を承認', '差戻し', '番号を表示']);
    // Approving the whole change says first that it deletes them (and not that it approves them).
    await button(page, '承認する').click();
    const dialogText = (await page.locator('dialog').textContent()) ?? '';
    expect(dialogText).toContain('本人が削除を申請した扶養家族 1人（山本 健 さん）は、マイナンバーとあわせて削除されます。残す場合は、先に下の表でその扶養家族を差し戻してください。');
    expect(dialogText).not.toContain('一緒に承認されます');
    await page.locator('dialog').getByRole('button', { name: 'キャンセル' }).click();
    await spouseRow.getByRole('button', { name: '削除を承認' }).click();
    await spouseRow.waitFor({ state: 'detached' });
    expect(await page.locator('.box.ok[role=status]').textContent()).toBe('扶養家族 山本 健 さんの削除を承認しました。');
    expect(await prisma.dependent.findUnique({ where: { id: spouse.id } })).toBeNull();
  });
});

describe('a change that retakes an image', () => {
  test('the approval screen marks the retake 今回の変更で提出 beside the approved image it did not replace; the replaced one is not listed', async () => {
    const person = await invited('差替', '画像');
    const employee = await submittedWithSpouse(person);
    await hr.post(`/v1/registrants/${person.id}/approval`).send({}).expect(200);
    const approvedFront = await prisma.document.findFirstOrThrow({ where: { registrantId: person.id, dependentId: null, side: 'front' } });
    await hr.post(`/v1/registrants/${person.id}/login-unlock`).expect(200);
    await hr.post(`/v1/registrants/${person.id}/invitation`).send({}).expect(200);
    const again = await outbox.waitFor((m) => m.to.includes(person.email) && tokenOf(m) !== person.token, 15_000);
    await employee.logIn(tokenOf(again));
    const retake = await employee.upload('purpose=identity&type=my_number_card&side=front', PNG, 'image/png');
    await employee.send('post', '/submission').expect(200);

    const page = await loggedIn(manager);
    await page.goto(`${base}/console#/registrants/${person.id}/approval`);
    await onScreen(page, 'approval');
    const own = page.locator('.viewer').first();
    expect(await own.locator(`button[data-document-id="${retake.body.id as string}"]`).textContent()).toContain('今回の変更で提出');
    expect(await own.locator('.thumbs button', { hasText: '今回の変更で提出' }).count()).toBe(1);
    expect(await own.locator(`button[data-document-id="${approvedFront.id}"]`).count()).toBe(0);
    await own.locator(`button[data-document-id="${retake.body.id as string}"]`).click();
    expect(await own.locator('.caption').textContent()).toBe('本人確認書類：マイナンバーカード（個人番号カード）（表面（顔写真のある面））（今回の変更で提出）');
    await snap(page, SUITE, 'approval-retaken-image');
  });
});

describe('a viewer', () => {
  test('sees the list, a registrant and the approval screen without any control that changes something; the server refuses anyway', async () => {
    const person = await invited('閲覧', '対象');
    await submittedWithSpouse(person);

    const page = await loggedIn(viewer);
    const menu = (await page.locator('nav.menu').textContent()) ?? '';
    for (const item of ['新規追加', '複数一括登録', 'スマホで収集', 'CSVアップロード']) expect(menu).not.toContain(item);
    await page.goto(`${base}/console#/registrants`);
    await onScreen(page, 'registrants');
    expect(await page.locator('#bulk-actions').count()).toBe(0);
    expect(await page.locator('tbody input[type=checkbox]').count()).toBe(0);
    expect(await page.locator('tbody').getByRole('link', { name: '承認', exact: true }).count()).toBe(0);

    await page.goto(`${base}/console#/registrants/${person.id}`);
    await onScreen(page, 'registrant');
    const buttons = await page.locator('main button, main a.button').allTextContents();
    expect(buttons.filter((b) => !['マイナンバーを表示', '番号を表示', '拡大', '縮小', '右に回転', '左に回転', '元に戻す'].includes(b.trim()) && !b.includes('書類'))).toEqual([]);
    await snap(page, SUITE, 'viewer-detail');

    await page.goto(`${base}/console#/registrants/${person.id}/approval`);
    await onScreen(page, 'approval');
    expect(await page.locator('#decision').count()).toBe(0);
    // Looking (the number behind password and purpose) is allowed to viewers; deciding is not.
    expect(await page.locator('tr[data-dependent-id] button').allTextContents()).toEqual(['番号を表示']);

    // Forcing the call from the page with the session's own CSRF token: refused.
    const status = await page.evaluate(async (id) => {
      const me = (await (await fetch('/v1/auth/me')).json()) as { csrfToken: string };
      const res = await fetch(`/v1/registrants/${id}/approval`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrfToken }, body: '{}' });
      return res.status;
    }, person.id);
    expect(status).toBe(403);
    expect((await prisma.registrant.findUniqueOrThrow({ where: { id: person.id } })).status).toBe('pending');
  });
});

describe('accessibility', () => {
  test('the main screens pass axe-core WCAG 2.1 AA checks', async () => {
    const person = await invited('確認', '太郎');
    await submittedWithSpouse(person);
    const t = await tab();
    const { page } = t;
    await page.goto(`${base}/console`);
    await onScreen(page, 'login');
    const found: Record<string, string[]> = { login: await axeViolations(page) };
    // The screens without a session too.
    for (const name of ['password-reset', 'customer-number']) {
      await redrawn(page, () => page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), `#/${name}`));
      found[name] = await axeViolations(page);
    }
    await consoleLogin(page, base, outbox, manager);
    const screens: [string, string][] = [
      ['home', '#/'],
      ['registrants', '#/registrants'],
      ['registrant', `#/registrants/${person.id}`],
      ['approval', `#/registrants/${person.id}/approval`],
      ['registrant-edit', `#/registrants/${person.id}/edit`],
      ['add', '#/add'],
      ['bulk', '#/bulk'],
      ['quick-add', '#/quick-add'],
      ['csv-upload', '#/csv-upload'],
      ['csv-download', '#/csv-download'],
      ['groups', '#/groups'],
      ['history', '#/history'],
      ['users', '#/users'],
      ['settings', '#/settings'],
      ['connectors', '#/connectors'],
      ['security', '#/security'],
      ['qr', `#/registrants/${person.id}/qr`],
      ['not-found', '#/no-such-screen'],
    ];
    for (const [name, hash] of screens) {
      await redrawn(page, () => page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash));
      await page.waitForLoadState('networkidle');
      found[name] = await axeViolations(page);
    }
    expect(Object.fromEntries(Object.entries(found).filter(([, v]) => v.length))).toEqual({});
  });

  test('the checker itself catches a skipped heading level and a missing label (so a clean result means something)', async () => {
    const { page } = await tab();
    await page.setContent('<html lang="ja"><head><title>t</title></head><body><main><h1>見出し</h1><h3>飛んだ見出し</h3><input type="text"><p>本文</p><p>本文</p><p>本文</p></main></body></html>');
    const ids = (await axeViolations(page)).map((v) => v.split(' ')[0]);
    expect(ids).toEqual(expect.arrayContaining(['heading-order', 'label']));
  });
});

describe('the page itself', () => {
  test('strict Content-Security-Policy, no framing, no caching; the bare address is the console too', async () => {
    const res = await request(app).get('/console').expect(200);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['content-security-policy']).not.toContain('unsafe-inline');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await request(app).get('/').expect(200)).text).toBe(res.text);
    const js = await request(app).get('/assets/console.js').expect(200);
    expect(js.text.length).toBeGreaterThan(1000);
  });
});
