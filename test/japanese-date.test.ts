/**
 * Dates typed the Japanese way (和暦) and the Western way: every form the CSV import documents,
 * real calendar dates only, and the edges of each era.
 */
import { ERAS, daysInMonth, isLeapYear, parseJapaneseDate, slashDate } from '../services/dates/japanese-date';

const ok = (input: string) => {
  const r = parseJapaneseDate(input);
  if (!r.ok) throw new Error(`${input}: ${r.message}`);
  return r.date;
};
const refused = (input: string) => {
  const r = parseJapaneseDate(input);
  if (r.ok) throw new Error(`${input} was accepted as ${r.date}`);
  return r.message;
};

describe('Japanese era forms', () => {
  it.each([
    // the manual's own examples (m 明治 t 大正 s 昭和 h 平成, upper case allowed) and Reiwa
    ['s55/1/1', '1980-01-01'],
    ['S55/1/1', '1980-01-01'],
    ['S55.1.1', '1980-01-01'],
    ['s55-1-1', '1980-01-01'],
    ['H2.4.1', '1990-04-01'],
    ['h2/4/1', '1990-04-01'],
    ['R5/1/1', '2023-01-01'],
    ['r5/01/01', '2023-01-01'],
    ['t3/5/6', '1914-05-06'],
    ['M40/12/31', '1907-12-31'],
    // kanji, with and without 日, 元年
    ['昭和55年1月1日', '1980-01-01'],
    ['平成2年4月1日', '1990-04-01'],
    ['令和元年5月1日', '2019-05-01'],
    ['令和1年5月1日', '2019-05-01'],
    ['平成元年1月8日', '1989-01-08'],
    ['昭和元年12月25日', '1926-12-25'],
    ['大正元年7月30日', '1912-07-30'],
    ['令和5年4月1', '2023-04-01'],
    ['R元/5/1', '2019-05-01'],
    ['R元.5.1', '2019-05-01'],
    // one-character era names and the era ligatures
    ['昭55/1/1', '1980-01-01'],
    ['平2/4/1', '1990-04-01'],
    ['令5/1/1', '2023-01-01'],
    ['㍼55/1/1', '1980-01-01'],
    ['㍻2年4月1日', '1990-04-01'],
    ['㋿元年5月1日', '2019-05-01'],
    // full width, as typed with the Japanese input method; spaces around and inside
    ['Ｓ５５／１／１', '1980-01-01'],
    ['ｈ２．４．１', '1990-04-01'],
    ['令和５年１月１日', '2023-01-01'],
    [' S55 / 1 / 1 ', '1980-01-01'],
    ['昭和 55年 1月 1日', '1980-01-01'],
  ])('%s → %s', (input, expected) => {
    expect(ok(input)).toBe(expected);
  });
});

describe('Western forms', () => {
  it.each([
    ['1980/1/1', '1980-01-01'],
    ['1980/01/01', '1980-01-01'],
    ['1980-01-01', '1980-01-01'],
    ['1980-1-1', '1980-01-01'],
    ['1980.1.1', '1980-01-01'],
    ['1980年1月1日', '1980-01-01'],
    ['19800101', '1980-01-01'],
    ['１９８０／１／１', '1980-01-01'],
    ['2024/2/29', '2024-02-29'],
    ['2000/2/29', '2000-02-29'],
  ])('%s → %s', (input, expected) => {
    expect(ok(input)).toBe(expected);
  });
});

describe('era boundaries', () => {
  it.each([
    // Heisei ends on 2019-04-30, Reiwa begins on 2019-05-01
    ['H31/4/30', '2019-04-30'],
    ['R1/5/1', '2019-05-01'],
    // Showa 64 lasted seven days
    ['S64/1/7', '1989-01-07'],
    ['H1/1/8', '1989-01-08'],
    // the day an emperor died carries both names
    ['M45/7/30', '1912-07-30'],
    ['T1/7/30', '1912-07-30'],
    ['T15/12/25', '1926-12-25'],
    ['S1/12/25', '1926-12-25'],
    // Japan's first Gregorian day
    ['M6/1/1', '1873-01-01'],
  ])('%s → %s', (input, expected) => {
    expect(ok(input)).toBe(expected);
  });

  it.each([
    ['H31/5/1', '平成31年5月1日は平成の期間外です（平成は1989年1月8日から2019年4月30日まで）'],
    ['H32/1/1', '平成32年1月1日は平成の期間外です'],
    ['R1/4/30', '令和元年4月30日は令和の期間外です（令和は2019年5月1日から）'],
    ['令和元年4月1日', '令和元年4月1日は令和の期間外です'],
    ['S64/1/8', '昭和64年1月8日は昭和の期間外です'],
    ['H1/1/7', '平成元年1月7日は平成の期間外です'],
    ['T15/12/26', '大正15年12月26日は大正の期間外です'],
    ['S1/12/24', '昭和元年12月24日は昭和の期間外です'],
    ['M45/7/31', '明治45年7月31日は明治の期間外です'],
    ['T1/7/29', '大正元年7月29日は大正の期間外です'],
    ['S99/1/1', '昭和99年1月1日は昭和の期間外です'],
  ])('%s is refused: %s', (input, message) => {
    expect(refused(input)).toContain(message);
  });

  it('refuses the lunar-calendar years of Meiji and the years before 1873', () => {
    expect(refused('M5/12/2')).toContain('旧暦');
    expect(refused('明治元年1月1日')).toContain('旧暦');
    expect(refused('1872/12/31')).toContain('旧暦');
  });

  it('lists the eras in order, each starting where the previous ended (or the day after)', () => {
    for (let i = 1; i < ERAS.length; i++) {
      const prevEnd = ERAS[i - 1]!.end!;
      const start = ERAS[i]!.start;
      const dayAfter = new Date(Date.parse(`${prevEnd}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      expect([prevEnd, dayAfter]).toContain(start);
    }
    expect(ERAS[ERAS.length - 1]!.end).toBeUndefined();
  });
});

describe('real calendar dates only', () => {
  it.each([
    ['2023/2/29', '2023年2月29日は存在しない日付です（2月は28日まで）'],
    ['1900/2/29', '1900年2月29日は存在しない日付です'],
    ['R5/2/29', '令和5年2月29日は存在しない日付です'],
    ['H4/2/30', '平成4年2月30日は存在しない日付です（2月は29日まで）'],
    ['S55/4/31', '昭和55年4月31日は存在しない日付です（4月は30日まで）'],
    ['1980/13/1', '月は1〜12で指定してください'],
    ['S55/0/1', '月は1〜12で指定してください'],
    ['1980/1/0', '1980年1月0日は存在しない日付です'],
    ['19800230', '1980年2月30日は存在しない日付です'],
  ])('%s is refused: %s', (input, message) => {
    expect(refused(input)).toContain(message);
  });

  it('has no year 0 in an era', () => {
    expect(refused('H0/1/1')).toContain('平成0年はありません');
    expect(refused('令和0年5月1日')).toContain('令和0年はありません');
  });

  it('leap years', () => {
    expect([1900, 2000, 2023, 2024].map(isLeapYear)).toEqual([false, true, false, true]);
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2023, 2)).toBe(28);
    expect(daysInMonth(2023, 12)).toBe(31);
  });
});

describe('what is not a date', () => {
  it.each([
    '',
    '   ',
    '1980',
    '80/1/1',
    '1980/1',
    '1980/1/1/1',
    '1980/1-1',
    'S55/1.1',
    'X55/1/1',
    'S/1/1',
    'S123/1/1',
    '昭和55年1月',
    'S55年1/1',
    '1980-01-01T00:00:00Z',
    '一九八〇年一月一日',
    'tomorrow',
    '=1+1',
  ])('%j is refused with the accepted forms named', (input) => {
    const message = refused(input);
    expect(message).toMatch(input.trim() === '' ? /日付が空です/ : /日付の形式が正しくありません（例: 1980\/1\/1、1980-01-01、S55\/1\/1/);
  });

  it('refuses years beyond 2999', () => {
    expect(refused('30000101')).toContain('年が大きすぎます');
  });
});

it('writes dates the way spreadsheets in Japan show them', () => {
  expect(slashDate('1980-01-01')).toBe('1980/01/01');
});
