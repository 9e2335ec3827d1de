/**
 * The run command (`npm start` = setup + scripts/start.ts) as a newcomer meets it: the whole stack up
 * on embedded defaults, Ctrl-C to stop, a second start keeping the data, and clear messages for bad
 * configuration.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../services/devstack/ports';
import { isAlive, readStackState } from '../services/devstack/stack-state';
import { TEMPORAL_CLI } from './support/temporal';
import { runStart, type Started } from './support/npm-start';


async function until(what: string, probe: () => boolean | Promise<boolean>, ms: number, started?: Started) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await Promise.resolve(probe()).catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} not reached within ${ms} ms${started ? `; output:\n${started.output()}` : ''}`);
}

interface MailSummary {
  id: string;
  to: string[];
  subject: string;
}

async function mailsTo(outboxUrl: string, to: string): Promise<MailSummary[]> {
  const all = (await (await fetch(`${outboxUrl}/messages.json`)).json()) as MailSummary[];
  return all.filter((m) => m.to.includes(to));
}

/** Password, then the 6-digit code from the newest second-factor mail in the outbox. */
async function logIn(api: string, outboxUrl: string, email: string, password: string) {
  const res = await fetch(`${api}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  let code: string | undefined;
  await until('the second-factor mail', async () => {
    const [newest] = (await mailsTo(outboxUrl, email)).filter((m) => m.subject.includes('第二認証コード'));
    if (!newest) return false;
    const { text } = (await (await fetch(`${outboxUrl}/messages/${newest.id}.json`)).json()) as { text: string };
    code = /(?<!\d)\d{6}(?!\d)/.exec(text)?.[0];
    return code !== undefined;
  }, 30_000);
  const second = await fetch(`${api}/v1/auth/second-factor`, { method: 'POST', headers: { 'content-type': 'application/json', cookie }, body: JSON.stringify({ code }) });
  expect(second.status).toBe(200);
  return { cookie, csrf: csrfToken };
}

const pgroupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm start on the embedded defaults', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-start-'));
  let ports: Record<string, number>;

  beforeAll(async () => {
    ports = {
      PORT: await freePort(),
      TEMPORAL_PORT: await freePort(),
      TEMPORAL_UI_PORT: await freePort(),
      SMTP_PORT: await freePort(),
      OUTBOX_PORT: await freePort(),
    };
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const env = () => ({ DATA_DIR: dataDir, ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])) });

  async function startAndWait(): Promise<Started> {
    const s = runStart(env());
    await until('the "running" banner', () => s.output().includes('mynaflow is running'), 180_000, s);
    return s;
  }

  async function ctrlC(s: Started) {
    const parts = readStackState(dataDir)!.parts;
    expect(parts.length).toBeGreaterThanOrEqual(5);
    process.kill(-s.child.pid!, 'SIGINT');
    expect(await s.exited).toBe(0);
    // The terminal's group and every part (postgres, temporal, outbox, worker, api; each in a group
    // of its own, stopped by the supervisor) are gone.
    await until('the process group to end', () => !pgroupAlive(s.child.pid!), 30_000);
    await until('every part to end', () => parts.every((p) => !isAlive(p)), 30_000);
  }

  it('brings the stack up, mails an invitation, lists the workflow; Ctrl-C stops it all; a restart keeps the data', async () => {
    const api = `http://127.0.0.1:${ports.PORT}`;
    const first = await startAndWait();
    for (const url of [`${api}/docs/`, `http://localhost:${ports.TEMPORAL_UI_PORT}`, `http://localhost:${ports.OUTBOX_PORT}`]) {
      expect(first.output()).toContain(url);
    }
    const health = await (await fetch(`${api}/healthz`)).json();
    expect(health).toMatchObject({ status: 'ok', checks: { database: { status: 'ok' }, temporal: { status: 'ok' } } });

    // The first start made an owner and showed the password once.
    const shown = /e-mail (\S+)\s+password (\S+)/.exec(first.output());
    expect(shown).not.toBeNull();
    const outboxUrl = `http://127.0.0.1:${ports.OUTBOX_PORT}`;
    const session = await logIn(api, outboxUrl, shown![1]!, shown![2]!);

    const created = await fetch(`${api}/v1/registrants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: session.cookie, 'x-csrf-token': session.csrf },
      body: JSON.stringify({ familyName: '山田', givenName: '太郎', email: 'taro@example.co.jp' }),
    });
    expect(created.status).toBe(201);
    const registrant = (await created.json()) as { id: string; workflowId: string };

    const invitation = await until('the invitation in the outbox', async () => (await mailsTo(outboxUrl, 'taro@example.co.jp')).length === 1, 60_000, first);
    void invitation;
    const [mail] = await mailsTo(outboxUrl, 'taro@example.co.jp');
    expect(mail).toMatchObject({ to: ['taro@example.co.jp'], subject: '【サンプル株式会社】マイナンバー登録のお願い' });
    expect(fs.readdirSync(path.join(dataDir, 'outbox')).filter((f) => f.endsWith('.eml')).length).toBeGreaterThanOrEqual(2);

    // Every connection of the API and worker is the app role's, which owns nothing; only
    // migrations (and npm run prisma) use the owner's URL.
    const owner = new pg.Client({ connectionString: fs.readFileSync(path.join(dataDir, 'database-owner-url'), 'utf8').trim() });
    await owner.connect();
    try {
      const { rows } = await owner.query<{ usename: string }>(`SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = 'mynaflow' AND pid <> pg_backend_pid()`);
      expect(rows.map((r) => r.usename)).toEqual(['mynaflow_app']);
    } finally {
      await owner.end();
    }
    expect(new URL(fs.readFileSync(path.join(dataDir, 'database-url'), 'utf8').trim()).username).toBe('mynaflow_app');

    const listed = execFileSync(TEMPORAL_CLI, ['workflow', 'list', '--address', `127.0.0.1:${ports.TEMPORAL_PORT}`, '--output', 'json'], { encoding: 'utf8' });
    expect(JSON.parse(listed).map((w: { execution: { workflowId: string } }) => w.execution.workflowId)).toContain(registrant.workflowId);

    await ctrlC(first);

    const second = await startAndWait();
    expect(second.output()).toContain('database schema is up to date');
    // No second sample owner: the data, the owner and the session store survived.
    expect(second.output()).not.toContain('First start');
    const again = await fetch(`${api}/v1/registrants/${registrant.id}`, { headers: { cookie: session.cookie } });
    expect(again.status).toBe(200);
    // The invitation survived too: still open, with its expiry.
    expect(((await again.json()) as { invitation: { state: string } }).invitation.state).toBe('open');
    expect(await mailsTo(outboxUrl, 'taro@example.co.jp')).toHaveLength(1);
    await ctrlC(second);
  }, 420_000);
});

describe('npm start with bad configuration', () => {
  async function failedStart(env: NodeJS.ProcessEnv) {
    const s = runStart({ DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-bad-')), ...env });
    const code = await s.exited;
    return { code, output: s.output() };
  }

  it('lists every invalid setting at once, without a stack trace', async () => {
    const { code, output } = await failedStart({ PORT: 'abc', DATABASE_URL: 'mysql://x', INVITE_REMINDER_DAYS: '30,7' });
    expect(code).toBe(1);
    expect(output).toContain('PORT: must be a port number from 1 to 65535');
    expect(output).toContain('DATABASE_URL: must be a URL with a host, starting with postgresql://');
    expect(output).toContain('INVITE_REMINDER_DAYS: days must be positive and increasing');
    expect(output).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('names the unreachable database', async () => {
    const dead = await freePort();
    const { code, output } = await failedStart({
      PORT: String(await freePort()),
      DATABASE_URL: `postgresql://u:p@127.0.0.1:${dead}/db`,
      TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
      SMTP_URL: `smtp://127.0.0.1:${await freePort()}`,
    });
    expect(code).toBe(1);
    expect(output).toContain(`cannot connect to PostgreSQL at 127.0.0.1:${dead}`);
    expect(output).toContain('Check DATABASE_URL');
    expect(output).not.toMatch(/\n\s+at .+:\d+:\d+/);
  });

  it('names the port in use and the setting that moves it', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    try {
      const { code, output } = await failedStart({
        PORT: String(taken),
        DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/db',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        SMTP_URL: 'smtp://127.0.0.1:1',
      });
      expect(code).toBe(1);
      expect(output).toContain(`port ${taken} (the API) is already in use: set PORT to a free port`);
    } finally {
      blocker.close();
    }
  });
});
