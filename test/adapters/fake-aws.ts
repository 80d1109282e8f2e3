// A local HTTP server that answers the three AWS APIs the Lambda functions call,
// the way AWS does on the wire, so the real SDK clients can be pointed at it:
// - API Gateway's management API: POST/GET/DELETE /{stage}/@connections/{id},
//   410 + `x-amzn-errortype: GoneException` for ids it does not hold, 413 +
//   `PayloadTooLargeException` for a body over `maxPayloadBytes` (128 KB, AWS's limit);
// - SES (query protocol): POST / with Action=SendEmail, answered in XML;
// - Secrets Manager (JSON 1.1): POST / with X-Amz-Target GetSecretValue.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export interface FakeAws {
  url: string;
  /** the management API endpoint for `stage`, as the stack passes it */
  gatewayEndpoint: string;
  /** connection id -> frames received (raw bodies, decoded as UTF-8) */
  readonly connections: Map<string, string[]>;
  readonly deleted: string[];
  readonly mail: CapturedMail[];
  readonly secrets: Map<string, string>;
  /** id -> how many more POSTs to answer 429 LimitExceededException */
  readonly throttle: Map<string, number>;
  /** milliseconds each management call takes */
  latencyMs: number;
  /** a POST body larger than this is refused with 413 PayloadTooLargeException */
  maxPayloadBytes: number;
  /** most management calls seen in flight at once */
  maxInFlight: number;
  postCount: number;
  open(connectionId: string): void;
  /** the client went away without API Gateway noticing the row: posts get 410 */
  forget(connectionId: string): void;
  framesTo(connectionId: string): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
  res.end(JSON.stringify(body));
}

export async function startFakeAws(stage = 'prod'): Promise<FakeAws> {
  let inFlight = 0;
  const fake = {
    connections: new Map<string, string[]>(),
    deleted: [] as string[],
    mail: [] as CapturedMail[],
    secrets: new Map<string, string>(),
    throttle: new Map<string, number>(),
    latencyMs: 0,
    maxPayloadBytes: 128 * 1024,
    maxInFlight: 0,
    postCount: 0,
  };

  async function management(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    try {
      const body = await readBody(req);
      if (fake.latencyMs) await new Promise((r) => setTimeout(r, fake.latencyMs));
      const frames = fake.connections.get(id);
      if (req.method === 'POST') fake.postCount++;
      const throttled = fake.throttle.get(id) ?? 0;
      if (req.method === 'POST' && throttled > 0) {
        fake.throttle.set(id, throttled - 1);
        return json(res, 429, { message: 'Rate exceeded' }, { 'x-amzn-errortype': 'LimitExceededException' });
      }
      if (!frames) return json(res, 410, { message: null }, { 'x-amzn-errortype': 'GoneException' });
      if (req.method === 'POST' && body.length > fake.maxPayloadBytes) {
        return json(res, 413, { message: 'Request entity too large' }, { 'x-amzn-errortype': 'PayloadTooLargeException' });
      }
      if (req.method === 'POST') {
        frames.push(body.toString('utf8'));
        res.writeHead(200, { 'x-amzn-requestid': randomUUID() }).end();
      } else if (req.method === 'GET') {
        const now = new Date().toISOString();
        json(res, 200, { connectedAt: now, lastActiveAt: now, identity: { sourceIp: '127.0.0.1', userAgent: 'test' } });
      } else if (req.method === 'DELETE') {
        fake.connections.delete(id);
        fake.deleted.push(id);
        res.writeHead(204, { 'x-amzn-requestid': randomUUID() }).end();
      } else {
        json(res, 405, { message: 'Method not allowed' });
      }
    } finally {
      inFlight--;
    }
  }

  function sendEmail(res: ServerResponse, form: URLSearchParams): void {
    const to: string[] = [];
    for (let n = 1; form.has(`Destination.ToAddresses.member.${n}`); n++) to.push(form.get(`Destination.ToAddresses.member.${n}`)!);
    fake.mail.push({
      from: form.get('Source') ?? '',
      to,
      subject: form.get('Message.Subject.Data') ?? '',
      text: form.get('Message.Body.Text.Data') ?? '',
    });
    const requestId = randomUUID();
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(
      `<SendEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">` +
        `<SendEmailResult><MessageId>${randomUUID()}</MessageId></SendEmailResult>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SendEmailResponse>`,
    );
  }

  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      const conn = new RegExp(`^/${stage}/@connections/([^/]+)$`).exec(path);
      if (conn) return management(req, res, decodeURIComponent(conn[1]!));
      const target = req.headers['x-amz-target'];
      const body = (await readBody(req)).toString('utf8');
      if (target === 'secretsmanager.GetSecretValue') {
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        const secret = fake.secrets.get(SecretId);
        if (secret === undefined) {
          return json(res, 400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the specified secret.' }, { 'content-type': 'application/x-amz-json-1.1' });
        }
        return json(res, 200, { ARN: SecretId, Name: 'db', SecretString: secret, VersionId: randomUUID() }, { 'content-type': 'application/x-amz-json-1.1' });
      }
      const form = new URLSearchParams(body);
      if (req.method === 'POST' && form.get('Action') === 'SendEmail') return sendEmail(res, form);
      json(res, 404, { message: `no fake for ${req.method} ${path}` });
    })().catch((err) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return Object.assign(fake, {
    url,
    gatewayEndpoint: `${url}/${stage}`,
    open(id: string) {
      fake.connections.set(id, []);
    },
    forget(id: string) {
      fake.connections.delete(id);
    },
    framesTo(id: string) {
      return (fake.connections.get(id) ?? []).map((f) => JSON.parse(f) as Record<string, unknown>);
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
