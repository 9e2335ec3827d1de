/** Japanese words the pages show for the API's codes (seed 001 ch. 8–9, seed 003), shared by the phone pages and the console. */
import type { components } from '../../api/generated/openapi';

type DocumentType = components['schemas']['DocumentType'];

export const GENDERS = [
  ['male', '男性'],
  ['female', '女性'],
  ['other', 'その他'],
] as const;
export const genderLabel = (g: string | null | undefined): string => GENDERS.find(([code]) => code === g)?.[1] ?? '未入力';

export const RELATIONSHIPS = ['配偶者', '子', '父', '母', '祖父', '祖母', '孫', '兄弟姉妹', 'その他'];

export const KIND_LABELS = { dependent: '扶養親族', category3: '国民年金の第3号被保険者' } as const;

export const DOCUMENT_LABELS: Record<DocumentType, string> = {
  my_number_card: 'マイナンバーカード（個人番号カード）',
  notification_card: '通知カード',
  resident_record: '住民票の写し',
  drivers_licence: '運転免許証',
  passport: 'パスポート',
  residence_card: '在留カード・特別永住者証明書',
  // 2026: paper 健康保険証 are no longer valid (資格確認書 replaced them on 2025-12-02); 年金手帳 is
  // no longer issued (基礎年金番号通知書 since 2022-04). The codes stay for the API's sake.
  health_insurance_card: '資格確認書（健康保険）',
  pension_book: '基礎年金番号通知書（年金手帳）',
  other: 'その他の公的書類（印鑑登録証明書など）',
  welfare_certificate: '各種福祉手帳（身体障害者手帳など）',
  student_id: '学生証（顔写真なし）',
};

/** What a document is called on a page of a purpose: a resident record proves the number only when it shows it. */
export const documentLabel = (purpose: 'number_confirmation' | 'identity', type: DocumentType): string =>
  purpose === 'number_confirmation' && type === 'resident_record' ? '住民票の写し（マイナンバー記載）' : DOCUMENT_LABELS[type];

/** 番号確認: the card's back, the notification card, a resident record with the number. */
export const NUMBER_DOCUMENTS: DocumentType[] = ['my_number_card', 'notification_card', 'resident_record'];
export { NO_PHOTO_IDS, PHOTO_IDS } from '../../shared/registration-rules';

export interface SideSpec {
  side: 'front' | 'back';
  label: string;
  required: boolean;
}

/** Which sides of a document are asked for, for a purpose. */
export function sidesOf(purpose: 'number_confirmation' | 'identity', type: DocumentType): SideSpec[] {
  if (type === 'my_number_card') {
    return purpose === 'number_confirmation'
      ? [{ side: 'back', label: '裏面（個人番号の記載されている面）', required: true }]
      : [{ side: 'front', label: '表面（顔写真のある面）', required: true }];
  }
  if (type === 'passport') return [{ side: 'front', label: '顔写真のページ', required: true }];
  if (type === 'resident_record') return [{ side: 'front', label: '1枚目', required: true }, { side: 'back', label: '2枚目（ある場合）', required: false }];
  return [
    { side: 'front', label: 'おもて面', required: true },
    { side: 'back', label: 'うら面（記載がある場合）', required: false },
  ];
}

export const sideLabel = (purpose: 'number_confirmation' | 'identity', type: DocumentType, side: 'front' | 'back'): string =>
  sidesOf(purpose, type).find((s) => s.side === side)?.label ?? (side === 'front' ? 'おもて面' : 'うら面');

export const IMAGE_NOTE = '撮影のこつ：書類の四隅が画面に収まるように、明るい場所で、光が反射しないように撮ってください。画像はJPEG、PNG、GIF形式で送れます（大きな写真は送る前に自動で縮小します）。';

/** 1990-04-01 → 1990年4月1日 */
export function japaneseDate(iso: string | null | undefined): string {
  const m = iso ? /^(\d{4})-(\d{2})-(\d{2})/.exec(iso) : null;
  return m ? `${m[1]}年${Number(m[2])}月${Number(m[3])}日` : '未入力';
}

/** The number as the pages show it: never more than its last four digits. */
export const maskedNumber = (n: { entered: boolean; last4: string | null }): string => (n.entered && n.last4 ? `＊＊＊＊ ＊＊＊＊ ${n.last4}` : '未入力');
