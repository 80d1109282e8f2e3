// Names that dodge the refused types or lie about what a file is: a program
// whose name ends in dots (Windows saves `evil.exe.` as `evil.exe`) or in an
// invisible character, programs a double click runs that the list missed, and
// names whose direction overrides make `invoice‮fdp.html` read as
// `invoicelmth.pdf`. Each is refused before anything is kept.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, type TestClient } from '../helpers/client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let t: TestServer;
let c: TestClient;
const room = `rn-${crypto.randomUUID().slice(0, 8)}`;
beforeAll(async () => {
  t = await startTestServer({ FILE_UPLOADS_PER_HOUR: '1000' });
  c = await signUp(t);
  expect((await c.request({ action: 'join', room })).type).toBe('joined');
});
afterAll(async () => {
  await c?.close();
  await t?.close();
});

const ask = (name: string) => c.request({ action: 'upload', room, name, size: 10, type: 'application/octet-stream' });
const rows = async () => (await t.db.sql<{ n: string }[]>`select count(*)::text as n from files where room_id = ${room}`)[0]!.n;

describe('refused types cannot be dodged by the name', () => {
  it('trailing dots, spaces and invisible characters after a refused extension', async () => {
    for (const name of ['evil.exe.', 'evil.exe...', 'evil.exe. . .', 'evil.exe\u200b', 'evil.EXE\ufeff.', 'evil.scr.']) {
      const r = await ask(name);
      expect(r, JSON.stringify(name)).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(r.message).toMatch(/^Files of type \.(exe|scr) cannot be shared here: they could run as programs\.$/);
    }
    expect(await rows()).toBe('0');
  });

  it('programs a double click runs: macOS commands, app packages, add-ins, disk images', async () => {
    for (const ext of ['.command', '.msix', '.appx', '.appinstaller', '.xll', '.chm', '.msc', '.scf', '.url', '.psm1', '.settingcontent-ms', '.iso', '.img', '.vhd', '.vhdx', '.mjs']) {
      const r = await ask(`thing${ext}`);
      expect(r, ext).toMatchObject({ type: 'error', code: 'bad_request', message: `Files of type ${ext} cannot be shared here: they could run as programs.` });
    }
    expect(await rows()).toBe('0');
  });

  it('direction overrides and C1 controls in a name', async () => {
    for (const name of ['invoice\u202efdp.html', 'a\u2066b.txt', 'a\u200fb.txt', 'x\u061c.txt']) {
      expect(await ask(name), JSON.stringify(name)).toMatchObject({
        type: 'error',
        code: 'bad_request',
        message: 'A file name cannot contain characters that change the direction of text.',
      });
    }
    expect(await ask('a\u0085b.txt')).toMatchObject({ type: 'error', code: 'bad_request', message: 'A file name cannot contain control characters.' });
    expect(await rows()).toBe('0');
  });

  it('ordinary names still get a grant', async () => {
    for (const name of ['report.pdf', 'naïve résumé 😀.txt', 'שלום.txt', 'v1.2.tar.gz', 'notes.']) {
      expect((await ask(name)).type, name).toBe('upload_grant');
    }
  });
});
