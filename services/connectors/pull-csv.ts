/**
 * The number pull's CSV rows: one per person asked for, one per dependent of those served. Shared by
 * the API and the bench (which measures the same rows without HTTP).
 */
import { encodableIn, type CsvCell, type CsvEncoding } from '../csv/encode';
import type { PullEntry } from './number-pull';

// Columns added later go at the end: a package reading by position keeps working.
export const PULL_HEADER = ['社員コード', '登録者ID', '本人・扶養', '扶養家族ID', '続柄', '姓', '名', '生年月日', 'マイナンバー', '取得結果', 'セイ', 'メイ', '扶養区分'];
const KIND_LABELS = { dependent: '扶養親族', category3: '第3号被保険者' } as const;

/** One CSV row per person asked for, and one per dependent of those served. */
export function* pullRows(entries: PullEntry[], encoding: CsvEncoding): Generator<CsvCell[]> {
  // A name the encoding cannot carry is left out and said so in the result column, never turned into '?'.
  const names = (family: string, given: string): [string, string, string | null] =>
    encodableIn(family + given, encoding) ? [family, given, null] : ['', '', 'NAME_NOT_ENCODABLE'];
  for (const e of entries) {
    const code = 'employeeCode' in e.ref ? e.ref.employeeCode : e.served ? e.employeeCode : null;
    const id = 'registrantId' in e.ref ? e.ref.registrantId : e.served ? e.registrantId : null;
    if (!e.served) {
      yield [code, id, '本人', null, null, null, null, null, null, e.reason, null, null, null];
      continue;
    }
    const [family, given, note] = names(e.familyName, e.givenName);
    yield [code, id, '本人', null, null, family, given, e.birthDate, e.myNumber, note ?? 'OK', e.familyNameKana, e.givenNameKana, null];
    for (const d of e.dependents) {
      const [df, dg, dnote] = names(d.familyName, d.givenName);
      yield [code, id, '扶養', d.dependentId, d.relationship, df, dg, d.birthDate, d.myNumber, d.unservedReason ?? dnote ?? 'OK', d.familyNameKana, d.givenNameKana, KIND_LABELS[d.kind]];
    }
  }
}
