// Baseline: a bare `ws` broadcast server, the limit of Node on this machine. It
// answers the chat's `send` with the same `sent` reply and `message` frame, encodes
// each frame once and writes the same bytes to every socket; no auth, no storage.
import type { Socket } from 'node:net';
import * as ws from 'ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { serveParent } from './child.js';

// BARE_WS_WRITES=corked: the chat's own write path (functions/adapters/local-gateway.ts):
// framed once, written straight to each socket, corked until the event loop's turn
// ends. It shows what that technique alone is worth, apart from the chat's work.
const CORKED = process.env.BARE_WS_WRITES === 'corked';
const { Sender } = ws as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };
const corked = new Set<Socket>();
function uncorkAll() {
  for (const s of corked) s.uncork();
  corked.clear();
}
function broadcast(payload: Buffer) {
  if (!CORKED) {
    for (const peer of room) peer.send(payload, { binary: false });
    return;
  }
  const wire = Buffer.concat(Sender.frame(payload, { fin: true, opcode: 1, mask: false, readOnly: true, rsv1: false }));
  for (const peer of room) {
    const raw = (peer as unknown as { _socket: Socket })._socket;
    if (!corked.has(raw)) {
      if (corked.size === 0) setImmediate(uncorkAll);
      raw.cork();
      corked.add(raw);
    }
    raw.write(wire);
  }
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024 });
const room = new Set<WebSocket>();
let nextId = 0;

wss.on('connection', (socket) => {
  room.add(socket);
  socket.on('close', () => room.delete(socket));
  socket.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.action !== 'send') return;
    const message = { id: String(++nextId), room: f.room, from: 'bench', text: f.text, at: new Date().toISOString(), clientId: f.clientId };
    socket.send(JSON.stringify({ type: 'sent', clientId: f.clientId, message, re: f.id }));
    broadcast(Buffer.from(JSON.stringify({ type: 'message', message })));
  });
});

wss.on('listening', () => {
  const { port } = wss.address() as { port: number };
  serveParent(port, async () => {
    for (const socket of room) socket.terminate();
    wss.close();
  });
});
