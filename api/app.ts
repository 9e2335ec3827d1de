/**
 * The Express application, built from its dependencies (no listening here: api/main.ts and the
 * tests decide where it runs).
 */
import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import swaggerUi from 'swagger-ui-express';
import type { Services } from '../services/container';
import type { PrismaClient } from '../services/db/client';
import { checkHealth } from '../services/health/health';
import type { Logger } from '../services/logging/logger';
import type { TemporalDeps } from '../services/temporal/client';
import { DEFAULT_AUTH_RATE_LIMITS, type AuthRateLimits } from './auth/rate-limits';
import { authRoutes } from './auth/routes';
import { identifyCaller } from './auth/middleware';
import { historyRoutes } from './history/routes';
import { loginUserRoutes } from './login-users/routes';
import { loadSpec, loadSpecText, openApiValidator } from './openapi';
import { problemHandler } from './problem';
import { lifecycleRoutes } from './registrants/lifecycle-routes';
import { registrantRoutes } from './registrants/routes';
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
  /** Check responses against the contract too (on in tests). */
  validateResponses?: boolean;
}

// Invitation tokens travel in the link path; keep them out of access logs.
const redactUrl = (url: string) => url.replace(/\/i\/[^/?#]+/, '/i/[redacted]');

export function createApp(deps: AppDeps): Express {
  const { services } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(
    pinoHttp({
      logger: deps.logger,
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: redactUrl(req.url) }),
      },
    }),
  );
  app.use(express.json({ limit: '1mb' }));

  const specText = loadSpecText();
  app.get('/openapi.yaml', (_req, res) => {
    res.type('application/yaml').send(specText);
  });
  app.use('/docs', swaggerUi.serveFiles(loadSpec(), { customSiteTitle: 'mynaflow API' }));
  app.get('/docs/', swaggerUi.setup(loadSpec(), { customSiteTitle: 'mynaflow API' }));

  app.use(openApiValidator({ validateResponses: deps.validateResponses ?? false }));
  app.use(identifyCaller(services.auth));

  app.get('/healthz', async (_req, res) => {
    const health = await checkHealth(deps.prisma, deps.temporal);
    res.status(health.status === 'ok' ? 200 : 503).json(health);
  });
  app.use(
    authRoutes(services.auth, {
      rateLimits: deps.authRateLimits ?? DEFAULT_AUTH_RATE_LIMITS,
      secureCookies: deps.secureCookies,
      sessionAbsoluteHours: deps.sessionAbsoluteHours,
      loginLockMinutes: deps.loginLockMinutes,
    }),
  );
  app.use(lifecycleRoutes(services.lifecycle, services.invitationQr));
  app.use(registrantRoutes(services.registrants, services.myNumbers));
  app.use(loginUserRoutes(services.loginUsers));
  app.use(tenantRoutes(services.tenantSettings));
  app.use(historyRoutes(services.history));

  app.use(problemHandler(deps.logger));
  return app;
}
