/** What the operator's CLI refuses or fails with: typed, so that bin/ops.ts maps each to its exit code. */

/** The command failed: exit 1. */
export class OpsError extends Error {
  readonly exitCode: 1 | 2 = 1;
}

/** The command line is wrong (unknown command or option, a missing or malformed argument): exit 2. */
export class UsageError extends OpsError {
  override readonly exitCode = 2;
}

/** A queue name the stack does not have: exit 2, with the names it has. */
export class UnknownQueueError extends UsageError {}

/** No order by that id: exit 1. */
export class OrderNotFoundError extends OpsError {}

/** Nothing answers at the endpoint (or AWS): exit 1. */
export class UnreachableError extends OpsError {}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAI_AGAIN']);

/** An SDK error as one line; a connection failure becomes an UnreachableError naming where it tried. */
export function explainAwsError(error: unknown, where: string, doing: string): OpsError {
  if (error instanceof OpsError) return error;
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string }; $metadata?: unknown };
  // The SDK wraps a connection failure in an error whose message names the code (and may keep it as code or cause).
  const named = /\b(E[A-Z_]+)\b/.exec(e.message ?? '')?.[1];
  const code = [e.code, e.cause?.code, named, e.name === 'TimeoutError' ? 'ETIMEDOUT' : undefined].find((c) => c && NETWORK_CODES.has(c));
  if (code) {
    return new UnreachableError(`nothing answers at ${where} (${code}): start the local runtime (npm start) or pass --endpoint-url / AWS_ENDPOINT_URL`);
  }
  const message = (e.message ?? String(error)).split('\n')[0];
  return new OpsError(`${doing}: ${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${message}`);
}
