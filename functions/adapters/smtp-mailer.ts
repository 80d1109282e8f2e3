// The mailer port over SMTP (nodemailer), for a self-hosted server whose people
// must receive their codes: a company relay, a LAN mail server, a provider's
// submission port. Implicit TLS (smtps://) or STARTTLS whenever the server
// offers it; with `requireTls` a server that does not offer it gets nothing.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { createTransport, type Transporter } from 'nodemailer';
import type { Mail, Mailer } from '../core/ports.js';
import type { SmtpConfig } from './config.js';

export interface SmtpMailerOptions {
  from: string;
  smtp: SmtpConfig;
}

/** How the banner names the transport: never with the password. */
export function describeSmtp(smtp: SmtpConfig): string {
  const scheme = smtp.secure ? 'smtps' : 'smtp';
  const user = smtp.user ? `${encodeURIComponent(smtp.user)}@` : '';
  const host = smtp.host.includes(':') ? `[${smtp.host}]` : smtp.host;
  const tls = smtp.secure ? 'TLS' : smtp.requireTls ? 'STARTTLS required' : 'STARTTLS when offered';
  return `${scheme}://${user}${host}:${smtp.port} (${tls})`;
}

export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(private readonly options: SmtpMailerOptions) {
    const { smtp } = options;
    // An internal CA is trusted in addition to the system's, not instead of it.
    const ca = smtp.caFile ? [...rootCertificates, readFileSync(smtp.caFile, 'utf8')] : undefined;
    this.transport = createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: smtp.requireTls,
      auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
      tls: { minVersion: 'TLSv1.2', ...(ca ? { ca } : {}) },
      // A mail server that hangs must not hold a sign-up for nodemailer's minutes.
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      // nodemailer logs nothing unless asked; keep it so (the AUTH exchange holds the password).
      logger: false,
      debug: false,
    });
  }

  async send(mail: Mail): Promise<void> {
    try {
      await this.transport.sendMail({
        from: this.options.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        // E24: List-Unsubscribe and List-Unsubscribe-Post on notices
        ...(mail.headers ? { headers: mail.headers } : {}),
      });
    } catch (err) {
      // nodemailer's errors name the server's reply, never the password; the
      // message alone is enough for the log, and carries no code either.
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`SMTP delivery via ${describeSmtp(this.options.smtp)} failed: ${reason}`);
    }
  }
}
