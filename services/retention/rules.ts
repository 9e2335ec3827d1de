/**
 * 保存期間: how long a retiree's data is kept. Dates are calendar dates in Japan (YYYY-MM-DD); the
 * deletion due date is the first day the data may no longer be kept.
 *
 * The default follows the 給与所得者の扶養控除等申告書, which must be kept 7 years from the day after
 * its legal due date (10 January of the year after the last year it covers): an employee retiring
 * in 2026 → kept through 10 January 2034 → deleted on 11 January 2034.
 */
export interface RetentionRule {
  code: string;
  label: string;
  /** deletion due date for a retirement date */
  dueDate(retirementDate: string): string;
}

const parse = (d: string) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(d);
  if (!m) throw new RangeError(`not a date: ${d}`);
  return { y: Number(m[1]), m: Number(m[2]), d: Number(m[3]) };
};
const fmt = (y: number, m: number, d: number) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;

/** The same day N years later; 29 February becomes 1 March in a common year (the period ends the day before). */
export function addYears(date: string, years: number): string {
  const { y, m, d } = parse(date);
  const t = new Date(Date.UTC(y + years, m - 1, d));
  return fmt(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

export const RETENTION_RULES: readonly RetentionRule[] = [
  {
    code: 'dependents_declaration_7y',
    label: '扶養控除等申告書の保存期間（退職年の翌年1月11日から7年）',
    dueDate: (r) => fmt(parse(r).y + 8, 1, 11),
  },
  {
    code: 'employment_insurance_4y',
    label: '雇用保険関係書類の保存期間（退職日の翌日から4年）',
    dueDate: (r) => addYears(nextDay(r), 4),
  },
  {
    code: 'on_retirement',
    label: '退職日に削除',
    dueDate: (r) => r,
  },
];

export function nextDay(date: string): string {
  const { y, m, d } = parse(date);
  const t = new Date(Date.UTC(y, m - 1, d + 1));
  return fmt(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
}

export const DEFAULT_RETENTION_RULE = 'dependents_declaration_7y';
export const MANUAL_RULE = { code: 'manual', label: '担当者が指定した削除予定日' } as const;

export function retentionRule(code: string): RetentionRule | undefined {
  return RETENTION_RULES.find((r) => r.code === code);
}

/** HR is always told this long before a deletion, whatever the rule says (the notice mail goes 30 days ahead). */
export const MIN_NOTICE_DAYS = 30;

export const addDays = (date: string, days: number): string => new Date(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);

/**
 * A retiree's deletion due date by a rule, never sooner than MIN_NOTICE_DAYS from today. One place
 * for the API's retirement step, the CSV import and the console's preview as HR types the date.
 */
export function deletionDueBy(rule: RetentionRule, retirementDate: string, today: string): string {
  const due = rule.dueDate(retirementDate);
  const earliest = addDays(today, MIN_NOTICE_DAYS);
  return due < earliest ? earliest : due;
}

const JST_OFFSET_MS = 9 * 60 * 60 * 1000;

/**
 * Today's date in Japan, as the deletion and retirement dates are meant. Japan keeps UTC+9 all year
 * (no summer time since 1951), so plain arithmetic does; toLocaleDateString built a formatter per call
 * (half a millisecond of every invitation mail's CPU).
 */
export function todayInJapan(now = new Date()): string {
  return new Date(now.getTime() + JST_OFFSET_MS).toISOString().slice(0, 10);
}
