/**
 * Payroll integration (tag "payroll"): connector credentials (owners), the OAuth 2.0 token endpoint,
 * the registrant list shared with the console, and the just-in-time number pull in JSON or
 * Shift_JIS CSV, streamed.
 */
import { markEnvironment } from '../../services/tenants/sandbox';
import { once } from 'node:events';
import { Router, type Request, type Response } from 'express';
import type { components } from '../generated/openapi';
import type { ConnectorCaller, ConnectorService, Scope } from '../../services/connectors/connectors';
import { connectorActor } from '../../services/connectors/connectors';
import type { RegistrantSync, SyncItem } from '../../services/connectors/registrant-sync';
import { UNSERVED_LABELS, type NumberPull, type PullEntry, type PullRequest } from '../../services/connectors/number-pull';
import { PULL_HEADER, pullRows } from '../../services/connectors/pull-csv';
import type { History } from '../../services/audit/types';
import { csvStream, type CsvEncoding } from '../../services/csv/encode';
import type { PrismaClient } from '../../services/db/client';
import { AppError } from '../../services/errors';
import { forConnector, listRegistrants, type RegistrantFilters } from '../../services/registrants/listing';
import { ANY_ROLE, requestFacts, requireRole } from '../auth/middleware';
import { acting } from '../login-users/routes';
import { authRateLimiters, type AuthRateLimiting } from '../auth/rate-limits';
import { allow } from './middleware';

type Schemas = components['schemas'];

export interface ConnectorRouteDeps {
  prisma: PrismaClient;
  connectors: ConnectorService;
  numberPull: NumberPull;
  sync: RegistrantSync;
  history: History;
  rateLimits: AuthRateLimiting;
}

/** Basic credentials (RFC 6749 §2.3.1: form-encoded id and secret), if the header carries them. */
function basicCredentials(req: Request): { clientId?: string; clientSecret?: string } {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(req.get('authorization') ?? '');
  if (!m) return {};
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return {};
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, i)), clientSecret: decodeURIComponent(decoded.slice(i + 1)) };
  } catch {
    // A stray "%" (not form-encoded as RFC 6749 asks): a bad request, not a fault of ours.
    throw new AppError(400, 'invalid_request', 'Basic認証のクライアントIDまたはシークレットの形式が正しくありません（%はURLエンコードしてください）');
  }
}

const entryJson = (e: PullEntry) =>
  e.served
    ? { ...e.ref, registrantId: e.registrantId, employeeCode: e.employeeCode, familyName: e.familyName, givenName: e.givenName, familyNameKana: e.familyNameKana, givenNameKana: e.givenNameKana, birthDate: e.birthDate, myNumber: e.myNumber, dependents: e.dependents }
    : { ...e.ref, reason: e.reason, reasonLabel: UNSERVED_LABELS[e.reason] };

export function connectorRoutes(deps: ConnectorRouteDeps): Router {
  const { connectors, numberPull } = deps;
  const router = Router();
  const { attempts } = authRateLimiters(deps.rateLimits, 'oauth');
  const connector = (req: Request): ConnectorCaller => req.connector!;

  router.get('/v1/connectors', requireRole('owner', 'manager'), async (req, res) => {
    res.json(await connectors.list(acting(req).tenantId));
  });
  router.post('/v1/connectors', requireRole('owner'), async (req, res) => {
    const created = await connectors.create(acting(req), req.body as Schemas['ConnectorCreate'] & { scopes: Scope[] });
    res.status(201).set('Cache-Control', 'no-store').json(created);
  });
  router.post('/v1/connectors/:connectorId/revoke', requireRole('owner'), async (req, res) => {
    res.json(await connectors.revoke(acting(req), req.params.connectorId as string));
  });

  router.post('/v1/oauth/token', attempts, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, string | undefined>;
    if (body.grant_type !== 'client_credentials') throw new AppError(400, 'unsupported_grant_type', 'grant_type には client_credentials を指定してください');
    const basic = basicCredentials(req);
    const token = await connectors.issueToken(
      { clientId: basic.clientId ?? body.client_id, clientSecret: basic.clientSecret ?? body.client_secret, scope: body.scope },
      requestFacts(req),
      (tenant) => markEnvironment(req, res, tenant),
    );
    res.set('Cache-Control', 'no-store').set('Pragma', 'no-cache').json(token);
  });

  // The console and payroll read the same list; a connector's reads are recorded.
  router.get('/v1/registrants', allow({ roles: ANY_ROLE, scope: 'registrants:read' }), async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const filters: RegistrantFilters = {
      status: q.status as RegistrantFilters['status'],
      dependentsStatus: q.dependentsStatus as RegistrantFilters['dependentsStatus'],
      category: q.category as RegistrantFilters['category'],
      groupId: q.groupId,
      employeeCode: q.employeeCode,
      // The validator has already made it a boolean (it coerces query parameters to their schema type).
      retired: q.retired === undefined ? undefined : String(q.retired) === 'true',
      retiring: q.retiring === undefined ? undefined : String(q.retiring) === 'true',
      name: q.name,
      email: q.email,
      retirementMonth: q.retirementMonth,
      deletionMonth: q.deletionMonth,
      sort: q.sort as RegistrantFilters['sort'],
      updatedSince: q.updatedSince,
      cursor: q.cursor,
      limit: q.limit ? Number(q.limit) : undefined,
      withTotal: q.withTotal !== undefined && String(q.withTotal) === 'true',
    };
    const tenantId = req.connector ? req.connector.tenant.id : acting(req).tenantId;
    const page = await listRegistrants(deps.prisma, tenantId, filters);
    if (req.connector) {
      const c = connector(req);
      await deps.history.record({ tenantId, actor: connectorActor(c.client), operation: 'registrants_listed', ip: c.ip, userAgent: c.userAgent, detail: { count: page.items.length } });
      return res.json({ ...page, items: page.items.map(forConnector) });
    }
    res.json(page);
  });

  // Payroll's employee master → mynaflow, all or nothing; Idempotency-Key makes a retry safe.
  router.post('/v1/registrants/batch', allow({ scope: 'registrants:write' }), async (req, res) => {
    const answer = await deps.sync.sync(connector(req), req.body as Schemas['RegistrantSyncRequest'], req.get('idempotency-key') ?? undefined);
    if (answer.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.body);
  });
  router.put('/v1/employees/:employeeCode', allow({ scope: 'registrants:write' }), async (req, res) => {
    const item = { ...(req.body as Omit<SyncItem, 'employeeCode'>), employeeCode: req.params.employeeCode as string };
    const answer = await deps.sync.sync(connector(req), { items: [item], invite: req.query.invite === 'true' });
    const [result] = answer.body.items;
    res.status(result!.outcome === 'created' ? 201 : 200).json(result);
  });

  router.post('/v1/numbers/pull', allow({ scope: 'numbers:pull' }), async (req: Request, res: Response) => {
    const body = req.body as PullRequest;
    const c = connector(req);
    const entries = numberPull.pull(c, body); // refuses (throws) before the response starts
    const wantsCsv = req.accepts(['application/json', 'text/csv']) === 'text/csv';
    const encoding: CsvEncoding = (req.query.encoding as CsvEncoding | undefined) ?? 'cp932';
    res.set('Cache-Control', 'no-store');
    if (wantsCsv) {
      res.type(encoding === 'cp932' ? 'text/csv; charset=Shift_JIS' : 'text/csv; charset=UTF-8');
      res.set('Content-Disposition', 'attachment; filename="mynumbers.csv"');
      const rows = (async function* () {
        for await (const batch of entries) yield* pullRows(batch, encoding);
      })();
      const stream = csvStream(PULL_HEADER, rows, { encoding });
      stream.on('error', (err) => {
        req.log?.error({ err: { name: (err as Error).name } }, 'number pull stream failed');
        res.destroy();
      });
      stream.pipe(res);
      return;
    }
    // JSON, written as it is produced: {"purpose":…,"served":[…],"unserved":[…]} needs two lists, so
    // the unserved (small: codes and reasons) are held and written at the end.
    res.type('application/json');
    res.write(`{"purpose":${JSON.stringify(body.purpose)},"served":[`);
    const unserved: unknown[] = [];
    let first = true;
    try {
      for await (const batch of entries) {
        const parts: string[] = [];
        for (const e of batch) {
          if (e.served) parts.push(JSON.stringify(entryJson(e)));
          else unserved.push(entryJson(e));
        }
        if (parts.length) {
          // Wait for the socket when its buffer is full: memory stays flat however many are pulled.
          if (!res.write((first ? '' : ',') + parts.join(','))) await once(res, 'drain');
          first = false;
        }
      }
      res.end(`],"unserved":${JSON.stringify(unserved)}}`);
    } catch (err) {
      req.log?.error({ err: { name: (err as Error).name } }, 'number pull failed mid-stream');
      res.destroy();
    }
  });
  return router;
}
