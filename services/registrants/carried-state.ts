/** What a workflow started for an already stored person takes over from the database. */
import type { Registrant } from '../../prisma/generated/client';
import { INVITE_VALID_DAYS, type LifecycleState, type RegistrantWorkflowInput } from '../../shared';
import { MANUAL_RULE } from '../retention/rules';

const DAY_MS = 86_400_000;

/**
 * The state a new lifecycle workflow takes over from the database: for a registrant whose workflow
 * ended without the data being deleted (terminated by an operator) or still runs the first,
 * invitation-only version. An open link keeps its expiry, and reminders already due are not resent.
 */
export function stateFromDatabase(r: Registrant, reminderDays: number[], now = Date.now()): LifecycleState {
  const expiresAt = r.invitationExpiresAt?.getTime();
  const open = r.invitationState === 'open' && expiresAt !== undefined && expiresAt > now;
  const invitedAt = open ? expiresAt - INVITE_VALID_DAYS * DAY_MS : 0;
  return {
    status: r.status,
    loginLocked: r.loginLocked,
    invitation: open
      ? { round: 1, invitedAt: new Date(invitedAt).toISOString(), expiresAt: new Date(expiresAt).toISOString(), remindersSent: reminderDays.filter((d) => invitedAt + d * DAY_MS <= now).length, state: 'open' }
      : null,
    retirementDate: r.retirementDate?.toISOString().slice(0, 10) ?? null,
    retired: r.retired,
    deletion: r.deletionDueDate ? { dueDate: r.deletionDueDate.toISOString().slice(0, 10), rule: r.deletionRule ?? MANUAL_RULE.code, noticeSent: false } : null,
    deleted: false,
    seq: 0,
  };
}

/** The input of a workflow that takes over a stored person: their state from the database, no mail. */
export const carriedInput = (r: Registrant, reminderDays: number[]): RegistrantWorkflowInput => ({
  tenantId: r.tenantId,
  registrantId: r.id,
  reminderDays,
  invite: false,
  carried: stateFromDatabase(r, reminderDays),
});
