/** The console's Japanese words for the API's codes (seed 001). */
import type { Schemas } from './api';

export const STATUS_LABELS: Record<Schemas['Status'], string> = {
  unregistered: '未登録',
  pending: '承認待ち',
  remanded: '差戻し',
  refused: '拒否',
  completed: '完了',
};

export const CATEGORY_LABELS: Record<Schemas['RegistrantCategory'], string> = {
  employee: '従業員1（社員・役員）',
  part_time: '従業員2（パート・アルバイト）',
  contractor: '業務委託',
  payee: '報酬支払',
};

/** The list's column: the manual's short names. */
export const CATEGORY_SHORT: Record<Schemas['RegistrantCategory'], string> = { employee: '従業員1', part_time: '従業員2', contractor: '業務委託', payee: '報酬支払' };

export const ROLE_LABELS: Record<Schemas['Role'], string> = { owner: '最高権限', manager: '管理担当者', viewer: '閲覧のみ' };
export const USER_KIND_LABELS: Record<Schemas['UserKind'], string> = { staff: '担当者', professional: '士業' };

/** The server's own table of purposes (services/audit/purposes.ts): one list of names everywhere. */
export { PURPOSE_LABELS } from '../../services/audit/purposes';
import { COLLECTION_CHECK_LABEL, PURPOSE_LABELS as PURPOSES_NAMED } from '../../services/audit/purposes';

/** Why a number (or an image showing it) is shown: the collection check while it applies, then the tenant's purposes. */
export function revealReasons(purposes: readonly (keyof typeof PURPOSES_NAMED)[], collecting: boolean): [string, string][] {
  return [['', '選択してください'], ...(collecting ? [['collection_check', COLLECTION_CHECK_LABEL] as [string, string]] : []), ...purposes.map((p): [string, string] => [p, PURPOSES_NAMED[p]])];
}

export const INVITATION_LABELS: Record<string, string> = {
  open: '回答待ち',
  submitted: '提出済',
  expired: '期限切れ',
  withdrawn: '取り下げ',
  closed: '終了',
};

export const SCOPE_LABELS: Record<Schemas['ConnectorScope'], string> = {
  'registrants:read': '登録者の参照',
  'registrants:write': '登録者の追加・更新（社員マスタ連携）',
  'numbers:pull': 'マイナンバーの取得',
};

export const WEBHOOK_EVENT_LABELS: Record<Schemas['WebhookEvent'], string> = {
  registrant_completed: '承認（完了）',
  registrant_remanded: '差戻し',
  registrant_deleted: '削除',
};

/** 2026-12-02T03:04:05Z → 2026/12/02 12:04 (Japan time, as HR reads it). */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const parts = new Intl.DateTimeFormat('ja-JP', { timeZone: 'Asia/Tokyo', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('year')}/${get('month')}/${get('day')} ${get('hour')}:${get('minute')}`;
}

/** 2026-12-02 → 2026/12/02 */
export const day = (iso: string | null | undefined): string => (iso ? iso.slice(0, 10).replaceAll('-', '/') : '—');

export const fullName = (p: { familyName: string; givenName: string }): string => `${p.familyName} ${p.givenName}`;
