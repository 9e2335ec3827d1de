/**
 * Small things a security review found, on the real API: every answer under /v1 is marked
 * `Cache-Control: no-store` (they hold personal data); a stray "%" in OAuth Basic credentials and a
 * CSRF header with non-ASCII characters are the caller's mistakes (4xx), never 500; served over
 * HTTPS, the session cookie is `__Host-` prefixed and Secure, and every answer carries HSTS; an
 * unidentified caller may send only a small body and is told only the first validation error.
 */
import request from 'supertest';
import { useApiHarness } from './support/api-harness';
import { codeIn, createLoginUser, createTenant, memoryLogger, testApp, type Agent } from './support/fixtures';

const harness = useApiHarness({ taskQueue: 'api-hardening' });
let hr: Agent;

beforeAll(async () => {
  hr = await harness.agent(await createTenant(harness.prisma, '堅牢化株式会社'), 'owner');
});

it('every /v1 answer, success or error, is not to be stored', async () => {
  for (const res of [await hr.get('/v1/registrants'), await hr.get('/v1/auth/me'), await hr.get('/v1/login-users'), await hr.get('/v1/registrants/00000000-0000-4000-8000-000000000000'), await request(harness.app).get('/v1/registrants')]) {
    expect([res.status, res.headers['cache-control']]).toEqual([res.status, 'no-store']);
  }
});

it('a stray "%" in Basic credentials is 400 invalid_request, not 500', async () => {
  const basic = Buffer.from('mfc_100%:secret%zz').toString('base64');
  const res = await request(harness.app).post('/v1/oauth/token').set('Authorization', `Basic ${basic}`).type('form').send({ grant_type: 'client_credentials' });
  expect([res.status, res.body.code]).toEqual([400, 'invalid_request']);
});

it('a CSRF header with non-ASCII characters is refused as an invalid token (403), not 500', async () => {
  const { csrfToken } = (await hr.get('/v1/auth/me').expect(200)).body as { csrfToken: string };
  // On the wire as UTF-8, read as Latin-1: as many characters as the token, more bytes.
  const bent = `${csrfToken.slice(0, -2)}é`;
  const res = await hr.post('/v1/groups').set('X-CSRF-Token', bent).send({ name: '非ASCII' });
  expect([res.status, res.body.code]).toEqual([403, 'CSRF_TOKEN_INVALID']);
});

it('over HTTPS: a Secure __Host- session cookie (host-only, path /) that the API reads, and HSTS on every answer', async () => {
  const { app } = testApp({ prisma: harness.prisma, logger: memoryLogger().logger, outbox: harness.outbox, temporalClient: harness.temporal, taskQueue: 'api-hardening', secureCookies: true });
  const user = await createLoginUser(harness.prisma, await createTenant(harness.prisma, 'HTTPS株式会社'), 'manager');
  const login = await request(app).post('/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
  expect(login.headers['strict-transport-security']).toBe('max-age=31536000');
  const cookie = ([] as string[]).concat(login.headers['set-cookie'] ?? []).find((c) => c.startsWith('__Host-mynaflow_session='))!;
  expect(cookie).toMatch(/; Secure/i);
  expect(cookie).toMatch(/; Path=\//);
  expect(cookie).not.toMatch(/Domain=/i);
  const pair = cookie.split(';')[0]!;
  const mail = await harness.outbox.waitFor((m) => m.to.includes(user.email));
  const second = await request(app).post('/v1/auth/second-factor').set('Cookie', pair).set('X-CSRF-Token', login.body.csrfToken).send({ code: codeIn(mail.text) }).expect(200);
  expect(second.headers['strict-transport-security']).toBe('max-age=31536000');
  expect((await request(app).get('/v1/auth/me').set('Cookie', pair).expect(200)).body.user.id).toBe(user.id);
  // Behind the TLS proxy (X-Forwarded-Proto from loopback): only the prefixed cookie counts — an
  // unprefixed one could have been planted by a sibling host.
  const token = pair.split('=')[1]!;
  expect((await request(app).get('/v1/auth/me').set('X-Forwarded-Proto', 'https').set('Cookie', pair)).status).toBe(200);
  expect((await request(app).get('/v1/auth/me').set('X-Forwarded-Proto', 'https').set('Cookie', `mynaflow_session=${token}`)).status).toBe(401);
  // Over plain http (the test apps above) neither the prefix nor HSTS.
  expect((await request(harness.app).get('/healthz/live')).headers['strict-transport-security']).toBeUndefined();
});

describe('what an unidentified caller can make the API do', () => {
  const big = (bytes: number) => 'x'.repeat(bytes);

  it('a body over 64 KB from nobody is 413 before it is read further; a logged-in caller may send up to 1 MB', async () => {
    const anonymous = await request(harness.app).post('/v1/auth/login').send({ email: 'a@example.jp', password: big(70_000) });
    expect([anonymous.status, anonymous.body.code, anonymous.body.title]).toEqual([413, 'BODY_TOO_LARGE', 'リクエスト本文が大きすぎます']);
    // a made-up session cookie or bearer token is nobody too
    expect((await request(harness.app).post('/v1/auth/login').set('Cookie', `mynaflow_session=${big(40)}`).send({ email: 'a@example.jp', password: big(70_000) })).status).toBe(413);
    expect((await request(harness.app).post('/v1/groups').set('Authorization', `Bearer ${big(40)}`).send({ name: big(70_000) })).status).toBe(401);
    // the same size from HR reaches validation (the name is too long), and 2 MB is too much for anyone
    const known = await hr.post('/v1/groups').send({ name: big(70_000) });
    expect([known.status, known.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await hr.post('/v1/groups').send({ name: big(2_000_000) })).status).toBe(413);
  });

  it('nobody is told only the first validation error; a logged-in caller every one', async () => {
    const wrong = { email: 'not-an-address', password: '', extra: 1 };
    const anonymous = await request(harness.app).post('/v1/auth/login').send(wrong).expect(400);
    expect(anonymous.body.errors).toHaveLength(1);
    const known = await hr.post('/v1/groups').send({ name: 1, extra: 1, more: 2 }).expect(400);
    expect(known.body.errors.length).toBeGreaterThan(1);
  });
});
