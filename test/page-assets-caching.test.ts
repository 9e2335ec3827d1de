/**
 * The pages' scripts and style sheets (and the contract and its guide) are revalidated, not fetched
 * again: `no-cache` with an ETag, and 304 while the browser's copy is current. API answers carry no ETag (they are no-store, and
 * hashing every answer cost the registrant list a few percent of its CPU).
 */
import request from 'supertest';
import { createTenant } from './support/fixtures';
import { useApiHarness } from './support/api-harness';

const harness = useApiHarness({ taskQueue: 'page-assets-caching' });

it.each(['/assets/console.js', '/assets/console.css', '/assets/registration.js', '/assets/registration.css', '/openapi.yaml', '/docs/integration-guide.md'])('%s: 200 with an ETag, then 304 with no body for that tag, 200 again for another', async (path) => {
  const first = await request(harness.app).get(path).expect(200);
  if (path.startsWith('/assets/')) expect(first.headers['cache-control']).toBe('no-cache');
  expect(first.headers.etag).toMatch(/^"[\w-]{27}"$/);
  expect(first.text.length).toBeGreaterThan(100);

  const again = await request(harness.app).get(path).set('If-None-Match', first.headers.etag!).expect(304);
  expect(again.text ?? '').toBe('');
  expect(again.headers.etag).toBe(first.headers.etag);

  const stale = await request(harness.app).get(path).set('If-None-Match', '"an-older-copy"').expect(200);
  expect(stale.text).toBe(first.text);
});

it('the four assets have four different tags (one per file, not one for all)', async () => {
  const tags = await Promise.all(['/assets/console.js', '/assets/console.css', '/assets/registration.js', '/assets/registration.css'].map(async (p) => (await request(harness.app).get(p)).headers.etag));
  expect(new Set(tags).size).toBe(4);
});

it('API answers and pages with personal data carry no ETag: nothing to revalidate, no hash computed', async () => {
  const tenantId = await createTenant(harness.prisma, 'ETag株式会社');
  const hr = await harness.agent(tenantId, 'owner');
  for (const path of ['/v1/registrants?limit=5', '/v1/registrants/summary', '/v1/auth/me']) {
    const res = await hr.get(path).expect(200);
    expect([path, res.headers.etag, res.headers['cache-control']]).toEqual([path, undefined, 'no-store']);
  }
  const page = await request(harness.app).get('/console').expect(200);
  expect(page.headers.etag).toBeUndefined();
});
