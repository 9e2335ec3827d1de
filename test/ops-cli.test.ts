/**
 * The operator CLI as an operator runs it (`npm run ops -- …`), as a child process, on a database of
 * its own: rotating master keys re-wraps every secret in the database, which must not touch the
 * secrets other test files seal in the shared one.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { verifyPassword } from '../services/auth/passwords';
import { loadConfig } from '../services/config/config';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { createKeyring, defaultKeyringFile, loadKeyring } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';
import { randomMyNumber } from './support/leak-scan';
import { runOps, type OpsOutcome } from './support/ops-cli';
import { migrateAsOwner, ownerUrl } from './support/migrate';

const database = `mynaflow_ops_${randomBytes(4).toString('hex')}`;
let url: string;
let prisma: PrismaClient;
/** the database's owner: what the app role cannot do (bypassing the history's triggers) */
let owner: PrismaClient;
let dataDir: string;

/** Runs `npm run ops -- …` against this test's database. */
const ops = (...args: string[]): Promise<OpsOutcome> => runOps({ DATABASE_URL: url, DATA_DIR: dataDir }, ...args);

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ownerUrl() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  await admin((c) => c.query(`CREATE DATABASE "${database}"`));
  const u = new URL(ownerUrl());
  u.pathname = `/${database}`;
  // The operator's commands connect as the app role, as npm start's .data/database-url does.
  url = await migrateAsOwner(u.toString(), { login: false });
  owner = createPrisma(u.toString());
  prisma = createPrisma(url);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-ops-'));
}, 120_000);

afterAll(async () => {
  await prisma?.$disconnect();
  await owner?.$disconnect();
  await admin((c) => c.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`));
});

const tenantByName = (name: string) => prisma.tenant.findFirstOrThrow({ where: { name } });

describe('usage', () => {
  test('help prints every command; no command or an unknown one exits 2 with the usage', async () => {
    const help = await ops('help');
    expect(help.code).toBe(0);
    for (const c of ['create-tenant', 'verify-history', 'rotate-master-key', 'retire-master-keys', 'unlock-user', 'list-tenants', 'delete-tenant']) expect(help.stdout).toContain(c);

    expect((await ops()).code).toBe(2);
    const unknown = await ops('drop-everything');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command: drop-everything');
    const badOption = await ops('list-tenants', '--force');
    expect(badOption.code).not.toBe(0);
    expect(badOption.stderr).toMatch(/--force/);
  });

  test('without a database it says how to get one, exit 2', async () => {
    const err = await runOps({ DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'mynaflow-empty-')) }, 'list-tenants');
    expect(err).toMatchObject({ code: 2, stderr: expect.stringContaining('no database: start the stack (npm start) or set DATABASE_URL') });
  });
});

describe('delete-tenant', () => {
  test('needs the owner\'s database URL, then shows what would go and deletes nothing without --confirm <customer number> (exit 3)', async () => {
    const made = await ops('create-tenant', '--name', '終了予定株式会社', '--owner-email', 'end-owner@example.co.jp', '--owner-name', '終了 太郎');
    expect(made.code).toBe(0);
    const t = await tenantByName('終了予定株式会社');
    // Temporal is not asked before the confirmation (an address nobody listens on is enough).
    const env = { DATABASE_URL: url, DATA_DIR: dataDir, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    const noOwner = await runOps(env, 'delete-tenant', '--tenant', t.id);
    expect(noOwner).toMatchObject({ code: 2, stderr: expect.stringContaining('DATABASE_OWNER_URL') });
    const u = new URL(ownerUrl());
    u.pathname = `/${database}`;
    const asked = await runOps({ ...env, DATABASE_OWNER_URL: u.toString() }, 'delete-tenant', '--tenant', t.id);
    expect(asked.code).toBe(3);
    expect(asked.stdout).toContain('終了予定株式会社');
    expect(asked.stdout).toContain(`--confirm ${t.customerNumber}`);
    expect(asked.stdout).toContain('1 login users');
    expect(await prisma.tenant.count({ where: { id: t.id } })).toBe(1);
  });
});

describe('create-tenant, list-tenants, unlock-user', () => {
  test('creates a tenant and its owner, whose printed password works, and records it in the history', async () => {
    const out = await ops('create-tenant', '--name', '株式会社みどり商事', '--owner-email', 'Owner@Midori.example.jp', '--owner-name', '緑川 花子');
    expect(out).toMatchObject({ code: 0, stderr: '' });
    const tenant = await tenantByName('株式会社みどり商事');
    expect(out.stdout).toContain(`customer no.  ${tenant.customerNumber}`);
    const password = /password\s+(\S+)/.exec(out.stdout)?.[1];
    expect(password).toBeDefined();

    const owner = await prisma.loginUser.findFirstOrThrow({ where: { tenantId: tenant.id } });
    expect(owner).toMatchObject({ email: 'owner@midori.example.jp', name: '緑川 花子', role: 'owner' });
    await expect(verifyPassword(password!, owner.passwordHash)).resolves.toBe(true);
    const events = await prisma.operationEvent.findMany({ where: { tenantId: tenant.id } });
    expect(events.length).toBeGreaterThan(0);

    const list = await ops('list-tenants');
    expect(list.stdout).toContain(`${tenant.customerNumber}  株式会社みどり商事  (${tenant.id})`);
  });

  test('a password given on the command line is used and not echoed; missing options are named', async () => {
    const out = await ops('create-tenant', '--name', '青空建設', '--owner-email', 'sora@aozora.example.jp', '--owner-name', '青空 太郎', '--owner-password', 'Aozora-2026!', '--customer-number', 'AOZORA0001');
    expect(out.code).toBe(0);
    expect(out.stdout).not.toContain('Aozora-2026!');
    const tenant = await tenantByName('青空建設');
    expect(tenant.customerNumber).toBe('AOZORA0001');
    const owner = await prisma.loginUser.findFirstOrThrow({ where: { tenantId: tenant.id } });
    await expect(verifyPassword('Aozora-2026!', owner.passwordHash)).resolves.toBe(true);

    const missing = await ops('create-tenant', '--name', '名前だけ株式会社');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing: --owner-email, --owner-name');
    expect(await prisma.tenant.count({ where: { name: '名前だけ株式会社' } })).toBe(0);
  });

  test('unlock-user lifts every lock and records it; an unknown address changes nothing, exit 1', async () => {
    await ops('create-tenant', '--name', '錠前工業', '--owner-email', 'lock@jomae.example.jp', '--owner-name', '錠前 守');
    const tenant = await tenantByName('錠前工業');
    await prisma.loginUser.updateMany({ where: { tenantId: tenant.id }, data: { lockedAt: new Date(), failedLogins: 5, secondFactorFailures: 10 } });
    const locked = await prisma.loginUser.findFirstOrThrow({ where: { tenantId: tenant.id } });
    await prisma.loginSourceLock.create({ data: { loginUserId: locked.id, source: '198.51.100.7', failures: 5, locks: 1, lockedUntil: new Date(Date.now() + 3_600_000) } });

    const out = await ops('unlock-user', '--email', 'LOCK@jomae.example.jp');
    expect(out).toMatchObject({ code: 0, stdout: expect.stringContaining('unlocked') });
    expect(await prisma.loginUser.findFirstOrThrow({ where: { tenantId: tenant.id } })).toMatchObject({ lockedAt: null, failedLogins: 0, secondFactorFailures: 0 });
    expect(await prisma.loginSourceLock.count({ where: { loginUserId: locked.id } })).toBe(0);
    expect(await prisma.operationEvent.count({ where: { tenantId: tenant.id, operation: 'login_unlocked' } })).toBe(1);

    const unknown = await ops('unlock-user', '--email', 'nobody@jomae.example.jp');
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('no such login user') });
    expect((await ops('unlock-user')).code).toBe(2);
  });
});

describe('verify-history', () => {
  test('history-head signs the head; --head checks the signature and that its event is still there', async () => {
    await ops('create-tenant', '--name', '署名株式会社', '--owner-email', 'sign@shomei.example.jp', '--owner-name', '署名 花子');
    const tenant = await tenantByName('署名株式会社');
    const file = path.join(dataDir, 'head.json');
    expect(await ops('history-head', '--tenant', tenant.id, '--out', file)).toMatchObject({ code: 0, stdout: expect.stringContaining('signed head of event') });
    const head = JSON.parse(fs.readFileSync(file, 'utf8')) as { id: string; hash: string; signature: string };
    expect(head).toMatchObject({ tenantId: tenant.id, signature: expect.stringMatching(/^[0-9a-f]{16}\.[0-9a-f]{64}$/) });
    expect(await ops('verify-history', '--tenant', tenant.id, '--head', file)).toMatchObject({ code: 0, stdout: expect.stringContaining(`event ${head.id} still in place`) });

    // Edited (its date moved; the row it names is there, unchanged): the signature no longer fits.
    const edited = path.join(dataDir, 'head-edited.json');
    fs.writeFileSync(edited, JSON.stringify({ ...head, signedAt: '2030-01-01T00:00:00.000Z' }));
    expect(await ops('verify-history', '--tenant', tenant.id, '--head', edited)).toMatchObject({ code: 1, stderr: expect.stringContaining("the saved head's signature is wrong") });

    // The head's row removed by the owner: the chain alone looks whole, the signed head does not.
    const last = await prisma.operationEvent.findFirstOrThrow({ where: { id: BigInt(head.id) } });
    await owner.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
      await tx.$executeRaw`DELETE FROM operation_events WHERE id = ${last.id}`;
    });
    expect((await ops('verify-history', '--tenant', tenant.id)).code).toBe(0);
    expect(await ops('verify-history', '--tenant', tenant.id, '--head', file)).toMatchObject({ code: 1, stderr: expect.stringContaining('the expected event is gone or altered') });
    const { id: _id, ...content } = last;
    await prisma.operationEvent.create({ data: { id: last.id, ...content, detail: content.detail ?? undefined } });
    expect((await ops('verify-history', '--tenant', tenant.id, '--head', file)).code).toBe(0);

    expect(await ops('verify-history', '--head', file)).toMatchObject({ code: 2, stderr: expect.stringContaining('--head needs --tenant') });
    fs.writeFileSync(edited, '{"id": 1}');
    expect(await ops('verify-history', '--tenant', tenant.id, '--head', edited)).toMatchObject({ code: 2, stderr: expect.stringContaining('not a head written by history-head') });
  });

  test('prints each head; with --expect it catches a chain cut off at its end', async () => {
    await ops('create-tenant', '--name', '検証株式会社', '--owner-email', 'audit@kensho.example.jp', '--owner-name', '検証 一郎');
    const tenant = await tenantByName('検証株式会社');
    const last = await prisma.operationEvent.findFirstOrThrow({ where: { tenantId: tenant.id }, orderBy: { id: 'desc' } });

    const ok = await ops('verify-history', '--tenant', tenant.id);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`head  tenant ${tenant.id}  ${last.id}:${last.hash}`);
    expect(ok.stdout).toMatch(/ok: \d+ events in 1 tenant\(s\), every link intact/);
    const anchored = await ops('verify-history', '--tenant', tenant.id, '--expect', `${last.id}:${last.hash}`);
    expect(anchored).toMatchObject({ code: 0, stdout: expect.stringContaining(`event ${last.id} still in place`) });

    // The newest row removed as a superuser would: the chain alone still looks whole.
    await owner.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
      await tx.$executeRaw`DELETE FROM operation_events WHERE id = ${last.id}`;
    });
    expect((await ops('verify-history', '--tenant', tenant.id)).code).toBe(0);
    const cut = await ops('verify-history', '--tenant', tenant.id, '--expect', `${last.id}:${last.hash}`);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(`BROKEN: tenant ${tenant.id}, event ${last.id}: the expected event is gone or altered`);

    const malformed = await ops('verify-history', '--expect', `${last.id}:${last.hash}`);
    expect(malformed).toMatchObject({ code: 2, stderr: expect.stringContaining('--expect takes <event id>:<hash>') });
  });

  test('an altered row fails the whole-database check, exit 1, naming the row', async () => {
    await ops('create-tenant', '--name', '改竄株式会社', '--owner-email', 'x@kaizan.example.jp', '--owner-name', '改竄 次郎');
    const tenant = await tenantByName('改竄株式会社');
    const row = await prisma.operationEvent.findFirstOrThrow({ where: { tenantId: tenant.id }, orderBy: { id: 'asc' } });
    await owner.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
      await tx.$executeRaw`UPDATE operation_events SET label = 'ログイン' WHERE id = ${row.id}`;
    });
    const out = await ops('verify-history');
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`BROKEN: tenant ${tenant.id}, event ${row.id}: the row was altered`);
    await owner.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL session_replication_role = replica');
      await tx.$executeRaw`UPDATE operation_events SET label = ${row.label} WHERE id = ${row.id}`;
    });
    expect((await ops('verify-history')).code).toBe(0);
  });
});

describe('rotate-master-key, retire-master-keys', () => {
  test('re-wraps every data key under a new key without changing a number; retires keys nothing uses, keeps those that chained history', async () => {
    const tenant = await tenantByName('株式会社みどり商事');
    const config = loadConfig({ DATA_DIR: dataDir });
    const before = loadKeyring(config); // generates DATA_DIR/master-keys.json, as the API would
    const numbers = Array.from({ length: 7 }, () => randomMyNumber());
    const vault = createVault({ prisma, keyring: before });
    const ids = [];
    for (const n of numbers) ids.push(await vault.seal({ tenantId: tenant.id, kind: 'my_number', plaintext: Buffer.from(n) }));

    const out = await ops('rotate-master-key', '--batch-size', '3');
    expect(out.code).toBe(0);
    const after = loadKeyring(config);
    expect(after.activeId).not.toBe(before.activeId);
    expect(after.ids().sort()).toEqual([before.activeId, after.activeId].sort());
    expect(out.stdout).toContain(`re-wrapped 7 data key(s) under master key ${after.activeId}; 0 left`);
    expect(await prisma.vaultSecret.count({ where: { keyId: { not: after.activeId } } })).toBe(0);
    expect(await prisma.operationEvent.count({ where: { tenantId: tenant.id, operation: 'master_key_rotated' } })).toBe(1);

    // an API process not yet restarted still seals under the old key; --continue re-wraps that one
    // under the same new key instead of starting another rotation
    const numbers2 = randomMyNumber();
    const straggler = await vault.seal({ tenantId: tenant.id, kind: 'my_number', plaintext: Buffer.from(numbers2) });
    const again = await ops('rotate-master-key', '--continue');
    expect(again).toMatchObject({ code: 0, stdout: expect.stringContaining(`re-wrapped 1 data key(s) under master key ${after.activeId}; 0 left`) });
    expect(loadKeyring(config).ids()).toHaveLength(2);
    expect(await ops('rotate-master-key', '--continue')).toMatchObject({ code: 0, stdout: expect.stringContaining('re-wrapped 0 data key(s)') });
    expect(await prisma.operationEvent.count({ where: { tenantId: tenant.id, operation: 'master_key_rotated' } })).toBe(2);
    ids.push(straggler);
    numbers.push(numbers2);

    // A key no data key and no history row uses (left over in the file) is retired; the old key
    // chained history rows (e.g. this tenant's creation), so it stays to verify them.
    const file = defaultKeyringFile(config);
    const content = JSON.parse(fs.readFileSync(file, 'utf8')) as { active: string; keys: Record<string, string> };
    const spare = createKeyring(randomBytes(32));
    content.keys[spare.activeId] = spare.get(spare.activeId)!.toString('base64');
    fs.writeFileSync(file, JSON.stringify(content), { mode: 0o600 });
    const retired = await ops('retire-master-keys');
    expect(retired).toMatchObject({ code: 0, stdout: expect.stringContaining(`retired ${spare.activeId}`) });
    expect(retired.stdout).toMatch(new RegExp(`key ${before.activeId} keeps \\d+ history row\\(s\\) verifiable`));
    const final = loadKeyring(config);
    expect(final.ids().sort()).toEqual([before.activeId, after.activeId].sort());
    expect(await ops('verify-history')).toMatchObject({ code: 0 });
    const reopened = createVault({ prisma, keyring: final });
    for (const [i, id] of ids.entries()) expect((await reopened.open(id, tenant.id)).toString('utf8')).toBe(numbers[i]);
    // the file stays private to its owner
    expect(fs.statSync(defaultKeyringFile(config)).mode & 0o077).toBe(0);
    expect((await ops('retire-master-keys')).stdout).toContain('no unused old key to retire');
  });
});
