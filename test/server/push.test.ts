// Away presence and Web Push over real sockets, with a real push service on this
// machine (HTTPS, a test CA): people go away when every tab is idle or hidden and
// roommates hear it; a direct message or a mention reaches the devices of a
// person with no active tab, encrypted to the device's keys (decrypted here as a
// browser would) and signed with the server's VAPID key (checked here); the text
// only for people who allowed it; at most PUSHES_PER_HOUR a person; a push
// service's 410 removes the subscription.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Frame } from '../../functions/core/ports.js';
import { resumeAs, signUp, type TestClient } from '../helpers/client.js';
import { makeSubscriber, startPushService, verifyVapid, type PushService, type Subscriber } from '../helpers/push-service.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let service: PushService;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ww-push-'));
  service = await startPushService(dir);
  // The push service is on 127.0.0.1: only the test setting lets a subscription point there.
  t = await startTestServer({ PUSH_ALLOW_INSECURE: '1', PUSH_CA_FILE: service.caFile, PUSH_SUBJECT: 'mailto:ops@example.org', PUSHES_PER_HOUR: '3' });
});
afterAll(async () => {
  await t?.close();
  await service?.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function subscribe(c: TestClient, device = 'Test browser'): Promise<{ sub: Subscriber; id: string; path: string }> {
  const path = `/push/${++n}-${c.username}`;
  const sub = makeSubscriber(`${service.origin}${path}`);
  const reply = await c.request({ action: 'push_subscribe', endpoint: sub.endpoint, keys: sub.keys, device });
  expect(reply).toMatchObject({ type: 'push_subscribed', subscription: { device, lastUsedAt: null } });
  return { sub, id: (reply.subscription as { id: string }).id, path };
}

const say = async (c: TestClient, room: string, text: string) => {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
};

const awayOf = (user: string) => (f: Frame) => f.type === 'presence' && f.user === user && f.away !== undefined;

describe('away', () => {
  it('roommates hear a person go away when every tab is idle or hidden, and come back', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    // alice's one tab goes hidden: she is away
    expect(await alice.request({ action: 'activity', state: 'hidden' })).toEqual({ type: 'activity', state: 'hidden', away: true, re: expect.any(String) });
    expect(await bob.next(awayOf(alice.username!))).toEqual({ type: 'presence', room: 'general', user: alice.username, online: true, away: true });
    // the members list says so too
    const members = await bob.request({ action: 'members', room: 'general' });
    const entry = (members.members as Array<{ username: string; away?: boolean; online: boolean }>).find((m) => m.username === alice.username);
    expect(entry).toMatchObject({ online: true, away: true });
    const bobEntry = (members.members as Array<{ username: string; away?: boolean }>).find((m) => m.username === bob.username);
    expect(bobEntry?.away).toBeUndefined();
    // idle is away as well: no news for roommates
    await alice.request({ action: 'activity', state: 'idle' });
    expect(await bob.quiet(awayOf(alice.username!), 150)).toEqual([]);
    // active again: back
    await alice.request({ action: 'activity', state: 'active' });
    expect(await bob.next(awayOf(alice.username!))).toMatchObject({ away: false, online: true });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('a person with one active tab of two is not away; closing the active one makes them away', async () => {
    const bob = await signUp(t);
    const laptop = await signUp(t);
    const phone = await resumeAs(t, laptop.token!);
    await phone.request({ action: 'activity', state: 'hidden' });
    expect(await bob.quiet(awayOf(laptop.username!), 150)).toEqual([]);
    await laptop.close();
    expect(await bob.next(awayOf(laptop.username!))).toMatchObject({ away: true, online: true });
    // a new tab (active) brings them back
    const again = await resumeAs(t, phone.token ?? laptop.token!);
    expect(await bob.next(awayOf(laptop.username!))).toMatchObject({ away: false });
    await Promise.all([bob.close(), phone.close(), again.close()]);
  });

  it('refuses an unknown state and changes nothing', async () => {
    const alice = await signUp(t);
    expect(await alice.request({ action: 'activity', state: 'asleep' })).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(await alice.request({ action: 'activity' })).toMatchObject({ type: 'error', code: 'bad_request' });
    expect((await t.db.sql`select activity from connections where user_id = (select id from users where username = ${alice.username!})`)[0]).toEqual({
      activity: 'active',
    });
    await alice.close();
  });
});

describe('web push', () => {
  it('keeps the VAPID keys under DATA_DIR, readable by the owner only', async () => {
    const info = await stat(join(t.config.dataDir, 'vapid.json'));
    expect(info.mode & 0o777).toBe(0o600);
  });

  it('pushes a direct message to a person with no active tab, encrypted and signed, without the text', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const { sub, path } = await subscribe(alice, 'Alice phone');
    const list = await alice.request({ action: 'push_subscriptions' });
    expect(list).toMatchObject({ type: 'push_subscriptions', pushText: false, subscriptions: [{ device: 'Alice phone' }] });
    const publicKey = list.publicKey as string;
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65);

    // looking at the app: no push
    const room = dmRoomId(alice.username!, bob.username!);
    await say(bob, room, 'while you look');
    await alice.next('message');
    await new Promise((r) => setTimeout(r, 300));
    expect(service.received.filter((r) => r.path === path)).toHaveLength(0);

    // tab hidden: the next one is pushed
    await alice.request({ action: 'activity', state: 'hidden' });
    const id = await say(bob, room, 'secret words');
    const push = await service.next(path);
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(Number(push.headers.ttl)).toBeGreaterThan(0);
    expect(push.headers.urgency).toBe('high');
    const { claims, publicKey: k } = verifyVapid(push.headers.authorization as string);
    expect(k).toBe(publicKey);
    expect(claims.aud).toBe(service.origin);
    expect(claims.sub).toBe('mailto:ops@example.org');
    const now = Date.now() / 1000;
    expect(claims.exp).toBeGreaterThan(now);
    expect(claims.exp).toBeLessThanOrEqual(now + 24 * 60 * 60);
    const payload = JSON.parse(sub.decrypt(push.body));
    expect(payload).toEqual({ type: 'message', room, roomName: bob.username, from: bob.username, messageId: id, reason: 'dm' });
    expect(JSON.stringify(payload)).not.toContain('secret');
    // the list shows when it was last used
    const after = await alice.request({ action: 'push_subscriptions' });
    expect((after.subscriptions as Array<{ lastUsedAt: string | null }>)[0]!.lastUsedAt).not.toBeNull();

    // with pushText on, the text comes too
    expect(await alice.request({ action: 'settings', pushText: true })).toMatchObject({ type: 'settings', pushText: true });
    await say(bob, room, 'now with words');
    expect(JSON.parse(sub.decrypt((await service.next(path)).body))).toMatchObject({ text: 'now with words', reason: 'dm' });
    await Promise.all([alice.close(), bob.close()]);
  });

  it('pushes a mention in a channel to an idle person, and nothing for an unmentioned message', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const { sub, path } = await subscribe(alice);
    await alice.request({ action: 'activity', state: 'idle' });
    await say(bob, 'general', 'nobody in particular');
    const id = await say(bob, 'general', `hello @${alice.username}`);
    const push = await service.next(path);
    expect(JSON.parse(sub.decrypt(push.body))).toEqual({ type: 'message', room: 'general', roomName: '#general', from: bob.username, messageId: id, reason: 'mention' });
    await new Promise((r) => setTimeout(r, 200));
    expect(service.received.filter((r) => r.path === path)).toHaveLength(1);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('pushes at most PUSHES_PER_HOUR to one person, over all their devices', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const phone = await subscribe(alice, 'phone');
    const laptop = await subscribe(alice, 'laptop');
    await alice.request({ action: 'activity', state: 'hidden' });
    const room = dmRoomId(alice.username!, bob.username!);
    for (let i = 0; i < 5; i++) await say(bob, room, `message ${i}`);
    for (let i = 0; i < 3; i++) await Promise.all([service.next(phone.path), service.next(laptop.path)]);
    await new Promise((r) => setTimeout(r, 300));
    expect(service.received.filter((r) => r.path === phone.path)).toHaveLength(3);
    expect(service.received.filter((r) => r.path === laptop.path)).toHaveLength(3);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('removes a subscription the push service says is gone (410)', async () => {
    const [alice, bob] = await Promise.all([signUp(t), signUp(t)]);
    const { path } = await subscribe(alice);
    service.status.set(path, 410);
    await alice.request({ action: 'activity', state: 'hidden' });
    await say(bob, dmRoomId(alice.username!, bob.username!), 'are you there?');
    await service.next(path);
    for (let i = 0; i < 50; i++) {
      const list = await alice.request({ action: 'push_subscriptions' });
      if ((list.subscriptions as unknown[]).length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await alice.request({ action: 'push_subscriptions' })).subscriptions).toEqual([]);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('lists and removes only my own subscriptions', async () => {
    const [alice, mallory] = await Promise.all([signUp(t), signUp(t)]);
    const { id } = await subscribe(alice);
    expect(await mallory.request({ action: 'push_unsubscribe', subscription: id })).toMatchObject({ type: 'error', code: 'not_found' });
    expect((await mallory.request({ action: 'push_subscriptions' })).subscriptions).toEqual([]);
    expect((await alice.request({ action: 'push_subscriptions' })).subscriptions).toHaveLength(1);
    expect(await alice.request({ action: 'push_unsubscribe', subscription: id })).toMatchObject({ type: 'push_unsubscribed', subscription: id });
    expect((await alice.request({ action: 'push_subscriptions' })).subscriptions).toEqual([]);
    await Promise.all([alice.close(), mallory.close()]);
  });
});
