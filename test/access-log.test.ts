/**
 * The access log of the real API keeps a request's path and the names of its query parameters,
 * never their values: a search for a name, an e-mail address or a number typed in full-width digits
 * (URL-encoded, which the log's number scrubber cannot see) leaves none of them in the log. An
 * invitation link's token is redacted from the path.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { useApiHarness } from './support/api-harness';
import { createTenant, memoryLogger } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';

const { logger, lines } = memoryLogger();
const harness = useApiHarness({ taskQueue: 'access-log', logger });

const fullWidth = (s: string) => [...s].map((c) => String.fromCharCode(c.charCodeAt(0) - 0x30 + 0xff10)).join('');

it('a search by name, e-mail and a full-width number: the log has the path and the parameter names only', async () => {
  const hr = await harness.agent(await createTenant(harness.prisma, 'ログ検索株式会社'), 'manager');
  const number = randomMyNumber();
  const typed = { name: `山田 ${fullWidth(number)}`, email: `secret-${randomUUID().slice(0, 6)}@example.co.jp` };
  await hr.get(`/v1/registrants?name=${encodeURIComponent(typed.name)}&email=${encodeURIComponent(typed.email)}`).expect(200);
  // A parameter named by what was typed: refused by the contract, and its name not logged either.
  await hr.get(`/v1/registrants?${encodeURIComponent(fullWidth(number))}=1`).expect(400);
  const token = randomUUID().replace(/-/g, '');
  await request(harness.app).get(`/i/${token}?utm=${encodeURIComponent(typed.email)}`);

  const log = lines.join('\n');
  const logged = lines.map((l) => JSON.parse(l) as { req?: { url: string } }).filter((l) => l.req).map((l) => l.req!.url);
  expect(logged).toContain('/v1/registrants?name&email');
  expect(logged).toContain('/v1/registrants?[other]');
  expect(logged).toContain('/i/[redacted]?utm');
  for (const secret of [number, fullWidth(number), encodeURIComponent(fullWidth(number)), typed.email, encodeURIComponent(typed.email), '山田', encodeURIComponent('山田'), token]) {
    expect(log.includes(secret)).toBe(false);
  }
});
