/**
 * Document images are accepted by what they are, not by what the file or the request calls them:
 * the first bytes must be a JPEG, PNG or GIF signature. Three fixed signatures do not warrant a
 * dependency. Plain bytes in, so the phone pages (web/registration) run the same check before uploading.
 */
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
