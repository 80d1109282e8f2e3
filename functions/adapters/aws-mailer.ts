// The mailer port on AWS: SES's SendEmail, plain text, UTF-8; a mail with header
// fields of its own (E24 notices: List-Unsubscribe, List-Unsubscribe-Post) goes as
// SendRawEmail, the one SES v1 call that carries them, built as the outbox builds it. The SDK client is
// loaded on first use: only the `auth` function sends mail, and only its bundle
// carries the SES client (the others mark it external and never load it).
import { randomBytes } from 'node:crypto';
import type { SESClient } from '@aws-sdk/client-ses';
import type { Mail, Mailer } from '../core/ports.js';
import { formatRfc822 } from './outbox-mailer.js';

export interface SesMailerOptions {
  /** a verified SES identity, e.g. "Wild Whispers <no-reply@example.com>" */
  from: string;
  region?: string;
  /** only to point the SDK at a stand-in (tests) */
  endpoint?: string;
}

export class SesMailer implements Mailer {
  private client?: Promise<{
    client: SESClient;
    SendEmailCommand: typeof import('@aws-sdk/client-ses').SendEmailCommand;
    SendRawEmailCommand: typeof import('@aws-sdk/client-ses').SendRawEmailCommand;
  }>;

  constructor(private readonly options: SesMailerOptions) {}

  private sdk() {
    this.client ??= import('@aws-sdk/client-ses').then(({ SESClient, SendEmailCommand, SendRawEmailCommand }) => ({
      client: new SESClient({ region: this.options.region, ...(this.options.endpoint ? { endpoint: this.options.endpoint } : {}) }),
      SendEmailCommand,
      SendRawEmailCommand,
    }));
    return this.client;
  }

  async send(mail: Mail): Promise<void> {
    const { client, SendEmailCommand, SendRawEmailCommand } = await this.sdk();
    if (mail.headers && Object.keys(mail.headers).length) {
      // SES sets its own Message-ID; this one only makes the message well-formed.
      const domain = /@([^>\s]+)/.exec(this.options.from)?.[1] ?? 'localhost';
      const raw = formatRfc822(this.options.from, mail, new Date(), `${randomBytes(12).toString('hex')}@${domain}`);
      await client.send(
        new SendRawEmailCommand({ Source: this.options.from, Destinations: [mail.to], RawMessage: { Data: Buffer.from(raw, 'utf8') } }),
      );
      return;
    }
    await client.send(
      new SendEmailCommand({
        Source: this.options.from,
        Destination: { ToAddresses: [mail.to] },
        Message: {
          Subject: { Data: mail.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' } },
        },
      }),
    );
  }
}

/** For functions that have no business sending mail (only `auth` may, by IAM too). */
export class RefusingMailer implements Mailer {
  async send(): Promise<void> {
    throw new Error('This function is not configured to send mail (MAIL_TRANSPORT is not "ses").');
  }
}
