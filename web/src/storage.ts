// Web storage under one prefix, tolerant of browsers that refuse it (private
// modes, full quota): the chat still works, it just forgets on reload.
// `storage` is localStorage (every tab, kept); `session` is sessionStorage (this
// tab only, kept across a reload, gone with the tab).
const PREFIX = 'ww.';

function over(store: () => Storage) {
  return {
    get(key: string): string | null {
      try {
        return store().getItem(PREFIX + key);
      } catch {
        return null;
      }
    },
    set(key: string, value: string): void {
      try {
        store().setItem(PREFIX + key, value);
      } catch {
        /* not persisted */
      }
    },
    remove(key: string): void {
      try {
        store().removeItem(PREFIX + key);
      } catch {
        /* nothing to remove */
      }
    },
    getJson<T>(key: string): T | null {
      const raw = this.get(key);
      if (raw === null) return null;
      try {
        return JSON.parse(raw) as T;
      } catch {
        return null;
      }
    },
    setJson(key: string, value: unknown): void {
      this.set(key, JSON.stringify(value));
    },
  };
}

export const storage = {
  ...over(() => localStorage),
  /** Calls `onChange` when another tab changes `key` in localStorage (the browser's `storage` event). */
  watch(key: string, onChange: (value: string | null) => void): void {
    // Only a browser has other tabs (the client also runs in Node, in tests).
    if (typeof addEventListener !== 'function') return;
    addEventListener('storage', (e) => {
      // key null: the other tab cleared everything
      if (e.storageArea === localStorage && (e.key === PREFIX + key || e.key === null)) onChange(storage.get(key));
    });
  },
};

export const session = over(() => sessionStorage);
