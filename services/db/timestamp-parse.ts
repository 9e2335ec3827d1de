/**
 * timestamptz values as `pg` gives them (its postgres-date parser), about twice as fast: a list page
 * of fifty people parses some three hundred timestamps, and that parser's regular expressions were a
 * twentieth of the page's CPU. Only PostgreSQL's ISO output of a four-digit year with an offset of
 * whole hours or hours and minutes is read here; anything else (BC, infinity, a year below 100,
 * an offset with seconds) goes to `fallback`. test/timestamp-parse.test.ts holds the two equal.
 */
type Parse = (value: string) => Date | string | number;

const digit = (v: string, i: number) => v.charCodeAt(i) - 48;
const two = (v: string, i: number) => digit(v, i) * 10 + digit(v, i + 1);
const isDigits = (v: string, from: number, to: number) => {
  for (let i = from; i < to; i++) if (v.charCodeAt(i) < 48 || v.charCodeAt(i) > 57) return false;
  return true;
};

/** 'YYYY-MM-DD HH:MM:SS[.f…]±HH[:MM]' read directly; everything else by `fallback`. */
export function fastTimestamptz(fallback: Parse): (value: string) => Date | string | number {
  return (v) => {
    const n = v.length;
    if (n < 22 || v[4] !== '-' || v[7] !== '-' || v[10] !== ' ' || v[13] !== ':' || v[16] !== ':' || !isDigits(v, 0, 4) || !isDigits(v, 5, 7) || !isDigits(v, 8, 10) || !isDigits(v, 11, 13) || !isDigits(v, 14, 16) || !isDigits(v, 17, 19)) return fallback(v);
    let i = 19;
    if (v[i] === '.') {
      i++;
      while (i < n && v.charCodeAt(i) >= 48 && v.charCodeAt(i) <= 57) i++;
      if (i === 20) return fallback(v);
    }
    const sign = v[i] === '+' ? 1 : v[i] === '-' ? -1 : 0;
    const rest = n - i;
    if (sign === 0 || (rest !== 3 && rest !== 6) || !isDigits(v, i + 1, i + 3) || (rest === 6 && (v[i + 3] !== ':' || !isDigits(v, i + 4, i + 6)))) return fallback(v);
    const year = digit(v, 0) * 1000 + digit(v, 1) * 100 + two(v, 2);
    // Date.UTC reads years 0-99 as 1900-1999.
    if (year < 100) return fallback(v);
    // As postgres-date: the fraction as milliseconds, Date.UTC dropping what is below one.
    const ms = i > 20 ? 1000 * parseFloat(v.slice(19, i)) : 0;
    const offsetMinutes = sign * (two(v, i + 1) * 60 + (rest === 6 ? two(v, i + 4) : 0));
    return new Date(Date.UTC(year, two(v, 5) - 1, two(v, 8), two(v, 11), two(v, 14), two(v, 17), ms) - offsetMinutes * 60_000);
  };
}
