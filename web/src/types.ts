// The wire protocol as the browser sees it (docs/PROTOCOL.md).

// The server's own definitions; a type-only import, erased from the bundle.
export type { Message, RoomInfo } from '../../functions/core/protocol.js';

export interface User {
  username: string;
  displayName: string;
  /** this account has finished or skipped the welcome tour (docs/PROTOCOL.md; absent from older servers) */
  tourSeen?: boolean;
}

export interface Member {
  username: string;
  online: boolean;
}

/** Any server-to-client frame. */
export interface ServerFrame {
  type: string;
  re?: string;
  [field: string]: unknown;
}

/** The server answered with an `error` frame. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The socket closed (or never opened) before the reply came. */
export class ConnectionLost extends Error {
  override readonly name = 'ConnectionLost';
  constructor(message = 'Not connected. Your message will go out when the connection is back.') {
    super(message);
  }
}
