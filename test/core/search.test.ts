// Search on PostgreSQL: messages stored by the real send path, found by words,
// phrases, prefixes and filters in the rooms the searcher is in, newest first,
// a page at a time; and through the $default handler, as API Gateway calls it.
import fc from 'fast-check';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { deleteMessage } from '../../functions/core/conversations.js';
import { BadRequest, ChatError, Forbidden, RateLimited } from '../../functions/core/errors.js';
import { send } from '../../functions/core/messages.js';
import { dmRoomId, parseRoom } from '../../functions/core/names.js';
import type { Deps, Sql } from '../../functions/core/ports.js';
import { SearchFrame, type SearchResult, search } from '../../functions/core/search.js';
import { REPLY_BUDGET_BYTES, jsonBytes } from '../../functions/core/sizes.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { RecordingGateway, RecordingLogger, RecordingMailer } from '../helpers/fakes.js';
import { TEST_ENV } from '../helpers/server.js';

let db: TestDatabase;
let sql: Sql;
let deps: Deps;
const now = new Date('2026-11-15T12:00:00Z');

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  deps = {
    sql,
    gateway: new RecordingGateway(),
    mailer: new RecordingMailer(),
    clock: { now: () => now },
    log: new RecordingLogger(),
    settings: { ...loadConfig(TEST_ENV).settings, messageBurst: 1000, userMessageBurst: 1000 },
  };
});
afterAll(() => db?.close());

let n = 0;
interface Person {
  id: string;
  name: string;
  conn: string;
}

async function person(name: string): Promise<Person> {
  const [u] = await sql<{ id: string }[]>`
    insert into users (username, display_name, email, email_lower, password_hash, verified_at)
    values (${name}, ${name}, ${`${name}@example.com`}, ${`${name}@example.com`}, 'x', now()) returning id`;
  const conn = `c-${name}`;
  await sql`insert into connections (id, user_id, authed_at) values (${conn}, ${u!.id}, now())`;
  return { id: u!.id, name, conn };
}

async function room(id: string, ...members: Person[]): Promise<string> {
  await sql`insert into rooms (id, kind) values (${id}, ${id.startsWith('dm:') ? 'dm' : 'channel'}) on conflict do nothing`;
  for (const m of members) await sql`insert into memberships (room_id, user_id) values (${id}, ${m.id}) on conflict do nothing`;
  return id;
}

async function say(who: Person, roomId: string, text: string): Promise<string> {
  const out = await send(deps, who.conn, { action: 'send', room: parseRoom(roomId)!, text, clientId: `k-${++n}` });
  return (out.reply!.message as { id: string }).id;
}

interface Reply {
  type: string;
  query: string;
  results: SearchResult[];
  next: string | null;
}

async function find(who: Person, query: string, more: { before?: string; limit?: number } = {}): Promise<Reply> {
  const out = await search(deps, who.conn, { action: 'search', query, ...more });
  return out.reply as unknown as Reply;
}

const texts = (reply: Reply) => reply.results.map((r) => r.message.text);

let alice: Person, bob: Person, carol: Person;
let ops: string, dm: string, secret: string;
const ids: Record<string, string> = {};

beforeAll(async () => {
  alice = await person('alice');
  bob = await person('bob');
  carol = await person('carol');
  ops = await room('ops', alice, bob);
  dm = await room(dmRoomId('alice', 'bob'), alice, bob);
  secret = await room('secret', bob, carol);
  ids.deploy = await say(alice, ops, 'We deploy the server at noon');
  ids.deployment = await say(bob, ops, 'The deployment of ERR_42 fix is done, see foo.bar');
  ids.cafe = await say(bob, dm, 'Rendez-vous au Café Łódź pour le déploiement 🚀');
  ids.secret = await say(bob, secret, 'deploy the secret launch codes');
  ids.gone = await say(alice, ops, 'deploy this line then delete it');
  await deleteMessage(deps, alice.conn, { action: 'delete', room: parseRoom(ops)!, message: ids.gone });
  ids.phrase = await say(alice, ops, 'the server room is cold, deploy later');
});

describe('search', () => {
  it('finds a word in every room one is in, newest first, never in others, never a deleted message', async () => {
    const reply = await find(alice, 'deploy ');
    expect(reply.type).toBe('search_results');
    expect(reply.results.map((r) => r.message.id)).toEqual([ids.phrase, ids.deploy]);
    expect(reply.next).toBeNull();
    // the same word in bob's rooms: secret too, and only there for carol
    expect((await find(bob, 'deploy ')).results.map((r) => r.message.id)).toEqual([ids.phrase, ids.secret, ids.deploy]);
    expect((await find(carol, 'deploy ')).results.map((r) => r.message.id)).toEqual([ids.secret]);
  });

  it('matches the word being typed as a prefix, across accents, with highlights in the text', async () => {
    const reply = await find(alice, 'deplo');
    expect(reply.results.map((r) => r.message.id)).toEqual([ids.phrase, ids.cafe, ids.deployment, ids.deploy]);
    const cafe = reply.results.find((r) => r.message.id === ids.cafe)!;
    expect(cafe.message.room).toBe(dm);
    expect(cafe.message.from).toBe('bob');
    expect(cafe.highlights.map(([a, b]) => cafe.message.text.slice(a, b))).toEqual(['déploiement']);
    expect(texts(await find(alice, 'cafe lodz '))).toEqual([cafe.message.text]);
    expect(texts(await find(alice, 'CAFÉ '))).toEqual([cafe.message.text]);
  });

  it('finds code-like words and emoji, and exact phrases only in order', async () => {
    expect((await find(alice, 'ERR_42 ')).results.map((r) => r.message.id)).toEqual([ids.deployment]);
    expect((await find(alice, 'err_4')).results.map((r) => r.message.id)).toEqual([ids.deployment]);
    expect((await find(alice, 'foo.bar ')).results.map((r) => r.message.id)).toEqual([ids.deployment]);
    expect((await find(alice, '🚀 in:@bob')).results.map((r) => r.message.id)).toEqual([ids.cafe]);
    expect((await find(alice, '"server room"')).results.map((r) => r.message.id)).toEqual([ids.phrase]);
    expect((await find(alice, '"room server"')).results).toEqual([]);
  });

  it('applies -word, from:, in: and dates', async () => {
    expect((await find(alice, 'deploy -cold ')).results.map((r) => r.message.id)).toEqual([ids.deploy]);
    expect((await find(alice, 'from:@bob deplo')).results.map((r) => r.message.id)).toEqual([ids.cafe, ids.deployment]);
    expect((await find(alice, 'from:me')).results.map((r) => r.message.id)).toEqual([ids.phrase, ids.deploy]);
    expect((await find(alice, 'in:@bob')).results.map((r) => r.message.id)).toEqual([ids.cafe]);
    expect((await find(alice, 'in:#ops deplo')).results.map((r) => r.message.id)).toEqual([ids.phrase, ids.deployment, ids.deploy]);
    // messages are stored with the database's clock: today
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    expect((await find(alice, `deploy before:${today} `)).results).toEqual([]);
    expect((await find(alice, `deploy before:${tomorrow} `)).results).toHaveLength(2);
    expect((await find(alice, `deploy after:${today} `)).results).toEqual([]);
    expect((await find(alice, `deploy after:2026-01-01 before:${tomorrow} `)).results).toHaveLength(2);
  });

  it('refuses a room one is not in by the same sentence, whether or not it exists', async () => {
    await expect(find(alice, 'deploy in:#secret')).rejects.toThrow(new Forbidden('You are not a member of #secret, so it cannot be searched.'));
    await expect(find(alice, 'deploy in:#nowhere')).rejects.toThrow(new Forbidden('You are not a member of #nowhere, so it cannot be searched.'));
    await expect(find(alice, 'x in:@carol')).rejects.toThrow(new Forbidden('You have no conversation with @carol to search.'));
    await expect(find(alice, 'x in:@nobody')).rejects.toThrow(new Forbidden('You have no conversation with @nobody to search.'));
    await expect(find(alice, 'deploy has:link')).rejects.toBeInstanceOf(BadRequest);
  });

  it('pages by a cursor on the message id, newest first, without gaps or repeats', async () => {
    const many = await room('many', alice);
    const sent: string[] = [];
    for (let i = 0; i < 7; i++) sent.push(await say(alice, many, `paging word ${i}`));
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await find(alice, 'paging ', { limit: 3, ...(before ? { before } : {}) });
      seen.push(...page.results.map((r) => r.message.id));
      if (!page.next) break;
      expect(page.results).toHaveLength(3);
      before = page.next;
    }
    expect(seen).toEqual([...sent].reverse());
  });

  it('keeps a page of long messages within the reply budget', async () => {
    const big = await room('big', alice);
    for (let i = 0; i < 30; i++) await say(alice, big, `bulky ${'x'.repeat(3900)} ${i}`);
    const page = await find(alice, 'bulky ', { limit: 50 });
    expect(jsonBytes(page.results)).toBeLessThanOrEqual(REPLY_BUDGET_BYTES);
    expect(page.results.length).toBeGreaterThan(1);
    expect(page.results.length).toBeLessThan(30);
    expect(page.next).toBe(page.results.at(-1)!.message.id);
  });

  it('is charged to a per-user budget', async () => {
    const dave = await person('dave');
    const tight = { ...deps, settings: { ...deps.settings, searchBurst: 2, searchesPerMinute: 1 } };
    await search(tight, dave.conn, { action: 'search', query: 'from:me' });
    await search(tight, dave.conn, { action: 'search', query: 'from:me' });
    await expect(search(tight, dave.conn, { action: 'search', query: 'from:me' })).rejects.toBeInstanceOf(RateLimited);
    // a query refused by its reading costs nothing
    await expect(search(tight, alice.conn, { action: 'search', query: 'bad:filter' })).rejects.toBeInstanceOf(BadRequest);
  });

  it('answers any text with results or a sentence, never an internal error', async () => {
    const roomy = { ...deps, settings: { ...deps.settings, searchBurst: 100_000 } };
    const pieces = fc.constantFrom('deploy', 'from:', 'in:', '@', '#', '"', '-', ':*', '&', '|', '!', '<->', "'", '\\', '(', ')', 'before:2026-01-01', 'é', 'ERR_42', '🚀', ' ');
    const query = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.array(pieces, { maxLength: 12 }).map((p) => p.join('')),
    );
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        // as the $default handler does: the frame's schema first
        const frame = v.safeParse(SearchFrame, { action: 'search', query: q });
        if (!frame.success) return;
        try {
          const out = await search(roomy, alice.conn, frame.output);
          expect(out.reply?.type).toBe('search_results');
        } catch (err) {
          expect(err).toBeInstanceOf(ChatError);
          expect((err as ChatError).code).not.toBe('internal');
        }
      }),
      { numRuns: 150 },
    );
  });

  it('looks words up in the index, whatever the table’s size', async () => {
    const plan = await sql.begin(async (tx) => {
      // a table this small is read whole by choice; the index must still serve the query
      await tx`set local enable_seqscan = off`;
      return tx`explain select id from messages m where m.deleted_at is null and search_document(m.body) @@ phraseto_tsquery('simple', 'deploy')`;
    });
    expect(JSON.stringify(plan)).toContain('messages_search');
  });
});

describe('a search that runs too long', () => {
  it('is stopped with a sentence, not held or failed (PostgreSQL: PGlite has no statement timer)', async (ctx) => {
    if (!db.real) return ctx.skip();
    const dora = await person('dora'); // a budget of her own
    const [big] = await sql<{ id: string }[]>`insert into rooms (id, kind) values ('crowded', 'channel') returning id`;
    await sql`insert into memberships (room_id, user_id) values (${big!.id}, ${dora.id})`;
    await sql`insert into messages (room_id, sender_id, client_id, body)
      select 'crowded', ${bob.id}, 'bulk-' || n, 'the server room note number ' || n from generate_series(1, 50000) n`;
    const quick = { ...deps, settings: { ...deps.settings, searchTimeoutMs: 1 } };
    const query = '"server room" note';
    // within the default limit it answers: the test can fail
    expect((await find(dora, query)).results.length).toBe(20);
    const err = await search(quick, dora.conn, { action: 'search', query }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequest);
    expect((err as Error).message).toBe('That search took too long: add a word, or narrow it with in:, from: or after:.');
    // the connection is fine afterwards
    expect((await find(dora, 'number 7 ')).results.length).toBe(1);
  });
});
