/**
 * Reading an uploaded CSV file: the counterpart of encode.ts.
 *
 * Encoding: a UTF-8 BOM means UTF-8 (what Excel's "CSV UTF-8" writes); bytes that are valid UTF-8
 * are UTF-8 (Numbers, Google Sheets, LibreOffice); anything else is CP932 (Excel's plain "CSV",
 * Windows Shift_JIS). A Shift_JIS file with kana or kanji is practically never valid UTF-8, and a
 * pure-ASCII file reads the same either way. UTF-16 (Excel's "Unicode text") is refused with a
 * message. Bytes that are no character in the chosen encoding become U+FFFD, which the caller
 * reports where it occurs — never silently.
 *
 * Records: RFC 4180 (quoted cells may hold commas, quotes and line breaks), rows of any length.
 * Row numbers count every record including blank ones, header = 1: the row number a spreadsheet
 * shows for the same file.
 */
import { CsvError, parse } from 'csv-parse/sync';
import iconv from 'iconv-lite';
import { UTF8_BOM } from './encode';

export type DetectedEncoding = 'utf8-bom' | 'utf8' | 'cp932';

export const REPLACEMENT = '\uFFFD';

export class CsvDecodeError extends Error {
  constructor(
    public readonly code: 'CSV_EMPTY' | 'CSV_UTF16' | 'CSV_SYNTAX',
    message: string,
    /** row (header = 1) where the problem is, if known */
    public readonly row?: number,
  ) {
    super(message);
    this.name = 'CsvDecodeError';
  }
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });
const UTF8_LENIENT = new TextDecoder('utf-8');

/** The text of the file and the encoding it was read in. */
export function decodeCsvBytes(bytes: Buffer): { text: string; encoding: DetectedEncoding } {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new CsvDecodeError('CSV_UTF16', 'UTF-16（Unicodeテキスト）のファイルは読み込めません。「CSV（コンマ区切り）」または「CSV UTF-8」で保存してください');
  }
  if (bytes.subarray(0, 3).equals(UTF8_BOM)) return { text: UTF8_LENIENT.decode(bytes.subarray(3)), encoding: 'utf8-bom' };
  try {
    return { text: UTF8_STRICT.decode(bytes), encoding: 'utf8' };
  } catch {
    return { text: iconv.decode(bytes, 'cp932'), encoding: 'cp932' };
  }
}

/** Every record of the text, blank ones included (as `['']`), so that index + 1 is the row number. */
export function parseCsvRecords(text: string): string[][] {
  try {
    return parse(text, { relax_column_count: true, skip_empty_lines: false, bom: true }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) {
      const row = (err as CsvError & { lines?: number }).lines;
      const what = err.code === 'CSV_QUOTE_NOT_CLOSED' ? '「"」で始まるセルが閉じられていません' : 'CSVとして読み取れない箇所があります';
      throw new CsvDecodeError('CSV_SYNTAX', `${what}${row ? `（${row}行目付近）` : ''}`, row);
    }
    throw err;
  }
}

/** A record whose cells are all blank (a spreadsheet's empty row, or `,,,,`). */
export const isBlankRecord = (record: readonly string[]) => record.every((c) => c.trim() === '');

const NEUTRALISED = /^'(?=[=+\-@\t\r＝＋－＠])/;
/**
 * Undoes encode.ts's formula neutralising: a cell that starts with `'` followed by = + - @ (or their
 * full-width forms) gets the `'` removed, so an exported file imports to the same values. Whatever
 * is stored is neutralised again on every export.
 */
export const unneutralise = (cell: string) => cell.replace(NEUTRALISED, '');
