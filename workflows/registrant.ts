/**
 * One durable workflow per registrant, from the invitation to the deletion of their data years later.
 * The workflow type keeps its name across releases; each run takes the code it started on:
 * - before LIFECYCLE_PATCH: the first release (invitation only, legacy-invitation.ts);
 * - before SAFE_STEPS_PATCH: the v3 lifecycle (lifecycle-v3.ts), which moves to the current one at
 *   its next wake;
 * - otherwise the current lifecycle (lifecycle.ts).
 */
import { patched } from '@temporalio/workflow';
import type { LifecycleState, RegistrantWorkflowInput, RegistrantWorkflowStatus } from '../shared';
import { legacyInvitationWorkflow } from './legacy-invitation';
import { lifecycle } from './lifecycle';
import { lifecycleV3 } from './lifecycle-v3';

/** Runs started before the lifecycle existed (invitation only) replay on the code they ran. */
export const LIFECYCLE_PATCH = 'lifecycle-v2';
/** Runs started before one-step-at-a-time and outage-proof steps replay on the v3 lifecycle. */
export const SAFE_STEPS_PATCH = 'safe-steps-v4';

export async function registrantWorkflow(input: RegistrantWorkflowInput): Promise<RegistrantWorkflowStatus | LifecycleState> {
  if (!patched(LIFECYCLE_PATCH)) return legacyInvitationWorkflow(input);
  if (!patched(SAFE_STEPS_PATCH)) return lifecycleV3(input);
  return lifecycle(input);
}
