/**
 * Why a number (or an image showing it) is opened: the check at collection (取得時の番号確認・身元確認,
 * only while the person or dependent awaits approval, and only by those who approve), or one of the
 * tenant's purposes of use. The history records the collection check as `detail.reason`, never as
 * a purpose it was not.
 */
import type { Purpose, Role } from '../../prisma/generated/client';
import type { PrismaClient } from '../db/client';
import { PURPOSE_LABELS } from '../audit/purposes';
import { AppError } from '../errors';

export type RevealReason = 'collection_check' | Purpose;

const APPROVERS: Role[] = ['owner', 'manager'];

const NOT_IN_COLLECTION = (field: string) =>
  new AppError(400, 'COLLECTION_CHECK_NOT_APPLICABLE', '取得時の確認は、承認待ちの登録者にだけ使えます。利用目的を選んでください', [
    { path: `/body/${field}`, message: '承認待ちではないため、利用目的を選んでください', code: 'not_applicable' },
  ]);
const PURPOSE_DISABLED = () => new AppError(400, 'PURPOSE_DISABLED', 'この利用目的は契約者設定で使用しないことになっています');

/**
 * Throws unless the reason may be used now: `awaitingApproval` is whether whoever's number it is
 * (the person, or the dependent) is `pending`; `field` names the request field for the error.
 */
export async function checkRevealReason(
  prisma: PrismaClient,
  input: { tenantId: string; role: Role; reason: RevealReason; awaitingApproval: () => Promise<boolean>; field: string },
): Promise<void> {
  if (input.reason === 'collection_check') {
    if (!APPROVERS.includes(input.role)) throw new AppError(403, 'FORBIDDEN', '取得時の確認は、承認できるユーザー（オーナー・管理者）だけが使えます');
    if (!(await input.awaitingApproval())) throw NOT_IN_COLLECTION(input.field);
    return;
  }
  const tenant = await prisma.tenant.findUniqueOrThrow({ where: { id: input.tenantId }, select: { purposes: true } });
  if (!(input.reason in PURPOSE_LABELS) || !tenant.purposes.includes(input.reason)) throw PURPOSE_DISABLED();
}

/** The history fields of a reveal: a purpose of use, or the collection check in the detail. */
export const recordedReason = (reason: RevealReason): { purpose?: Purpose; reason?: 'collection_check' } =>
  reason === 'collection_check' ? { reason } : { purpose: reason };
