/** Calendar days as Japanese readers expect them in mails and pages. */
const WEEKDAYS = ['日', '月', '火', '水', '木', '金', '土'];

/** 2027-01-15 → 2027年1月15日（金） */
export function dayWithWeekday(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return `${y}年${m}月${d}日（${WEEKDAYS[new Date(Date.UTC(y, m - 1, d)).getUTCDay()]}）`;
}
