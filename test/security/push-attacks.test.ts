// Push subscriptions are URLs a client makes the server send to: every form of
// pointing them at the server's own network is refused (http, literal private
// and loopback addresses in IPv4 and IPv6, names that resolve to them), keys of
// the wrong size are refused, and a refused request stores nothing. Without the
// test setting (PUSH_ALLOW_INSECURE) there is no exception.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress } from '../../functions/core/push.js';
import { signUp, type TestClient } from '../helpers/client.js';
import { makeSubscriber } from '../helpers/push-service.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('isPrivateAddress', () => {
  it('knows the private, loopback, link-local and reserved ranges, also inside IPv6', () => {
    for (const ip of [
      '127.0.0.1', '127.1.2.3', '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.1', '192.168.1.1', '169.254.169.254',
      '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '::', '::1', 'fe80::1', 'fc00::1', 'fd12:3456::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:c0a8:101::1', 'ff02::1', '2001:db8::1', 'not an address',
      // documentation ranges; IPv4-compatible and IPv4-translated forms; Teredo, ORCHID; outside global unicast
      '192.0.2.2', '198.51.100.7', '203.0.113.9', '192.88.99.1', '::127.0.0.1', '::7f00:1', '::a9fe:a9fe', '::a00:1', '::ffff:0:7f00:1',
      '2001::1', '2001:10::1', '2001:20::1', '3fff::1', '64:ff9b:1::a00:1', '100::1', '4000::1',
    ]) {
      expect(isPrivateAddress(ip), ip).toBe(true);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2607:f8b0:4004:800::200e', '2a00:1450::1', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      expect(isPrivateAddress(ip), ip).toBe(false);
    }
  });
});

let t: TestServer;
let alice: TestClient;
beforeAll(async () => {
  t = await startTestServer({ PUSH_ACTIONS_PER_HOUR: '1000' });
  alice = await signUp(t);
});
afterAll(async () => {
  await alice?.close();
  await t?.close();
});

const stored = async () => (await t.db.sql`select count(*)::int as n from push_subscriptions`)[0]!.n as number;

describe('push_subscribe refuses', () => {
  const keys = makeSubscriber('https://push.example.net/x').keys;

  it.each([
    ['http', 'http://push.example.net/send/1', /https/],
    ['a literal loopback address', 'https://127.0.0.1/send/1', /private, loopback or link-local/],
    ['another loopback address', 'https://127.8.9.10:8443/send/1', /private, loopback or link-local/],
    ['a private address', 'https://10.1.2.3/send/1', /private, loopback or link-local/],
    ['a private address written as a number', 'https://167772161/send/1', /private, loopback or link-local/],
    ['the cloud metadata address', 'https://169.254.169.254/latest', /private, loopback or link-local/],
    ['IPv6 loopback', 'https://[::1]/send/1', /private, loopback or link-local/],
    ['IPv6 link-local', 'https://[fe80::1]/send/1', /private, loopback or link-local/],
    ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/send/1', /private, loopback or link-local/],
    ['a name that resolves to loopback', 'https://localhost/send/1', /resolves to a private/],
    ['a name that resolves to nothing', 'https://push.invalid/send/1', /could not be resolved/],
    ['credentials in the URL', 'https://someone:pw@push.example.net/send/1', /user name or password/],
    ['a non-URL', 'push me', /must be a URL/],
    ['an endpoint too long', `https://push.example.net/${'a'.repeat(1100)}`, /at most 1024/],
  ])('%s', async (_what, endpoint, message) => {
    const reply = await alice.request({ action: 'push_subscribe', endpoint, keys });
    expect(reply).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(reply.message).toMatch(message);
    expect(await stored()).toBe(0);
  });

  it.each([
    ['an oversized p256dh', { p256dh: 'A'.repeat(200), auth: keys.auth }, /p256dh/],
    ['a short p256dh', { p256dh: keys.p256dh.slice(0, 40), auth: keys.auth }, /p256dh must be an uncompressed P-256 public key/],
    ['a p256dh that is not base64url', { p256dh: `${keys.p256dh.slice(0, 86)}!`, auth: keys.auth }, /p256dh/],
    ['an oversized auth', { p256dh: keys.p256dh, auth: 'A'.repeat(64) }, /auth/],
    ['a short auth', { p256dh: keys.p256dh, auth: 'AAAA' }, /auth must be a 16-byte secret/],
    // 65 bytes that start as an uncompressed key does, but are no point on the curve
    ['a p256dh off the curve', { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url'), auth: keys.auth }, /p256dh must be an uncompressed P-256 public key/],
    ['a p256dh of zeros', { p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64)]).toString('base64url'), auth: keys.auth }, /p256dh must be an uncompressed P-256 public key/],
    ['no keys', undefined, /keys/],
  ])('%s', async (_what, badKeys, message) => {
    const reply = await alice.request({ action: 'push_subscribe', endpoint: 'https://push.example.net/send/1', keys: badKeys });
    expect(reply).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(reply.message).toMatch(message);
    expect(await stored()).toBe(0);
  });

  it('a device label too long, and a bad subscription id', async () => {
    expect(await alice.request({ action: 'push_subscribe', endpoint: 'https://push.example.net/1', keys, device: 'x'.repeat(65) })).toMatchObject({
      code: 'bad_request',
    });
    // a NUL cannot be stored, control and direction characters do not make a label
    for (const device of ['a\u0000b', 'two\nlines', 'evil\u202eexe.png']) {
      const reply = await alice.request({ action: 'push_subscribe', endpoint: 'https://push.example.net/1', keys, device });
      expect(reply, JSON.stringify(device)).toMatchObject({ code: 'bad_request', message: 'device must be one line of text, without control characters.' });
    }
    expect(await stored()).toBe(0);
    expect(await alice.request({ action: 'push_unsubscribe', subscription: '1 or 1=1' })).toMatchObject({ code: 'bad_request' });
    expect(await alice.request({ action: 'push_unsubscribe', subscription: '999999' })).toMatchObject({ code: 'not_found' });
  });

  it('before login', async () => {
    const { TestClient } = await import('../helpers/client.js');
    const anon = await TestClient.connect(t.wsUrl);
    expect(await anon.request({ action: 'push_subscribe', endpoint: 'https://push.example.net/1', keys })).toMatchObject({ code: 'unauthorized' });
    expect(await anon.request({ action: 'activity', state: 'idle' })).toMatchObject({ code: 'unauthorized' });
    await anon.close();
  });
});

describe('activity', () => {
  it('is budgeted per person', async () => {
    const bob = await signUp(t);
    const limit = t.config.settings.activityPerMinute;
    let refused: Record<string, unknown> | undefined;
    for (let i = 0; i <= limit && !refused; i++) {
      const reply = await bob.request({ action: 'activity', state: i % 2 ? 'idle' : 'active' });
      if (reply.type === 'error') refused = reply;
    }
    expect(refused).toMatchObject({ code: 'rate_limited', retryAfter: expect.any(Number) });
    await bob.close();
  });
});
