// Export my data (E20): pages of profile, rooms and every message I sent, each
// reply within the 128 KB frame, assembled by the client; a daily budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SERVER_FRAME_BYTES } from '../../functions/core/sizes.js';
import { signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ MESSAGE_BURST: '200', USER_MESSAGE_BURST: '200', EXPORTS_PER_DAY: '2' });
});
afterAll(() => t?.close());

/** Every page from the first, as a client assembles them. */
async function exportAll(client: TestClient) {
  const pages = [];
  let after: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await client.request({ action: 'export_data', ...(after ? { after } : {}) });
    expect(page.type, JSON.stringify(page).slice(0, 300)).toBe('export_page');
    expect(Buffer.byteLength(JSON.stringify(page))).toBeLessThan(MAX_SERVER_FRAME_BYTES);
    pages.push(page);
    after = page.next as string | undefined;
    if (!after) break;
  }
  return pages;
}

describe('export_data', () => {
  it('pages a big history in frames under 128 KB, with my profile, my rooms and only my messages', async () => {
    const alice = await signUp(t);
    const bob = await signUp(t);
    await alice.request({ action: 'set_profile', displayName: 'Alice Export', status: 'packing' });
    await alice.request({ action: 'join', room: 'export-room' });
    const long = 'x'.repeat(3900);
    const sent: string[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await alice.request({ action: 'send', room: i % 2 ? 'general' : 'export-room', text: `${i} ${long}`, clientId: `c${i}` });
      expect(r.type).toBe('sent');
      sent.push((r.message as { id: string }).id);
    }
    await bob.request({ action: 'send', room: 'general', text: 'not alice', clientId: 'b1' });
    const gone = await alice.request({ action: 'send', room: 'general', text: 'deleted later', clientId: 'del' });
    await alice.request({ action: 'delete', room: 'general', message: (gone.message as { id: string }).id });

    const pages = await exportAll(alice);

    const messages = pages.flatMap((p) => (p.messages as { id: string; text: string; room: string }[] | undefined) ?? []);
    expect(pages.length).toBeGreaterThan(2); // the messages did not fit one frame
    expect(messages.map((m) => m.id)).toEqual(sent);
    expect(messages[0]).toMatchObject({ room: 'export-room', text: `0 ${long}`, at: expect.any(String) });
    expect(pages[0]!.profile).toMatchObject({ username: alice.username, displayName: 'Alice Export', status: 'packing', email: alice.email, notify: 'mentions', notifyQuote: false });
    const rooms = pages.flatMap((p) => (p.rooms as { id: string }[] | undefined) ?? []).map((r) => r.id);
    expect(rooms).toEqual(['export-room', 'general']);
    await Promise.all([alice.close(), bob.close()]);
  });

  it('is budgeted per person per day: the first page pays', async () => {
    const carol = await signUp(t);
    expect((await carol.request({ action: 'export_data' })).type).toBe('export_page');
    expect((await carol.request({ action: 'export_data' })).type).toBe('export_page');
    expect(await carol.request({ action: 'export_data' })).toMatchObject({ type: 'error', code: 'rate_limited', message: expect.stringMatching(/2 times a day/) });
    // the following pages pay as history reads
    expect((await carol.request({ action: 'export_data', after: 'm:0' })).type).toBe('export_page');
    await carol.close();
  });
});
