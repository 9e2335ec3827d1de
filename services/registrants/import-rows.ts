/**
 * Checked people as rows: an upload line as a registrant (the CSV upload and the import with
 * numbers), a checked dependent as a dependent (every way HR adds dependents).
 */
import type { DependentKind, Gender } from '../../prisma/generated/client';
import { registrantWorkflowId } from '../../shared';
import { deletionDueBy, type RetentionRule } from '../retention/rules';
import type { ImportRow } from './csv-import';

const dateOnly = (d: string | null) => (d ? new Date(`${d}T00:00:00Z`) : null);

export function importedRegistrant(r: ImportRow, ctx: { id: string; tenantId: string; groupIds: ReadonlyMap<string, string>; rule: RetentionRule; today: string }) {
  return {
    id: ctx.id,
    tenantId: ctx.tenantId,
    workflowId: registrantWorkflowId(ctx.tenantId, ctx.id),
    employeeCode: r.employeeCode,
    familyName: r.familyName,
    givenName: r.givenName,
    familyNameKana: r.familyNameKana,
    givenNameKana: r.givenNameKana,
    email: r.email,
    category: r.category,
    birthDate: dateOnly(r.birthDate),
    gender: r.gender,
    hireDate: dateOnly(r.hireDate),
    // The workflow takes the retirement over from here and retires the person on the day (at once
    // for a date already past), recording it as any retirement.
    retirementDate: dateOnly(r.retirementDate),
    deletionDueDate: r.retirementDate ? dateOnly(deletionDueBy(ctx.rule, r.retirementDate, ctx.today)) : null,
    deletionRule: r.retirementDate ? ctx.rule.code : null,
    groupId: r.group ? ctx.groupIds.get(r.group)! : null,
    note: r.note,
  };
}

/** A dependent as HR entered it (bulk entry, 新規追加, 扶養家族の追加, an import), checked. */
export interface DependentFields {
  relationship: string;
  kind: DependentKind;
  familyName: string;
  givenName: string;
  familyNameKana: string | null;
  givenNameKana: string | null;
  /** YYYY-MM-DD */
  birthDate: string | null;
  gender: Gender | null;
}

/** A checked dependent as its row's fields. */
export function checkedDependentFields(d: DependentFields) {
  return {
    relationship: d.relationship,
    kind: d.kind,
    familyName: d.familyName,
    givenName: d.givenName,
    familyNameKana: d.familyNameKana,
    givenNameKana: d.givenNameKana,
    birthDate: dateOnly(d.birthDate),
    gender: d.gender,
  };
}
