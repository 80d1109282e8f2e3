// Files in the browser (E17): checks before anything is sent (the server and the
// storage policy enforce the same), previews and size made with a canvas, photos
// re-encoded so their location (EXIF) stays on the device unless the person keeps
// it, and uploads with progress and cancel, straight to the URL of the grant.
import {
  DEFAULT_FILE_MAX_BYTES,
  DEFAULT_REFUSED_TYPES,
  MAX_FILE_NAME,
  MAX_PREVIEW_BYTES,
  PREVIEW_TYPE,
  describeBytes,
  isSafeImage,
  refusedType,
} from '../../functions/core/file-types.js';

export { describeBytes, isSafeImage };

/** The longest side of a preview, in CSS pixels times two for sharp screens. */
const PREVIEW_SIDE = 480;

/** Why a file cannot be shared, before asking the server (which checks the same). */
export function fileProblem(file: { name: string; size: number; type: string }): string | undefined {
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > DEFAULT_FILE_MAX_BYTES) return `${file.name} is ${describeBytes(file.size)}; a file is at most ${describeBytes(DEFAULT_FILE_MAX_BYTES)}.`;
  if ([...file.name].length > MAX_FILE_NAME) return `A file name is at most ${MAX_FILE_NAME} characters.`;
  const refused = refusedType(DEFAULT_REFUSED_TYPES, file.name, mediaType(file.type));
  if (refused) return `Files of type ${refused} cannot be shared here: they could run as programs.`;
  return undefined;
}

export function mediaType(type: string): string {
  return type.split(';')[0]!.trim().toLowerCase() || 'application/octet-stream';
}

/** A file as it will be uploaded: the bytes (re-encoded for a photo), and for an image its size and preview. */
export interface Prepared {
  name: string;
  type: string;
  blob: Blob;
  width?: number;
  height?: number;
  preview?: Blob;
}

function canvasBlob(canvas: HTMLCanvasElement, type: string, quality: number): Promise<Blob | null> {
  return new Promise((resolve) => canvas.toBlob(resolve, type, quality));
}

function draw(image: ImageBitmap, width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d')!.drawImage(image, 0, 0, width, height);
  return canvas;
}

/**
 * Reads an image's size and makes its preview. A JPEG (a photo) is drawn anew
 * unless `keepLocation`: a canvas writes no EXIF, so GPS position, camera and
 * time stay on the device. Anything the browser cannot decode is sent as it is.
 */
export async function prepare(file: File, keepLocation: boolean): Promise<Prepared> {
  const type = mediaType(file.type);
  const plain: Prepared = { name: file.name, type, blob: file };
  if (!isSafeImage(type)) return plain;
  let image: ImageBitmap;
  try {
    image = await createImageBitmap(file);
  } catch {
    return { ...plain, type: 'application/octet-stream' }; // not the image it says: sent as a plain file
  }
  try {
    const { width, height } = image;
    let blob: Blob = file;
    if (type === 'image/jpeg' && !keepLocation) blob = (await canvasBlob(draw(image, width, height), 'image/jpeg', 0.92)) ?? file;
    const scale = Math.min(1, PREVIEW_SIDE / Math.max(width, height));
    // GIFs keep their motion: the original is shown, no still preview
    const preview =
      type === 'image/gif' ? null : await canvasBlob(draw(image, Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale))), PREVIEW_TYPE, 0.8);
    // A browser that cannot write WebP gives a PNG instead: then no preview.
    const usable = preview && preview.type === PREVIEW_TYPE && preview.size <= MAX_PREVIEW_BYTES ? preview : undefined;
    return { ...plain, blob, width, height, ...(usable ? { preview: usable } : {}) };
  } finally {
    image.close();
  }
}

export type UploadTarget =
  | { method: 'POST'; url: string; fields: Record<string, string> }
  | { method: 'PUT'; url: string; headers: Record<string, string> };

/** Sends `blob` to a grant's target; progress from 0 to 1; rejects on abort or refusal. */
export function sendBytes(target: UploadTarget, blob: Blob, onProgress: (fraction: number) => void, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(target.method, new URL(target.url, location.href).href);
    let body: Blob | FormData = blob;
    if (target.method === 'PUT') {
      for (const [k, v] of Object.entries(target.headers)) xhr.setRequestHeader(k, v);
    } else {
      const form = new FormData();
      for (const [k, v] of Object.entries(target.fields)) form.append(k, v);
      form.append('file', blob);
      body = form;
    }
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(new Error(xhr.status === 403 ? 'The upload link expired; attach the file again.' : `The upload was refused (${xhr.status}).`));
    xhr.onerror = () => reject(new Error('The upload failed: check the connection and try again.'));
    xhr.onabort = () => reject(new DOMException('Cancelled', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });
}

/** Starts a download of `url` (served as an attachment) under `name`. */
export function startDownload(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}
