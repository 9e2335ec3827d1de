/**
 * Operator commands (`npm run ops -- <command>`), on the database of the running stack
 * (.data/database-url) or DATABASE_URL.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createHistory, type OperationHistory, type SignedHead } from '../services/audit/history';
import { SYSTEM_ACTOR } from '../services/audit/types';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { ConfigError, loadConfig, type Config } from '../services/config/config';
import { createPrisma, type PrismaClient } from '../services/db/client';
import { createOperatorActions, type Operator } from '../services/operator/actions';
import { createOperatorAttention } from '../services/operator/attention';
import { createTemporalClient, withDeadline } from '../services/temporal/client';
import { extendLinkUpdate, LIFECYCLE_REFUSALS, remindNowUpdate, retryNowUpdate, type LifecycleState } from '../shared';
import { AppError } from '../services/errors';
import { createTenantWithOwner } from '../services/tenants/bootstrap';
import { seedSandbox } from '../services/tenants/sandbox-seed';
import { createConnectorService, SCOPES } from '../services/connectors/connectors';
import { createContractEnd } from '../services/tenants/contract-end';
import { addKeyToFile, defaultKeyringFile, loadKeyring, removeKeysFromFile } from '../services/vault/keyring';
import { createVault } from '../services/vault/vault';

class CliError extends Error {
  constructor(message: string, public readonly exitCode = 1) {
    super(message);
  }
}

const USAGE = `usage: npm run ops -- <command> [options]

  create-tenant --name <会社名> --owner-email <e-mail> --owner-name <氏名> [--owner-password <pw>] [--customer-number <no>] [--sandbox]
      Creates a tenant and its first owner; prints the customer number and the owner's password.
      --sandbox: a payroll vendor's test company (fixed for its life): it takes only invented
      numbers (12 digits beginning 9999, check digit right), every answer carries
      Mynaflow-Environment: sandbox, and it comes with demo people and dependents and a connector
      with every scope (its client id and secret are printed once).
  verify-history [--tenant <tenant id> [--head <file> | --expect <event id>:<hash>]]
      Recomputes the operation-history chains (keyed by the master key); exit code 1 at the first
      broken link. Prints each tenant's head (last event id and hash). --head checks a signed head
      saved by history-head: its signature, and that its event is still there unchanged (a chain
      cut off at its end or rewritten is caught).
  history-head --tenant <tenant id> [--out <file>]
      Verifies the tenant's chain and prints (or writes) its head signed with the master key, as
      JSON: keep it outside the database (e.g. with each month's audit papers).
  rotate-master-key [--batch-size <n>] [--continue]
      Re-wraps every data key under a new master key without decrypting any number. With a keyring
      file, a new key is generated into it; with MASTER_KEY, set the new key there and the old one in
      MASTER_KEY_PREVIOUS first. Safe to interrupt: run it again to go on. Then restart the API and
      the worker (they seal with the key they loaded) and run it with --continue, which re-wraps what
      they sealed meanwhile under the same new key instead of starting another rotation.
  retire-master-keys
      Removes from the keyring file the old keys no data key and no history row uses any more (the
      history stays verifiable only with every key that chained it). Run after the restart.
  unlock-user --email <e-mail> [--customer-number <no>]
      Lifts a login lock.
  list-tenants
      Shows every tenant with its customer number.

Workflows (on the stack's Temporal: .data/temporal-address, or TEMPORAL_ADDRESS):
  attention --tenant <tenant id>
      What needs an operator: workflows with a step retrying (its error class, rounds, next try)
      or ended without finishing, queued starts, failing webhook deliveries, paused mail.
  retry --registrant <id>        the person's steps waiting out a back-off are tried now
  revive --registrant <id>       starts the person's workflow anew from the database (not running)
  remind --registrant <id>       sends the next reminder now
  extend-link --registrant <id> --days <n>
                                 keeps the open link valid n days longer (at most 90 from now)
  redeliver --delivery <id>      delivers a failed webhook delivery again
  pause-mail --tenant <id> / resume-mail --tenant <id>
      Pauses or resumes the mail to the tenant's employees (resuming retries what waits).
Every action is recorded in the tenant's operation history.

Contract end:
  delete-tenant --tenant <id> [--confirm <customer number> --operator <your name>] [--out <file>]
      Without --confirm: shows what would be deleted and asks for the tenant's customer number.
      With it: stops the tenant's workflows, crypto-shreds every secret and deletes every row of the
      tenant (its people, users, connectors, mails, operation history) in one transaction, and
      prints (or writes) the deletion certificate (no personal data; its digest is keyed by the
      master key). Irreversible.`;

/** A head written by history-head; the signature is checked by verify. */
function readSignedHead(file: string): SignedHead {
  let head: Partial<SignedHead>;
  try {
    head = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SignedHead>;
  } catch (err) {
    throw new CliError(`cannot read the signed head ${file}: ${(err as Error).message}`, 2);
  }
  const fields = ['tenantId', 'id', 'hash', 'signedAt', 'signature'] as const;
  if (fields.some((k) => typeof head[k] !== 'string')) throw new CliError(`${file} is not a head written by history-head`, 2);
  return head as SignedHead;
}

function temporalAddress(config: Config): string {
  if (config.temporal.address) return config.temporal.address;
  const file = path.join(config.dataDir, 'temporal-address');
  if (!fs.existsSync(file)) throw new CliError('no Temporal: start the stack (npm start) or set TEMPORAL_ADDRESS', 2);
  return fs.readFileSync(file, 'utf8').trim();
}

/** The CLI's actor in the history and in workflow steps. */
const CLI_OPERATOR: Operator = { actor: { type: 'system', label: '運用コマンド（npm run ops）' }, step: { type: 'system', id: null } };

const WORKFLOW_COMMANDS = new Set(['attention', 'retry', 'revive', 'remind', 'extend-link', 'redeliver', 'pause-mail', 'resume-mail', 'delete-tenant']);

/** A workflow update's refusal or failure, as the operator should read it. */
function explain(err: unknown): never {
  const e = err as { name?: string; message?: string; cause?: { type?: string; message?: string } };
  const code = e.cause?.message ?? e.message ?? '';
  if (code in LIFECYCLE_REFUSALS) throw new CliError(`${code}: ${LIFECYCLE_REFUSALS[code as keyof typeof LIFECYCLE_REFUSALS]}`);
  if (e.name === 'WorkflowNotFoundError') throw new CliError('the workflow is not running: revive it (revive --registrant <id>)');
  throw err;
}

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
      sandbox: { type: 'boolean' },
      tenant: { type: 'string' },
      email: { type: 'string' },
      expect: { type: 'string' },
      head: { type: 'string' },
      out: { type: 'string' },
      'batch-size': { type: 'string' },
      continue: { type: 'boolean' },
      registrant: { type: 'string' },
      delivery: { type: 'string' },
      days: { type: 'string' },
      confirm: { type: 'string' },
      operator: { type: 'string' },
    },
    strict: true,
  });
  const config = loadConfig();
  const prisma = createPrisma(databaseUrl(config.dataDir));
  // The history chain is keyed by the master key (loaded lazily: not every command needs it).
  let chained: ReturnType<typeof createHistory> | undefined;
  const history = () => (chained ??= createHistory(prisma, createVault({ prisma, keyring: loadKeyring(config) })));
  if (WORKFLOW_COMMANDS.has(command)) {
    const keyring = loadKeyring(config);
    const client = createTemporalClient(temporalAddress(config), config.temporal.namespace, keyring, config.temporal.connection);
    try {
      return await workflowCommand(command, values, { prisma, client, taskQueue: config.temporal.taskQueue, history: history(), reminderDays: config.inviteReminderDays, vault: createVault({ prisma, keyring }) });
    } finally {
      await client.connection.close().catch(() => undefined);
      await prisma.$disconnect();
    }
  }
  try {
    switch (command) {
      case 'create-tenant': {
        const missing = ['name', 'owner-email', 'owner-name'].filter((k) => !values[k as keyof typeof values]);
        if (missing.length) throw new CliError(`missing: ${missing.map((k) => `--${k}`).join(', ')}\n\n${USAGE}`, 2);
        // A sandbox's demo numbers are sealed: the keyring must open before anything is created.
        const vault = values.sandbox ? createVault({ prisma, keyring: loadKeyring(config) }) : undefined;
        const { tenant, owner, password } = await createTenantWithOwner(prisma, history(), {
          tenantName: values.name!,
          ownerEmail: values['owner-email']!,
          ownerName: values['owner-name']!,
          ownerPassword: values['owner-password'],
          customerNumber: values['customer-number'],
          sandbox: values.sandbox,
        });
        console.log(`tenant        ${tenant.name} (${tenant.id})${tenant.sandbox ? '   SANDBOX: invented numbers only (beginning 9999)' : ''}`);
        console.log(`customer no.  ${tenant.customerNumber}`);
        console.log(`owner         ${owner.email}`);
        if (!values['owner-password']) console.log(`password      ${password}   (shown once: change it after the first login)`);
        if (vault) {
          try {
            const seeded = await seedSandbox({ prisma, vault, history: history() }, tenant.id, CLI_OPERATOR.actor);
            console.log(`demo people   ${seeded.registrants} employees, ${seeded.dependents} dependents, ${seeded.numbers} invented numbers (their workflows start once the stack runs)`);
            const connector = await createConnectorService({ prisma, history: history() }).create(
              { user: owner, tenantId: tenant.id, ip: null, userAgent: null },
              { name: 'サンドボックス連携', scopes: [...SCOPES], allowedPurposes: tenant.purposes },
            );
            console.log(`client_id     ${connector.clientId}`);
            console.log(`client_secret ${connector.clientSecret}   (shown once)`);
          } catch (err) {
            throw new CliError(`the sandbox ${tenant.id} was created but not finished (${(err as Error).message}).\nDelete it (npm run ops -- delete-tenant --tenant ${tenant.id}) and create it again.`);
          }
        }
        return 0;
      }
      case 'verify-history': {
        let anchor: Parameters<OperationHistory['verify']>[1];
        if (values.expect) {
          const m = /^(\d+):((?:[0-9a-f]{16}\.)?[0-9a-f]{64})$/.exec(values.expect);
          if (!m || !values.tenant) throw new CliError(`--expect takes <event id>:<hash> as printed, with --tenant\n\n${USAGE}`, 2);
          anchor = { id: m[1]!, hash: m[2]! };
        }
        if (values.head) {
          if (!values.tenant) throw new CliError(`--head needs --tenant\n\n${USAGE}`, 2);
          anchor = readSignedHead(values.head);
        }
        const result = await history().verify(values.tenant, anchor);
        for (const h of result.heads) console.log(`head  tenant ${h.tenantId}  ${h.id}:${h.hash}`);
        if (result.ok) {
          console.log(`ok: ${result.checked} events in ${result.tenants} tenant(s), every link intact${anchor ? `, event ${anchor.id} still in place` : ''}`);
          return 0;
        }
        const b = result.firstBroken!;
        const why = {
          hash_mismatch: 'the row was altered',
          chain_broken: 'the chain is broken (a row before it was removed or reordered)',
          unkeyed: 'the row has no keyed hash after keyed ones (written without the master key)',
          key_unavailable: 'the row was chained under a master key this keyring lacks (add the retired key to verify it)',
          anchor_missing: 'the expected event is gone or altered (the chain was cut off or rewritten)',
          anchor_forged: "the saved head's signature is wrong (not made with this master key, or edited)",
        }[b.reason];
        console.error(`BROKEN: tenant ${b.tenantId}, event ${b.id}: ${why}`);
        return 1;
      }
      case 'history-head': {
        if (!values.tenant) throw new CliError(`missing: --tenant\n\n${USAGE}`, 2);
        const result = await history().verify(values.tenant);
        const head = result.heads[0];
        if (!result.ok || !head) {
          console.error(result.ok ? 'the tenant has no history yet' : `BROKEN at event ${result.firstBroken!.id} (${result.firstBroken!.reason}): no head signed`);
          return 1;
        }
        const json = `${JSON.stringify(history().signHead(head), null, 2)}\n`;
        if (values.out) {
          fs.writeFileSync(values.out, json, { mode: 0o644 });
          console.log(`signed head of event ${head.id} written to ${values.out}`);
        } else process.stdout.write(json);
        return 0;
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
          await history().record({ tenantId: t.id, actor: SYSTEM_ACTOR, operation: 'master_key_rotated', detail: { keyId: keyring.activeId } });
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
          const sealing = await prisma.vaultSecret.count({ where: { keyId: id } });
          const chaining = sealing ? 0 : await prisma.operationEvent.count({ where: { hash: { startsWith: `${id}.` } } });
          if (sealing === 0 && chaining === 0) unused.push(id);
          else if (chaining) console.log(`key ${id} keeps ${chaining} history row(s) verifiable: kept (it seals nothing new)`);
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
        // Every lock: the account's own, the second-factor count and each address locked out of it.
        await prisma.$transaction([
          prisma.loginUser.update({ where: { id: users[0]!.id }, data: { lockedAt: null, failedLogins: 0, secondFactorFailures: 0 } }),
          prisma.loginSourceLock.deleteMany({ where: { loginUserId: users[0]!.id } }),
        ]);
        await history().record({ tenantId: users[0]!.tenantId, actor: SYSTEM_ACTOR, operation: 'login_unlocked', detail: { loginUserId: users[0]!.id } });
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


/** delete-tenant: the plan, then — only with the customer number as confirmation — the deletion and its certificate. */
async function deleteTenant(contractEnd: ReturnType<typeof createContractEnd>, tenantId: string, values: Record<string, string | boolean | undefined>): Promise<number> {
  const plan = await contractEnd.plan(tenantId).catch((err: unknown) => {
    if (err instanceof AppError) throw new CliError(err.title);
    throw err;
  });
  const c = plan.counts;
  console.log(`tenant        ${plan.name} (${plan.tenantId})`);
  console.log(`customer no.  ${plan.customerNumber}`);
  console.log(`to delete     ${c.registrants} registrants, ${c.dependents} dependents, ${c.documents} documents, ${c.secrets} sealed secrets, ${c.loginUsers} login users, ${c.connectors} connectors, ${c.historyRows} history rows`);
  if (typeof values.confirm !== 'string') {
    console.log(`\nNothing was deleted. This is irreversible: to go on, run it again with --confirm ${plan.customerNumber}`);
    return 3;
  }
  // The certificate names the person who ran it.
  if (typeof values.operator !== 'string' || !values.operator.trim()) throw new CliError('delete-tenant with --confirm needs --operator <your name> (it is written in the certificate)', 2);
  const certificate = await contractEnd.execute(tenantId, values.confirm, `${values.operator.trim()}（${CLI_OPERATOR.actor.label}）`).catch((err: unknown) => {
    if (err instanceof AppError) throw new CliError(`refused: ${err.title}`);
    throw err;
  });
  const text = `${JSON.stringify(certificate, null, 2)}\n`;
  if (typeof values.out === 'string') fs.writeFileSync(values.out, text, { flag: 'wx' });
  console.log(`\ndeleted. certificate ${certificate.id}${typeof values.out === 'string' ? ` written to ${values.out}` : ''}`);
  if (typeof values.out !== 'string') console.log(text);
  return 0;
}

interface WorkflowDeps {
  prisma: PrismaClient;
  client: Client;
  taskQueue: string;
  history: OperationHistory;
  reminderDays: number[];
  vault: ReturnType<typeof createVault>;
}

async function workflowCommand(command: string, values: Record<string, string | boolean | undefined>, deps: WorkflowDeps): Promise<number> {
  const { prisma, client } = deps;
  const need = (name: string) => {
    const v = values[name];
    if (typeof v !== 'string' || !v) throw new CliError(`missing: --${name}\n\n${USAGE}`, 2);
    return v;
  };
  const temporal = { client, taskQueue: deps.taskQueue };
  const actions = createOperatorActions({ prisma, temporal, history: deps.history, inviteReminderDays: deps.reminderDays });
  const person = async () => {
    const r = await prisma.registrant.findUnique({ where: { id: need('registrant') } });
    if (!r) throw new CliError('no such registrant');
    return r;
  };
  const update = async <A>(def: UpdateDefinition<LifecycleState, [A]>, arg: A) => {
    const r = await person();
    const state = await withDeadline(client, 30_000, () => client.workflow.getHandle(r.workflowId).executeUpdate(def, { args: [arg], updateId: randomUUID() })).catch(explain);
    return { r, state };
  };
  switch (command) {
    case 'delete-tenant': {
      // The operation history is append-only for the app's role: removing a tenant's takes the owner's.
      const ownerUrl = process.env.DATABASE_OWNER_URL;
      if (!ownerUrl) throw new CliError('delete-tenant removes the operation history, which the app role may not: set DATABASE_OWNER_URL to the database owner\'s URL (as for migrations)', 2);
      const ownerDb = createPrisma(ownerUrl);
      try {
        return await deleteTenant(createContractEnd({ prisma: ownerDb, client, vault: deps.vault }), need('tenant'), values);
      } finally {
        await ownerDb.$disconnect();
      }
    }
    case 'attention': {

      const a = await createOperatorAttention({ prisma, temporal }).forTenant(need('tenant'));
      if (a.mailPause) console.log(`mail to employees PAUSED since ${a.mailPause.since.toISOString()} by ${a.mailPause.by ?? '?'}`);
      if (a.temporalUnavailable) console.log('Temporal did not answer: the workflows needing attention are unknown');
      for (const w of a.workflows) {
        console.log(`${w.state.padEnd(10)} ${w.registrantId}  ${w.name ?? '(deleted)'}  since ${w.since ?? '?'}`);
        for (const s of w.steps ?? []) console.log(`           step ${s.name} (${s.label}): ${s.attention!.errorType}, ${s.attention!.rounds} rounds, next try ${s.attention!.retryAt ?? 'now'}`);
        for (const act of w.activities) console.log(`           activity ${act.type}: attempt ${act.attempt}, last failure ${act.lastFailure ?? '-'}, next ${act.nextAttemptAt ?? '-'}`);
      }
      for (const q of a.startsQueued) console.log(`queued     ${q.id}  ${q.name}  since ${q.since.toISOString()}`);
      for (const d of a.webhookDeliveries) console.log(`webhook    ${d.id}  ${d.event} → ${d.url}: ${d.status}, ${d.attempts} attempts, ${d.lastError ?? ''}`);
      if (!a.mailPause && !a.workflows.length && !a.startsQueued.length && !a.webhookDeliveries.length && !a.temporalUnavailable) console.log('nothing needs attention');
      return 0;
    }
    case 'retry': {
      const { state } = await update(retryNowUpdate, { actor: CLI_OPERATOR.step });
      console.log(`retrying now; still waiting: ${Object.keys(state.attention ?? {}).join(', ') || 'none'}`);
      return 0;
    }
    case 'remind': {
      const { state } = await update(remindNowUpdate, { actor: CLI_OPERATOR.step });
      console.log(`reminder ${state.invitation?.remindersSent} sent`);
      return 0;
    }
    case 'extend-link': {
      const days = Number(need('days'));
      const { state } = await update(extendLinkUpdate, { actor: CLI_OPERATOR.step, days });
      console.log(`link valid until ${state.invitation?.expiresAt}`);
      return 0;
    }
    case 'revive': {
      const r = await person();
      const { workflowId } = await actions.revive(r.tenantId, r.id, CLI_OPERATOR);
      console.log(`started ${workflowId} from the database state`);
      return 0;
    }
    case 'redeliver': {
      const { status } = await actions.redeliver(null, need('delivery'), CLI_OPERATOR);
      console.log(status === 'started' ? 'redelivery started' : 'redelivery queued (Temporal did not answer: the reconciler starts it)');
      return 0;
    }
    case 'pause-mail':
    case 'resume-mail': {
      const { paused, retried } = await actions.setMailPause(need('tenant'), command === 'pause-mail', CLI_OPERATOR);
      console.log(paused ? 'mail to employees paused' : `mail to employees resumed; ${retried} workflows retrying now`);
      return 0;
    }
  }
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err instanceof ConfigError || err instanceof CliError ? err.message : err instanceof AppError ? err.title : `ops: ${err.message}`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  },
);
