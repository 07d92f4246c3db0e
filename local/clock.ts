/**
 * The local runtime's clock: wall-clock time is real (message timestamps, deadlines written by functions), while
 * every wait the runtime itself makes (visibility timeouts, batching windows, delays, long polls, retries,
 * schedules, state machine waits) is divided by the time scale. Tests swap in a scale; fault injection can swap
 * the whole clock.
 */
export interface Clock {
  /** Epoch milliseconds, real time. */
  now(): number;
  /** How many times faster than real time the runtime's waits run. */
  readonly scale: number;
  /** Real milliseconds a wait of `ms` simulated milliseconds takes. */
  scaled(ms: number): number;
  /** Resolves after a scaled wait; rejects with the signal's reason if aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls fn after a scaled wait; returns a cancel function. */
  after(ms: number, fn: () => void): () => void;
}

export function systemClock(scale = 1): Clock {
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`time scale must be a positive number, got ${scale}`);
  const scaled = (ms: number) => Math.max(0, ms / scale);
  return {
    scale,
    now: () => Date.now(),
    scaled,
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const timer = setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, scaled(ms));
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal!.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    after(ms, fn) {
      const timer = setTimeout(fn, scaled(ms));
      return () => clearTimeout(timer);
    },
  };
}

/** Waits `ms` simulated milliseconds on the clock; false (not a rejection) when the signal aborts first. */
export async function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await clock.sleep(Math.max(0, ms), signal);
    return true;
  } catch {
    return false;
  }
}
