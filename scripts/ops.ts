/**
 * Operator commands (`npm run ops -- <command>`), on the database of the running stack
 * (.data/database-url) or DATABASE_URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHistory } from '../services/audit/history';
import { SYSTEM_ACTOR } from '../services/audit/types';
import { ConfigError, loadConfig } from '../services/config/config';
import { createPrisma } from '../services/db/client';
import { AppError } from '../services/errors';
import { createTenantWithOwner } from '../services/tenants/bootstrap';
import { addKeyToFile, defaultKeyringFile, loadKeyring, removeKeysFromFile } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';

class CliError extends Error {
  constructor(message: string, public readonly exitCode = 1) {
    super(message);
  }
}

const USAGE = `usage: npm run ops -- <command> [options]

  create-tenant --name <会社名> --owner-email <e-mail> --owner-name <氏名> [--owner-password <pw>] [--customer-number <no>]
      Creates a tenant and its first owner; prints the customer number and the owner's password.
  verify-history [--tenant <tenant id> [--expect <event id>:<hash>]]
      Recomputes the operation-history hash chains; exit code 1 at the first broken link. Prints each
      tenant's head (last event id and hash): keep it outside the database, and pass it back with
      --expect to detect a chain cut off at its end.
  rotate-master-key [--batch-size <n>] [--continue]
      Re-wraps every data key under a new master key without decrypting any number. With a keyring
      file, a new key is generated into it; with MASTER_KEY, set the new key there and the old one in
      MASTER_KEY_PREVIOUS first. Safe to interrupt: run it again to go on. Then restart the API and
      the worker (they seal with the key they loaded) and run it with --continue, which re-wraps what
      they sealed meanwhile under the same new key instead of starting another rotation.
  retire-master-keys
      Removes from the keyring file the old keys no data key uses any more. Run after the restart.
  unlock-user --email <e-mail> [--customer-number <no>]
      Lifts a login lock.
  list-tenants
      Shows every tenant with its customer number.`;

function databaseUrl(dataDir: string): string {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  const file = path.join(dataDir, 'database-url');
  if (!fs.existsSync(file)) throw new CliError('no database: start the stack (npm start) or set DATABASE_URL', 2);
  return fs.readFileSync(file, 'utf8').trim();
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' },
      'owner-email': { type: 'string' },
      'owner-name': { type: 'string' },
      'owner-password': { type: 'string' },
      'customer-number': { type: 'string' },
      tenant: { type: 'string' },
      email: { type: 'string' },
      expect: { type: 'string' },
      'batch-size': { type: 'string' },
      continue: { type: 'boolean' },
    },
    strict: true,
  });
  const config = loadConfig();
  const prisma = createPrisma(databaseUrl(config.dataDir));
  const history = createHistory(prisma);
  try {
    switch (command) {
      case 'create-tenant': {
        const missing = ['name', 'owner-email', 'owner-name'].filter((k) => !values[k as keyof typeof values]);
        if (missing.length) throw new CliError(`missing: ${missing.map((k) => `--${k}`).join(', ')}\n\n${USAGE}`, 2);
        const { tenant, owner, password } = await createTenantWithOwner(prisma, history, {
          tenantName: values.name!,
          ownerEmail: values['owner-email']!,
          ownerName: values['owner-name']!,
          ownerPassword: values['owner-password'],
          customerNumber: values['customer-number'],
        });
        console.log(`tenant        ${tenant.name} (${tenant.id})`);
        console.log(`customer no.  ${tenant.customerNumber}`);
        console.log(`owner         ${owner.email}`);
        if (!values['owner-password']) console.log(`password      ${password}   (shown once: change it after the first login)`);
        return 0;
      }
      case 'verify-history': {
        let anchor: { id: string; hash: string } | undefined;
        if (values.expect) {
          const m = /^(\d+):([0-9a-f]{64})$/.exec(values.expect);
          if (!m || !values.tenant) throw new CliError(`--expect takes <event id>:<hash> as printed, with --tenant\n\n${USAGE}`, 2);
          anchor = { id: m[1]!, hash: m[2]! };
        }
        const result = await history.verify(values.tenant, anchor);
        for (const h of result.heads) console.log(`head  tenant ${h.tenantId}  ${h.id}:${h.hash}`);
        if (result.ok) {
          console.log(`ok: ${result.checked} events in ${result.tenants} tenant(s), every link intact${anchor ? `, event ${anchor.id} still in place` : ''}`);
          return 0;
        }
        const b = result.firstBroken!;
        const why = {
          hash_mismatch: 'the row was altered',
          chain_broken: 'the chain is broken (a row before it was removed or reordered)',
          anchor_missing: 'the expected event is gone or altered (the chain was cut off or rewritten)',
        }[b.reason];
        console.error(`BROKEN: tenant ${b.tenantId}, event ${b.id}: ${why}`);
        return 1;
      }
      case 'rotate-master-key': {
        const batchSize = values['batch-size'] ? Number(values['batch-size']) : 500;
        const file = config.masterKey.key ? undefined : (config.masterKey.file ?? defaultKeyringFile(config));
        const before = loadKeyring(config);
        // Only a keyring file gets a fresh key here; with MASTER_KEY the operator brings the new one.
        // A rerun after an interruption, or --continue, goes on with the key already made active.
        const resuming = values.continue || !file || (await prisma.vaultSecret.count({ where: { keyId: { not: before.activeId } } })) > 0;
        if (file && !resuming) addKeyToFile(file);
        const keyring = loadKeyring(config);
        const vault = createVault({ prisma, keyring });
        const result = await vault.rotate({ batchSize, onBatch: (done) => console.log(`  re-wrapped ${done}…`) });
        console.log(`re-wrapped ${result.rewrapped} data key(s) under master key ${keyring.activeId}; ${result.remaining} left`);
        if (result.tampered.length) console.error(`WARNING: ${result.tampered.length} wrapped key(s) failed their integrity check and were left as they are: ${result.tampered.join(', ')}`);
        if (result.unavailable) console.error(`WARNING: ${result.unavailable} secret(s) use a master key this keyring does not have`);
        if (result.remaining > 0) return 1;
        if (!values.continue) console.log('Next: restart the API and the worker, run rotate-master-key --continue, then retire-master-keys.');
        for (const t of values.continue && !result.rewrapped ? [] : await prisma.tenant.findMany({ select: { id: true } })) {
          await history.record({ tenantId: t.id, actor: SYSTEM_ACTOR, operation: 'master_key_rotated', detail: { keyId: keyring.activeId } });
        }
        return 0;
      }
      case 'retire-master-keys': {
        const file = config.masterKey.key ? undefined : (config.masterKey.file ?? defaultKeyringFile(config));
        if (!file) {
          console.log('keys come from MASTER_KEY: remove MASTER_KEY_PREVIOUS once rotate-master-key reports 0 left');
          return 0;
        }
        const keyring = loadKeyring(config);
        const unused = [];
        for (const id of keyring.ids().filter((k) => k !== keyring.activeId)) {
          if ((await prisma.vaultSecret.count({ where: { keyId: id } })) === 0) unused.push(id);
        }
        removeKeysFromFile(file, unused);
        console.log(unused.length ? `retired ${unused.join(', ')} from ${file}` : 'no unused old key to retire');
        return 0;
      }
      case 'unlock-user': {
        if (!values.email) throw new CliError(`missing: --email\n\n${USAGE}`, 2);
        const users = await prisma.loginUser.findMany({
          where: { email: values.email.toLowerCase(), deletedAt: null, ...(values['customer-number'] ? { tenant: { customerNumber: values['customer-number'] } } : {}) },
        });
        if (users.length !== 1) throw new CliError(users.length ? 'several tenants use this e-mail: add --customer-number' : 'no such login user');
        await prisma.loginUser.update({ where: { id: users[0]!.id }, data: { lockedAt: null, failedLogins: 0 } });
        await history.record({ tenantId: users[0]!.tenantId, actor: SYSTEM_ACTOR, operation: 'login_unlocked', detail: { loginUserId: users[0]!.id } });
        console.log(`unlocked ${values.email}`);
        return 0;
      }
      case 'list-tenants': {
        for (const t of await prisma.tenant.findMany({ orderBy: { createdAt: 'asc' } })) console.log(`${t.customerNumber}  ${t.name}  (${t.id})`);
        return 0;
      }
      default:
        console.error(`unknown command: ${command}\n\n${USAGE}`);
        return 2;
    }
  } finally {
    await prisma.$disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err instanceof ConfigError || err instanceof CliError ? err.message : err instanceof AppError ? err.title : `ops: ${err.message}`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  },
);
