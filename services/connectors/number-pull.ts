/**
 * Just-in-time number pulls (マイナンバーの取得): a payroll package asks for the numbers of the
 * people it is printing withholding slips for, under one purpose, and keeps none. Only completed
 * people are served; everyone else asked for is listed with a reason code. Each person served is
 * recorded in the operation history with the purpose and the connector (never the number).
 *
 * The work goes in batches of 500 people (one query for the people, one transaction for their
 * history rows), yielded as they are ready, so a pull of 100,000 streams in flat memory.
 */
import { Prisma, type Dependent, type Purpose, type Registrant } from '../../prisma/generated/client';
import { isUuid } from '../db/uuid';
import { DEPENDENT_COLUMNS, pickModel, REGISTRANT_COLUMNS, selectColumns } from '../db/raw-rows';
import { asApproved } from '../registrants/approved-numbers';
import type { OperationHistory } from '../audit/history';
import type { PrismaClient } from '../db/client';
import { directSql, type DirectSql } from '../db/direct-sql';
import { PREPARED } from '../db/statement-names';
import { AppError } from '../errors';
import type { Vault } from '../vault/types';
import { connectorActor, type ConnectorCaller } from './connectors';

export const PULL_BATCH = 500;
export const MAX_PULL_REFS = 100_000;

export type UnservedReason = 'NOT_REGISTERED' | 'PENDING' | 'REFUSED' | 'DELETED' | 'UNKNOWN' | 'NO_LONGER_DEPENDENT';

export const UNSERVED_LABELS: Record<UnservedReason, string> = {
  NOT_REGISTERED: '未登録',
  PENDING: '承認待ちまたは差戻し中',
  REFUSED: '拒否',
  DELETED: '削除済み',
  UNKNOWN: '該当なし',
  NO_LONGER_DEPENDENT: '扶養から外れた',
};

export interface PullRequest {
  purpose: Purpose;
  employeeCodes?: string[];
  registrantIds?: string[];
  /** every completed registrant of the tenant (instead of a list) */
  all?: boolean;
  includeDependents?: boolean;
}

export type PersonRef = { employeeCode: string } | { registrantId: string };

export interface PulledDependent {
  /** stable: the same id through the employee's later changes, usable as payroll's key */
  dependentId: string;
  relationship: string;
  /** 扶養親族 (dependent) or 国民年金の第3号被保険者 (category3) */
  kind: Dependent['kind'];
  familyName: string;
  givenName: string;
  familyNameKana: string | null;
  givenNameKana: string | null;
  birthDate: string | null;
  myNumber: string | null;
  unservedReason: UnservedReason | null;
}

export type PullEntry =
  | {
      served: true;
      ref: PersonRef;
      registrantId: string;
      employeeCode: string | null;
      familyName: string;
      givenName: string;
      familyNameKana: string | null;
      givenNameKana: string | null;
      birthDate: string | null;
      myNumber: string;
      dependents: PulledDependent[];
    }
  | { served: false; ref: PersonRef; reason: UnservedReason };

type Row = Registrant & { dependents: Dependent[] };

const date = (d: Date | null) => d?.toISOString().slice(0, 10) ?? null;

/**
 * The number payroll is served: the one HR last approved or verified, kept while a change waits for
 * approval (rows from before approved numbers were kept: the completed person's current one).
 */
const servedSecret = (x: { status: Registrant['status']; myNumberSecretId: string | null; approvedNumberSecretId: string | null }) =>
  x.approvedNumberSecretId ?? (x.status === 'completed' ? x.myNumberSecretId : null);

function reasonFor(status: Registrant['status'] | Dependent['status'], hasNumber: boolean): UnservedReason | null {
  if (hasNumber) return null;
  if (status === 'completed') return 'NOT_REGISTERED';
  if (status === 'pending' || status === 'remanded') return 'PENDING';
  if (status === 'refused') return 'REFUSED';
  return 'NOT_REGISTERED';
}

export function createNumberPull({ prisma, vault, history }: { prisma: PrismaClient; vault: Vault; history: OperationHistory }) {
  /** Refuses a pull the connector or the tenant does not allow, before anything is read. */
  function check(caller: ConnectorCaller, req: PullRequest): PersonRef[] | 'all' {
    if (!caller.client.allowedPurposes.includes(req.purpose) || !caller.tenant.purposes.includes(req.purpose)) {
      throw new AppError(403, 'PURPOSE_NOT_ALLOWED', 'この利用目的でのマイナンバーの取得は、この連携アプリに許可されていません');
    }
    const refs: PersonRef[] = [...(req.employeeCodes ?? []).map((employeeCode) => ({ employeeCode })), ...(req.registrantIds ?? []).map((registrantId) => ({ registrantId }))];
    if (req.all && refs.length) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/body/all', code: 'ALL_WITH_LIST', message: 'all と社員コード・登録者IDの指定は同時に使えません' }]);
    if (!req.all && refs.length === 0) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/body', code: 'NOBODY_REQUESTED', message: '社員コードか登録者IDを指定するか、all を true にしてください' }]);
    if (refs.length > MAX_PULL_REFS) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/body', code: 'TOO_MANY', message: `一度に取得できるのは${MAX_PULL_REFS.toLocaleString('ja-JP')}人までです` }]);
    return req.all ? 'all' : refs;
  }

  /** A batch's entries, numbers opened: nothing is recorded yet, so nothing may be served from it yet. */
  async function prepare(sql: DirectSql, caller: ConnectorCaller, req: PullRequest, refs: PersonRef[], rows: Row[]): Promise<PullEntry[]> {
    const tenantId = caller.tenant.id;
    const byCode = new Map(rows.filter((r) => r.employeeCode).map((r) => [r.employeeCode!, r]));
    const byId = new Map(rows.map((r) => [r.id, r]));
    const find = (ref: PersonRef) => ('employeeCode' in ref ? byCode.get(ref.employeeCode) : byId.get(ref.registrantId));

    // People not found: deleted under a retention rule (the deletion record remembers them) or unknown.
    const missing = refs.filter((ref) => !find(ref));
    const deleted = missing.length
      ? await prisma.deletionRecord.findMany({
          where: {
            tenantId,
            kind: { not: 'dependent' },
            OR: [
              { employeeCode: { in: missing.flatMap((r) => ('employeeCode' in r ? [r.employeeCode] : [])) } },
              { registrantId: { in: missing.flatMap((r) => ('registrantId' in r && isUuid(r.registrantId) ? [r.registrantId] : [])) } },
            ],
          },
          select: { employeeCode: true, registrantId: true },
        })
      : [];
    const deletedCodes = new Set(deleted.map((d) => d.employeeCode));
    const deletedIds = new Set(deleted.map((d) => d.registrantId));

    // Each person's (and dependent's) outcome, decided once; then every secret served, in one query.
    const resolved = refs.map((ref) => {
      const r = find(ref);
      if (!r) {
        const gone = 'employeeCode' in ref ? deletedCodes.has(ref.employeeCode) : deletedIds.has(ref.registrantId);
        return { ref, r: null, reason: (gone ? 'DELETED' : 'UNKNOWN') as UnservedReason, dependents: [] };
      }
      const dependents = req.includeDependents ? r.dependents.map((d) => ({ d, why: d.noLongerDependentAt ? ('NO_LONGER_DEPENDENT' as const) : reasonFor(d.status, servedSecret(d) !== null) })) : [];
      return { ref, r, reason: reasonFor(r.status, servedSecret(r) !== null), dependents };
    });
    const secretIds = resolved.flatMap(({ r, reason, dependents }) => (r && !reason ? [servedSecret(r)!, ...dependents.filter((x) => !x.why).map((x) => servedSecret(x.d)!)] : []));
    const opened = secretIds.length ? await vault.openMany(secretIds, tenantId, sql) : new Map<string, Buffer>();
    const numberOf = (secretId: string) => opened.get(secretId)!.toString('utf8');

    const entries: PullEntry[] = resolved.map(({ ref, r: row, reason, dependents }): PullEntry => {
      if (!row || reason) return { served: false, ref, reason: reason! };
      // The approved numbers go with the approved data, not with a pending change's.
      const r = asApproved(row);
      return {
        served: true,
        ref,
        registrantId: r.id,
        employeeCode: r.employeeCode,
        familyName: r.familyName,
        givenName: r.givenName,
        familyNameKana: r.familyNameKana,
        givenNameKana: r.givenNameKana,
        birthDate: date(r.birthDate),
        myNumber: numberOf(servedSecret(r)!),
        dependents: dependents.map(({ d: row, why }) => {
          const d = asApproved(row);
          return {
            dependentId: d.id,
            relationship: d.relationship,
            kind: d.kind,
            familyName: d.familyName,
            givenName: d.givenName,
            familyNameKana: d.familyNameKana,
            givenNameKana: d.givenNameKana,
            birthDate: date(d.birthDate),
            myNumber: why ? null : numberOf(servedSecret(d)!),
            unservedReason: why,
          };
        }),
      };
    });

    return entries;
  }

  /** One history row per person served, in one transaction for the batch; then the batch may be served. */
  async function record(sql: DirectSql, caller: ConnectorCaller, req: PullRequest, entries: PullEntry[]): Promise<PullEntry[]> {
    const tenantId = caller.tenant.id;
    const served = entries.filter((e): e is Extract<PullEntry, { served: true }> => e.served);
    if (served.length) {
      await sql.transaction(
        (tx) =>
          history.recordMany(
            served.map((e) => ({
              tenantId,
              actor: connectorActor(caller.client),
              operation: 'number_pulled' as const,
              registrant: { id: e.registrantId, label: `${e.familyName} ${e.givenName}` },
              purpose: req.purpose,
              ip: caller.ip,
              userAgent: caller.userAgent,
              detail: { connectorId: caller.client.id, dependents: e.dependents.filter((d) => d.myNumber !== null).length },
            })),
            tx,
          ),
        { timeoutSeconds: 120 },
      );
    }
    return entries;
  }

  /**
   * The batch's people, and their submitted dependents when asked, in plain SQL: Prisma's include
   * cost more than the rest of the pull together (its relation join runs in JavaScript).
   */
  async function rowsWhere(sql: DirectSql, where: Prisma.Sql, req: PullRequest, orderAndLimit = Prisma.empty): Promise<Row[]> {
    // Planned per call: "everyone" walks a whole tenant, whose size decides the plan (a batch of 500 pays it once).
    const found = await sql.$queryRaw<Record<string, unknown>[]>`SELECT ${selectColumns('r', REGISTRANT_COLUMNS)} FROM registrants r WHERE ${where} ${orderAndLimit}`;
    const rows: Row[] = found.map((r) => ({ ...pickModel<Registrant>(r, REGISTRANT_COLUMNS), dependents: [] }));
    if (req.includeDependents && rows.length) {
      const byId = new Map(rows.map((r) => [r.id, r]));
      const deps = await sql.$queryRaw<Record<string, unknown>[]>`${Prisma.raw(PREPARED)}
        SELECT ${selectColumns('d', DEPENDENT_COLUMNS)} FROM dependents d
         WHERE d.registrant_id = ANY(${rows.map((r) => r.id)}::uuid[]) AND NOT d.draft ORDER BY d.created_at, d.id`;
      for (const d of deps) {
        const dependent = pickModel<Dependent>(d, DEPENDENT_COLUMNS);
        byId.get(dependent.registrantId)?.dependents.push(dependent);
      }
    }
    return rows;
  }

  /** The batches' people in the order asked (or by registrant id for `all`), as their rows are read. */
  async function* reads(sql: DirectSql, caller: ConnectorCaller, req: PullRequest, plan: PersonRef[] | 'all'): AsyncGenerator<{ refs: PersonRef[]; rows: Row[] }> {
    const tenantId = caller.tenant.id;
    if (plan === 'all') {
      let after: string | undefined;
      for (;;) {
        const rows = await rowsWhere(
          sql,
          Prisma.sql`r.tenant_id = ${tenantId}::uuid AND (r.approved_number_secret_id IS NOT NULL OR (r.status = 'completed' AND r.my_number_secret_id IS NOT NULL))${after ? Prisma.sql` AND r.id > ${after}::uuid` : Prisma.empty}`,
          req,
          Prisma.sql`ORDER BY r.id LIMIT ${PULL_BATCH}`,
        );
        if (rows.length === 0) return;
        yield { refs: rows.map((r) => ({ registrantId: r.id })), rows };
        after = rows[rows.length - 1]!.id;
      }
    }
    for (let i = 0; i < plan.length; i += PULL_BATCH) {
      const refs = plan.slice(i, i + PULL_BATCH);
      const codes = refs.flatMap((r) => ('employeeCode' in r ? [r.employeeCode] : []));
      const ids = refs.flatMap((r) => ('registrantId' in r && isUuid(r.registrantId) ? [r.registrantId] : []));
      yield { refs, rows: await rowsWhere(sql, Prisma.sql`r.tenant_id = ${tenantId}::uuid AND (r.employee_code = ANY(${codes}::text[]) OR r.id = ANY(${ids}::uuid[]))`, req) };
    }
  }

  /**
   * Batch by batch: each recorded, then yielded. The next batch is read and opened meanwhile (the
   * database works while this process records and the caller encodes), but only recorded when the
   * caller asks for it, so a caller who stops early has no history rows for what it never got.
   */
  async function* batches(caller: ConnectorCaller, req: PullRequest, plan: PersonRef[] | 'all'): AsyncGenerator<PullEntry[]> {
    // The pull's statements go straight to the pool: through Prisma they cost the pull a third of its time.
    const sql = await directSql(prisma);
    const source = reads(sql, caller, req, plan);
    const prepareNext = async () => {
      const next = await source.next();
      return next.done ? null : prepare(sql, caller, req, next.value.refs, next.value.rows);
    };
    let ahead = prepareNext();
    try {
      for (;;) {
        const entries = await ahead;
        if (!entries) return;
        ahead = prepareNext();
        // A failure of the read ahead surfaces when it is awaited (or not at all if the caller stops).
        ahead.catch(() => undefined);
        yield await record(sql, caller, req, entries);
      }
    } finally {
      await ahead.catch(() => undefined);
      await source.return(undefined);
    }
  }

  return {
    /**
     * Checks the request at once (throws before any byte of an answer is written), then yields
     * the entries batch by batch as they are read.
     */
    pull(caller: ConnectorCaller, req: PullRequest): AsyncGenerator<PullEntry[]> {
      return batches(caller, req, check(caller, req));
    },
  };
}

export type NumberPull = ReturnType<typeof createNumberPull>;
