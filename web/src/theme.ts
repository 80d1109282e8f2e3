// Light and dark: the system's choice unless the person picks one.
import { effect, signal } from '@preact/signals';
import { storage } from './storage.js';

export type ThemeChoice = 'system' | 'light' | 'dark';

export const theme = signal<ThemeChoice>((storage.get('theme') as ThemeChoice | null) ?? 'system');

const media = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;
const systemDark = signal(media?.matches ?? false);
media?.addEventListener('change', (e) => (systemDark.value = e.matches));

/** The theme in effect, for widgets with their own styles (the emoji picker). */
export function effectiveTheme(): 'light' | 'dark' {
  return theme.value === 'system' ? (systemDark.value ? 'dark' : 'light') : theme.value;
}

export function nextTheme(current: ThemeChoice): ThemeChoice {
  return current === 'system' ? 'light' : current === 'light' ? 'dark' : 'system';
}

export function applyTheme(): void {
  effect(() => {
    document.documentElement.dataset.theme = effectiveTheme();
    if (theme.value === 'system') storage.remove('theme');
    else storage.set('theme', theme.value);
  });
}
