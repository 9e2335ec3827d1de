/**
 * Limits per client address on the steps callable without a session: guessing many accounts from
 * one address, or flooding an inbox through the reminder mails, is stopped with 429 + Retry-After.
 */
import request from 'supertest';
import { useApiHarness } from './support/api-harness';
import { createLoginUser, createTenant, type TestUser } from './support/fixtures';

const harness = useApiHarness({
  taskQueue: 'rate-limits',
  authRateLimits: { attempts: { limit: 4, windowMinutes: 15 }, mailings: { limit: 2, windowMinutes: 15 } },
});
let user: TestUser;

beforeAll(async () => {
  user = await createLoginUser(harness.prisma, await createTenant(harness.prisma, 'レート制限株式会社'), 'manager');
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
