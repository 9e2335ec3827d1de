/**
 * The contract never breaks silently: oasdiff (built by scripts/setup.sh) compares
 * openapi/openapi.yaml with the released contract (openapi/released/openapi.yaml) and fails on any
 * breaking change to /v1 that openapi/released/declared-breaking.txt does not declare — and each
 * declared one must be in CHANGELOG.md's API section, where clients read of it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

const ROOT = path.resolve(__dirname, '..');
const OASDIFF = path.join(ROOT, '.tools', 'bin', 'oasdiff');
const RELEASED = path.join(ROOT, 'openapi', 'released', 'openapi.yaml');
const CURRENT = path.join(ROOT, 'openapi', 'openapi.yaml');
const DECLARED = path.join(ROOT, 'openapi', 'released', 'declared-breaking.txt');

const breaking = (from: string, to: string) => {
  const run = spawnSync(OASDIFF, ['breaking', from, to, '--fail-on', 'ERR', '--err-ignore', DECLARED, '--format', 'singleline'], { encoding: 'utf8' });
  if (run.error) throw run.error;
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
};

describe('the API contract against the released one', () => {
  it('has no breaking change to /v1 beyond those declared', () => {
    const { code, out } = breaking(RELEASED, CURRENT);
    expect({ code, out: code === 0 ? '' : out }).toEqual({ code: 0, out: '' });
  });

  it('catches an undeclared one (an operation removed, a required field added)', () => {
    const spec = YAML.parse(fs.readFileSync(CURRENT, 'utf8')) as { paths: Record<string, Record<string, unknown>>; components: { schemas: Record<string, { required?: string[] }> } };
    delete spec.paths['/v1/numbers/pull'];
    spec.components.schemas.RegistrantSyncItem!.required = [...(spec.components.schemas.RegistrantSyncItem!.required ?? []), 'email'];
    const changed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'contract-')), 'openapi.yaml');
    fs.writeFileSync(changed, YAML.stringify(spec));
    const { code, out } = breaking(RELEASED, changed);
    expect(code).toBe(1);
    expect(out).toContain('/v1/numbers/pull');
    expect(out).toContain('email');
  });

  it('refuses to drop a deprecated operation before its sunset, and lets it go after', () => {
    const write = (spec: unknown) => {
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'contract-')), 'openapi.yaml');
      fs.writeFileSync(file, YAML.stringify(spec));
      return file;
    };
    type Spec = { paths: Record<string, { get?: Record<string, unknown> }> };
    const current = YAML.parse(fs.readFileSync(CURRENT, 'utf8')) as Spec;
    expect(current.paths['/i/{token}']!.get!.deprecated).toBe(true);
    // Dates of this test's own (the real sunset passes one day): one far ahead, one behind.
    const future = structuredClone(current);
    future.paths['/i/{token}']!.get!['x-sunset'] = '2099-01-01';
    const without = structuredClone(current);
    delete without.paths['/i/{token}'];
    const early = breaking(write(future), write(without));
    expect(early.code).toBe(1);
    expect(early.out).toMatch(/\/i\/\{token\}.*sunset/);
    const past = structuredClone(current);
    past.paths['/i/{token}']!.get!['x-sunset'] = '2026-01-01';
    expect(breaking(write(past), write(without))).toEqual({ code: 0, out: expect.any(String) });
  });

  it('says every declared breaking change in the CHANGELOG', () => {
    const changelog = fs.readFileSync(path.join(ROOT, 'CHANGELOG.md'), 'utf8');
    const declared = fs.readFileSync(DECLARED, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#'));
    for (const line of declared) {
      const [method, route] = line.split(' ');
      expect(changelog).toContain(`**Breaking:** \`${method} ${route}\``);
    }
  });
});
