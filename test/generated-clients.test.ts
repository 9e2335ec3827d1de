/**
 * The contract as payroll vendors use it: clients generated from openapi/openapi.yaml — Python by
 * openapi-python-client (PyPI, installed into .tools/clients-venv by scripts/setup.sh), Java by
 * openapi-generator's Maven plugin (Maven Central) — unmodified, run the connector journey
 * (test/clients/python/journey.py, test/clients/java/…/Journey.java) against the real API, Temporal worker,
 * PostgreSQL and a webhook receiver: token, list, sync under an Idempotency-Key, numbers pulled as
 * JSON and as Shift_JIS CSV, a delivery's signature checked. The numbers never reach this file's
 * output: the script answers only whether they matched.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import iconv from 'iconv-lite';
import request from 'supertest';
import { listen } from './support/browser';
import { createTenant } from './support/fixtures';
import { randomMyNumber } from './support/leak-scan';
import { until } from './support/until';
import { useWorkerHarness } from './support/worker-harness';

const ROOT = path.resolve(__dirname, '..');
const VENV_BIN = path.join(ROOT, '.tools', 'clients-venv', 'bin');
const OUT = path.join(ROOT, 'test-output', 'clients', 'python');
const JAVA = path.join(ROOT, 'test', 'clients', 'java');

const harness = useWorkerHarness({ taskQueue: 'generated-clients' });
let base: string;
let closeApi: () => Promise<void>;
let hooks: http.Server;
const received = new Map<string, { signature: string; body: string }[]>();

beforeAll(async () => {
  ({ base, close: closeApi } = await listen(harness.app));
  hooks = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.set(req.url ?? '', [...(received.get(req.url ?? '') ?? []), { signature: String(req.headers['mynaflow-signature'] ?? ''), body }]);
      res.end();
    });
  });
  await new Promise<void>((resolve) => hooks.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await closeApi?.();
  await new Promise((resolve) => hooks?.close(resolve));
});

/** Runs a program to its end; rejects with its output when it fails. */
function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(cmd)} exited ${code}:\n${(err || out).slice(-3000)}`))));
    child.stdin.end(opts.input ?? '');
  });
}

/**
 * A company of its own for one client: a connector with a token, a webhook it subscribes, two people
 * HR entered with numbers (completed, so the webhook hears of them). What the journey is given.
 */
async function journeyInput(lang: string): Promise<string> {
  const owner = await harness.agent(await createTenant(harness.prisma, `株式会社生成${lang}`), 'owner');
  const c = (await owner.post('/v1/connectors').send({ name: `給与ソフト（${lang}）`, scopes: ['registrants:read', 'registrants:write', 'numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201)).body;
  const bearer = (await request(harness.app).post('/v1/oauth/token').auth(c.clientId, c.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token;
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/${lang}`;
  const hook = (await request(harness.app).post('/v1/webhooks').auth(bearer, { type: 'bearer' }).send({ url: hookUrl, events: ['registrant_completed'] }).expect(201)).body;
  const expected: Record<string, string> = {};
  const people = ['G001', 'G002'].map((code) => {
    const n = randomMyNumber();
    expected[code] = n;
    return { employeeCode: code, familyName: '生成', givenName: code, familyNameKana: 'セイセイ', myNumber: n, myNumberConfirmation: n };
  });
  await owner.post('/v1/registrants/bulk-entry').send({ people }).expect(201);
  await until(async () => (received.get(`/${lang}`)?.length ?? 0) >= 1, 'a webhook delivery');
  return JSON.stringify({ baseUrl: base, clientId: c.clientId, clientSecret: c.clientSecret, syncCode: `S${lang}`, expected, webhook: { secret: hook.secret, ...received.get(`/${lang}`)![0] } });
}

/** What either journey must have seen. */
async function expectJourney(answer: string, lang: string) {
  expect(JSON.parse(answer)).toEqual({
    tokenType: 'Bearer',
    listedCodes: ['G001', 'G002'],
    sync: { created: 1, againCreated: 1, sameAnswer: true },
    json: { served: 2, matches: true },
    csv: { contentType: expect.stringMatching(/^text\/csv; ?charset=Shift_JIS/i), rows: 2, matches: true, crlf: true },
    webhook: { valid: true, tamperedRefused: true },
  });
  // The sync under one key made one person.
  expect(await harness.prisma.registrant.count({ where: { employeeCode: `S${lang}` } })).toBe(1);
}

describe('clients generated from the contract run the connector journey unmodified: token, list, idempotent sync, JSON and CP932 CSV pull, webhook signature', () => {
  it('Python (openapi-python-client 0.29.1), generated without warnings on the connector operations', async () => {
    // Generated afresh from the spec as it is now; ruff (the generator's formatter) on the PATH.
    fs.rmSync(OUT, { recursive: true, force: true });
    fs.mkdirSync(OUT, { recursive: true });
    const generated = await run(path.join(VENV_BIN, 'openapi-python-client'), ['generate', '--path', 'openapi/openapi.yaml', '--meta', 'none', '--output-path', path.join(OUT, 'mynaflow_client')], {
      env: { PATH: `${VENV_BIN}${path.delimiter}${process.env.PATH}` },
    });
    // Warnings are for images and CSV uploads only (no typed model for those): none on what connectors call.
    for (const op of ['/v1/oauth/token', '/v1/registrants ', '/v1/registrants/batch', '/v1/numbers/pull', '/v1/webhooks']) expect(generated).not.toContain(`WARNING parsing POST ${op}`);
    const input = await journeyInput('python');
    await expectJourney(await run(path.join(VENV_BIN, 'python'), [path.join('test', 'clients', 'python', 'journey.py')], { env: { PYTHONPATH: OUT }, input }), 'python');
  });

  it('Java (openapi-generator 7.25.0, library native), generated and compiled by Maven', async () => {
    // Maven generates the client from openapi.yaml, compiles it with Journey.java and writes the classpath.
    await run('mvn', ['-q', '-B', '-f', path.join(JAVA, 'pom.xml'), 'package']);
    const classpath = [path.join(JAVA, 'target', 'journey-1.jar'), fs.readFileSync(path.join(JAVA, 'target', 'classpath.txt'), 'utf8').trim()].join(path.delimiter);
    const input = await journeyInput('java');
    await expectJourney(await run('java', ['-cp', classpath, 'dev.mynaflow.journey.Journey'], { input }), 'java');
  }, 10 * 60_000);

  it("curl: the integration guide's own code blocks, run in order as written", async () => {
    const guide = fs.readFileSync(path.join(ROOT, 'docs', 'integration-guide.ja.md'), 'utf8');
    // Indented under list items in the guide: each line loses the block's indentation.
    const blocks = [...guide.matchAll(/^( *)```bash\n([\s\S]*?)^\1```$/gm)].map((m) => m[2]!.split('\n').map((l) => l.slice(m[1]!.length)).join('\n'));
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const tenantId = await createTenant(harness.prisma, '株式会社カール');
    const owner = await harness.agent(tenantId, 'owner');
    const c = (await owner.post('/v1/connectors').send({ name: '給与ソフト（curl）', scopes: ['registrants:read', 'registrants:write', 'numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201)).body;
    const expected = new Map(['000123', '000124'].map((code) => [code, randomMyNumber()]));
    const people = [...expected].map(([code, n]) => ({ employeeCode: code, familyName: '例示', givenName: code, familyNameKana: 'レイジ', myNumber: n, myNumberConfirmation: n }));
    await owner.post('/v1/registrants/bulk-entry').send({ people }).expect(201);

    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'guide-curl-'));
    const script = ['set -euo pipefail', ...blocks.map((b, i) => `echo "@@block ${i}"\n${b}`)].join('\n');
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd, env: { PATH: process.env.PATH, MYNAFLOW: base, CLIENT_ID: c.clientId, CLIENT_SECRET: c.clientSecret }, stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      // Not the output on failure: it may hold the pulled numbers.
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`the guide's curl blocks failed (exit ${code}) after ${text.match(/@@block \d+/g)?.pop()}: ${err.slice(-500)}`))));
    });
    const section = (i: number) => out.split(`@@block ${i}\n`)[1]!.split('@@block')[0]!.trim();
    expect(section(1).split('\n').sort()).toEqual(['000123', '000124']);
    expect(JSON.parse(section(2))).toEqual({ created: 1, updated: 0 });
    expect(await harness.prisma.registrant.count({ where: { tenantId, employeeCode: '000125', familyName: '山田' } })).toBe(1);
    const pulled = JSON.parse(fs.readFileSync(path.join(cwd, 'numbers.json'), 'utf8')) as { served: { employeeCode: string; myNumber: string }[] };
    expect(pulled.served.every((p) => p.myNumber === expected.get(p.employeeCode))).toBe(true);
    expect(pulled.served.length).toBe(2);
    expect(section(4)).toMatch(/^"社員コード","登録者ID","本人・扶養"/);
    const csv = iconv.decode(fs.readFileSync(path.join(cwd, 'numbers.csv')), 'cp932');
    expect([...expected].every(([code, n]) => csv.split('\r\n').some((row) => row.startsWith(`"${code}",`) && row.includes(`,"${n}",`)))).toBe(true);
    fs.rmSync(cwd, { recursive: true, force: true });
  });
});
