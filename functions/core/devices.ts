// Devices (extension E18): a short, readable label for the browser or program a
// session was started from, parsed once from the User-Agent at connect. It is
// shown to the account's owner only, as text; nothing trusts it.

/** The most a label may be, and the most of a User-Agent that is read. */
const MAX_LABEL = 60;
const MAX_USER_AGENT = 512;

const BROWSERS: Array<[RegExp, string]> = [
  [/WildWhispersCLI\//, 'Wild Whispers CLI'],
  [/Edg(?:e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/SamsungBrowser\//, 'Samsung Internet'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/HeadlessChrome\//, 'Headless Chrome'],
  [/Chrome\/|CriOS\//, 'Chrome'],
  [/Chromium\//, 'Chromium'],
  [/Version\/[\d.]+.*Safari\//, 'Safari'],
  [/curl\//, 'curl'],
  [/^node|undici|Node\.js/, 'Node.js'],
];

const SYSTEMS: Array<[RegExp, string]> = [
  [/iPhone/, 'iPhone'],
  [/iPad/, 'iPad'],
  [/Android/, 'Android'],
  [/CrOS/, 'ChromeOS'],
  [/Windows|\bwin32\b/i, 'Windows'],
  [/Mac OS X|Macintosh|\bdarwin\b/i, 'macOS'],
  [/Linux/i, 'Linux'],
];

/**
 * "Firefox on Linux", "Chrome on Android", "Wild Whispers CLI on Linux", or
 * undefined when there is no User-Agent to read. Only known names come out, so a
 * crafted header cannot put its own words on anyone's device list.
 */
export function describeDevice(userAgent: string | undefined): string | undefined {
  if (typeof userAgent !== 'string') return undefined;
  const ua = userAgent.slice(0, MAX_USER_AGENT);
  if (ua.trim() === '') return undefined;
  const browser = BROWSERS.find(([re]) => re.test(ua))?.[1];
  const system = SYSTEMS.find(([re]) => re.test(ua))?.[1];
  const label = browser && system ? `${browser} on ${system}` : (browser ?? (system ? `A browser on ${system}` : 'Unknown device'));
  return label.slice(0, MAX_LABEL);
}
