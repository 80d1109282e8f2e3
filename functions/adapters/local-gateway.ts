// The gateway port for the local server: the sockets live in this process.
import type { Socket } from 'node:net';
import * as ws from 'ws';
import type { WebSocket } from 'ws';
import { securityEvent } from '../core/audit.js';
import type { Frame, Gateway, Logger } from '../core/ports.js';
import { MAX_SERVER_FRAME_BYTES } from '../core/sizes.js';

const OPEN = 1;
/** ws's Sender state when it is not compressing or reading a Blob */
const SENDER_IDLE = 0;

/** The parts of a `ws` socket the fan-out writes through (ws 8). */
interface WsInternals {
  _socket?: Socket;
  _sender?: { _state: number; _queue: unknown[] };
}

/** ws's frame encoder (exported by ws, absent from its type definitions). */
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** Text frame options: one final, unmasked frame (server to client). */
const TEXT_FRAME = { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false };

// Sockets written during this turn of the event loop stay corked until it ends, so
// frames bound for one socket (a reply and broadcasts, several fan-outs under
// load) leave in one system call instead of one each.
const corked = new Set<Socket>();
function uncorkAll(): void {
  for (const socket of corked) socket.uncork();
  corked.clear();
}

export interface LocalGatewayOptions {
  /** unsent bytes a socket may hold before it is closed (1008) */
  maxBufferedBytes?: number;
  log?: Logger;
  /** told of every frame posted, before it is written (the server watches sign-ins) */
  onPost?: (connectionIds: readonly string[], frame: Frame) => void;
}

const CLOSE_POLICY = 1008;

export class LocalGateway implements Gateway {
  readonly sockets = new Map<string, WebSocket>();
  private readonly maxBufferedBytes: number;
  private readonly log: Logger | undefined;
  private readonly onPost: LocalGatewayOptions['onPost'];

  constructor(options: LocalGatewayOptions = {}) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.log = options.log;
    this.onPost = options.onPost;
  }

  add(connectionId: string, socket: WebSocket): void {
    this.sockets.set(connectionId, socket);
  }

  remove(connectionId: string): void {
    this.sockets.delete(connectionId);
  }

  async post(connectionIds: readonly string[], frame: Frame): Promise<string[]> {
    if (connectionIds.length === 0) return [];
    this.onPost?.(connectionIds, frame);
    // Encode and frame once: every socket writes the very same bytes.
    const payload = Buffer.from(JSON.stringify(frame));
    if (payload.length > MAX_SERVER_FRAME_BYTES) {
      // As PostToConnection does on AWS: not sent. Locally too, so that a reply
      // which could not reach a client there fails every test here.
      if (this.log) {
        securityEvent(this.log, 'reply_too_large', { frame: frame.type, bytes: payload.length, limit: MAX_SERVER_FRAME_BYTES, connections: connectionIds.length });
      }
      return [];
    }
    const wire = Buffer.concat(Sender.frame(payload, TEXT_FRAME));
    const gone: string[] = [];
    for (const id of connectionIds) {
      const socket = this.sockets.get(id);
      if (!socket || socket.readyState !== OPEN) {
        gone.push(id);
        continue;
      }
      // A client that does not read would make us hold its frames without bound:
      // past the bound it is closed instead (it catches up after a reconnect).
      if (socket.bufferedAmount + wire.length > this.maxBufferedBytes) {
        this.tooFarBehind(id, socket);
        continue;
      }
      const { _socket: raw, _sender: sender } = socket as unknown as WsInternals;
      if (raw && sender && sender._state === SENDER_IDLE && sender._queue.length === 0) {
        // Nothing of ws's own is queued, so writing the frame directly keeps order.
        if (!corked.has(raw)) {
          if (corked.size === 0) setImmediate(uncorkAll);
          raw.cork();
          corked.add(raw);
        }
        raw.write(wire);
      } else {
        socket.send(payload, { binary: false });
      }
    }
    return gone;
  }

  /**
   * Closes a socket that has stopped reading. The close frame waits behind what
   * is buffered; ws destroys the socket if the peer does not answer it within its
   * close timeout, and nothing more is written meanwhile (it is no longer open).
   */
  private tooFarBehind(connectionId: string, socket: WebSocket): void {
    if (this.log) securityEvent(this.log, 'backpressure_closed', { connectionId, bufferedBytes: socket.bufferedAmount, limit: this.maxBufferedBytes });
    socket.close(CLOSE_POLICY, 'Too far behind: this client is not reading its messages');
  }

  async disconnect(connectionId: string): Promise<void> {
    this.sockets.get(connectionId)?.close(1000, 'Closed by the server');
  }
}
