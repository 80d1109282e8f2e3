// A PUT to a file URL that is not valid is refused at once; the connection must
// not stay open while its announced body trickles in, or one address could hold
// connections for REQUEST_TIMEOUT_SECONDS each with nothing but bad URLs.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

it('a refused upload closes its connection without waiting for the body', async () => {
  const { hostname, port } = new URL(t.url);
  const s = net.connect(Number(port), hostname);
  let reply = '';
  s.on('data', (d) => (reply += d.toString()));
  const closed = new Promise<boolean>((resolve) => {
    s.on('close', () => resolve(true));
    setTimeout(() => resolve(false), 3000);
  });
  s.write(
    'PUT /files/AAAAAAAAAAAAAAAAAAAAAA?e=9999999999&n=26214400&t=text%2Fplain&s=xxxx HTTP/1.1\r\n' +
      'Host: x\r\nContent-Type: text/plain\r\nContent-Length: 26214400\r\n\r\n',
  );
  const wasClosed = await closed;
  s.destroy();
  expect(reply).toMatch(/^HTTP\/1.1 403/);
  expect(reply).toMatch(/This link is not valid\./);
  expect(wasClosed).toBe(true);
});
