/**
 * New people of a single create stored in one plain INSERT on the pool (services/db/direct-sql.ts)
 * and given back as Prisma's createManyAndReturn gives them. Every POST /v1/registrants pays for this
 * statement: through Prisma its query compiler and driver adapter cost more CPU than the INSERT
 * (a quarter of a create's). test/raw-rows.test.ts holds the two equal, field for field.
 */
import { Prisma, type Registrant, type RegistrantCategory } from '../../prisma/generated/client';
import type { RawSql } from '../db/direct-sql';
import { pickModel, REGISTRANT_COLUMNS, selectColumns } from '../db/raw-rows';

/** What a single create writes; every other column takes its default. */
export interface NewRegistrantRow {
  id: string;
  tenantId: string;
  workflowId: string;
  familyName: string;
  givenName: string;
  familyNameKana: string | null;
  givenNameKana: string | null;
  email: string | null;
  employeeCode: string | null;
  category: RegistrantCategory;
  /** a date (midnight UTC), or none */
  submissionDueDate: Date | null;
  workflowPendingSince: Date;
  /** the queued start's intent (services/registrants/workflow-starts.ts), or DbNull */
  workflowStart: Prisma.InputJsonValue | typeof Prisma.DbNull;
}

/** The rows, in the order given. A taken employee code fails the statement (unique violation). */
export async function insertRegistrants(tx: RawSql, rows: NewRegistrantRow[]): Promise<Registrant[]> {
  const col = <K extends keyof NewRegistrantRow>(k: K) => rows.map((r) => r[k]);
  const found = await tx.$queryRaw<Record<string, unknown>[]>`
    INSERT INTO registrants AS r (id, tenant_id, workflow_id, family_name, given_name, family_name_kana, given_name_kana, email, employee_code, category,
                                  submission_due_date, workflow_pending_since, workflow_start, updated_at)
    SELECT u.id, u.tenant_id, u.workflow_id, u.family_name, u.given_name, u.family_name_kana, u.given_name_kana, u.email, u.employee_code, u.category::"RegistrantCategory",
           u.due, u.pending, u.start::jsonb, now()
      FROM unnest(${col('id')}::uuid[], ${col('tenantId')}::uuid[], ${col('workflowId')}::text[], ${col('familyName')}::text[], ${col('givenName')}::text[],
                  ${col('familyNameKana')}::text[], ${col('givenNameKana')}::text[], ${col('email')}::text[], ${col('employeeCode')}::text[], ${col('category')}::text[],
                  ${rows.map((r) => r.submissionDueDate?.toISOString().slice(0, 10) ?? null)}::date[], ${col('workflowPendingSince')}::timestamptz[],
                  ${rows.map((r) => (r.workflowStart === Prisma.DbNull ? null : JSON.stringify(r.workflowStart)))}::text[])
           WITH ORDINALITY AS u(id, tenant_id, workflow_id, family_name, given_name, family_name_kana, given_name_kana, email, employee_code, category, due, pending, start, ord)
     ORDER BY u.ord
    RETURNING ${selectColumns('r', REGISTRANT_COLUMNS)}`;
  const byId = new Map(found.map((row) => [row.id as string, pickModel<Registrant>(row, REGISTRANT_COLUMNS)]));
  return rows.map((r) => byId.get(r.id)!);
}
