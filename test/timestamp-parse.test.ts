/**
 * The pool's timestamptz parser (services/db/timestamp-parse.ts) gives what pg's own parser gives,
 * for every form PostgreSQL prints: any offset, any number of fraction digits, early years, BC and
 * infinity (those by pg's parser itself). The database's own output in several time zones is
 * checked in raw-rows.test.ts.
 */
import pg from 'pg';
import { fastTimestamptz } from '../services/db/timestamp-parse';

const pgParse = pg.types.getTypeParser(pg.types.builtins.TIMESTAMPTZ, 'text') as (v: string) => Date | number;
const fast = fastTimestamptz(pgParse);

const pad = (n: number, w: number) => String(Math.abs(n)).padStart(w, '0');

/** An instant printed as PostgreSQL prints timestamptz (DateStyle ISO) at `offsetMinutes`. */
function printed(ms: number, offsetMinutes: number, fractionDigits: number): string {
  const local = new Date(ms + offsetMinutes * 60_000);
  const fraction = fractionDigits ? `.${pad(local.getUTCMilliseconds(), 3)}${'7'.repeat(Math.max(0, fractionDigits - 3))}`.slice(0, fractionDigits + 1) : '';
  const sign = offsetMinutes < 0 ? '-' : '+';
  const off = `${sign}${pad(Math.trunc(offsetMinutes / 60), 2)}${offsetMinutes % 60 ? `:${pad(offsetMinutes % 60, 2)}` : ''}`;
  return `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)} ${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}${fraction}${off}`;
}

const same = (v: string) => {
  const a = fast(v);
  const b = pgParse(v);
  expect([v, a instanceof Date ? a.getTime() : a]).toEqual([v, b instanceof Date ? b.getTime() : b]);
};

it('reads 20,000 instants from year 100 to 9999 at offsets from -12:00 to +14:00 with 0 to 6 fraction digits exactly as pg does', () => {
  const offsets = [0, 540, -300, 330, -210, 345, 840, -720, 60, -60];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const from = Date.UTC(100, 0, 2);
  const to = Date.UTC(9999, 11, 30);
  for (let i = 0; i < 20_000; i++) same(printed(Math.floor(from + next() * (to - from)), offsets[i % offsets.length]!, i % 7));
});

it('leaves to pg what it does not read itself: BC, infinity, years below 100, offsets with seconds, five-digit years', () => {
  for (const v of [
    '2026-12-07 11:25:36.123+00',
    '2026-12-07 11:25:36+09',
    '2026-12-07 11:25:36.5-03:30',
    '0099-12-31 23:59:59.999+00',
    '0050-06-15 12:00:00+00',
    '0001-01-01 00:00:00+00 BC',
    '1900-01-01 00:00:00+09:18:59',
    '10000-01-01 00:00:00+00',
    'infinity',
    '-infinity',
    '2026-12-07 11:25:36.+00',
    '2026-12-07 11:25:36.999999+14',
  ])
    same(v);
});
