/**
 * The registrant list for the console and for payroll connectors: filters, dependents with their
 * statuses, and keyset (cursor) pagination — in (updatedAt, id) order by default, so a payroll
 * package can sync "everything changed since my last run" page by page without missing or repeating
 * anyone; newest change first or by employee code for HR. Never numbers.
 */
import { likeLiteral } from '../db/like';
import { Prisma, type Dependent, type Gender, type Registrant, type RegistrantCategory, type Status } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { PREPARED } from '../db/statement-names';
import { directSql, type DirectSql } from '../db/direct-sql';
import { DEPENDENT_COLUMNS, pickModel, REGISTRANT_COLUMNS, selectColumns, someColumns } from '../db/raw-rows';
import { AppError, DEPENDENT_NOT_FOUND } from '../errors';
import { REGISTRANT_VIEW_FIELDS, registrantView, type RegistrantView, type RegistrantViewRow } from './view';

/**
 * `updated`: last change first to last, then id (a sync resumes where it stopped); `-updated`: the
 * newest change first (HR looking for what just came in); `employeeCode`: by employee code, people
 * without one last (how HR finds a person on paper lists); `submitted`: the earliest submission first,
 * people who have not submitted last (HR approving in the order people sent); `kana`: 五十音 order of
 * the kana (a person without kana by their name, after the kana).
 */
export const REGISTRANT_SORTS = ['updated', '-updated', 'employeeCode', 'submitted', 'kana'] as const;
export type RegistrantSort = (typeof REGISTRANT_SORTS)[number];

export interface RegistrantFilters {
  status?: Status;
  /** someone with a dependent in this status */
  dependentsStatus?: Status;
  category?: RegistrantCategory;
  groupId?: string;
  employeeCode?: string;
  retired?: boolean;
  /** 退職予定: a retirement date set and not retired yet (false: everyone else) */
  retiring?: boolean;
  /** part of the name or its kana: family, given, or "family given" (with or without a space) */
  name?: string;
  /** part of the e-mail address, case-insensitive */
  email?: string;
  /** YYYY-MM: the retirement date falls in that month */
  retirementMonth?: string;
  /** YYYY-MM: the deletion due date falls in that month */
  deletionMonth?: string;
  /** the order the cursor pages through; `updated` (default) is what a payroll sync wants */
  sort?: RegistrantSort;
  /** changed at or after this instant */
  updatedSince?: string;
  cursor?: string;
  /** default 100, at most 1,000 */
  limit?: number;
  /** also count everyone matching the filters (one COUNT more; the console's 「N人」) */
  withTotal?: boolean;
}

export interface DependentSummary {
  id: string;
  relationship: string;
  kind: 'dependent' | 'category3';
  familyName: string;
  givenName: string;
  familyNameKana: string | null;
  givenNameKana: string | null;
  birthDate: string | null;
  gender: Gender | null;
  status: Status;
  noLongerDependent: boolean;
  /** Taken off in a change HR has not decided: deleted if approved, kept if refused. */
  removalRequested: boolean;
  myNumber: { registered: boolean };
}

export type RegistrantListItem = RegistrantView & { updatedAt: string; groupId: string | null; dependents: DependentSummary[] };

export interface StatusCounts {
  total: number;
  unregistered: number;
  pending: number;
  remanded: number;
  completed: number;
  refused: number;
}

/** HOME's counts (seed 001 ch.3): registrants by status and retirees; submitted dependents by status. */
export interface RegistrantSummary {
  registrants: StatusCounts & { retired: number };
  dependents: StatusCounts;
}

const BAD_CURSOR = () => new AppError(400, 'CURSOR_INVALID', 'カーソルが正しくありません。最初のページから取得し直してください');

/** The key a row is ordered by under a sort (id breaks ties), as it is carried in a cursor. */
type SortKey = { sort: RegistrantSort; key: string | null; id: string };

/**
 * Each order as one column (then id), ascending unless `desc`. A `date` key travels in a cursor as
 * ISO text; a `nullable` one puts the rows without it last.
 */
const SORT_SPECS: Record<RegistrantSort, { field: 'updatedAt' | 'employeeCode' | 'submittedAt' | 'sortKana'; desc?: true; date?: true; nullable?: true }> = {
  updated: { field: 'updatedAt', date: true },
  '-updated': { field: 'updatedAt', date: true, desc: true },
  employeeCode: { field: 'employeeCode', nullable: true },
  submitted: { field: 'submittedAt', date: true, nullable: true },
  kana: { field: 'sortKana' },
};

const keyOf = (sort: RegistrantSort, r: Pick<Registrant, 'id' | 'updatedAt' | 'employeeCode' | 'submittedAt' | 'sortKana'>): SortKey => {
  const v = r[SORT_SPECS[sort].field];
  return { sort, key: v instanceof Date ? v.toISOString() : v, id: r.id };
};

// `updated` keeps the cursor form it has always had ("<updatedAt>|<id>"), so a sync's saved cursor stays valid.
function encodeCursor({ sort, key, id }: SortKey): string {
  const raw = sort === 'updated' ? `${key}|${id}` : JSON.stringify([sort, key, id]);
  return Buffer.from(raw).toString('base64url');
}

function decodeCursor(cursor: string, sort: RegistrantSort): SortKey {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  let parsed: SortKey;
  if (sort === 'updated') {
    const [key, id, extra] = raw.split('|');
    if (extra !== undefined || !key) throw BAD_CURSOR();
    parsed = { sort, key, id: id ?? '' };
  } else {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      throw BAD_CURSOR();
    }
    // A cursor is only good for the order it was made in.
    if (!Array.isArray(json) || json.length !== 3 || json[0] !== sort || (json[1] !== null && typeof json[1] !== 'string') || typeof json[2] !== 'string') throw BAD_CURSOR();
    parsed = { sort, key: json[1] as string | null, id: json[2] as string };
  }
  const spec = SORT_SPECS[sort];
  if (!/^[0-9a-f-]{36}$/.test(parsed.id)) throw BAD_CURSOR();
  if (parsed.key === null ? !spec.nullable : spec.date && Number.isNaN(new Date(parsed.key).getTime())) throw BAD_CURSOR();
  return parsed;
}

function orderOf(sort: RegistrantSort): Prisma.RegistrantOrderByWithRelationInput[] {
  const { field, desc, nullable } = SORT_SPECS[sort];
  const dir = desc ? 'desc' : 'asc';
  return [{ [field]: nullable ? { sort: dir, nulls: 'last' } : dir }, { id: dir }];
}

/** The rows after a cursor's row in its order (keyset pagination: no page is skipped or repeated as rows change). */
function after(c: SortKey): Prisma.RegistrantWhereInput {
  const { field, desc, date, nullable } = SORT_SPECS[c.sort];
  const beyond = desc ? 'lt' : 'gt';
  // A keyless row (nullable orders) is among the last: only keyless rows with a greater id follow it.
  if (c.key === null) return { [field]: null, id: { gt: c.id } };
  const key = date ? new Date(c.key) : c.key;
  return { OR: [{ [field]: { [beyond]: key } }, { [field]: key, id: { [beyond]: c.id } }, ...(nullable ? [{ [field]: null }] : [])] };
}

/** What a list row shows of a dependent (and the dependents column's inputs). */
const DEPENDENT_SUMMARY_FIELDS = [
  'id', 'registrantId', 'relationship', 'kind', 'familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'birthDate', 'gender', 'status',
  'noLongerDependentAt', 'removalRequestedAt', 'myNumberSecretId', 'draft',
] as const satisfies readonly (keyof Dependent)[];
type DependentSummaryRow = Pick<Dependent, (typeof DEPENDENT_SUMMARY_FIELDS)[number]>;

export const dependentSummary = (d: DependentSummaryRow): DependentSummary => ({
  id: d.id,
  relationship: d.relationship,
  kind: d.kind,
  familyName: d.familyName,
  givenName: d.givenName,
  familyNameKana: d.familyNameKana,
  givenNameKana: d.givenNameKana,
  birthDate: d.birthDate?.toISOString().slice(0, 10) ?? null,
  gender: d.gender,
  status: d.status,
  noLongerDependent: d.noLongerDependentAt !== null,
  removalRequested: d.removalRequestedAt !== null,
  myNumber: { registered: d.myNumberSecretId !== null },
});

const invalidQuery = (param: string, code: string, message: string) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: `/query/${param}`, code, message }]);

/** The first day of a YYYY-MM month and of the next: dates (@db.Date) in that month are gte/lt them. */
function monthRange(month: string, param: string): { gte: Date; lt: Date } {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  const year = Number(m?.[1]);
  const mon = Number(m?.[2]);
  if (!m || year < 1900 || year > 2999 || mon < 1 || mon > 12) throw invalidQuery(param, 'MONTH_INVALID', '年月は「2026-03」の形で指定してください');
  return { gte: new Date(Date.UTC(year, mon - 1, 1)), lt: new Date(Date.UTC(year, mon, 1)) };
}

/** Whether a timestamp's YYYY-MM-DD is a day of the calendar (Date takes 02-30 as 03-02). */
function calendarDay(timestamp: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(timestamp);
  if (!m) return true; // another form Date understood; nothing to roll over
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

interface CheckedRanges { retirement?: { gte: Date; lt: Date }; deletion?: { gte: Date; lt: Date }; since?: Date }

/** The month and date filters, parsed once for both page queries (400 when malformed). */
function checkedRanges(f: RegistrantFilters): CheckedRanges {
  const retirement = f.retirementMonth ? monthRange(f.retirementMonth, 'retirementMonth') : undefined;
  const deletion = f.deletionMonth ? monthRange(f.deletionMonth, 'deletionMonth') : undefined;
  const since = f.updatedSince ? new Date(f.updatedSince) : undefined;
  if (since && (Number.isNaN(since.getTime()) || !calendarDay(f.updatedSince!))) throw invalidQuery('updatedSince', 'DATE_INVALID', '日時の指定が正しくありません');
  return { retirement, deletion, since };
}

/** A registrant as the list shows it: the record's view with its submitted dependents summarised. */
const listItem = (r: RegistrantViewRow, dependents: DependentSummaryRow[]): RegistrantListItem => {
  // The view is this row's own new object: completed in place (a spread copy of its thirty fields
  // was the list page's largest cost of its own).
  const item = registrantView(r, dependents) as RegistrantListItem;
  item.updatedAt = r.updatedAt.toISOString();
  item.groupId = r.groupId;
  item.dependents = dependents.map(dependentSummary);
  return item;
};

/** Hiragana → katakana (kana are stored in katakana; people search in either). */
const toKatakana = (s: string) => s.replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));

/** Longest name search taken (a full name with kana is far shorter). */
const MAX_NAME_QUERY = 100;

/**
 * Registrants whose name or kana contains `query`: in the family name, in the given name, or across
 * the two as "family given" — so 山田, 太郎, 山田太郎, 山田 太郎, 田太 and やまだ all find 山田 太郎 (ヤマダ
 * タロウ). Spaces (half- or full-width) in the query are ignored; hiragana matches the katakana kana.
 * Built from plain LIKE conditions so it composes with the other filters and the cursor.
 */
export function nameFilter(query: string): Prisma.RegistrantWhereInput | null {
  const compact = query.replace(/[\s\u3000]+/g, '');
  if (compact === '') return null;
  if ([...compact].length > MAX_NAME_QUERY) throw invalidQuery('name', 'TOO_LONG', `名前の検索語は${MAX_NAME_QUERY}文字以内で指定してください`);
  // As typed, and NFKC (full-width letters, half-width katakana); kana also in katakana. A name
  // that has a space of its own (Mary Ann) is also looked for with the query's spaces kept.
  const typed = [...new Set([compact, compact.normalize('NFKC')])];
  const spaced = query.trim();
  const variants = { names: typed, kana: [...new Set([...typed, ...typed.map(toKatakana)])] };
  const or: Prisma.RegistrantWhereInput[] = [];
  const pairs = [['familyName', 'givenName', variants.names], ['familyNameKana', 'givenNameKana', variants.kana]] as const;
  for (const [family, given, texts] of pairs) {
    const whole = spaced === compact ? texts : [...new Set([...texts, spaced, spaced.normalize('NFKC')])];
    for (const text of whole) or.push({ [family]: { contains: likeLiteral(text), mode: 'insensitive' } }, { [given]: { contains: likeLiteral(text), mode: 'insensitive' } });
    for (const text of texts) {
      const chars = [...text];
      // Across the two names: the family name ends with the first part, the given name starts with the rest.
      for (let i = 1; i < chars.length; i++) {
        or.push({
          [family]: { endsWith: likeLiteral(chars.slice(0, i).join('')), mode: 'insensitive' },
          [given]: { startsWith: likeLiteral(chars.slice(i).join('')), mode: 'insensitive' },
        });
      }
    }
  }
  return { OR: or };
}

/** `prismaOnly`: choose the page with Prisma even where plain SQL could (the test holding the two equal). */
export async function listRegistrants(prisma: PrismaClient, tenantId: string, f: RegistrantFilters, opts: { prismaOnly?: boolean } = {}): Promise<{ items: RegistrantListItem[]; nextCursor: string | null; total?: number }> {
  const where = filtersWhere(tenantId, f);
  // Everyone matching, whatever the page: counted beside the page's query when asked for.
  const [page, total] = await Promise.all([pageOf(prisma, tenantId, f, where, opts), f.withTotal ? prisma.registrant.count({ where: { AND: where.and } }) : undefined]);
  return total === undefined ? page : { ...page, total };
}

/** Paper lists' order: employee code, then (for people without one) the name as read. */
export const BY_CODE_THEN_NAME: Prisma.RegistrantOrderByWithRelationInput[] = [
  { employeeCode: { sort: 'asc', nulls: 'last' } },
  { familyNameKana: { sort: 'asc', nulls: 'last' } },
  { givenNameKana: { sort: 'asc', nulls: 'last' } },
  { familyName: 'asc' },
  { givenName: 'asc' },
  { id: 'asc' },
];

/** Everyone the filters match (the console's "all N people", across pages), by employee code, at most `limit`. */
export async function registrantsMatching(prisma: PrismaClient, tenantId: string, f: RegistrantFilters, limit: number): Promise<Registrant[]> {
  return prisma.registrant.findMany({ where: { AND: filtersWhere(tenantId, f).and }, orderBy: BY_CODE_THEN_NAME, take: limit });
}

/** The filters as Prisma conditions (400 for a malformed month, date or name). */
function filtersWhere(tenantId: string, f: RegistrantFilters): { and: Prisma.RegistrantWhereInput[]; ranges: CheckedRanges } {
  const and: Prisma.RegistrantWhereInput[] = [{ tenantId }];
  if (f.status) and.push({ status: f.status });
  // HOME's dependents counts link here: people with at least one (submitted, current) dependent in that status.
  if (f.dependentsStatus) and.push({ dependents: { some: { status: f.dependentsStatus, draft: false, noLongerDependentAt: null } } });
  if (f.category) and.push({ category: f.category });
  if (f.groupId) and.push({ groupId: f.groupId });
  if (f.employeeCode) and.push({ employeeCode: f.employeeCode });
  if (f.retired !== undefined) and.push({ retired: f.retired });
  if (f.retiring !== undefined) and.push(f.retiring ? { retired: false, retirementDate: { not: null } } : { OR: [{ retired: true }, { retirementDate: null }] });
  if (f.name !== undefined) {
    const name = nameFilter(f.name);
    if (name) and.push(name);
  }
  if (f.email !== undefined && f.email.trim() !== '') and.push({ email: { contains: likeLiteral(f.email.normalize('NFKC').trim()), mode: 'insensitive' } });
  const ranges = checkedRanges(f);
  if (ranges.retirement) and.push({ retirementDate: ranges.retirement });
  if (ranges.deletion) and.push({ deletionDueDate: ranges.deletion });
  if (ranges.since) and.push({ updatedAt: { gte: ranges.since } });
  return { and, ranges };
}

/** One page in the chosen order after the cursor: plain SQL where it can, Prisma otherwise. */
async function pageOf(prisma: PrismaClient, tenantId: string, f: RegistrantFilters, where: { and: Prisma.RegistrantWhereInput[]; ranges: CheckedRanges }, opts: { prismaOnly?: boolean }): Promise<{ items: RegistrantListItem[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
  const { ranges } = where;
  const and = [...where.and];
  const sort = f.sort ?? 'updated';
  const cursor = f.cursor ? decodeCursor(f.cursor, sort) : undefined;
  const plain = opts.prismaOnly ? null : plainPage(tenantId, f, ranges, sort, cursor, limit);
  if (plain) return plainPageOf(await directSql(prisma), plain, sort, limit);
  if (cursor) and.push(after(cursor));
  const rows = await prisma.registrant.findMany({
    where: { AND: and },
    orderBy: orderOf(sort),
    take: limit + 1,
    // Draft dependents are the employee's unsubmitted work: HR and payroll never see them.
    include: { dependents: { where: { draft: false }, orderBy: { createdAt: 'asc' } } },
  });
  const more = rows.length > limit;
  if (more) rows.pop();
  const items = rows.map((r) => listItem(r, r.dependents));
  const last = rows[rows.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(keyOf(sort, last)) : null };
}

/** One of the registrant's dependents as HR may act on it (submitted, not in the employee's draft), or 404. */
export async function submittedDependent(db: Pick<PrismaClient, 'dependent'> | Prisma.TransactionClient, registrantId: string, dependentId: string): Promise<Dependent> {
  const d = await db.dependent.findFirst({ where: { id: dependentId, registrantId, draft: false } });
  if (!d) throw DEPENDENT_NOT_FOUND();
  return d;
}

/** What payroll connectors get: everything but HR's own remark (備考), which is not payroll's business. */
export function forConnector<T extends { note?: unknown }>(item: T): Omit<T, 'note'> {
  const { note: _hrOnly, ...rest } = item;
  return rest;
}

// The list reads only what its rows show: a page parses and sends less (the password hash, the kept
// profile and the start's options are JSON or long text nobody on the list needs).
const VIEW_COLUMNS = someColumns(REGISTRANT_COLUMNS, REGISTRANT_VIEW_FIELDS);
const SUMMARY_COLUMNS = someColumns(DEPENDENT_COLUMNS, DEPENDENT_SUMMARY_FIELDS);

const SORT_COLUMNS = { updatedAt: 'updated_at', employeeCode: 'employee_code', submittedAt: 'submitted_at', sortKana: 'sort_kana' } as const;

/**
 * The page's rows in plain SQL when every filter is a plain column condition (what the console's
 * list and payroll's sync ask for): a Prisma query costs about 1 ms of CPU for its query compiler
 * alone, most of a page under load. Null when a filter needs Prisma's (name, e-mail, dependents'
 * status). test/raw-rows.test.ts holds the two equal, filter by filter.
 */
function plainPage(tenantId: string, f: RegistrantFilters, ranges: CheckedRanges, sort: RegistrantSort, cursor: SortKey | undefined, limit: number): Prisma.Sql | null {
  if (f.name !== undefined || (f.email !== undefined && f.email.trim() !== '') || f.dependentsStatus) return null;
  const c: Prisma.Sql[] = [Prisma.sql`r.tenant_id = ${tenantId}::uuid`];
  if (f.status) c.push(Prisma.sql`r.status = ${f.status}::"Status"`);
  if (f.category) c.push(Prisma.sql`r.category = ${f.category}::"RegistrantCategory"`);
  if (f.groupId) c.push(Prisma.sql`r.group_id = ${f.groupId}::uuid`);
  if (f.employeeCode) c.push(Prisma.sql`r.employee_code = ${f.employeeCode}`);
  if (f.retired !== undefined) c.push(Prisma.sql`r.retired = ${f.retired}`);
  if (f.retiring !== undefined) c.push(f.retiring ? Prisma.sql`(NOT r.retired AND r.retirement_date IS NOT NULL)` : Prisma.sql`(r.retired OR r.retirement_date IS NULL)`);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const { retirement: ret, deletion: del, since } = ranges;
  if (ret) c.push(Prisma.sql`r.retirement_date >= ${day(ret.gte)}::date AND r.retirement_date < ${day(ret.lt)}::date`);
  if (del) c.push(Prisma.sql`r.deletion_due_date >= ${day(del.gte)}::date AND r.deletion_due_date < ${day(del.lt)}::date`);
  if (since) c.push(Prisma.sql`r.updated_at >= ${since}`);
  const { field, desc, date, nullable } = SORT_SPECS[sort];
  const col = Prisma.raw(`r.${SORT_COLUMNS[field]}`);
  if (cursor) {
    // As after(): a keyless row is among the last, followed only by keyless rows with a greater id.
    if (cursor.key === null) c.push(Prisma.sql`(${col} IS NULL AND r.id > ${cursor.id}::uuid)`);
    else {
      const key = date ? Prisma.sql`${new Date(cursor.key)}::timestamptz` : Prisma.sql`${cursor.key}`;
      const beyond = Prisma.raw(desc ? '<' : '>');
      c.push(Prisma.sql`(${col} ${beyond} ${key} OR (${col} = ${key} AND r.id ${beyond} ${cursor.id}::uuid)${nullable ? Prisma.sql` OR ${col} IS NULL` : Prisma.empty})`);
    }
  }
  const dir = Prisma.raw(desc ? 'DESC' : 'ASC');
  const nulls = Prisma.raw(nullable ? ' NULLS LAST' : '');
  return Prisma.sql`SELECT ${selectColumns('r', VIEW_COLUMNS)}
    FROM registrants r WHERE ${Prisma.join(c, ' AND ')} ORDER BY ${col} ${dir}${nulls}, r.id ${dir} LIMIT ${limit + 1}`;
}

/** A page from its rows (one more than the page: there is a next one), with their dependents; the cursor from the last row. */
async function plainPageOf(sql: DirectSql, page: Prisma.Sql, sort: RegistrantSort, limit: number): Promise<{ items: RegistrantListItem[]; nextCursor: string | null }> {
  const rows = (await sql.$queryRaw<Record<string, unknown>[]>(page)).map((row) => pickModel<RegistrantViewRow>(row, VIEW_COLUMNS));
  const more = rows.length > limit;
  if (more) rows.pop();
  const last = rows[rows.length - 1];
  return { items: await withDependents(sql, rows), nextCursor: more && last ? encodeCursor(keyOf(sort, last)) : null };
}

/** The registrants as the list shows them (with their submitted dependents), in their order: one more SELECT. */
async function withDependents(sql: DirectSql, rows: RegistrantViewRow[]): Promise<RegistrantListItem[]> {
  if (rows.length === 0) return [];
  // Draft dependents are the employee's unsubmitted work: HR and payroll never see them.
  const depRows = await sql.$queryRaw<Record<string, unknown>[]>`${Prisma.raw(PREPARED)}SELECT ${selectColumns('d', SUMMARY_COLUMNS)} FROM dependents d WHERE d.registrant_id = ANY(${rows.map((r) => r.id)}::uuid[]) AND NOT d.draft ORDER BY d.created_at, d.id`;
  const dependentsOf = new Map<string, DependentSummaryRow[]>();
  for (const row of depRows) {
    const d = pickModel<DependentSummaryRow>(row, SUMMARY_COLUMNS);
    const list = dependentsOf.get(d.registrantId);
    if (list) list.push(d);
    else dependentsOf.set(d.registrantId, [d]);
  }
  return rows.map((r) => listItem(r, dependentsOf.get(r.id) ?? []));
}

/** One registrant as the list shows it (with dependents), or null when not in the tenant. */
export async function getRegistrantItem(prisma: PrismaClient, tenantId: string, id: string): Promise<RegistrantListItem | null> {
  // Every record read pays for this: plain SELECTs on the pool, not a Prisma query with an include.
  const sql = await directSql(prisma);
  const rows = await sql.$queryRaw<Record<string, unknown>[]>`${Prisma.raw(PREPARED)}SELECT ${selectColumns('r', VIEW_COLUMNS)} FROM registrants r WHERE r.id = ${id}::uuid AND r.tenant_id = ${tenantId}::uuid`;
  const [item] = await withDependents(sql, rows.map((row) => pickModel<RegistrantViewRow>(row, VIEW_COLUMNS)));
  return item ?? null;
}

const STATUSES: readonly Status[] = ['unregistered', 'pending', 'remanded', 'completed', 'refused'];

function countByStatus(groups: { status: string; n: number }[]): StatusCounts {
  const counts: StatusCounts = { total: 0, unregistered: 0, pending: 0, remanded: 0, completed: 0, refused: 0 };
  for (const g of groups) {
    if (!STATUSES.includes(g.status as Status)) continue;
    counts[g.status as Status] += g.n;
    counts.total += g.n;
  }
  return counts;
}

/**
 * HOME's counts: the tenant's registrants by status, and how many of them are retirees; the
 * dependents HR can see (submitted, not in an employee's draft) by status. Counts only, no names.
 * One statement on the pool: asked for by every HOME screen, and Prisma's three group-bys cost more
 * CPU than the counting.
 */
export async function summarizeRegistrants(prisma: PrismaClient, tenantId: string): Promise<RegistrantSummary> {
  // Planned per call: a tenant of 100,000 and one of 10 want different joins for their dependents.
  const rows = await (await directSql(prisma)).$queryRaw<{ of: 'registrants' | 'dependents'; status: string; n: number; retired: number }[]>`
    SELECT 'registrants' AS "of", r.status::text AS status, count(*)::int AS n, (count(*) FILTER (WHERE r.retired))::int AS retired
      FROM registrants r WHERE r.tenant_id = ${tenantId}::uuid GROUP BY r.status
    UNION ALL
    SELECT 'dependents', d.status::text, count(*)::int, 0
      FROM dependents d JOIN registrants r ON r.id = d.registrant_id WHERE r.tenant_id = ${tenantId}::uuid AND NOT d.draft GROUP BY d.status`;
  const registrants = rows.filter((r) => r.of === 'registrants');
  const retired = registrants.reduce((sum, r) => sum + r.retired, 0);
  return { registrants: { ...countByStatus(registrants), retired }, dependents: countByStatus(rows.filter((r) => r.of === 'dependents')) };
}
