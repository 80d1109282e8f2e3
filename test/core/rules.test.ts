// Pure rules: names, rooms, masking, secrets. Plain cases, no mocks.
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import {
  codePoints,
  dmRoomId,
  hasVisibleCharacter,
  maskEmail,
  mostMarksOnOneCharacter,
  parseRoom,
  roomDisplayName,
} from '../../functions/core/names.js';
import { describeWait } from '../../functions/core/limits.js';
import { AuthOp, HistoryFrame, SendFrame } from '../../functions/core/protocol.js';
import {
  OWASP_SCRYPT_N,
  codeMatches,
  hashCode,
  hashPassword,
  hashToken,
  newOneTimeCode,
  newSessionToken,
  verifyPassword,
} from '../../functions/core/secrets.js';
import { loadConfig } from '../../functions/adapters/config.js';
import { addressKey, originAllowed } from '../../functions/core/connections.js';

describe('rooms', () => {
  it('parses channels and DM rooms into canonical ids', () => {
    expect(parseRoom('General')).toEqual({ id: 'general', kind: 'channel' });
    expect(parseRoom('dm:bob:alice')).toEqual({ id: 'dm:alice:bob', kind: 'dm', users: ['alice', 'bob'] });
    expect(dmRoomId('Bob', 'alice')).toBe('dm:alice:bob');
    for (const bad of ['', 'x'.repeat(33), 'a b', 'dm:alice:alice', 'dm:alice', 'dm:a:bob', 'dm:alice:bob:carol', '#general', 'ünïcode']) {
      expect(parseRoom(bad)).toBeUndefined();
    }
  });

  it('names a DM after the other person', () => {
    const dm = parseRoom('dm:alice:bob')!;
    expect(roomDisplayName(dm, 'alice')).toBe('bob');
    expect(roomDisplayName(dm, 'bob')).toBe('alice');
  });
});

describe('frames', () => {
  it('counts text in code points and trims it', () => {
    expect(codePoints('🦊🦊')).toBe(2);
    const ok = v.safeParse(SendFrame, { action: 'send', room: 'general', text: '  hi  ', clientId: 'a' });
    expect(ok.success && ok.output.text).toBe('hi');
    expect(v.safeParse(SendFrame, { action: 'send', room: 'general', text: '🦊'.repeat(4000), clientId: 'a' }).success).toBe(true);
    expect(v.safeParse(SendFrame, { action: 'send', room: 'general', text: '🦊'.repeat(4001), clientId: 'a' }).success).toBe(false);
    expect(v.safeParse(SendFrame, { action: 'send', room: 'general', text: 'lone \ud800', clientId: 'a' }).success).toBe(false);
  });

  it('validates history cursors and limits', () => {
    expect(v.safeParse(HistoryFrame, { action: 'history', room: 'general', after: '10', limit: 100 }).success).toBe(true);
    for (const bad of [{ after: '0' }, { before: '1e3' }, { limit: 2.5 }, { limit: '5' }]) {
      expect(v.safeParse(HistoryFrame, { action: 'history', room: 'general', ...bad }).success).toBe(false);
    }
  });

  it('checks each auth op for its own fields', () => {
    expect(v.safeParse(AuthOp, { op: 'verify', username: 'alice', code: '12345' }).success).toBe(false);
    expect(v.safeParse(AuthOp, { op: 'verify', username: 'alice', code: '123456' }).success).toBe(true);
    expect(v.safeParse(AuthOp, { op: 'register', username: 'Alice', email: 'a@example.com', password: '1234567' }).success).toBe(false);
    expect(v.safeParse(AuthOp, { op: 'resume' }).success).toBe(false);
  });
});

describe('secrets', () => {
  it('hashes passwords with scrypt at OWASP cost by default', async () => {
    expect(OWASP_SCRYPT_N).toBe(2 ** 17);
    expect(loadConfig({}).settings.scryptN).toBe(2 ** 17);
    const hash = await hashPassword('correct horse', 1024);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', hash)).toBe(true);
    expect(await verifyPassword('correct horsE', hash)).toBe(false);
    expect(await hashPassword('correct horse', 1024)).not.toBe(hash); // salted
  });

  it('makes six-digit codes that differ, stored only as salted hashes', async () => {
    const codes = await Promise.all(Array.from({ length: 50 }, () => newOneTimeCode()));
    for (const c of codes) expect(c).toMatch(/^\d{6}$/);
    expect(new Set(codes).size).toBeGreaterThan(45);
    const stored = hashCode(codes[0]!);
    expect(stored).not.toContain(codes[0]);
    expect(codeMatches(codes[0]!, stored)).toBe(true);
    expect(codeMatches('000000' === codes[0] ? '111111' : '000000', stored)).toBe(false);
  });

  it('makes 256-bit session tokens and keeps only their hash', () => {
    const token = newSessionToken();
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(hashToken(token)).not.toBe(token);
    expect(hashToken(token)).toBe(hashToken(token));
  });
});

describe('masking and origins', () => {
  it('masks an email for display', () => {
    expect(maskEmail('alice@example.com')).toBe('a***e@example.com');
    expect(maskEmail('al@example.com')).toBe('a*@example.com');
  });

  it('allows listed and Origin-less clients only, scheme included', () => {
    expect(originAllowed(undefined, [])).toBe(true);
    expect(originAllowed('http://chat.local', ['http://chat.local'])).toBe(true);
    expect(originAllowed('https://chat.local', ['http://chat.local'])).toBe(false);
    expect(originAllowed('https://app.example', ['https://app.example'])).toBe(true);
    expect(originAllowed('https://evil.example', ['https://app.example'])).toBe(false);
    expect(originAllowed('null', [])).toBe(false);
  });
});

describe('config', () => {
  it('fails at start-up with the variable name', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ MAIL_TRANSPORT: 'pigeon' })).toThrow(/MAIL_TRANSPORT/);
  });
});

describe('text that shows', () => {
  it('needs one visible character', () => {
    expect(hasVisibleCharacter('\u200B\u200D\uFE0F \u2060')).toBe(false);
    expect(hasVisibleCharacter('\u200Bx')).toBe(true);
    expect(hasVisibleCharacter('👍🏽')).toBe(true);
  });

  it('counts marks stacked on one character, through format characters between them', () => {
    expect(mostMarksOnOneCharacter('plain')).toBe(0);
    expect(mostMarksOnOneCharacter('Việt'.normalize('NFD'))).toBe(2);
    expect(mostMarksOnOneCharacter('e\u0301\u200D\u0302\u2060\u0303')).toBe(3);
    expect(mostMarksOnOneCharacter('e\u0301\u0302 e\u0301\u0302')).toBe(2);
  });
});

describe('limits', () => {
  it('keeps an address budget per IPv4 address and per IPv6 /64', () => {
    expect(addressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:0001:0002::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('says a wait in seconds, minutes or hours', () => {
    expect(describeWait(4)).toBe('4 s');
    expect(describeWait(119)).toBe('119 s');
    expect(describeWait(360)).toBe('6 min');
    expect(describeWait(3 * 3600)).toBe('3 h');
  });
});
