/**
 * The chaos run's HTTP client: a well-behaved API user. It retries what may not have happened (a 5xx, a 429, a
 * connection that died with the runtime) with the same request and Idempotency-Key until it gets a definitive answer,
 * and remembers every answer it saw so that the audit can hold the system to each one.
 */

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One answer the client saw, for the audit: which route, what came back, and the correlation id it sent. */
export interface Seen {
  route: string;
  status: number;
  correlationId: string;
  /** The problem+json title of a 5xx (e.g. "Busy"), or the API Gateway message. */
  title?: string;
}

export class ChaosClient {
  /** Where the API is now: a restarted runtime listens on new ports. */
  private base?: string;
  private up?: Promise<void>;
  private markUp?: () => void;
  private sequence = 0;
  readonly seen: Seen[] = [];
  /** Why the last request failed at the connection (the runtime was killed, or not yet back). */
  lastConnectionError?: string;

  /** Requests waiting for one of the `maxInFlight` connections. */
  private readonly queue: (() => void)[] = [];
  private inFlight = 0;

  constructor(private readonly options: { runPrefix: string; requestTimeoutMs: number; giveUpAfterMs: number; maxInFlight: number }) {
    this.down();
  }

  /** The runtime is gone: requests wait for `serve` before their next try. */
  down(): void {
    this.base = undefined;
    this.up = new Promise((resolve) => (this.markUp = resolve));
  }

  serve(apiUrl: string): void {
    this.base = apiUrl;
    this.markUp?.();
  }

  /**
   * Sends until the answer is definitive: a 2xx or a 4xx other than 429. A 5xx, a 429 or a dead connection is tried
   * again (the same request, so the same Idempotency-Key), with a growing pause, up to `giveUpAfterMs`.
   */
  async send(method: string, route: string, body?: unknown, headers: Record<string, string> = {}, label = route): Promise<Answer> {
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      await this.up;
      const correlationId = `${this.options.runPrefix}-${++this.sequence}`;
      let answer: Answer | undefined;
      try {
        answer = await this.once(method, route, body, { ...headers, 'x-correlation-id': correlationId });
        this.seen.push({ route: label, status: answer.status, correlationId, ...(answer.status >= 500 ? { title: String(answer.body.title ?? answer.body.message ?? '') } : {}) });
        if (answer.status < 500 && answer.status !== 429) return answer;
      } catch (error) {
        this.lastConnectionError = `${(error as Error).message}${(error as { cause?: Error }).cause ? `: ${(error as { cause?: Error }).cause!.message}` : ''}`;
      }
      if (Date.now() - started > this.options.giveUpAfterMs) {
        throw new Error(`${method} ${route}: no definitive answer in ${this.options.giveUpAfterMs / 1000} s (last: ${answer ? answer.status : `connection failed: ${this.lastConnectionError}`})`);
      }
      await pause(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
    }
  }

  /**
   * At most `maxInFlight` requests at once, as a client's connection pool allows: two thousand customers polling
   * their orders at once would measure the runtime's HTTP queue, not the pipeline.
   */
  private async once(method: string, route: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    if (this.inFlight >= this.options.maxInFlight) await new Promise<void>((go) => this.queue.push(go));
    this.inFlight++;
    try {
      return await this.request(method, route, body, headers);
    } finally {
      this.inFlight--;
      this.queue.shift()?.();
    }
  }

  private async request(method: string, route: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    if (!this.base) throw new Error('the runtime is down');
    const response = await fetch(new URL(route, this.base), {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(this.options.requestTimeoutMs),
    });
    const text = await response.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      parsed = { text };
    }
    return { status: response.status, body: parsed };
  }
}

export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
