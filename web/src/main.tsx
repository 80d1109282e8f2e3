// Entry point: read where the WebSocket is (config.json beside the page), then
// start the chat and render it.
import './styles.css';
import { effect } from '@preact/signals';
import { render } from 'preact';
import { Chat } from './chat.js';
import { App } from './components/App.js';
import { ChatContext } from './components/context.js';
import { loadMarkdown } from './format.js';
import { applyTheme } from './theme.js';

interface ClientConfig {
  websocketUrl: string;
  /** the local server's mail outbox folder, told only to a page on the same machine */
  outboxDir?: string;
}

async function loadConfig(): Promise<ClientConfig> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch('/config.json', { cache: 'no-store' });
      if (res.ok) {
        const config = (await res.json()) as Partial<ClientConfig>;
        if (typeof config.websocketUrl === 'string') return config as ClientConfig;
      }
    } catch {
      // offline: try again below
    }
    await new Promise((r) => setTimeout(r, Math.min(30_000, 1000 * 2 ** attempt)));
  }
}

applyTheme();
// the formatter's chunk, fetched while the configuration and the session load
void loadMarkdown().catch(() => {});
const config = await loadConfig();
const chat = new Chat(config.websocketUrl, { outboxDir: typeof config.outboxDir === 'string' ? config.outboxDir : undefined });

effect(() => {
  const n = chat.totalUnread.value;
  document.title = n > 0 ? `(${n}) Wild Whispers` : 'Wild Whispers';
});
// Back from sleep or a network change: do not wait out the backoff.
window.addEventListener('online', () => chat.conn.reconnectNow());
window.addEventListener('offline', () => chat.conn.networkLost());
document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && chat.conn.reconnectNow());

render(
  <ChatContext.Provider value={chat}>
    <App />
  </ChatContext.Provider>,
  document.getElementById('app')!,
);
chat.start();

// The offline app shell (web/src/sw): only where the browser allows a service
// worker (https, or this machine); elsewhere the page works as before, online.
if ('serviceWorker' in navigator) void navigator.serviceWorker.register('/sw.js').catch(() => {});

// for the browser tests and the curious: the state, read-only by convention
(window as unknown as { wildWhispers: Chat }).wildWhispers = chat;
