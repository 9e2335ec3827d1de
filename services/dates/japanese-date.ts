/**
 * Dates as people in Japan type them: the Japanese era (和暦) — `S55/1/1`, `s55.1.1`, `H2-4-1`,
 * `R5/1/1`, `昭和55年1月1日`, `令和元年5月1日`, `平5/4/1`, `㍻2/4/1` — or the Western calendar —
 * `1980/1/1`, `1980-01-01`, `1980.1.1`, `1980年1月1日`, `19800101`.
 *
 * Full-width digits, letters and punctuation are accepted (NFKC), upper or lower case. Every result
 * is a real calendar date (no 2月30日) inside its era: Heisei ends on 2019-04-30 (H31/5/1 does not
 * exist) and Reiwa begins on 2019-05-01 (R1/4/30 does not exist). On the day an emperor died both
 * eras name the same date (M45/7/30 = T1/7/30, T15/12/25 = S1/12/25), as the calendar had it.
 * Meiji 1–5 used the lunar calendar (Japan adopted the Gregorian one on M6/1/1 = 1873-01-01), so
 * those dates cannot be converted and are refused.
 */

export interface Era {
  /** 明治 … 令和 */
  name: string;
  /** M T S H R */
  letter: string;
  /** first day, YYYY-MM-DD (Gregorian) */
  start: string;
  /** last day, YYYY-MM-DD; none for the current era */
  end?: string;
}

export const ERAS: readonly Era[] = [
  { name: '明治', letter: 'M', start: '1868-10-23', end: '1912-07-30' },
  { name: '大正', letter: 'T', start: '1912-07-30', end: '1926-12-25' },
  { name: '昭和', letter: 'S', start: '1926-12-25', end: '1989-01-07' },
  { name: '平成', letter: 'H', start: '1989-01-08', end: '2019-04-30' },
  { name: '令和', letter: 'R', start: '2019-05-01' },
];

/** Japan's first Gregorian day (明治6年1月1日): earlier dates were lunar. */
export const GREGORIAN_START = '1873-01-01';
const MAX_YEAR = 2999;

export type ParsedDate = { ok: true; date: string } | { ok: false; message: string };

export const DATE_FORMAT_HINT = '例: 1980/1/1、1980-01-01、S55/1/1、昭和55年1月1日、令和元年5月1日';

const eraByKey = new Map<string, Era>();
for (const e of ERAS) {
  eraByKey.set(e.letter, e);
  eraByKey.set(e.name, e);
  eraByKey.set(e.name[0]!, e); // 明 大 昭 平 令
}

const ERA = '([MTSHR]|明治|大正|昭和|平成|令和|明|大|昭|平|令)';
const YEAR = '(\\d{1,2}|元)';
const ERA_SEP = new RegExp(`^${ERA}${YEAR}([/.\\-])(\\d{1,2})\\3(\\d{1,2})$`);
const ERA_KANJI = new RegExp(`^${ERA}${YEAR}年(\\d{1,2})月(\\d{1,2})日?$`);
const WESTERN_SEP = /^(\d{4})([/.-])(\d{1,2})\2(\d{1,2})$/;
const WESTERN_KANJI = /^(\d{4})年(\d{1,2})月(\d{1,2})日?$/;
const WESTERN_COMPACT = /^(\d{4})(\d{2})(\d{2})$/;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const iso = (y: number, m: number, d: number) => `${pad(y, 4)}-${pad(m)}-${pad(d)}`;
/** 2019-04-30 → 2019年4月30日 */
const spoken = (isoDate: string) => {
  const [y, m, d] = isoDate.split('-').map(Number);
  return `${y}年${m}月${d}日`;
};

export function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

export function daysInMonth(y: number, m: number): number {
  return [31, isLeapYear(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
}

function calendarCheck(y: number, m: number, d: number, shown: string): ParsedDate {
  if (m < 1 || m > 12) return { ok: false, message: `${shown}：月は1〜12で指定してください` };
  if (d < 1 || d > daysInMonth(y, m)) return { ok: false, message: `${shown}は存在しない日付です（${m}月は${daysInMonth(y, m)}日まで）` };
  return { ok: true, date: iso(y, m, d) };
}

function eraDate(key: string, yearText: string, m: number, d: number): ParsedDate {
  const era = eraByKey.get(key)!;
  const n = yearText === '元' ? 1 : Number(yearText);
  const shown = `${era.name}${n === 1 ? '元' : n}年${m}月${d}日`;
  if (n < 1) return { ok: false, message: `${era.name}0年はありません（1年目は「元年」または「1年」）` };
  const y = Number(era.start.slice(0, 4)) + n - 1;
  const checked = calendarCheck(y, m, d, shown);
  if (!checked.ok) return checked;
  if (checked.date < GREGORIAN_START) return { ok: false, message: `${shown}は旧暦の日付のため変換できません（明治6年1月1日以降を指定してください）` };
  if (checked.date < era.start || (era.end !== undefined && checked.date > era.end)) {
    const range = era.end ? `${era.name}は${spoken(era.start)}から${spoken(era.end)}まで` : `${era.name}は${spoken(era.start)}から`;
    return { ok: false, message: `${shown}は${era.name}の期間外です（${range}）` };
  }
  return checked;
}

function westernDate(y: number, m: number, d: number): ParsedDate {
  const shown = `${y}年${m}月${d}日`;
  if (y > MAX_YEAR) return { ok: false, message: `${shown}：年が大きすぎます` };
  const checked = calendarCheck(y, m, d, shown);
  if (checked.ok && checked.date < GREGORIAN_START) return { ok: false, message: `${shown}は旧暦の時代の日付のため扱えません（1873年1月1日以降を指定してください）` };
  return checked;
}

/**
 * One date in any of the forms above → `YYYY-MM-DD`, or a Japanese message saying what is wrong.
 * The empty string is not a date: callers decide whether a blank cell is allowed.
 */
export function parseJapaneseDate(input: string): ParsedDate {
  // NFKC: full-width digits and letters, ／ and ．, and the era ligatures ㍾㍽㍼㍻㋿ (→ 明治 … 令和).
  const s = input.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
  if (s === '') return { ok: false, message: '日付が空です' };
  let m = ERA_SEP.exec(s);
  if (m) return eraDate(m[1]!, m[2]!, Number(m[4]), Number(m[5]));
  m = ERA_KANJI.exec(s);
  if (m) return eraDate(m[1]!, m[2]!, Number(m[3]), Number(m[4]));
  m = WESTERN_SEP.exec(s);
  if (m) return westernDate(Number(m[1]), Number(m[3]), Number(m[4]));
  m = WESTERN_KANJI.exec(s) ?? WESTERN_COMPACT.exec(s);
  if (m) return westernDate(Number(m[1]), Number(m[2]), Number(m[3]));
  return { ok: false, message: `日付の形式が正しくありません（${DATE_FORMAT_HINT}）` };
}

/** `YYYY-MM-DD` → `YYYY/MM/DD`, the form Japanese spreadsheets show and our CSVs write. */
export function slashDate(isoDate: string): string {
  return isoDate.replace(/-/g, '/');
}
