/** A registrant as HR sees it: read from PostgreSQL alone (fast, and there when Temporal is down). */
import type { components } from '../../api/generated/openapi';
import type { Registrant } from '../../prisma/generated/client';
import { MASKED_NUMBER } from '../mynumber/validate';
import { MANUAL_RULE, retentionRule } from '../retention/rules';

export type RegistrantView = components['schemas']['Registrant'];

const date = (d: Date | null) => (d ? d.toISOString().slice(0, 10) : null);

export function registrantView(r: Registrant): RegistrantView {
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
    status: r.status,
    statusReason: r.statusReason,
    submittedAt: r.submittedAt?.toISOString() ?? null,
    loginLocked: r.loginLocked,
    myNumber: { registered: r.myNumberSecretId !== null, masked: r.myNumberSecretId ? MASKED_NUMBER : null },
    invitation: r.invitationState ? { state: r.invitationState, expiresAt: r.invitationExpiresAt?.toISOString() ?? null } : null,
    retirementDate: date(r.retirementDate),
    retired: r.retired,
    deletion: r.deletionDueDate ? { dueDate: date(r.deletionDueDate)!, rule: r.deletionRule ?? MANUAL_RULE.code, ruleLabel: rule?.label ?? r.deletionRule ?? '' } : null,
    workflowId: r.workflowId,
    createdAt: r.createdAt.toISOString(),
  };
}
