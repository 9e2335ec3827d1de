/**
 * Contract end (契約終了): a tenant deleted completely, by an operator (`npm run ops -- delete-tenant`).
 *
 * Two steps: `plan` says what will go and asks for the tenant's customer number; `execute` refuses
 * without it. Then the tenant's workflows are stopped (they would otherwise act on rows that are
 * going), and one transaction crypto-shreds every secret of the tenant (numbers, images, drafts,
 * TOTP and webhook secrets, passcode, import files: their wrapped data keys deleted) and deletes
 * every row that names the tenant's people or users — registrants and all that hangs on them, login
 * users, connectors, webhooks, mails, idempotency answers, the operation history and the deletion
 * records — then the tenant itself. What remains is the deletion certificate (tenant_deletions):
 * which contract, when, by whom, how much of each kind, and the vault's keyed fingerprint of that
 * content, so a later audit can tell the certificate was not altered. It holds no personal data.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Prisma } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { AppError } from '../errors';
import { deletionNoticeWorkflowId, importJobWorkflowId, webhookDeliveryWorkflowId } from '../../shared';
import { withDeadline } from '../temporal/client';
import type { Vault } from '../vault/types';

export interface TenantDeletionPlan {
  tenantId: string;
  name: string;
  customerNumber: string;
  counts: { registrants: number; dependents: number; documents: number; secrets: number; loginUsers: number; connectors: number; historyRows: number };
}

export interface DeletionCertificate {
  id: string;
  tenantId: string;
  tenantName: string;
  customerNumber: string;
  executedAt: string;
  operator: string;
  counts: TenantDeletionPlan['counts'] & { workflowsStopped: number; workflowsUnreachable: number };
  /** the vault's keyed fingerprint of the certificate's other fields: altered, it no longer matches */
  digest: string;
}

const TX = { maxWait: 30_000, timeout: 600_000 } as const;

/** The certificate's content as the digest covers it (a fixed field order). */
export const certificateContent = (c: Omit<DeletionCertificate, 'digest' | 'id'>) =>
  JSON.stringify([c.tenantId, c.tenantName, c.customerNumber, c.executedAt, c.operator, c.counts]);

export function createContractEnd({ prisma, client, vault }: { prisma: PrismaClient; client?: Client; vault: Vault }) {
  async function plan(tenantId: string): Promise<TenantDeletionPlan> {
    const tenant = await prisma.tenant.findUnique({ where: { id: tenantId } });
    if (!tenant) throw new AppError(404, 'TENANT_NOT_FOUND', 'その契約者は見つかりません');
    const of = { tenantId };
    const [registrants, dependents, documents, secrets, loginUsers, connectors, historyRows] = await Promise.all([
      prisma.registrant.count({ where: of }),
      prisma.dependent.count({ where: { registrant: of } }),
      prisma.document.count({ where: { registrant: of } }),
      prisma.vaultSecret.count({ where: of }),
      prisma.loginUser.count({ where: of }),
      prisma.apiClient.count({ where: of }),
      prisma.operationEvent.count({ where: of }),
    ]);
    return { tenantId, name: tenant.name, customerNumber: tenant.customerNumber, counts: { registrants, dependents, documents, secrets, loginUsers, connectors, historyRows } };
  }

  /** The ids of every workflow of the tenant (people, import jobs, webhook deliveries, deletion notices). */
  async function workflowIdsOf(tenantId: string): Promise<string[]> {
    const [people, jobs, deliveries] = await Promise.all([
      prisma.registrant.findMany({ where: { tenantId }, select: { workflowId: true, deletionDueDate: true } }),
      prisma.importJob.findMany({ where: { tenantId }, select: { id: true } }),
      prisma.webhookDelivery.findMany({ where: { webhook: { tenantId }, status: 'pending' }, select: { id: true } }),
    ]);
    const dueDates = new Set(people.flatMap((p) => (p.deletionDueDate ? [p.deletionDueDate.toISOString().slice(0, 10)] : [])));
    return [
      ...people.map((p) => p.workflowId),
      ...jobs.map((j) => importJobWorkflowId(j.id)),
      ...deliveries.map((d) => webhookDeliveryWorkflowId(d.id)),
      ...[...dueDates].map((d) => deletionNoticeWorkflowId(tenantId, d)),
    ];
  }

  /** Terminates those running; those Temporal cannot be asked about end on their own (their rows are gone). */
  async function stopWorkflows(ids: string[]): Promise<{ stopped: number; unreachable: number }> {
    if (!client) return { stopped: 0, unreachable: ids.length };
    let stopped = 0;
    let unreachable = 0;
    for (const workflowId of ids) {
      try {
        await withDeadline(client, 5000, () => client.workflow.getHandle(workflowId).terminate('contract ended: the tenant is deleted'));
        stopped++;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || (err as { name?: string }).name === 'WorkflowNotFoundError') continue;
        unreachable++;
      }
    }
    return { stopped, unreachable };
  }

  /** Rows that name the tenant without a foreign key to it (history, mails, deletion records). */
  async function deleteLooseRows(tx: Prisma.TransactionClient, tenantId: string): Promise<void> {
    // The history is append-only; its trigger lets this transaction remove this tenant's rows only.
    await tx.$executeRaw`SELECT set_config('mynaflow.deleting_tenant', ${tenantId}, true)`;
    await tx.$executeRaw`DELETE FROM operation_events WHERE tenant_id = ${tenantId}::uuid`;
    await tx.$executeRaw`DELETE FROM deletion_records WHERE tenant_id = ${tenantId}::uuid`;
    await tx.$executeRaw`
      DELETE FROM mail_deliveries
       WHERE key LIKE ${`registrant-${tenantId}-%`} OR key LIKE ${`digest/${tenantId}/%`} OR key LIKE ${`deletion-reminder/${tenantId}/%`} OR key LIKE ${`deletion-notice-${tenantId}-%`}`;
  }

  return {
    plan,

    /**
     * Refused unless `confirm` is the tenant's customer number, as the plan asked. The workflows are
     * stopped before (so none acts on rows going) and again after the commit (one the reconciler
     * restored meanwhile); rows a writer that was waiting on the tenant's locks added after the
     * commit are removed then too.
     */
    async execute(tenantId: string, confirm: string | undefined, operator: string): Promise<DeletionCertificate> {
      const p = await plan(tenantId);
      if (confirm !== p.customerNumber) {
        throw new AppError(409, 'CONFIRMATION_REQUIRED', `契約者「${p.name}」を完全に削除するには、確認のためお客様番号（${p.customerNumber}）を指定してください`);
      }
      const ids = await workflowIdsOf(tenantId);
      const workflows = await stopWorkflows(ids);
      const certificate = await prisma.$transaction(async (tx) => {
        // The tenant's row and its history lock: no other writer of either goes on meanwhile.
        await tx.$queryRaw`SELECT id FROM tenants WHERE id = ${tenantId}::uuid FOR UPDATE`;
        await tx.$queryRaw`SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended(${`operation_events:${tenantId}`}::text, 0))) AS locked`;
        // What is deleted, counted under the locks (the plan may be minutes old).
        const now = await plan(tenantId);
        const executedAt = new Date();
        const counts = { ...now.counts, workflowsStopped: workflows.stopped, workflowsUnreachable: workflows.unreachable };
        const content = { tenantId, tenantName: p.name, customerNumber: p.customerNumber, executedAt: executedAt.toISOString(), operator, counts };
        const digest = vault.fingerprint(certificateContent(content));
        const users = (await tx.loginUser.findMany({ where: { tenantId }, select: { id: true } })).map((u) => u.id);
        // Rows first (their references to secrets are SetNull or cascade), then the secrets, then the tenant.
        await tx.$executeRaw`DELETE FROM webhooks WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM api_clients WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM import_jobs WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM registrants WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM request_records WHERE split_part(scope, '/', 1) = ANY(${users}::text[])`;
        await tx.$executeRaw`DELETE FROM sessions WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM login_users WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM groups WHERE tenant_id = ${tenantId}::uuid`;
        await deleteLooseRows(tx, tenantId);
        await tx.$executeRaw`UPDATE tenants SET passcode_secret_id = NULL WHERE id = ${tenantId}::uuid`;
        // Crypto-shredding: with the wrapped data keys gone nothing sealed can be opened again (backups included once they age out).
        await tx.$executeRaw`DELETE FROM vault_secrets WHERE tenant_id = ${tenantId}::uuid`;
        await tx.$executeRaw`DELETE FROM tenants WHERE id = ${tenantId}::uuid`;
        const row = await tx.tenantDeletion.create({ data: { tenantId, tenantName: p.name, customerNumber: p.customerNumber, executedAt, operator, counts, digest } });
        return { id: row.id, ...content, digest };
      }, TX);
      // After the commit: whatever was started or written meanwhile goes too (nothing of the tenant is left to restore it).
      await stopWorkflows(ids);
      await prisma.$transaction(async (tx) => {
        await deleteLooseRows(tx, tenantId);
        await tx.$executeRaw`DELETE FROM vault_secrets WHERE tenant_id = ${tenantId}::uuid`;
      });
      return certificate;
    },

    /** Whether a certificate is as it was issued (its digest under the same key). */
    verify(c: DeletionCertificate): boolean {
      return vault.hasFingerprint(c.digest, certificateContent(c));
    },
  };
}
