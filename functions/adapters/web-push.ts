// Web Push (E25) with the `web-push` package: the payload encrypted to the
// browser's keys (RFC 8291, aes128gcm), the request signed with the server's
// VAPID key (RFC 8292), one HTTPS POST to the push service. The keys live under
// DATA_DIR on the local server and in Secrets Manager on AWS; neither is ever
// logged. Connections go through an agent whose DNS lookup refuses private,
// loopback and link-local addresses, so a name that resolved to a public
// address when it was subscribed cannot be turned on the server's own network
// later (DNS rebinding).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent } from 'node:https';
import { isIP } from 'node:net';
import webpush from 'web-push';
import type { Logger, PushTarget, Pusher } from '../core/ports.js';
import { isPrivateAddress } from '../core/push.js';
import { resolveHost, type VapidKeys } from './push-keys.js';

export interface WebPusherOptions {
  /** where the VAPID keys come from (read once, kept) */
  keys: () => Promise<VapidKeys>;
  /** the contact push services may write to: mailto: or https: */
  subject: string;
  /** tests and local runs only: push services on private and loopback addresses */
  allowPrivate: boolean;
  /** PEM certificates to trust besides the system's (tests: a local push service's CA) */
  ca?: string;
  /** a push service's answer must come within this */
  timeoutMs: number;
  log: Logger;
}

/** A resolver for sockets that refuses private addresses unless they are allowed. */
function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: (...args: unknown[]) => void) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err);
      if (!allowPrivate && addresses.some((a) => isPrivateAddress(a.address))) {
        return callback(Object.assign(new Error(`${hostname} resolves to a private address`), { code: 'EPRIVATE' }));
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }));
      callback(null, first.address, first.family);
    });
  };
}

export class WebPusher implements Pusher {
  private readonly agent: Agent;
  private keys?: Promise<VapidKeys>;

  constructor(private readonly options: WebPusherOptions) {
    // Few sockets, kept alive: most pushes go to a handful of push services.
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(options.ca ? { ca: options.ca } : {}),
      lookup: guardedLookup(options.allowPrivate) as never,
    });
  }

  private vapid(): Promise<VapidKeys> {
    this.keys ??= this.options.keys().catch((err) => {
      this.keys = undefined; // a later push tries again
      throw err;
    });
    return this.keys;
  }

  async publicKey(): Promise<string> {
    return (await this.vapid()).publicKey;
  }

  resolve(hostname: string): Promise<string[]> {
    return resolveHost(hostname);
  }

  async send(target: PushTarget, payload: string, ttlSeconds: number): Promise<number> {
    const { log } = this.options;
    let host = '';
    try {
      const url = new URL(target.endpoint);
      host = url.host;
      // A literal address never reaches the lookup: checked here (subscribe checked it too).
      const bare = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(bare) && !this.options.allowPrivate && isPrivateAddress(bare)) return 0;
      const keys = await this.vapid();
      const result = await webpush.sendNotification({ endpoint: target.endpoint, keys: { p256dh: target.p256dh, auth: target.auth } }, payload, {
        vapidDetails: { subject: this.options.subject, publicKey: keys.publicKey, privateKey: keys.privateKey },
        TTL: ttlSeconds,
        contentEncoding: 'aes128gcm',
        urgency: 'high',
        timeout: this.options.timeoutMs,
        agent: this.agent,
      });
      return result.statusCode;
    } catch (err) {
      if (err instanceof webpush.WebPushError) return err.statusCode;
      // The host and the error's code only: the endpoint's path and the keys are secrets.
      log.warn('push not sent', { host, error: (err as { code?: string }).code ?? (err instanceof Error ? err.message.slice(0, 200) : 'unknown') });
      return 0;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}
