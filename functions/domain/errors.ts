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

/** No authorizer established who the caller is: nobody is trusted by default (401). */
export class UnauthenticatedError extends Error {
  readonly name = 'UnauthenticatedError';
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

/** A conditional request whose precondition does not hold: 428 (If-Match needed) or 412 (If-Match is stale). */
export class PreconditionError extends Error {
  readonly name = 'PreconditionError';
  constructor(
    message: string,
    readonly status: 412 | 428,
    /** The resource's current version, for the ETag of the answer. */
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

/** Writes kept conflicting with concurrent ones (DynamoDB's TransactionConflict on a hot item): a later retry succeeds. */
export class ContentionError extends Error {
  readonly name = 'ContentionError';
}

/** The Idempotency-Key was already used for a different request body. */
export class IdempotencyKeyReusedError extends Error {
  readonly name = 'IdempotencyKeyReusedError';
}

/** An event that does not match its schema: retrying cannot help, so it must reach a DLQ. */
export class MalformedEventError extends Error {
  readonly name = 'MalformedEventError';
}
