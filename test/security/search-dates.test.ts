// Date filters at the edge of the calendar: after:9999-12-31 means "from
// 10000-01-01", an instant PostgreSQL cannot read as written by JavaScript.
// It must be refused with a sentence, not fail inside the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let alice: TestClient & { username: string };

beforeAll(async () => {
  t = await startTestServer({ SEARCH_BURST: '1000', SEARCHES_PER_MINUTE: '1000' });
  alice = await signUp(t);
  const sent = await alice.request({ action: 'send', room: 'general', text: 'deploy at noon', clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
});
afterAll(() => t?.close());

describe('search date filters at the end of the calendar', () => {
  it('refuses after:9999-12-31 with a sentence instead of an internal error', async () => {
    const r = await alice.request({ action: 'search', query: 'deploy after:9999-12-31' });
    expect(r).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(String(r.message)).toMatch(/after:9999-12-31/);
  });

  it('still answers the last days that can be searched', async () => {
    for (const query of ['deploy after:9999-12-30', 'deploy before:9999-12-31', 'deploy before:1000-01-01']) {
      const r = await alice.request({ action: 'search', query });
      expect(r, query).toMatchObject({ type: 'search_results' });
    }
    const r = await alice.request({ action: 'search', query: 'deploy before:9999-12-31' });
    expect((r.results as unknown[]).length).toBe(1);
  });
});
