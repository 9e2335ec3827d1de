/**
 * 提出期限: the day HR asks a person to have registered by. Given when adding people (one or many)
 * or later in the edit; said in every collection mail and on the employee's pages, and HOME lists
 * those who passed it without sending. A new deadline is a day from today to the end of the
 * registration link's life (90 days, or the open link's own end in the edit): a later one would
 * outlive the link it asks about.
 */
import { INVITE_VALID_DAYS } from '../../shared';
import { dayText } from '../dates/day-text';
import { parseJapaneseDate } from '../dates/japanese-date';
import { addDays, todayInJapan } from '../retention/rules';
import type { FieldProblem } from './bulk-registration';

/**
 * The checked deadline at `${base}/submissionDueDate` (western or Japanese era dates), null when
 * blank; `unchanged` (the stored one) is accepted as it is, even once it has passed.
 */
export function checkSubmissionDueDate(base: string, problems: FieldProblem[], value: string | null | undefined, unchanged?: string | null, linkEnds?: string): string | null {
  const fail = (code: string, message: string) => problems.push({ path: `${base}/submissionDueDate`, code, message });
  const v = (value ?? '').trim();
  if (v === '') return null;
  const parsed = parseJapaneseDate(v);
  if (!parsed.ok) return fail('DATE_INVALID', `提出期限：${parsed.message}`), null;
  const due = parsed.date;
  if (due === unchanged) return due;
  const today = todayInJapan();
  if (due < today) fail('DUE_DATE_PAST', '提出期限に過去の日付は指定できません');
  else if (linkEnds && due > linkEnds) fail('DUE_DATE_TOO_LATE', `提出期限は、登録用リンクの有効期限（${dayText(linkEnds)}）までの日付にしてください`);
  else if (due > addDays(today, INVITE_VALID_DAYS)) fail('DUE_DATE_TOO_LATE', `提出期限は、登録用リンクの有効期限（${INVITE_VALID_DAYS}日後）までの日付にしてください`);
  return due;
}
