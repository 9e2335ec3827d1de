/**
 * A number travels the whole product (typed full-width with hyphens, corrected, revealed, mistyped,
 * deleted) and is then looked for everywhere it must not be: the log, every HTTP response but the
 * reveal, the mails, the Temporal history of every workflow, and a full pg_dump of the database —
 * as typed, as digits, as UTF-8 hex and as base64. Global tear-down scans the log of the whole run.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import type request from 'supertest';
import { postgresBinDir } from '../services/devstack/postgres';
import { createPayloadCodec } from '../services/temporal/payload-codec';
import { createLoginUser, createTenant, memoryLogger, type Agent, type TestUser } from './support/fixtures';
import { testKeyring } from './support/keys';
import { containsAny, findMyNumbers, randomMyNumber, typedFullWidth, withoutRandomTokens } from './support/leak-scan';
import { useWorkerHarness } from './support/worker-harness';
import { ownerUrl } from './support/migrate';

const TASK_QUEUE = 'leak-scan';
const log = memoryLogger();
const harness = useWorkerHarness({ taskQueue: TASK_QUEUE, logger: log.logger });
let hr: Agent;
let user: TestUser;

/** Every response body the scenario received, except the reveal's. */
const responses: string[] = [];
const first = randomMyNumber();
let second = randomMyNumber();
while (second === first) second = randomMyNumber();
/** A wrong check digit: not a valid number, but still what a person typed. */
const mistyped = `${second.slice(0, 11)}${(Number(second[11]) + 1) % 10}`;
const used = [first, second, mistyped];

beforeAll(async () => {
  const tenantId = await createTenant(harness.prisma, '漏えい検査株式会社');
  user = await createLoginUser(harness.prisma, tenantId, 'manager');
  hr = await harness.login(user);

  const keep = (res: request.Response) => (responses.push(res.text ?? ''), res);
  const created = keep(await hr.post('/v1/registrants').send({ familyName: '漏洩', givenName: '検査', email: 'leak@example.co.jp' }).expect(201));
  const id = created.body.id as string;
  await harness.outbox.waitFor((m) => m.to.includes('leak@example.co.jp'));
  const url = `/v1/registrants/${id}/my-number`;
  keep(await hr.put(url).send({ myNumber: typedFullWidth(first), myNumberConfirmation: first }).expect(204));
  keep(await hr.get(`/v1/registrants/${id}`).expect(200));
  keep(await hr.put(url).send({ myNumber: mistyped, myNumberConfirmation: mistyped }).expect(400));
  keep(await hr.put(url).send({ myNumber: second, myNumberConfirmation: first }).expect(400));
  keep(await hr.put(url).send({ myNumber: second, myNumberConfirmation: `${second.slice(0, 6)} ${second.slice(6)}` }).expect(204));
  const revealed = await hr.post(`${url}/reveal`).send({ password: user.password, purpose: 'withholding_slip' }).expect(200);
  // The one place the number may be: proves the scenario really stored it.
  expect(revealed.body.myNumber === second).toBe(true);
  keep(await hr.post(`${url}/reveal`).send({ password: 'wrong-password', purpose: 'withholding_slip' }).expect(400));
  keep(await hr.get('/v1/operation-history').expect(200));
  keep(await hr.get('/v1/operation-history.csv?encoding=utf8').expect(200));
  keep(await hr.delete(url).send({ password: user.password }).expect(204));
  keep(await hr.get(`/v1/registrants/${id}`).expect(200));
});

/** Fails naming where, never what. */
function expectClean(what: string, text: string) {
  expect({ what, knownNumbers: containsAny(text, used).length, validNumbers: findMyNumbers(withoutRandomTokens(text), what).map((f) => f.masked) }).toEqual({
    what,
    knownNumbers: 0,
    validNumbers: [],
  });
}

it('the scenario really ran (history of each step)', async () => {
  const ops = (await harness.prisma.operationEvent.findMany({ where: { tenantId: user.tenantId }, select: { operation: true } })).map((e) => e.operation);
  expect(ops).toEqual(expect.arrayContaining(['number_registered', 'number_updated', 'number_revealed', 'number_deleted']));
  expect(log.lines.length).toBeGreaterThan(10);
});

it('not in the log', () => {
  expectClean('log', log.lines.join(''));
});

it('not in any HTTP response but the reveal', () => {
  expect(responses.length).toBeGreaterThan(8);
  expectClean('responses', responses.join('\n'));
});

it('not in any mail', () => {
  expect(harness.outbox.mails.length).toBeGreaterThan(0);
  expectClean('mails', harness.outbox.mails.map((m) => `${m.subject}\n${m.text}\n${m.html}\n${m.raw.toString('utf8')}`).join('\n'));
});

it('not in the Temporal history of any workflow, payloads decrypted and decoded', async () => {
  const histories: string[] = [];
  const codec = createPayloadCodec(testKeyring());
  // Every payload of a history (encrypted by the codec): decrypted, so a number inside would show.
  const payloadsOf = (node: unknown, out: Payload[] = []): Payload[] => {
    if (!node || typeof node !== 'object' || node instanceof Uint8Array) return out;
    if ('metadata' in node && 'data' in node && (node as Payload).data instanceof Uint8Array) out.push(node as Payload);
    else for (const v of Object.values(node)) payloadsOf(v, out);
    return out;
  };
  // Payload data are bytes: look at them as text and as base64, the way they would leak.
  const asText = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? `${Buffer.from(x).toString('utf8')} ${Buffer.from(x).toString('base64')}` : x));
  let decrypted = 0;
  for await (const wf of harness.env.client.workflow.list()) {
    const history = await harness.env.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
    const opened = await codec.decode(payloadsOf(history));
    decrypted += opened.length;
    histories.push(asText(history), asText(opened));
  }
  expect(decrypted).toBeGreaterThan(0);
  expect(histories.length).toBeGreaterThan(0);
  expect(histories.join('')).toContain('registrant');
  expectClean('temporal history', histories.join('\n'));
});

it('not in a full pg_dump of the database', () => {
  const dump = execFileSync(path.join(postgresBinDir(), 'pg_dump'), ['--dbname', ownerUrl(), '--no-owner'], {
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  });
  expect(dump).toContain('漏洩');
  expectClean('pg_dump', dump);
});
