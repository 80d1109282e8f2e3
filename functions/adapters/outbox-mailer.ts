// Local mail: each email is one RFC 822 file under the outbox folder, and a line
// on the console, so a developer (or a test) can read the code without a mail server.
// The codes are secrets: the folder is 0700 and each file 0600, for this user only.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Mail, Mailer } from '../core/ports.js';

function encodeHeader(value: string): string {
  // RFC 2047 for anything beyond printable ASCII; strip line breaks (header injection)
  const clean = value.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${Buffer.from(clean).toString('base64')}?=`;
}

export function formatRfc822(from: string, mail: Mail, date: Date, messageId: string): string {
  return (
    [
      `From: ${encodeHeader(from)}`,
      `To: ${encodeHeader(mail.to)}`,
      `Subject: ${encodeHeader(mail.subject)}`,
      `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
      `Message-ID: <${messageId}>`,
      // E24: List-Unsubscribe and the like; names are the code's, values lose line breaks
      ...Object.entries(mail.headers ?? {}).map(([name, value]) => `${name}: ${encodeHeader(value)}`),
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      mail.text.replace(/\r?\n/g, '\r\n'),
    ].join('\r\n') + '\r\n'
  );
}

export class OutboxMailer implements Mailer {
  constructor(
    private readonly dir: string,
    private readonly from: string,
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {}

  async send(mail: Mail): Promise<void> {
    const now = new Date();
    const id = `${now.getTime()}-${randomBytes(6).toString('hex')}`;
    // Private even if an earlier version left it open (mail is rare: no caching).
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
    const file = join(this.dir, `${id}.eml`);
    await writeFile(file, formatRfc822(this.from, mail, now, `${id}@wild-whispers.local`), { mode: 0o600 });
    // The dev outbox is the one place a code may be shown.
    this.print(`[outbox] to ${mail.to}: ${mail.subject}  (${file})`);
  }
}
