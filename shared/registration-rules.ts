/**
 * When a person may change their registration — one rule for the workflow, the employee's API and
 * the console. Plain code (a type import only): the workflow bundle and the browser bundle both take it.
 */
import type { RegistrantStatus } from './index';

export interface RegistrationState {
  status: RegistrantStatus;
  loginLocked: boolean;
}

/**
 * Not sent yet, sent back by HR, or approved and then unlocked by HR (to add a newborn, to correct a
 * name). `reopenAfterUnlock` is false only for workflow runs started before that rule existed.
 */
export function mayChangeRegistration(s: RegistrationState, reopenAfterUnlock = true): boolean {
  return s.status === 'unregistered' || s.status === 'remanded' || (reopenAfterUnlock && s.status === 'completed' && !s.loginLocked);
}
