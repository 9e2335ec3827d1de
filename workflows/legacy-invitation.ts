/**
 * The registrant workflow as first released (invitation only): mail the link, remind on the
 * configured days unless withdrawn, expire after 90 days. Runs started on it replay on this code
 * (see LIFECYCLE_PATCH); nothing new starts here. Do not change it.
 */
import { condition, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import {
  BUSINESS_ERRORS,
  INVITE_VALID_DAYS,
  statusQuery,
  withdrawSignal,
  type RegistrantWorkflowInput,
  type RegistrantWorkflowStatus,
} from '../shared';

const { sendInvitationMail, revokeInvitations } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '2 seconds',
    backoffCoefficient: 2,
    maximumInterval: '5 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: [...BUSINESS_ERRORS],
  },
});

const DAY_MS = 24 * 60 * 60 * 1000;

export async function legacyInvitationWorkflow(input: RegistrantWorkflowInput): Promise<RegistrantWorkflowStatus> {
  const status: RegistrantWorkflowStatus = { stage: 'inviting', remindersSent: 0 };
  let withdrawn = false;
  setHandler(withdrawSignal, () => {
    withdrawn = true;
  });
  setHandler(statusQuery, () => ({ ...status }));

  const { workflowId } = workflowInfo();
  // Workflow time is deterministic: Date.now() here is the time of the current workflow task.
  const invitedAt = Date.now();
  const expiresAt = new Date(invitedAt + INVITE_VALID_DAYS * DAY_MS).toISOString();
  await sendInvitationMail({ registrantId: input.registrantId, key: `${workflowId}/invitation`, kind: 'invitation', expiresAt });
  Object.assign(status, { stage: 'invited', invitedAt: new Date(invitedAt).toISOString(), expiresAt });

  const reminders = input.reminderDays.filter((d) => d < INVITE_VALID_DAYS);
  for (const [i, day] of reminders.entries()) {
    if (await condition(() => withdrawn, invitedAt + day * DAY_MS - Date.now())) break;
    await sendInvitationMail({ registrantId: input.registrantId, key: `${workflowId}/reminder/${i + 1}`, kind: 'reminder', expiresAt });
    status.remindersSent++;
  }
  const untilExpiry = Date.parse(expiresAt) - Date.now();
  if (!withdrawn && untilExpiry > 0) await condition(() => withdrawn, untilExpiry);

  status.stage = withdrawn ? 'withdrawn' : 'expired';
  await revokeInvitations({ registrantId: input.registrantId });
  return { ...status };
}
