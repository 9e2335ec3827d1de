/**
 * Hot reads in plain SQL, given back as the models Prisma would give. A Prisma model query costs
 * about 0.6 ms of CPU to compile and shape (its query compiler runs per query); the same SELECT
 * through `$queryRaw` about 0.1 ms. Used only where every request pays it (the session, a record
 * read); each use has a test holding it equal to the Prisma query it replaces.
 */
import { Prisma } from '../../prisma/generated/client';

/** The schema maps every field to its snake_case column. */
export const columnOf = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export interface ModelColumns {
  /** The model's scalar fields (Prisma.<Model>ScalarFieldEnum). */
  fields: Record<string, string>;
  /** Enum arrays: the driver would give them back as one '{a,b}' string. */
  textArrays?: readonly string[];
  /** @db.Date fields: the driver gives 'YYYY-MM-DD'; Prisma gives midnight UTC. */
  dates?: readonly string[];
}

const selectLists = new WeakMap<ModelColumns, Map<string, Prisma.Sql>>();
/** Each model's field list and dates, taken once (a list page picks fifty rows of forty fields). */
const shapes = new WeakMap<ModelColumns, { fields: string[]; dates: Set<string> }>();

/** The model's columns of table `alias` for a SELECT list, each named `<prefix><field>`. */
export function selectColumns(alias: string, model: ModelColumns, prefix = ''): Prisma.Sql {
  // Built once per list: the hot reads ask for the same few on every request.
  const made = selectLists.get(model) ?? selectLists.set(model, new Map()).get(model)!;
  const key = `${alias}\0${prefix}`;
  let list = made.get(key);
  if (!list) {
    const cast = (f: string) => (model.textArrays?.includes(f) ? '::text[]' : '');
    made.set(key, (list = Prisma.raw(Object.values(model.fields).map((f) => `${alias}."${columnOf(f)}"${cast(f)} AS "${prefix}${f}"`).join(', '))));
  }
  return list;
}

/** The fields named `<prefix><field>` of a raw row, as the model. */
export function pickModel<T>(row: Record<string, unknown>, model: ModelColumns, prefix = ''): T {
  let shape = shapes.get(model);
  if (!shape) shapes.set(model, (shape = { fields: Object.values(model.fields), dates: new Set(model.dates) }));
  const out: Record<string, unknown> = {};
  for (const f of shape.fields) {
    const v = row[prefix + f];
    out[f] = typeof v === 'string' && shape.dates.has(f) ? new Date(`${v.slice(0, 10)}T00:00:00.000Z`) : v;
  }
  return out as T;
}

export const SESSION_COLUMNS: ModelColumns = { fields: Prisma.SessionScalarFieldEnum };
export const LOGIN_USER_COLUMNS: ModelColumns = { fields: Prisma.LoginUserScalarFieldEnum };
export const TENANT_COLUMNS: ModelColumns = { fields: Prisma.TenantScalarFieldEnum, textArrays: ['purposes'] };
export const REGISTRANT_COLUMNS: ModelColumns = { fields: Prisma.RegistrantScalarFieldEnum, dates: ['birthDate', 'hireDate', 'retirementDate', 'deletionDueDate', 'submissionDueDate'] };
/** A model's columns narrowed to `fields` (a SELECT that reads only what its caller uses). */
export function someColumns(model: ModelColumns, fields: readonly string[]): ModelColumns {
  const keep = new Set(fields);
  return { fields: Object.fromEntries(Object.entries(model.fields).filter(([f]) => keep.has(f))), textArrays: model.textArrays?.filter((f) => keep.has(f)), dates: model.dates?.filter((f) => keep.has(f)) };
}

export const DEPENDENT_COLUMNS: ModelColumns = { fields: Prisma.DependentScalarFieldEnum, dates: ['birthDate'] };
