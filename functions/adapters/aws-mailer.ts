// The mailer port on AWS: SES's SendEmail, plain text, UTF-8.
import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';
import type { Mail, Mailer } from '../core/ports.js';

export class SesMailer implements Mailer {
  constructor(
    private readonly client: SESClient,
    /** a verified SES identity, e.g. "Wild Whispers <no-reply@example.com>" */
    private readonly from: string,
  ) {}

  async send(mail: Mail): Promise<void> {
    await this.client.send(
      new SendEmailCommand({
        Source: this.from,
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
