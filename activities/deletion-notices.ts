/**
 * 削除予定のお知らせ: 30 days before deletions are due, the tenant's owners and managers get one mail
 * per due date listing every registrant concerned (names and employee codes; never a number).
 */
import { dayText } from '../services/dates/day-text';
import { Context } from '@temporalio/activity';
import { createHistory } from '../services/audit/history';
import { SYSTEM_ACTOR } from '../services/audit/types';
import { createMailLedger } from '../services/mail/ledger';
import { retentionRule, MANUAL_RULE } from '../services/retention/rules';
import { deletionDueSignal, deletionNoticeWorkflowId, type DeletionNoticeInput } from '../shared';
import type { ActivityDeps } from './index';
import { countMail } from './mail-metrics';

export const DELETION_NOTICE_SUBJECT = '【マイナンバー管理】削除予定のお知らせ';

export function createDeletionNoticeActivities({ prisma, mailer, mailFrom, publicUrl, vault }: ActivityDeps) {
  const history = createHistory(prisma, vault);
  const ledger = createMailLedger(prisma);
  return {
    /** Adds the registrant to the notice of their tenant and due date, starting it if needed. */
    async noticeDeletionDue({ tenantId, registrantId, dueDate }: { tenantId: string; registrantId: string; dueDate: string }): Promise<void> {
      const { client, info } = Context.current();
      const input: DeletionNoticeInput = { tenantId, dueDate };
      await client.workflow.signalWithStart('deletionNoticeWorkflow', {
        workflowId: deletionNoticeWorkflowId(tenantId, dueDate),
        taskQueue: info.taskQueue,
        args: [input],
        signal: deletionDueSignal,
        signalArgs: [{ registrantId }],
      });
    },

    /** Mails the list; idempotent per key. Registrants deleted or rescheduled meanwhile drop out. */
    async mailDeletionNotice({ tenantId, dueDate, registrantIds, key }: DeletionNoticeInput & { registrantIds: string[]; key: string }): Promise<{ sent: number }> {
      const due = new Date(`${dueDate}T00:00:00Z`);
      const registrants = await prisma.registrant.findMany({
        where: { tenantId, id: { in: registrantIds }, deletionDueDate: due },
        orderBy: [{ employeeCode: 'asc' }, { familyNameKana: 'asc' }],
      });
      if (registrants.length === 0) return { sent: 0 };
      const recipients = await prisma.loginUser.findMany({ where: { tenantId, deletedAt: null, role: { in: ['owner', 'manager'] } }, select: { email: true } });
      if (recipients.length === 0) return { sent: 0 };
      const recordSent = () =>
        ledger.recordOnce(key, async (tx) => {
          for (const r of registrants) {
            await history.record({ tenantId, actor: SYSTEM_ACTOR, operation: 'deletion_notice_sent', registrant: { id: r.id, label: `${r.familyName} ${r.givenName}` }, detail: { dueDate } }, tx);
          }
        });
      const delivery = await ledger.begin(key, recipients.map((r) => r.email).join(','), 'deletion_notice');
      if (delivery.status === 'sent') {
        await recordSent();
        return { sent: 0 };
      }

      const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: tenantId } });
      const lines = registrants.map((r) => {
        const rule = r.deletionRule === MANUAL_RULE.code ? MANUAL_RULE.label : (retentionRule(r.deletionRule ?? '')?.label ?? r.deletionRule ?? '');
        return `・${r.employeeCode ? `${r.employeeCode} ` : ''}${r.familyName} ${r.givenName}（退職日 ${r.retirementDate ? dayText(r.retirementDate.toISOString().slice(0, 10)) : '—'}、${rule}）`;
      });
      const text = [
        `${tenant.name} ご担当者様`,
        '',
        `次の ${registrants.length} 名のマイナンバーと個人データは、${dayText(dueDate)} に削除されます。`,
        '削除すると元に戻せません。保存を続ける必要がある場合は、それまでに削除予定日を変更または取り消してください。',
        '',
        ...lines,
        '',
        `管理画面: ${publicUrl}/console/`,
        '',
        '――',
        'マイナンバー管理 (mynaflow)',
      ].join('\n');
      const messageId = `<${key.replace(/[^A-Za-z0-9-]/g, '').slice(-40)}@mynaflow>`;
      try {
        await mailer.sendMail({ from: mailFrom, to: recipients.map((r) => r.email), subject: DELETION_NOTICE_SUBJECT, text, messageId });
      } catch (err) {
        countMail('deletion_notice', 'failed', err);
        throw err;
      }
      countMail('deletion_notice', 'sent');
      await ledger.markSent(key, messageId);
      await recordSent();
      return { sent: registrants.length };
    },
  };
}
