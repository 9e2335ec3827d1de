/**
 * Registrant use cases: stored in PostgreSQL, carried by one Temporal workflow each.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { AppError } from '../errors';
import type { components } from '../../api/generated/openapi';
import { Prisma, type Registrant } from '../../prisma/generated/client';
import { registrantWorkflowId, withdrawSignal } from '../../shared';
import type { PrismaClient } from '../db/client';
import { withDeadline, type TemporalDeps } from '../temporal/client';
import type { History } from '../audit/types';
import { actorOf, type Acting } from '../login-users/login-users';
import { connectorActor, type ConnectorCaller } from '../connectors/connectors';
import { getRegistrantItem, type RegistrantListItem } from './listing';
import { createRegistrantWorkflows } from './workflow-starts';
import { loadRegistrantView, registrantView, type RegistrantView } from './view';

type RegistrantCreate = components['schemas']['RegistrantCreate'];

export interface RegistrantServiceDeps {
  prisma: PrismaClient;
  history: History;
  temporal: TemporalDeps;
  /** Reminder days when the tenant has none set (the tenant's own setting wins). */
  inviteReminderDays: number[];
}

const TEMPORAL_DOWN = () =>
  new AppError(503, 'TEMPORAL_UNAVAILABLE', 'ワークフローサーバーに接続できません。時間をおいて再度お試しください');
const NOT_FOUND = () => new AppError(404, 'REGISTRANT_NOT_FOUND', '登録者が見つかりません');

export function createRegistrantService({ prisma, history, temporal, inviteReminderDays }: RegistrantServiceDeps) {
  const workflows = createRegistrantWorkflows({ prisma, temporal, inviteReminderDays });
  const find = async (tenantId: string, id: string) => {
    const r = await prisma.registrant.findFirst({ where: { id, tenantId } });
    if (!r) throw NOT_FOUND();
    return r;
  };

  return {
    /** Stores the person and starts their workflow; if Temporal can't take it, nothing stays stored. */
    async create(acting: Acting, input: RegistrantCreate): Promise<RegistrantView> {
      const tenantId = acting.tenantId;
      const id = randomUUID();
      const workflowId = registrantWorkflowId(tenantId, id);
      let registrant: Registrant;
      try {
        registrant = await prisma.registrant.create({
          data: {
            id,
            tenantId,
            workflowId,
            familyName: input.familyName.trim(),
            givenName: input.givenName.trim(),
            familyNameKana: input.familyNameKana?.trim() || null,
            givenNameKana: input.givenNameKana?.trim() || null,
            email: input.email.trim(),
            employeeCode: input.employeeCode ?? null,
            category: input.category ?? 'employee',
          },
        });
      } catch (err) {
        if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === 'P2002') {
          throw new AppError(409, 'EMPLOYEE_CODE_TAKEN', 'この社員コードは既に使われています', [
            { path: '/body/employeeCode', message: 'already used in this tenant', code: 'unique' },
          ]);
        }
        throw err;
      }
      try {
        await workflows.start({ tenantId, registrantId: id, reminderDays: await workflows.reminderDaysOf(tenantId) }, 5000);
      } catch {
        await prisma.registrant.delete({ where: { id } });
        throw TEMPORAL_DOWN();
      }
      await history.record({
        tenantId,
        actor: actorOf(acting.user),
        operation: 'registrant_created',
        registrant: { id, label: `${registrant.familyName} ${registrant.givenName}` },
        ip: acting.ip,
        userAgent: acting.userAgent,
      });
      return registrantView(registrant, []);
    },

    /** A connector reading one person (with dependents, never numbers): recorded like HR's view. */
    async getForConnector(caller: ConnectorCaller, id: string): Promise<RegistrantListItem> {
      const item = await getRegistrantItem(prisma, caller.tenant.id, id);
      if (!item) throw NOT_FOUND();
      await history.record({
        tenantId: caller.tenant.id,
        actor: connectorActor(caller.client),
        operation: 'registrant_viewed',
        registrant: { id, label: `${item.familyName} ${item.givenName}` },
        ip: caller.ip,
        userAgent: caller.userAgent,
      });
      return item;
    },

    /** Looking at a person's record is a use of their personal data: it is recorded. */
    async get(acting: Acting, id: string): Promise<RegistrantView> {
      const r = await find(acting.tenantId, id);
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'registrant_viewed',
        registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
        ip: acting.ip,
        userAgent: acting.userAgent,
      });
      return loadRegistrantView(prisma, r);
    },

    /** Tells the workflow to stop inviting; only an open invitation can be withdrawn (else 409). */
    async withdraw(acting: Acting, id: string): Promise<RegistrantView> {
      const r = await find(acting.tenantId, id);
      if (r.invitationState !== 'open') throw new AppError(409, 'INVITATION_CLOSED', 'この登録依頼は既に終了しています');
      try {
        await withDeadline(temporal.client, 5000, () => temporal.client.workflow.getHandle(r.workflowId).signal(withdrawSignal));
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw new AppError(409, 'INVITATION_CLOSED', 'この登録依頼は既に終了しています');
        throw TEMPORAL_DOWN();
      }
      await history.record({
        tenantId: acting.tenantId,
        actor: actorOf(acting.user),
        operation: 'invitation_withdrawn',
        registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` },
        ip: acting.ip,
        userAgent: acting.userAgent,
      });
      return loadRegistrantView(prisma, r);
    },
  };
}

export type RegistrantService = ReturnType<typeof createRegistrantService>;
