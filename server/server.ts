// The local hosting: one Node process serves the web client over HTTP and the
// WebSocket at /ws. Every socket event becomes an API Gateway-shaped event for the
// very same exported Lambda handlers, so local runs exercise the Lambda code.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { resolve } from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Config } from '../functions/adapters/config.js';
import { createSql } from '../functions/adapters/db.js';
import { LocalGateway } from '../functions/adapters/local-gateway.js';
import { LocalPresenceBatcher } from '../functions/adapters/local-presence.js';
import { toCurrentState } from '../functions/core/presence-queue.js';
import { createLogger } from '../functions/adapters/logger.js';
import { migrate } from '../functions/adapters/migrate.js';
import { OutboxMailer } from '../functions/adapters/outbox-mailer.js';
import { SesMailer } from '../functions/adapters/aws-mailer.js';
import { SmtpMailer } from '../functions/adapters/smtp-mailer.js';
import { installDeps } from '../functions/adapters/runtime.js';
import { LocalStorage, fileSigningKey } from '../functions/adapters/local-storage.js';
import { WebPusher } from '../functions/adapters/web-push.js';
import { localVapidKeys, pushSubject } from '../functions/adapters/push-keys.js';
import { pruneBudgets } from '../functions/core/budgets.js';
import { sweepFiles } from '../functions/core/files.js';
import { securityEvent } from '../functions/core/audit.js';
import { chargeRefusedHandshake, dropConnections, sweepConnections } from '../functions/core/connections.js';
import { sweepExpired } from '../functions/core/disappearing.js';
import { sweepTwoFactor } from '../functions/core/two-factor.js';
import { handleUnsubscribe, sweepNotices } from '../functions/core/notices.js';
import { RateLimited } from '../functions/core/errors.js';
import { MAX_FRAME_BYTES, networkOf } from '../functions/core/names.js';
import { UNSUBSCRIBE_PATH, serveUnsubscribe } from './unsubscribe.js';
import type { Deps, Frame, Logger, Mailer, Sql, Storage } from '../functions/core/ports.js';
import { handler as onAuth } from '../functions/auth.js';
import { connectHandler } from '../functions/connect.js';
import { handler as onDefault } from '../functions/default.js';
import { handler as onDisconnect } from '../functions/disconnect.js';
import { handler as onHistory } from '../functions/history.js';
import { handler as onJoin } from '../functions/join.js';
import { handler as onLeave } from '../functions/leave.js';
import { handler as onSend } from '../functions/send.js';
import { deliver, reportError, requestIdOf, type WsEvent, type WsHandler } from '../functions/route.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-db.js';
import { apiGatewayEvent } from './events.js';
import { listeningOrigins, originForHost, socketUrl } from './origins.js';
import { isFileRequest, serveFile } from './files.js';
import { privateDirectory, restrictNewFiles } from './private-files.js';
import { securityHeaders, serveStatic } from './static.js';

/** The route table: API Gateway's route keys, selected by `body.action`. */
const ROUTES: Record<string, WsHandler> = {
  auth: onAuth,
  join: onJoin,
  send: onSend,
  history: onHistory,
  leave: onLeave,
};

export const WEB_ROOT = fileURLToPath(new URL('../web/dist/', import.meta.url));
const WS_PATH = '/ws';
/** Frames in flight per socket before the server pushes back. */
const MAX_PENDING = 64;
/**
 * Above this the socket is closed (1009), as API Gateway closes it above 32 KB;
 * between 32 KiB and this, `too_large`. ws holds an unfinished frame in memory up
 * to this size, so it bounds what an idle socket can make us keep.
 */
export const MAX_PAYLOAD = 64 * 1024;
/** A socket refused this many frames in a row, past its budget, is closed (1008). */
const FLOOD_FACTOR = 3;
/** The paths answered by the server itself, which only read. */
const READ_ONLY = 'GET, HEAD';

/** Two years. Sent only over HTTPS: over plain HTTP browsers ignore it, and it would be untrue. */
const HSTS = 'max-age=63072000';

/** 'https' when the server has a certificate (TLS_CERT, TLS_KEY): its pages, and its socket as wss://. */
export function serverScheme(config: Pick<Config, 'tls'>): 'http' | 'https' {
  return config.tls ? 'https' : 'http';
}

/** The mail transport MAIL_TRANSPORT names (config validated its settings). */
export function createMailer(config: Config): Mailer {
  const { mail } = config;
  switch (mail.transport) {
    case 'smtp':
      return new SmtpMailer({ from: mail.from, smtp: mail.smtp! });
    case 'ses':
      return new SesMailer({ from: mail.from, region: mail.sesRegion, endpoint: mail.sesEndpoint });
    case 'outbox':
      return new OutboxMailer(mail.outboxDir, mail.from);
  }
}

export interface ServerOptions {
  config: Config;
  /** defaults: the transport config.mail names (the outbox under config.dataDir unless set) */
  mailer?: Mailer;
  log?: Logger;
  webRoot?: string;
  /** use this database instead of config.databaseUrl or the embedded one */
  sql?: Sql;
  /** keep shared files here instead of under config.files.dir (tests: an S3 stand-in) */
  storage?: Storage;
  /** delete connection rows left by an earlier process (single-process hosting) */
  clearConnections?: boolean;
}

export interface RunningServer {
  port: number;
  /** 'https' (with wss:// at /ws) when given a certificate */
  scheme: 'http' | 'https';
  url: string;
  wsUrl: string;
  deps: Deps;
  gateway: LocalGateway;
  /** Closes sockets, runs their $disconnect, releases the database. */
  close(): Promise<void>;
}

interface Client {
  socket: WebSocket;
  pending: number;
  queue: Promise<void>;
  alive: boolean;
  /** the second of the heartbeat period in which this socket is pinged */
  heartbeatSlot: number;
  /** while the client is too far behind on reading: resolves when it has caught up */
  behind?: Promise<void>;
  /** the frame budget: tokens left, when last refilled (ms), frames refused since the last admitted */
  tokens: number;
  refilledAt: number;
  refused: number;
  /** signed in (an `authed` reply went out), so no longer counted as anonymous */
  authed: boolean;
}

/** A request from this machine: only such a visitor is told where the outbox is. */
function fromLoopback(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Whether the Host header names this server on a loopback address (not a rebound name). */
function ownLoopbackHost(req: IncomingMessage, port: number): boolean {
  const host = req.headers.host?.toLowerCase();
  return host !== undefined && [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`].includes(host);
}

/** The `id` of a request, if it has one, for the `re` of a reply that runs no handler. */
function requestIdOfText(data: string): string | undefined {
  if (data.length > MAX_FRAME_BYTES) return undefined;
  try {
    return requestIdOf(JSON.parse(data));
  } catch {
    return undefined;
  }
}

/** API Gateway's route selection, `$request.body.action`: a route key, or `$default`. */
function selectRoute(data: string): string {
  if (data.length > MAX_FRAME_BYTES) return '$default';
  try {
    const action = JSON.parse(data)?.action;
    // Own keys only: "constructor" or "__proto__" must not reach Object's members.
    return typeof action === 'string' && Object.hasOwn(ROUTES, action) ? action : '$default';
  } catch {
    return '$default';
  }
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { config } = options;
  const log = options.log ?? createLogger(config.logLevel);
  let embedded: EmbeddedPostgres | undefined;
  let sql = options.sql;
  const embeds = !sql && !config.databaseUrl;
  const mailer = options.mailer ?? createMailer(config);
  if (embeds || mailer instanceof OutboxMailer) {
    // The database holds every account's email and password hash, the outbox
    // one-time codes: only this user may read them, old installs included.
    restrictNewFiles();
    await privateDirectory(config.dataDir);
  }
  if (!sql) {
    if (config.databaseUrl) sql = createSql(config.databaseUrl, { max: 10, log });
    else {
      embedded = await startEmbeddedPostgres({ dataDir: `${config.dataDir}/pgdata`, socketDir: `${config.dataDir}/run` });
      // PGlite is one single-threaded backend, where planning the send's one
      // big statement anew on every call costs as much as running it: prepared
      // statements keep one generic plan instead.
      sql = createSql(embedded.url, { max: 1, path: embedded.path, log, connection: { plan_cache_mode: 'force_generic_plan' } });
    }
  }
  await migrate(sql);
  // Sockets of an earlier process are gone; so are their rows.
  if (options.clearConnections ?? true) await sql`delete from connections`;

  // Who is signed in, as the replies say: the server keeps no other state of it.
  const watchSignIns = (ids: readonly string[], frame: Frame) => {
    if (frame.type !== 'authed' && frame.type !== 'logged_out') return;
    for (const id of ids) {
      const client = clients.get(id);
      if (client) setAuthed(client, frame.type === 'authed');
    }
  };
  // Shared files are this user's alone, like the database: 0700, files 0600.
  restrictNewFiles();
  await privateDirectory(config.files.dir);
  const local = new LocalStorage(config.files.dir, await fileSigningKey(config.files.dir, config.files.secret));
  const gateway = new LocalGateway({ maxBufferedBytes: config.maxBufferedBytes, log, onPost: watchSignIns });
  // *(E25)* Web Push, with VAPID keys kept under DATA_DIR (0600), made on first start.
  let pusher: WebPusher | undefined;
  if (config.push.enabled) {
    await privateDirectory(config.dataDir);
    const keys = await localVapidKeys(config.dataDir);
    pusher = new WebPusher({
      keys: async () => keys,
      subject: pushSubject(config.push.subject, config.mail.from),
      allowPrivate: config.settings.pushAllowPrivate,
      ca: config.push.caFile ? readFileSync(config.push.caFile, 'utf8') : undefined,
      timeoutMs: config.push.timeoutMs,
      log,
    });
  }
  const deps: Deps = {
    sql,
    gateway,
    mailer,
    clock: { now: () => new Date() },
    log,
    settings: config.settings,
    storage: options.storage ?? local,
    push: pusher,
  };
  // E23: presence for watchers, coalesced per connection over PRESENCE_BATCH_MS.
  const presence = new LocalPresenceBatcher({
    windowMs: config.settings.presenceBatchMs,
    perConnectionMax: config.settings.presenceWatchMax,
    post: (to, frame) => gateway.post(to, frame),
    onGone: async (ids) => deliver(deps, '', undefined, { broadcasts: await dropConnections(sql, ids, config.settings) }),
    onError: (err) => log.error('could not post presence', { error: String(err) }),
    current: (merged) => toCurrentState(sql, merged),
  });
  deps.presence = presence;
  installDeps(deps);
  // A grant uploads only while its file waits for bytes (server/files.ts).
  const uploadOpen = async (id: string) =>
    (await sql`select 1 from files where id = ${id} and attached_at is null`).length > 0;

  const webRoot = options.webRoot ?? WEB_ROOT;
  // Where code emails land when there is no mail service, for the code screen's hint.
  const outboxDir = config.mail.transport === 'outbox' ? resolve(config.mail.outboxDir) : undefined;
  const clients = new Map<string, Client>();
  // Sockets take the heartbeat's seconds in turn as they connect.
  let nextHeartbeatSlot = 0;
  let closing: Promise<void> | undefined;
  const scheme = serverScheme(config);
  /** the port listened on, once listening (the handshake and pages come after) */
  let port = config.port;
  /** Origins of the pages this server serves: PUBLIC_ORIGIN first, then where it listens. */
  const publicOrigins = () => [...new Set([...config.publicOrigins, ...listeningOrigins(config.host, port, scheme)])];
  // The handshake admits those and ALLOWED_ORIGINS (other sites), never by Host.
  const onConnect = connectHandler(() => [...publicOrigins(), ...config.allowedOrigins]);
  /** Past this many unsent bytes a socket's requests wait until it has read its replies. */
  const pauseReadingAt = Math.floor(config.maxBufferedBytes / 4);

  const { limits } = config;
  const onRequest: RequestListener = (req, res) => {
    // Browsers remember it and never try plain HTTP again: only true of a TLS server.
    if (scheme === 'https') res.setHeader('strict-transport-security', HSTS);
    // Files first: they carry headers of their own, and need none of the page's.
    if (isFileRequest(req.url)) {
      serveFile(local, req, res, log, new Date(), uploadOpen).catch((err) => {
        log.error('file request failed', { error: String(err) });
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    // E24: the one-click unsubscribe link of email notices (its own headers).
    if (new URL(req.url ?? '/', 'http://x').pathname === UNSUBSCRIBE_PATH) {
      serveUnsubscribe(deps, req, res, handleUnsubscribe).catch((err) => {
        log.error('unsubscribe request failed', { error: String(err) });
        if (!res.headersSent) res.writeHead(500).end();
      });
      return;
    }
    // The socket on the origin the page was loaded from, if that is one of ours
    // (the Host header chooses among them; it is never copied).
    const ws = socketUrl(originForHost(publicOrigins(), req.headers.host), WS_PATH);
    const headers = securityHeaders(new URL(ws).origin);
    if ((req.url === '/config.json' || req.url === '/healthz') && req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...headers, allow: READ_ONLY, 'content-type': 'text/plain', 'cache-control': 'no-store' }).end();
      return;
    }
    if (req.url === '/config.json') {
      res.writeHead(200, { ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' });
      // Only to a page of ours on this machine: a page on a rebound name (Host:
      // evil.example) also comes from the loopback peer, and must not learn paths.
      const outbox = outboxDir && fromLoopback(req) && ownLoopbackHost(req, port) ? { outboxDir } : {};
      res.end(JSON.stringify({ websocketUrl: ws, ...outbox }));
      return;
    }
    if (req.url === '/healthz') {
      res.writeHead(200, { ...headers, 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('ok');
      return;
    }
    if (!existsSync(webRoot)) {
      res.writeHead(503, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      res.end('The web client is not built yet: run `npm run build`.');
      return;
    }
    serveStatic(webRoot, req, res, headers, { sourceMaps: config.serveSourceMaps }).catch((err) => {
      log.error('static file failed', { error: String(err) });
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  // Read at start: a renewed certificate takes a restart.
  // Slow headers are cut within seconds, not Node's minutes: each open request
  // holds a descriptor. The check runs every 2 s so the timeouts hold to it.
  const timeouts = {
    headersTimeout: limits.headersTimeoutSeconds * 1000,
    requestTimeout: limits.requestTimeoutSeconds * 1000,
    connectionsCheckingInterval: 2000,
  };
  const http = config.tls
    ? createHttpsServer({ ...timeouts, cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile), minVersion: 'TLSv1.2' }, onRequest)
    : createHttpServer(timeouts, onRequest);
  // Below the process's file descriptor limit, so that the database, files and
  // logs always have some; past it Node drops new connections.
  http.maxConnections = limits.maxConnections;

  /**
   * Open TCP connections per address (IPv6: per /64), pages and sockets alike:
   * one client cannot take every descriptor with idle connections. The excess
   * is cut before a byte is read.
   */
  const perAddress = new Map<string, number>();
  http.on('connection', (socket: Socket) => {
    const key = networkOf(socket.remoteAddress);
    const open = (perAddress.get(key) ?? 0) + 1;
    if (open > limits.tcpConnectionsPerAddress) {
      securityEvent(log, 'connection_refused', { address: key, reason: 'tcp_connections_per_address', limit: limits.tcpConnectionsPerAddress });
      socket.destroy();
      return;
    }
    perAddress.set(key, open);
    socket.once('close', () => {
      const left = (perAddress.get(key) ?? 1) - 1;
      if (left > 0) perAddress.set(key, left);
      else perAddress.delete(key);
    });
  });
  /** Sockets held that have not signed in: bounded for the whole process. */
  let anonymous = 0;
  const setAuthed = (client: Client, authed: boolean) => {
    if (client.authed === authed) return;
    client.authed = authed;
    anonymous += authed ? -1 : 1;
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_PAYLOAD, perMessageDeflate: false });

  /**
   * Backpressure: a client that does not read its replies would have us buffer
   * them without bound. Past the mark, stop reading its socket (its requests wait
   * in its own buffers) until what we sent has drained. Fan-out, which no pause
   * holds back, is bounded by the gateway, which closes the socket (1008). Its
   * pongs are not read meanwhile either: a client still behind at the next
   * heartbeat is cut like a dead one.
   */
  const caughtUp = (client: Client): Promise<void> | undefined => {
    const ws = client.socket;
    if (client.behind || ws.bufferedAmount <= pauseReadingAt || ws.readyState !== ws.OPEN) return client.behind;
    const raw = (ws as unknown as { _socket?: Socket })._socket;
    if (!raw) return undefined;
    ws.pause();
    client.behind = new Promise<void>((resolve) => {
      const done = () => {
        raw.off('drain', check);
        raw.off('close', done);
        client.behind = undefined;
        ws.resume();
        resolve();
      };
      // 'drain' comes when the socket's buffer is empty again.
      const check = () => ws.bufferedAmount <= pauseReadingAt && done();
      raw.on('drain', check);
      raw.on('close', done);
    });
    return client.behind;
  };

  /**
   * The socket's frame budget, in memory and before any handler or query: a
   * token bucket (burst, then a steady rate), pings included. A frame over it is
   * answered `rate_limited`; a socket that keeps sending regardless is closed.
   * False when the frame must not run.
   */
  const withinBudget = (client: Client, connectionId: string, re: () => string | undefined): boolean => {
    const now = performance.now();
    client.tokens = Math.min(limits.framesBurst, client.tokens + ((now - client.refilledAt) / 1000) * limits.framesPerSecond);
    client.refilledAt = now;
    if (client.tokens >= 1) {
      client.tokens--;
      client.refused = 0;
      return true;
    }
    client.refused++;
    if (client.refused === 1) securityEvent(log, 'rate_limited', { action: 'frames', connection: connectionId });
    if (client.refused > FLOOD_FACTOR * limits.framesBurst) {
      client.socket.close(1008, 'Too many frames: slow down');
      return false;
    }
    const wait = Math.max(1, Math.ceil((1 - client.tokens) / limits.framesPerSecond));
    void reportError(deps, connectionId, re(), new RateLimited('Too many frames; wait a moment and try again.', wait));
    return false;
  };

  const run = (client: Client, connectionId: string, handler: WsHandler, event: WsEvent) => {
    // One frame at a time per socket, in order, as a person would expect; a
    // client that floods is told to slow down instead of queueing without bound.
    if (client.pending >= MAX_PENDING) {
      void reportError(deps, connectionId, undefined, new RateLimited('Too many requests at once; wait for replies.'));
      return;
    }
    client.pending++;
    client.queue = client.queue
      .then(() => caughtUp(client))
      .then(() => handler(event))
      .catch((err) => log.error('handler failed', { error: String(err) }))
      .finally(() => client.pending--) as Promise<void>;
  };

  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== WS_PATH) {
      // Counted like a handshake: a flood of them is refused with 429 as well.
      const within = await chargeRefusedHandshake(deps, new Date(), req.socket.remoteAddress);
      return within ? refuse(404, 'Not Found') : refuse(429, 'Too Many Requests');
    }
    // The memory of sockets not yet signed in is bounded for the whole process.
    if (anonymous >= limits.anonymousSockets) {
      securityEvent(log, 'connection_refused', { address: networkOf(req.socket.remoteAddress), reason: 'anonymous_sockets', limit: limits.anonymousSockets });
      return refuse(503, 'Service Unavailable');
    }
    const connectionId = randomBytes(12).toString('base64url');
    // The events' domainName, as API Gateway fills it with its own: not the Host header.
    const host = new URL(publicOrigins()[0]!).host;
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]));
    const result = await onConnect(apiGatewayEvent('$connect', connectionId, { host, headers, sourceIp: req.socket.remoteAddress }));
    const status = typeof result === 'object' && result && 'statusCode' in result ? result.statusCode : 200;
    if (status === 429) return refuse(429, 'Too Many Requests');
    if (status !== 200) return refuse(status === 403 ? 403 : 500, status === 403 ? 'Forbidden' : 'Internal Server Error');
    wss.handleUpgrade(req, socket, head, (ws) => {
      const client: Client = {
        socket: ws,
        pending: 0,
        queue: Promise.resolve(),
        alive: true,
        heartbeatSlot: nextHeartbeatSlot++ % limits.heartbeatSeconds,
        tokens: limits.framesBurst,
        refilledAt: performance.now(),
        refused: 0,
        authed: true,
      };
      setAuthed(client, false);
      clients.set(connectionId, client);
      gateway.add(connectionId, ws);
      ws.on('pong', () => (client.alive = true));
      // ws answers a ping frame by itself: it costs a write, so it takes a token too.
      ws.on('ping', () => void withinBudget(client, connectionId, () => undefined));
      ws.on('message', (data: RawData, isBinary: boolean) => {
        if (!withinBudget(client, connectionId, () => (isBinary ? undefined : requestIdOfText(data.toString())))) return;
        if (isBinary) {
          const body = Buffer.from(data as Buffer).toString('base64');
          return run(client, connectionId, onDefault, apiGatewayEvent('$default', connectionId, { host, body, isBase64Encoded: true }));
        }
        const body = data.toString();
        const routeKey = selectRoute(body);
        run(client, connectionId, ROUTES[routeKey] ?? onDefault, apiGatewayEvent(routeKey, connectionId, { host, body }));
      });
      ws.on('error', (err) => log.warn('socket error', { connectionId, error: err.message }));
      ws.on('close', () => {
        setAuthed(client, true);
        gateway.remove(connectionId);
        presence.forget(connectionId);
        clients.delete(connectionId);
        // On shutdown every row goes in one statement instead, and nobody is left to tell.
        if (closing) return;
        // After the frames already queued, like API Gateway's $disconnect.
        client.queue = client.queue
          .then(async () => {
            // The server may have begun to close while earlier frames ran: its
            // database is going, and shutdown drops every row at once.
            if (closing) return;
            await onDisconnect(apiGatewayEvent('$disconnect', connectionId, { host }));
          })
          .catch((err) => log.error('disconnect failed', { error: String(err) }));
      });
    });
  };
  http.on('upgrade', (req, socket, head) => {
    onUpgrade(req, socket, head).catch((err) => {
      log.error('upgrade failed', { error: String(err) });
      socket.destroy();
    });
  });

  // Dead peers (no pong to the last ping) are cut, so presence stays honest.
  // Each socket is pinged once a period (HEARTBEAT_SECONDS), the sockets spread
  // over its seconds, a share each second: pinging 10,000 at once would be
  // 10,000 writes in one turn of the event loop (and as many pongs back),
  // holding up every message sent meanwhile.
  let heartbeatTick = 0;
  const heartbeat = setInterval(() => {
    const slot = heartbeatTick++ % limits.heartbeatSeconds;
    for (const client of clients.values()) {
      if (client.heartbeatSlot !== slot) continue;
      if (!client.alive) client.socket.terminate();
      else {
        client.alive = false;
        client.socket.ping();
      }
    }
  }, 1000);
  // Sockets that never log in, rows older than any connection may live, and
  // expired disappearing messages (SWEEP_INTERVAL_SECONDS: well within a minute).
  const sweep = setInterval(() => {
    sweepConnections(deps, config.sweep)
      .then((outcome) => deliver(deps, '', undefined, outcome))
      .then(() => pruneBudgets(deps.sql, deps.clock.now()))
      .then(() => sweepExpired(deps))
      .then((outcome) => deliver(deps, '', undefined, outcome))
      .then(() => sweepFiles(deps))
      .then(() => sweepTwoFactor(deps))
      .then(() => sweepNotices(deps))
      .catch((err) => log.warn('sweep failed', { error: String(err) }));
  }, config.sweep.intervalSeconds * 1000);
  heartbeat.unref();
  sweep.unref();
  // PGlite has no autovacuum: nothing would ever clear dead rows or gather the
  // planner's statistics. Every send rewrites a few small rows (the room's
  // counter, the sender's buckets); unvacuumed, their tables and indexes grow with
  // each one, and a send cost 1.7 times as much after a few thousand (measured on
  // the bench's database). On default estimates the recipients query also picks
  // a plan twice as slow. So the embedded database is vacuumed and analysed at
  // start and every few minutes, a short pause of its single backend.
  const vacuum = embedded
    ? setInterval(() => void sql`vacuum analyze`.catch((err) => log.warn('vacuum failed', { error: String(err) })), 5 * 60_000)
    : undefined;
  vacuum?.unref();
  if (embedded) await sql`vacuum analyze`;

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolve());
  });
  port = (http.address() as AddressInfo).port;
  // Links in email notices (E24) point at PUBLIC_URL, else where this server is reached.
  if (!deps.settings.publicUrl) deps.settings = { ...deps.settings, publicUrl: publicOrigins()[0] };

  const close = () =>
    (closing ??= (async () => {
      clearInterval(heartbeat);
      clearInterval(sweep);
      clearInterval(vacuum);
      presence.close();
      http.close();
      const queues = [...clients.values()].map((c) => {
        c.socket.close(1001, 'Server shutting down');
        return c.queue;
      });
      // Let requests already in flight finish (a moment at most), then drop what is left.
      await Promise.race([Promise.all(queues), new Promise((r) => setTimeout(r, 3000))]);
      for (const c of clients.values()) c.socket.terminate();
      wss.close();
      http.closeAllConnections();
      await deps.sql`delete from connections`.catch(() => {});
      if (!options.sql) await deps.sql.end({ timeout: 2 });
      await embedded?.stop();
      pusher?.close();
      installDeps(undefined);
    })());

  return { port, scheme, url: `${scheme}://localhost:${port}/`, wsUrl: socketUrl(`${scheme}://localhost:${port}`, WS_PATH), deps, gateway, close };
}
