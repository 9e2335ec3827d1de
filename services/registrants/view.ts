/** A registrant as HR sees it: read from PostgreSQL alone (fast, and there when Temporal is down). */
import type { components } from '../../api/generated/openapi';
import type { Dependent, Registrant, Status } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { MASKED_NUMBER } from '../mynumber/validate';
import { MANUAL_RULE, retentionRule } from '../retention/rules';

export type RegistrantView = components['schemas']['Registrant'];

/** What the dependents column needs to know of each dependent. */
export type DependentStatusRow = Pick<Dependent, 'status' | 'noLongerDependentAt' | 'draft'>;
export const DEPENDENT_STATUS_SELECT = { status: true, noLongerDependentAt: true, draft: true } as const;

/**
 * The order the dependents column picks from, lowest first. DESIGN.md ranks the statuses in three
 * tiers: unregistered < pending/remanded < refused/completed. Within a tier one status stands for it,
 * the one someone still has to act on: remanded (the employee must fix it) before pending (HR must
 * look at it), and refused before completed. So one dependent remanded and one pending shows
 * "remanded"; one refused and one completed shows "refused".
 */
export const DEPENDENTS_STATUS_ORDER: readonly Status[] = ['unregistered', 'remanded', 'pending', 'refused', 'completed'];

/**
 * The registrant's dependents column: the lowest status among the dependents that count, or null
 * when none does. A dependent still in the employee's draft (HR does not see it) or marked "no
 * longer a dependent" does not count.
 */
export function dependentsStatus(dependents: readonly DependentStatusRow[]): Status | null {
  let lowest: number | null = null;
  for (const d of dependents) {
    if (d.draft || d.noLongerDependentAt !== null) continue;
    const rank = DEPENDENTS_STATUS_ORDER.indexOf(d.status);
    if (lowest === null || rank < lowest) lowest = rank;
  }
  return lowest === null ? null : DEPENDENTS_STATUS_ORDER[lowest]!;
}

const date = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);

/**
 * The fields a view is made of (and the list's order keys): what the list page reads. The rest of
 * the row (the password hash, the kept profile, the start's options, secrets' ids) is not read.
 */
export const REGISTRANT_VIEW_FIELDS = [
  'id', 'category', 'employeeCode', 'familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'sortKana', 'email', 'groupId', 'birthDate', 'gender',
  'hireDate', 'submissionDueDate', 'note', 'status', 'statusReason', 'submittedAt', 'loginLocked', 'myNumberSecretId', 'invitationState', 'invitationExpiresAt',
  'retirementDate', 'retired', 'deletionDueDate', 'deletionRule', 'deletionAwaitingSince', 'workflowId', 'workflowPendingSince', 'createdAt', 'updatedAt',
] as const satisfies readonly (keyof Registrant)[];
export type RegistrantViewRow = Pick<Registrant, (typeof REGISTRANT_VIEW_FIELDS)[number]>;

export function registrantView(r: RegistrantViewRow, dependents: readonly DependentStatusRow[]): RegistrantView {
  const rule = r.deletionRule === MANUAL_RULE.code ? MANUAL_RULE : r.deletionRule ? retentionRule(r.deletionRule) : undefined;
  return {
    id: r.id,
    category: r.category,
    employeeCode: r.employeeCode,
    familyName: r.familyName,
    givenName: r.givenName,
    familyNameKana: r.familyNameKana,
    givenNameKana: r.givenNameKana,
    email: r.email,
    groupId: r.groupId,
    birthDate: date(r.birthDate),
    gender: r.gender,
    hireDate: date(r.hireDate),
    submissionDueDate: date(r.submissionDueDate),
    note: r.note,
    status: r.status,
    statusReason: r.statusReason,
    dependentsStatus: dependentsStatus(dependents),
    submittedAt: r.submittedAt?.toISOString() ?? null,
    loginLocked: r.loginLocked,
    myNumber: { registered: r.myNumberSecretId !== null, masked: r.myNumberSecretId ? MASKED_NUMBER : null },
    invitation: r.invitationState ? { state: r.invitationState, expiresAt: r.invitationExpiresAt?.toISOString() ?? null } : null,
    retirementDate: date(r.retirementDate),
    retired: r.retired,
    deletion: r.deletionDueDate
      ? { dueDate: date(r.deletionDueDate)!, rule: r.deletionRule ?? MANUAL_RULE.code, ruleLabel: rule?.label ?? r.deletionRule ?? '', awaitingConfirmationSince: r.deletionAwaitingSince?.toISOString() ?? null }
      : null,
    workflowId: r.workflowId,
    workflowQueued: r.workflowPendingSince !== null,
    createdAt: r.createdAt.toISOString(),
  };
}

/** The view of a registrant row, with its dependents read for the dependents column. */
export async function loadRegistrantView(prisma: PrismaClient, r: Registrant): Promise<RegistrantView> {
  const dependents = await prisma.dependent.findMany({ where: { registrantId: r.id }, select: DEPENDENT_STATUS_SELECT });
  return registrantView(r, dependents);
}
