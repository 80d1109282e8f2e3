// The gateway port for the local server: the sockets live in this process.
import type { Socket } from 'node:net';
import * as ws from 'ws';
import type { WebSocket } from 'ws';
import type { Frame, Gateway } from '../core/ports.js';

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

export class LocalGateway implements Gateway {
  readonly sockets = new Map<string, WebSocket>();

  add(connectionId: string, socket: WebSocket): void {
    this.sockets.set(connectionId, socket);
  }

  remove(connectionId: string): void {
    this.sockets.delete(connectionId);
  }

  async post(connectionIds: readonly string[], frame: Frame): Promise<string[]> {
    if (connectionIds.length === 0) return [];
    // Encode and frame once: every socket writes the very same bytes.
    const payload = Buffer.from(JSON.stringify(frame));
    const wire = Buffer.concat(Sender.frame(payload, TEXT_FRAME));
    const gone: string[] = [];
    for (const id of connectionIds) {
      const socket = this.sockets.get(id);
      if (!socket || socket.readyState !== OPEN) {
        gone.push(id);
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

  async disconnect(connectionId: string): Promise<void> {
    this.sockets.get(connectionId)?.close(1000, 'Closed by the server');
  }
}
