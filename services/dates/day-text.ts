/** Calendar days as Japanese readers expect them in mails and pages. */
const WEEKDAYS = ['日', '月', '火', '水', '木', '金', '土'];

const parts = (day: string) => day.split('-').map(Number) as [number, number, number];

/** 2027-01-15 → 2027年1月15日 */
export function dayText(day: string): string {
  const [y, m, d] = parts(day);
  return `${y}年${m}月${d}日`;
}

/** 2027-01-15 → 2027年1月15日（金） */
export function dayWithWeekday(day: string): string {
  const [y, m, d] = parts(day);
  return `${dayText(day)}（${WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]}）`;
}
