/** How the local runtime calls a function: the seam between event sources / HTTP / state machines and the runner. */
export interface InvokeError {
  errorType: string;
  errorMessage: string;
  stackTrace?: string[];
}

export type InvokeResult =
  | { ok: true; result: unknown; durationMs: number }
  | { ok: false; error: InvokeError; durationMs: number; timedOut?: boolean };

export interface Invoker {
  /** The function's name (its logical id in the template). */
  readonly name: string;
  invoke(event: unknown): Promise<InvokeResult>;
}
