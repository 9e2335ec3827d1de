/**
 * Configuration from the environment, validated once at start. Every key is listed in CONFIG_KEYS
 * (README's table and docker-compose.yml are checked against it by a test).
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { poolParams } from '../db/pool-params';
import { sslParams } from '../db/ssl-params';
import { temporalConnection, type TemporalConnectionSettings } from './temporal-connection';

const PORT_MESSAGE = 'must be a port number from 1 to 65535';
const port = z
  .string()
  .regex(/^\d{1,5}$/, PORT_MESSAGE)
  .transform(Number)
  .refine((n) => n >= 1 && n <= 65535, PORT_MESSAGE);
const dayList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'comma-separated whole numbers of days, e.g. "7,30,80"')
  .transform((s) => s.split(',').map((d) => Number(d.trim())))
  .refine((days) => days.every((d, i) => d > 0 && (i === 0 || d > days[i - 1]!)), 'days must be positive and increasing');

// Whose X-Forwarded-For to believe (Express's "trust proxy"): a hop count, or the proxies' addresses,
// CIDR ranges and Express's names. Trusting everyone ("true") would let any client pick the address
// the rate limits count by, so it is not offered.
const TRUST_PROXY_MESSAGE =
  'a number of proxy hops (e.g. 1), or comma-separated proxy addresses, CIDR ranges or loopback/linklocal/uniquelocal (e.g. "loopback, 10.0.0.0/8")';
const trustedProxy = (item: string) => {
  if (['loopback', 'linklocal', 'uniquelocal'].includes(item)) return true;
  const [address, bits, extra] = item.split('/');
  const family = isIP(address ?? '');
  if (!family || extra !== undefined) return false;
  return bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
};
const trustProxy = z
  .string()
  .refine((s) => /^\d{1,2}$/.test(s) || s.split(',').every((item) => trustedProxy(item.trim())), TRUST_PROXY_MESSAGE)
  .transform((s): number | string => (/^\d+$/.test(s) ? Number(s) : s.split(',').map((item) => item.trim()).join(', ')));

const urlWith = (protocols: string[]) =>
  z.string().refine((s) => {
    try {
      const url = new URL(s);
      return protocols.includes(url.protocol) && url.hostname !== '';
    } catch {
      return false;
    }
  }, `must be a URL with a host, starting with ${protocols.map((p) => `${p}//`).join(' or ')}`);

/** Reminder days (after the invitation) when neither the tenant nor INVITE_REMINDER_DAYS sets them. */
export const DEFAULT_INVITE_REMINDER_DAYS = [7, 30, 80];

const schema = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PUBLIC_URL: urlWith(['http:', 'https:']).optional(),
  DATABASE_URL: urlWith(['postgresql:', 'postgres:'])
    .superRefine((s, ctx) => {
      let url: URL;
      try {
        url = new URL(s);
      } catch {
        return; // urlWith said so
      }
      for (const message of [...poolParams(url).problems, ...sslParams(url).problems]) ctx.addIssue({ code: z.ZodIssueCode.custom, message });
    })
    .optional(),
  // For the migration step only (scripts/migrate.ts, run with the owner's DATABASE_URL): the password
  // it gives the app role mynaflow_app, which the API and worker connect as. npm start makes its own.
  APP_DATABASE_PASSWORD: z.string().min(12, 'at least 12 characters (openssl rand -hex 24)').optional(),
  TEMPORAL_ADDRESS: z.string().regex(/^([^\s:[\]]+|\[[0-9a-fA-F:]+\]):\d{1,5}$/, 'host:port, e.g. localhost:7233').optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('mynaflow'),
  // A managed or secured Temporal (services/config/temporal-connection.ts): TLS, a client certificate
  // (mTLS), the name the server's certificate carries, Temporal Cloud's API key.
  TEMPORAL_TLS: z.enum(['true', 'false']).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  SMTP_URL: urlWith(['smtp:', 'smtps:']).optional(),
  MAIL_FROM: z.string().min(3).default('mynaflow <no-reply@mynaflow.localhost>'),
  INVITE_REMINDER_DAYS: dayList.default(DEFAULT_INVITE_REMINDER_DAYS),
  DATA_DIR: z.string().min(1).default('.data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TRUST_PROXY: trustProxy.default('loopback'),
  // Vault master key: MASTER_KEY (base64 of 32 bytes) with MASTER_KEY_PREVIOUS (comma-separated,
  // readable during a rotation), or a keyring file; by default DATA_DIR/master-keys.json is made, but
  // only for npm start's private database (services/vault/instance.ts).
  MASTER_KEY: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'base64 of exactly 32 bytes (openssl rand -base64 32)').optional(),
  MASTER_KEY_PREVIOUS: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=(\s*,\s*[A-Za-z0-9+/]{43}=)*$/, 'comma-separated base64 keys of 32 bytes')
    .optional(),
  MASTER_KEY_FILE: z.string().min(1).optional(),
  // Console sessions and login protection.
  SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  SESSION_ABSOLUTE_HOURS: z.coerce.number().int().min(1).max(7 * 24).default(12),
  LOGIN_LOCK_MINUTES: z.coerce.number().int().min(1).max(7 * 24 * 60).default(30),
  // The Temporal Web UI's origin, allowed (CORS) to call the API's payload codec endpoint with an
  // owner's session; by default the embedded UI's. TEMPORAL_CODEC_TOKEN: a bearer token for operators'
  // tools (temporal CLI --codec-endpoint … --codec-auth "Bearer …"); unset: sessions only.
  TEMPORAL_UI_ORIGIN: urlWith(['http:', 'https:']).optional(),
  TEMPORAL_CODEC_TOKEN: z.string().min(32, 'at least 32 characters (openssl rand -hex 32)').optional(),
  // Payroll webhooks go to https:// receivers; "true" also allows http:// (development only).
  WEBHOOK_ALLOW_HTTP: z.enum(['true', 'false']).default('false'),
  // How long a stopping API finishes its requests and a stopping worker its activities
  // (docker-compose.yml's stop_grace_period is longer).
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(25),
  // The worker's size (docs: README, Worker sizing). Workflows kept in memory between their tasks
  // (about 0.3 MiB each; the others wait on the server at no cost and are replayed when they wake).
  WORKER_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(250),
  // Activities run at once; the worker's database pool has as many connections plus a few for the
  // reconciler's sweeps, unless DATABASE_URL says connection_limit.
  WORKER_ACTIVITY_SLOTS: z.coerce.number().int().min(1).max(1000).default(20),
  // Prometheus metrics: served at http://METRICS_HOST:METRICS_PORT/metrics by the API (and the
  // worker, its own port); unset: none. Not the API's port: keep it off the public network.
  METRICS_PORT: port.optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  // Ports of the embedded stack (used only when the matching URL/address above is unset).
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  SMTP_PORT: port.default(1025),
  OUTBOX_PORT: port.default(8025),
});

export type RawConfig = z.infer<typeof schema>;
export const CONFIG_KEYS = Object.keys(schema.shape) as (keyof RawConfig)[];

export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  databaseUrl?: string;
  appDatabasePassword?: string;
  temporal: { address?: string; namespace: string; taskQueue: string; connection: TemporalConnectionSettings };
  smtpUrl?: string;
  mailFrom: string;
  inviteReminderDays: number[];
  dataDir: string;
  logLevel: RawConfig['LOG_LEVEL'];
  /** where this process serves Prometheus metrics, if anywhere */
  metrics?: { host: string; port: number };
  /** Express's "trust proxy": a hop count or a list of proxy addresses/ranges/names. */
  trustProxy: number | string;
  masterKey: { key?: string; previous: string[]; file?: string };
  session: { idleMinutes: number; absoluteHours: number };
  loginLockMinutes: number;
  webhookAllowHttp: boolean;
  /** Who may ask the API to decode Temporal payloads (services/temporal/payload-codec.ts). */
  codec: { uiOrigin: string; token?: string };
  /** SHUTDOWN_GRACE_SECONDS in ms: 25 s by default — longer than the API's longest ordinary wait (a lifecycle step answers within 10 s, else 202), shorter than Kubernetes' default 30 s. */
  shutdownGraceMs: number;
  worker: { cachedWorkflows: number; activitySlots: number };
  embedded: { temporalPort: number; temporalUiPort: number; smtpPort: number; outboxPort: number };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and checks the environment; throws ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Blank values (e.g. `FOO=` in a compose file) mean "unset"; surrounding spaces are not meant.
  const present = Object.fromEntries(
    Object.entries(env)
      .map(([k, v]) => [k, v?.trim()] as const)
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const c = parsed.data;
  const temporalSecured = temporalConnection(c);
  if (temporalSecured.problems.length) throw new ConfigError(temporalSecured.problems);
  return {
    port: c.PORT,
    host: c.HOST,
    publicUrl: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, ''),
    databaseUrl: c.DATABASE_URL,
    appDatabasePassword: c.APP_DATABASE_PASSWORD,
    temporal: { address: c.TEMPORAL_ADDRESS, namespace: c.TEMPORAL_NAMESPACE, taskQueue: c.TEMPORAL_TASK_QUEUE, connection: temporalSecured.settings },
    smtpUrl: c.SMTP_URL,
    mailFrom: c.MAIL_FROM,
    inviteReminderDays: c.INVITE_REMINDER_DAYS,
    dataDir: path.resolve(c.DATA_DIR),
    logLevel: c.LOG_LEVEL,
    trustProxy: c.TRUST_PROXY,
    metrics: c.METRICS_PORT ? { host: c.METRICS_HOST, port: c.METRICS_PORT } : undefined,
    masterKey: {
      key: c.MASTER_KEY,
      previous: c.MASTER_KEY_PREVIOUS ? c.MASTER_KEY_PREVIOUS.split(',').map((k) => k.trim()) : [],
      file: c.MASTER_KEY_FILE ? path.resolve(c.MASTER_KEY_FILE) : undefined,
    },
    session: { idleMinutes: c.SESSION_IDLE_MINUTES, absoluteHours: c.SESSION_ABSOLUTE_HOURS },
    loginLockMinutes: c.LOGIN_LOCK_MINUTES,
    webhookAllowHttp: c.WEBHOOK_ALLOW_HTTP === 'true',
    codec: { uiOrigin: new URL(c.TEMPORAL_UI_ORIGIN ?? `http://localhost:${c.TEMPORAL_UI_PORT}`).origin, token: c.TEMPORAL_CODEC_TOKEN },
    shutdownGraceMs: c.SHUTDOWN_GRACE_SECONDS * 1000,
    worker: { cachedWorkflows: c.WORKER_CACHED_WORKFLOWS, activitySlots: c.WORKER_ACTIVITY_SLOTS },
    embedded: {
      temporalPort: c.TEMPORAL_PORT,
      temporalUiPort: c.TEMPORAL_UI_PORT,
      smtpPort: c.SMTP_PORT,
      outboxPort: c.OUTBOX_PORT,
    },
  };
}

/** For processes that need the services to be given (worker, API): all three must be set. */
export function requireServices(config: Config): Required<Pick<Config, 'databaseUrl' | 'smtpUrl'>> & { temporalAddress: string } {
  const missing = [
    !config.databaseUrl && 'DATABASE_URL',
    !config.temporal.address && 'TEMPORAL_ADDRESS',
    !config.smtpUrl && 'SMTP_URL',
  ].filter(Boolean);
  if (missing.length) {
    throw new ConfigError(missing.map((k) => `${k}: required here (npm start sets it for the embedded stack)`));
  }
  return { databaseUrl: config.databaseUrl!, smtpUrl: config.smtpUrl!, temporalAddress: config.temporal.address! };
}
