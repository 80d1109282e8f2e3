// Baseline: a bare Socket.IO broadcast server, what many would pick instead. The
// same `send` → ack + `message` broadcast to the room; websocket transport only.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { serveParent } from './child.js';

const http = createServer();
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false });
let nextId = 0;

io.on('connection', (socket) => {
  socket.join('bench');
  socket.on('send', (f: { room: string; text: string; clientId: string }, ack?: (reply: unknown) => void) => {
    const message = { id: String(++nextId), room: f.room, from: 'bench', text: f.text, at: new Date().toISOString(), clientId: f.clientId };
    ack?.({ type: 'sent', clientId: f.clientId, message });
    io.to('bench').emit('message', { type: 'message', message });
  });
});

http.listen(0, '127.0.0.1', () => {
  serveParent((http.address() as AddressInfo).port, async () => {
    io.disconnectSockets(true);
    await new Promise<void>((r) => io.close(() => r()));
  });
});
