// Messages that show nothing (only zero-width, format or variation characters) or
// that pile marks onto one character (Zalgo towers) are refused with bad_request
// and store nothing; real scripts and emoji sequences pass untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newAccount, signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let alice: TestClient;
beforeAll(async () => {
  t = await startTestServer({ PROFANITY_FILTER: 'off', MESSAGE_BURST: '1000', USER_MESSAGE_BURST: '1000' });
  alice = await signUp(t, newAccount('text'));
});
afterAll(async () => {
  await alice?.close();
  await t?.close();
});

let n = 0;
const send = (text: string) => alice.request({ action: 'send', room: 'general', text, clientId: `t${++n}` });

const INVISIBLE = {
  'zero width space': '\u200B',
  'zero-width characters of every kind': '\u200B\u200C\u200D\u2060\uFEFF',
  'variation selectors alone': '\uFE0F\uFE0E\uFE0F',
  'a supplementary variation selector': '\u{E0100}',
  'bidi controls': '\u200E\u200F\u202A\u202E\u2066\u2069',
  'invisible operators': '\u2061\u2062\u2063\u2064',
  'soft hyphen and combining grapheme joiner': '\u00AD\u034F',
  'Hangul fillers': '\u3164\u115F\u1160\uFFA0',
  'Mongolian vowel separator': '\u180E',
  'tag characters': '\u{E0020}\u{E0041}\u{E007F}',
  'a braille blank': '\u2800',
  'zero widths between spaces': ' \u200B \u200D\u3000\u00A0\u2003 ',
  'a combining mark on nothing': '\u0301\u0301',
};

const TOWERS = {
  'one letter with 3,999 combining marks': 'a' + '\u0301'.repeat(3999),
  'nine marks on one letter': 'fine text, then e' + '\u0301\u0308\u0323'.repeat(3),
  'marks split by zero-width joiners': 'e' + '\u0301\u0302\u200D'.repeat(10),
  'marks split by variation selectors and format characters': 'o' + '\u0301\u2060\u0302\u00AD\u0303\u034F'.repeat(4),
};

const REAL = {
  Vietnamese: 'Tiếng Việt có dấu: người ơi, ở đâu? Đẹp quá!',
  'Vietnamese, decomposed': 'Tiếng Việt có dấu: người ơi, ở đâu? Đẹp quá!'.normalize('NFD'),
  Hindi: 'नमस्ते दुनिया, क्षत्रिय श्रीमान् ज्ञान',
  Thai: 'สวัสดีครับ ผู้ใหญ่ น้ำแข็ง กี่โมงแล้ว',
  Tibetan: 'བཀྲ་ཤིས་བདེ་ལེགས། སྐྱབས་',
  'Hebrew with points': 'בְּרֵאשִׁית בָּרָא אֱלֹהִים',
  'Arabic with harakat': 'مَرْحَبًا بِكُمْ',
  Korean: '안녕하세요',
  'emoji ZWJ sequences, skin tones, flags and keycaps': '👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽 🧑🏿‍🤝‍🧑🏻 ❤️‍🔥 1️⃣ 🇫🇷 🏴󠁧󠁢󠁥󠁮󠁧󠁿',
  'light Zalgo': 'Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇',
  'eight marks on one letter': 'e' + '\u0301\u0308\u0323\u0330'.repeat(2),
  'visible text with zero widths inside': 'zero\u200Bwidth\u200Djoin\u2060ed',
  'a single emoji presentation sequence': '☺️',
};

describe('message text', () => {
  it.each(Object.entries(INVISIBLE))('refuses %s with bad_request', async (_name, text) => {
    const reply = await send(text);
    expect(reply).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(String(reply.message)).toMatch(/visible/);
  });

  it.each(Object.entries(TOWERS))('refuses %s with bad_request', async (_name, text) => {
    const reply = await send(text);
    expect(reply).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(String(reply.message)).toMatch(/at most 8 (accent|combining) marks/);
  });

  it('stored none of the refused texts', async () => {
    const [row] = await t.db.sql`
      select count(*)::int as n from messages m join users u on u.id = m.sender_id where u.username = ${alice.username!}`;
    expect(row!.n).toBe(0);
  });

  it.each(Object.entries(REAL))('accepts %s verbatim', async (_name, text) => {
    const reply = await send(text);
    expect(reply).toMatchObject({ type: 'sent', message: { text } });
  });
});
