// The profanity filter: on by default (mask), configurable (off, reject), and
// without the Scunthorpe problem of the original substring regex.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/adapters/config.js';
import { BadRequest } from '../../functions/core/errors.js';
import { applyProfanityPolicy, containsProfanity } from '../../functions/core/profanity.js';
import { signUp } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const INNOCENT = ['hello', 'assessment', 'Scunthorpe', 'classic', 'cocktail', 'therapist', 'Essex', 'Sussex', 'Dickens', 'cockpit', 'Penistone', 'grapes', 'bass guitar', 'analysis', 'passion'];

describe('the filter', () => {
  it.each(INNOCENT)('lets "%s" through untouched under every policy', (word) => {
    expect(containsProfanity(word)).toBe(false);
    for (const policy of ['off', 'mask', 'reject'] as const) expect(applyProfanityPolicy(`${word} today`, policy)).toBe(`${word} today`);
  });

  it('masks profanity, including disguised spellings, and keeps the rest of the line', () => {
    expect(applyProfanityPolicy('well fuck this', 'mask')).toBe('well **** this');
    expect(applyProfanityPolicy('sh1t happens 🦊', 'mask')).toBe('**** happens 🦊');
    expect(applyProfanityPolicy('ѕhіt', 'mask')).not.toContain('h'); // Cyrillic look-alikes
  });

  it('rejects with bad_request under reject, and changes nothing under off', () => {
    expect(() => applyProfanityPolicy('well fuck this', 'reject')).toThrow(BadRequest);
    expect(applyProfanityPolicy('well fuck this', 'off')).toBe('well fuck this');
  });

  it('is on by default and read from PROFANITY_FILTER', () => {
    expect(loadConfig({}).settings.profanityFilter).toBe('mask');
    expect(loadConfig({ PROFANITY_FILTER: 'reject' }).settings.profanityFilter).toBe('reject');
    expect(() => loadConfig({ PROFANITY_FILTER: 'sometimes' })).toThrow(/PROFANITY_FILTER/);
  });
});

describe('on the server', () => {
  let masked: TestServer;
  beforeAll(async () => {
    masked = await startTestServer();
  });
  afterAll(() => masked?.close());

  it('stores and delivers the masked text, and a repeat gets the same message', async () => {
    const alice = await signUp(masked);
    const sent = await alice.request({ action: 'send', room: 'general', text: 'what the fuck, Scunthorpe', clientId: 'p-1' });
    expect((sent.message as { text: string }).text).toBe('what the ****, Scunthorpe');
    const again = await alice.request({ action: 'send', room: 'general', text: 'what the fuck, Scunthorpe', clientId: 'p-1' });
    expect(again.message).toEqual(sent.message);
    const ok = await alice.request({ action: 'send', room: 'general', text: 'hello, classic assessment', clientId: 'p-2' });
    expect((ok.message as { text: string }).text).toBe('hello, classic assessment');
    await alice.close();
  });
});

describe('reject on the server', () => {
  let strict: TestServer;
  beforeAll(async () => {
    strict = await startTestServer({ PROFANITY_FILTER: 'reject' });
  });
  afterAll(() => strict?.close());

  it('refuses the message with bad_request and stores nothing', async () => {
    const alice = await signUp(strict);
    const refused = await alice.request({ action: 'send', room: 'general', text: 'fuck', clientId: 'r-1' });
    expect(refused).toMatchObject({ type: 'error', code: 'bad_request' });
    expect((await alice.request({ action: 'send', room: 'general', text: 'hello Scunthorpe', clientId: 'r-2' })).type).toBe('sent');
    const [n] = await strict.db.sql`select count(*)::int as n from messages where client_id = 'r-1'`;
    expect(n!.n).toBe(0);
    await alice.close();
  });
});
