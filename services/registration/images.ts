/**
 * Document images are accepted by what they are, not by what the file or the request calls them:
 * the first bytes must be a JPEG, PNG or GIF signature. Three fixed signatures do not warrant a
 * dependency. Plain bytes in, so the phone pages (web/registration) run the same check before uploading.
 */
import type { DocumentPurpose, DocumentType } from '../../prisma/generated/client';
import { AppError } from '../errors';

export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;
export const IMAGE_TOO_LARGE = () => new AppError(413, 'IMAGE_TOO_LARGE', '画像のサイズは4MBまでにしてください');

export type ImageType = 'image/jpeg' | 'image/png' | 'image/gif';

const SIGNATURES: { type: ImageType; bytes: number[] }[] = [
  { type: 'image/jpeg', bytes: [0xff, 0xd8, 0xff] },
  { type: 'image/png', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { type: 'image/gif', bytes: [0x47, 0x49, 0x46, 0x38, 0x37, 0x61] }, // GIF87a
  { type: 'image/gif', bytes: [0x47, 0x49, 0x46, 0x38, 0x39, 0x61] }, // GIF89a
];

/** The image type the content says, or null when it is none of the three. */
export function sniffImage(content: Uint8Array): ImageType | null {
  const match = SIGNATURES.find((s) => content.length > s.bytes.length && s.bytes.every((b, i) => content[i] === b));
  return match?.type ?? null;
}

/** Number-confirmation documents (番号確認): card back, notification card, resident record with the number. */
const NUMBER_PROOFS: readonly DocumentType[] = ['my_number_card', 'notification_card', 'resident_record'];

/**
 * A document upload's checks, the phone pages' and HR's alike: the image's size and kind (by its
 * content), and whether the document type can serve the purpose. The image type, or a 400 / 413.
 */
export function checkDocumentUpload(input: { purpose: DocumentPurpose; type: DocumentType }, image: Uint8Array): ImageType {
  if (image.length > MAX_IMAGE_BYTES) throw IMAGE_TOO_LARGE();
  const errors: { path: string; code: string; message: string }[] = [];
  if (image.length === 0) errors.push({ path: '/body', code: 'IMAGE_REQUIRED', message: '画像を選んでください' });
  const mimeType = image.length ? sniffImage(image) : null;
  if (image.length && !mimeType) errors.push({ path: '/body', code: 'IMAGE_TYPE', message: 'JPEG、PNG、GIF形式の画像を選んでください' });
  if (input.purpose === 'number_confirmation' && !NUMBER_PROOFS.includes(input.type)) {
    errors.push({ path: '/query/type', code: 'NOT_A_NUMBER_DOCUMENT', message: '番号確認書類には、マイナンバーカード（裏面）、通知カード、マイナンバー記載の住民票の写しのいずれかを選んでください' });
  }
  if (input.purpose === 'identity' && input.type === 'notification_card') {
    errors.push({ path: '/query/type', code: 'NOT_AN_IDENTITY_DOCUMENT', message: '通知カードは身元確認書類として使えません' });
  }
  if (errors.length) throw new AppError(400, 'VALIDATION_FAILED', '入力内容に誤りがあります', errors);
  return mimeType!;
}
