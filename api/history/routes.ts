import { Router, type Request } from 'express';
import { formatJst, type createHistory, type SignedHead } from '../../services/audit/history';
import { CsvEncodingError } from '../../services/csv/encode';
import { AppError } from '../../services/errors';
import { ANY_ROLE, EDITORS, callerOf, requestFacts, requireRole } from '../auth/middleware';
import { actorOf } from '../../services/login-users/login-users';

type HistoryService = ReturnType<typeof createHistory>;

function filters(req: Request) {
  const q = req.query as Record<string, string | undefined>;
  return {
    tenantId: callerOf(req).tenant.id,
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    actor: q.actor,
    registrant: q.registrant,
    operation: q.operation,
  };
}

export function historyRoutes(history: HistoryService): Router {
  const router = Router();
  router.get('/v1/operation-history', requireRole(...ANY_ROLE), async (req, res) => {
    const q = req.query as Record<string, string | undefined>;
    const page = await history.search({ ...filters(req), limit: q.limit ? Number(q.limit) : undefined, cursor: q.cursor });
    res.json(page);
  });

  router.get('/v1/operation-history.csv', requireRole(...ANY_ROLE), async (req, res) => {
    const encoding = (req.query.encoding as string | undefined) === 'utf8' ? 'utf8-bom' : 'cp932';
    const f = filters(req);
    const body = await history.exportCsv(f, encoding).catch((err: unknown) => {
      if (!(err instanceof CsvEncodingError)) throw err;
      // Never a silent '?': say who and which column, and offer UTF-8.
      throw new AppError(
        422,
        'CSV_UNENCODABLE',
        'Shift_JIS（CP932）で表せない文字が含まれています。UTF-8で出力するか、該当箇所を確認してください',
        err.offending.map((o) => ({ path: `/rows/${o.row}/${o.column}`, message: `「${o.char}」はShift_JISで表せません`, code: 'cp932' })),
      );
    });
    const caller = callerOf(req);
    // What was downloaded: the period and which filters were used, never their text (a person may
    // have typed a name or a number into them, and this record is kept for good).
    const detail = {
      encoding: encoding === 'cp932' ? 'cp932' : 'utf8',
      ...(f.from ? { from: f.from.toISOString() } : {}),
      ...(f.to ? { to: f.to.toISOString() } : {}),
      filteredBy: (['actor', 'registrant', 'operation'] as const).filter((k) => f[k]?.trim()),
    };
    await history.record({ tenantId: caller.tenant.id, actor: actorOf(caller.user), operation: 'history_exported', detail, ...requestFacts(req) });
    // The date of the download in Japan time, as the people who file it read it.
    const stamp = formatJst(new Date()).slice(0, 10).replace(/\//g, '');
    res
      .set('Content-Type', `text/csv; charset=${encoding === 'cp932' ? 'Shift_JIS' : 'UTF-8'}`)
      .set('Content-Disposition', `attachment; filename="operation-history-${stamp}.csv"`)
      .set('Cache-Control', 'no-store')
      .send(body);
  });

  router.post('/v1/operation-history/verify', requireRole(...EDITORS), async (req, res) => {
    const caller = callerOf(req);
    const kept = (req.body as { head?: SignedHead } | undefined)?.head;
    const result = await history.verify(caller.tenant.id, kept);
    await history.record({ tenantId: caller.tenant.id, actor: actorOf(caller.user), operation: 'history_verified', detail: { ok: result.ok, checked: result.checked, ...(kept ? { against: kept.id } : {}) }, ...requestFacts(req) });
    const head = result.ok ? result.heads.find((h) => h.tenantId === caller.tenant.id) : undefined;
    res.json({
      ok: result.ok,
      checked: result.checked,
      unkeyed: result.unkeyed,
      ...(head ? { head: history.signHead(head) } : {}),
      ...(result.firstBroken ? { firstBroken: { id: result.firstBroken.id, reason: result.firstBroken.reason } } : {}),
    });
  });
  return router;
}
