/**
 * TRUST_PROXY: whose X-Forwarded-For names the client the login limits count by. supertest always
 * calls from loopback, so what can be shown here is: a hop count believes the last hop's entry (and
 * only that one), and a list of proxies that leaves out loopback ignores the header altogether (as
 * the default 'loopback' ignores it from any peer that is not this machine).
 */
import request from 'supertest';
import { ConfigError, loadConfig } from '../services/config/config';
import { useApiHarness } from './support/api-harness';
import { memoryLogger, testApp } from './support/fixtures';

const attempts = { limit: 2, windowMinutes: 15 };
const harness = useApiHarness({ taskQueue: 'trust-proxy', authRateLimits: { attempts, mailings: attempts }, trustProxy: 1 });

const login = (app: Parameters<typeof request>[0], forwardedFor: string) =>
  request(app).post('/v1/auth/login').set('X-Forwarded-For', forwardedFor).send({ email: 'nobody@example.com', password: 'wrong-password' });

describe('TRUST_PROXY in the configuration', () => {
  it("defaults to 'loopback'", () => {
    expect(loadConfig({}).trustProxy).toBe('loopback');
  });

  it.each([
    ['1', 1],
    ['0', 0],
    ['loopback', 'loopback'],
    [' 10.0.0.0/8 ,loopback', '10.0.0.0/8, loopback'],
    ['192.0.2.10, 2001:db8::/32, uniquelocal', '192.0.2.10, 2001:db8::/32, uniquelocal'],
  ])('accepts %j', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['true', 'everyone', '10.0.0.0/33', '300.1.1.1', '1,2', '10.0.0.0/8/1', '-1', 'loopback,'])('refuses %j with a message naming the setting', (value) => {
    let err: unknown;
    try {
      loadConfig({ TRUST_PROXY: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expect.stringMatching(/^TRUST_PROXY: a number of proxy hops .* CIDR ranges/)]);
  });
});

describe('with TRUST_PROXY=1 (one proxy in front)', () => {
  it('the login limit counts the client the proxy names, each client on its own', async () => {
    await login(harness.app, '203.0.113.1').expect(401);
    await login(harness.app, '203.0.113.1').expect(401);
    await login(harness.app, '203.0.113.1').expect(429);
    // Another client behind the same proxy has its own budget.
    await login(harness.app, '203.0.113.2').expect(401);
  });

  it('an address the client put in front of the header itself is ignored: only the last hop is believed', async () => {
    await login(harness.app, '198.51.100.50, 203.0.113.3').expect(401);
    await login(harness.app, '198.51.100.51, 203.0.113.3').expect(401);
    // Forging yet another leftmost entry does not get the client a new budget.
    await login(harness.app, '198.51.100.52, 203.0.113.3').expect(429);
  });
});

describe('with TRUST_PROXY naming proxies that do not include the caller', () => {
  it('X-Forwarded-For is ignored: rotating forged addresses does not escape the limit', async () => {
    const { app } = testApp({
      prisma: harness.prisma,
      logger: memoryLogger().logger,
      outbox: harness.outbox,
      temporalClient: harness.temporal,
      taskQueue: 'trust-proxy',
      authRateLimits: { attempts, mailings: attempts },
      trustProxy: loadConfig({ TRUST_PROXY: '10.0.0.0/8' }).trustProxy,
    });
    await login(app, '203.0.113.10').expect(401);
    await login(app, '203.0.113.11').expect(401);
    await login(app, '203.0.113.12').expect(429);
  });
});
