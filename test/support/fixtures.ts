/** Real parts wired for a test file: PostgreSQL (from global set-up), SMTP capture, worker, app. */
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import type { Express } from 'express';
import type { Role } from '../../prisma/generated/client';
import { hashPassword } from '../../services/auth/passwords';
import { createServices, type Services } from '../../services/container';
import { createPayloadCodec } from '../../services/temporal/payload-codec';
import { testKeyring } from './keys';
import { createVault } from '../../services/vault/vault';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createApp } from '../../api/app';
import type { AuthRateLimits } from '../../api/auth/rate-limits';
import type { ConnectorRateLimit } from '../../api/connectors/middleware';
import { createPrisma, type PrismaClient } from '../../services/db/client';
import { createLogger, type Logger } from '../../services/logging/logger';
import { createMailTransport } from '../../services/mail/transport';
import { startOutbox, type Outbox } from '../../services/outbox/outbox';
import { createWorker, type WorkerDeps } from '../../services/worker/worker';
import type { ApiMetrics } from '../../services/metrics/api-metrics';
import { capture } from './capture';
import { ownerUrl } from './migrate';
import { workflowBundle } from './temporal';

export const PUBLIC_URL = 'http://mynaflow.test';
export const TEMPORAL_UI_ORIGIN = 'http://temporal-ui.test:8233';
export const TEMPORAL_CODEC_TOKEN = 'operator-codec-token-0123456789abcdef';
export const MAIL_FROM = 'mynaflow <no-reply@mynaflow.test>';

export function testPrisma(): PrismaClient {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL missing: jest global set-up did not run');
  return createPrisma(url);
}

const hashes = new Map<string, Promise<string>>();
/**
 * A password's hash, made once per test process: every hash costs about a third of a second
 * (services/auth/passwords.ts), and test users share a handful of passwords. Salts are shared with
 * it, which matters to nobody here.
 */
export function testPasswordHash(password: string): Promise<string> {
  let hash = hashes.get(password);
  if (!hash) hashes.set(password, (hash = hashPassword(password)));
  return hash;
}

/** The run's database as its owner: for what the app role may not do (bypassing the history's triggers). */
export function ownerPrisma(): PrismaClient {
  return createPrisma(ownerUrl());
}

/** Log lines go to a memory buffer so tests can assert what was (not) logged. */
export function memoryLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  // TEST_LOG=1 echoes the log to stderr while debugging a test.
  const logger = createLogger({
    level: 'debug',
    destination: { write: (s: string) => void (lines.push(s), capture('log', s), process.env.TEST_LOG && process.stderr.write(s)) },
  });
  return { logger, lines };
}

export async function createTenant(prisma: PrismaClient, name = 'テスト株式会社'): Promise<string> {
  const t = await prisma.tenant.create({ data: { name, customerNumber: randomUUID().slice(0, 12) } });
  return t.id;
}

export interface WorkerHandle {
  worker: Worker;
  running: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Workflow cache of test workers: none unless TEST_WORKFLOW_CACHE says otherwise, so every workflow
 * task of the whole suite replays its history from the start and any non-determinism fails the test
 * that caused it.
 */
export const TEST_WORKFLOW_CACHE = Number(process.env.TEST_WORKFLOW_CACHE ?? 0);

/** Starts a worker on a fresh task queue, wired to real PostgreSQL and the SMTP capture. */
export async function startWorker(
  env: TestWorkflowEnvironment,
  deps: { prisma: PrismaClient; outbox: Outbox; logger: Logger; taskQueue: string; smtpPort?: number; options?: WorkerDeps['options']; workflowBundle?: { code: string } },
): Promise<WorkerHandle> {
  const worker = await createWorker({
    options: { maxCachedWorkflows: TEST_WORKFLOW_CACHE, ...deps.options },
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue: deps.taskQueue,
    workflowBundle: deps.workflowBundle ?? (await workflowBundle()),
    prisma: deps.prisma,
    mailer: createMailTransport(`smtp://127.0.0.1:${deps.smtpPort ?? deps.outbox.smtpPort}`),
    publicUrl: PUBLIC_URL,
    mailFrom: MAIL_FROM,
    // Webhook receivers in tests are local servers.
    webhookAllowPrivate: true,
    logger: deps.logger,
    vault: testVault(deps.prisma),
    keyring: testKeyring(),
  });
  return runWorker(worker);
}

/** Runs a worker; stop() shuts it down (if it still runs) and waits until it has. */
export function runWorker(worker: Worker): WorkerHandle {
  const running = worker.run();
  return {
    worker,
    running,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** A vault with the test file's master key (one temporary keyring file): API and worker share it. */
export function testVault(prisma: PrismaClient) {
  return createVault({ prisma, keyring: testKeyring() });
}

export interface TestAppDeps {
  prisma: PrismaClient;
  logger: Logger;
  outbox: Outbox;
  temporalClient: TestWorkflowEnvironment['client'];
  taskQueue: string;
  reminderDays?: number[];
  authRateLimits?: AuthRateLimits;
  connectorRateLimit?: ConnectorRateLimit;
  /** Express's "trust proxy" (default 'loopback', like the API). */
  trustProxy?: number | string;
  /** How long a lifecycle step may take before the API answers 202. */
  stepAnswerWithinMs?: number;
  /** As served over HTTPS (PUBLIC_URL https://…): Secure __Host- cookies and HSTS. */
  secureCookies?: boolean;
  /** Prometheus metrics of the requests. */
  metrics?: ApiMetrics;
}

/** The real app graph (services, vault, history, mail to the SMTP capture), responses validated. */
export function testApp(deps: TestAppDeps): { app: Express; services: Services } {
  const temporal = { client: deps.temporalClient, taskQueue: deps.taskQueue };
  const services = createServices({
    prisma: deps.prisma,
    temporal,
    vault: testVault(deps.prisma),
    mailer: createMailTransport(`smtp://127.0.0.1:${deps.outbox.smtpPort}`),
    mailFrom: MAIL_FROM,
    publicUrl: PUBLIC_URL,
    inviteReminderDays: deps.reminderDays ?? [7, 30, 80],
    loginLockMinutes: 30,
    session: { idleMinutes: 30, absoluteHours: 12 },
    // Webhook receivers in tests are local http servers.
    webhookAllowHttp: true,
    stepAnswerWithinMs: deps.stepAnswerWithinMs,
  });
  const app = createApp({
    metrics: deps.metrics,
    prisma: deps.prisma,
    temporal,
    logger: deps.logger,
    services,
    secureCookies: deps.secureCookies ?? false,
    loginLockMinutes: 30,
    sessionAbsoluteHours: 12,
    validateResponses: true,
    authRateLimits: deps.authRateLimits,
    connectorRateLimit: deps.connectorRateLimit,
    // Every test app counts on its own: the files share one database, and their requests all come from loopback.
    rateLimitKeyPrefix: `test-${randomUUID()}:`,
    trustProxy: deps.trustProxy,
    temporalCodec: { codec: createPayloadCodec(testKeyring()), uiOrigin: TEMPORAL_UI_ORIGIN, token: TEMPORAL_CODEC_TOKEN },
  });
  return { app, services };
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  role: Role;
  tenantId: string;
}

/** A login user inserted directly (the login-user API has its own tests). */
/**
 * The password of the login users a test process makes (one hash for all of them: each costs a
 * third of a second). Tests about passwords make their own.
 */
export const TEST_PASSWORD = `pw-${randomBytes(6).toString('hex')}`;

export async function createLoginUser(prisma: PrismaClient, tenantId: string, role: Role, name = `${role} 担当`): Promise<TestUser> {
  const email = `${role}-${randomBytes(4).toString('hex')}@example.co.jp`;
  const password = TEST_PASSWORD;
  const user = await prisma.loginUser.create({ data: { tenantId, email, name, role, passwordHash: await testPasswordHash(password) } });
  return { id: user.id, email, password, role, tenantId };
}

/** A supertest agent: keeps its cookies between requests. */
export type Agent = ReturnType<typeof request.agent>;

/** The 6-digit code in a mail's text. */
export const codeIn = (text: string) => /(?<!\d)(\d{6})(?!\d)/.exec(text)?.[1];

/**
 * Logs in through the API like a person: password, then the 6-digit code from the mail. Returns an
 * agent that keeps the session cookie and sends the CSRF token on every request.
 */
export async function loginAs(app: Express, outbox: Outbox, user: TestUser): Promise<Agent> {
  const agent = request.agent(app);
  const before = outbox.mails.length;
  const login = await agent.post('/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
  const mail = await outbox.waitFor((m) => m.to.includes(user.email) && outbox.mails.indexOf(m) >= before && m.subject.includes('第二認証コード'));
  const code = codeIn(mail.text);
  if (!code) throw new Error('no code in the second-factor mail');
  await agent.post('/v1/auth/second-factor').send({ code }).expect(200);
  agent.set('X-CSRF-Token', login.body.csrfToken as string);
  return agent;
}

/**
 * Adds login(user) (an agent logged in like a person) and agent(tenant, role, name?) (a new login
 * user, logged in) to a harness; they read its prisma, outbox and app when called.
 */
export function withLogins<H extends { prisma: PrismaClient; outbox: Outbox; app: Express }>(harness: H) {
  const login = (user: TestUser): Promise<Agent> => loginAs(harness.app, harness.outbox, user);
  const agent = async (tenantId: string, role: Role, name?: string) => login(await createLoginUser(harness.prisma, tenantId, role, name));
  /** A company of its own: users created one after the other (so in createdAt order), all logged in. */
  const company = async (name: string, roles: Role[]) => {
    const id = await createTenant(harness.prisma, name);
    const users: TestUser[] = [];
    for (const [i, role] of roles.entries()) users.push(await createLoginUser(harness.prisma, id, role, `${name.slice(0, 4)} ${role}${i + 1}`));
    const agents = await Promise.all(users.map((u) => login(u)));
    return { id, users, agents };
  };
  return Object.assign(harness, { login, agent, company });
}

export { startOutbox };
