/**
 * Moving in with numbers (README "Moving in with numbers"): registrants and their dependents with
 * the My Numbers a previous service collected, from the export-with-numbers format. Guarded like
 * that export: the caller's password again and a reason, both before anything is stored; the reason
 * is recorded. A dry run checks every line and stores nothing (no password needed: it reads nothing
 * stored but employee codes). A real import stores everyone or no one, in one transaction: the
 * people, their sealed numbers, the history, and the workflow starts (from the stored state, no
 * mail), which run after the commit. A number the file carries was verified by the employer (the
 * identity check is HR's, recorded so), so that person or dependent is 完了; one without a number
 * is 未登録 and can be invited later.
 */
import { randomUUID } from 'node:crypto';
import type { components } from '../../api/generated/openapi';
import { Prisma } from '../../prisma/generated/client';
import type { History } from '../audit/types';
import type { ConfirmPassword } from '../auth/auth-service';
import { startDeliveries } from '../connectors/delivery-starts';
import { isUniqueViolation, type PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { normalizeDigits } from '../mynumber/validate';
import { createRequestRecords, type Keep, type Once } from '../idempotency/request-records';
import { actorOf, type Acting } from '../login-users/login-users';
import { todayInJapan } from '../retention/rules';
import { isSandboxTenant } from '../tenants/sandbox';
import type { TemporalDeps } from '../temporal/client';
import type { Vault } from '../vault/types';
import { readImportFile, type ImportFileSpec } from './csv-import';
import { IMPORT_CONFLICT, ImportRejected, takenCodes, TEMPORAL_DOWN } from './csv';
import { checkNumbersRows, NUMBERS_FILE, type NumbersField } from './numbers-import-file';
import { retentionOf, storePeople, type StoredPeople } from './numbers-import-store';
import { createRegistrantWorkflows, queuedInput } from './workflow-starts';

export type NumbersImportReport = components['schemas']['NumbersImportReport'];

/** A real import with a bad line: nothing was stored; the report says where. */
export class NumbersImportRejected extends ImportRejected<NumbersImportReport> {}

const REASON_MAX = 200;
/** READ COMMITTED for the history's chain lock; thousands of rows in one transaction. */
const TX = { isolationLevel: Prisma.TransactionIsolationLevel.ReadCommitted, maxWait: 30_000, timeout: 300_000 } as const;
const START_CONCURRENCY = 32;

/** The recorded reason: required, short, and never a number in disguise. */
function checkImportReason(reason: string | undefined): string {
  const text = (reason ?? '').normalize('NFKC').trim();
  const fail = (message: string) => new AppError(400, 'REASON_INVALID', message, [{ path: '/body/reason', message, code: 'REASON_INVALID' }]);
  if (text === '') throw fail('取り込みの理由（例：前のサービスからの移行）を入力してください');
  if ([...text].length > REASON_MAX) throw fail(`理由は${REASON_MAX}文字以内で入力してください`);
  // The reason is kept in the history as written: twelve digits in a row there could be a number.
  // Digits written apart (spaces, hyphens, dots, underscores, slashes) count as one run.
  if (/[0-9]{12}/.test(normalizeDigits(text).replace(/[._/・,，]/g, ''))) throw fail('理由に12桁の数字は書けません（マイナンバーを書かないでください）');
  return text;
}

/**
 * What an import with numbers asks before it reads the file (the request's and the job's): the
 * reason, then the caller's password again (wrong ones count towards the login lock). The reason.
 */
export async function confirmImport(confirmPassword: ConfirmPassword, acting: Acting, input: { password?: string; reason?: string }): Promise<string> {
  const reason = checkImportReason(input.reason);
  if (!input.password) throw new AppError(400, 'PASSWORD_REQUIRED', 'ご自身のパスワードを入力してください', [{ path: '/body/password', message: 'ご自身のパスワードを入力してください', code: 'PASSWORD_REQUIRED' }]);
  await confirmPassword(acting.user.id, input.password, { ip: acting.ip, userAgent: acting.userAgent });
  return reason;
}

/**
 * Reads and checks an upload for the tenant (codes already taken included): the report, and the
 * people ready to store when no line has an error. `spec`: the request's limits or a job's.
 */
export async function checkNumbersUpload(prisma: PrismaClient, tenantId: string, bytes: Buffer, dryRun: boolean, spec: ImportFileSpec<NumbersField> = NUMBERS_FILE) {
  const file = readImportFile(bytes, spec);
  const taken = await takenCodes(prisma, tenantId, file);
  const { lines, people } = checkNumbersRows(file, { takenCodes: taken, today: todayInJapan(), sandbox: await isSandboxTenant(prisma, tenantId) });
  const groups = await prisma.group.findMany({ where: { tenantId: tenantId }, select: { id: true, name: true } });
  const groupIds = new Map(groups.map((g) => [g.name, g.id]));
  const invalid = lines.filter((l) => !l.ok).length;
  const registrants = lines.filter((l) => l.kind === 'registrant').length;
  const report: NumbersImportReport = {
    dryRun,
    ok: invalid === 0,
    encoding: file.encoding,
    rows: lines.length,
    valid: lines.length - invalid,
    invalid,
    registrants,
    dependents: lines.length - registrants,
    numbers: lines.filter((l) => l.hasNumber).length,
    created: 0,
    newGroups: [...new Set(people.map((p) => p.row.group).filter((g): g is string => !!g && !groupIds.has(g)))],
    ignoredColumns: file.ignoredColumns,
    message: invalid
      ? `${lines.length}行中${invalid}行に誤りがあります。直してからもう一度アップロードしてください（誤りが1行でもあると1人も登録しません）`
      : `${lines.length}行すべて登録できます（本人${registrants}人、扶養家族${lines.length - registrants}人、マイナンバー${lines.filter((l) => l.hasNumber).length}件。確認のみで、まだ登録していません）`,
    lines,
  };
  return { report, people, groupIds };
}

export interface NumbersImportDeps {
  prisma: PrismaClient;
  history: History;
  vault: Vault;
  temporal: TemporalDeps;
  inviteReminderDays: number[];
  confirmPassword: ConfirmPassword;
}

export function createNumbersImportService({ prisma, history, vault, temporal, inviteReminderDays, confirmPassword }: NumbersImportDeps) {
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });
  const records = createRequestRecords(prisma, vault);

  async function importNumbers(acting: Acting, bytes: Buffer, reason: string, keep: Keep<NumbersImportReport>): Promise<NumbersImportReport> {
    const { report, people, groupIds } = await checkNumbersUpload(prisma, acting.tenantId, bytes, false);
    if (!report.ok) throw new NumbersImportRejected(report);
    if (!(await workflows.reachable())) throw TEMPORAL_DOWN();
    const reminderDays = await workflows.reminderDaysOf(acting.tenantId);
    const importId = randomUUID();
    const facts = { tenantId: acting.tenantId, actor: actorOf(acting.user), ip: acting.ip, userAgent: acting.userAgent };

    let stored: StoredPeople;
    try {
      stored = await prisma.$transaction(async (tx) => {
        const out = await storePeople(tx, { vault, history }, { ...facts, importId, rule: await retentionOf(prisma, acting.tenantId), today: todayInJapan(), groupIds }, people);
        await history.recordMany([{ ...facts, operation: 'numbers_imported', detail: { importId, reason, encoding: report.encoding, registrants: report.registrants, dependents: report.dependents, numbers: report.numbers, newGroups: report.newGroups.length } }], tx);
        await keep(tx, answer(out));
        return out;
      }, TX);
    } catch (err) {
      if (isUniqueViolation(err)) throw IMPORT_CONFLICT();
      throw err;
    }
    // After the commit: a workflow never runs for a person who was not stored. One Temporal did not
    // confirm stays queued for the reconciler (no mail either way).
    const queued = await workflows.startQueued(
      stored.registrants.map((r) => queuedInput(r, reminderDays)),
      { concurrency: START_CONCURRENCY, budgetMs: 30_000 },
    );
    // Deliveries not started now stay pending: the reconciler's sweep starts them.
    if (queued.size === 0) await startDeliveries(temporal, stored.deliveries);
    return answer(stored);

    function answer(out: StoredPeople): NumbersImportReport {
      const registrantOf = new Map<number, string>();
      const dependentOf = new Map<number, { registrantId: string; dependentId: string }>();
      people.forEach((p, i) => {
        registrantOf.set(p.row.line, out.registrants[i]!.id);
        p.dependents.forEach((d, j) => dependentOf.set(d.line, { registrantId: out.registrants[i]!.id, dependentId: out.dependentIds[i]![j]! }));
      });
      return {
        ...report,
        created: people.length,
        lines: report.lines.map((l) => ({ ...l, ...(registrantOf.has(l.line) ? { registrantId: registrantOf.get(l.line)! } : dependentOf.get(l.line)) })),
        message: `本人${report.registrants}人と扶養家族${report.dependents}人を登録し、マイナンバー${report.numbers}件を保管しました`,
      };
    }
  }

  return {
    /**
     * The upload. Without dryRun: the password (wrong ones count towards the login lock) and the
     * reason are checked before the file is. With an Idempotency-Key a retry gets the first answer.
     */
    async importWithNumbers(acting: Acting, bytes: Buffer, input: { dryRun: boolean; password?: string; reason?: string }, key?: string): Promise<Once<NumbersImportReport>> {
      if (input.dryRun) return { status: 200, body: (await checkNumbersUpload(prisma, acting.tenantId, bytes, true)).report, replayed: false };
      const reason = await confirmImport(confirmPassword, acting, input);
      // The key covers the file and the reason (never the password).
      return records.once(`${acting.user.id}/numbers-import`, key, Buffer.concat([bytes, Buffer.from(`\u0000${reason}`)]), 201, (keep) => importNumbers(acting, bytes, reason, keep));
    },
  };
}

export type NumbersImportService = ReturnType<typeof createNumbersImportService>;
