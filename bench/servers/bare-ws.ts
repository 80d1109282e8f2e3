// Baseline: a bare `ws` broadcast server, the limit of Node on this machine. It
// answers the chat's `send` with the same `sent` reply and `message` frame, encodes
// each frame once and writes the same bytes to every socket; no auth, no storage.
import { WebSocketServer, type WebSocket } from 'ws';
import { serveParent } from './child.js';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 1024 * 1024 });
const room = new Set<WebSocket>();
let nextId = 0;

wss.on('connection', (ws) => {
  room.add(ws);
  ws.on('close', () => room.delete(ws));
  ws.on('message', (data) => {
    const f = JSON.parse(data.toString());
    if (f.action !== 'send') return;
    const message = { id: String(++nextId), room: f.room, from: 'bench', text: f.text, at: new Date().toISOString(), clientId: f.clientId };
    ws.send(JSON.stringify({ type: 'sent', clientId: f.clientId, message, re: f.id }));
    const frame = Buffer.from(JSON.stringify({ type: 'message', message }));
    for (const peer of room) peer.send(frame, { binary: false });
  });
});

wss.on('listening', () => {
  const { port } = wss.address() as { port: number };
  serveParent(port, async () => {
    for (const ws of room) ws.terminate();
    wss.close();
  });
});
