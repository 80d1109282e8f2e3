// A local HTTP server that answers the three AWS APIs the Lambda functions call,
// the way AWS does on the wire, so the real SDK clients can be pointed at it:
// - API Gateway's management API: POST/GET/DELETE /{stage}/@connections/{id},
//   410 + `x-amzn-errortype: GoneException` for ids it does not hold, 413 +
//   `PayloadTooLargeException` for a body over `maxPayloadBytes` (128 KB, AWS's limit);
// - SES (query protocol): POST / with Action=SendEmail or SendRawEmail, answered in XML;
// - Secrets Manager (JSON 1.1): POST / with X-Amz-Target GetSecretValue, and
//   PutSecretValue (one version per ClientRequestToken);
// - SQS (JSON 1.0): SendMessage and SendMessageBatch, kept per queue URL in
//   `queues` for a test to hand to a worker as SQS events.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface CapturedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  /** SendRawEmail only: the message's header fields, by lower-cased name */
  headers?: Record<string, string>;
}

export interface FakeSqsMessage {
  messageId: string;
  body: string;
  delaySeconds: number;
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
  /** (secret, ClientRequestToken) -> the value that version was written with */
  readonly secretVersions: Map<string, string>;
  /** queue URL -> messages sent to it, oldest first (a test takes them out) */
  readonly queues: Map<string, FakeSqsMessage[]>;
  /** how many more SendMessageBatch entries to answer as failed (ServiceUnavailable) */
  sqsFailEntries: number;
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
    secretVersions: new Map<string, string>(),
    queues: new Map<string, FakeSqsMessage[]>(),
    sqsFailEntries: 0,
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

  // SendRawEmail: the whole RFC 822 message, base64 in RawMessage.Data.
  function sendRawEmail(res: ServerResponse, form: URLSearchParams): void {
    const raw = Buffer.from(form.get('RawMessage.Data') ?? '', 'base64').toString('utf8');
    const split = raw.indexOf('\r\n\r\n');
    const headers: Record<string, string> = {};
    for (const line of raw.slice(0, split).split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const to: string[] = [];
    for (let n = 1; form.has(`Destinations.member.${n}`); n++) to.push(form.get(`Destinations.member.${n}`)!);
    fake.mail.push({ from: form.get('Source') ?? headers.from ?? '', to, subject: headers.subject ?? '', text: raw.slice(split + 4), headers });
    const requestId = randomUUID();
    res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
    res.end(
      `<SendRawEmailResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/">` +
        `<SendRawEmailResult><MessageId>${randomUUID()}</MessageId></SendRawEmailResult>` +
        `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></SendRawEmailResponse>`,
    );
  }

  interface SqsRequest {
    QueueUrl: string;
    MessageBody?: string;
    DelaySeconds?: number;
    Entries?: Array<{ Id: string; MessageBody: string; DelaySeconds?: number }>;
  }
  function sqs(res: ServerResponse, op: string, request: SqsRequest): void {
    const headers = { 'content-type': 'application/x-amz-json-1.0' };
    const queue = fake.queues.get(request.QueueUrl) ?? [];
    fake.queues.set(request.QueueUrl, queue);
    const put = (body: string, delaySeconds = 0) => {
      if (Buffer.byteLength(body) > 256 * 1024) throw new Error('too big');
      const messageId = randomUUID();
      queue.push({ messageId, body, delaySeconds });
      return messageId;
    };
    // The SDK checks each body's MD5 against the answer's.
    const md5 = (body: string) => createHash('md5').update(body).digest('hex');
    if (op === 'SendMessage') {
      const body = request.MessageBody ?? '';
      return json(res, 200, { MessageId: put(body, request.DelaySeconds), MD5OfMessageBody: md5(body) }, headers);
    }
    if (op === 'SendMessageBatch') {
      const entries = request.Entries ?? [];
      if (entries.length > 10) return json(res, 400, { __type: 'com.amazonaws.sqs#TooManyEntriesInBatchRequest', message: 'at most 10' }, headers);
      const total = entries.reduce((n, e) => n + Buffer.byteLength(e.MessageBody), 0);
      if (total > 256 * 1024) return json(res, 400, { __type: 'com.amazonaws.sqs#BatchRequestTooLong', message: 'too long' }, headers);
      const Successful: unknown[] = [];
      const Failed: unknown[] = [];
      for (const e of entries) {
        if (fake.sqsFailEntries > 0) {
          fake.sqsFailEntries--;
          Failed.push({ Id: e.Id, SenderFault: false, Code: 'ServiceUnavailable', Message: 'try again' });
        } else {
          Successful.push({ Id: e.Id, MessageId: put(e.MessageBody, e.DelaySeconds), MD5OfMessageBody: md5(e.MessageBody) });
        }
      }
      return json(res, 200, { Successful, Failed }, headers);
    }
    json(res, 400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: op }, headers);
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
      if (target === 'secretsmanager.PutSecretValue') {
        // One version per ClientRequestToken, as Secrets Manager keeps them: the
        // same token with other content is refused (aws-vapid.ts relies on it).
        const { SecretId, SecretString, ClientRequestToken } = JSON.parse(body) as { SecretId: string; SecretString: string; ClientRequestToken?: string };
        const type = { 'content-type': 'application/x-amz-json-1.1' };
        if (!fake.secrets.has(SecretId)) return json(res, 400, { __type: 'ResourceNotFoundException', message: 'Secrets Manager can’t find the specified secret.' }, type);
        const token = ClientRequestToken ?? randomUUID();
        const earlier = fake.secretVersions.get(`${SecretId}\n${token}`);
        if (earlier !== undefined && earlier !== SecretString) {
          return json(res, 400, { __type: 'ResourceExistsException', message: 'You can’t modify an existing version, you can only create new versions.' }, type);
        }
        fake.secretVersions.set(`${SecretId}\n${token}`, SecretString);
        fake.secrets.set(SecretId, SecretString);
        return json(res, 200, { ARN: SecretId, Name: 'secret', VersionId: token, VersionStages: ['AWSCURRENT'] }, type);
      }
      if (typeof target === 'string' && target.startsWith('AmazonSQS.')) return sqs(res, target.slice('AmazonSQS.'.length), JSON.parse(body) as SqsRequest);
      const form = new URLSearchParams(body);
      if (req.method === 'POST' && form.get('Action') === 'SendEmail') return sendEmail(res, form);
      if (req.method === 'POST' && form.get('Action') === 'SendRawEmail') return sendRawEmail(res, form);
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
