/**
 * Schemathesis (PyPI `schemathesis`, installed into .tools/venv by scripts/setup.sh) fuzzes the
 * running API from its own contract (/openapi.yaml): zero server errors and zero responses that break
 * the spec (status code, content type, body schema, headers). The real app listens on a real port,
 * with a real Temporal dev server and worker, PostgreSQL and the SMTP capture; responses are also
 * validated in the app (testApp), so a body that strays from the spec comes back as a 500 here.
 *
 * It runs in phases, one per kind of caller, in an order that keeps each caller alive while it is
 * fuzzed: the employee's registration session, a payroll connector's bearer token, the HR owner's
 * console session, and last the two operations that take the owner's password again (wrong ones count
 * towards the login lock, which ends the session). Fixed seed, one worker: the same cases every run.
 * On a failure the test prints Schemathesis' own report (the fuzzer invents its data; any 12-digit
 * run is masked all the same). Reports (text and JUnit, per phase): test-output/schemathesis/.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Purpose } from '../prisma/generated/client';
import { hashPassword } from '../services/auth/passwords';
import type { PrismaClient } from '../services/db/client';
import { MASK, TWELVE_DIGITS } from '../services/logging/logger';
import type { Outbox } from '../services/outbox/outbox';
import { createLoginUser, createTenant, memoryLogger, startOutbox, startWorker, testApp, testPrisma, type WorkerHandle } from './support/fixtures';
import { createLocalEnv } from './support/temporal';

const ROOT = path.resolve(__dirname, '..');
const SCHEMATHESIS = path.join(ROOT, '.tools', 'venv', 'bin', 'schemathesis');
const OUT = path.join(ROOT, 'test-output', 'schemathesis');
const TASK_QUEUE = 'api-fuzz';
const PASSCODE = 'Kaisha-2026';
const PURPOSES: Purpose[] = ['withholding_slip', 'employment_insurance'];
const LINK = /http:\/\/mynaflow\.test\/i\/#k=([A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/;
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance', 'response_headers_conformance'];

let env: TestWorkflowEnvironment;
let prisma: PrismaClient;
let outbox: Outbox;
let worker: WorkerHandle;
let server: http.Server;
/** Receives the webhook deliveries (answers 204), so none goes to a host the fuzzer made up. */
let sink: http.Server;
let base: string;
let tenantId: string;
/** Schemathesis' working folder for this run (its config files and caches); removed afterwards. */
let work: string;
/** Caller credentials, taken before any fuzzing (the token endpoint is fuzzed too). */
const callers = { console: [] as string[], registration: [] as string[], payroll: [] as string[] };
let consoleCookie: string;
let consoleCsrf: string;
let bearer: string;
/** Existing registrants, offered to the fuzzer for half of the registrantId values. */
const registrantIds: string[] = [];
const { logger, lines } = memoryLogger();

async function call(method: string, url: string, opts: { headers?: Record<string, string>; body?: string } = {}) {
  const res = await fetch(`${base}${url}`, { method, headers: opts.headers, body: opts.body });
  const text = await res.text();
  if (!res.ok) throw new Error(`set-up: ${method} ${url} answered ${res.status}: ${text}`);
  return { res, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}
const json = (headers: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...headers });
const cookieOf = (res: Response) => res.headers.getSetCookie()[0]!.split(';')[0]!;

beforeAll(async () => {
  [env, outbox] = await Promise.all([createLocalEnv(), startOutbox()]);
  prisma = testPrisma();
  worker = await startWorker(env, { prisma, outbox, logger, taskQueue: TASK_QUEUE });
  // The per-address limits on login, codes, links and the token endpoint would answer nearly every
  // fuzzed call there with 429 (50 per 15 minutes) and leave the handlers behind them untested; their
  // 429s have their own test (auth-rate-limits). The per-connector limit stays as in production.
  const unlimited = { limit: 1_000_000, windowMinutes: 15 };
  const { app } = testApp({ prisma, logger, outbox, temporalClient: env.client, taskQueue: TASK_QUEUE, authRateLimits: { attempts: unlimited, mailings: unlimited } });
  server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sink = http.createServer((req, res) => void req.resume().on('end', () => res.writeHead(204).end()));
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));

  tenantId = await createTenant(prisma, '株式会社ファズテスト');
  await prisma.tenant.update({ where: { id: tenantId }, data: { passcodeHash: await hashPassword(PASSCODE), purposes: PURPOSES } });

  // The owner logs in like a person: password, then the code from the mail.
  const owner = await createLoginUser(prisma, tenantId, 'owner');
  const login = await call('POST', '/v1/auth/login', { headers: json(), body: JSON.stringify({ email: owner.email, password: owner.password }) });
  const cookie = cookieOf(login.res);
  const csrf = login.body.csrfToken as string;
  const mail = await outbox.waitFor((m) => m.to.includes(owner.email) && m.subject.includes('第二認証コード'));
  const code = /(?<!\d)(\d{6})(?!\d)/.exec(mail.text)?.[1];
  if (!code) throw new Error('set-up: no code in the second-factor mail');
  await call('POST', '/v1/auth/second-factor', { headers: json({ cookie }), body: JSON.stringify({ code }) });
  callers.console = ['--header', `Cookie: ${cookie}`, '--header', `X-CSRF-Token: ${csrf}`];
  [consoleCookie, consoleCsrf] = [cookie, csrf];
  const hr = json({ cookie, 'x-csrf-token': csrf });

  // A connector with every scope, and its bearer token (valid 10 minutes: the payroll phase runs early).
  const connector = await call('POST', '/v1/connectors', {
    headers: hr,
    body: JSON.stringify({ name: 'ファズ給与', scopes: ['registrants:read', 'registrants:write', 'numbers:pull'], allowedPurposes: PURPOSES }),
  });
  const token = await call('POST', '/v1/oauth/token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: String(connector.body.clientId), client_secret: String(connector.body.clientSecret) }).toString(),
  });
  bearer = String(token.body.access_token);
  callers.payroll = ['--header', `Authorization: Bearer ${bearer}`];

  // Invited registrants: the first opens its link on the employee's phone; the others are the fuzzer's.
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    const email = `fuzz-${i}@example.co.jp`;
    const created = await call('POST', '/v1/registrants', { headers: hr, body: JSON.stringify({ familyName: '試験', givenName: `太郎${i}`, email, employeeCode: `FZ${i}` }) });
    const invitation = await outbox.waitFor((m) => m.to.includes(email), 15_000);
    tokens.push(LINK.exec(invitation.text)![1]!);
    if (i > 0) registrantIds.push(created.body.id as string);
  }
  // The mail goes out from the activity; the link opens once the workflow has taken its result.
  let setup: Awaited<ReturnType<typeof call>> | undefined;
  for (let tries = 0; !setup; tries++) {
    try {
      setup = await call('POST', '/v1/registration/setup', { headers: json(), body: JSON.stringify({ token: tokens[0], password: 'fuzz-phone-pass', passcode: PASSCODE, consentedPurposes: PURPOSES }) });
    } catch (err) {
      if (tries >= 50) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  callers.registration = ['--header', `Cookie: ${cookieOf(setup.res)}`, '--header', `X-CSRF-Token: ${String(setup.body.csrfToken)}`];
}, 120_000);

afterAll(async () => {
  for (const s of [server, sink]) await new Promise((resolve) => (s ? s.close(resolve) : resolve(undefined)));
  if (work) fs.rmSync(work, { recursive: true, force: true });
  await worker?.stop();
  await env?.teardown();
  await outbox?.close();
  await prisma?.$disconnect();
});

interface Phase {
  name: string;
  caller: keyof typeof callers;
  maxExamples: number;
  /** operation filters (schemathesis --include-… / --exclude-…) */
  filters: string[];
  /** run after the phase */
  after?: () => Promise<unknown>;
}

const PHASES: Phase[] = [
  // Logging out would end the session for the rest of the phase.
  { name: 'registration', caller: 'registration', maxExamples: 25, filters: ['--include-tag', 'registration', '--exclude-operation-id', 'logOutRegistration'] },
  {
    name: 'payroll',
    caller: 'payroll',
    maxExamples: 25,
    filters: ['--include-tag', 'payroll', '--include-operation-id', 'getRegistrant'], // every operation a connector may call
    // The fuzzer subscribed webhooks to URLs of its own (https://payroll.example.com/…): the console
    // phase's remands and deletions are delivered to the local sink instead.
    after: () => prisma.webhook.updateMany({ where: { tenantId }, data: { url: `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook` } }),
  },
  {
    name: 'console',
    caller: 'console',
    maxExamples: 10,
    filters: [
      '--exclude-tag', 'registration', // the employee's phase
      '--exclude-operation-id', 'logout', // ends the session
      '--exclude-operation-id', 'changePassword', // would end the session or lock the owner (wrong current passwords)
      '--exclude-operation-id', 'exportRegistrantsWithNumbers', // the last phase
      '--exclude-operation-id', 'revealRegistrantMyNumber', // the last phase
      '--exclude-operation-id', 'revealRegistrantDocumentImage', // the last phase
      '--exclude-operation-id', 'startTotpEnrolment', // the last phase
      '--exclude-operation-id', 'deleteRegistrantData', // the last phase
      '--exclude-operation-id', 'deleteRegistrantMyNumber', // the last phase
      '--exclude-operation-id', 'setLoginUserPassword', // the last phase
    ],
  },
  // Wrong passwords here lock the owner after five (and end the session): run last.
  {
    name: 'reauthentication',
    caller: 'console',
    maxExamples: 25,
    filters: ['exportRegistrantsWithNumbers', 'revealRegistrantMyNumber', 'revealRegistrantDocumentImage', 'startTotpEnrolment', 'deleteRegistrantData', 'deleteRegistrantMyNumber', 'setLoginUserPassword'].flatMap((id) => ['--include-operation-id', id]),
  },
];

function runSchemathesis(phase: Phase): Promise<{ code: number | null; output: string }> {
  const config = path.join(work, `${phase.name}.toml`);
  fs.writeFileSync(
    config,
    [`[dictionaries.registrants]`, `values = ${JSON.stringify(registrantIds)}`, ``, `[parameters]`, `"path.registrantId" = { dictionary = "registrants", probability = 0.5 }`, ``].join('\n'),
  );
  const args = [
    '--no-color',
    '--config-file', config,
    'run', `${base}/openapi.yaml`,
    '--checks', CHECKS.join(','),
    '--phases', 'examples,coverage,fuzzing',
    '--max-examples', String(phase.maxExamples),
    '--seed', '1',
    '--workers', '1',
    '--generation-database', 'none',
    '--suppress-health-check', 'too_slow',
    '--request-timeout', '60', // above the API's own 30 s deadline on workflow updates, so its answer is what counts
    '--report', 'junit',
    '--report-junit-path', path.join(OUT, `${phase.name}.junit.xml`),
    ...phase.filters,
    ...callers[phase.caller],
  ];
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the API answering the fuzzer runs in this very process.
    const child = spawn(SCHEMATHESIS, args, { cwd: work, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Schemathesis' failures and summary (its first lines are the progress); it shows credentials as [Filtered]. */
function report(output: string): string {
  const from = output.search(/^=+ (FAILURES|ERRORS|WARNINGS|SUMMARY) =+$/m);
  const text = from >= 0 ? output.slice(from) : output;
  return (text.length > 40_000 ? `${text.slice(0, 40_000)}\n…(cut; the full report is in test-output/schemathesis/)` : text).replace(TWELVE_DIGITS, MASK);
}

/** What the API logged as errors (a 500's cause, e.g. a response the app's own validator refused), once each. */
function serverErrors(): string {
  const seen = new Set<string>();
  for (const line of lines) {
    let entry: { level?: number; msg?: string; err?: { type?: string; message?: string } };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if ((entry.level ?? 0) >= 50) seen.add(`${entry.msg ?? ''}: ${entry.err?.type ?? ''} ${entry.err?.message ?? ''}`.slice(0, 500));
  }
  return seen.size ? `\n\nThe API logged these errors:\n${[...seen].slice(0, 20).map((e) => `  - ${e}`).join('\n')}` : '';
}

// What the fuzzer found first, kept as plain cases: PostgreSQL text cannot hold U+0000.
it('answers a NUL character in a path, query, JSON body or CSV cell with 400, never 500', async () => {
  const headers = { cookie: consoleCookie, 'x-csrf-token': consoleCsrf };
  const query = await fetch(`${base}/v1/operation-history?actor=a%00b`, { headers });
  expect([query.status, ((await query.json()) as { errors: unknown[] }).errors]).toEqual([400, [expect.objectContaining({ path: '/query/actor', code: 'NUL_CHARACTER' })]]);
  const body = await fetch(`${base}/v1/registrants`, { method: 'POST', headers: json(headers), body: JSON.stringify({ familyName: 'a\u0000', givenName: 'b', email: 'nul@example.co.jp' }) });
  expect([body.status, ((await body.json()) as { errors: unknown[] }).errors]).toEqual([400, [expect.objectContaining({ path: '/body/familyName', code: 'NUL_CHARACTER' })]]);
  const inPath = await fetch(`${base}/v1/employees/a%00b`, { method: 'PUT', headers: json({ authorization: `Bearer ${bearer}` }), body: JSON.stringify({ familyName: 'a', givenName: 'b' }) });
  expect(inPath.status).toBe(400);
  const csv = await fetch(`${base}/v1/registrants/import?dryRun=false`, { method: 'POST', headers: { ...headers, 'content-type': 'text/csv' }, body: '姓,名,備考\r\n試験,花子,a\u0000b\r\n' });
  expect(csv.status).toBe(400);
  expect(((await csv.json()) as { report: { lines: unknown[] } }).report.lines).toEqual([expect.objectContaining({ ok: false, errors: [{ column: '備考', message: expect.stringContaining('NUL') }] })]);
});

it('finds no server error and no response outside the contract, for every kind of caller', async () => {
  expect(fs.existsSync(SCHEMATHESIS)).toBe(true);
  // Several runs may share the tree: each works in a folder of its own and only overwrites reports.
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-schemathesis-'));
  fs.mkdirSync(OUT, { recursive: true });
  const failed: string[] = [];
  for (const phase of PHASES) {
    const { code, output } = await runSchemathesis(phase);
    fs.writeFileSync(path.join(OUT, `${phase.name}.txt`), output.replace(TWELVE_DIGITS, MASK));
    if (code !== 0) failed.push(`── schemathesis, ${phase.name} phase: exit code ${code} ──\n${report(output)}`);
    await phase.after?.();
  }
  if (failed.length) throw new Error(`Schemathesis found responses that break openapi/openapi.yaml:\n\n${failed.join('\n\n')}${serverErrors()}`);
}, 8 * 60_000);
