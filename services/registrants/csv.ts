/**
 * HR's registrant CSVs (README "CSV import and export"): the export without numbers, the export
 * with numbers (password again + a purpose of use, recorded, never cached), the import template
 * and the CSV upload (dry run, or all-or-nothing import whose workflows start after the commit).
 */
import { randomUUID } from 'node:crypto';
import { Prisma, type Purpose, type Registrant, type Status } from '../../prisma/generated/client';
import { formatJst } from '../audit/history';
import type { History, OperationInput } from '../audit/types';
import type { Readable } from 'node:stream';
import { CsvEncodingError, csvStream, encodeCsv, type CsvCell, type UnencodableCell } from '../csv/encode';
import { pickModel, REGISTRANT_COLUMNS, selectColumns } from '../db/raw-rows';
import type { DetectedEncoding } from '../csv/decode';
import { slashDate } from '../dates/japanese-date';
import { isUniqueViolation, type PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { actorOf, stepActorOf, type Acting } from '../login-users/login-users';
import { DEFAULT_RETENTION_RULE, deletionDueBy, retentionRule, todayInJapan } from '../retention/rules';
import type { TemporalDeps } from '../temporal/client';
import { openText, type Vault } from '../vault/types';
import {
  CATEGORY_LABELS,
  DEPENDENT_KIND_LABELS,
  GENDER_LABELS,
  IMPORT_COLUMNS,
  IMPORT_TEMPLATE_ROWS,
  NUMBERS_EXPORT_HEADER,
  REGISTRANT_EXPORT_HEADER,
  STATUS_LABELS,
} from './csv-columns';
import { checkImportRows, readImportFile, type ImportFile, type ImportLineReport, type ImportRow } from './csv-import';
import { dependentsStatus, type DependentStatusRow } from './view';
import { createRegistrantWorkflows, queuedInput, queuedStart } from './workflow-starts';
import { importedRegistrant } from './import-rows';
import { createRequestRecords, type Keep, type Once } from '../idempotency/request-records';
import type { ConfirmPassword } from '../auth/auth-service';

export type ExportEncoding = 'cp932' | 'utf8-bom';

export interface ExportFilters {
  status?: Status;
  retired?: boolean;
}

export interface ImportReport {
  dryRun: boolean;
  /** no line has an error */
  ok: boolean;
  /** what the file was read as */
  encoding: DetectedEncoding;
  /** data lines read (blank lines are skipped) */
  rows: number;
  valid: number;
  invalid: number;
  /** registrants stored (0 in a dry run) */
  created: number;
  /** people who get (or, in a dry run, would get) the invitation mail */
  invited: number;
  /** groups that do not exist yet and are (would be) created */
  newGroups: string[];
  /** columns only exports write, read past */
  ignoredColumns: string[];
  /** the outcome in Japanese */
  message: string;
  lines: ImportLineReport[];
}

/** A report of an upload's lines (the registrant upload's, or the import with numbers'). */
export interface LinesReport {
  rows: number;
  lines: { line: number; ok: boolean; errors: { column: string; message: string }[] }[];
}

/** A real import with at least one bad line: nothing was stored; the report says where. */
export class ImportRejected<R extends LinesReport = ImportReport> extends AppError {
  constructor(public readonly report: R) {
    const bad = report.lines.filter((l) => !l.ok);
    super(
      400,
      'CSV_IMPORT_INVALID',
      `CSVに誤りがあるため、1人も登録していません（${report.rows}行中${bad.length}行に誤り）。各行の内容を直してからアップロードしてください`,
      bad.flatMap((l) => l.errors.map((e) => ({ path: `/lines/${l.line}/${e.column}`, message: `${l.line}行目「${e.column}」：${e.message}`, code: 'invalid' }))),
    );
  }
}


export interface RegistrantCsvDeps {
  prisma: PrismaClient;
  history: History;
  vault: Vault;
  temporal: TemporalDeps;
  /** Reminder days when the tenant has none set. */
  inviteReminderDays: number[];
  confirmPassword: ConfirmPassword;
}

/** READ COMMITTED for the history's chain lock; a 2,000-line import writes a few thousand rows. */
const TX = { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 300_000 } as const;
/** People read per page by the export (twice: the check, then the file). */
const EXPORT_PAGE = 1000;

/** Workflow starts in flight at once after an import. */
const START_CONCURRENCY = 32;

export const TEMPORAL_DOWN = () => new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。時間をおいて再度お試しください（登録はしていません）');
/** Another request added the same employee code (or group) meanwhile: the check runs again on a retry. */
export const IMPORT_CONFLICT = () =>
  new AppError(409, 'IMPORT_CONFLICT', '同じ社員コードの登録者またはグループが他の操作で同時に追加されました。もう一度アップロードしてください（登録はしていません）');

/** The employee codes of an upload that the tenant already uses. */
export async function takenCodes(prisma: PrismaClient, tenantId: string, file: ImportFile<string>): Promise<Set<string>> {
  const codeColumn = file.columns.findIndex((c) => c.field === 'employeeCode');
  const codes = codeColumn < 0 ? [] : [...new Set(file.records.map((r) => (r.cells[codeColumn] ?? '').trim().normalize('NFKC')).filter(Boolean))];
  const taken = await prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: codes } }, select: { employeeCode: true } });
  return new Set(taken.map((t) => t.employeeCode!));
}
const showDate = (d: Date | null) => (d ? slashDate(d.toISOString().slice(0, 10)) : null);
const personLabel = (r: { employeeCode: string | null; familyName: string; givenName: string }) =>
  `${r.employeeCode ? `社員コード${r.employeeCode} ` : ''}${r.familyName} ${r.givenName}`;

/**
 * A character CP932 cannot write: one entry per offending cell, naming the person and the column,
 * never a '?' in its place. Nothing is downloaded (or recorded).
 */
function unencodable(err: CsvEncodingError, personOf: (row: number) => string): AppError {
  const cells = new Map<string, { row: number; column: string; chars: string[] }>();
  for (const o of err.offending) {
    const key = `${o.row}\u0000${o.column}`;
    const cell = cells.get(key) ?? { row: o.row, column: o.column, chars: [] };
    if (!cell.chars.includes(o.char)) cell.chars.push(o.char);
    cells.set(key, cell);
  }
  const code = (c: string) => `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return new AppError(
    422,
    'CSV_UNENCODABLE',
    'Shift_JIS（CP932）で表せない文字が含まれているため、ダウンロードできません。UTF-8（BOM付き）で出力するか、該当する登録者の情報を確認してください',
    [...cells.values()].map((c) => ({
      path: `/rows/${c.row}/${c.column}`,
      message: `${c.row}行目（${personOf(c.row)}）の「${c.column}」：${c.chars.map((ch) => `「${ch}」（${code(ch)}）`).join('')}はShift_JISで表せません`,
      code: 'cp932',
    })),
  );
}

function encode(header: string[], rows: CsvCell[][], encoding: ExportEncoding, personOf: (row: number) => string): Buffer {
  try {
    return encodeCsv(header, rows, { encoding });
  } catch (err) {
    if (err instanceof CsvEncodingError) throw unencodable(err, personOf);
    throw err;
  }
}

/** What the export was filtered by (codes and flags only, never text a person typed). */
const filteredBy = (f: ExportFilters) => ({ ...(f.status ? { status: f.status } : {}), ...(f.retired !== undefined ? { retired: f.retired } : {}) });

export function createRegistrantCsvService({ prisma, history, vault, temporal, inviteReminderDays, confirmPassword }: RegistrantCsvDeps) {
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });
  const records = createRequestRecords(prisma, vault);
  /**
   * The export's people in its order (employee code, those without one last; then added; then id),
   * a page at a time by keyset, with their group's name and the dependents that count for the
   * dependents column: memory stays flat however many people the tenant has.
   */
  async function* exportPages(tenantId: string, f: ExportFilters): AsyncGenerator<{ r: Registrant; groupName: string | null; dependents: DependentStatusRow[] }[]> {
    const filters = Prisma.sql`${f.status ? Prisma.sql` AND r.status = ${f.status}::"Status"` : Prisma.empty}${f.retired !== undefined ? Prisma.sql` AND r.retired = ${f.retired}` : Prisma.empty}`;
    // Two runs, each in the order of the index (tenant, employee code, added, id): the people with
    // a code, then those without (an ascending index keeps NULLs last, as the file does).
    for (const withCode of [true, false]) {
      let after: Registrant | null = null;
      for (;;) {
        const from: Prisma.Sql = withCode
          ? Prisma.sql`r.employee_code IS NOT NULL${after ? Prisma.sql` AND (r.employee_code, r.created_at, r.id) > (${after.employeeCode}, ${after.createdAt}::timestamptz, ${after.id}::uuid)` : Prisma.empty}`
          : Prisma.sql`r.employee_code IS NULL${after ? Prisma.sql` AND (r.created_at, r.id) > (${after.createdAt}::timestamptz, ${after.id}::uuid)` : Prisma.empty}`;
        // One table, read in its index's order up to the page's end (with a join the planner may
        // read and sort the rest of the tenant for every page); groups and dependents come after.
        const found = await prisma.$queryRaw<Record<string, unknown>[]>`
          SELECT ${selectColumns('r', REGISTRANT_COLUMNS)} FROM registrants r
           WHERE r.tenant_id = ${tenantId}::uuid AND ${from}${filters}
           ORDER BY ${withCode ? Prisma.sql`r.employee_code, r.created_at, r.id` : Prisma.sql`r.created_at, r.id`}
           LIMIT ${EXPORT_PAGE}`;
        if (found.length === 0) break;
        const people = found.map((row) => pickModel<Registrant>(row, REGISTRANT_COLUMNS));
        const groupIds = [...new Set(people.flatMap((r) => (r.groupId ? [r.groupId] : [])))];
        const groups = groupIds.length ? await prisma.$queryRaw<{ id: string; name: string }[]>`SELECT id, name FROM groups WHERE id = ANY(${groupIds}::uuid[])` : [];
        const groupName = new Map(groups.map((g) => [g.id, g.name]));
        const page = people.map((r) => ({ r, groupName: r.groupId ? (groupName.get(r.groupId) ?? null) : null, dependents: [] as DependentStatusRow[] }));
        const byId = new Map(page.map((p) => [p.r.id, p]));
        const deps = await prisma.$queryRaw<(DependentStatusRow & { registrantId: string })[]>`
          SELECT registrant_id AS "registrantId", status::text AS status, no_longer_dependent_at AS "noLongerDependentAt", draft
            FROM dependents WHERE registrant_id = ANY(${[...byId.keys()]}::uuid[]) AND NOT draft`;
        for (const d of deps) byId.get(d.registrantId)?.dependents.push(d);
        yield page;
        after = page[page.length - 1]!.r;
      }
    }
  }

  async function* exportRows(tenantId: string, f: ExportFilters): AsyncGenerator<{ cells: CsvCell[]; label: string }[]> {
    for await (const page of exportPages(tenantId, f)) {
      yield page.map(({ r, groupName, dependents }) => {
        const counted = dependents.filter((d) => !d.draft && d.noLongerDependentAt === null);
        const depStatus = dependentsStatus(dependents);
        return {
          label: personLabel(r),
          cells: [
            r.employeeCode,
            r.familyName,
            r.givenName,
            r.familyNameKana,
            r.givenNameKana,
            r.email,
            CATEGORY_LABELS[r.category],
            showDate(r.birthDate),
            r.gender ? GENDER_LABELS[r.gender] : null,
            showDate(r.hireDate),
            showDate(r.retirementDate),
            groupName,
            r.note,
            STATUS_LABELS[r.status],
            depStatus ? STATUS_LABELS[depStatus] : null,
            counted.length,
            r.myNumberSecretId ? '登録済' : '未登録',
            showDate(r.deletionDueDate),
            formatJst(r.createdAt),
          ],
        };
      });
    }
  }

  /** null when the secret went away meanwhile (corrected or deleted): that person has no number now. */
  const openNumber = async (secretId: string | null, tenantId: string): Promise<string | null> => (secretId ? openText(vault, secretId, tenantId) : null);

  return {
    /** The sample file: the header and two example people, CP932 like Excel's own CSV. */
    template(): Buffer {
      return encodeCsv(
        IMPORT_COLUMNS.map((c) => c.ja),
        IMPORT_TEMPLATE_ROWS,
        { encoding: 'cp932' },
      );
    },

    /** Every registrant (filtered) without any number; recorded. */
    /**
     * The export, streamed. Every cell is checked first, page by page in the file's order: a
     * character the encoding cannot write is a 422 naming each person and column, before any byte
     * is sent and with nothing recorded. Then the download is recorded and the same pages are read
     * again and sent as they are encoded.
     */
    async exportRegistrants(acting: Acting, filters: ExportFilters, encoding: ExportEncoding): Promise<{ stream: Readable; count: number }> {
      const offending: UnencodableCell[] = [];
      const labels = new Map<number, string>();
      let count = 0;
      for await (const page of exportRows(acting.tenantId, filters)) {
        try {
          encodeCsv(REGISTRANT_EXPORT_HEADER, page.map((p) => p.cells), { encoding });
        } catch (err) {
          if (!(err instanceof CsvEncodingError)) throw err;
          for (const o of err.offending) {
            offending.push({ ...o, row: count + o.row });
            labels.set(count + o.row, page[o.row - 1]!.label);
          }
        }
        count += page.length;
      }
      if (offending.length) throw unencodable(new CsvEncodingError(encoding, offending), (row) => labels.get(row)!);
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'registrants_exported',
        detail: { encoding, count, filteredBy: filteredBy(filters) },
        ip: acting.ip,
        userAgent: acting.userAgent,
      });
      const rows = (async function* () {
        for await (const page of exportRows(acting.tenantId, filters)) for (const p of page) yield p.cells;
      })();
      return { stream: csvStream(REGISTRANT_EXPORT_HEADER, rows, { encoding }), count };
    },

    /**
     * One row per person (the registrant, then their dependents) with the number. Needs the caller's
     * password again and a purpose the tenant uses; recorded with the purpose and the counts, once
     * for the download and once per registrant whose numbers were in it — never the numbers.
     */
    async exportWithNumbers(
      acting: Acting,
      input: { password: string; purpose: Purpose; encoding: ExportEncoding; filters: ExportFilters },
    ): Promise<{ body: Buffer; persons: number; numbers: number }> {
      await confirmPassword(acting.user.id, input.password, { ip: acting.ip, userAgent: acting.userAgent });
      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId }, select: { purposes: true } });
      if (!tenant.purposes.includes(input.purpose)) {
        throw new AppError(400, 'PURPOSE_DISABLED', 'この利用目的は契約者設定で使用しないことになっています');
      }
      const registrants = await prisma.registrant.findMany({
        where: { tenantId: acting.tenantId, ...(input.filters.status ? { status: input.filters.status } : {}), ...(input.filters.retired !== undefined ? { retired: input.filters.retired } : {}) },
        orderBy: [{ employeeCode: { sort: 'asc', nulls: 'last' } }, { createdAt: 'asc' }, { id: 'asc' }],
        // Dependents still in the employee's draft are not HR's to see; nor are former dependents needed.
        include: { dependents: { where: { draft: false, noLongerDependentAt: null }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] } },
      });
      const rows: CsvCell[][] = [];
      const people: string[] = [];
      const perRegistrant: { id: string; label: string; numbers: number }[] = [];
      let numbers = 0;
      for (const r of registrants) {
        let mine = 0;
        const own = await openNumber(r.myNumberSecretId, acting.tenantId);
        if (own) mine++;
        rows.push([r.employeeCode, '本人', '本人', r.familyName, r.givenName, r.familyNameKana, r.givenNameKana, showDate(r.birthDate), r.gender ? GENDER_LABELS[r.gender] : null, CATEGORY_LABELS[r.category], STATUS_LABELS[r.status], own, r.id, null]);
        people.push(personLabel(r));
        for (const d of r.dependents) {
          const number = await openNumber(d.myNumberSecretId, acting.tenantId);
          if (number) mine++;
          rows.push([r.employeeCode, '扶養家族', d.relationship, d.familyName, d.givenName, d.familyNameKana, d.givenNameKana, showDate(d.birthDate), d.gender ? GENDER_LABELS[d.gender] : null, DEPENDENT_KIND_LABELS[d.kind], STATUS_LABELS[d.status], number, r.id, d.id]);
          people.push(`${d.familyName} ${d.givenName}（${personLabel(r)}の扶養家族）`);
        }
        numbers += mine;
        if (mine > 0) perRegistrant.push({ id: r.id, label: `${r.familyName} ${r.givenName}`, numbers: mine });
      }
      const body = encode(NUMBERS_EXPORT_HEADER, rows, input.encoding, (row) => people[row - 1]!);
      const downloadId = randomUUID();
      const base = { tenantId: acting.tenantId, actor: actorOf(acting.user), operation: 'numbers_downloaded', purpose: input.purpose, ip: acting.ip, userAgent: acting.userAgent } as const;
      await prisma.$transaction(async (tx) => {
        await history.recordMany(
          [
            { ...base, detail: { downloadId, encoding: input.encoding, persons: rows.length, numbers, registrants: perRegistrant.length, filteredBy: filteredBy(input.filters) } },
            ...perRegistrant.map((p) => ({ ...base, registrant: { id: p.id, label: p.label }, detail: { downloadId, numbers: p.numbers } })),
          ],
          tx,
        );
      }, TX);
      return { body, persons: rows.length, numbers };
    },

    /**
     * The CSV upload. A dry run checks every line and stores nothing. A real import is all or
     * nothing: any bad line → ImportRejected (400, the same report); otherwise every registrant is
     * stored in one transaction, and only after the commit are their workflows started.
     */
    importCsv: (acting: Acting, bytes: Buffer, opts: { dryRun: boolean; invite: boolean }, key?: string): Promise<Once<ImportReport>> =>
      // A dry run stores nothing: it needs no key. The key covers the file and the options.
      records.once(`${acting.user.id}/csv-import`, opts.dryRun ? undefined : key, Buffer.concat([bytes, Buffer.from(JSON.stringify(opts))]), 201, (keep) => importCsv(acting, bytes, opts, keep)),
  };

  async function importCsv(acting: Acting, bytes: Buffer, opts: { dryRun: boolean; invite: boolean }, keep: Keep<ImportReport>): Promise<ImportReport> {
    const file = readImportFile(bytes);
    const taken = await takenCodes(prisma, acting.tenantId, file);
    const today = todayInJapan();
    const { lines, rows } = checkImportRows(file, { takenCodes: taken, invite: opts.invite, today });
    const groups = await prisma.group.findMany({ where: { tenantId: acting.tenantId }, select: { id: true, name: true } });
    const groupIds = new Map(groups.map((g) => [g.name, g.id]));
    const newGroups = [...new Set(rows.map((r) => r.group).filter((g): g is string => !!g && !groupIds.has(g)))];
    const invalid = lines.filter((l) => !l.ok).length;
    const invited = lines.filter((l) => l.invite).length;
    const report: ImportReport = {
      dryRun: opts.dryRun,
      ok: invalid === 0,
      encoding: file.encoding,
      rows: lines.length,
      valid: lines.length - invalid,
      invalid,
      created: 0,
      invited,
      newGroups,
      ignoredColumns: file.ignoredColumns,
      message: invalid
        ? `${lines.length}行中${invalid}行に誤りがあります。直してからもう一度アップロードしてください（誤りが1行でもあると1人も登録しません）`
        : `${lines.length}行すべて登録できます（確認のみで、まだ登録していません）`,
      lines,
    };
    if (opts.dryRun) return report;
    if (invalid) throw new ImportRejected(report);
    if (!(await workflows.reachable())) throw TEMPORAL_DOWN();

    const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: acting.tenantId }, select: { retentionRule: true } });
    const reminderDays = await workflows.reminderDaysOf(acting.tenantId);
    const rule = retentionRule(tenant.retentionRule) ?? retentionRule(DEFAULT_RETENTION_RULE)!;
    const deletionFor = (retirementDate: string) => deletionDueBy(rule, retirementDate, today);
    const ids = rows.map(() => randomUUID());
    const at = new Date();

    let created: Registrant[];
    try {
      created = await prisma.$transaction(async (tx) => {
        for (const name of newGroups) {
          const g = await tx.group.upsert({ where: { tenantId_name: { tenantId: acting.tenantId, name } }, create: { tenantId: acting.tenantId, name }, update: {} });
          groupIds.set(name, g.id);
        }
        const stored = await tx.registrant.createManyAndReturn({
          data: rows.map((r: ImportRow, i) => ({
            ...importedRegistrant(r, { id: ids[i]!, tenantId: acting.tenantId, groupIds, rule, today }),
            // A retiree's workflow takes its state from the row; the others' as the row asks.
            ...queuedStart(r.retirementDate ? null : { invite: r.invite ? {} : false, startedBy: stepActorOf(acting) }, at),
          })),
        });
        const byId = new Map(stored.map((s) => [s.id, s]));
        const actor = actorOf(acting.user);
        const facts = { tenantId: acting.tenantId, actor, ip: acting.ip, userAgent: acting.userAgent };
        // One lock and one INSERT for the import's whole history, in the same order as before.
        const events: OperationInput[] = [];
        for (const [i, r] of rows.entries()) {
          const s = byId.get(ids[i]!)!;
          const registrant = { id: s.id, label: `${s.familyName} ${s.givenName}` };
          events.push({ ...facts, operation: 'registrant_created', registrant, detail: { source: 'csv_import', line: r.line } });
          if (r.retirementDate) {
            events.push({ ...facts, operation: 'retirement_set', registrant, detail: { retirementDate: r.retirementDate, deletionDueDate: deletionFor(r.retirementDate), rule: rule.code, source: 'csv_import' } });
          }
        }
        events.push({ ...facts, operation: 'registrants_imported', detail: { count: rows.length, invited, encoding: file.encoding, newGroups: newGroups.length } });
        await history.recordMany(events, tx);
        await keep(tx, answer(new Set(ids)));
        return ids.map((id) => byId.get(id)!);
      }, TX);
    } catch (err) {
      if (isUniqueViolation(err)) throw IMPORT_CONFLICT();
      throw err;
    }

    // After the commit: a workflow never runs for a person who was not stored.
    const inputs = created.map((r) => queuedInput(r, reminderDays));
    const failed = await workflows.startQueued(inputs, { concurrency: START_CONCURRENCY, budgetMs: 30_000 });
    return answer(failed);

    /** The report once stored: who is queued (not invited yet) is said on their line. */
    function answer(queued: Set<string>): ImportReport {
      const idByLine = new Map(rows.map((r, i) => [r.line, ids[i]!]));
      const out = lines.map((l) => {
        const registrantId = idByLine.get(l.line);
        if (!registrantId) return l;
        if (!queued.has(registrantId)) return { ...l, registrantId };
        // Queued, not invited yet: the reconciler starts it (and mails the invitation) later.
        const note = l.invite ? '登録しました。収集メールは送信待ちです（ワークフローサーバーに接続でき次第、自動で1通送ります）' : '登録しました。ワークフローの開始を待っています（ワークフローサーバーに接続でき次第、自動で開始します）';
        return { ...l, registrantId, invite: false, notes: [...l.notes, note] };
      });
      const sent = out.filter((l) => l.invite).length;
      return {
        ...report,
        lines: out,
        created: rows.length,
        invited: sent,
        message: `${rows.length}人を登録しました${sent ? `（うち${sent}人に収集メールを送ります）` : ''}${queued.size ? `。${queued.size}人はワークフローの開始を待っています（ワークフローサーバーに接続でき次第、自動で開始します）` : ''}`,
      };
    }
  }
}

export type RegistrantCsvService = ReturnType<typeof createRegistrantCsvService>;
