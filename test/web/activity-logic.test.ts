// *(E25)* The web client's pure parts of away and notifications: what state a
// tab reports, which room a notification's URL opens, and what a push shows.
import { describe, expect, it } from 'vitest';
import { IDLE_MS, activityState } from '../../web/src/activity.js';
import { roomFromHash } from '../../web/src/chat.js';
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

describe('roomFromHash', () => {
  it('reads #room=ID, encoded or not, and nothing else', () => {
    expect(roomFromHash('#room=general')).toBe('general');
    expect(roomFromHash('#room=dm%3Aalice%3Abob')).toBe('dm:alice:bob');
    expect(roomFromHash('')).toBeUndefined();
    expect(roomFromHash('#other=general')).toBeUndefined();
    expect(roomFromHash('#room=%E0%A4%A')).toBeUndefined();
    expect(roomFromHash(`#room=${'a'.repeat(300)}`)).toBeUndefined();
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
