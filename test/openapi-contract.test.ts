/**
 * The contract (openapi/openapi.yaml) is the truth: the committed TypeScript types are generated
 * from it, every documented operation is served, and nothing is served that it does not document.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Express } from 'express';
import request from 'supertest';
import { loadSpec } from '../api/openapi';
import { useApiHarness } from './support/api-harness';

const root = path.join(__dirname, '..');
const GENERATED = path.join(root, 'api', 'generated', 'openapi.ts');
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
}

/** Every method+path in the spec. */
function specOperations(): Operation[] {
  const paths = loadSpec().paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([p, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m) => ({
      method: m,
      path: p,
      hasBody: Boolean((item[m] as { requestBody?: unknown }).requestBody),
    })),
  );
}

interface RouteLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouteLayer[] };
  /** router 2.x: true for `app.use(router)` without a mount path. */
  slash?: boolean;
}

/** Routes the Express app registers (`app.get(...)`, and routers mounted at the root), as OpenAPI paths. */
function appRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: RouteLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          const openApiPath = String(p).replace(/:(\w+)/g, '{$1}');
          for (const [m, on] of Object.entries(layer.route.methods)) if (on && m !== '_all') found.push(`${m.toUpperCase()} ${openApiPath}`);
        }
      } else if (layer.slash && Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack);
      }
    }
  };
  const router = (app as unknown as { router?: { stack?: RouteLayer[] } }).router;
  if (!Array.isArray(router?.stack)) throw new Error('cannot read the Express router stack (Express 5 `app.router.stack`)');
  walk(router.stack);
  return found.sort();
}

const concrete = (p: string) => p.replace(/\{[^}]+\}/g, () => randomUUID());

describe('api/generated/openapi.ts', () => {
  it('is what openapi-typescript generates from openapi/openapi.yaml now', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-openapi-'));
    try {
      const out = path.join(dir, 'openapi.ts');
      await promisify(execFile)(path.join(root, 'node_modules', '.bin', 'openapi-typescript'), ['openapi/openapi.yaml', '-o', out], {
        cwd: root,
      });
      const fresh = fs.readFileSync(out, 'utf8');
      expect(fresh).toContain('"/v1/registrants"');
      const committed = fs.readFileSync(GENERATED, 'utf8');
      if (committed !== fresh) {
        throw new Error(
          'api/generated/openapi.ts is out of date with openapi/openapi.yaml: run `npm run generate:api-types` and commit the result',
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('routes vs openapi/openapi.yaml', () => {
  // Nothing listens on port 1: Temporal calls fail fast (only /healthz tries one, with a deadline).
  const harness = useApiHarness({ taskQueue: 'openapi-contract' });

  it('registers only routes that the spec documents', () => {
    const documented = new Set(specOperations().map((o) => `${o.method.toUpperCase()} ${o.path}`));
    const routes = appRoutes(harness.app);
    expect(routes.length).toBeGreaterThan(0);
    expect(routes.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('registers a route for every operation in the spec', () => {
    const routes = new Set(appRoutes(harness.app));
    const missing = specOperations()
      .map((o) => `${o.method.toUpperCase()} ${o.path}`)
      .filter((o) => !routes.has(o));
    expect(missing).toEqual([]);
  });

  const operations = specOperations();
  it('the spec documents operations', () => {
    expect(operations.length).toBeGreaterThan(0);
  });

  test.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o] as const))('%s is served', async (_name, op) => {
    let req = request(harness.app)[op.method as 'get' | 'post' | 'put' | 'patch' | 'delete'](concrete(op.path));
    // An empty body fails validation (400) before any handler would reach Temporal.
    if (op.hasBody) req = req.send({});
    const res = await req;
    const seen = { status: res.status, type: res.type, code: (res.body as { code?: unknown })?.code };
    expect(seen.status).not.toBe(405);
    // Readiness says 503 because Temporal is down; nothing else may fail on the server side.
    if (op.path === '/healthz' || op.path === '/healthz/ready') expect([200, 503]).toContain(seen.status);
    else expect(seen.status).toBeLessThan(500);
    if (seen.status === 404) {
      // A 404 from a handler ("no such registrant") is fine; the router's or validator's is not.
      expect(seen).toEqual({ status: 404, type: 'application/problem+json', code: expect.not.stringMatching(/^NOT_FOUND$/) });
    }
  });

  it('answers an undocumented path with 404 problem+json NOT_FOUND', async () => {
    const res = await request(harness.app).get('/v1/not-in-the-contract');
    expect(res.status).toBe(404);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
  });

  it('answers an undocumented method on a documented path with 405 problem+json', async () => {
    const res = await request(harness.app).delete('/v1/registrants');
    expect(res.status).toBe(405);
    expect(res.type).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
  });
});
