/**
 * The columns of HR's registrant CSVs (README "CSV import and export"): the import file, the
 * export without numbers (the import columns first, so an export can be edited and imported
 * elsewhere) and the export with numbers (one row per person).
 */
import type { DependentKind, Gender, RegistrantCategory, Status } from '../../prisma/generated/client';

export type ImportField =
  | 'employeeCode'
  | 'familyName'
  | 'givenName'
  | 'familyNameKana'
  | 'givenNameKana'
  | 'email'
  | 'category'
  | 'birthDate'
  | 'gender'
  | 'hireDate'
  | 'retirementDate'
  | 'group'
  | 'note';

export interface ImportColumn {
  field: ImportField;
  /** the header the template and exports write */
  ja: string;
  /** the English header, accepted as well */
  en: string;
  /** further headers accepted (compared after NFKC, without spaces, case-insensitively) */
  aliases: string[];
  required: boolean;
}

export const IMPORT_COLUMNS: readonly ImportColumn[] = [
  { field: 'employeeCode', ja: '社員コード', en: 'employeeCode', aliases: ['社員番号', '従業員コード', '従業員番号', 'employee_code'], required: false },
  { field: 'familyName', ja: '姓', en: 'familyName', aliases: ['登録者名(苗字)', '苗字', '氏', 'family_name', 'lastName'], required: true },
  { field: 'givenName', ja: '名', en: 'givenName', aliases: ['登録者名(名前)', '名前', 'given_name', 'firstName'], required: true },
  // フリガナ, one term everywhere; files written with the old セイ / メイ headers still import.
  { field: 'familyNameKana', ja: 'フリガナ（姓）', en: 'familyNameKana', aliases: ['セイ', '姓(カナ)', 'セイ(カナ)', 'family_name_kana'], required: false },
  { field: 'givenNameKana', ja: 'フリガナ（名）', en: 'givenNameKana', aliases: ['メイ', '名(カナ)', 'メイ(カナ)', 'given_name_kana'], required: false },
  { field: 'email', ja: 'メールアドレス', en: 'email', aliases: ['メール', 'e-mail', 'mail'], required: false },
  { field: 'category', ja: '区分', en: 'category', aliases: ['属性'], required: false },
  { field: 'birthDate', ja: '生年月日', en: 'birthDate', aliases: ['birth_date'], required: false },
  { field: 'gender', ja: '性別', en: 'gender', aliases: ['sex'], required: false },
  { field: 'hireDate', ja: '入社日', en: 'hireDate', aliases: ['hire_date'], required: false },
  { field: 'retirementDate', ja: '退職日', en: 'retirementDate', aliases: ['retirement_date'], required: false },
  { field: 'group', ja: 'グループ', en: 'group', aliases: ['部署'], required: false },
  { field: 'note', ja: '備考', en: 'note', aliases: ['メモ', 'notes'], required: false },
];

/** Columns only exports write; an import reads past them (listed as ignored in its report). */
export const EXPORT_ONLY_COLUMNS = [
  { ja: 'ステータス', en: 'status' },
  { ja: '扶養ステータス', en: 'dependentsStatus' },
  { ja: '扶養家族数', en: 'dependents' },
  { ja: 'マイナンバー登録', en: 'myNumberRegistered' },
  { ja: '削除予定日', en: 'deletionDueDate' },
  { ja: '登録日時', en: 'createdAt' },
] as const;

export const REGISTRANT_EXPORT_HEADER = [...IMPORT_COLUMNS.map((c) => c.ja), ...EXPORT_ONLY_COLUMNS.map((c) => c.ja)];

/** The export with numbers: one row per person, the registrant first, then their dependents. */
export const NUMBERS_EXPORT_HEADER = [
  '社員コード',
  '本人・扶養の別',
  '続柄',
  '姓',
  '名',
  'フリガナ（姓）',
  'フリガナ（名）',
  '生年月日',
  '性別',
  '区分',
  'ステータス',
  'マイナンバー',
  '登録者ID',
  '扶養家族ID',
];

/** A header cell as compared: NFKC (full-width letters, brackets), no spaces, lower case. */
export const headerKey = (s: string) => s.normalize('NFKC').replace(/\s+/g, '').toLowerCase();

export const CATEGORY_LABELS: Record<RegistrantCategory, string> = {
  employee: '従業員1',
  part_time: '従業員2',
  contractor: '業務委託',
  payee: '報酬支払',
};
/** Cell text (NFKC, no spaces, lower case) → category. */
export const CATEGORY_INPUT: Readonly<Record<string, RegistrantCategory>> = {
  従業員1: 'employee',
  社員: 'employee',
  役員: 'employee',
  '社員・役員': 'employee',
  employee: 'employee',
  従業員2: 'part_time',
  パート: 'part_time',
  アルバイト: 'part_time',
  'パート・アルバイト': 'part_time',
  part_time: 'part_time',
  業務委託: 'contractor',
  contractor: 'contractor',
  報酬支払: 'payee',
  payee: 'payee',
};

export const GENDER_LABELS: Record<Gender, string> = { male: '男性', female: '女性', other: 'その他' };
export const GENDER_INPUT: Readonly<Record<string, Gender>> = {
  男: 'male',
  男性: 'male',
  male: 'male',
  m: 'male',
  女: 'female',
  女性: 'female',
  female: 'female',
  f: 'female',
  その他: 'other',
  other: 'other',
};

export const STATUS_LABELS: Record<Status, string> = {
  unregistered: '未登録',
  pending: '承認待ち',
  remanded: '差戻し',
  refused: '拒否',
  completed: '完了',
};

export const DEPENDENT_KIND_LABELS: Record<DependentKind, string> = { dependent: '扶養親族', category3: '第3号被保険者' };

/** The downloadable sample: the header and two made-up people. */
export const IMPORT_TEMPLATE_ROWS: string[][] = [
  ['00123', '山田', '太郎', 'ヤマダ', 'タロウ', 'taro.yamada@example.co.jp', '従業員1', 'S55/1/1', '男性', '2010/04/01', '', '営業部', ''],
  ['00456', '佐藤', '花子', 'サトウ', 'ハナコ', 'hanako.sato@example.co.jp', '従業員2', '平成2年4月1日', '女性', 'R5/4/1', '', '', '週3日勤務'],
];
