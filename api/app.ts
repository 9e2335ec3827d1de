/**
 * The Express application, built from its dependencies (no listening here: api/main.ts and the
 * tests decide where it runs).
 */
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { Services } from '../services/container';
import type { PrismaClient } from '../services/db/client';
import { createReadiness } from '../services/health/health';
import { OUTAGE_RETRY_AFTER_SECONDS } from '../services/health/outages';
import type { Logger } from '../services/logging/logger';
import type { ApiMetrics } from '../services/metrics/api-metrics';
import { loggableUrl } from '../services/logging/loggable-url';
import { CODEC_PATH, temporalCodecCors, temporalCodecOperator, temporalCodecRoutes, type TemporalCodecDeps } from './temporal-codec/routes';
import { createRateLimitCounters } from '../services/rate-limits/postgres-store';
import type { TemporalDeps } from '../services/temporal/client';
import { DEFAULT_AUTH_RATE_LIMITS, type AuthRateLimits } from './auth/rate-limits';
import { authRoutes } from './auth/routes';
import { EDITORS, identifyCaller, requireRole } from './auth/middleware';
import { authenticateConnector, connectorRateLimit, DEFAULT_CONNECTOR_RATE_LIMIT, recordConnectorCall, type ConnectorRateLimit } from './connectors/middleware';
import { connectorRoutes } from './connectors/routes';
import { groupRoutes } from './groups/routes';
import { webhookRoutes } from './connectors/webhook-routes';
import { dashboardRoutes } from './dashboard/routes';
import { operatorRoutes } from './operator/routes';
import { historyRoutes } from './history/routes';
import { loginUserRoutes } from './login-users/routes';
import { loadSpec, loadIntegrationGuide, loadSpecText, openApiValidator, refuseNulCharacters } from './openapi';
import { sendAsset } from './pages/bundle';
import { consolePages } from './pages/console';
import { deprecationHeaders } from './deprecation';
import { registrationPages } from './pages/registration';
import { problemHandler } from './problem';
import { bulkRegistrationRoutes } from './registrants/bulk-routes';
import { registrantCsvRoutes } from './registrants/csv-routes';
import { lifecycleRoutes } from './registrants/lifecycle-routes';
import { registrantRoutes } from './registrants/routes';
import { identifyRegistrant, registrationRoutes } from './registration/routes';
import { jsonBodies } from './request-size';
import { tenantRoutes } from './tenant/routes';

export interface AppDeps {
  prisma: PrismaClient;
  temporal: TemporalDeps;
  logger: Logger;
  services: Services;
  /** Cookies only over HTTPS (PUBLIC_URL https://…). */
  secureCookies: boolean;
  loginLockMinutes: number;
  sessionAbsoluteHours: number;
  /** Limits on the steps callable without a session (defaults: DEFAULT_AUTH_RATE_LIMITS). */
  authRateLimits?: AuthRateLimits;
  /** Calls per connector (default DEFAULT_CONNECTOR_RATE_LIMIT). */
  connectorRateLimit?: ConnectorRateLimit;
  /**
   * Put before every rate-limit counter in the database: the instances of one deployment share one
   * (default none); apps on one database that must not share counts (tests) each have their own.
   */
  rateLimitKeyPrefix?: string;
  /** Express's "trust proxy": whose X-Forwarded-For gives the client address (default 'loopback'). */
  trustProxy?: number | string;
  /** Check responses against the contract too (on in tests). */
  validateResponses?: boolean;
  /** The Temporal Web UI's payload codec endpoint (operators, or the owner of a one-tenant deployment); absent: not served. */
  temporalCodec?: Omit<TemporalCodecDeps, 'singleTenant'>;
  /** Prometheus metrics of the requests (served by api/main.ts on METRICS_PORT). */
  metrics?: ApiMetrics;
}

export function createApp(deps: AppDeps): Express {
  const { services } = deps;
  const app = express();
  app.disable('x-powered-by');
  // No hash of every answer: API answers are no-store; the pages' assets carry their own (sendAsset).
  app.set('etag', false);
  app.set('trust proxy', deps.trustProxy ?? 'loopback');
  const counters = createRateLimitCounters({ prisma: deps.prisma, keyPrefix: deps.rateLimitKeyPrefix, logger: deps.logger });
  const authRateLimits = { ...(deps.authRateLimits ?? DEFAULT_AUTH_RATE_LIMITS), counters };
  app.use(
    pinoHttp({
      logger: deps.logger,
      // A load balancer's or orchestrator's liveness probe every second is not worth a line.
      autoLogging: { ignore: (req) => req.url === '/healthz/live' },
      // 4xx and 503 (a dependency away: services/health/outages.ts warns once a minute) are answers,
      // not faults; only other 5xx are errors.
      customLogLevel: (_req, res) => (res.statusCode >= 500 && res.statusCode !== 503 ? 'error' : 'info'),
      // pino-http makes up an error with a stack for every 5xx; a 503 is an answer, logged as one.
      customErrorObject: (_req, res, _err, val: Record<string, unknown>) => (res.statusCode === 503 ? { res: val.res, responseTime: val.responseTime } : val),
      customErrorMessage: (_req, res, err) => (res.statusCode === 503 ? 'request completed' : `request errored: ${err.message}`),
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: loggableUrl(req.url) }),
      },
    }),
  );
  if (deps.metrics) app.use(deps.metrics.middleware);
  // First: even an early refusal of a retired operation says it is retired.
  // The contract, parsed once here for the retired operations' headers and the docs' files.
  const spec = loadSpec();
  app.use(deprecationHeaders(spec));
  // Credentials are checked before the body is read: an unidentified caller may send only a small
  // body and is told only the first validation error (api/request-size.ts).
  app.use('/v1', identifyCaller(services.auth));
  app.use('/v1', identifyRegistrant(services.registrationSessions));
  const codecOperator = deps.temporalCodec ? temporalCodecOperator(deps.temporalCodec.token) : () => false;
  // The codec endpoint takes its operator's token, not a connector's.
  app.use('/v1', authenticateConnector(services.connectors, { except: (req) => req.originalUrl.startsWith(CODEC_PATH) }));
  const identified = (req: express.Request) => Boolean(req.caller || req.connector || req.registrationSession || codecOperator(req));
  app.use(jsonBodies(identified));
  // The OAuth token endpoint takes form-encoded bodies (RFC 6749).
  app.use(express.urlencoded({ extended: false, limit: '16kb' }));

  const specText = loadSpecText();
  // Tagged, so a vendor's tool checking the contract gets a 304 while it is unchanged.
  app.get('/openapi.yaml', (_req, res) => {
    sendAsset(res.type('application/yaml'), 'openapi.yaml', specText);
  });
  // The Japanese integration guide for payroll vendors' engineers, beside the contract it explains.
  const guide = loadIntegrationGuide();
  app.get('/docs/integration-guide.md', (_req, res) => {
    sendAsset(res.type('text/markdown; charset=utf-8'), 'integration-guide.md', guide);
  });
  app.use('/docs', swaggerUi.serveFiles(spec, { customSiteTitle: 'mynaflow API' }));
  app.get('/docs/', swaggerUi.setup(loadSpec(), { customSiteTitle: 'mynaflow API' }));
  app.use(registrationPages()); // the employee's phone pages at /i/{token} (HTML + their script), outside the JSON API's validator
  app.use(consolePages()); // the HR console at /console, likewise

  // Served over HTTPS (PUBLIC_URL https://…): browsers are told to never use plain http here again.
  if (deps.secureCookies) {
    app.use((_req, res, next) => {
      res.set('Strict-Transport-Security', 'max-age=31536000');
      next();
    });
  }
  // API answers hold personal data (names, addresses, statuses): no browser or proxy keeps a copy.
  app.use('/v1', (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  if (deps.temporalCodec) app.use(temporalCodecCors(deps.temporalCodec));
  // The contract's multipart routes (files up to 20 MB) read their body only for HR's owners and
  // managers: anyone else is answered before a byte of it is read. (Elsewhere the validator never
  // reads a multipart body: no other operation takes one.)
  const uploads = new Set(['/v1/registrants/import-with-numbers', '/v1/import-jobs']);
  app.use((req, res, next) => (req.method === 'POST' && uploads.has(req.path) ? requireRole(...EDITORS)(req, res, next) : next()));
  app.use(openApiValidator({ validateResponses: deps.validateResponses ?? false, identified }));
  app.use(refuseNulCharacters());
  if (deps.temporalCodec) app.use(temporalCodecRoutes({ ...deps.temporalCodec, singleTenant: async () => (await deps.prisma.tenant.count({ take: 2 })) === 1 }));
  app.use(recordConnectorCall(services.history));
  app.use(connectorRateLimit(deps.connectorRateLimit ?? DEFAULT_CONNECTOR_RATE_LIMIT, counters));

  const readiness = createReadiness(deps.prisma, deps.temporal);
  let lastStatus = 'ok';
  const ready: express.RequestHandler = async (_req, res) => {
    const health = await readiness();
    if (health.status !== lastStatus) {
      // The backend's own words go to the log (once per change), never to the anonymous probe.
      lastStatus = health.status;
      if (health.status === 'ok') deps.logger.info('ready again: PostgreSQL and Temporal answer');
      else deps.logger.warn({ checks: health.checks }, 'not ready');
    }
    res.set('Cache-Control', 'no-store');
    if (health.status !== 'ok') res.set('Retry-After', String(OUTAGE_RETRY_AFTER_SECONDS));
    // Probes are anonymous: which part is away, not the backend's own words (the log has those).
    const checks = Object.fromEntries(Object.entries(health.checks).map(([part, { error: _error, ...check }]) => [part, check])) as typeof health.checks;
    res.status(health.status === 'ok' ? 200 : 503).json({ ...health, checks });
  };
  app.get('/healthz/live', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()) });
  });
  app.get('/healthz/ready', ready);
  app.get('/healthz', ready); // the earlier name of ready, kept for existing probes
  app.use(
    authRoutes(services.auth, {
      rateLimits: authRateLimits,
      secureCookies: deps.secureCookies,
      sessionAbsoluteHours: deps.sessionAbsoluteHours,
      loginLockMinutes: deps.loginLockMinutes,
    }),
  );
  app.use(
    registrationRoutes(
      { access: services.registrationAccess, sessions: services.registrationSessions, registration: services.registration },
      { secureCookies: deps.secureCookies, rateLimits: authRateLimits, absoluteHours: 4 },
    ),
  );
  app.use(
    connectorRoutes({
      prisma: deps.prisma,
      connectors: services.connectors,
      numberPull: services.numberPull,
      sync: services.registrantSync,
      history: services.history,
      rateLimits: authRateLimits,
    }),
  );
  // Before the routes with /v1/registrants/:registrantId, which would take export.csv for an id.
  app.use(registrantCsvRoutes(services.registrantCsv, services.numbersImport, services.importJobs));
  app.use(bulkRegistrationRoutes(services.bulkRegistration));
  app.use(webhookRoutes(services.webhooks));
  app.use(lifecycleRoutes(services.lifecycle, services.invitationQr, services.invitationBatches, services.auth.confirmPassword, services.timeline));
  app.use(registrantRoutes(services.registrants, services.myNumbers, { prisma: deps.prisma, documents: services.registrantDocuments, registrationAccess: services.registrationAccess }));
  app.use(groupRoutes(services.groups));
  app.use(loginUserRoutes(services.loginUsers, { rateLimits: authRateLimits }));
  app.use(tenantRoutes(services.tenantSettings));
  app.use(historyRoutes(services.history));
  app.use(dashboardRoutes(services.dashboard));
  app.use(operatorRoutes(services.operatorAttention, services.operatorActions, services.lifecycle));

  app.use(problemHandler(deps.logger));
  return app;
}
