/**
 * Reading and checking a registrant CSV upload (CSVアップロード): file → header → one checked
 * row per line, every problem reported by line and column in Japanese. Nothing here touches the
 * database; the service (csv.ts) supplies what is already stored and does the writing.
 */
import { AppError } from '../errors';
import { decodeCsvBytes, CsvDecodeError, isBlankRecord, parseCsvRecords, REPLACEMENT, unneutralise, type DetectedEncoding } from '../csv/decode';
import { parseJapaneseDate } from '../dates/japanese-date';
import type { Gender, RegistrantCategory } from '../../prisma/generated/client';
import { CATEGORY_INPUT, EXPORT_ONLY_COLUMNS, GENDER_INPUT, headerKey, IMPORT_COLUMNS, type ImportField } from './csv-columns';

export const MAX_IMPORT_ROWS = 2000;
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;

const LIMITS = { name: 50, kana: 50, email: 254, group: 100, note: 1000 } as const;
const EMPLOYEE_CODE = /^[0-9A-Za-z_-]{1,20}$/;
// The API's pattern for kana: katakana, the long-vowel mark and spaces (full-width U+3000 too).
const KANA = /^[ァ-ヶー\u3000 ]*$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** A whole-file problem (no header, too many rows, not CSV): 400, no per-line report. */
export const fileError = (code: string, title: string, detail?: string) =>
  new AppError(400, code, title, [{ path: '/file', message: detail ?? title, code: code.toLowerCase() }]);

export interface ImportLineError {
  /** the header of the column as written in the file ('' for the line as a whole) */
  column: string;
  message: string;
}

export interface ImportLineReport {
  /** row number as a spreadsheet shows it: the header is row 1 */
  line: number;
  ok: boolean;
  employeeCode: string | null;
  /** 姓 名 as written */
  name: string | null;
  /** whether this person gets the invitation mail when imported */
  invite: boolean;
  errors: ImportLineError[];
  notes: string[];
  /** after a real import */
  registrantId?: string;
}

export interface ImportRow {
  line: number;
  employeeCode: string | null;
  familyName: string;
  givenName: string;
  familyNameKana: string | null;
  givenNameKana: string | null;
  email: string | null;
  category: RegistrantCategory;
  birthDate: string | null;
  gender: Gender | null;
  hireDate: string | null;
  retirementDate: string | null;
  group: string | null;
  note: string | null;
  invite: boolean;
}

export interface ImportFile<F extends string = ImportField> {
  encoding: DetectedEncoding;
  /** header text → field, in file order (undefined: an ignored column) */
  columns: { header: string; field?: F }[];
  ignoredColumns: string[];
  /** data records that are not blank, with their row numbers */
  records: { line: number; cells: string[] }[];
}

/** What a kind of upload reads: its columns, the export-only ones it reads past, its row limit. */
export interface ImportFileSpec<F extends string> {
  columns: readonly { field: F; ja: string; en: string; aliases: readonly string[]; required: boolean }[];
  exportOnly: readonly { ja: string; en: string }[];
  maxRows: number;
  /** what maxRows counts, in the message: 人 or 行 */
  rowUnit: string;
  /** where the sample header is, for a file without one */
  template: string;
}

export const REGISTRANT_FILE: ImportFileSpec<ImportField> = { columns: IMPORT_COLUMNS, exportOnly: EXPORT_ONLY_COLUMNS, maxRows: MAX_IMPORT_ROWS, rowUnit: '人', template: '雛形: /v1/registrants/import-template.csv' };

/** Decodes, parses and maps the header; throws a 400 AppError for a problem of the whole file. */
export function readImportFile<F extends string = ImportField>(bytes: Buffer, spec: ImportFileSpec<F> = REGISTRANT_FILE as unknown as ImportFileSpec<F>): ImportFile<F> {
  let records: string[][];
  let encoding: DetectedEncoding;
  try {
    const decoded = decodeCsvBytes(bytes);
    encoding = decoded.encoding;
    records = parseCsvRecords(decoded.text);
  } catch (err) {
    if (err instanceof CsvDecodeError) throw fileError(err.code, err.message);
    throw err;
  }
  const header = records[0];
  if (!header || isBlankRecord(header)) {
    throw fileError('CSV_EMPTY', records.length === 0 ? 'ファイルが空です' : '1行目に見出し（社員コード,姓,名,…）がありません', `1行目には見出しを書いてください（${spec.template}）`);
  }
  type Column = ImportFileSpec<F>['columns'][number];
  const byKey = new Map<string, Column>();
  for (const c of spec.columns) for (const name of [c.ja, c.en, ...c.aliases]) byKey.set(headerKey(name), c);
  const exportOnly = new Set(spec.exportOnly.flatMap((c) => [headerKey(c.ja), headerKey(c.en)]));

  const columns: ImportFile<F>['columns'] = [];
  const ignoredColumns: string[] = [];
  const seen = new Map<F, string>();
  const problems: string[] = [];
  header.forEach((raw, i) => {
    const text = raw.replace(REPLACEMENT, '').trim();
    if (raw.includes(REPLACEMENT)) problems.push(`見出しの${i + 1}列目に読み取れない文字があります（文字コードを確認してください）`);
    const key = headerKey(text);
    if (key === '') return void columns.push({ header: `${i + 1}列目` });
    const col = byKey.get(key);
    if (col) {
      if (seen.has(col.field)) problems.push(`見出し「${text}」（${i + 1}列目）は「${seen.get(col.field)}」と同じ項目です。どちらか一方にしてください`);
      seen.set(col.field, text);
      return void columns.push({ header: text, field: col.field });
    }
    if (exportOnly.has(key)) {
      ignoredColumns.push(text);
      return void columns.push({ header: text });
    }
    problems.push(`見出し「${text}」（${i + 1}列目）は使えない列名です`);
  });
  for (const c of spec.columns) {
    if (c.required && !seen.has(c.field)) problems.push(`必須の列「${c.ja}」がありません`);
  }
  if (problems.length) {
    throw new AppError(
      400,
      'CSV_HEADER_INVALID',
      `1行目の見出しに誤りがあります。使える列名: ${spec.columns.map((c) => c.ja).join('、')}（英語名 ${spec.columns.map((c) => c.en).join(', ')} も可）`,
      problems.map((message) => ({ path: '/lines/1', message, code: 'header' })),
    );
  }
  const data = records
    .map((cells, i) => ({ line: i + 1, cells }))
    .slice(1)
    .filter((r) => !isBlankRecord(r.cells));
  if (data.length > spec.maxRows) {
    throw fileError(
      'CSV_TOO_MANY_ROWS',
      `1つのファイルで登録できるのは${spec.maxRows.toLocaleString('ja-JP')}${spec.rowUnit}までです（このファイルには${data.length.toLocaleString('ja-JP')}行あります）。ファイルを分けてアップロードしてください`,
    );
  }
  if (data.length === 0) throw fileError('CSV_NO_ROWS', '見出しの下に登録者の行がありません');
  return { encoding, columns, ignoredColumns, records: data };
}

export interface ImportContext {
  /** employee codes already used in the tenant */
  takenCodes: ReadonlySet<string>;
  invite: boolean;
  /** today in Japan, YYYY-MM-DD */
  today: string;
}

/** Hiragana → katakana (NFKC has already made half-width katakana full-width). */
const toKatakana = (s: string) => s.replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
const length = (s: string) => [...s].length;

/** Checks every line; `rows` holds the lines without errors, ready to store. */
export function checkImportRows(file: ImportFile, ctx: ImportContext): { lines: ImportLineReport[]; rows: ImportRow[] } {
  const headerOf = new Map<ImportField, string>();
  for (const c of file.columns) if (c.field) headerOf.set(c.field, c.header);
  const codeLines = new Map<string, number>();
  const lines: ImportLineReport[] = [];
  const rows: ImportRow[] = [];

  for (const { line, cells } of file.records) {
    const errors: ImportLineError[] = [];
    const notes: string[] = [];
    const values = new Map<ImportField, string>();
    cells.forEach((raw, i) => {
      const col = file.columns[i];
      const value = unneutralise(raw).trim();
      if (!col) {
        if (value !== '') errors.push({ column: `${i + 1}列目`, message: '見出しより右の列に値があります' });
        return;
      }
      if (raw.includes(REPLACEMENT)) errors.push({ column: col.header, message: '読み取れない文字があります（ファイルの文字コードを確認してください）' });
      // PostgreSQL text cannot hold U+0000 (a stray NUL byte would otherwise fail the import with a 500).
      if (raw.includes('\u0000')) errors.push({ column: col.header, message: '使用できない制御文字（NUL）が含まれています' });
      if (col.field) values.set(col.field, value);
      else if (value !== '' && !file.ignoredColumns.includes(col.header)) errors.push({ column: col.header, message: '見出しのない列に値があります' });
    });
    const get = (f: ImportField) => values.get(f) ?? '';
    const fail = (f: ImportField, message: string) => errors.push({ column: headerOf.get(f) ?? f, message });

    const familyName = get('familyName');
    const givenName = get('givenName');
    if (familyName === '') fail('familyName', '姓を入力してください');
    else if (length(familyName) > LIMITS.name) fail('familyName', `姓は${LIMITS.name}文字以内で入力してください`);
    if (givenName === '') fail('givenName', '名を入力してください');
    else if (length(givenName) > LIMITS.name) fail('givenName', `名は${LIMITS.name}文字以内で入力してください`);

    const codeText = get('employeeCode').normalize('NFKC');
    const employeeCode = codeText === '' ? null : codeText;
    if (employeeCode !== null) {
      if (!EMPLOYEE_CODE.test(employeeCode)) fail('employeeCode', '社員コードは半角英数字・ハイフン・アンダースコアの20文字以内で入力してください');
      else if (ctx.takenCodes.has(employeeCode)) fail('employeeCode', `社員コード「${employeeCode}」は既に登録されています`);
      else if (codeLines.has(employeeCode)) fail('employeeCode', `社員コード「${employeeCode}」は${codeLines.get(employeeCode)}行目と重複しています`);
      else codeLines.set(employeeCode, line);
    }

    const kana = (f: 'familyNameKana' | 'givenNameKana', label: string) => {
      const v = toKatakana(get(f).normalize('NFKC'));
      if (v === '') return null;
      if (!KANA.test(v)) fail(f, `${label}はカタカナで入力してください`);
      else if (length(v) > LIMITS.kana) fail(f, `${label}は${LIMITS.kana}文字以内で入力してください`);
      return v;
    };
    const familyNameKana = kana('familyNameKana', 'フリガナ（姓）');
    const givenNameKana = kana('givenNameKana', 'フリガナ（名）');

    const emailText = get('email').normalize('NFKC');
    const email = emailText === '' ? null : emailText;
    if (email !== null && (!EMAIL.test(email) || email.length > LIMITS.email)) fail('email', 'メールアドレスの形式が正しくありません');

    const categoryText = headerKey(get('category'));
    let category: RegistrantCategory = 'employee';
    if (categoryText !== '') {
      const c = CATEGORY_INPUT[categoryText];
      if (c) category = c;
      else fail('category', '区分は「従業員1」「従業員2」「業務委託」「報酬支払」のいずれかを入力してください');
    }

    const genderText = headerKey(get('gender'));
    let gender: Gender | null = null;
    if (genderText !== '') {
      const g = GENDER_INPUT[genderText];
      if (g) gender = g;
      else fail('gender', '性別は「男性」「女性」「その他」のいずれかを入力してください');
    }

    const date = (f: 'birthDate' | 'hireDate' | 'retirementDate') => {
      const v = get(f);
      if (v === '') return null;
      const parsed = parseJapaneseDate(v);
      if (!parsed.ok) {
        fail(f, parsed.message);
        return null;
      }
      return parsed.date;
    };
    const birthDate = date('birthDate');
    const hireDate = date('hireDate');
    const retirementDate = date('retirementDate');
    if (birthDate && birthDate > ctx.today) fail('birthDate', '生年月日に未来の日付は指定できません');
    if (birthDate && hireDate && hireDate < birthDate) fail('hireDate', '入社日が生年月日より前です');
    if (hireDate && retirementDate && retirementDate < hireDate) fail('retirementDate', '退職日が入社日より前です');

    const group = get('group') || null;
    if (group && length(group) > LIMITS.group) fail('group', `グループ名は${LIMITS.group}文字以内で入力してください`);
    const note = get('note') || null;
    if (note && length(note) > LIMITS.note) fail('note', `備考は${LIMITS.note}文字以内で入力してください`);

    let invite = false;
    if (ctx.invite) {
      if (retirementDate) notes.push('退職日があるため収集メールは送りません');
      else if (!email) fail('email', '収集メールを送る（invite=true）にはメールアドレスが必要です');
      else invite = true;
    }

    const ok = errors.length === 0;
    lines.push({
      line,
      ok,
      employeeCode,
      name: familyName || givenName ? `${familyName} ${givenName}`.trim() : null,
      invite: ok && invite,
      errors,
      notes,
    });
    if (ok) {
      rows.push({ line, employeeCode, familyName, givenName, familyNameKana, givenNameKana, email, category, birthDate, gender, hireDate, retirementDate, group, note, invite });
    }
  }
  return { lines, rows };
}
