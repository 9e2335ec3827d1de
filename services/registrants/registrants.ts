/**
 * Registrant use cases: stored in PostgreSQL, carried by one Temporal workflow each.
 */
import { isSandboxTenant } from '../tenants/sandbox';
import { randomUUID } from 'node:crypto';
import { AppError, REGISTRANT_NOT_FOUND } from '../errors';
import type { components } from '../../api/generated/openapi';
import { Prisma, type Dependent, type DependentKind, type Gender, type Registrant, type RegistrantCategory } from '../../prisma/generated/client';
import { registrantWorkflowId } from '../../shared';
import { isUniqueViolation, type PrismaClient } from '../db/client';
import { createGroupCommitter } from '../db/group-commit';
import { directSql } from '../db/direct-sql';
import { insertRegistrants, type NewRegistrantRow } from './insert-registrants';
import { databaseAway } from '../health/outages';
import type { TemporalDeps } from '../temporal/client';
import type { History } from '../audit/types';
import { actorOf, hrEvent, stepActorOf, type Acting } from '../login-users/login-users';
import { startDeliveries } from '../connectors/delivery-starts';
import { checkNewRegistrant, isPlainCreate } from './new-registrant';
import { checkedDependentFields } from './import-rows';
import { createRequestRecords, type Keep } from '../idempotency/request-records';
import { retentionOf, storePeople } from './numbers-import-store';
import { connectorActor, type ConnectorCaller } from '../connectors/connectors';
import { todayInJapan } from '../retention/rules';
import { checkDependent, EMPLOYEE_CODE, fields, LIMITS, type FieldProblem } from './bulk-registration';
import { dependentSummary, type DependentSummary, forConnector, getRegistrantItem, type RegistrantListItem, type RegistrantSummary, submittedDependent, summarizeRegistrants } from './listing';
import { correctedProfile, dependentProfile, personProfile } from './approved-numbers';
import type { Vault } from '../vault/types';
import { draftFieldsOf } from './draft';
import { amendDraft } from './draft-store';
import { createRegistrantWorkflows, queuedInput, queuedStart } from './workflow-starts';
import { DEPENDENT_STATUS_SELECT, loadRegistrantView, registrantView, type RegistrantView } from './view';
import { checkSubmissionDueDate } from './submission-due';
import type { InviteOptions } from '../../shared';

type RegistrantCreate = components['schemas']['RegistrantCreate'];
type NewDependent = components['schemas']['NewDependent'];

/** HR's edit of a registrant (seed 001 ch.11 登録者編集): only the fields given change. */
export interface RegistrantPatch {
  familyName?: string;
  givenName?: string;
  familyNameKana?: string | null;
  givenNameKana?: string | null;
  email?: string | null;
  employeeCode?: string | null;
  category?: RegistrantCategory;
  groupId?: string | null;
  /** Western or Japanese era date */
  hireDate?: string | null;
  /** Western or Japanese era date; not in the future */
  birthDate?: string | null;
  gender?: Gender | null;
  note?: string | null;
  /** 提出期限; Western or Japanese era date */
  submissionDueDate?: string | null;
}

/** HR's edit of a submitted dependent (seed 001 ch.11 扶養家族編集). */
export interface DependentPatch {
  relationship?: string;
  familyName?: string;
  givenName?: string;
  familyNameKana?: string | null;
  givenNameKana?: string | null;
  /** Western or Japanese era date */
  birthDate?: string | null;
  gender?: Gender | null;
  /** 扶養親族 ↔ 国民年金の第3号被保険者 */
  kind?: DependentKind;
}

/** READ COMMITTED: the history's chain lock requires it. */
const TX = { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted } as const;

const invalid = (problems: FieldProblem[]) => new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', problems);
const CODE_TAKEN = () =>
  new AppError(409, 'EMPLOYEE_CODE_TAKEN', 'この社員コードは既に使われています', [{ path: '/body/employeeCode', message: 'この社員コードは他の登録者が使っています', code: 'EMPLOYEE_CODE_TAKEN' }]);
const has = <T extends object>(o: T, k: keyof T) => Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;
const dateOnly = (d: string | null) => (d ? new Date(`${d}T00:00:00Z`) : null);
const iso = (d: Date | null) => d?.toISOString().slice(0, 10) ?? null;
const length = (s: string) => [...s].length;
/** Compares what is stored with what would be: dates by their calendar day. */
const same = (a: unknown, b: unknown) => (a instanceof Date || b instanceof Date ? iso(a as Date | null) === iso(b as Date | null) : (a ?? null) === (b ?? null));

export interface RegistrantServiceDeps {
  prisma: PrismaClient;
  history: History;
  temporal: TemporalDeps;
  /** Reminder days when the tenant has none set (the tenant's own setting wins). */
  inviteReminderDays: number[];
  /** For HR's corrections that reach into an employee's sealed draft. */
  vault: Vault;
}

const TEMPORAL_DOWN = () =>
  new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。時間をおいて再度お試しください');


interface NewRegistrant {
  acting: Acting;
  data: NewRegistrantRow;
}
interface StoredCreate {
  registrant: Registrant;
  /** Read before the commit: nothing after it may fail for want of it. */
  reminderDays: number[];
}
/** Creates of one tenant stored in one transaction at most. */
const CREATE_GROUP_MAX = 100;

export function createRegistrantService({ prisma, history, temporal, inviteReminderDays, vault }: RegistrantServiceDeps) {
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });
  const records = createRequestRecords(prisma, vault);
  /**
   * Single creates of a tenant asked for at once are stored together: their rows, history entries
   * (one chain lock) and start marks in one transaction, the tenant's reminder days read once. A
   * group that fails (a taken employee code) is stored one by one, so only that create fails.
   */
  const storeCreate = createGroupCommitter<NewRegistrant, StoredCreate>({
    max: CREATE_GROUP_MAX,
    // Plain SQL on the pool: the create's statements cost less than Prisma's work around them.
    commit: async (tenantId, items) =>
      (await directSql(prisma)).transaction(async (tx) => {
        const created = await insertRegistrants(tx, items.map((i) => i.data));
        await history.recordMany(created.map((r, k) => hrEvent(items[k]!.acting, 'registrant_created', r)), tx);
        const reminderDays = await workflows.reminderDaysOf(tenantId, tx);
        return created.map((registrant) => ({ registrant, reminderDays }));
      }),
    failsAsOne: databaseAway,
  });
  const find = async (tenantId: string, id: string, db: Prisma.TransactionClient | PrismaClient = prisma) => {
    const r = await db.registrant.findFirst({ where: { id, tenantId } });
    if (!r) throw REGISTRANT_NOT_FOUND();
    return r;
  };

  /** The checked values of the fields given; problems in Japanese at /body/<field>. */
  async function checkPatch(r: Registrant, input: RegistrantPatch): Promise<Prisma.RegistrantUncheckedUpdateInput> {
    const problems: FieldProblem[] = [];
    const f = fields('/body', problems);
    const data: Prisma.RegistrantUncheckedUpdateInput = {};
    if (has(input, 'familyName')) data.familyName = f.name('familyName', input.familyName, '姓');
    if (has(input, 'givenName')) data.givenName = f.name('givenName', input.givenName, '名');
    if (has(input, 'familyNameKana')) data.familyNameKana = f.kana('familyNameKana', input.familyNameKana, 'フリガナ（姓）');
    if (has(input, 'givenNameKana')) data.givenNameKana = f.kana('givenNameKana', input.givenNameKana, 'フリガナ（名）');
    if (has(input, 'email')) data.email = f.email(input.email, false);
    if (has(input, 'employeeCode')) {
      const code = (input.employeeCode ?? '').normalize('NFKC').trim();
      data.employeeCode = code === '' ? null : code;
      if (code !== '' && !EMPLOYEE_CODE.test(code)) f.fail('employeeCode', 'EMPLOYEE_CODE_FORMAT', '社員コードは半角英数字・ハイフン・アンダースコアの20文字以内で入力してください');
    }
    if (has(input, 'category')) {
      data.category = input.category;
      if (input.category === 'payee' && r.category !== 'payee' && (await prisma.dependent.count({ where: { registrantId: r.id, draft: false } })) > 0) {
        f.fail('category', 'DEPENDENTS_NOT_ALLOWED', '扶養家族が登録されているため、報酬支払には変更できません');
      }
    }
    if (has(input, 'groupId')) {
      data.groupId = input.groupId ?? null;
      if (input.groupId && !(await prisma.group.findFirst({ where: { id: input.groupId, tenantId: r.tenantId }, select: { id: true } }))) {
        f.fail('groupId', 'GROUP_NOT_FOUND', 'グループが見つかりません');
      }
    }
    if (has(input, 'birthDate')) {
      const birthDate = f.date('birthDate', input.birthDate, '生年月日');
      data.birthDate = dateOnly(birthDate);
      if (birthDate && birthDate > todayInJapan()) f.fail('birthDate', 'DATE_IN_FUTURE', '生年月日に未来の日付は指定できません');
    }
    if (has(input, 'gender')) data.gender = input.gender ?? null;
    if (has(input, 'hireDate')) {
      const hireDate = f.date('hireDate', input.hireDate, '入社日');
      data.hireDate = dateOnly(hireDate);
      const birthDate = has(input, 'birthDate') ? iso((data.birthDate as Date | null) ?? null) : iso(r.birthDate);
      const retirementDate = iso(r.retirementDate);
      if (hireDate && birthDate && hireDate < birthDate) f.fail('hireDate', 'DATE_ORDER', '入社日が生年月日より前です');
      if (hireDate && retirementDate && retirementDate < hireDate) f.fail('hireDate', 'DATE_ORDER', '入社日が退職日より後です');
    }
    if (has(input, 'submissionDueDate')) {
      // An open link ends on its own day (Japan time): a deadline after it would ask about a dead link.
      const linkEnds = r.invitationState === 'open' && r.invitationExpiresAt ? todayInJapan(r.invitationExpiresAt) : undefined;
      data.submissionDueDate = dateOnly(checkSubmissionDueDate('/body', problems, input.submissionDueDate, iso(r.submissionDueDate), linkEnds));
    }
    if (has(input, 'note')) data.note = f.note(input.note);
    if (problems.length) throw invalid(problems);
    return data;
  }

  function checkDependentPatch(input: DependentPatch): Prisma.DependentUncheckedUpdateInput {
    const problems: FieldProblem[] = [];
    const f = fields('/body', problems);
    const data: Prisma.DependentUncheckedUpdateInput = {};
    if (has(input, 'relationship')) {
      const relationship = (input.relationship ?? '').trim();
      data.relationship = relationship;
      if (relationship === '') f.fail('relationship', 'REQUIRED', '続柄を入力してください');
      else if (length(relationship) > LIMITS.relationship) f.fail('relationship', 'TOO_LONG', `続柄は${LIMITS.relationship}文字以内で入力してください`);
    }
    if (has(input, 'familyName')) data.familyName = f.name('familyName', input.familyName, '姓');
    if (has(input, 'givenName')) data.givenName = f.name('givenName', input.givenName, '名');
    if (has(input, 'familyNameKana')) data.familyNameKana = f.kana('familyNameKana', input.familyNameKana, 'フリガナ（姓）');
    if (has(input, 'givenNameKana')) data.givenNameKana = f.kana('givenNameKana', input.givenNameKana, 'フリガナ（名）');
    if (has(input, 'birthDate')) {
      const birthDate = f.date('birthDate', input.birthDate, '生年月日');
      data.birthDate = dateOnly(birthDate);
      if (birthDate && birthDate > todayInJapan()) f.fail('birthDate', 'DATE_IN_FUTURE', '生年月日に未来の日付は指定できません');
    }
    if (has(input, 'gender')) data.gender = input.gender ?? null;
    if (has(input, 'kind')) data.kind = input.kind;
    if (problems.length) throw invalid(problems);
    return data;
  }

  /**
   * HOME's counts, asked for by many at once, counted once per round: a request waits for the next
   * count to start rather than joining one already running, so nobody gets counts older than their
   * request, and fifty HR screens cost one count at a time.
   */
  const countRound = createGroupCommitter<null, RegistrantSummary>({
    max: Number.MAX_SAFE_INTEGER,
    commit: async (tenantId, askers) => {
      const counts = await summarizeRegistrants(prisma, tenantId);
      return askers.map(() => counts);
    },
    failsAsOne: () => true,
  });

  /**
   * 新規追加 beyond name and e-mail (new-registrant.ts): checked whole, stored in one transaction
   * with its numbers, dependents, history and webhooks, the workflow started after the commit (the
   * reconciler starts it if this process dies first).
   */
  async function createWithDetails(acting: Acting, input: RegistrantCreate, keep: Keep<RegistrantView> = async () => undefined): Promise<RegistrantView> {
    const tenantId = acting.tenantId;
    const today = todayInJapan();
    const { checked, problems } = checkNewRegistrant(input, { today, copyTo: acting.user.email, sandbox: await isSandboxTenant(prisma, tenantId) });
    if (checked.groupId && !(await prisma.group.findFirst({ where: { id: checked.groupId, tenantId }, select: { id: true } }))) {
      problems.push({ path: '/body/groupId', code: 'GROUP_NOT_FOUND', message: 'グループが見つかりません' });
    }
    if (problems.length) throw invalid(problems);
    if (!(await workflows.answeringLately())) throw TEMPORAL_DOWN();
    const facts = { tenantId, actor: actorOf(acting.user), ip: acting.ip, userAgent: acting.userAgent };
    let stored: { registrant: Registrant; deliveries: string[]; reminderDays: number[] };
    try {
      stored = await prisma.$transaction(async (tx) => {
        const start = checked.invite ? { invite: checked.invite, startedBy: stepActorOf(acting) } : null;
        const out = await storePeople(tx, { vault, history }, { ...facts, source: 'new_registrant', rule: await retentionOf(tx, tenantId), today, groupIds: new Map(), start, verificationMethod: checked.verificationMethod ?? undefined }, [checked.person]);
        let registrant = out.registrants[0]!;
        if (checked.groupId || checked.submissionDueDate) {
          registrant = await tx.registrant.update({ where: { id: registrant.id }, data: { groupId: checked.groupId, submissionDueDate: dateOnly(checked.submissionDueDate) } });
        }
        // A retry with the request's Idempotency-Key gets this answer and stores nobody twice.
        await keep(tx, registrantView(registrant, await tx.dependent.findMany({ where: { registrantId: registrant.id }, select: DEPENDENT_STATUS_SELECT })));
        return { registrant, deliveries: out.deliveries, reminderDays: await workflows.reminderDaysOf(tenantId, tx) };
      }, { ...TX, maxWait: 30_000, timeout: 30_000 });
    } catch (err) {
      if (isUniqueViolation(err)) throw CODE_TAKEN();
      if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') throw invalid([{ path: '/body/groupId', code: 'GROUP_NOT_FOUND', message: 'グループが見つかりません' }]);
      throw err;
    }
    const queued = await workflows.startQueued([queuedInput(stored.registrant, stored.reminderDays)]);
    // A delivery not started now stays pending: the reconciler's sweep starts it.
    if (queued.size === 0) await startDeliveries(temporal, stored.deliveries);
    const now = queued.size ? stored.registrant : { ...stored.registrant, workflowPendingSince: null, workflowStart: null };
    return loadRegistrantView(prisma, now);
  }

  /** 扶養家族の追加, once per Idempotency-Key (see addDependent). */
  async function addDependentOnce(acting: Acting, registrantId: string, input: NewDependent, keep: Keep<DependentSummary>): Promise<DependentSummary> {
    const r = await find(acting.tenantId, registrantId);
    const problems: FieldProblem[] = [];
    if (r.category === 'payee') problems.push({ path: '/body', code: 'DEPENDENTS_NOT_ALLOWED', message: '報酬支払の登録者には扶養家族を登録できません' });
    const d = checkDependent(input, '/body', problems, todayInJapan(), false, await isSandboxTenant(prisma, acting.tenantId));
    if (problems.length) throw invalid(problems);
    const added = await prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM registrants WHERE id = ${r.id}::uuid FOR UPDATE`;
      const secretId = d.myNumber ? await vault.seal({ tenantId: r.tenantId, kind: 'my_number', plaintext: Buffer.from(d.myNumber) }, tx) : null;
      const row = await tx.dependent.create({
        data: {
          registrantId: r.id,
          ...checkedDependentFields(d),
          status: secretId ? 'completed' : 'unregistered',
          myNumberSecretId: secretId,
          // Checked on paper by HR: payroll is served it.
          approvedNumberSecretId: secretId,
        },
      });
      const owner = await tx.registrant.update({ where: { id: r.id }, data: { updatedAt: new Date() } });
      await history.recordMany(
        [
          hrEvent(acting, 'dependent_added', owner, { dependentId: row.id }),
          ...(secretId ? [hrEvent(acting, 'number_registered', owner, { dependentId: row.id, verifiedBy: 'employer' })] : []),
        ],
        tx,
      );
      await keep(tx, dependentSummary(row));
      return row;
    }, TX);
    return dependentSummary(added);
  }

  return {
    summary: (tenantId: string): Promise<RegistrantSummary> => countRound(tenantId, null),

    /**
     * Stores the person queued for their workflow (invitation included) and starts it. Temporal
     * known to be away refuses with nothing stored; a start that fails after the commit leaves the
     * person queued (`workflowQueued`): the reconciler starts it, and the invitation goes out once.
     * With an Idempotency-Key (the console always sends one) a retry gets the first answer and
     * stores nobody twice: such a create is stored on its own, not grouped.
     */
    async create(acting: Acting, input: RegistrantCreate, key?: string): Promise<RegistrantView> {
      if (key !== undefined || !isPlainCreate(input)) {
        return (await records.once<RegistrantView>(`${acting.user.id}/registrant-create`, key, input, 201, (keep) => createWithDetails(acting, input, keep))).body;
      }
      const tenantId = acting.tenantId;
      const problems: FieldProblem[] = [];
      const submissionDueDate = checkSubmissionDueDate('/body', problems, input.submissionDueDate);
      const f = fields('/body', problems);
      const familyNameKana = f.kana('familyNameKana', input.familyNameKana, 'フリガナ（姓）');
      const givenNameKana = f.kana('givenNameKana', input.givenNameKana, 'フリガナ（名）');
      if (problems.length) throw invalid(problems);
      // The invitation's options, as quick add takes them.
      const message = input.message?.trim();
      const invite: InviteOptions = {
        ...(message ? { message } : {}),
        ...(input.replyTo ? { replyTo: input.replyTo.trim() } : {}),
        ...(input.copyToSelf ? { copyTo: acting.user.email } : {}),
      };
      if (!(await workflows.answeringLately())) throw TEMPORAL_DOWN();
      const id = randomUUID();
      let stored: StoredCreate;
      try {
        stored = await storeCreate(tenantId, {
          acting,
          data: {
            id,
            tenantId,
            workflowId: registrantWorkflowId(tenantId, id),
            familyName: input.familyName.trim(),
            givenName: input.givenName.trim(),
            familyNameKana,
            givenNameKana,
            email: input.email!.trim(),
            employeeCode: input.employeeCode ?? null,
            category: input.category ?? 'employee',
            submissionDueDate: dateOnly(submissionDueDate),
            ...queuedStart({ invite, startedBy: stepActorOf(acting) }),
          },
        });
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw new AppError(409, 'EMPLOYEE_CODE_TAKEN', 'この社員コードは既に使われています', [
            { path: '/body/employeeCode', message: 'この社員コードは他の登録者が使っています', code: 'unique' },
          ]);
        }
        throw err;
      }
      const { registrant, reminderDays } = stored;
      const queued = await workflows.startQueued([queuedInput(registrant, reminderDays)]);
      return registrantView(queued.size ? registrant : { ...registrant, workflowPendingSince: null, workflowStart: null }, []);
    },

    /** A connector reading one person (with dependents, never numbers): recorded like HR's view. */
    async getForConnector(caller: ConnectorCaller, id: string): Promise<Omit<RegistrantListItem, 'note'>> {
      const item = await getRegistrantItem(prisma, caller.tenant.id, id);
      if (!item) throw REGISTRANT_NOT_FOUND();
      await history.record({
        tenantId: caller.tenant.id,
        actor: connectorActor(caller.client),
        operation: 'registrant_viewed',
        registrant: { id, label: `${item.familyName} ${item.givenName}` },
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return forConnector(item);
    },

    /** Looking at a person's record is a use of their personal data: it is recorded. HR gets the list's form (with dependents). */
    async get(acting: Acting, id: string): Promise<RegistrantListItem> {
      const r = await getRegistrantItem(prisma, acting.tenantId, id);
      if (!r) throw REGISTRANT_NOT_FOUND();
      await history.record(hrEvent(acting, 'registrant_viewed', r));
      return r;
    },

    /**
     * HR's edit (登録者編集). Only the fields given change, and only those that differ are written and
     * named in the history (names only, never values). An e-mail change is taken as the employee
     * master sync takes it: the address is replaced, a live invitation link keeps working, and the
     * next mail of the workflow (a reminder, a remand) goes to the new address.
     */
    async update(acting: Acting, id: string, input: RegistrantPatch): Promise<RegistrantView> {
      const before = await find(acting.tenantId, id);
      const data = await checkPatch(before, input);
      const changed = (Object.keys(data) as (keyof Registrant & keyof typeof data)[]).filter((k) => !same(before[k], data[k]));
      if (changed.length === 0) return loadRegistrantView(prisma, before);
      if (changed.includes('employeeCode') && data.employeeCode) {
        const taken = await prisma.registrant.findFirst({ where: { tenantId: acting.tenantId, employeeCode: data.employeeCode as string, NOT: { id } }, select: { id: true } });
        if (taken) throw CODE_TAKEN();
      }
      try {
        const updated = await prisma.$transaction(async (tx) => {
          const row = await tx.registrant.update({ where: { id: before.id }, data: Object.fromEntries(changed.map((k) => [k, data[k]])) });
          const kept = correctedProfile(row.approvedProfile, personProfile(row), changed);
          if (kept) await tx.registrant.update({ where: { id: row.id }, data: { approvedProfile: { ...kept } } });
          // An employee part-way through changing their registration would otherwise send the old values again.
          if (changed.includes('birthDate') || changed.includes('gender')) {
            await amendDraft(vault, tx, row.id, (draft) => {
              if (changed.includes('birthDate')) draft.birthDate = iso(row.birthDate) ?? undefined;
              if (changed.includes('gender')) draft.gender = row.gender ?? undefined;
            });
          }
          await history.record(hrEvent(acting, 'registrant_updated', row, { changed }), tx);
          return row;
        }, TX);
        return loadRegistrantView(prisma, updated);
      } catch (err) {
        if (isUniqueViolation(err)) throw CODE_TAKEN();
        // The group was deleted between the check and the write; or the person's data was.
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2003') {
          throw invalid([{ path: '/body/groupId', code: 'GROUP_NOT_FOUND', message: 'グループが見つかりません' }]);
        }
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2025') throw REGISTRANT_NOT_FOUND();
        throw err;
      }
    },

    /**
     * HR adds a dependent (扶養家族の追加): with a number HR checked on paper, 完了 (verified by the
     * employer); without one, 未登録. Under the registrant's row lock, as every writer of their
     * dependents; the registrant's list entry changes, so payroll's sync picks it up.
     */
    async addDependent(acting: Acting, registrantId: string, input: NewDependent, key?: string): Promise<DependentSummary> {
      return (await records.once<DependentSummary>(`${acting.user.id}/dependent-add/${registrantId}`, key, input, 201, (keep) => addDependentOnce(acting, registrantId, input, keep))).body;
    },

    /** HR's edit of a submitted dependent (扶養家族編集); one still in the employee's draft is not HR's (404). */
    async updateDependent(acting: Acting, registrantId: string, dependentId: string, input: DependentPatch): Promise<DependentSummary> {
      const r = await find(acting.tenantId, registrantId);
      const before = await submittedDependent(prisma, r.id, dependentId);
      const data = checkDependentPatch(input);
      const changed = (Object.keys(data) as (keyof Dependent & keyof typeof data)[]).filter((k) => !same(before[k], data[k]));
      if (changed.length === 0) return dependentSummary(before);
      const updated = await prisma.$transaction(async (tx) => {
        // The registrant's row first, as the employee's submission takes it (one lock order, no deadlock).
        await tx.$queryRaw`SELECT id FROM registrants WHERE id = ${r.id}::uuid FOR UPDATE`;
        // Re-read under the transaction: the dependent may have been deleted or taken back meanwhile.
        await submittedDependent(tx, r.id, before.id);
        const row = await tx.dependent.update({ where: { id: before.id }, data: Object.fromEntries(changed.map((k) => [k, data[k]])) });
        const kept = correctedProfile(row.approvedProfile, dependentProfile(row), changed);
        if (kept) await tx.dependent.update({ where: { id: row.id }, data: { approvedProfile: { ...kept } } });
        // The registrant's list entry (with its dependents) changed too: payroll's sync picks it up.
        const owner = await tx.registrant.update({ where: { id: r.id }, data: { updatedAt: new Date() } });
        await amendDraft(vault, tx, r.id, (draft) => {
          const mine = draft.dependents.find((d) => d.id === row.id);
          if (!mine) return;
          const fields = draftFieldsOf(row);
          for (const k of changed as (keyof DependentPatch)[]) Object.assign(mine, { [k]: fields[k] });
        });
        await history.record(hrEvent(acting, 'dependent_updated', owner, { dependentId: row.id, changed }), tx);
        return row;
      }, TX);
      return dependentSummary(updated);
    },
  };
}

export type RegistrantService = ReturnType<typeof createRegistrantService>;
