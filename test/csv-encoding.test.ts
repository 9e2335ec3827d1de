/** The product's CSV encoder: exact bytes for quoting, formulas, CP932 and the streaming variant. */
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { csvStream, CsvEncodingError, encodeCsv, type CsvCell, type CsvOptions } from '../services/csv/encode';

const utf8 = { encoding: 'utf8' } as const;
const cp932 = { encoding: 'cp932' } as const;
const text = (b: Buffer) => b.toString('utf8');

async function collect(stream: Readable): Promise<{ bytes: Buffer; chunks: number; error?: unknown }> {
  const parts: Buffer[] = [];
  try {
    for await (const c of stream) parts.push(c as Buffer);
  } catch (error) {
    return { bytes: Buffer.concat(parts), chunks: parts.length, error };
  }
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

async function* slowly<T>(items: T[]): AsyncGenerator<T> {
  for (const [i, item] of items.entries()) {
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
    yield item;
  }
}

test('CRLF after every record, header first, strings quoted, numbers bare', () => {
  const out = encodeCsv(['氏名', '金額'], [['山田', 1200], ['佐藤', 0]], utf8);
  expect(text(out)).toBe('"氏名","金額"\r\n"山田",1200\r\n"佐藤",0\r\n');
  expect(text(encodeCsv(['a'], [], utf8))).toBe('"a"\r\n');
});

test('commas, quotes and line breaks inside cells survive a round trip', () => {
  const rows = [['a,b', 'say "hi"', 'line1\nline2', 'cr\r\nlf', ' padded ']];
  const out = text(encodeCsv(['1', '2', '3', '4', '5'], rows, utf8));
  expect(out).toBe('"1","2","3","4","5"\r\n"a,b","say ""hi""","line1\nline2","cr\r\nlf"," padded "\r\n');
  expect(parse(out, { record_delimiter: '\r\n' })).toEqual([['1', '2', '3', '4', '5'], ...rows]);
});

test('leading zeros stay: digit strings are quoted text, numbers are numbers, null is empty', () => {
  // A My Number, a zip code and an employee code are strings; an amount is a number. Quoting
  // tells importers which is which (Excel's double-click open ignores it: see encode.ts).
  const out = encodeCsv(['番号', '郵便番号', '社員番号', '金額', '空', '未設定', '空文字'], [['012345678901', '0600001', '007', 300000, null, undefined, '']], cp932);
  expect(out.toString('latin1')).toBe(
    `${iconv.encode('"番号","郵便番号","社員番号","金額","空","未設定","空文字"', 'cp932').toString('latin1')}\r\n"012345678901","0600001","007",300000,,,""\r\n`,
  );
});

test('formulas are neutralised with a leading quote; numbers and inner signs are not', () => {
  const cells: CsvCell[] = ['=SUM(A1:A9)', '+81-3-0000', '-1+1', '@cmd', '\tlead', '\rlead', '＝1', 'a=b', '1-2', -5, 'ok'];
  const out = text(encodeCsv(cells.map((_, i) => `c${i}`), [cells], utf8)).split('\r\n')[1];
  expect(out).toBe(`"'=SUM(A1:A9)","'+81-3-0000","'-1+1","'@cmd","'\tlead","'\rlead","'＝1","a=b","1-2",-5,"ok"`);
});

test('CP932 bytes of kanji, half-width kana, NEC specials and the full-width tilde', () => {
  const out = encodeCsv(['氏名', 'カナ', '記号', '範囲'], [['山田', 'ｱｲｳ', '①', '1～2'], ['髙﨑', 'ﾔﾏﾀﾞ', 'Ⅱ', '?']], cp932);
  expect(out.equals(iconv.encode('"氏名","カナ","記号","範囲"\r\n"山田","ｱｲｳ","①","1～2"\r\n"髙﨑","ﾔﾏﾀﾞ","Ⅱ","?"\r\n', 'cp932'))).toBe(true);
  // spot-check against the CP932 table itself, not only against iconv-lite
  const row1 = out.subarray(out.indexOf('\r\n') + 2);
  const expected = ['22', '8e529363', '22', '2c', '22', 'b1b2b3', '22', '2c', '22', '8740', '22', '2c', '22', '31', '8160', '32', '22', '0d0a'].join('');
  expect(row1.subarray(0, expected.length / 2).toString('hex')).toBe(expected);
});

test('JIS spellings of CP932 characters (Mac input) are written as their CP932 code', () => {
  const out = encodeCsv(['x'], [['〜−‖¢£¬—']], cp932);
  expect(out.equals(iconv.encode('"x"\r\n"～－∥￠￡￢―"\r\n', 'cp932'))).toBe(true);
});

test('characters CP932 lacks are all reported by row and column, and nothing is written', () => {
  let error: unknown;
  let out: Buffer | undefined;
  try {
    out = encodeCsv(['氏名', '備考'], [['𠮷田', 'ok'], ['山田', 'café 🍣'], ['佐藤', '?']], cp932);
  } catch (e) {
    error = e;
  }
  expect(out).toBeUndefined();
  expect(error).toBeInstanceOf(CsvEncodingError);
  expect((error as CsvEncodingError).offending).toEqual([
    { row: 1, column: '氏名', char: '𠮷' },
    { row: 2, column: '備考', char: 'é' },
    { row: 2, column: '備考', char: '🍣' },
  ]);
  expect((error as Error).message).toContain('1行目「氏名」の「𠮷」(U+20BB7)');

  expect(() => encodeCsv(['𠮷'], [], cp932)).toThrow(expect.objectContaining({ offending: [{ row: 0, column: '𠮷', char: '𠮷' }] }));
  // columns past the header are still named
  expect(() => encodeCsv(['a'], [['x', 'é']], cp932)).toThrow(expect.objectContaining({ offending: [{ row: 1, column: '列2', char: 'é' }] }));
  // UTF-8 writes any character, but a broken UTF-16 string would silently become U+FFFD
  expect(text(encodeCsv(['氏名'], [['𠮷田']], utf8))).toBe('"氏名"\r\n"𠮷田"\r\n');
  expect(() => encodeCsv(['氏名'], [['\uD842田']], utf8)).toThrow(CsvEncodingError);
});

test('utf8-bom is EF BB BF followed by the UTF-8 bytes', () => {
  const rows = [['山田', '012']];
  const bom = encodeCsv(['氏名', '番号'], rows, { encoding: 'utf8-bom' });
  expect([...bom.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  expect(bom.subarray(3).equals(encodeCsv(['氏名', '番号'], rows, utf8))).toBe(true);
  expect(encodeCsv(['氏名'], rows, utf8)[0]).toBe(0x22);
});

describe('csvStream', () => {
  const header = ['番号', '氏名', 'カナ', '金額', '備考'];
  const rows: CsvCell[][] = Array.from({ length: 1000 }, (_, i) => [
    String(i).padStart(12, '0'),
    `山田 ${i}号`,
    'ﾔﾏﾀﾞ',
    i % 7 === 0 ? null : i * 1000 - 5000,
    i % 3 === 0 ? '=HYPERLINK("x")' : i % 5 === 0 ? '改行\nあり, "引用"' : '①～',
  ]);

  test.each<CsvOptions['encoding']>(['cp932', 'utf8-bom', 'utf8'])('1,000 rows stream to the same bytes as encodeCsv (%s)', async (encoding) => {
    const { bytes, chunks, error } = await collect(csvStream(header, slowly(rows), { encoding }));
    expect(error).toBeUndefined();
    expect(chunks).toBeGreaterThan(1);
    expect(bytes.equals(encodeCsv(header, rows, { encoding }))).toBe(true);
  });

  test('takes a plain iterable too', async () => {
    const { bytes } = await collect(csvStream(header, rows.slice(0, 3), cp932));
    expect(bytes.equals(encodeCsv(header, rows.slice(0, 3), cp932))).toBe(true);
  });

  test('an unencodable character errors the stream with every offending cell, and stops the output', async () => {
    const bad = rows.map((r) => [...r]);
    bad[749]![1] = '𠮷野';
    bad[899]![4] = 'naïve';
    const { bytes, error } = await collect(csvStream(header, slowly(bad), cp932));
    expect(error).toBeInstanceOf(CsvEncodingError);
    expect((error as CsvEncodingError).offending).toEqual([
      { row: 750, column: '氏名', char: '𠮷' },
      { row: 900, column: '備考', char: 'ï' },
    ]);
    // what was sent before is whole records of clean rows only (the consumer discards it)
    expect(bytes.equals(encodeCsv(header, bad.slice(0, 500), cp932))).toBe(true);
    expect(() => encodeCsv(header, bad, cp932)).toThrow(expect.objectContaining({ offending: (error as CsvEncodingError).offending }));
  });

  test('an error of the row source errors the stream', async () => {
    async function* failing(): AsyncGenerator<CsvCell[]> {
      yield ['1'];
      throw new Error('database went away');
    }
    const { error } = await collect(csvStream(['a'], failing(), utf8));
    expect(error).toEqual(new Error('database went away'));
  });

  test('100,000 rows stream in CP932', async () => {
    function* many(): Generator<CsvCell[]> {
      for (let i = 0; i < 100_000; i++) yield [String(i).padStart(12, '0'), '山田 太郎', 'ﾔﾏﾀﾞ ﾀﾛｳ', i, '東京都千代田区千代田1-1'];
    }
    const started = Date.now();
    const { bytes, error } = await collect(csvStream(header, many(), cp932));
    expect(error).toBeUndefined();
    let records = 0;
    for (let i = bytes.indexOf('\r\n'); i !== -1; i = bytes.indexOf('\r\n', i + 2)) records++;
    expect(records).toBe(100_001);
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
