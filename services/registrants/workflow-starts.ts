/**
 * Starting registrants' lifecycle workflows, the one way every registration method does it (single
 * add, CSV import, bulk entry, quick add, payroll sync). The start is an outbox: the transaction that
 * stores the people also marks them (`workflow_pending_since`) with how their workflow is to start
 * (`workflow_start`: invitation and its options, starting status, who added them). The mark is
 * cleared only once Temporal confirmed the start; whatever is still marked — the process died after
 * the commit, Temporal was away — the reconciler starts later, with its invitation. Temporal's
 * workflow id makes every start at most once, so a start repeated by the reconciler does nothing.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import { Prisma, type Registrant } from '../../prisma/generated/client';
import { lifecycleAttributes, registrantWorkflowId, reminderDaysSignal, searchAttributePairs, type InviteOptions, type RegistrantStatus, type RegistrantWorkflowInput, type StepActor } from '../../shared';
import type { registrantWorkflow } from '../../workflows';
import type { PrismaClient } from '../db/client';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import { carriedInput } from './carried-state';
import { createGroupCommitter } from '../db/group-commit';
import { directSql, type RawSql } from '../db/direct-sql';

/** How a stored person's workflow is to start; null in the column: from the database state, no mail. */
export interface StartIntent {
  /** Mail the invitation with these options (`{}`: no options), or not. */
  invite: InviteOptions | false;
  status?: RegistrantStatus;
  startedBy?: StepActor;
}

/** The columns that queue a person's start, written in the transaction that stores them. */
export function queuedStart(intent: StartIntent | null, at = new Date()) {
  return { workflowPendingSince: at, workflowStart: intent ? (intent as unknown as Prisma.InputJsonValue) : Prisma.DbNull };
}

/** The workflow input of a queued start: the stored intent, or the database state (no mail). */
export function queuedInput(r: Registrant, reminderDays: number[]): RegistrantWorkflowInput {
  const intent = r.workflowStart as StartIntent | null;
  if (!intent) return carriedInput(r, reminderDays);
  return {
    tenantId: r.tenantId,
    registrantId: r.id,
    reminderDays,
    // `{}` is "invite without options": the workflow's default.
    ...(intent.invite === false ? { invite: false as const } : Object.keys(intent.invite).length ? { invite: intent.invite } : {}),
    ...(intent.status ? { status: intent.status } : {}),
    ...(intent.startedBy ? { startedBy: intent.startedBy } : {}),
  };
}

/**
 * What the Temporal UI shows of a workflow from its start, before any worker ran it: the search
 * attributes (tenant, status, link expiry, deletion date, next timer: a new invitation's mail is due
 * at once) and a summary with ids and the queries to ask (no name: ids and statuses only).
 */
export function startOptions(input: RegistrantWorkflowInput, now = new Date()) {
  const state = input.carried ?? { status: input.status ?? 'unregistered', loginLocked: false, invitation: null, retirementDate: null, retired: false, deletion: null, deleted: false, seq: 0 };
  const inviting = !input.carried && input.invite !== false;
  const attributes = lifecycleAttributes(input.tenantId, state, inviting ? { kind: 'invitation-mail', at: now.toISOString() } : undefined);
  return {
    // Absent rather than null in a start.
    typedSearchAttributes: searchAttributePairs(attributes).filter((p) => p.value !== null) as unknown as NonNullable<Parameters<TemporalDeps['client']['workflow']['start']>[1]['typedSearchAttributes']>,
    staticSummary: `登録者 ${input.registrantId} の収集・保管`,
    staticDetails: [
      `**登録者** \`${input.registrantId}\`  `,
      `**契約者** \`${input.tenantId}\`  `,
      '状態はクエリ `lifecycle`、これからの予定はクエリ `upcoming` で確認できます。',
      'コンソールでは 登録者 › 経過 に同じ内容が表示されます。',
    ].join('\n'),
  };
}

const alreadyStarted = (err: unknown) => (err as Error).name === 'WorkflowExecutionAlreadyStartedError';

/**
 * Runs `fn` for every item, `concurrency` at a time; the items it did not finish for (failed, or
 * never tried because `stopOn` stopped the lanes at a failure: `true` for any — Temporal being away,
 * the rest would each wait out their deadline too — or a test of the error). A workflow that is
 * already running is what the call wanted: not a failure.
 */
export async function inLanes<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>, stopOn: boolean | ((err: unknown) => boolean) = false): Promise<Set<T>> {
  const done = new Set<T>();
  let next = 0;
  let stop = false;
  const lane = async () => {
    while (!stop && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
        done.add(item);
      } catch (err) {
        if (alreadyStarted(err)) done.add(item);
        else if (stopOn === true || (typeof stopOn === 'function' && stopOn(err))) stop = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  return new Set(items.filter((i) => !done.has(i)));
}

/** Workflow starts in flight at once. */
export const START_CONCURRENCY = 8;
/** How long a request's starts may take in all: the request answers within a few seconds. */
export const REQUEST_START_BUDGET_MS = 3000;
/** The deadline of one webhook delivery's start after a request's commit (the sweep starts any left). */
export const REQUEST_START_DEADLINE_MS = 3000;

/** A create may take Temporal's answer this recent as "reachable" without asking again. */
export const RECENT_ANSWER_MS = 2000;

export function createRegistrantWorkflows({ prisma, temporal, inviteReminderDays }: { prisma: PrismaClient; temporal: TemporalDeps; inviteReminderDays: number[] }) {
  /** When Temporal last answered a start or a reachability check (0: it failed since). */
  let answeredAt = 0;
  const heard = (ok: boolean) => {
    answeredAt = ok ? Date.now() : 0;
    return ok;
  };

  /** Starts the workflow; false when it was already running (the start is a no-op then). */
  const start = async (input: RegistrantWorkflowInput, deadlineMs = 10_000): Promise<boolean> => {
    try {
      await withDeadline(temporal.client, deadlineMs, () =>
        temporal.client.workflow.start<typeof registrantWorkflow>('registrantWorkflow', {
          taskQueue: temporal.taskQueue,
          workflowId: registrantWorkflowId(input.tenantId, input.registrantId),
          args: [input],
          ...startOptions(input),
        }),
      );
      heard(true);
      return true;
    } catch (err) {
      if (!alreadyStarted(err)) {
        heard(false);
        throw err;
      }
      heard(true);
      // Running already: perhaps from a start whose answer never came back (the process died, the
      // deadline passed), made with the days read then. It is told the days read now (a workflow
      // ignores days it has), so the check after this start compares what it really has.
      await withDeadline(temporal.client, deadlineMs, () => temporal.client.workflow.getHandle(registrantWorkflowId(input.tenantId, input.registrantId)).signal(reminderDaysSignal, { days: input.reminderDays })).catch(
        (signalErr: unknown) => {
          // Ended meanwhile: nothing to tell.
          if (!(signalErr instanceof WorkflowNotFoundError)) throw signalErr;
        },
      );
      return false;
    }
  };

  /** The tenant's reminder days (or the default), read in `db`: a client or a transaction, Prisma's or plain SQL's. */
  const reminderDaysOf = async (tenantId: string, db: RawSql = prisma): Promise<number[]> => {
    const [tenant] = await db.$queryRaw<{ reminderDays: number[] }[]>`SELECT reminder_days AS "reminderDays" FROM tenants WHERE id = ${tenantId}::uuid`;
    if (!tenant) throw new Error(`tenant ${tenantId} not found`);
    return tenant.reminderDays.length ? tenant.reminderDays : inviteReminderDays;
  };

  const reachable = async (): Promise<boolean> => {
    try {
      await withDeadline(temporal.client, 3000, () => temporal.client.connection.workflowService.describeNamespace({ namespace: temporal.client.options.namespace }));
      return heard(true);
    } catch {
      return heard(false);
    }
  };

  /**
   * After confirmed starts: clears the people's start marks (`marked`; updated_at untouched, nothing
   * changed for payroll) and, in the same statement, marks the tenant again for the reminder-days
   * sweep if anyone was started with days that are no longer the tenant's. A start's days are read
   * before it; a change committed in between is swept while the new workflow does not exist yet (the
   * sweep skips what it cannot find) or before the person's row is visible to it, and that person
   * would keep the old days. Marked again, the next reconciler round tells everyone, them included.
   * A start mark is cleared only here, so a process that dies between its start and this check
   * leaves the person queued: the backlog's start finds the workflow running, tells it the days it
   * reads then, and checks again. Returns how many tenants were marked again.
   */
  const confirmStarts = async (started: Pick<RegistrantWorkflowInput, 'tenantId' | 'reminderDays'>[], marked: string[]): Promise<number> => {
    if (started.length === 0 && marked.length === 0) return 0;
    const [row] = await (await directSql(prisma)).$queryRaw<{ remarked: number }[]>`
      WITH given AS (
        SELECT DISTINCT g.tenant_id, g.days FROM unnest(${started.map((i) => i.tenantId)}::uuid[], ${started.map((i) => i.reminderDays.join(','))}::text[]) AS g(tenant_id, days)
      ), stale AS (
        UPDATE tenants t SET reminder_days_changed_at = now() FROM given g
         WHERE t.id = g.tenant_id
           AND CASE WHEN coalesce(cardinality(t.reminder_days), 0) = 0 THEN ${inviteReminderDays.join(',')}::text ELSE array_to_string(t.reminder_days, ',') END <> g.days
        RETURNING t.id
      ), cleared AS (
        UPDATE registrants SET workflow_pending_since = NULL, workflow_start = NULL WHERE id = ANY(${marked}::uuid[])
      )
      SELECT count(*)::int AS remarked FROM stale`;
    return row?.remarked ?? 0;
  };

  /** Starts confirmed together: one statement for every confirmed start of the moment. */
  const confirmGrouped = createGroupCommitter<RegistrantWorkflowInput, void>({
    max: 1000,
    commit: async (_all, inputs) => {
      await confirmStarts(inputs, inputs.map((i) => i.registrantId));
      return inputs.map(() => undefined);
    },
    failsAsOne: () => true,
  });

  return {
    reminderDaysOf,

    /** Whether Temporal answers now: bulk methods check before storing anyone. */
    reachable,

    /**
     * Whether Temporal answered within the last moment, or answers now: a single create need not ask
     * again while starts succeed (should it be away after all, the person stays queued and the
     * reconciler starts them: the answer says so).
     */
    async answeringLately(): Promise<boolean> {
      return Date.now() - answeredAt < RECENT_ANSWER_MS || reachable();
    },

    start,

    confirmStarts,

    /**
     * A stored person's workflow started anew from the database: as their queued start was meant
     * (invitation included) or from their state (no mail). False when one was running already.
     */
    async startFromDatabase(r: Registrant): Promise<boolean> {
      const days = await reminderDaysOf(r.tenantId);
      const input = r.workflowPendingSince ? queuedInput(r, days) : carriedInput(r, days);
      const started = await start(input);
      // The start happened: a check the database refuses now does not undo it. A queued person's
      // mark stays for the backlog, whose start (a no-op) tells the workflow the days and checks again.
      await confirmStarts([input], r.workflowPendingSince ? [r.id] : []).catch(() => undefined);
      return started;
    },

    /**
     * Starts the workflows of people just stored with their mark, `concurrency` at a time, within
     * `budgetMs` in all (each start gets what is left), stopping at the first failure; clears the
     * marks of those Temporal confirmed. Returns the ids still queued (the reconciler starts them).
     * Never throws for Temporal: the people are stored.
     */
    async startQueued(inputs: RegistrantWorkflowInput[], { budgetMs = REQUEST_START_BUDGET_MS, concurrency = START_CONCURRENCY } = {}): Promise<Set<string>> {
      const end = Date.now() + budgetMs;
      const failed = await inLanes(
        inputs,
        concurrency,
        (input) => {
          const left = end - Date.now();
          return left > 0 ? start(input, left) : Promise.reject(new Error('out of time: left for the reconciler'));
        },
        true,
      );
      const queued = new Set([...failed].map((i) => i.registrantId));
      const confirmed = inputs.filter((i) => !queued.has(i.registrantId));
      await Promise.all(confirmed.map((input) => confirmGrouped('marks', input))).catch(() => {
        // The database went away after the commit: the marks stay, the reconciler's start is a no-op.
      });
      return queued;
    },
  };
}

export type RegistrantWorkflows = ReturnType<typeof createRegistrantWorkflows>;
