/**
 * The registrant list for the console and for payroll connectors: filters, dependents with their
 * statuses, and cursor pagination in (updatedAt, id) order so a payroll package can sync "everything
 * changed since my last run" page by page without missing or repeating anyone. Never numbers.
 */
import type { Dependent, Prisma, RegistrantCategory, Status } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { registrantView, type RegistrantView } from './view';

export interface RegistrantFilters {
  status?: Status;
  category?: RegistrantCategory;
  groupId?: string;
  employeeCode?: string;
  retired?: boolean;
  /** changed at or after this instant */
  updatedSince?: string;
  cursor?: string;
  /** default 100, at most 1,000 */
  limit?: number;
}

export interface DependentSummary {
  id: string;
  relationship: string;
  kind: 'dependent' | 'category3';
  familyName: string;
  givenName: string;
  birthDate: string | null;
  status: Status;
  noLongerDependent: boolean;
  myNumber: { registered: boolean };
}

export type RegistrantListItem = RegistrantView & { updatedAt: string; groupId: string | null; dependents: DependentSummary[] };

const BAD_CURSOR = () => new AppError(400, 'CURSOR_INVALID', 'カーソルが正しくありません。最初のページから取得し直してください');

const encodeCursor = (updatedAt: Date, id: string) => Buffer.from(`${updatedAt.toISOString()}|${id}`).toString('base64url');
function decodeCursor(cursor: string): { updatedAt: Date; id: string } {
  const [at, id, extra] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const updatedAt = new Date(at ?? '');
  if (!id || extra !== undefined || Number.isNaN(updatedAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) throw BAD_CURSOR();
  return { updatedAt, id };
}

export const dependentSummary = (d: Dependent): DependentSummary => ({
  id: d.id,
  relationship: d.relationship,
  kind: d.kind,
  familyName: d.familyName,
  givenName: d.givenName,
  birthDate: d.birthDate?.toISOString().slice(0, 10) ?? null,
  status: d.status,
  noLongerDependent: d.noLongerDependentAt !== null,
  myNumber: { registered: d.myNumberSecretId !== null },
});

export async function listRegistrants(prisma: PrismaClient, tenantId: string, f: RegistrantFilters): Promise<{ items: RegistrantListItem[]; nextCursor: string | null }> {
  const limit = Math.min(Math.max(f.limit ?? 100, 1), 1000);
  const and: Prisma.RegistrantWhereInput[] = [{ tenantId }];
  if (f.status) and.push({ status: f.status });
  if (f.category) and.push({ category: f.category });
  if (f.groupId) and.push({ groupId: f.groupId });
  if (f.employeeCode) and.push({ employeeCode: f.employeeCode });
  if (f.retired !== undefined) and.push({ retired: f.retired });
  if (f.updatedSince) {
    const since = new Date(f.updatedSince);
    if (Number.isNaN(since.getTime())) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', [{ path: '/query/updatedSince', code: 'DATE_INVALID', message: '日時の指定が正しくありません' }]);
    and.push({ updatedAt: { gte: since } });
  }
  if (f.cursor) {
    const c = decodeCursor(f.cursor);
    and.push({ OR: [{ updatedAt: { gt: c.updatedAt } }, { updatedAt: c.updatedAt, id: { gt: c.id } }] });
  }
  const rows = await prisma.registrant.findMany({
    where: { AND: and },
    orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
    take: limit + 1,
    // Draft dependents are the employee's unsubmitted work: HR and payroll never see them.
    include: { dependents: { where: { draft: false }, orderBy: { createdAt: 'asc' } } },
  });
  const more = rows.length > limit;
  if (more) rows.pop();
  const items = rows.map((r) => ({
    ...registrantView(r, r.dependents),
    updatedAt: r.updatedAt.toISOString(),
    groupId: r.groupId,
    dependents: r.dependents.map(dependentSummary),
  }));
  const last = rows[rows.length - 1];
  return { items, nextCursor: more && last ? encodeCursor(last.updatedAt, last.id) : null };
}

/** One registrant as the list shows it (with dependents), or null when not in the tenant. */
export async function getRegistrantItem(prisma: PrismaClient, tenantId: string, id: string): Promise<RegistrantListItem | null> {
  const r = await prisma.registrant.findFirst({ where: { id, tenantId }, include: { dependents: { where: { draft: false }, orderBy: { createdAt: 'asc' } } } });
  if (!r) return null;
  return { ...registrantView(r, r.dependents), updatedAt: r.updatedAt.toISOString(), groupId: r.groupId, dependents: r.dependents.map(dependentSummary) };
}
