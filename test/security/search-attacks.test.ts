// Attacks on search, over real sockets: Mallory tries to read text from a room
// she is not in, a room she left, someone else's conversation, a deleted and an
// expired message, through every filter (in:#room, in:@person, in:dm:a:b, from:@person),
// and with inputs meant for the SQL or tsquery parsers, a 10,000-character
// query, unknown filters, bad dates, a forged cursor and oversized pages. Each
// is refused with a code and a sentence, or finds only what she may read; none
// changes anything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dmRoomId } from '../../functions/core/names.js';
import type { Frame } from '../../functions/core/ports.js';
import { signUp, TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let mallory: TestClient & { username: string };
let bob: TestClient & { username: string };
let carol: TestClient & { username: string };
const SECRET = 'launchcodes';
let vault: string;
let left: string;
let theirs: string;

beforeAll(async () => {
  t = await startTestServer({ SEARCH_BURST: '1000', SEARCHES_PER_MINUTE: '1000' });
  [mallory, bob, carol] = await Promise.all([signUp(t), signUp(t), signUp(t)]);
  vault = `vault-${Date.now() % 100000}`;
  left = `was-here-${Date.now() % 100000}`;
  theirs = dmRoomId(bob.username, carol.username);
  await bob.request({ action: 'join', room: vault });
  await say(bob, vault, `the ${SECRET} are 0000 in the vault`);
  await say(bob, theirs, `psst ${SECRET} for carol only`);
  // a room Mallory was in and left: what was said there, before and after
  await mallory.request({ action: 'join', room: left });
  await bob.request({ action: 'join', room: left });
  await say(bob, left, `${SECRET} said while mallory was here`);
  expect((await mallory.request({ action: 'leave', room: left })).type).toBe('left');
  await say(bob, left, `${SECRET} said after mallory left`);
  // a message of hers in general, deleted: gone for search too
  const mine = await say(mallory, 'general', `my own ${SECRET} draft`);
  expect((await mallory.request({ action: 'delete', room: 'general', message: mine })).type).toBe('deleted_message');
  await say(bob, 'general', 'a harmless line in general');
});
afterAll(() => t?.close());

async function say(c: TestClient, room: string, text: string): Promise<string> {
  const sent = await c.request({ action: 'send', room, text, clientId: crypto.randomUUID() });
  expect(sent.type).toBe('sent');
  return (sent.message as { id: string }).id;
}

const search = (query: string, more: Record<string, unknown> = {}) => mallory.request({ action: 'search', query, ...more });

/** Every result's room and text, and that none holds the secret. */
function leaked(reply: Frame): string[] {
  const results = (reply.results ?? []) as { message: { room: string; text: string } }[];
  return results.filter((r) => r.message.text.includes(SECRET) || r.message.room !== 'general').map((r) => `${r.message.room}: ${r.message.text}`);
}

async function snapshot() {
  return t.db.sql`select id, body, deleted_at is not null as deleted, seq from messages order by id`;
}

describe('search attacks', () => {
  it('finds nothing from rooms she is not in, left, or someone else’s conversation, nor her deleted message', async () => {
    for (const q of [SECRET, `${SECRET} `, 'launch', `"${SECRET} are"`, 'vault ', `from:@${bob.username}`, `from:@${bob.username} ${SECRET}`, `from:@${carol.username}`, 'from:me']) {
      const r = await search(q);
      expect(r.type, q).toBe('search_results');
      expect(leaked(r), q).toEqual([]);
    }
    // bob, who is in those rooms, finds them: the test can fail
    const bobs = await bob.request({ action: 'search', query: `${SECRET} ` });
    expect((bobs.results as unknown[]).length).toBe(4);
  });

  it('refuses in: for every room she is not in, with one sentence whether it exists or not', async () => {
    const refusals: [string, RegExp][] = [
      [`in:#${vault} ${SECRET}`, new RegExp(`^You are not a member of #${vault}, so it cannot be searched\\.$`)],
      [`in:#${left} ${SECRET}`, new RegExp(`^You are not a member of #${left}, so it cannot be searched\\.$`)],
      [`in:#no-such-room-at-all ${SECRET}`, /^You are not a member of #no-such-room-at-all, so it cannot be searched\.$/],
      [`in:@${bob.username} ${SECRET}`, new RegExp(`^You have no conversation with @${bob.username} to search\\.$`)],
      [`in:@nobody-by-that-name ${SECRET}`, /^You have no conversation with @nobody-by-that-name to search\.$/],
      [`in:${theirs} ${SECRET}`, /^You are not a member of that conversation, so it cannot be searched\.$/],
      [`in:${theirs}`, /^You are not a member of that conversation/],
    ];
    for (const [q, sentence] of refusals) {
      const r = await search(q);
      expect(r, q).toMatchObject({ type: 'error', code: 'forbidden' });
      expect(String(r.message), q).toMatch(sentence);
    }
  });

  it('reads SQL and tsquery syntax as words, and finds nothing it should not', async () => {
    const before = await snapshot();
    for (const q of [
      "'; drop table messages; --",
      "x' or '1'='1",
      `${SECRET}:*`.replace(':', '\\:'),
      '"launch" | codes',
      '!launch & !codes',
      "launch' | 'codes",
      'launch <-> codes ',
      '\\\\ %_ %% harmless',
      `"${'a'.repeat(200)}"`,
      '🚀🚀🚀 harmless',
    ]) {
      const r = await search(q);
      expect(['search_results', 'error'], q).toContain(r.type);
      if (r.type === 'error') expect(r.code, q).toBe('bad_request');
      else expect(leaked(r), q).toEqual([]);
      expect(JSON.stringify(r), q).not.toMatch(/syntax|tsquery|SELECT|postgres|stack/i);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('refuses operator-only, oversized, unknown-filter and bad-date queries with a sentence, changing nothing', async () => {
    const before = await snapshot();
    const cases: [unknown, RegExp][] = [
      ['', /^Type something to search for/],
      ['-launch', /^Add a word to search for/],
      ['-launch -codes before:2026-12-01', /^Add a word to search for/],
      ['🔑', /^Add a word to search for/],
      ['x'.repeat(10_000), /^A search is at most 500 characters\.$/],
      ['é'.repeat(501), /^A search is at most 500 characters\.$/],
      ['launch has:link', /^"has:" is not a filter\./],
      ['launch before:2026-02-30', /^"2026-02-30" is not a date: write before:YYYY-MM-DD/],
      ['launch after:tomorrow', /^"tomorrow" is not a date: write after:YYYY-MM-DD/],
      ['launch from:@x', /^from: takes a username/],
      ['launch in:#a/b', /^in: takes a channel or a person/],
      [42, /^query must be a string\.$/],
      ['launch\u0000', /^The search contains characters that cannot be searched for\.$/],
      ['launch \ud800', /^The search contains characters that cannot be searched for\.$/],
    ];
    for (const [query, sentence] of cases) {
      const r = await mallory.request({ action: 'search', query });
      expect(r, String(query).slice(0, 40)).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(String(r.message), String(query).slice(0, 40)).toMatch(sentence);
    }
    for (const more of [{ before: '0' }, { before: 'abc' }, { before: '1 or 1=1' }, { limit: 0 }, { limit: 51 }, { limit: 1.5 }]) {
      const r = await search('harmless', more);
      expect(r, JSON.stringify(more)).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    expect(await snapshot()).toEqual(before);
  });

  it('finds no expired message, through any filter, even before the sweep deletes it', async () => {
    const ours = dmRoomId(mallory.username, bob.username);
    const id = await say(bob, ours, `${SECRET} that will disappear`);
    const queries = [`"${SECRET} that"`, `in:@${bob.username} disappear`, `from:@${bob.username} disappear`, `after:2000-01-01 disappear`];
    // while it lives, she finds it: the test can fail
    for (const q of queries) expect(((await search(q)).results as unknown[]).length, q).toBe(1);
    // its time has come; the sweep has not run yet
    await t.db.sql`update messages set expires_at = now() - interval '1 second' where id = ${id}`;
    for (const q of queries) {
      const r = await search(q);
      expect(r.type, q).toBe('search_results');
      expect(r.results, q).toEqual([]);
    }
  });

  it('is refused before login', async () => {
    const anonymous = await TestClient.connect(t.wsUrl);
    expect(await anonymous.request({ action: 'search', query: 'launch' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    await anonymous.close();
  });
});
