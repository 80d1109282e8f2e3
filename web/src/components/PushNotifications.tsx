// The Account dialog's "Notifications on this device" section (E25). Nothing is
// asked of the browser until the person presses "Turn on notifications": then the
// permission prompt, the service worker (/sw.js), and a Push API subscription
// with the server's VAPID key, which the server keeps per device. Every device
// with notifications on is listed, each removable; a checkbox says whether
// notifications may show the message's text.
import { useEffect, useState } from 'preact/hooks';
import { describeError } from './Field.js';
import { useChat } from './context.js';

interface SubscriptionInfo {
  id: string;
  device: string | null;
  createdAt: string;
  lastUsedAt: string | null;
}

/** This browser's subscription id, to mark "this device" in the list. */
const MINE_KEY = 'ww.push.subscription';

export function pushSupported(): boolean {
  return typeof navigator !== 'undefined' && 'serviceWorker' in navigator && typeof window !== 'undefined' && 'PushManager' in window && 'Notification' in window;
}

/** "Firefox on Linux": a label a person recognises their device by. */
function deviceLabel(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

function base64urlToBytes(s: string): Uint8Array {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function bytesToBase64url(buffer: ArrayBuffer | null): string {
  if (!buffer) return '';
  return btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : 'never');

export function PushSection() {
  const chat = useChat();
  const [subs, setSubs] = useState<SubscriptionInfo[] | null>(null);
  const [publicKey, setPublicKey] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const supported = pushSupported();
  const mine = typeof localStorage !== 'undefined' ? localStorage.getItem(MINE_KEY) : null;

  const load = async () => {
    const reply = await chat.pushRequest({ action: 'push_subscriptions' });
    setSubs(reply.subscriptions as SubscriptionInfo[]);
    setPublicKey(String(reply.publicKey));
    if (typeof reply.pushText === 'boolean') chat.pushText.value = reply.pushText;
  };
  useEffect(() => {
    load().catch((err) => setError(describeError(err)));
  }, [chat]);

  const act = async (work: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    setStatus(null);
    try {
      await work();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const turnOn = () =>
    act(async () => {
      if (!publicKey) throw new Error('The server has not said how to subscribe yet; try again in a moment.');
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') throw new Error('Notifications are blocked for this site. Allow them in the browser’s site settings, then try again.');
      const registration = await navigator.serviceWorker.register('/sw.js');
      await navigator.serviceWorker.ready;
      const subscription =
        (await registration.pushManager.getSubscription()) ??
        (await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64urlToBytes(publicKey) as BufferSource }));
      const reply = await chat.pushRequest({
        action: 'push_subscribe',
        endpoint: subscription.endpoint,
        keys: { p256dh: bytesToBase64url(subscription.getKey('p256dh')), auth: bytesToBase64url(subscription.getKey('auth')) },
        device: deviceLabel(),
      });
      localStorage.setItem(MINE_KEY, String((reply.subscription as SubscriptionInfo).id));
      await load();
      setStatus('Notifications are on for this device.');
    });

  const remove = (sub: SubscriptionInfo) =>
    act(async () => {
      await chat.pushRequest({ action: 'push_unsubscribe', subscription: sub.id });
      if (sub.id === mine) {
        localStorage.removeItem(MINE_KEY);
        const registration = await navigator.serviceWorker?.getRegistration('/');
        await (await registration?.pushManager.getSubscription())?.unsubscribe();
      }
      await load();
      setStatus(`Notifications are off for ${sub.device ?? 'that device'}.`);
    });

  const onHere = subs?.some((s) => s.id === mine) ?? false;
  return (
    <section class="account-section" aria-labelledby="push-heading">
      <h3 id="push-heading">Notifications on this device</h3>
      <p class="hint">
        Get a notification for direct messages and mentions while no tab of Wild Whispers is in front of you. A notification says who
        wrote and where; the message itself only if you allow it below.
      </p>
      {!supported ? (
        <p>This browser cannot show notifications from websites.</p>
      ) : onHere ? (
        <p>Notifications are on for this device.</p>
      ) : (
        <button type="button" class="btn" disabled={busy || !publicKey} onClick={() => void turnOn()}>
          Turn on notifications
        </button>
      )}
      {chat.pushText.value !== null && (
        <label class="check">
          <input
            type="checkbox"
            checked={chat.pushText.value}
            onChange={(e) => {
              const on = e.currentTarget.checked;
              // shown at once; put back if the server refuses
              chat.pushText.value = on;
              void act(() => chat.setPushText(on).catch((err) => {
                chat.pushText.value = !on;
                throw err;
              }));
            }}
          />
          Show the message text in notifications
        </label>
      )}
      {subs && subs.length > 0 && (
        <ul class="blocked-list" aria-label="Devices with notifications on">
          {subs.map((s) => (
            <li key={s.id}>
              <span>
                {s.device ?? 'A device'}
                {s.id === mine ? ' (this device)' : ''} · on since {when(s.createdAt)} · last notified {when(s.lastUsedAt)}
              </span>
              <button type="button" class="btn small" disabled={busy} aria-label={`Turn off notifications for ${s.device ?? 'a device'}${s.id === mine ? ' (this device)' : ''}`} onClick={() => void remove(s)}>
                Turn off
              </button>
            </li>
          ))}
        </ul>
      )}
      {status && (
        <p class="hint" role="status">
          {status}
        </p>
      )}
      {error && (
        <p class="field-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
