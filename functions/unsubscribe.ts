// The unsubscribe link of email notices (E24) on AWS: a Lambda function URL
// (auth NONE: the link itself, HMAC-signed, is the credential). GET shows a page
// with a button and changes nothing; POST with List-Unsubscribe=One-Click
// (RFC 8058) turns the person's notices off. Rules and budget: core/notices.ts.
import { getDeps } from './adapters/runtime.js';
import { networkOf } from './core/names.js';
import { handleUnsubscribe } from './core/notices.js';
import { observed } from './route.js';

/** The part of a function URL event (payload 2.0) this reads. */
export interface FunctionUrlEvent {
  requestContext: { http: { method: string; sourceIp?: string } };
  queryStringParameters?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
}

/** A one-click body is 26 bytes; more is not read. */
const MAX_BODY = 1024;

export async function handler(event: FunctionUrlEvent, context?: unknown) {
  const deps = await getDeps();
  return observed(deps, context, 'unsubscribe', async () => {
    const method = event.requestContext.http.method.toUpperCase();
    const raw = event.body ?? '';
    if (raw.length > MAX_BODY * 2) return { statusCode: 413, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Request too large.' };
    const body = event.isBase64Encoded ? Buffer.from(raw, 'base64').toString('utf8') : raw;
    const page = await handleUnsubscribe(deps, {
      method,
      token: event.queryStringParameters?.token ?? null,
      body: method === 'POST' ? body.slice(0, MAX_BODY) : undefined,
      network: networkOf(event.requestContext.http.sourceIp),
    });
    return { statusCode: page.status, headers: page.headers, body: method === 'HEAD' ? '' : page.body };
  });
}
