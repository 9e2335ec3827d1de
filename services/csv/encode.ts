/**
 * The one CSV encoder of the product (operation history, payroll export, ...).
 *
 * Format: RFC 4180 with CRLF records and a header row. Every string cell is quoted and every
 * number is written bare, so a payroll importer can tell text from numbers: "012345678901"
 * stays the text `"012345678901"` with its leading zero, null/undefined is an empty unquoted
 * cell and '' is `""`. We deliberately do not write Excel's `="0123"` trick: it is a formula
 * (which we neutralise everywhere else) and it breaks machine importers. Excel's double-click
 * open still turns digit strings into numbers whatever the quoting; people who open such a file
 * in Excel should use Data → From Text/CSV and set the column to Text.
 *
 * Formula injection: string cells starting with = + - @ TAB CR (and the full-width ＝ ＋ － ＠,
 * which Apple Numbers normalises) get a leading `'` (csv-stringify's `escape_formulas`). Numbers
 * are never touched, so a negative amount passed as a number stays -5000.
 *
 * CP932: nothing is ever replaced by '?'. The JIS X 0208 characters that Macs and the JIS
 * mapping type as different code points from Windows (〜 − ‖ ¢ £ ¬ —) are written as the same
 * CP932 code (～ － ∥ ￠ ￡ ￢ ―); any other character CP932 lacks (𠮷, é, €, emoji, ...) makes
 * the whole encode fail with a CsvEncodingError naming every offending cell.
 */
import { Readable } from 'node:stream';
import { stringify, type Options as StringifyOptions } from 'csv-stringify/sync';
import iconv from 'iconv-lite';

export type CsvEncoding = 'cp932' | 'utf8-bom' | 'utf8';
export type CsvCell = string | number | null | undefined;
export interface CsvOptions {
  encoding: CsvEncoding;
}

export interface UnencodableCell {
  /** 1-based data row; 0 is the header */
  row: number;
  /** header name of the column (`列N` past the header's end) */
  column: string;
  /** the character, a whole code point */
  char: string;
}

export class CsvEncodingError extends Error {
  constructor(
    public readonly encoding: CsvEncoding,
    public readonly offending: UnencodableCell[],
  ) {
    const shown = offending
      .slice(0, 10)
      .map((o) => `${o.row === 0 ? '見出し' : `${o.row}行目`}「${o.column}」の「${o.char}」(U+${o.char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`)
      .join('、');
    const more = offending.length > 10 ? ` ほか${offending.length - 10}件` : '';
    super(`${encoding === 'cp932' ? 'Shift_JIS (CP932)' : 'UTF-8'} で書けない文字があります: ${shown}${more}`);
    this.name = 'CsvEncodingError';
  }
}

export const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

const STRINGIFY: StringifyOptions = {
  record_delimiter: '\r\n',
  quoted_string: true,
  escape_formulas: true,
};

/** Same JIS X 0208 code point, Unicode spelling of the JIS mapping → spelling of CP932. */
const CP932_VARIANTS: Readonly<Record<string, string>> = {
  '\u301C': '\uFF5E', // 〜 WAVE DASH → ～
  '\u2212': '\uFF0D', // − MINUS SIGN → －
  '\u2016': '\u2225', // ‖ → ∥
  '\u00A2': '\uFFE0', // ¢ → ￠
  '\u00A3': '\uFFE1', // £ → ￡
  '\u00AC': '\uFFE2', // ¬ → ￢
  '\u2014': '\u2015', // — EM DASH → ―
};
const CP932_VARIANT_RE = /[\u301C\u2212\u2016\u00A2\u00A3\u00AC\u2014]/g;
const QUESTION = 0x3f;
// A lone UTF-16 surrogate cannot be written in any encoding (UTF-8 would silently get U+FFFD).
const LONE_SURROGATE = /\p{Cs}/u;

const cp932Cache = new Map<string, boolean>();
/** iconv-lite writes '?' for what CP932 lacks: a character is fine unless it becomes a lone '?'. */
function cp932Encodable(ch: string): boolean {
  if (ch === '?') return true;
  let ok = cp932Cache.get(ch);
  if (ok === undefined) {
    const b = iconv.encode(CP932_VARIANTS[ch] ?? ch, 'cp932');
    ok = !(b.length === 1 && b[0] === QUESTION);
    cp932Cache.set(ch, ok);
  }
  return ok;
}

function countQuestionMarks(s: string): number {
  let n = 0;
  for (let i = s.indexOf('?'); i !== -1; i = s.indexOf('?', i + 1)) n++;
  return n;
}

function countQuestionBytes(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(QUESTION); i !== -1; i = b.indexOf(QUESTION, i + 1)) n++;
  return n;
}

/**
 * Turns batches of records into bytes. Once a batch has an unencodable character it emits
 * nothing more but keeps checking, so the error lists every offending cell of the input.
 */
class Encoder {
  readonly offending: UnencodableCell[] = [];

  constructor(
    private readonly header: string[],
    private readonly encoding: CsvEncoding,
  ) {}

  /** BOM (utf8-bom) and the header line. */
  start(): Buffer | null {
    const head = this.batch([this.header], 0);
    return head && this.encoding === 'utf8-bom' ? Buffer.concat([UTF8_BOM, head]) : head;
  }

  /** `records[0]` is data row `firstRow` (1-based). Null once anything could not be encoded. */
  batch(records: CsvCell[][], firstRow: number): Buffer | null {
    if (records.length === 0) return this.offending.length ? null : Buffer.alloc(0);
    const text = stringify(records, STRINGIFY);
    let bytes: Buffer;
    if (this.encoding === 'cp932') {
      const mapped = text.replace(CP932_VARIANT_RE, (c) => CP932_VARIANTS[c]!);
      bytes = iconv.encode(mapped, 'cp932');
      // 0x3F is never a Shift_JIS trail byte: more '?' bytes than '?' characters means a replacement.
      if (countQuestionBytes(bytes) !== countQuestionMarks(mapped)) this.locate(records, firstRow, cp932Encodable);
    } else {
      bytes = Buffer.from(text, 'utf8');
      if (LONE_SURROGATE.test(text)) this.locate(records, firstRow, (ch) => !LONE_SURROGATE.test(ch));
    }
    return this.offending.length ? null : bytes;
  }

  /** Throws the collected errors, if any. */
  finish(): void {
    if (this.offending.length) throw new CsvEncodingError(this.encoding, this.offending);
  }

  private locate(records: CsvCell[][], firstRow: number, encodable: (ch: string) => boolean): void {
    records.forEach((record, r) => {
      record.forEach((cell, c) => {
        if (typeof cell !== 'string') return; // numbers are ASCII
        for (const ch of cell) {
          if (!encodable(ch)) this.offending.push({ row: firstRow + r, column: this.header[c] ?? `列${c + 1}`, char: ch });
        }
      });
    });
  }
}

/** The whole CSV in memory. Throws CsvEncodingError listing every offending cell; never partial output. */
export function encodeCsv(header: string[], rows: CsvCell[][], opts: CsvOptions): Buffer {
  const encoder = new Encoder(header, opts.encoding);
  const head = encoder.start();
  const body = encoder.batch(rows, 1);
  encoder.finish();
  return Buffer.concat([head!, body!]);
}

/** Rows per encoded chunk: big enough to amortise csv-stringify and iconv, small enough to stream. */
const STREAM_BATCH = 500;

/**
 * The same bytes as encodeCsv, produced chunk by chunk from an (async) iterable, for exports of
 * 100,000 rows. An unencodable character stops the output and, once the rest of the input has
 * been checked, errors the stream with a CsvEncodingError listing every offending cell; bytes
 * already read must then be discarded by the consumer.
 */
export function csvStream(
  header: string[],
  rows: AsyncIterable<CsvCell[]> | Iterable<CsvCell[]>,
  opts: CsvOptions,
): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    const encoder = new Encoder(header, opts.encoding);
    const head = encoder.start();
    if (head) yield head;
    let batch: CsvCell[][] = [];
    let next = 1;
    const flush = () => {
      const out = encoder.batch(batch, next);
      next += batch.length;
      batch = [];
      return out;
    };
    for await (const row of rows) {
      batch.push(row);
      if (batch.length >= STREAM_BATCH) {
        const out = flush();
        if (out?.length) yield out;
      }
    }
    const out = flush();
    if (out?.length) yield out;
    encoder.finish();
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** True when every character of `text` can be written in `encoding`: for output that must go on row by row. */
export function encodableIn(text: string, encoding: CsvEncoding): boolean {
  if (encoding !== 'cp932') return !LONE_SURROGATE.test(text);
  for (const ch of text) if (!cp932Encodable(ch)) return false;
  return true;
}
