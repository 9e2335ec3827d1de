/**
 * Registering several people at once from HR's console (README "Registration methods"):
 *
 * - **Bulk manual entry (複数一括登録, seed 001)**: up to 10 people whose numbers HR already collected on
 *   paper and checked in person, with their dependents. Everyone is stored `completed` (the login
 *   locked as after an approval), the numbers sealed in the vault; their workflows start with that
 *   status and no invitation.
 * - **Quick add (スマホで収集・簡易登録)**: up to 100 people by category, name and e-mail; their
 *   workflows start by mailing the invitation with the sender's message, reply-to and copy.
 *
 * Both are all or nothing: every problem is reported in Japanese with its path and nothing is stored;
 * otherwise everyone is stored in one transaction together with how their workflow is to start, and
 * only after the commit are the workflows started (services/registrants/workflow-starts.ts: whoever
 * Temporal has not confirmed is started by the reconciler, invitation included). With an
 * Idempotency-Key a retried call gets the first call's answer and stores nobody twice.
 * Numbers travel in the request body only: never in an error, a log line, the history or Temporal.
 */
import { randomUUID } from 'node:crypto';
import type { components } from '../../api/generated/openapi';
import { Prisma, type Gender, type RegistrantCategory } from '../../prisma/generated/client';
import { registrantWorkflowId, type InviteOptions, type RegistrantWorkflowInput } from '../../shared';
import type { History, OperationInput } from '../audit/types';
import { startDeliveries } from '../connectors/delivery-starts';
import { enqueueEvent } from '../connectors/webhooks';
import { parseJapaneseDate } from '../dates/japanese-date';
import { checkSubmissionDueDate } from './submission-due';
import { isUniqueViolation, type PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { createRequestRecords, type Keep, type Once } from '../idempotency/request-records';
import { actorOf, stepActorOf, type Acting } from '../login-users/login-users';
import { validateIndividualNumber } from '../mynumber/validate';
import { isSandboxTenant } from '../tenants/sandbox';
import { todayInJapan } from '../retention/rules';
import type { TemporalDeps } from '../temporal/client';
import type { Vault } from '../vault/types';
import { createRegistrantWorkflows, queuedStart } from './workflow-starts';
import { checkedDependentFields, type DependentFields } from './import-rows';

type Schemas = components['schemas'];
export type BulkEntryRequest = Schemas['BulkEntryRequest'];
export type BulkEntryResult = Schemas['BulkEntryResult'];
export type QuickAddRequest = Schemas['QuickAddRequest'];
export type QuickAddResult = Schemas['QuickAddResult'];

/** Seed 001: 一度に最大10人分（扶養家族は制限なし）. */
export const MAX_BULK_ENTRY_PEOPLE = 10;
export const MAX_QUICK_ADD_PEOPLE = 100;

export const LIMITS = { name: 50, kana: 50, email: 254, relationship: 40, note: 1000 } as const;
export const EMPLOYEE_CODE = /^[0-9A-Za-z_-]{1,20}$/;
// The API's pattern for kana: katakana, the long-vowel mark and spaces (full-width U+3000 too).
const KANA = /^[ァ-ヶー\u3000 ]*$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** READ COMMITTED for the history's chain lock; 10 people with dependents write a few dozen rows. */
const TX = { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 120_000 } as const;

const TEMPORAL_DOWN = () => new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。時間をおいて再度お試しください（登録はしていません）');
/** A person stored whose workflow Temporal has not confirmed yet: the reconciler starts it. */
const QUEUED_NOTE = '登録しました。ワークフローの開始を待っています（ワークフローサーバーに接続でき次第、自動で開始します）';
const INVITE_QUEUED_NOTE = '登録しました。収集メールは送信待ちです（ワークフローサーバーに接続でき次第、自動で1通送ります）';
const CONFLICT = () => new AppError(409, 'REGISTRATION_CONFLICT', '同じ社員コードの登録者が他の操作で同時に追加されました。もう一度登録してください（登録はしていません）');

export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

/** Hiragana → katakana (NFKC has already made half-width katakana full-width). */
const toKatakana = (s: string) => s.replace(/[\u3041-\u3096]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0x60));
const length = (s: string) => [...s].length;
const dateOnly = (d: string | null) => (d ? new Date(`${d}T00:00:00Z`) : null);
const label = (p: { familyName: string; givenName: string }) => `${p.familyName} ${p.givenName}`;

interface CheckedDependent extends DependentFields {
  myNumber: string;
}

export interface CheckedPerson {
  employeeCode: string | null;
  category: RegistrantCategory;
  familyName: string;
  givenName: string;
  familyNameKana: string | null;
  givenNameKana: string | null;
  email: string | null;
  birthDate: string | null;
  gender: Gender | null;
  hireDate: string | null;
  myNumber: string;
  dependents: CheckedDependent[];
}

/** Field checks shared by both methods and HR's edit; each problem lands at `${base}/${field}`. */
/** `sandbox`: numbers must be invented ones (services/tenants/sandbox.ts). */
export function fields(base: string, problems: FieldProblem[], opts: { sandbox?: boolean } = {}) {
  const fail = (field: string, code: string, message: string) => problems.push({ path: `${base}/${field}`, code, message });
  return {
    fail,
    name(field: 'familyName' | 'givenName', value: string | undefined, what: string): string {
      const v = (value ?? '').trim();
      if (v === '') fail(field, 'REQUIRED', `${what}を入力してください`);
      else if (length(v) > LIMITS.name) fail(field, 'TOO_LONG', `${what}は${LIMITS.name}文字以内で入力してください`);
      return v;
    },
    kana(field: 'familyNameKana' | 'givenNameKana', value: string | null | undefined, what: string): string | null {
      const v = toKatakana((value ?? '').normalize('NFKC').trim());
      if (v === '') return null;
      if (!KANA.test(v)) fail(field, 'KANA', `${what}はカタカナで入力してください`);
      else if (length(v) > LIMITS.kana) fail(field, 'TOO_LONG', `${what}は${LIMITS.kana}文字以内で入力してください`);
      return v;
    },
    email(value: string | null | undefined, required: boolean): string | null {
      const v = (value ?? '').normalize('NFKC').trim();
      if (v === '') {
        if (required) fail('email', 'REQUIRED', 'メールアドレスを入力してください');
        return null;
      }
      if (!EMAIL.test(v) || v.length > LIMITS.email) fail('email', 'EMAIL_FORMAT', 'メールアドレスの形式が正しくありません');
      return v;
    },
    /** 備考: trimmed, empty is none. */
    note(value: string | null | undefined): string | null {
      const v = (value ?? '').trim();
      if (length(v) > LIMITS.note) fail('note', 'TOO_LONG', `備考は${LIMITS.note}文字以内で入力してください`);
      return v === '' ? null : v;
    },
    date(field: 'birthDate' | 'hireDate', value: string | null | undefined, what: string): string | null {
      const v = (value ?? '').trim();
      if (v === '') return null;
      const parsed = parseJapaneseDate(v);
      if (!parsed.ok) {
        fail(field, 'DATE_INVALID', `${what}：${parsed.message}`);
        return null;
      }
      return parsed.date;
    },
    /** Checked for the check digit and against the second entry; the number never enters a message. */
    number(first: string | undefined, second: string | undefined): string {
      const checked = validateIndividualNumber(first ?? '', second ?? '', { sandbox: opts.sandbox });
      if (checked.ok) return checked.value;
      // A mismatch is the second entry's fault: shown at that field.
      fail(checked.code === 'NUMBER_MISMATCH' ? 'myNumberConfirmation' : 'myNumber', checked.code, checked.message);
      return '';
    },
  };
}

function countProblem(n: number, max: number, what: string): FieldProblem | null {
  if (n === 0) return { path: '/body/people', code: 'PEOPLE_REQUIRED', message: `${what}する人を1人以上入力してください` };
  if (n > max) return { path: '/body/people', code: 'TOO_MANY_PEOPLE', message: `一度に${what}できるのは${max}人までです（${n}人分あります）。分けて${what}してください` };
  return null;
}

/**
 * Catches one number typed twice in a request, naming where it was first typed (by position: the
 * number is never shown).
 */
export function numberClashCheck() {
  const numberAt = new Map<string, string>();
  return (number: string | null, where: string, f: ReturnType<typeof fields>) => {
    if (!number) return;
    const first = numberAt.get(number);
    if (first) f.fail('myNumber', 'NUMBER_DUPLICATE_IN_REQUEST', `このマイナンバーは${first}と同じです`);
    else numberAt.set(number, where);
  };
}

type DependentInput = Schemas['BulkEntryDependent'] | Schemas['NewDependent'];

/**
 * One dependent as HR types them (bulk entry, 新規追加, or added later), problems at `${base}/…`.
 * The number is required in a bulk entry; elsewhere a dependent without one is stored 未登録.
 */
export function checkDependent(d: DependentInput, base: string, problems: FieldProblem[], today: string, numberRequired: boolean, sandbox = false): DependentFields & { myNumber: string | null } {
  const g = fields(base, problems, { sandbox });
  const relationship = (d.relationship ?? '').trim();
  if (relationship === '') g.fail('relationship', 'REQUIRED', '続柄を入力してください');
  else if (length(relationship) > LIMITS.relationship) g.fail('relationship', 'TOO_LONG', `続柄は${LIMITS.relationship}文字以内で入力してください`);
  const birthDate = g.date('birthDate', d.birthDate, '生年月日');
  if (birthDate && birthDate > today) g.fail('birthDate', 'DATE_IN_FUTURE', '生年月日に未来の日付は指定できません');
  const typed = !!(d.myNumber?.trim() || d.myNumberConfirmation?.trim());
  return {
    relationship,
    kind: d.kind ?? 'dependent',
    familyName: g.name('familyName', d.familyName, '姓'),
    givenName: g.name('givenName', d.givenName, '名'),
    familyNameKana: g.kana('familyNameKana', d.familyNameKana, 'フリガナ（姓）'),
    givenNameKana: g.kana('givenNameKana', d.givenNameKana, 'フリガナ（名）'),
    birthDate,
    gender: d.gender ?? null,
    myNumber: numberRequired || typed ? g.number(d.myNumber, d.myNumberConfirmation) || null : null,
  };
}

/** Checks a bulk entry; `people` is complete only when `problems` is empty. */
export function checkBulkEntry(req: BulkEntryRequest, ctx: { takenCodes: ReadonlySet<string>; today: string; sandbox?: boolean }): { people: CheckedPerson[]; problems: FieldProblem[] } {
  const tooMany = countProblem(req.people.length, MAX_BULK_ENTRY_PEOPLE, '登録');
  if (tooMany) return { people: [], problems: [tooMany] };
  const problems: FieldProblem[] = [];
  const people: CheckedPerson[] = [];
  const codeAt = new Map<string, number>();
  const sameNumber = numberClashCheck();

  req.people.forEach((p, i) => {
    const f = fields(`/body/people/${i}`, problems, { sandbox: ctx.sandbox });
    const codeText = (p.employeeCode ?? '').normalize('NFKC').trim();
    const employeeCode = codeText === '' ? null : codeText;
    if (employeeCode !== null) {
      if (!EMPLOYEE_CODE.test(employeeCode)) f.fail('employeeCode', 'EMPLOYEE_CODE_FORMAT', '社員コードは半角英数字・ハイフン・アンダースコアの20文字以内で入力してください');
      else if (ctx.takenCodes.has(employeeCode)) f.fail('employeeCode', 'EMPLOYEE_CODE_TAKEN', `社員コード「${employeeCode}」は既に登録されています`);
      else if (codeAt.has(employeeCode)) f.fail('employeeCode', 'DUPLICATE_IN_REQUEST', `社員コード「${employeeCode}」は${codeAt.get(employeeCode)! + 1}人目と重複しています`);
      else codeAt.set(employeeCode, i);
    }
    const familyName = f.name('familyName', p.familyName, '姓');
    const givenName = f.name('givenName', p.givenName, '名');
    const familyNameKana = f.kana('familyNameKana', p.familyNameKana, 'フリガナ（姓）');
    const givenNameKana = f.kana('givenNameKana', p.givenNameKana, 'フリガナ（名）');
    const email = f.email(p.email, false);
    const birthDate = f.date('birthDate', p.birthDate, '生年月日');
    const hireDate = f.date('hireDate', p.hireDate, '入社日');
    if (birthDate && birthDate > ctx.today) f.fail('birthDate', 'DATE_IN_FUTURE', '生年月日に未来の日付は指定できません');
    if (birthDate && hireDate && hireDate < birthDate) f.fail('hireDate', 'DATE_ORDER', '入社日が生年月日より前です');
    const myNumber = f.number(p.myNumber, p.myNumberConfirmation);
    sameNumber(myNumber, `${i + 1}人目の本人`, f);
    const category = p.category ?? 'employee';

    const dependents: CheckedDependent[] = [];
    if (category === 'payee' && (p.dependents ?? []).length > 0) {
      f.fail('dependents', 'DEPENDENTS_NOT_ALLOWED', '報酬支払の登録者には扶養家族を登録できません');
    }
    (p.dependents ?? []).forEach((d, j) => {
      const dependent = checkDependent(d, `/body/people/${i}/dependents/${j}`, problems, ctx.today, true, ctx.sandbox);
      sameNumber(dependent.myNumber, `${i + 1}人目の扶養家族${j + 1}人目`, fields(`/body/people/${i}/dependents/${j}`, problems));
      dependents.push({ ...dependent, myNumber: dependent.myNumber ?? '' });
    });

    people.push({ employeeCode, category, familyName, givenName, familyNameKana, givenNameKana, email, birthDate, gender: p.gender ?? null, hireDate, myNumber, dependents });
  });
  return { people, problems };
}

export interface CheckedQuickAdd {
  category: RegistrantCategory;
  familyName: string;
  givenName: string;
  email: string;
}

export function checkQuickAdd(req: QuickAddRequest): { people: CheckedQuickAdd[]; problems: FieldProblem[]; submissionDueDate?: string | null } {
  const tooMany = countProblem(req.people.length, MAX_QUICK_ADD_PEOPLE, '登録');
  if (tooMany) return { people: [], problems: [tooMany] };
  const problems: FieldProblem[] = [];
  const people = req.people.map((p, i) => {
    const f = fields(`/body/people/${i}`, problems);
    return {
      category: p.category ?? 'employee',
      familyName: f.name('familyName', p.familyName, '姓'),
      givenName: f.name('givenName', p.givenName, '名'),
      email: f.email(p.email, true) ?? '',
    };
  });
  const submissionDueDate = checkSubmissionDueDate('/body', problems, req.submissionDueDate);
  return { people, problems, submissionDueDate };
}

const rejected = (code: string, problems: FieldProblem[]) =>
  new AppError(400, code, `入力内容に誤りがあるため、1人も登録していません（${problems.length}件）。表示された項目を直してから、もう一度登録してください`, problems);

export interface BulkRegistrationDeps {
  prisma: PrismaClient;
  history: History;
  vault: Vault;
  temporal: TemporalDeps;
  /** Reminder days when the tenant has none set. */
  inviteReminderDays: number[];
}

export function createBulkRegistrationService({ prisma, history, vault, temporal, inviteReminderDays }: BulkRegistrationDeps) {
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });
  const records = createRequestRecords(prisma, vault);

  return {
    /** 複数一括登録: up to 10 verified people with dependents, stored `completed`, or nobody. Once per key. */
    bulkEntry: (acting: Acting, req: BulkEntryRequest, key?: string): Promise<Once<BulkEntryResult>> =>
      records.once(`${acting.user.id}/bulk-entry`, key, req, 201, (keep) => bulkEntry(acting, req, keep)),

    /** スマホで収集（簡易登録）: everyone stored, then each workflow mails the invitation. Once per key. */
    quickAdd: (acting: Acting, req: QuickAddRequest, key?: string): Promise<Once<QuickAddResult>> =>
      records.once(`${acting.user.id}/quick-add`, key, req, 201, (keep) => quickAdd(acting, req, keep)),
  };

  async function bulkEntry(acting: Acting, req: BulkEntryRequest, keep: Keep<BulkEntryResult>): Promise<BulkEntryResult> {
    const tenantId = acting.tenantId;
    const codes = [...new Set(req.people.map((p) => (p.employeeCode ?? '').normalize('NFKC').trim()).filter(Boolean))];
    const taken = codes.length ? await prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: codes } }, select: { employeeCode: true } }) : [];
    const { people, problems } = checkBulkEntry(req, { takenCodes: new Set(taken.map((t) => t.employeeCode!)), today: todayInJapan(), sandbox: await isSandboxTenant(prisma, tenantId) });
    if (problems.length) throw rejected('BULK_ENTRY_INVALID', problems);
    if (!(await workflows.reachable())) throw TEMPORAL_DOWN();
    const reminderDays = await workflows.reminderDaysOf(tenantId);
    const ids = people.map(() => randomUUID());
    const actor = actorOf(acting.user);
    const facts = { tenantId, actor, ip: acting.ip, userAgent: acting.userAgent };

    let stored: { dependentIds: string[]; deliveries: string[] }[];
    try {
      stored = await prisma.$transaction(async (tx) => {
        const out: { dependentIds: string[]; deliveries: string[] }[] = [];
        for (const [i, p] of people.entries()) {
          const id = ids[i]!;
          const numberId = await vault.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(p.myNumber) }, tx);
          await tx.registrant.create({
            data: {
              id,
              tenantId,
              workflowId: registrantWorkflowId(tenantId, id),
              employeeCode: p.employeeCode,
              category: p.category,
              familyName: p.familyName,
              givenName: p.givenName,
              familyNameKana: p.familyNameKana,
              givenNameKana: p.givenNameKana,
              email: p.email,
              birthDate: dateOnly(p.birthDate),
              gender: p.gender,
              hireDate: dateOnly(p.hireDate),
              // HR checked the documents in person: done, and no login until HR unlocks it.
              status: 'completed',
              loginLocked: true,
              myNumberSecretId: numberId,
              approvedNumberSecretId: numberId,
              ...queuedStart({ invite: false, status: 'completed' }),
            },
          });
          const registrant = { id, label: label(p) };
          const events: OperationInput[] = [
            { ...facts, operation: 'registrant_created', registrant, detail: { source: 'bulk_entry', status: 'completed', dependents: p.dependents.length } },
            { ...facts, operation: 'number_registered', registrant, detail: { source: 'bulk_entry' } },
          ];
          const dependentIds: string[] = [];
          for (const d of p.dependents) {
            const dependentId = randomUUID();
            const depNumber = await vault.seal({ tenantId, kind: 'my_number', plaintext: Buffer.from(d.myNumber) }, tx);
            await tx.dependent.create({
              data: {
                id: dependentId,
                registrantId: id,
                ...checkedDependentFields(d),
                status: 'completed',
                myNumberSecretId: depNumber,
                approvedNumberSecretId: depNumber,
              },
            });
            dependentIds.push(dependentId);
            events.push({ ...facts, operation: 'number_registered', registrant, detail: { source: 'bulk_entry', dependentId } });
          }
          await history.recordMany(events, tx);
          // Payroll hears of a completion however it came about (ids, codes and statuses only).
          const deliveries = await enqueueEvent(tx, tenantId, 'registrant_completed', { registrantId: id, employeeCode: p.employeeCode, status: 'completed', dependentId: null }, `bulk-entry/${id}`);
          out.push({ dependentIds, deliveries });
        }
        await keep(tx, answer(out, new Set(ids)));
        return out;
      }, TX);
    } catch (err) {
      // Another request took one of the employee codes meanwhile: the check runs again on a retry.
      if (isUniqueViolation(err)) throw CONFLICT();
      throw err;
    }

    // After the commit: a workflow never runs for a person who was not stored.
    const inputs: RegistrantWorkflowInput[] = ids.map((registrantId) => ({ tenantId, registrantId, reminderDays, invite: false, status: 'completed' }));
    const queued = await workflows.startQueued(inputs);
    // A delivery whose workflow does not start now stays pending: the reconciler's sweep starts it.
    const deliveries = stored.flatMap((s) => s.deliveries);
    if (queued.size === 0) await startDeliveries(temporal, deliveries);

    return answer(stored, queued);

    function answer(rows: { dependentIds: string[] }[], queued: Set<string>): BulkEntryResult {
      const results = people.map((p, i) => {
        const started = !queued.has(ids[i]!);
        return {
          index: i,
          registrantId: ids[i]!,
          employeeCode: p.employeeCode,
          familyName: p.familyName,
          givenName: p.givenName,
          status: 'completed' as const,
          dependentIds: rows[i]!.dependentIds,
          workflowStarted: started,
          ...(started ? {} : { note: QUEUED_NOTE }),
        };
      });
      const dependents = rows.reduce((n, s) => n + s.dependentIds.length, 0);
      return {
        created: results.length,
        dependents,
        message: `${results.length}人${dependents ? `（扶養家族${dependents}人）` : ''}を完了の状態で登録しました${queued.size ? `。${queued.size}人はワークフローの開始を待っています（ワークフローサーバーに接続でき次第、自動で開始します）` : ''}`,
        people: results,
      };
    }
  }

  async function quickAdd(acting: Acting, req: QuickAddRequest, keep: Keep<QuickAddResult>): Promise<QuickAddResult> {
    const tenantId = acting.tenantId;
    const { people, problems, submissionDueDate } = checkQuickAdd(req);
    if (problems.length) throw rejected('QUICK_ADD_INVALID', problems);
    if (!(await workflows.reachable())) throw TEMPORAL_DOWN();
    const reminderDays = await workflows.reminderDaysOf(tenantId);
    const message = req.message?.trim();
    const options: InviteOptions = {
      ...(message ? { message } : {}),
      ...(req.replyTo ? { replyTo: req.replyTo.trim() } : {}),
      ...(req.copyToSelf ? { copyTo: acting.user.email } : {}),
    };
    const ids = people.map(() => randomUUID());
    const facts = { tenantId, actor: actorOf(acting.user), ip: acting.ip, userAgent: acting.userAgent };
    const at = new Date();
    // 簡易登録 only (`invite: false`): HR reviews the list and sends from it (seed 001's 送信リスト確認).
    const invite = req.invite === false ? false : options;

    await prisma.$transaction(async (tx) => {
      await tx.registrant.createMany({
        data: people.map((p, i) => ({
          id: ids[i]!,
          tenantId,
          workflowId: registrantWorkflowId(tenantId, ids[i]!),
          category: p.category,
          familyName: p.familyName,
          givenName: p.givenName,
          email: p.email,
          submissionDueDate: dateOnly(submissionDueDate ?? null),
          ...queuedStart({ invite, startedBy: stepActorOf(acting) }, at),
        })),
      });
      await history.recordMany(
        people.map((p, i) => ({ ...facts, operation: 'registrant_created' as const, registrant: { id: ids[i]!, label: label(p) }, detail: { source: 'quick_add', invite: invite !== false } })),
        tx,
      );
      await keep(tx, answer(new Set(ids)));
    }, TX);

    // After the commit; the workflow's first round mails the invitation with these options.
    const inputs: RegistrantWorkflowInput[] = ids.map((registrantId) => ({ tenantId, registrantId, reminderDays, invite, startedBy: stepActorOf(acting) }));
    const queued = await workflows.startQueued(inputs);
    return answer(queued);

    function answer(queued: Set<string>): QuickAddResult {
      const results = people.map((p, i) => {
        // Started: its first round mails the invitation. Queued: the reconciler starts it, and the
        // mail, later — a start whose answer was lost counts as queued, never as invited.
        const started = !queued.has(ids[i]!);
        const invited = started && invite !== false;
        return {
          index: i,
          registrantId: ids[i]!,
          familyName: p.familyName,
          givenName: p.givenName,
          email: p.email,
          invited,
          queued: !started,
          ...(started ? {} : { note: invite === false ? QUEUED_NOTE : INVITE_QUEUED_NOTE }),
        };
      });
      const invited = results.filter((r) => r.invited).length;
      return {
        created: results.length,
        invited,
        queued: queued.size,
        message:
          invite === false
            ? `${results.length}人を登録しました。送信リストを確認して、収集メールを送信してください`
            : `${results.length}人を登録し、${invited}人に収集メールを送ります${queued.size ? `（${queued.size}人は送信待ち：ワークフローサーバーに接続でき次第、自動で送ります）` : ''}`,
        people: results,
      };
    }
  }
}

export type BulkRegistrationService = ReturnType<typeof createBulkRegistrationService>;
