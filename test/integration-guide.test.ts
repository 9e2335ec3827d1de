/**
 * The Japanese integration guide for payroll vendors: served beside the contract, and its examples
 * are the files the generated-client tests run (a renamed or removed example breaks this test).
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { useApiHarness } from './support/api-harness';

const ROOT = path.resolve(__dirname, '..');
const harness = useApiHarness({ taskQueue: 'integration-guide' });

describe('給与ソフト連携ガイド', () => {
  it('is served at /docs/integration-guide.md as UTF-8 Markdown, without a session', async () => {
    const res = await request(harness.app).get('/docs/integration-guide.md').expect(200);
    expect(res.headers['content-type']).toBe('text/markdown; charset=utf-8');
    expect(res.text).toContain('# mynaflow 給与ソフト連携ガイド');
  });

  it('points at examples that exist and are run by the tests, and at the CHANGELOG', () => {
    const guide = fs.readFileSync(path.join(ROOT, 'docs', 'integration-guide.ja.md'), 'utf8');
    const links = [...guide.matchAll(/\]\(\.\.\/([^)]+)\)/g)].map((m) => m[1]!);
    expect(links).toEqual(expect.arrayContaining(['test/clients/python/journey.py', 'test/clients/java/src/main/java/dev/mynaflow/journey/Journey.java', 'examples/payroll-connector.ts', 'CHANGELOG.md']));
    for (const link of links) expect(fs.existsSync(path.join(ROOT, link))).toBe(true);
    const tests = fs.readFileSync(path.join(ROOT, 'test', 'generated-clients.test.ts'), 'utf8') + fs.readFileSync(path.join(ROOT, 'test', 'payroll-api.test.ts'), 'utf8');
    expect(tests).toContain("'python', 'journey.py'");
    expect(tests).toContain('dev.mynaflow.journey.Journey');
    expect(tests).toContain("from '../examples/payroll-connector'");
  });
});
