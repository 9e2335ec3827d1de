/**
 * The contract lints clean under Redocly's recommended rules (redocly.yaml says which two are off
 * and why): a vendor's generator or validator should meet no surprise in it.
 */
import path from 'node:path';
import { BaseResolver, lint, lintDocument, loadConfig, makeDocumentFromString } from '@redocly/openapi-core';

const root = path.join(__dirname, '..');

it('openapi/openapi.yaml has no lint problem, warnings included', async () => {
  const config = await loadConfig({ configPath: path.join(root, 'redocly.yaml') });
  const problems = await lint({ ref: path.join(root, 'openapi', 'openapi.yaml'), config });
  expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer ?? '?'}`)).toEqual([]);
});

it('the check can fail: an ambiguous path pair is reported', async () => {
  const config = await loadConfig({ configPath: path.join(root, 'redocly.yaml') });
  const doc = {
    openapi: '3.0.3',
    info: { title: 't', version: '1', license: { name: 'x' } },
    servers: [{ url: 'https://api.example.test' }],
    security: [],
    paths: {
      '/a/{id}/x': { get: { operationId: 'one', summary: 's', description: 'd', responses: { '200': { description: 'ok' } } } },
      '/a/b/{id}': { get: { operationId: 'two', summary: 's', description: 'd', responses: { '200': { description: 'ok' } } } },
    },
  };
  const found = await lintDocument({ document: makeDocumentFromString(JSON.stringify(doc), 'inline.json'), config: config.styleguide, externalRefResolver: new BaseResolver() });
  expect(found.map((p) => p.ruleId)).toContain('no-ambiguous-paths');
});
