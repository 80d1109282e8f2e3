// What files may be shared and how they are shown (E17): pure rules the server
// enforces and the web client checks first, so a person hears at once, before
// any upload, what the server would refuse anyway.

/** The default of FILE_MAX_BYTES. */
export const DEFAULT_FILE_MAX_BYTES = 25 * 1024 * 1024;
/** Code points in a file name. */
export const MAX_FILE_NAME = 255;
/** Bytes of an image's WebP preview (made in the browser, a few hundred pixels wide). */
export const MAX_PREVIEW_BYTES = 512 * 1024;
export const PREVIEW_TYPE = 'image/webp';

/** Images shown inline. Nothing else ever is: SVG and HTML can carry script. */
export const SAFE_IMAGE_TYPES: readonly string[] = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'];

export function isSafeImage(type: string): boolean {
  return SAFE_IMAGE_TYPES.includes(type);
}

/** Programs a click would run: refused unless FILE_REFUSED_TYPES says otherwise. */
export const DEFAULT_REFUSED_TYPES: readonly string[] = [
  '.exe', '.msi', '.msp', '.bat', '.cmd', '.com', '.scr', '.pif', '.cpl', '.dll', '.sys', '.lnk', '.reg',
  '.ps1', '.vbs', '.vbe', '.js', '.jse', '.wsf', '.wsh', '.hta', '.jar', '.apk', '.app', '.dmg', '.pkg',
  '.deb', '.rpm', '.sh', '.appimage',
  'application/x-msdownload', 'application/x-msdos-program', 'application/x-dosexec', 'application/x-executable',
  'application/vnd.microsoft.portable-executable', 'application/x-msi', 'application/java-archive',
  'application/vnd.android.package-archive', 'application/x-sh', 'application/x-apple-diskimage',
];

/** The refused type (`.exe`, or the media type) a file has, if any. */
export function refusedType(refused: readonly string[], name: string, type: string): string | undefined {
  const extension = /\.[^.]+$/.exec(name.trim().toLowerCase())?.[0];
  return refused.find((t) => t === type || t === extension);
}

/** "3.2 MB": a size a person can read. */
export function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  return `${Math.round((bytes / (1024 * 1024 * 1024)) * 10) / 10} GB`;
}
