/**
 * Payroll syncs its employee master (社員マスタ) into mynaflow: up to 1,000 people per call, matched
 * by employee code — new ones are created (each with its lifecycle workflow), known ones updated,
 * retirement dates passed on to the workflow. All or nothing: one bad item refuses the whole call
 * with an error per item. With an Idempotency-Key, a retried call gets the first answer back and
 * changes nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Prisma, Registrant, RegistrantCategory } from '../../prisma/generated/client';
import { registrantWorkflowId, type StepActor } from '../../shared';
import type { History } from '../audit/types';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import type { LifecycleService } from '../registrants/lifecycle';
import { createRegistrantWorkflows, queuedInput, queuedStart } from '../registrants/workflow-starts';
import type { TemporalDeps } from '../temporal/client';
import { connectorActor, type ConnectorCaller } from './connectors';

export const MAX_SYNC_ITEMS = 1000;

export interface SyncItem {
  employeeCode: string;
  familyName: string;
  givenName: string;
  familyNameKana?: string | null;
  givenNameKana?: string | null;
  email?: string | null;
  category?: RegistrantCategory;
  /** YYYY-MM-DD, or null to clear (not once retired); absent leaves it as it is */
  retirementDate?: string | null;
}

export interface SyncRequest {
  items: SyncItem[];
  /** mail the invitation to people created with an e-mail address (default false: HR invites) */
  invite?: boolean;
}

export interface SyncResult {
  created: number;
  updated: number;
  unchanged: number;
  /** People stored whose workflow (and invitation) the reconciler starts once Temporal answers. */
  queued: number;
  items: { index: number; employeeCode: string; registrantId: string; outcome: 'created' | 'updated' | 'unchanged'; queued: boolean }[];
}

type Answer = { status: number; body: SyncResult; replayed: boolean };

const FIELDS = ['familyName', 'givenName', 'familyNameKana', 'givenNameKana', 'email', 'category'] as const;
const date = (d: Date | null) => d?.toISOString().slice(0, 10) ?? null;

export interface RegistrantSyncDeps {
  prisma: PrismaClient;
  history: History;
  temporal: TemporalDeps;
  lifecycle: LifecycleService;
  inviteReminderDays: number[];
}

export function createRegistrantSync({ prisma, history, temporal, lifecycle, inviteReminderDays }: RegistrantSyncDeps) {
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });
  function check(req: SyncRequest, existing: Map<string, Registrant>) {
    const errors: { path: string; code: string; message: string }[] = [];
    if (req.items.length > MAX_SYNC_ITEMS) errors.push({ path: '/body/items', code: 'TOO_MANY', message: `一度に送れるのは${MAX_SYNC_ITEMS}件までです` });
    const seen = new Map<string, number>();
    req.items.forEach((item, i) => {
      if (item.employeeCode.length > 20) errors.push({ path: `/body/items/${i}/employeeCode`, code: 'EMPLOYEE_CODE_TOO_LONG', message: '社員コードは20文字以内にしてください' });
      const first = seen.get(item.employeeCode);
      if (first !== undefined) errors.push({ path: `/body/items/${i}/employeeCode`, code: 'DUPLICATE_IN_BATCH', message: `社員コードが${first + 1}件目と重複しています` });
      seen.set(item.employeeCode, i);
      const r = existing.get(item.employeeCode);
      if (r?.retired && item.retirementDate !== undefined && item.retirementDate !== date(r.retirementDate)) {
        errors.push({ path: `/body/items/${i}/retirementDate`, code: 'RETIREMENT_FIXED', message: '退職済みのため退職日は変更できません' });
      }
    });
    if (errors.length) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', errors);
  }

  async function run(caller: ConnectorCaller, req: SyncRequest): Promise<SyncResult> {
    const tenantId = caller.tenant.id;
    const codes = req.items.map((i) => i.employeeCode);
    const existing = new Map((await prisma.registrant.findMany({ where: { tenantId, employeeCode: { in: codes } } })).map((r) => [r.employeeCode!, r]));
    check(req, existing);
    const actor = connectorActor(caller.client);
    const facts = { ip: caller.ip, userAgent: caller.userAgent };
    const stepActor: StepActor = { type: 'api_client', id: caller.client.id, ip: caller.ip, userAgent: caller.userAgent };
    // Read before the commit: nothing after it may fail for want of it.
    const reminderDays = await workflows.reminderDaysOf(tenantId);

    const results = await prisma.$transaction(
      async (tx) => {
        const out: (Omit<SyncResult['items'][number], 'queued'> & { row: Registrant; created: boolean })[] = [];
        for (const [index, item] of req.items.entries()) {
          const data = {
            familyName: item.familyName.trim(),
            givenName: item.givenName.trim(),
            familyNameKana: item.familyNameKana?.trim() || null,
            givenNameKana: item.givenNameKana?.trim() || null,
            email: item.email?.trim() || null,
            category: item.category ?? 'employee',
          };
          const before = existing.get(item.employeeCode);
          if (!before) {
            const id = randomUUID();
            // Queued with the person: started below, or by the reconciler if this process dies first.
            const start = queuedStart({ invite: req.invite === true && data.email ? {} : false, startedBy: stepActor });
            const row = await tx.registrant.create({ data: { id, tenantId, employeeCode: item.employeeCode, workflowId: registrantWorkflowId(tenantId, id), ...data, ...start } });
            await history.record({ tenantId, actor, operation: 'registrant_created', registrant: { id, label: `${row.familyName} ${row.givenName}` }, ...facts, detail: { via: 'sync' } }, tx);
            out.push({ index, employeeCode: item.employeeCode, registrantId: id, outcome: 'created', row, created: true });
            continue;
          }
          const changed = FIELDS.filter((k) => (item[k] !== undefined || k === 'category') && (data[k] ?? null) !== (before[k] ?? null) && !(k === 'category' && item.category === undefined));
          const row = changed.length ? await tx.registrant.update({ where: { id: before.id }, data: Object.fromEntries(changed.map((k) => [k, data[k]])) as Prisma.RegistrantUpdateInput }) : before;
          if (changed.length) {
            await history.record({ tenantId, actor, operation: 'registrant_updated', registrant: { id: before.id, label: `${row.familyName} ${row.givenName}` }, ...facts, detail: { via: 'sync', changed: [...changed] } }, tx);
          }
          const retirementChanges = item.retirementDate !== undefined && item.retirementDate !== date(before.retirementDate);
          out.push({ index, employeeCode: item.employeeCode, registrantId: before.id, outcome: changed.length || retirementChanges ? 'updated' : 'unchanged', row, created: false });
        }
        return out;
      },
      { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 120_000 },
    );

    // After the commit: workflows for new people, retirement dates through each person's workflow.
    const created = results.filter((r) => r.created);
    const queued = created.length ? await workflows.startQueued(created.map((r) => queuedInput(r.row, reminderDays)), { budgetMs: 10_000 }) : new Set<string>();
    const retirementOf = (r: (typeof results)[number]) => {
      const given = req.items[r.index]!.retirementDate;
      return given !== undefined && given !== date(r.row.retirementDate) ? given : undefined;
    };
    if (results.some((r) => queued.has(r.registrantId) && retirementOf(r) !== undefined)) {
      // Stored and queued (the reconciler starts them, invitations included), but a queued person's
      // retirement date has no workflow to go to yet: not done, and a retry passes it on.
      throw new AppError(503, 'TEMPORAL_UNAVAILABLE', '登録者は保存しましたが、ワークフローサーバーに接続できないため退職日を反映できませんでした。同じ内容で再送してください');
    }
    for (const r of results) {
      const retirementDate = retirementOf(r);
      if (retirementDate !== undefined) await lifecycle.setRetirementAs(stepActor, r.row, retirementDate);
    }
    const items = results.map(({ index, employeeCode, registrantId, outcome }) => ({ index, employeeCode, registrantId, outcome, queued: queued.has(registrantId) }));
    return {
      created: items.filter((i) => i.outcome === 'created').length,
      updated: items.filter((i) => i.outcome === 'updated').length,
      unchanged: items.filter((i) => i.outcome === 'unchanged').length,
      queued: queued.size,
      items,
    };
  }

  return {
    async sync(caller: ConnectorCaller, req: SyncRequest, idempotencyKey?: string): Promise<Answer> {
      if (!idempotencyKey) return { status: 200, body: await run(caller, req), replayed: false };
      const requestHash = createHash('sha256').update(JSON.stringify(req)).digest('hex');
      const previous = await prisma.idempotencyRecord.findUnique({ where: { apiClientId_key: { apiClientId: caller.client.id, key: idempotencyKey } } });
      if (previous) {
        if (previous.requestHash !== requestHash) throw new AppError(409, 'IDEMPOTENCY_KEY_REUSED', 'このIdempotency-Keyは別の内容の呼び出しに使われています。新しいキーを指定してください');
        return { status: previous.status, body: previous.response as unknown as SyncResult, replayed: true };
      }
      const body = await run(caller, req);
      await prisma.idempotencyRecord.upsert({
        where: { apiClientId_key: { apiClientId: caller.client.id, key: idempotencyKey } },
        create: { apiClientId: caller.client.id, key: idempotencyKey, requestHash, status: 200, response: body as unknown as Prisma.InputJsonValue },
        update: {},
      });
      return { status: 200, body, replayed: false };
    },
  };
}

export type RegistrantSync = ReturnType<typeof createRegistrantSync>;
