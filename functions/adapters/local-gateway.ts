// The gateway port for the local server: the sockets live in this process.
import type { WebSocket } from 'ws';
import type { Frame, Gateway } from '../core/ports.js';

const OPEN = 1;

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
    // Encode once; every socket writes the same bytes.
    const data = Buffer.from(JSON.stringify(frame));
    const gone: string[] = [];
    for (const id of connectionIds) {
      const socket = this.sockets.get(id);
      if (socket && socket.readyState === OPEN) socket.send(data, { binary: false });
      else gone.push(id);
    }
    return gone;
  }

  async disconnect(connectionId: string): Promise<void> {
    this.sockets.get(connectionId)?.close(1000, 'Closed by the server');
  }
}
