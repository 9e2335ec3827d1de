/**
 * What the contract retires is said on every answer of it (RFC 9745 Deprecation, RFC 8594 Sunset,
 * a Link to the guide): the invitation page under its old path form, and nothing else.
 */
import request from 'supertest';
import { loadSpec } from '../api/openapi';
import { retiredOperations } from '../api/deprecation';
import { useApiHarness } from './support/api-harness';

const harness = useApiHarness({ taskQueue: 'deprecation-headers' });

it('the old invitation path answers with its deprecation date, sunset and a link to the guide', async () => {
  const res = await request(harness.app).get('/i/0123456789abcdef0123456789abcdef').expect(200);
  const spec = loadSpec() as { paths: Record<string, Record<string, Record<string, string>>> };
  const op = spec.paths['/i/{token}']!.get!;
  expect(res.headers.deprecation).toBe(`@${new Date(`${op['x-deprecated-since']}T00:00:00+09:00`).getTime() / 1000}`);
  expect(new Date(res.headers.sunset!).toISOString()).toBe(new Date(`${op['x-sunset']}T00:00:00+09:00`).toISOString());
  expect(res.headers.sunset).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
  expect(res.headers.link).toBe('</docs/integration-guide.md>; rel="deprecation"; type="text/markdown"');
});

it('answers of what is not retired carry none of them', async () => {
  for (const path of ['/i/', '/openapi.yaml', '/healthz']) {
    const res = await request(harness.app).get(path);
    expect([path, res.headers.deprecation, res.headers.sunset]).toEqual([path, undefined, undefined]);
  }
});

it('a deprecated operation without its dates is a spec mistake, refused at start', () => {
  const spec = { paths: { '/v1/old': { get: { deprecated: true, 'x-sunset': '2027-01-01' } } } };
  expect(() => retiredOperations(spec)).toThrow('GET /v1/old is deprecated: give it x-deprecated-since and x-sunset');
  const dated = { paths: { '/v1/old/{id}': { get: { deprecated: true, 'x-deprecated-since': '2026-12-01', 'x-sunset': '2027-03-01' } } } };
  expect(() => retiredOperations({ paths: { '/v1/old': { get: { deprecated: true, 'x-deprecated-since': '2026-12-01', 'x-sunset': '2027-02-30' } } } })).toThrow('give it x-deprecated-since and x-sunset');
  expect(() => retiredOperations({ paths: { '/v1/old': { get: { deprecated: true, 'x-deprecated-since': '2026-12-01', 'x-sunset': '2026-11-01' } } } })).toThrow('x-sunset must come after x-deprecated-since');
  const [r] = retiredOperations(dated);
  expect([r!.pattern.test('/v1/old/abc'), r!.pattern.test('/v1/old/abc/more'), r!.deprecation, r!.sunset]).toEqual([true, false, '@1796050800', 'Sun, 28 Feb 2027 15:00:00 GMT']);
});
