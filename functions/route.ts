// The one wrapper every route shares: parse and validate the frame, call one core
// function, post the reply and the broadcasts, and turn errors into protocol
// `error` frames. Clients see a code and a sentence, never a stack or SQL.
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import * as v from 'valibot';
import { dropConnections } from './core/connections.js';
import { fanOut } from './core/fanout.js';
import { BadRequest, ChatError, RateLimited, Suspended, TooLarge } from './core/errors.js';
import { MAX_FRAME_BYTES } from './core/names.js';
import type { Outcome } from './core/outcome.js';
import type { Deps, Frame } from './core/ports.js';
import { describeIssues } from './core/protocol.js';
import { getDeps } from './adapters/runtime.js';

/** API Gateway's event; $connect events also carry the handshake's headers. */
export type WsEvent = APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string | undefined> };
export type WsHandler = (event: WsEvent, context?: unknown) => Promise<APIGatewayProxyResultV2>;

/** Runs one invocation inside the hosting's telemetry, where it has one (Powertools on Lambda). */
export function observed<T>(deps: Deps, context: unknown, name: string, run: () => Promise<T>): Promise<T> {
  return deps.telemetry?.around ? deps.telemetry.around(context, name, run) : run();
}

const OK = { statusCode: 200 } as const;

/** Parses a frame's body: text, at most 32 KiB, one JSON object. */
export function parseBody(event: WsEvent): Record<string, unknown> {
  const raw = event.body ?? '';
  if (event.isBase64Encoded) throw new BadRequest('Frames must be JSON text, not binary.');
  if (Buffer.byteLength(raw) > MAX_FRAME_BYTES) throw new TooLarge(`A frame is at most ${MAX_FRAME_BYTES} bytes.`);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new BadRequest('A frame must be a JSON object.');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('A frame must be a JSON object.');
  return body as Record<string, unknown>;
}

export function requestIdOf(body: Record<string, unknown> | undefined): string | undefined {
  const id = body?.id;
  return typeof id === 'string' && id.length <= 64 ? id : undefined;
}

export function errorFrame(err: unknown, re: string | undefined, deps: Pick<Deps, 'log'>): Frame {
  const base = re === undefined ? { type: 'error' } : { type: 'error', re };
  // retryAfter (docs/PROTOCOL.md): the wait in seconds, so a program
  // can retry on time without reading the sentence meant for people.
  if (err instanceof RateLimited && err.retryAfter !== undefined) {
    return { ...base, code: err.code, message: err.message, retryAfter: Math.max(1, Math.ceil(err.retryAfter)) };
  }
  // *(E22)* until when, so a client can say it without reading the sentence
  if (err instanceof Suspended) return { ...base, code: err.code, message: err.message, until: err.until?.toISOString() ?? null };
  if (err instanceof ChatError) return { ...base, code: err.code, message: err.message };
  deps.log.error('request failed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  return { ...base, code: 'internal', message: 'Something went wrong on our side. Please try again.' };
}

/** Posts the reply, then the broadcasts, then closes; connections found gone are dropped. */
export async function deliver(deps: Deps, connectionId: string, re: string | undefined, outcome: Outcome): Promise<void> {
  const gone: string[] = [];
  if (outcome.reply) {
    const reply = re === undefined ? outcome.reply : { ...outcome.reply, re };
    gone.push(...(await deps.gateway.post([connectionId], reply)));
  }
  // Large broadcasts go to fan-out workers where the hosting has them (fanout.ts).
  for (const b of outcome.broadcasts ?? []) gone.push(...(await fanOut(deps, b.to, b.frame)));
  for (const id of outcome.close ?? []) await deps.gateway.disconnect(id);
  if (gone.length) {
    // A gone connection's row is deleted; its user's roommates may need presence.
    const presence = await dropConnections(deps.sql, [...new Set(gone)], deps.settings);
    for (const b of presence) await fanOut(deps, b.to, b.frame);
  }
  if (outcome.after) {
    try {
      await outcome.after();
    } catch (err) {
      deps.log.error('work after the reply failed', { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** A route that takes a client frame validated by `schema`. */
export function messageRoute<S extends v.GenericSchema<unknown, unknown>>(
  schema: S,
  action: (deps: Deps, connectionId: string, frame: v.InferOutput<S>) => Promise<Outcome>,
): WsHandler {
  return async (event, context) => {
    const deps = await getDeps();
    return observed(deps, context, event.requestContext.routeKey, async () => {
      const connectionId = event.requestContext.connectionId;
      let re: string | undefined;
      try {
        const body = parseBody(event);
        re = requestIdOf(body);
        const parsed = v.safeParse(schema, body);
        if (!parsed.success) throw new BadRequest(describeIssues(parsed.issues));
        await deliver(deps, connectionId, re, await action(deps, connectionId, parsed.output));
      } catch (err) {
        await reportError(deps, connectionId, re, err);
      }
      return OK;
    });
  };
}

export async function reportError(deps: Deps, connectionId: string, re: string | undefined, err: unknown): Promise<void> {
  try {
    await deliver(deps, connectionId, undefined, { reply: errorFrame(err, re, deps) });
  } catch (postErr) {
    deps.log.error('could not post an error frame', { error: String(postErr) });
  }
}

/**
 * A route driven by the connection's lifecycle ($connect, $disconnect). On
 * $connect, `false` refuses the handshake (403) and 'rate_limited' refuses it
 * with 429.
 */
export function lifecycleRoute(action: (deps: Deps, event: WsEvent) => Promise<Outcome | false | 'rate_limited'>): WsHandler {
  return async (event, context) => {
    const deps = await getDeps();
    return observed(deps, context, event.requestContext.routeKey, async (): Promise<APIGatewayProxyResultV2> => {
      try {
        const outcome = await action(deps, event);
        if (outcome === false) return { statusCode: 403 };
        if (outcome === 'rate_limited') return { statusCode: 429 };
        await deliver(deps, event.requestContext.connectionId, undefined, outcome);
        return OK;
      } catch (err) {
        deps.log.error('lifecycle route failed', {
          route: event.requestContext.routeKey,
          error: err instanceof Error ? (err.stack ?? err.message) : String(err),
        });
        return { statusCode: 500 };
      }
    });
  };
}
