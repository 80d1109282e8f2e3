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
  // run on a double click too: macOS Terminal scripts, Windows app packages,
  // Excel add-ins, compiled help, consoles, shortcuts and shell commands,
  // PowerShell modules, JavaScript modules, and disk images that open as a
  // drive (their contents lose the mark of the web)
  '.command', '.msix', '.msixbundle', '.appx', '.appxbundle', '.appinstaller', '.xll', '.chm', '.msc',
  '.scf', '.url', '.ws', '.wsc', '.psm1', '.psd1', '.settingcontent-ms', '.library-ms', '.search-ms',
  '.gadget', '.inf', '.mjs', '.cjs', '.application', '.iso', '.img', '.vhd', '.vhdx',
  'application/x-msdownload', 'application/x-msdos-program', 'application/x-dosexec', 'application/x-executable',
  'application/vnd.microsoft.portable-executable', 'application/x-msi', 'application/java-archive',
  'application/vnd.android.package-archive', 'application/x-sh', 'application/x-apple-diskimage',
];

/** The refused type (`.exe`, or the media type) a file has, if any. */
export function refusedType(refused: readonly string[], name: string, type: string): string | undefined {
  return refused.find((t) => t === type || t === extensionOf(name));
}

/**
 * The extension a file gets once saved: Windows drops trailing dots and spaces
 * (`evil.exe.` is saved as `evil.exe`), and invisible format characters
 * (zero-width spaces, direction marks) do not count.
 */
export function extensionOf(name: string): string | undefined {
  const saved = name.toLowerCase().replace(/\p{Cf}/gu, '').replace(/[.\s]+$/u, '');
  return /\.[^.]+$/.exec(saved)?.[0];
}

/** Characters that reorder how a name reads (`invoice\u202Efdp.exe` reads as `invoiceexe.pdf`). */
export const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** "3.2 MB": a size a person can read. */
export function describeBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  if (bytes < 1024 * 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB`;
  return `${Math.round((bytes / (1024 * 1024 * 1024)) * 10) / 10} GB`;
}
