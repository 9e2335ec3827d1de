/**
 * Phone photos made to fit before they are sent: a 12-megapixel camera JPEG is 3–6 MB, over the
 * 4 MB the server takes. JPEG and PNG photos larger than needed are redrawn with their long side at
 * most 2,000 px (plenty to read a card), EXIF orientation applied, as JPEG; the quality steps down
 * until the file fits. GIFs and already small images go as they are. browser-image-compression does
 * the work on the page's own thread (its web worker would load a script from a CDN).
 */
import imageCompression from 'browser-image-compression';
import { MAX_IMAGE_BYTES, type ImageType } from '../../services/registration/images';

export const LONG_SIDE_PX = 2000;
/** Below this an image is sent as taken (a screenshot, a scan already made small). */
const SMALL_ENOUGH_BYTES = 1.5 * 1024 * 1024;

export interface Shrunk {
  image: Blob;
  type: ImageType;
  /** whether it was redrawn (the page says so: "縮小しました") */
  shrunk: boolean;
}

export async function shrinkImage(file: File, type: ImageType): Promise<Shrunk> {
  if (type === 'image/gif' || file.size <= SMALL_ENOUGH_BYTES) return { image: file, type, shrunk: false };
  for (const quality of [0.85, 0.7, 0.55]) {
    const image = await imageCompression(file, {
      maxWidthOrHeight: LONG_SIDE_PX,
      maxSizeMB: (MAX_IMAGE_BYTES * 0.9) / 1024 / 1024,
      initialQuality: quality,
      fileType: 'image/jpeg',
      useWebWorker: false,
      // Re-encoding (rather than alwaysKeepResolution) is the point: smaller, upright, no EXIF location.
      alwaysKeepResolution: false,
    });
    if (image.size <= MAX_IMAGE_BYTES) return { image, type: 'image/jpeg', shrunk: true };
  }
  return { image: file, type, shrunk: false };
}
