// *(E25)* Web Push on Lambda. Every function that may need it gets this Pusher:
// the public key and the SSRF guard's resolver need nothing heavy. Sending needs
// the `web-push` package (about 120 KB bundled), which only the `send` function
// bundles: its entry registers the sender (functions/send.ts), so `$default`
// stays under the bundle size limit. A function without it sends nothing.
import type { Logger, PushTarget, Pusher } from '../core/ports.js';
import { resolveHost, type VapidKeys } from './push-keys.js';

export interface AwsPusherOptions {
  keys: () => Promise<VapidKeys>;
  subject: string;
  allowPrivate: boolean;
  timeoutMs: number;
  log: Logger;
}

type Sender = (options: AwsPusherOptions) => Pick<Pusher, 'send'>;
let registered: Sender | undefined;

/** Called by the entry of a function that sends pushes. */
export function registerPushSender(sender: Sender): void {
  registered = sender;
}

export class AwsPusher implements Pusher {
  private keys?: Promise<VapidKeys>;
  private sender?: Pick<Pusher, 'send'>;

  constructor(private readonly options: AwsPusherOptions) {}

  private vapid(): Promise<VapidKeys> {
    this.keys ??= this.options.keys().catch((err) => {
      this.keys = undefined;
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
    if (!registered) {
      this.options.log.error('this function cannot send pushes (no sender registered)');
      return 0;
    }
    this.sender ??= registered({ ...this.options, keys: () => this.vapid() });
    return this.sender.send(target, payload, ttlSeconds);
  }
}
