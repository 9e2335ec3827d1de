/**
 * Reading and checking a migration file: people with their My Numbers and dependents (README
 * "Moving in with numbers"). The columns are those of the export with numbers — so a file that
 * mynaflow (or another tenant) wrote imports as it is — plus the registrant upload's optional
 * columns. One row per person: a registrant (本人) or a dependent (扶養家族) naming their registrant
 * by 登録者ID, or by 社員コード where the file has no IDs. The registrants' own cells are checked
 * by the registrant upload's checker (same rules, same messages); nothing here touches the database.
 * A number is never echoed: errors say which line and column, not what was written.
 */
import type { components } from '../../api/generated/openapi';
import type { DependentKind } from '../../prisma/generated/client';
import { REPLACEMENT, unneutralise } from '../csv/decode';
import { validateIndividualNumber } from '../mynumber/validate';
import { headerKey, IMPORT_COLUMNS, NUMBERS_EXPORT_HEADER, type ImportField } from './csv-columns';
import { checkImportRows, type ImportFile, type ImportFileSpec, type ImportRow } from './csv-import';
import type { DependentFields } from './import-rows';

/** Lines (registrants and dependents together) one synchronous import takes. */
export const MAX_NUMBERS_IMPORT_ROWS = 5000;

export type NumbersField = ImportField | 'personType' | 'relationship' | 'myNumber' | 'personKey';

const importColumn = (field: ImportField) => IMPORT_COLUMNS.find((c) => c.field === field)!;

/** The export's columns first, in its order; then what only the registrant upload has. */
export const NUMBERS_IMPORT_COLUMNS: ImportFileSpec<NumbersField>['columns'] = [
  importColumn('employeeCode'),
  { field: 'personType', ja: '本人・扶養の別', en: 'personType', aliases: ['本人扶養', '本人/扶養', '本人・扶養'], required: true },
  { field: 'relationship', ja: '続柄', en: 'relationship', aliases: [], required: false },
  importColumn('familyName'),
  importColumn('givenName'),
  importColumn('familyNameKana'),
  importColumn('givenNameKana'),
  importColumn('birthDate'),
  importColumn('gender'),
  importColumn('category'),
  { field: 'myNumber', ja: 'マイナンバー', en: 'myNumber', aliases: ['個人番号', 'my_number'], required: false },
  { field: 'personKey', ja: '登録者ID', en: 'registrantId', aliases: ['登録者キー', 'registrant_id'], required: false },
  importColumn('email'),
  importColumn('hireDate'),
  importColumn('retirementDate'),
  importColumn('group'),
  importColumn('note'),
];

export const NUMBERS_FILE: ImportFileSpec<NumbersField> = {
  columns: NUMBERS_IMPORT_COLUMNS,
  // The export's status is read past: what is stored follows from the number (see checkNumbersRows).
  exportOnly: [
    { ja: 'ステータス', en: 'status' },
    { ja: '扶養家族ID', en: 'dependentId' },
  ],
  maxRows: MAX_NUMBERS_IMPORT_ROWS,
  rowUnit: '行',
  template: `見出しはマイナンバー付きダウンロードと同じです: ${NUMBERS_EXPORT_HEADER.join(',')}`,
};

const REGISTRANT_TYPES = new Set(['本人', 'registrant']);
const DEPENDENT_TYPES = new Set(['扶養家族', '扶養', 'dependent']);
const KIND_INPUT: Readonly<Record<string, DependentKind>> = { 扶養親族: 'dependent', dependent: 'dependent', 第3号被保険者: 'category3', '第3号': 'category3', category3: 'category3' };
/** Cells a dependent's line leaves empty: they belong to the registrant. */
const REGISTRANT_ONLY: readonly NumbersField[] = ['email', 'hireDate', 'retirementDate', 'group', 'note'];
/** A dependent's cells the registrant upload's checker reads (names, kana, birth date, gender). */
const DEPENDENT_CHECKED: ReadonlySet<NumbersField> = new Set(['familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'birthDate', 'gender']);
const RELATIONSHIP_MAX = 40;

/** A line's result as the contract has it (whether it carries a number, never the number). */
export type NumbersLineReport = components['schemas']['NumbersImportLine'];

export interface NumbersDependentRow extends DependentFields {
  line: number;
  myNumber: string | null;
}

export interface NumbersPerson {
  row: ImportRow;
  myNumber: string | null;
  dependents: NumbersDependentRow[];
}

/** Checks every line; `people` holds the registrants (with their dependents) when no line has an error. */
export function checkNumbersRows(file: ImportFile<NumbersField>, ctx: { takenCodes: ReadonlySet<string>; today: string; sandbox?: boolean }): { lines: NumbersLineReport[]; people: NumbersPerson[] } {
  const col = new Map<NumbersField, number>();
  file.columns.forEach((c, i) => c.field && col.set(c.field, i));
  const headerOf = (f: NumbersField) => (col.has(f) ? file.columns[col.get(f)!]!.header : f);
  const cell = (cells: string[], f: NumbersField) => (col.has(f) ? unneutralise(cells[col.get(f)!] ?? '').trim() : '');

  // Registrants' and dependents' lines, each checked by the registrant upload's checker for the
  // cells they share; the columns it does not know are read past there and checked below.
  const typeOf = new Map<number, 'registrant' | 'dependent' | null>();
  for (const r of file.records) {
    const t = headerKey(cell(r.cells, 'personType'));
    typeOf.set(r.line, REGISTRANT_TYPES.has(t) ? 'registrant' : DEPENDENT_TYPES.has(t) ? 'dependent' : null);
  }
  const asRegistrantFile = (keep: (f: NumbersField) => boolean, lines: (line: number) => boolean): ImportFile => ({
    encoding: file.encoding,
    columns: file.columns.map((c) => (c.field && keep(c.field) ? { header: c.header, field: c.field as ImportField } : { header: c.header })),
    ignoredColumns: [...file.ignoredColumns, ...file.columns.filter((c) => c.field && !keep(c.field)).map((c) => c.header)],
    records: file.records.filter((r) => lines(r.line)),
  });
  const isImportField = (f: NumbersField): f is ImportField => IMPORT_COLUMNS.some((c) => c.field === f);
  const registrants = checkImportRows(asRegistrantFile(isImportField, (l) => typeOf.get(l) !== 'dependent'), { takenCodes: ctx.takenCodes, invite: false, today: ctx.today });
  const dependents = checkImportRows(asRegistrantFile((f) => DEPENDENT_CHECKED.has(f), (l) => typeOf.get(l) === 'dependent'), { takenCodes: new Set(), invite: false, today: ctx.today });
  const shared = new Map([...registrants.lines, ...dependents.lines].map((l) => [l.line, l]));
  const rowOf = new Map([...registrants.rows, ...dependents.rows].map((r) => [r.line, r]));

  // Who each registrant is to their dependents: 登録者ID where the line has one, else 社員コード.
  const registrantById = new Map<string, number>();
  const registrantByCode = new Map<string, number>();
  const numberLine = new Map<string, number>();
  const lines: NumbersLineReport[] = [];
  const dependentRows = new Map<number, { id: string; code: string; dep: NumbersDependentRow | null }>();
  const numberOf = new Map<number, string | null>();

  for (const { line, cells } of file.records) {
    const kind = typeOf.get(line) ?? null;
    const base = shared.get(line)!;
    const errors = [...base.errors];
    const fail = (f: NumbersField, message: string) => errors.push({ column: headerOf(f), message });
    if (kind === null) fail('personType', '「本人」か「扶養家族」を入力してください');

    const numberText = cell(cells, 'myNumber');
    let myNumber: string | null = null;
    if (numberText !== '') {
      // The shared checks read past this column: its unreadable bytes are reported here.
      if ((cells[col.get('myNumber')!] ?? '').includes(REPLACEMENT)) fail('myNumber', '読み取れない文字があります（ファイルの文字コードを確認してください）');
      else {
        const checked = validateIndividualNumber(numberText, undefined, { sandbox: ctx.sandbox });
        if (!checked.ok) fail('myNumber', checked.message);
        else if (numberLine.has(checked.value)) fail('myNumber', `${numberLine.get(checked.value)}行目と同じマイナンバーです。どちらかの行を直してください`);
        else {
          numberLine.set(checked.value, line);
          myNumber = checked.value;
        }
      }
    }
    numberOf.set(line, myNumber);

    const id = cell(cells, 'personKey');
    const code = cell(cells, 'employeeCode').normalize('NFKC');
    if (kind === 'registrant') {
      const relationship = cell(cells, 'relationship');
      if (relationship !== '' && relationship !== '本人') fail('relationship', '本人の行の続柄は「本人」か空欄にしてください');
      // A code used twice is the shared checks' error already.
      if (code !== '' && !registrantByCode.has(code)) registrantByCode.set(code, line);
      if (id !== '') {
        if (registrantById.has(id)) fail('personKey', `${registrantById.get(id)}行目の本人と同じ登録者IDです。本人は1行に1人です`);
        else registrantById.set(id, line);
      }
    } else if (kind === 'dependent') {
      const relationship = cell(cells, 'relationship');
      if (relationship === '') fail('relationship', '扶養家族の続柄（配偶者、子など）を入力してください');
      else if ([...relationship].length > RELATIONSHIP_MAX) fail('relationship', `続柄は${RELATIONSHIP_MAX}文字以内で入力してください`);
      const kindText = headerKey(cell(cells, 'category'));
      const depKind: DependentKind | undefined = kindText === '' ? 'dependent' : KIND_INPUT[kindText];
      if (!depKind) fail('category', '扶養家族の区分は「扶養親族」か「第3号被保険者」を入力してください');
      for (const f of REGISTRANT_ONLY) if (cell(cells, f) !== '') fail(f, '扶養家族の行には入力できません（本人の行に入力してください）');
      if (id === '' && code === '') fail(col.has('personKey') ? 'personKey' : 'employeeCode', '扶養家族の行には、本人と同じ登録者IDか社員コードを入力してください');
      const row = rowOf.get(line);
      dependentRows.set(line, {
        id,
        code,
        dep:
          row && depKind
            ? { line, relationship, kind: depKind, familyName: row.familyName, givenName: row.givenName, familyNameKana: row.familyNameKana, givenNameKana: row.givenNameKana, birthDate: row.birthDate, gender: row.gender, myNumber }
            : null,
      });
    }
    // A dependent's line shows the code it names its registrant by.
    const employeeCode = kind === 'dependent' ? code || null : base.employeeCode;
    lines.push({ line, ok: false, kind: kind ?? 'registrant', employeeCode, name: base.name, hasNumber: numberText !== '', errors, notes: [...base.notes] });
  }

  // Dependents to their registrant, now that every registrant line has been read (any order).
  const byLine = new Map(lines.map((l) => [l.line, l]));
  const people = new Map<number, NumbersPerson>();
  for (const r of registrants.rows) people.set(r.line, { row: r, myNumber: numberOf.get(r.line) ?? null, dependents: [] });
  for (const [line, { id, code, dep }] of dependentRows) {
    if (id === '' && code === '') continue;
    const owner = id !== '' ? registrantById.get(id) : registrantByCode.get(code);
    const report = byLine.get(line)!;
    if (owner === undefined) {
      report.errors.push({ column: headerOf(id !== '' ? 'personKey' : 'employeeCode'), message: `この${id !== '' ? '登録者ID' : '社員コード'}の本人の行がファイルにありません` });
      continue;
    }
    const ownerCode = byLine.get(owner)!.employeeCode;
    if (code !== '' && ownerCode !== null && code !== ownerCode) report.errors.push({ column: headerOf('employeeCode'), message: `社員コードが本人の行（${owner}行目）と違います` });
    if (dep) people.get(owner)?.dependents.push(dep);
  }

  for (const l of lines) {
    l.ok = l.errors.length === 0;
    if (!l.ok) continue;
    const what = l.kind === 'registrant' ? '本人' : '扶養家族';
    l.notes.push(l.hasNumber ? `${what}として登録し、マイナンバーを保管します（ステータス：完了）` : `${what}として登録します（マイナンバーなし、ステータス：未登録）`);
  }
  const ok = lines.every((l) => l.ok);
  return { lines, people: ok ? [...people.values()] : [] };
}
