/**
 * When a person may change their registration — one rule for the workflow, the employee's API and
 * the console. Plain code (a type import only): the workflow bundle and the browser bundle both take it.
 */
import type { components } from '../api/generated/openapi';
import type { RegistrantStatus } from './index';

type DocumentType = components['schemas']['DocumentType'];

/** 身元確認 with a photo: one is enough (the front). The phone pages and the submission's check share it. */
export const PHOTO_IDS: readonly DocumentType[] = ['my_number_card', 'drivers_licence', 'passport', 'residence_card', 'welfare_certificate'];
/** 身元確認 without a photo: two different ones are needed. */
export const NO_PHOTO_IDS: readonly DocumentType[] = ['health_insurance_card', 'pension_book', 'resident_record', 'student_id', 'other'];

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
