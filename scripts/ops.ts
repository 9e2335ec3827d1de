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
  verify-history [--tenant <tenant id>]
      Recomputes the operation-history hash chains; exit code 1 at the first broken link.
  rotate-master-key [--batch-size <n>]
      Re-wraps every data key under a new master key without decrypting any number. With a keyring
      file, a new key is generated into it; with MASTER_KEY, set the new key there and the old one in
      MASTER_KEY_PREVIOUS first. Safe to interrupt and run again. Then restart the API and the worker
      (they seal with the key they loaded) and run it once more to catch what they sealed meanwhile.
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
      'batch-size': { type: 'string' },
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
        const result = await history.verify(values.tenant);
        if (result.ok) {
          console.log(`ok: ${result.checked} events in ${result.tenants} tenant(s), every link intact`);
          return 0;
        }
        const b = result.firstBroken!;
        console.error(`BROKEN: tenant ${b.tenantId}, event ${b.id}: ${b.reason === 'hash_mismatch' ? 'the row was altered' : 'the chain is broken (a row before it was removed or reordered)'}`);
        return 1;
      }
      case 'rotate-master-key': {
        const batchSize = values['batch-size'] ? Number(values['batch-size']) : 500;
        const file = config.masterKey.key ? undefined : (config.masterKey.file ?? defaultKeyringFile(config));
        const before = loadKeyring(config);
        // Only a keyring file gets a fresh key here; with MASTER_KEY the operator brings the new one.
        // A rerun after an interruption continues with the key already made active.
        const resuming = file ? (await prisma.vaultSecret.count({ where: { keyId: { not: before.activeId } } })) > 0 : true;
        if (file && !resuming) addKeyToFile(file);
        const keyring = loadKeyring(config);
        const vault = createVault({ prisma, keyring });
        const result = await vault.rotate({ batchSize, onBatch: (done) => console.log(`  re-wrapped ${done}…`) });
        console.log(`re-wrapped ${result.rewrapped} data key(s) under master key ${keyring.activeId}; ${result.remaining} left`);
        if (result.tampered.length) console.error(`WARNING: ${result.tampered.length} wrapped key(s) failed their integrity check and were left as they are: ${result.tampered.join(', ')}`);
        if (result.unavailable) console.error(`WARNING: ${result.unavailable} secret(s) use a master key this keyring does not have`);
        if (result.remaining > 0) return 1;
        console.log('Next: restart the API and the worker, run rotate-master-key again, then retire-master-keys.');
        for (const t of await prisma.tenant.findMany({ select: { id: true } })) {
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
