// The app shell, cached so the client opens at once and offline: index.html,
// its script, stylesheet and chunks, the icons and the manifest, as one cache
// named after the build's content hash. A new deploy is a new sw.js (the hash is
// in it): it caches the new shell, takes over, and deletes the old caches.
//
// Only the shell's own files are answered from the cache, plus config.json
// (network first: it says where the socket is, and offline the last copy does).
// Nothing else is touched: not the WebSocket (a service worker never sees it),
// not shared files, not the emoji data; no API response is ever stored.

/** Set by web/build.ts: the shell's paths ('/index.html', '/main-….js', …) and their hash. */
declare const SHELL_FILES: string[];
declare const SHELL_VERSION: string;

// The worker's globals, just what this file uses (the project's types are the page's DOM).
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface WorkerScope {
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', listener: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', listener: (e: FetchEvent) => void): void;
}
const worker = self as unknown as WorkerScope;

const PREFIX = 'ww-shell-';
const CACHE = `${PREFIX}${SHELL_VERSION}`;
/** the last config.json, kept apart from the shell: it outlives a deploy */
const CONFIG_CACHE = 'ww-config';
const shell = new Set(SHELL_FILES);

worker.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // `reload`: from the server, not a copy in the HTTP cache of the previous deploy
      await cache.addAll(SHELL_FILES.map((path) => new Request(path, { cache: 'reload' })));
      await worker.skipWaiting();
    })(),
  );
});

worker.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      await worker.clients.claim();
    })(),
  );
});

worker.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname === '/config.json') {
    event.respondWith(networkFirst(request));
    return;
  }
  // Shared files (the local server's /files/…) and /healthz are never the
  // worker's business: opening or downloading one is a navigation too, and must
  // reach the server.
  if (url.pathname.startsWith('/files/') || url.pathname === '/healthz') return;
  // A page of the single-page app (any other path without an extension) is index.html.
  const page = request.mode === 'navigate' && !/\.[a-z0-9]+$/i.test(url.pathname);
  const path = page ? '/index.html' : url.pathname;
  if (!shell.has(path)) return;
  event.respondWith(
    (async () => {
      const cached = await caches.match(path, { cacheName: CACHE });
      return cached ?? fetch(request);
    })(),
  );
});

async function networkFirst(request: Request): Promise<Response> {
  try {
    const response = await fetch(request, { cache: 'no-store' });
    if (response.ok) {
      const cache = await caches.open(CONFIG_CACHE);
      await cache.put('/config.json', response.clone());
    }
    return response;
  } catch (err) {
    const cached = await caches.match('/config.json', { cacheName: CONFIG_CACHE });
    if (cached) return cached;
    throw err;
  }
}
