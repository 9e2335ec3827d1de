/**
 * Limits per client address on the steps callable without a session: guessing many accounts from
 * one address, or flooding an inbox through the reminder mails, is stopped with 429 + Retry-After.
 * The employee's link steps count only what failed: a company's employees share one address.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { PURPOSES } from '../services/audit/purposes';
import { hashToken } from '../services/auth/token-hash';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, type TestUser } from './support/fixtures';

const harness = useApiHarness({
  taskQueue: 'rate-limits',
  authRateLimits: { attempts: { limit: 4, windowMinutes: 15 }, mailings: { limit: 2, windowMinutes: 15 } },
});
let user: TestUser;
let tenantId: string;

beforeAll(async () => {
  tenantId = await createTenant(harness.prisma, 'レート制限株式会社');
  user = await createLoginUser(harness.prisma, tenantId, 'manager');
});

/** Requests as if from this client address (the app trusts X-Forwarded-For from a loopback proxy). */
const from = (ip: string) => ({
  post: (url: string) => request(harness.app).post(url).set('X-Forwarded-For', ip),
});

it('password guesses from one address: 401 up to the limit, then 429 with Retry-After and a Japanese title', async () => {
  const client = from('203.0.113.10');
  for (let i = 0; i < 4; i++) {
    await client.post('/v1/auth/login').send({ email: `guess${i}@example.com`, password: 'wrong-password' }).expect(401);
  }
  const res = await client.post('/v1/auth/login').send({ email: user.email, password: user.password }).expect(429);
  expect(res.type).toBe('application/problem+json');
  expect(res.body).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS', title: expect.stringMatching(/しばらく待って/) });
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(15 * 60);
  // Refused before the password was looked at: no session cookie, no code mailed.
  expect(res.headers['set-cookie']).toBeUndefined();
  // Second-factor attempts share the budget.
  await client.post('/v1/auth/second-factor').send({ code: '123456' }).expect(429);
});

it('another address is not affected, and neither is anyone already logged in', async () => {
  await from('203.0.113.11').post('/v1/auth/login').send({ email: 'nobody@example.com', password: 'wrong-password' }).expect(401);
  const session = await harness.login(user);
  await session.get('/v1/auth/me').expect(200);
});

it('reminder mails: at most the limit per address, then 429 and no more mail', async () => {
  const client = from('203.0.113.20');
  const mailsBefore = harness.outbox.mails.filter((m) => m.to.includes(user.email)).length;
  await client.post('/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
  await client.post('/v1/auth/customer-number/request').send({ email: user.email }).expect(202);
  await client.post('/v1/auth/password-reset/request').send({ email: user.email }).expect(429);
  await client.post('/v1/auth/customer-number/request').send({ email: user.email }).expect(429);
  // The accepted two are sent in the background; wait for both, then make sure no third came.
  await harness.outbox.waitFor(() => harness.outbox.mails.filter((m) => m.to.includes(user.email)).length >= mailsBefore + 2);
  await new Promise((r) => setTimeout(r, 500));
  expect(harness.outbox.mails.filter((m) => m.to.includes(user.email)).length).toBe(mailsBefore + 2);
  // Mail-sending steps have their own budget: a password attempt from that address still goes through.
  await client.post('/v1/auth/login').send({ email: 'nobody@example.com', password: 'wrong-password' }).expect(401);
});

/** An employee invited with an open link; resolves with the link's token. */
async function invitedLink(): Promise<string> {
  const r = await harness.prisma.registrant.create({
    data: { tenantId, familyName: '同僚', givenName: '社員', email: `w-${randomUUID().slice(0, 8)}@example.co.jp`, workflowId: `wf-${randomUUID()}`, invitationState: 'open', invitationExpiresAt: new Date(Date.now() + 86_400_000) },
  });
  const token = randomBytes(32).toString('base64url');
  await harness.prisma.invitation.create({ data: { registrantId: r.id, issueKey: `limit-${randomUUID()}`, tokenHash: hashToken(token), expiresAt: new Date(Date.now() + 86_400_000) } });
  return token;
}

it('the employee\'s link from an office network: everyone opening their own link and logging in gets through, only wrong links and passwords use up the budget', async () => {
  const office = from('203.0.113.30');
  // Six colleagues (the limit is four) open their links, set up, and one logs in again.
  const tokens: string[] = [];
  for (let i = 0; i < 6; i++) {
    const token = await invitedLink();
    tokens.push(token);
    expect((await office.post('/v1/registration/link').send({ token })).status).toBe(200);
    await office.post('/v1/registration/setup').send({ token, password: `office-pass-${i}`, consentedPurposes: [...PURPOSES] }).expect(200);
  }
  await office.post('/v1/registration/login').send({ token: tokens[0], password: 'office-pass-0' }).expect(200);
  // Guessing from there: wrong links and a wrong password count, up to the limit; then even a right one waits.
  for (let i = 0; i < 3; i++) await office.post('/v1/registration/link').send({ token: randomBytes(32).toString('base64url') }).expect(404);
  await office.post('/v1/registration/login').send({ token: tokens[1], password: 'not-the-password' }).expect(401);
  const refused = await office.post('/v1/registration/link').send({ token: tokens[2] }).expect(429);
  expect(refused.body).toMatchObject({ code: 'TOO_MANY_REQUESTS', title: expect.stringMatching(/しばらく待って/) });
  // The console's login from the same address keeps its own budget.
  await office.post('/v1/auth/login').send({ email: 'nobody@example.com', password: 'wrong-password' }).expect(401);
});
