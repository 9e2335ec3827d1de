/**
 * What workflows, activities and clients agree on: task queue, workflow ids, messages and types.
 * Only deterministic, dependency-free code here (the workflow bundle imports it).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';

export const DEFAULT_TASK_QUEUE = 'mynaflow';

/** An invitation link stays valid this long. */
export const INVITE_VALID_DAYS = 90;

/** One workflow per registrant; the id is derived so a second start for the same person is refused. */
export function registrantWorkflowId(tenantId: string, registrantId: string): string {
  return `registrant-${tenantId}-${registrantId}`;
}

export interface RegistrantWorkflowInput {
  tenantId: string;
  registrantId: string;
  /** Days after the invitation on which a reminder is mailed, increasing. */
  reminderDays: number[];
}

export type InvitationStage = 'inviting' | 'invited' | 'withdrawn' | 'expired';

export interface RegistrantWorkflowStatus {
  stage: InvitationStage;
  invitedAt?: string;
  expiresAt?: string;
  remindersSent: number;
}

export type MailKind = 'invitation' | 'reminder';

export interface SendInvitationMailInput {
  registrantId: string;
  /** Idempotency key: the same key never sends a second mail. */
  key: string;
  kind: MailKind;
  expiresAt: string;
}

/** HR withdraws the invitation: no more reminders, the links stop working. */
export const withdrawSignal = defineSignal('withdraw');
export const statusQuery = defineQuery<RegistrantWorkflowStatus>('status');

/** Error types activities throw for business rules; workflows never retry them. */
export const BUSINESS_ERRORS = ['RegistrantNotFound', 'RegistrantHasNoEmail'] as const;
