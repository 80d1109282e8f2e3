// The web client's reading of a notice's link (E24): `#room=<id>` or `?room=<id>`.
import { describe, expect, it } from 'vitest';
import { linkedRoom } from '../../web/src/chat.js';

describe('linkedRoom', () => {
  it('reads the room from the fragment, percent-decoded, or else from the query', () => {
    expect(linkedRoom({ hash: '#room=dm%3Aalice%3Abob', search: '' })).toBe('dm:alice:bob');
    expect(linkedRoom({ hash: '#room=general', search: '?room=other' })).toBe('general');
    expect(linkedRoom({ hash: '', search: '?room=ops' })).toBe('ops');
    expect(linkedRoom({ hash: '#x=1', search: '?a=b' })).toBeNull();
    expect(linkedRoom({ hash: '', search: '' })).toBeNull();
    expect(linkedRoom({ hash: `#room=${'a'.repeat(201)}`, search: '' })).toBeNull();
  });
});
