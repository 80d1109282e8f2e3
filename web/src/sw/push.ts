// *(E25)* The service worker's Web Push part: a push shows a notification of who
// wrote where (and the text only when its person allowed it: the server decides,
// the payload carries it or not); a click on it focuses an open tab on that room,
// or opens the app at `/#room=ID`. The payload was encrypted to this browser's
// subscription keys; the browser decrypted it before this code sees it.

// What the server pushes: the type only, erased from the worker's bundle.
import type { PushPayload } from '../../../functions/core/push.js';

// The worker's globals, typed here: the project's TypeScript lib is the DOM's,
// not the WebWorker one (the two cannot be mixed in one program).
interface PushEventLike extends ExtendableEventLike {
  data: { json(): unknown; text(): string } | null;
}
interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface NotificationEventLike extends ExtendableEventLike {
  notification: Notification & { data?: unknown };
}
interface WindowClientLike {
  url: string;
  focus(): Promise<unknown>;
  postMessage(message: unknown): void;
}
interface WorkerScope {
  registration: ServiceWorkerRegistration;
  clients: {
    matchAll(options: { type: 'window'; includeUncontrolled: boolean }): Promise<WindowClientLike[]>;
    openWindow(url: string): Promise<unknown>;
  };
  location: Location;
  addEventListener(type: 'push', listener: (e: PushEventLike) => void): void;
  addEventListener(type: 'notificationclick', listener: (e: NotificationEventLike) => void): void;
}


function isPayload(value: unknown): value is PushPayload {
  const p = value as PushPayload | null;
  return typeof p?.room === 'string' && typeof p.from === 'string' && typeof p.roomName === 'string' && typeof p.messageId === 'string';
}

/** The notification's title, body and options for a payload. */
export function describePush(p: PushPayload): { title: string; options: NotificationOptions } {
  const title = p.reason === 'dm' ? `${p.from}` : `${p.from} in ${p.roomName}`;
  const said = p.text ?? (p.reason === 'dm' ? 'sent you a message' : 'mentioned you');
  return {
    title,
    options: {
      body: p.text !== undefined ? said : `${p.from} ${said}`,
      // one notification per room: a newer message replaces the older one
      tag: `room:${p.room}`,
      data: { room: p.room, messageId: p.messageId },
      icon: '/favicon.svg',
      badge: '/favicon.svg',
      lang: 'en',
    },
  };
}

export function installPush(scope: WorkerScope): void {
  scope.addEventListener('push', (event) => {
    let payload: unknown;
    try {
      payload = event.data?.json();
    } catch {
      payload = undefined;
    }
    // A push must show something (userVisibleOnly); an unreadable one says little.
    const { title, options } = isPayload(payload)
      ? describePush(payload)
      : { title: 'Wild Whispers', options: { body: 'You have a new message.', tag: 'unknown' } as NotificationOptions };
    event.waitUntil(scope.registration.showNotification(title, options));
  });

  scope.addEventListener('notificationclick', (event) => {
    event.notification.close();
    const data = event.notification.data as { room?: unknown } | undefined;
    const room = typeof data?.room === 'string' ? data.room : undefined;
    const url = new URL(room ? `/#room=${encodeURIComponent(room)}` : '/', scope.location.origin).href;
    event.waitUntil(
      (async () => {
        const windows = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
        const open = windows.find((w) => new URL(w.url).origin === scope.location.origin);
        if (open) {
          await open.focus();
          if (room) open.postMessage({ type: 'open-room', room });
          return;
        }
        await scope.clients.openWindow(url);
      })(),
    );
  });
}
