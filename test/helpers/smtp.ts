// A real SMTP server on port 0 (the smtp-server package), for tests that send
// mail through the SMTP transport: it records each message as received, parsed,
// with whether the session was encrypted and who logged in.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** An SMTP_URL; built, not written out, so no credential-shaped URL sits in the source. */
export function smtpUrl(host: string, port: number, login?: { user: string; password?: string }, scheme: 'smtp' | 'smtps' | 'http' = 'smtp'): string {
  const url = new URL(`${scheme}://${host}:${port}`);
  if (login) {
    url.username = login.user;
    if (login.password) url.password = login.password;
  }
  return url.toString().replace(/\/$/, '');
}

export interface Received {
  from: string;
  to: string[];
  /** the session was TLS (STARTTLS or implicit) when the message came */
  secure: boolean;
  /** the user who authenticated, if any */
  user?: string;
  parsed: ParsedMail;
}

export interface SmtpTestServer {
  port: number;
  received: Received[];
  /** AUTH attempts refused for wrong credentials */
  refusedLogins: number;
  /** the six-digit code of the newest message to this address, waiting for one */
  codeFor(email: string, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export interface SmtpTestOptions {
  /** a certificate for STARTTLS (or implicit TLS with `secure`); without it, no STARTTLS is offered */
  tls?: { cert: string; key: string };
  secure?: boolean;
  /** require AUTH with exactly these credentials */
  login?: { user: string; password: string };
  host?: string;
}

export async function startSmtpServer(options: SmtpTestOptions = {}): Promise<SmtpTestServer> {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const state = { refusedLogins: 0 };
  const config: SMTPServerOptions = {
    logger: false,
    secure: options.secure ?? false,
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : { hideSTARTTLS: true }),
    authOptional: !options.login,
    // Only the plain-text case: a test server on loopback, not a real relay.
    allowInsecureAuth: !options.tls,
    size: 1024 * 1024,
    onAuth(auth, _session, callback) {
      if (options.login && auth.username === options.login.user && auth.password === options.login.password) {
        return callback(null, { user: auth.username });
      }
      state.refusedLogins++;
      callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      simpleParser(stream).then(
        (parsed) => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            secure: session.secure,
            user: session.user as string | undefined,
            parsed,
          });
          for (const w of waiters.splice(0)) w();
          callback();
        },
        (err) => callback(err),
      );
    },
  };
  const server = new SMTPServer(config);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  return {
    port,
    received,
    get refusedLogins() {
      return state.refusedLogins;
    },
    async codeFor(email, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const code = received
          .filter((m) => m.to.some((to) => to.toLowerCase() === email.toLowerCase()))
          .map((m) => /\b(\d{6})\b/.exec(m.parsed.text ?? '')?.[1])
          .filter(Boolean)
          .at(-1);
        if (code) return code;
        if (Date.now() > deadline) throw new Error(`no code mailed to ${email} over SMTP`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
