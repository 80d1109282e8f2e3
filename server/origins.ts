// Where the local server can be reached from a browser: the origins a page it
// serves can have. The WebSocket handshake admits these (and ALLOWED_ORIGINS),
// /config.json names the socket on one of them, and the CSP allows it; the Host
// header is only ever compared with them, never copied.
import { isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';

export type Scheme = 'http' | 'https';

/** The machine's own IPv4 addresses other than loopback, as the start-up banner lists them. */
export function networkAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);
}

function origin(scheme: Scheme, host: string, port: number): string {
  const name = isIPv6(host) ? `[${host}]` : host;
  return new URL(`${scheme}://${name}:${port}`).origin;
}

const WILDCARD = new Set(['0.0.0.0', '::', '']);

/**
 * The origins of a server listening on `host`:`port`: the loopback names always,
 * then the listening address or, on every interface, the machine's network
 * addresses (read anew each time: an address can change while it runs).
 */
export function listeningOrigins(host: string, port: number, scheme: Scheme = 'http'): string[] {
  const hosts = ['localhost', '127.0.0.1', '::1'];
  if (WILDCARD.has(host)) hosts.push(...networkAddresses());
  else hosts.push(host);
  return [...new Set(hosts.map((h) => origin(scheme, h, port)))];
}

/** The origin whose host is `hostHeader`, if it is one of `origins`; otherwise the first. */
export function originForHost(origins: readonly string[], hostHeader: string | undefined): string {
  const wanted = hostHeader?.toLowerCase();
  return origins.find((o) => new URL(o).host === wanted) ?? origins[0]!;
}

/** The WebSocket URL at `/path` on a page's origin: http becomes ws, https wss. */
export function socketUrl(pageOrigin: string, path: string): string {
  return `${pageOrigin.replace(/^http/, 'ws')}${path}`;
}
