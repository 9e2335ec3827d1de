/**
 * The statuses HR may set by hand and how a verification is named: plain data, shared by the
 * workflow, the API and the console (no Temporal imports, so the browser bundle can take it).
 */
import type { RegistrantStatus } from './index';

/**
 * How HR checked the person's identity when they typed the number themselves (番号確認 + 身元確認
 * seen on paper or in person): recorded with a completion by hand.
 */
export const VERIFICATION_METHODS = {
  my_number_card: '個人番号カード（表面・裏面）',
  notification_card_with_id: '通知カード＋身元確認書類',
  resident_record_with_id: '番号付き住民票の写し＋身元確認書類',
  other: 'その他の方法',
} as const;
export type VerificationMethod = keyof typeof VERIFICATION_METHODS;

/**
 * HR sets a status by hand (seed 001's 登録者編集 and マイナンバー登録拒否). Only these moves:
 * - completed: the number HR registered was verified by HR (method required); from any status but
 *   completed. Links die, reminders end, the login is locked, payroll is told.
 * - refused: before or after a submission, with a reason; links die, reminders end.
 * - unregistered: a refusal taken back, with a reason; HR may invite again.
 * pending is the employee's own submission and is never set by hand.
 */
export type ManualStatus = 'completed' | 'refused' | 'unregistered';
/** The moves a manual status change allows, from → to. */
export const MANUAL_STATUS_MOVES: Record<ManualStatus, readonly RegistrantStatus[]> = {
  completed: ['unregistered', 'pending', 'remanded', 'refused'],
  refused: ['unregistered', 'pending', 'remanded'],
  unregistered: ['refused'],
};

/** The statuses HR may set by hand for a person in `from` (none: the control is not offered). */
export const manualMovesFrom = (from: RegistrantStatus): ManualStatus[] => (Object.keys(MANUAL_STATUS_MOVES) as ManualStatus[]).filter((to) => MANUAL_STATUS_MOVES[to].includes(from));
