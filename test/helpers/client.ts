// A protocol client for tests: real `ws`, frames buffered so a test can await
// the reply to a request or the next frame of a type.
import WebSocket from 'ws';
import type { Frame } from '../../functions/core/ports.js';

type Pred = (f: Frame) => boolean;

export class TestClient {
  readonly frames: Frame[] = [];
  private consumed = new Set<Frame>();
  private waiters: Array<() => void> = [];
  private seq = 0;
  readonly closed: Promise<{ code: number; reason: string }>;
  username?: string;
  token?: string;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()));
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** `options`: the socket's settings: `ca` for a wss:// server with a test certificate, `localAddress` to pick a source address in 127.0.0.0/8 (per-address budgets) */
  static connect(url: string, headers: Record<string, string> = {}, options: WebSocket.ClientOptions = {}): Promise<TestClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { ...options, headers });
      const client = new TestClient(ws);
      ws.once('open', () => resolve(client));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(frame: object | string): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Sends with a fresh id and resolves with the direct reply (`re` = id). */
  async request(frame: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const id = `r${++this.seq}`;
    this.send({ ...frame, id });
    return this.next((f) => f.re === id, timeoutMs);
  }

  /** The next frame not yet taken that matches: a type name or a predicate. */
  async next(match: string | Pred, timeoutMs = 5000): Promise<Frame> {
    const pred: Pred = typeof match === 'string' ? (f) => f.type === match : match;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find((f) => !this.consumed.has(f) && pred(f));
      if (found) {
        this.consumed.add(found);
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; got ${JSON.stringify(this.frames.slice(-5))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 100));
      });
    }
  }

  /** Frames matching, taken or not, received so far. */
  all(match: string | Pred): Frame[] {
    const pred: Pred = typeof match === 'string' ? (f) => f.type === match : match;
    return this.frames.filter(pred);
  }

  /** Waits a little and asserts nothing matching arrived. */
  async quiet(match: string | Pred, ms = 200): Promise<Frame[]> {
    await new Promise((r) => setTimeout(r, ms));
    const pred: Pred = typeof match === 'string' ? (f) => f.type === match : match;
    return this.frames.filter((f) => !this.consumed.has(f) && pred(f));
  }

  close(): Promise<unknown> {
    this.ws.close();
    return this.closed;
  }
}

export interface Account {
  username: string;
  email: string;
  password: string;
}

let counter = 0;
export function newAccount(prefix = 'user'): Account {
  const username = `${prefix}${process.pid % 1000}_${++counter}`;
  return { username, email: `${username}@example.com`, password: 'correct horse battery' };
}

/** A server a test can sign up on: its socket URL and a way to read the mailed code. */
export interface SignUpTarget {
  wsUrl: string;
  codeFor(email: string): Promise<string>;
}

/** Registers and verifies a new account; returns a client logged in as it. */
export async function signUp(server: SignUpTarget, account: Account = newAccount()): Promise<TestClient & Account> {
  const client = await TestClient.connect(server.wsUrl);
  const sent = await client.request({ action: 'auth', op: 'register', ...account });
  if (sent.type !== 'otp_sent') throw new Error(`register failed: ${JSON.stringify(sent)}`);
  const code = await server.codeFor(account.email);
  const authed = await client.request({ action: 'auth', op: 'verify', username: account.username, code });
  if (authed.type !== 'authed') throw new Error(`verify failed: ${JSON.stringify(authed)}`);
  client.username = account.username.toLowerCase();
  client.token = authed.token as string;
  return Object.assign(client, account, { username: account.username.toLowerCase() });
}

/** A second connection for an existing account, by token. */
export async function resumeAs(server: { wsUrl: string }, token: string): Promise<TestClient> {
  const client = await TestClient.connect(server.wsUrl);
  const authed = await client.request({ action: 'auth', op: 'resume', token });
  if (authed.type !== 'authed') throw new Error(`resume failed: ${JSON.stringify(authed)}`);
  client.token = token;
  return client;
}
