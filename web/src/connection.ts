// One WebSocket that stays up: requests matched to replies by id, a heartbeat
// under API Gateway's 10-minute idle limit, and reconnects with exponential
// backoff and jitter so a restarted server is not hit by every client at once.
import { signal } from '@preact/signals';
import { ConnectionLost, ServerError, type ServerFrame } from './types.js';

export type ConnectionStatus = 'connecting' | 'open' | 'waiting' | 'stopped';

/** Milliseconds before reconnect attempt `attempt` (0-based): half fixed, half random, capped. */
export function backoffDelay(attempt: number, random: () => number = Math.random, baseMs = 1000, capMs = 30_000): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

export interface ConnectionHandlers {
  /** the socket opened (first time or again) */
  onOpen(): void;
  /** a frame that is not the reply to one of our requests */
  onFrame(frame: ServerFrame): void;
  /** the socket closed; a reconnect is scheduled unless stopped */
  onClose(): void;
  /** a heartbeat's `pong`, to the `ping` sent at `sentAt` (ms since the epoch) */
  onPong?(pong: ServerFrame, sentAt: number): void;
}

export interface ConnectionOptions {
  /** well under API Gateway's 10-minute idle timeout */
  heartbeatMs?: number;
  /** a ping unanswered this long means the connection is dead */
  pongTimeoutMs?: number;
  requestTimeoutMs?: number;
}

interface Pending {
  resolve(frame: ServerFrame): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class Connection {
  readonly status = signal<ConnectionStatus>('connecting');
  /** when the next attempt starts (epoch ms), while waiting */
  readonly retryAt = signal<number | null>(null);

  private ws: WebSocket | undefined;
  private attempt = 0;
  private seq = 0;
  private pending = new Map<string, Pending>();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private readonly heartbeatMs: number;
  private readonly pongTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly url: string,
    private readonly handlers: ConnectionHandlers,
    options: ConnectionOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 4 * 60_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 20_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 20_000;
  }

  start(): void {
    this.open();
  }

  /** Closes for good (page unload). */
  stop(): void {
    this.status.value = 'stopped';
    clearTimeout(this.retryTimer);
    this.drop(new ConnectionLost());
  }

  /** Skips the wait before the next attempt ("Retry now", the browser came back online). */
  reconnectNow(): void {
    if (this.status.value !== 'waiting') return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  /**
   * The browser says the network is gone (`offline`): the socket is dead even
   * though no close has come, and none may come for minutes (a close frame
   * cannot cross a network that is not there; the heartbeat would notice only
   * after its next ping goes unanswered). Show it at once and wait; `online`
   * skips the wait. A spurious `offline` costs one reconnect.
   */
  networkLost(): void {
    if (this.status.value !== 'open' && this.status.value !== 'connecting') return;
    this.drop(new ConnectionLost());
    this.scheduleReconnect();
    this.handlers.onClose();
  }

  /** The session is working again: the next outage starts from the shortest wait. */
  markHealthy(): void {
    this.attempt = 0;
  }

  get isOpen(): boolean {
    return this.status.value === 'open';
  }

  /** Sends a frame with a fresh id; resolves with the reply, rejects with ServerError or ConnectionLost. */
  request(frame: Record<string, unknown>, timeoutMs = this.requestTimeoutMs): Promise<ServerFrame> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new ConnectionLost());
    const id = `c${++this.seq}`;
    return new Promise<ServerFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new ConnectionLost('The server did not answer in time.'));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...frame, id }));
    });
  }

  /**
   * Sends a frame that has no reply on success (`typing`): no id, nothing
   * waited for; an `error` about it arrives as an unmatched frame. False when
   * not connected (the frame is dropped: it is news only now).
   */
  send(frame: Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  private open(): void {
    this.retryAt.value = null;
    this.status.value = 'connecting';
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.status.value = 'open';
      this.startHeartbeat();
      this.handlers.onOpen();
    };
    ws.onmessage = (event) => {
      let frame: ServerFrame;
      try {
        frame = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const waiting = frame.re !== undefined ? this.pending.get(frame.re) : undefined;
      if (!waiting) return this.handlers.onFrame(frame);
      this.pending.delete(frame.re!);
      clearTimeout(waiting.timer);
      if (frame.type === 'error') waiting.reject(new ServerError(String(frame.code), String(frame.message)));
      else waiting.resolve(frame);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.drop(new ConnectionLost());
      if (this.status.value !== 'stopped') this.scheduleReconnect();
      this.handlers.onClose();
    };
  }

  /** Forgets the socket at once: a dead TCP connection may take minutes to report its close. */
  private drop(reason: Error): void {
    clearInterval(this.heartbeat);
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try {
        ws.close(1000);
      } catch {
        /* already closed */
      }
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(reason);
    }
    this.pending.clear();
  }

  private scheduleReconnect(): void {
    const delay = backoffDelay(this.attempt++);
    this.status.value = 'waiting';
    this.retryAt.value = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  private startHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      const ws = this.ws;
      const sentAt = Date.now();
      this.request({ action: 'ping' }, this.pongTimeoutMs).then((pong) => this.handlers.onPong?.(pong, sentAt), () => {
        // No pong: treat the connection as lost and start over.
        if (this.ws !== ws || !ws) return;
        this.drop(new ConnectionLost());
        this.scheduleReconnect();
        this.handlers.onClose();
      });
    }, this.heartbeatMs);
  }
}
