/** Typed errors: handlers map them by type to HTTP answers or batch failures, never by message text. */

export interface Problem {
  /** JSON path-like pointer to the offending field, e.g. `items[2].quantity`. */
  field: string;
  message: string;
}

export class ValidationError extends Error {
  readonly name = 'ValidationError';
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => p.message).join('; '));
  }
}

export class NotFoundError extends Error {
  readonly name = 'NotFoundError';
}

export class ForbiddenError extends Error {
  readonly name = 'ForbiddenError';
}

/** The request conflicts with the resource's current state (e.g. cancel a PAID order). */
export class StateConflictError extends Error {
  readonly name = 'StateConflictError';
  constructor(
    message: string,
    readonly currentStatus: string,
  ) {
    super(message);
  }
}

/** The Idempotency-Key was already used for a different request body. */
export class IdempotencyKeyReusedError extends Error {
  readonly name = 'IdempotencyKeyReusedError';
}

/** The first request with this Idempotency-Key has not finished yet. */
export class RequestInFlightError extends Error {
  readonly name = 'RequestInFlightError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** An event that does not match its schema: retrying cannot help, so it must reach a DLQ. */
export class MalformedEventError extends Error {
  readonly name = 'MalformedEventError';
}
