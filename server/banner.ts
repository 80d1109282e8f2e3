// What `npm start` prints once it listens: where to point a browser, and what
// the server is really using (database, mail, sign-up policy), with a warning
// when a team would otherwise never receive their codes. Never a password.
import type { NetworkInterfaceInfo } from 'node:os';
import { smtpWarning, type Config } from '../functions/adapters/config.js';
import { describeSmtp } from '../functions/adapters/smtp-mailer.js';

export interface BannerInput {
  config: Config;
  port: number;
  scheme: 'http' | 'https';
  readyMs: number;
  /** os.networkInterfaces(), for the addresses other machines can use */
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/** Whether only this machine can connect: a loopback address or name. */
export function loopbackOnly(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** DATABASE_URL as host, port and database, without the user's password. */
export function describeDatabase(config: Config): string {
  if (!config.databaseUrl) return `embedded PostgreSQL (PGlite) in ${config.dataDir}/pgdata`;
  try {
    const url = new URL(config.databaseUrl);
    const user = url.username ? ` as ${decodeURIComponent(url.username)}` : '';
    return `PostgreSQL at ${url.host}${url.pathname}${user}`;
  } catch {
    // postgres.js accepts more than WHATWG URLs do; show nothing that may hold a password.
    return 'PostgreSQL at DATABASE_URL';
  }
}

export function describeMail(config: Config): string {
  const { mail } = config;
  switch (mail.transport) {
    case 'outbox':
      return `outbox: files in ${mail.outboxDir}/ (codes are printed here too)`;
    case 'ses':
      return `Amazon SES${mail.sesRegion ? ` in ${mail.sesRegion}` : ''}, from ${mail.from}`;
    case 'smtp':
      return `SMTP ${describeSmtp(mail.smtp!)}, from ${mail.from}`;
  }
}

export function startupBanner({ config, port, scheme, readyMs, interfaces }: BannerInput): string[] {
  const url = (host: string) => `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  const lines = [``, `  Wild Whispers ready in ${readyMs} ms`, ``];
  const wildcard = WILDCARD.has(config.host);
  // "localhost" reaches the server only when it listens on a loopback address too.
  lines.push(`  ➜  Local:    ${url(wildcard || config.host === '127.0.0.1' ? 'localhost' : config.host)}`);
  if (wildcard) {
    const addresses = Object.values(interfaces)
      .flat()
      .filter((a): a is NetworkInterfaceInfo => !!a && a.family === 'IPv4' && !a.internal)
      .map((a) => a.address);
    for (const a of addresses) lines.push(`  ➜  Network:  ${url(a)}`);
  } else if (loopbackOnly(config.host)) lines.push('  ➜  Network:  use HOST=0.0.0.0 to expose');
  // PUBLIC_ORIGIN: a name or a proxy in front, admitted by the handshake too.
  for (const o of config.publicOrigins) lines.push(`  ➜  Public:   ${o}/`);
  lines.push(`  ➜  Database: ${describeDatabase(config)}`);
  lines.push(`  ➜  Mail:     ${describeMail(config)}`);
  lines.push(`  ➜  Sign-up:  ${config.settings.inviteCode ? 'invite-only (INVITE_CODE)' : 'open to anyone who can reach this server'}`);
  const exposed = !loopbackOnly(config.host);
  if (exposed && config.mail.transport === 'outbox') {
    lines.push(`  ⚠  Mail goes to the outbox: codes land in ${config.mail.outboxDir}; set SMTP_URL so people receive them.`);
  }
  if (exposed && scheme === 'http') {
    lines.push('  ⚠  Plain HTTP: passwords cross the network readable; set TLS_CERT and TLS_KEY (docs/SELF-HOSTING.md).');
  }
  const smtp = smtpWarning(config.mail.smtp);
  if (smtp) lines.push(`  ⚠  ${smtp}.`);
  lines.push('');
  return lines;
}
