// The emoji picker (emoji-picker-element) is a separate chunk, fetched the first
// time someone opens it. Its data comes from this site: web/build.ts copies
// emoji-picker-element-data there, and the CSP allows no other origin.
import type { Picker } from 'emoji-picker-element';

export const EMOJI_DATA_URL = '/emoji/en/data.json';

let loading: Promise<typeof Picker> | undefined;

export function loadPicker(): Promise<typeof Picker> {
  loading ??= import('emoji-picker-element').then((m) => m.Picker);
  loading.catch(() => (loading = undefined)); // offline: let a later click try again
  return loading;
}

export async function createPicker(dark: boolean): Promise<HTMLElement> {
  const Picker = await loadPicker();
  const picker = new Picker({ dataSource: EMOJI_DATA_URL });
  picker.classList.add(dark ? 'dark' : 'light');
  return picker;
}
