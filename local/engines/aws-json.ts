/** AWS JSON protocol answers: a result body, or an error whose `__type` the SDK turns into error.name. */
export interface AwsJsonResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export function ok(body: unknown = {}): AwsJsonResponse {
  return { status: 200, body };
}

export function errorResponse(error: unknown, namespace: string): AwsJsonResponse {
  if (error instanceof AwsError) return { status: error.status, body: { __type: `${namespace}#${error.code}`, message: error.message } };
  const e = error as Error;
  return { status: 500, body: { __type: `${namespace}#InternalFailure`, message: e?.message ?? String(error) } };
}
