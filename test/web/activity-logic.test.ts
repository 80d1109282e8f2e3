// *(E25)* The web client's pure parts of away and notifications: what state a
// tab reports, which room a notification's URL opens (chat.ts linkedRoom),
// and what a push shows.
import { describe, expect, it } from 'vitest';
import { IDLE_MS, activityState } from '../../web/src/activity.js';
import { linkedRoom } from '../../web/src/chat.js';
import { describePush } from '../../web/src/sw/push.js';

describe('activityState', () => {
  it('is hidden in the background, idle after 10 minutes without input, else active', () => {
    const now = 1_000_000_000;
    expect(activityState(false, now, now)).toBe('hidden');
    expect(activityState(true, now - IDLE_MS + 1000, now)).toBe('active');
    expect(activityState(true, now - IDLE_MS, now)).toBe('idle');
    expect(activityState(false, now - IDLE_MS, now)).toBe('hidden');
  });
});

describe('linkedRoom', () => {
  it("reads a notification's #room=ID, encoded or not, and nothing else", () => {
    const at = (hash: string) => linkedRoom({ hash, search: '' });
    expect(at('#room=general')).toBe('general');
    expect(at('#room=dm%3Aalice%3Abob')).toBe('dm:alice:bob');
    expect(at('')).toBeNull();
    expect(at('#other=general')).toBeNull();
    expect(at(`#room=${'a'.repeat(300)}`)).toBeNull();
  });
});

describe('describePush', () => {
  const base = { type: 'message', room: 'general', roomName: '#general', from: 'bob', messageId: '7' } as const;
  it('says who wrote where, and the text only when the push carries it', () => {
    expect(describePush({ ...base, reason: 'mention' })).toMatchObject({ title: 'bob in #general', options: { body: 'bob mentioned you', tag: 'room:general' } });
    expect(describePush({ ...base, room: 'dm:alice:bob', roomName: 'bob', reason: 'dm' })).toMatchObject({ title: 'bob', options: { body: 'bob sent you a message' } });
    expect(describePush({ ...base, reason: 'mention', text: 'look @alice' }).options.body).toBe('look @alice');
  });
});
