// Typed errors: callers branch on the class (or its protocol code), never on text.
// Every one maps to a protocol `error` frame; its message is shown to people.

export type ErrorCode =
  | 'bad_request'
  | 'too_large'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'invalid_code'
  | 'rate_limited'
  | 'second_factor_required'
  | 'suspended'
  | 'internal';

export abstract class ChatError extends Error {
  abstract readonly code: ErrorCode;
}

export class BadRequest extends ChatError {
  override readonly name = 'BadRequest';
  readonly code = 'bad_request';
}
export class TooLarge extends ChatError {
  override readonly name = 'TooLarge';
  readonly code = 'too_large';
}
export class Unauthorized extends ChatError {
  override readonly name = 'Unauthorized';
  readonly code = 'unauthorized';
}
export class Forbidden extends ChatError {
  override readonly name = 'Forbidden';
  readonly code = 'forbidden';
}
export class NotFound extends ChatError {
  override readonly name = 'NotFound';
  readonly code = 'not_found';
}
export class Conflict extends ChatError {
  override readonly name = 'Conflict';
  readonly code = 'conflict';
}
export class InvalidCode extends ChatError {
  override readonly name = 'InvalidCode';
  readonly code = 'invalid_code';
}
export class RateLimited extends ChatError {
  override readonly name = 'RateLimited';
  readonly code = 'rate_limited';
  constructor(
    message: string,
    /** seconds until a retry can succeed, when known */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}
/** *(E19)* the account has two-factor authentication on and the request carries no code (two-factor.ts). */
export class SecondFactorRequired extends ChatError {
  override readonly name = 'SecondFactorRequired';
  readonly code = 'second_factor_required';
}

/**
 * *(E22)* The account is suspended by an administrator: login and resume are
 * refused until `until` (undefined: for good).
 */
export class Suspended extends ChatError {
  override readonly name = 'Suspended';
  readonly code = 'suspended';
  constructor(
    message: string,
    readonly until?: Date,
  ) {
    super(message);
  }
}
