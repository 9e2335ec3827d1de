/**
 * The production topology for real (`npm run cluster`, scripts/cluster.ts, started here as a child
 * process on a data folder and ports of its own): the Temporal server built from source on
 * PostgreSQL with its services as separate processes, two frontends, two APIs and two workers
 * behind HAProxy. The acceptance journey goes through the load balancer — HR logs in with the mailed
 * second factor, invites; the employee registers on the link; HR approves; a connector pulls the
 * number as CP932 CSV — while a frontend, a worker, an API and the history service are SIGKILLed
 * along the way; the APIs and workers reach Temporal over mutual TLS. Nothing is lost (the journey completes, every part is back), nothing is doubled (one
 * invitation mail, one approval, one pull recorded), and visibility queries on mynaflow's search
 * attributes answer from PostgreSQL. No number reaches this file's output or the cluster's logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import iconv from 'iconv-lite';
import pg from 'pg';
import request from 'supertest';
import { loadConfig } from '../../services/config/config';
import { freePort } from '../../services/devstack/ports';
import { dataConverterFor } from '../../services/temporal/payload-codec';
import { loadKeyring } from '../../services/vault/keyring';
import { isAlive, readStackState } from '../../services/devstack/stack-state';
import { lifecycleQuery, SEARCH_ATTRIBUTES } from '../../shared';
import { randomMyNumber } from '../support/leak-scan';
import { until } from '../support/until';

const ROOT = path.resolve(__dirname, '..', '..');
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5a1e5e40000000049454e44ae426082', 'hex');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-cluster-'));
let ports: { PORT: number; TEMPORAL_PORT: number; SMTP_PORT: number; OUTBOX_PORT: number };
let cluster: ChildProcess;
let output = '';
let exited: Promise<number | null>;
const base = () => `http://127.0.0.1:${ports.PORT}`;
const number = randomMyNumber();

/** The mails the cluster's outbox captured (its own HTTP listing, as a developer reads it). */
async function mails(): Promise<{ id: string; to: string[]; subject: string }[]> {
  return (await fetch(`http://localhost:${ports.OUTBOX_PORT}/messages.json`)).json() as Promise<{ id: string; to: string[]; subject: string }[]>;
}
async function mailText(id: string): Promise<string> {
  return ((await (await fetch(`http://localhost:${ports.OUTBOX_PORT}/messages/${id}.json`)).json()) as { text: string }).text;
}
async function waitForMail(to: string, subject: RegExp, after = 0): Promise<string> {
  let found: { id: string } | undefined;
  await until(async () => !!(found = (await mails()).filter((m) => m.to.includes(to) && subject.test(m.subject))[after]), `mail "${subject}" to ${to}`, 120_000, 300);
  return mailText(found!.id);
}

const partPid = (name: string) => readStackState(dataDir)?.parts.find((p) => p.name === name);
/** SIGKILLs a part and waits until the cluster's supervisor has started it again (a new process). */
async function kill(name: string): Promise<() => Promise<void>> {
  const before = partPid(name)!;
  expect(isAlive(before)).toBe(true);
  process.kill(before.pid, 'SIGKILL');
  return async () => {
    await until(async () => {
      const now = partPid(name);
      return !!now && now.pid !== before.pid && isAlive(now);
    }, `${name} to be started again`, 120_000, 500);
  };
}

/** A call through the load balancer, tried again while the answer says "not done" (with its key, a retry acts once). */
async function untilDone(what: string, call: () => Promise<request.Response>, ok: number[]): Promise<request.Response> {
  let last: request.Response | undefined;
  await until(async () => {
    last = await call();
    return ok.includes(last.status);
  }, `${what} (last answer ${last?.status} ${JSON.stringify(last?.body ?? '').slice(0, 200)})`, 180_000, 1000);
  return last!;
}

beforeAll(async () => {
  ports = { PORT: await freePort(), TEMPORAL_PORT: await freePort(), SMTP_PORT: await freePort(), OUTBOX_PORT: await freePort() };
  cluster = spawn(process.execPath, ['--import', 'tsx', 'scripts/cluster.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  cluster.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  cluster.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  exited = new Promise((resolve) => cluster.on('exit', (code) => resolve(code)));
  await until(async () => /mynaflow cluster is running/.test(output) || cluster.exitCode !== null, 'the cluster to come up', 480_000, 500).catch((err: Error) => {
    throw new Error(`${err.message}\n${output.slice(-4000)}`);
  });
  if (cluster.exitCode !== null) throw new Error(`npm run cluster exited ${cluster.exitCode}:\n${output.slice(-4000)}`);
}, 600_000);

afterAll(async () => {
  if (cluster && cluster.exitCode === null) {
    cluster.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
  }
  // The cluster's logs are this run's output too: the number typed never in them.
  fs.writeFileSync(path.join(dataDir, 'output.log'), output);
  expect(output.includes(number)).toBe(false);
}, 120_000);

it('runs every part as a process of its own, the database roles apart, the namespace kept 30 days', async () => {
  // PostgreSQL is two entries: runuser and the server behind it.
  const names = [...new Set(readStackState(dataDir)!.parts.map((p) => p.name))].sort();
  expect(names).toEqual(['api-1', 'api-2', 'haproxy', 'outbox', 'postgres', 'temporal-frontend-1', 'temporal-frontend-2', 'temporal-history', 'temporal-matching', 'temporal-worker', 'worker-1', 'worker-2']);
  const owner = new pg.Client({ connectionString: fs.readFileSync(path.join(dataDir, 'database-owner-url'), 'utf8').trim() });
  await owner.connect();
  try {
    const dbs = (await owner.query<{ datname: string; owner: string }>(`SELECT datname, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname IN ('mynaflow', 'temporal', 'temporal_visibility') ORDER BY 1`)).rows;
    expect(dbs.map((d) => `${d.datname}:${d.owner}`)).toEqual(['mynaflow:mynaflow', 'temporal:temporal', 'temporal_visibility:temporal']);
  } finally {
    await owner.end();
  }
  expect(new URL(fs.readFileSync(path.join(dataDir, 'database-url'), 'utf8')).username).toBe('mynaflow_app');
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.TEMPORAL_PORT}` });
  try {
    const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(Number(ns.config!.workflowExecutionRetentionTtl!.seconds)).toBe(30 * 86_400);
  } finally {
    await connection.close();
  }
});

it('the apps reach Temporal over mutual TLS: the cluster\'s client certificate gets in, no certificate and plain gRPC do not', async () => {
  const tlsPort = Number(/Temporal \(mTLS\) 127\.0\.0\.1:(\d+) as (\S+)/.exec(output)![1]);
  const serverName = /Temporal \(mTLS\) 127\.0\.0\.1:\d+ as (\S+)/.exec(output)![1]!;
  const file = (name: string) => fs.readFileSync(path.join(dataDir, 'tls', name));
  const address = `127.0.0.1:${tlsPort}`;
  const attempt = async (opts: Parameters<typeof Connection.connect>[0]) => {
    try {
      const c = await Connection.connect({ ...opts, connectTimeout: 3000 });
      try {
        await c.withDeadline(Date.now() + 3000, () => c.workflowService.describeNamespace({ namespace: 'default' }));
        return 'served';
      } finally {
        await c.close();
      }
    } catch {
      return 'refused';
    }
  };
  const verified = { serverRootCACertificate: file('ca.pem'), serverNameOverride: serverName };
  expect(await attempt({ address, tls: { ...verified, clientCertPair: { crt: file('client.pem'), key: file('client.key') } } })).toBe('served');
  expect(await attempt({ address, tls: verified })).toBe('refused');
  expect(await attempt({ address })).toBe('refused');
  // The apps are configured so (their environment is the cluster's; their journey below is the proof).
  const api = readStackState(dataDir)!.parts.find((p) => p.name === 'api-1')!;
  const env = fs.readFileSync(`/proc/${api.pid}/environ`, 'utf8').split('\0');
  expect(env).toEqual(expect.arrayContaining([`TEMPORAL_ADDRESS=${address}`, `TEMPORAL_TLS_SERVER_NAME=${serverName}`]));
});

it('the journey through the load balancer completes while a frontend, a worker, an API and the history service are killed; nothing is doubled', async () => {
  const first = /e-mail (\S+)\s+password (\S+)\s+customer number (\S+)/.exec(output)!;
  const [, ownerEmail, ownerPassword, customerNumber] = first;
  const hr = request.agent(base());
  const login = await hr.post('/v1/auth/login').send({ email: ownerEmail, password: ownerPassword, customerNumber }).expect(200);
  expect(login.body.secondFactor).toBe('email');
  const code = /(?<!\d)(\d{6})(?!\d)/.exec(await waitForMail(ownerEmail!, /.*/))![1]!;
  const me = await hr.post('/v1/auth/second-factor').set('X-CSRF-Token', login.body.csrfToken).send({ code }).expect(200);
  const csrf = me.body.csrfToken as string;
  const tenantId = me.body.tenant.id as string;

  // A frontend dies: HAProxy sends the API's calls to the other one.
  const frontendBack = await kill('temporal-frontend-1');
  const email = `cluster-${randomUUID().slice(0, 8)}@example.com`;
  const created = await untilDone('the invitation', () => hr.post('/v1/registrants').set('X-CSRF-Token', csrf).set('Idempotency-Key', `invite-${email}`).send({ familyName: '分散', givenName: '花子', email, employeeCode: 'C001' }), [201]);
  const id = created.body.id as string;
  // A worker dies while the invitation is on its way: the other sends it, once.
  const workerBack = await kill('worker-1');
  const link = /http:\/\/localhost:\d+\/i\/#k=([A-Za-z0-9_-]{43})/.exec(await waitForMail(email, /登録のお願い/))![1]!;

  // An API dies between the employee's steps: the load balancer sends them to the other.
  const phone = request.agent(base());
  const info = await phone.post('/v1/registration/link').send({ token: link }).expect(200);
  const apiBack = await kill('api-1');
  const setUp = await untilDone('the set-up', () => phone.post('/v1/registration/setup').send({ token: link, password: 'cluster-phone-pass', consentedPurposes: info.body.purposes.map((p: { code: string }) => p.code) }), [200]);
  const phoneCsrf = setUp.body.csrfToken as string;
  await phone.put('/v1/registration/profile').set('X-CSRF-Token', phoneCsrf).send({ myNumber: number, myNumberConfirmation: number, gender: 'female', birthDate: '1990-04-01' }).expect(200);
  await phone.post('/v1/registration/documents?purpose=number_confirmation&type=my_number_card&side=back').set('X-CSRF-Token', phoneCsrf).set('Content-Type', 'image/png').send(PNG).expect(201);
  await phone.post('/v1/registration/documents?purpose=identity&type=my_number_card&side=front').set('X-CSRF-Token', phoneCsrf).set('Content-Type', 'image/png').send(PNG).expect(201);
  await untilDone('the submission', () => phone.post('/v1/registration/submission').set('X-CSRF-Token', phoneCsrf).set('Idempotency-Key', `submit-${id}`), [200]);

  // The history service dies just before HR approves: the step waits for it, acts once.
  const historyBack = await kill('temporal-history');
  const approved = await untilDone('the approval', () => hr.post(`/v1/registrants/${id}/approval`).set('X-CSRF-Token', csrf).set('Idempotency-Key', `approve-${id}`).send({}), [200, 202]);
  await until(async () => (await hr.get(`/v1/registrants/${id}`)).body.status === 'completed', 'the person to be completed', 180_000, 1000);
  expect([200, 202]).toContain(approved.status);
  await Promise.all([frontendBack(), workerBack(), apiBack(), historyBack()]);

  // Payroll pulls the number through the load balancer, as Shift_JIS CSV.
  const connector = (await hr.post('/v1/connectors').set('X-CSRF-Token', csrf).send({ name: '給与ソフト', scopes: ['numbers:pull'], allowedPurposes: ['withholding_slip'] }).expect(201)).body;
  const token = (await request(base()).post('/v1/oauth/token').auth(connector.clientId, connector.clientSecret).type('form').send({ grant_type: 'client_credentials' }).expect(200)).body.access_token as string;
  const pulled = await request(base()).post('/v1/numbers/pull').auth(token, { type: 'bearer' }).set('Accept', 'text/csv').send({ purpose: 'withholding_slip', employeeCodes: ['C001'] }).buffer(true).parse((res, cb) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => cb(null, Buffer.concat(chunks)));
  }).expect(200);
  const rows = iconv.decode(pulled.body as Buffer, 'cp932').split('\r\n').filter(Boolean);
  expect({ rows: rows.length, served: rows[1]!.startsWith('"C001",') && rows[1]!.includes(`,"${number}",`) }).toEqual({ rows: 2, served: true });

  // Nothing doubled: one invitation mail, one approval, one submission, one pull in the history.
  expect((await mails()).filter((m) => m.to.includes(email) && /登録のお願い/.test(m.subject))).toHaveLength(1);
  const owner = new pg.Client({ connectionString: fs.readFileSync(path.join(dataDir, 'database-owner-url'), 'utf8').trim() });
  await owner.connect();
  try {
    const ops = (await owner.query<{ operation: string; n: string }>(`SELECT operation, count(*) AS n FROM operation_events WHERE registrant_id = $1 GROUP BY 1`, [id])).rows;
    const count = Object.fromEntries(ops.map((o) => [o.operation, Number(o.n)]));
    expect({ invitation_sent: count.invitation_sent, submitted: count.submitted, approved: count.approved, number_pulled: count.number_pulled }).toEqual({ invitation_sent: 1, submitted: 1, approved: 1, number_pulled: 1 });
    expect((await owner.query(`SELECT 1 FROM registrants WHERE tenant_id = $1 AND employee_code = 'C001'`, [tenantId])).rowCount).toBe(1);
  } finally {
    await owner.end();
  }

  // Advanced visibility on PostgreSQL: the person's workflow found by mynaflow's search attributes.
  const connection = await Connection.connect({ address: `127.0.0.1:${ports.TEMPORAL_PORT}` });
  try {
    // Payloads are encrypted: the cluster's master key (its data folder's keyring) reads them.
    const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(loadKeyring(loadConfig({ DATA_DIR: dataDir }))) });
    const query = `${SEARCH_ATTRIBUTES.tenant.name} = '${tenantId}' AND ${SEARCH_ATTRIBUTES.status.name} = 'completed'`;
    const found: string[] = [];
    await until(async () => {
      found.length = 0;
      for await (const w of client.workflow.list({ query })) found.push(w.workflowId);
      return found.length === 1;
    }, 'the visibility store to list the completed workflow', 60_000, 1000);
    const handle = client.workflow.getHandle(found[0]!);
    expect((await handle.query(lifecycleQuery)).status).toBe('completed');
    expect((await client.workflow.count(`${SEARCH_ATTRIBUTES.tenant.name} = '${tenantId}'`)).count).toBe(1);
  } finally {
    await connection.close();
  }
});

it('Ctrl-C stops every part and the cluster exits cleanly', async () => {
  const parts = readStackState(dataDir)!.parts;
  cluster.kill('SIGINT');
  expect(await exited).toBe(0);
  for (const p of parts) expect([p.name, isAlive(p)]).toEqual([p.name, false]);
}, 120_000);
