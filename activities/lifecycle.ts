/**
 * The database side of the registrant lifecycle. Each activity runs in one transaction that also
 * writes its step key (applied_steps) and its operation-history row, so a retry after a commit whose
 * result was lost changes nothing and records nothing twice. Business failures are non-retryable.
 */
import { enqueueEmployeeNotice } from '../services/notices/enqueue';
import { ApplicationFailure } from '@temporalio/activity';
import type { Prisma, Registrant } from '../prisma/generated/client';
import { createHistory } from '../services/audit/history';
import type { OperationCode } from '../services/audit/operations';
import { SYSTEM_ACTOR, type Actor, type History } from '../services/audit/types';
import { deliveriesOfStep, enqueueEvent } from '../services/connectors/webhooks';
import { evaluateDraft, parseDraft, type DraftDocument } from '../services/registrants/draft';
import { amendDraft, discardDraft } from '../services/registrants/draft-store';
import { approveCurrentNumbers, deleteDependents, dependentProfile, forgetProfiles, personProfile, restoreApprovedNumbers, shreddable } from '../services/registrants/approved-numbers';
import { MANUAL_RULE, retentionRule } from '../services/retention/rules';
import type { Vault } from '../services/vault/types';
import type { PrismaClient } from '../services/db/client';
import { isSandboxTenant, SandboxNumberRefused } from '../services/tenants/sandbox';
import type { InvitationState, ManualStatus, StepActor, VerificationMethod } from '../shared';

type Tx = Prisma.TransactionClient;
/** READ COMMITTED is what the history's chain lock needs. */
const TX = { isolationLevel: 'ReadCommitted', maxWait: 30_000, timeout: 60_000 } as const;

const label = (r: { familyName: string; givenName: string }) => `${r.familyName} ${r.givenName}`;
const dateOnly = (d: string | null) => (d ? new Date(`${d}T00:00:00Z`) : null);

export type LifecycleStep =
  | { type: 'login_unlocked' }
  | { type: 'retirement_set'; retirementDate: string | null; deletion: { dueDate: string; rule: string } | null }
  | { type: 'retired'; retirementDate: string }
  | { type: 'deletion_scheduled'; dueDate: string }
  | { type: 'deletion_cancelled' }
  | { type: 'retry_requested'; steps: string[] }
  | { type: 'link_extended'; from: string; expiresAt: string };

export interface LifecycleDeps {
  prisma: PrismaClient;
  vault: Vault;
  history?: History;
}

export function createLifecycleActivities({ prisma, vault, history = createHistory(prisma, vault) }: LifecycleDeps) {
  /** The registrant under a row lock; a missing one is a business error (deleted meanwhile). */
  async function lock(tx: Tx, registrantId: string): Promise<Registrant> {
    const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM registrants WHERE id = ${registrantId}::uuid FOR UPDATE`;
    if (rows.length === 0) throw ApplicationFailure.nonRetryable('登録者が見つかりません', 'RegistrantNotFound');
    return tx.registrant.findUniqueOrThrow({ where: { id: registrantId } });
  }

  /** Claims a step key; false when the step was applied before (a retry). */
  async function claim(tx: Tx, key: string): Promise<boolean> {
    const inserted = await tx.$executeRaw`INSERT INTO applied_steps (key) VALUES (${key}) ON CONFLICT (key) DO NOTHING`;
    return inserted === 1;
  }

  async function actorOf(tx: Tx, r: Registrant, actor: StepActor): Promise<Actor> {
    if (actor.type === 'system' || !actor.id) return SYSTEM_ACTOR;
    if (actor.type === 'registrant') return { type: 'registrant', id: r.id, label: label(r) };
    if (actor.type === 'api_client') {
      const client = await tx.apiClient.findFirst({ where: { id: actor.id, tenantId: r.tenantId }, select: { name: true } });
      return { type: 'api_client', id: actor.id, label: client?.name ?? '（不明な連携アプリ）' };
    }
    const user = await tx.loginUser.findFirst({ where: { id: actor.id, tenantId: r.tenantId }, select: { name: true } });
    return { type: 'login_user', id: actor.id, label: user?.name ?? '（不明なユーザ）' };
  }

  async function record(tx: Tx, r: Registrant, actor: StepActor, operation: OperationCode, detail?: Prisma.InputJsonObject) {
    await history.record(
      { tenantId: r.tenantId, actor: await actorOf(tx, r, actor), operation, registrant: { id: r.id, label: label(r) }, ip: actor.ip ?? null, userAgent: actor.userAgent ?? null, detail },
      tx,
    );
  }

  const revokeLinks = (tx: Tx, registrantId: string) => tx.invitation.updateMany({ where: { registrantId, revokedAt: null }, data: { revokedAt: new Date() } });

  /** The links died unsubmitted: what the employee had entered is shredded, and that is recorded. */
  async function discardUnsubmitted(tx: Tx, r: Registrant, why: 'expired' | 'withdrawn' | 'retired' | 'decided') {
    const gone = await discardDraft(vault, tx, r.id);
    if (gone.draft || gone.documents || gone.dependents) await record(tx, r, { type: 'system', id: null }, 'draft_discarded', { why, documents: gone.documents, dependents: gone.dependents });
  }

  /** Every secret of the registrant (or of one dependent) and the document rows holding images. */
  async function secretsOf(tx: Tx, r: Registrant, dependentId?: string) {
    const dependents = await tx.dependent.findMany({ where: { registrantId: r.id, ...(dependentId ? { id: dependentId } : {}) } });
    const documents = await tx.document.findMany({ where: { registrantId: r.id, ...(dependentId ? { dependentId } : {}) } });
    // The numbers payroll is served go with the current ones (often the same secret: counted once).
    const numbers = [...new Set([...(dependentId ? [] : [r.myNumberSecretId, r.approvedNumberSecretId]), ...dependents.flatMap((d) => [d.myNumberSecretId, d.approvedNumberSecretId])].filter((x): x is string => !!x))];
    const images = documents.map((d) => d.imageSecretId).filter((x): x is string => !!x);
    return { dependents, documents, numbers, images };
  }

  return {
    /**
     * Link dead (expiry or withdrawal); the state HR sees follows. A withdrawal with its actor (the
     * withdraw update) is recorded here, once: a retry finds the invitation closed already.
     */
    async closeInvitation({ registrantId, state, actor }: { registrantId: string; state: Extract<InvitationState, 'expired' | 'withdrawn'>; actor?: StepActor }): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const r = await lock(tx, registrantId).catch(() => null);
        if (!r) return; // deleted meanwhile: nothing left to close
        await revokeLinks(tx, registrantId);
        if (r.invitationState !== 'open') return;
        await tx.registrant.update({ where: { id: registrantId }, data: { invitationState: state } });
        if (state === 'expired') await record(tx, r, { type: 'system', id: null }, 'invitation_expired');
        else if (actor) await record(tx, r, actor, 'invitation_withdrawn');
        await discardUnsubmitted(tx, r, state);
      }, TX);
    },

    /**
     * "Finish": the draft becomes the submission in one transaction, or nothing happens and the
     * employee is told what is missing (DraftIncomplete, with paths and codes only).
     */
    async submitDraft({ registrantId, key, actor }: { registrantId: string; key: string; actor: StepActor }): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const r = await lock(tx, registrantId);
        if (!(await claim(tx, key))) return;
        if (!r.draftSecretId) throw ApplicationFailure.create({ type: 'DraftIncomplete', message: '登録内容が入力されていません', nonRetryable: true, details: [[{ path: '/', code: 'DRAFT_EMPTY' }]] });
        const draft = parseDraft(await vault.open(r.draftSecretId, r.tenantId, tx));
        const docs = await tx.document.findMany({ where: { registrantId, supersededAt: null, id: { notIn: draft.removedDocumentIds } } });
        const docView: DraftDocument[] = docs.map((d) => ({ id: d.id, dependentId: d.dependentId, purpose: d.purpose, type: d.type, side: d.side }));
        const issues = evaluateDraft(draft, docView, { dependentsAllowed: r.category !== 'payee', sandbox: await isSandboxTenant(prisma, r.tenantId) });
        if (issues.length) {
          throw ApplicationFailure.create({
            type: 'DraftIncomplete',
            message: '登録内容に不足があります',
            nonRetryable: true,
            details: [issues.map(({ path, code }) => ({ path, code }))],
          });
        }
        // The submission replaces what was there: old sealed numbers and replaced images are shredded.
        const shredLater: string[] = [r.draftSecretId];
        const numberId = await vault.seal({ tenantId: r.tenantId, kind: 'my_number', plaintext: Buffer.from(draft.myNumber!) }, tx);
        // The approved number stays (payroll is served it) until HR approves this submission.
        const replaced = shreddable(r.myNumberSecretId, r.approvedNumberSecretId);
        if (replaced) shredLater.push(replaced);

        // Documents the employee replaced: approved evidence of a person payroll is served stays,
        // hidden, until HR decides (a refusal puts it back); the rest (a change's own, or anyone
        // else's) goes now. What this submission brings to such a person is the change's.
        const payrollServesPerson = !!r.approvedNumberSecretId;
        const removedDocs = await tx.document.findMany({ where: { registrantId, supersededAt: null, id: { in: draft.removedDocumentIds } } });
        const approvedEvidence = (d: (typeof removedDocs)[number]) => payrollServesPerson && !d.pendingChange;
        const [keptDocs, droppedDocs] = [removedDocs.filter(approvedEvidence), removedDocs.filter((d) => !approvedEvidence(d))];
        shredLater.push(...droppedDocs.map((d) => d.imageSecretId).filter((x): x is string => !!x));
        await tx.document.deleteMany({ where: { registrantId, id: { in: droppedDocs.map((d) => d.id) } } });
        if (keptDocs.length) await tx.document.updateMany({ where: { registrantId, id: { in: keptDocs.map((d) => d.id) } }, data: { supersededAt: new Date() } });
        await tx.document.updateMany({ where: { registrantId, draft: true }, data: { draft: false, pendingChange: payrollServesPerson } });

        // A dependent taken off whom payroll is served (an approved person's approved dependent) stays
        // until HR decides: approved, the change deletes it; refused, it is back as it was. Any other goes now.
        const removedDeps = await tx.dependent.findMany({ where: { registrantId, id: { in: draft.removedDependentIds } } });
        const held = (d: (typeof removedDeps)[number]) => payrollServesPerson && !!d.approvedNumberSecretId;
        for (const d of removedDeps.filter(held)) {
          const replacedDep = shreddable(d.myNumberSecretId, d.approvedNumberSecretId);
          if (replacedDep) shredLater.push(replacedDep);
          // Its row is as approved (or its approved data is kept already): kept for a refusal, and for
          // the employee who takes the deletion back after a remand and edits it.
          const keep = d.approvedProfile === null ? { approvedProfile: { ...dependentProfile(d) } } : {};
          await tx.dependent.update({ where: { id: d.id }, data: { removalRequestedAt: d.removalRequestedAt ?? new Date(), status: 'pending', statusReason: null, myNumberSecretId: d.approvedNumberSecretId, ...keep } });
        }
        shredLater.push(...(await deleteDependents(tx, registrantId, removedDeps.filter((d) => !held(d)))));

        // What the change replaces of an approved person and of dependents payroll is served: kept
        // (from the first submission after approval) until HR decides, for a refusal to restore.
        // Taken from a decided person only (完了, or 拒否 with the approved data back): a remanded
        // resubmission keeps the first, and a change sent before approved_profile existed keeps none.
        const decidedPerson = payrollServesPerson && (r.status === 'completed' || r.status === 'refused');
        for (const d of draft.dependents) {
          const existing = await tx.dependent.findFirst({ where: { id: d.id, registrantId } });
          // (A dependent whose deletion was held until HR decided and is taken back is still as approved too.)
          const keep = (decidedPerson || existing?.removalRequestedAt) && existing?.approvedNumberSecretId && existing.approvedProfile === null ? { approvedProfile: { ...dependentProfile(existing) } } : {};
          const replacedDep = existing ? shreddable(existing.myNumberSecretId, existing.approvedNumberSecretId) : null;
          if (replacedDep) shredLater.push(replacedDep);
          const depNumber = d.noLongerDependent || !d.myNumber ? null : await vault.seal({ tenantId: r.tenantId, kind: 'my_number', plaintext: Buffer.from(d.myNumber) }, tx);
          const data = {
            relationship: d.relationship.trim(),
            kind: d.kind,
            familyName: d.familyName.trim(),
            givenName: d.givenName.trim(),
            familyNameKana: d.familyNameKana?.trim() || null,
            givenNameKana: d.givenNameKana?.trim() || null,
            birthDate: dateOnly(d.birthDate ?? null),
            gender: d.gender ?? null,
            status: 'pending' as const,
            statusReason: null,
            noLongerDependentAt: d.noLongerDependent ? (existing?.noLongerDependentAt ?? new Date()) : null,
            removalRequestedAt: null,
            myNumberSecretId: depNumber,
            draft: false,
            ...keep,
          };
          if (existing) await tx.dependent.update({ where: { id: d.id }, data });
          else await tx.dependent.create({ data: { id: d.id, registrantId, ...data } });
        }

        const updated = await tx.registrant.update({
          where: { id: registrantId },
          data: {
            ...(decidedPerson && r.approvedProfile === null ? { approvedProfile: { ...personProfile(r) } } : {}),
            myNumberSecretId: numberId,
            gender: draft.gender,
            birthDate: dateOnly(draft.birthDate ?? null),
            status: 'pending',
            statusReason: null,
            submittedAt: new Date(),
            draftSecretId: null,
            invitationState: 'submitted',
          },
        });
        await vault.shred(shredLater, tx);
        await record(tx, updated, actor, 'submitted', { dependents: draft.dependents.length });
        // The employee's receipt, sent by the reconciler's round whatever happens after this commit.
        await enqueueEmployeeNotice(tx, updated, 'receipt', key);
      }, TX).catch((err: unknown) => {
        // The vault's last gate (a sandbox's draft is checked before it): a business refusal, never retried.
        if (err instanceof SandboxNumberRefused) throw ApplicationFailure.create({ type: 'DraftIncomplete', message: err.title, nonRetryable: true, details: [[{ path: '/myNumber', code: 'NUMBER_NOT_SANDBOX' }]] });
        throw err;
      });
    },

    /** HR's decision on the registrant, or on one dependent. */
    async decide(input: { registrantId: string; key: string; decision: 'approved' | 'remanded' | 'refused'; actor: StepActor; dependentId?: string; reason?: string }): Promise<{ registrantStatus: string; webhookDeliveries: string[] }> {
      return prisma.$transaction(async (tx) => {
        const r = await lock(tx, input.registrantId);
        if (!(await claim(tx, input.key))) return { registrantStatus: r.status, webhookDeliveries: await deliveriesOfStep(tx, input.key) };
        const reason = input.reason?.trim() || null;
        if (input.dependentId) {
          const d = await tx.dependent.findFirst({ where: { id: input.dependentId, registrantId: r.id, draft: false } });
          if (!d) throw ApplicationFailure.nonRetryable('扶養家族が見つかりません', 'DependentNotFound');
          // A deletion sent back goes back on the employee's list: they keep the dependent or delete it again.
          const undoRemoval = input.decision === 'remanded' && d.removalRequestedAt ? { removalRequestedAt: null } : {};
          await tx.dependent.update({ where: { id: d.id }, data: { status: input.decision === 'approved' ? 'completed' : input.decision, statusReason: input.decision === 'approved' ? null : reason, ...undoRemoval } });
          if (input.decision === 'approved') await approveCurrentNumbers(tx, vault, r.id, { registrant: false, dependentId: d.id });
          if (input.decision === 'refused') await restoreApprovedNumbers(tx, vault, r.id, { dependentId: d.id, reason });
        }
        let status = r.status;
        if (input.decision === 'approved' && !input.dependentId) {
          status = 'completed';
          await tx.dependent.updateMany({ where: { registrantId: r.id, status: 'pending', draft: false }, data: { status: 'completed' } });
          // After approval the employee cannot log in until HR unlocks (seed 001 ch. 9).
          await tx.registrant.update({ where: { id: r.id }, data: { status, statusReason: null, loginLocked: true, invitationState: 'closed' } });
          await approveCurrentNumbers(tx, vault, r.id, { registrant: true });
          await revokeLinks(tx, r.id);
        } else if (input.decision === 'remanded') {
          status = 'remanded';
          await tx.registrant.update({ where: { id: r.id }, data: { status, statusReason: reason } });
        } else if (input.decision === 'refused') {
          status = 'refused';
          await tx.registrant.update({ where: { id: r.id }, data: { status, statusReason: reason, invitationState: 'closed' } });
          await restoreApprovedNumbers(tx, vault, r.id, { reason });
          await revokeLinks(tx, r.id);
        }
        // The reason may name people: it stays in the registrant row, not in the history.
        await record(tx, r, input.actor, input.decision, input.dependentId ? { dependentId: input.dependentId } : undefined);
        // Payroll hears of completions and remands (ids and statuses only; the reason stays here).
        const event = status === 'completed' && r.status !== 'completed' ? 'registrant_completed' : input.decision === 'remanded' ? 'registrant_remanded' : null;
        // A remand mails its own link with the reason (the workflow); a completion is told here.
        if (event === 'registrant_completed') await enqueueEmployeeNotice(tx, r, 'approval', input.key);
        const webhookDeliveries = event ? await enqueueEvent(tx, r.tenantId, event, { registrantId: r.id, employeeCode: r.employeeCode, status, dependentId: input.dependentId ?? null }, input.key) : [];
        return { registrantStatus: status, webhookDeliveries };
      }, TX);
    },

    /**
     * HR's status by hand (MANUAL_STATUS_MOVES; the workflow checked the move). A completion needs
     * the number HR registered: without one it is refused (NumberNotRegistered) and nothing changes.
     * Completed or refused, the links die and an unsubmitted draft is shredded.
     */
    async changeStatus(input: { registrantId: string; key: string; status: ManualStatus; reason?: string; verificationMethod?: VerificationMethod; actor: StepActor }): Promise<{ webhookDeliveries: string[] }> {
      return prisma.$transaction(async (tx) => {
        const r = await lock(tx, input.registrantId);
        if (!(await claim(tx, input.key))) return { webhookDeliveries: await deliveriesOfStep(tx, input.key) };
        const reason = input.reason?.trim() || null;
        const closes = input.status !== 'unregistered';
        if (input.status === 'completed') {
          if (!r.myNumberSecretId) throw ApplicationFailure.nonRetryable('マイナンバーが登録されていません', 'NumberNotRegistered');
          // HR verified the person: dependents whose numbers are there are completed with them — not
          // one HR sent back (it waits for its own correction and decision).
          await tx.dependent.updateMany({ where: { registrantId: r.id, draft: false, myNumberSecretId: { not: null }, status: { in: ['unregistered', 'pending'] } }, data: { status: 'completed', statusReason: null } });
        }
        await tx.registrant.update({
          where: { id: r.id },
          data: {
            status: input.status,
            statusReason: input.status === 'completed' ? null : reason,
            ...(input.status === 'completed' ? { loginLocked: true } : {}),
            ...(closes && r.invitationState ? { invitationState: 'closed' } : {}),
          },
        });
        if (input.status === 'completed') await approveCurrentNumbers(tx, vault, r.id, { registrant: true });
        if (input.status === 'refused') await restoreApprovedNumbers(tx, vault, r.id, { reason });
        if (closes) {
          await revokeLinks(tx, r.id);
          await discardUnsubmitted(tx, r, 'decided');
        }
        // The reason may name people: it stays in the registrant row, not in the history.
        await record(tx, r, input.actor, 'status_changed', { from: r.status, to: input.status, ...(input.verificationMethod && input.status === 'completed' ? { verifiedBy: 'employer', verificationMethod: input.verificationMethod } : {}) });
        if (input.status !== 'completed' || r.status === 'completed') return { webhookDeliveries: [] };
        const webhookDeliveries = await enqueueEvent(tx, r.tenantId, 'registrant_completed', { registrantId: r.id, employeeCode: r.employeeCode, status: 'completed', dependentId: null }, input.key);
        return { webhookDeliveries };
      }, TX);
    },

    /** Steps that change a few columns and are recorded. */
    async recordStep({ registrantId, key, step, actor }: { registrantId: string; key: string; step: LifecycleStep; actor: StepActor }): Promise<void> {
      await prisma.$transaction(async (tx) => {
        const r = await lock(tx, registrantId);
        if (!(await claim(tx, key))) return;
        switch (step.type) {
          case 'login_unlocked':
            await tx.registrant.update({ where: { id: r.id }, data: { loginLocked: false } });
            await record(tx, r, actor, 'registrant_login_unlocked');
            break;
          case 'retirement_set':
            await tx.registrant.update({
              where: { id: r.id },
              data: { retirementDate: dateOnly(step.retirementDate), deletionDueDate: dateOnly(step.deletion?.dueDate ?? null), deletionRule: step.deletion?.rule ?? null, deletionAwaitingSince: null },
            });
            await record(tx, r, actor, 'retirement_set', { retirementDate: step.retirementDate, deletionDueDate: step.deletion?.dueDate ?? null, rule: step.deletion?.rule ?? null });
            break;
          case 'retired':
            await tx.registrant.update({ where: { id: r.id }, data: { retired: true, ...(r.invitationState === 'open' ? { invitationState: 'closed' } : {}) } });
            await revokeLinks(tx, r.id);
            await record(tx, r, actor, 'retired', { retirementDate: step.retirementDate });
            if (r.invitationState === 'open') await discardUnsubmitted(tx, r, 'retired');
            break;
          case 'deletion_scheduled':
            await tx.registrant.update({ where: { id: r.id }, data: { deletionDueDate: dateOnly(step.dueDate), deletionRule: MANUAL_RULE.code, deletionAwaitingSince: null } });
            await record(tx, r, actor, 'deletion_scheduled', { deletionDueDate: step.dueDate });
            break;
          case 'deletion_cancelled':
            await tx.registrant.update({ where: { id: r.id }, data: { deletionDueDate: null, deletionRule: null, deletionAwaitingSince: null } });
            await record(tx, r, actor, 'deletion_cancelled');
            break;
          case 'retry_requested':
            await record(tx, r, actor, 'retry_requested', { steps: step.steps });
            break;
          case 'link_extended': {
            // Every live link of the round: the mailed one and any printed (QR) one.
            const expiresAt = new Date(step.expiresAt);
            await tx.invitation.updateMany({ where: { registrantId: r.id, revokedAt: null, expiresAt: { gt: new Date() } }, data: { expiresAt } });
            await tx.registrant.update({ where: { id: r.id }, data: { invitationExpiresAt: expiresAt } });
            await record(tx, r, actor, 'link_extended', { from: step.from, expiresAt: step.expiresAt });
            break;
          }
        }
      }, TX);
    },

    /**
     * Crypto-shreds and leaves a deletion record (who, what, when, which rule; never a number).
     * `scheduled` deletes what the tenant configured; a registrant deleted entirely is removed. In
     * the tenant's confirmed mode a scheduled deletion not `confirmed` by HR deletes nothing: the
     * person is queued (deletion_awaiting_since, recorded once) and the answer says `awaiting`.
     */
    async shred(input: {
      registrantId: string;
      kind: 'numbers' | 'registrant' | 'dependent' | 'scheduled';
      dependentId?: string;
      rule: string;
      dueDate: string | null;
      actor: StepActor;
      stepKey: string;
      confirmed?: boolean;
    }): Promise<{ numbers: number; documents: number; dependents: number; webhookDeliveries: string[]; scope: 'numbers' | 'registrant' | 'dependent'; awaiting?: boolean }> {
      return prisma.$transaction(async (tx) => {
        const done = await tx.deletionRecord.findUnique({ where: { stepKey: input.stepKey } });
        if (done) {
          const items = done.items as { numbers: number; documents: number; dependents: number };
          return { ...items, webhookDeliveries: await deliveriesOfStep(tx, input.stepKey), scope: done.kind as 'numbers' | 'registrant' | 'dependent' };
        }
        const r = await lock(tx, input.registrantId);
        const tenant = await tx.tenant.findUniqueOrThrow({ where: { id: r.tenantId } });
        const kind = input.kind === 'scheduled' ? (tenant.deletionScope === 'numbers' ? 'numbers' : 'registrant') : input.kind;
        if (input.kind === 'scheduled' && tenant.deletionMode === 'confirmed' && !input.confirmed) {
          if (!r.deletionAwaitingSince) {
            await tx.registrant.update({ where: { id: r.id }, data: { deletionAwaitingSince: new Date() } });
            await record(tx, r, input.actor, 'deletion_awaiting_confirmation', { dueDate: input.dueDate, rule: input.rule });
          }
          return { numbers: 0, documents: 0, dependents: 0, webhookDeliveries: [], scope: kind, awaiting: true };
        }
        if (kind === 'dependent' && !(await tx.dependent.findFirst({ where: { id: input.dependentId, registrantId: r.id } }))) {
          throw ApplicationFailure.nonRetryable('扶養家族が見つかりません', 'DependentNotFound');
        }
        const s = await secretsOf(tx, r, kind === 'dependent' ? input.dependentId : undefined);
        const items = { numbers: s.numbers.length, documents: s.documents.length, dependents: kind === 'numbers' ? 0 : s.dependents.length };
        const secrets = [...s.numbers, ...s.images, ...(kind === 'dependent' ? [] : [r.draftSecretId].filter((x): x is string => !!x))];

        if (kind === 'dependent') {
          await tx.dependent.delete({ where: { id: input.dependentId } });
          // A copy in the employee's draft (with the number) goes too, and the draft's old secret with it.
          await amendDraft(vault, tx, r.id, (draft) => {
            draft.dependents = draft.dependents.filter((d) => d.id !== input.dependentId);
            draft.removedDependentIds = draft.removedDependentIds.filter((id) => id !== input.dependentId);
          });
        } else if (kind === 'numbers') {
          await tx.document.deleteMany({ where: { registrantId: r.id } });
          // A deletion a change asked for is moot with the numbers gone: the dependent stays, unregistered.
          await tx.dependent.updateMany({ where: { registrantId: r.id }, data: { myNumberSecretId: null, status: 'unregistered', removalRequestedAt: null } });
          // Nothing is approved any more: no change is pending, nothing kept for a refusal.
          await forgetProfiles(tx, r.id, { registrant: true });
          // A scheduled deletion is done with: its date leaves the row (a workflow revived from the
          // row must not delete again). HR's immediate deletion keeps the schedule.
          const schedule = input.kind === 'scheduled' ? { deletionDueDate: null, deletionRule: null } : {};
          await tx.registrant.update({ where: { id: r.id }, data: { myNumberSecretId: null, draftSecretId: null, status: 'unregistered', loginLocked: false, deletionAwaitingSince: null, ...schedule } });
        }
        await vault.shred(secrets, tx);
        const actor = await actorOf(tx, r, input.actor);
        const rule = input.rule === 'immediate' || input.rule === MANUAL_RULE.code ? input.rule : (retentionRule(input.rule)?.code ?? input.rule);
        await tx.deletionRecord.create({
          data: {
            tenantId: r.tenantId,
            registrantId: r.id,
            registrantLabel: label(r),
            employeeCode: r.employeeCode,
            dependentId: kind === 'dependent' ? input.dependentId! : null,
            kind,
            items,
            rule,
            dueDate: dateOnly(input.dueDate),
            actorType: actor.type,
            actorId: actor.id ?? null,
            actorLabel: actor.label,
            stepKey: input.stepKey,
          },
        });
        await history.record(
          {
            tenantId: r.tenantId,
            actor,
            operation: kind === 'registrant' ? 'registrant_deleted' : 'data_deleted',
            registrant: { id: r.id, label: label(r) },
            ip: input.actor.ip ?? null,
            userAgent: input.actor.userAgent ?? null,
            detail: { kind, rule, ...items, ...(input.dependentId ? { dependentId: input.dependentId } : {}) },
          },
          tx,
        );
        const webhookDeliveries = await enqueueEvent(tx, r.tenantId, 'registrant_deleted', { registrantId: r.id, employeeCode: r.employeeCode, scope: kind, dependentId: kind === 'dependent' ? input.dependentId! : null }, input.stepKey);
        // Last: the rows cascade (dependents, documents, invitations, consents).
        if (kind === 'registrant') await tx.registrant.delete({ where: { id: r.id } });
        return { ...items, webhookDeliveries, scope: kind };
      }, TX);
    },
  };
}
