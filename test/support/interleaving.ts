/**
 * Deterministic interleavings of saga steps. Every AWS call a step makes goes through its actor's gate; the test
 * decides which actor makes its next call, so a schedule ("A makes 2 calls, then B runs to the end, then A") is
 * reproduced exactly, on the real engine. An actor can also crash after its k-th call: the call took effect, then
 * the function died (timeout, OOM, throttle), as a Lambda sandbox does.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { setImmediate as tick } from 'node:timers/promises';

/** A step that died after its k-th AWS call. */
export class Crash extends Error {
  readonly name = 'Crash';
}

export interface Actor {
  readonly name: string;
  /** AWS calls made so far. */
  readonly calls: number;
  /** Runs one AWS call when the schedule lets this actor go (or at once for a free-running actor). */
  gate<T>(call: () => Promise<T>): Promise<T>;
}

interface ActorState extends Actor {
  calls: number;
  /** Calls at the gate: each is let through, or dies with the actor. */
  waiting: { go: () => void; die: (crash: Crash) => void }[];
  crashed: boolean;
  inFlight: number;
  /** Wakes whoever waits for the actor to come to rest (a call queued or finished, the actor ended). */
  changed: () => void;
  settled: boolean;
  error?: unknown;
  result?: unknown;
}

/** Runs steps as actors, one AWS call at a time. */
export class Scheduler {
  private readonly actors = new Map<string, ActorState>();

  /**
   * Starts `body` as actor `name` and waits until it reaches its first AWS call (or ends).
   * `crashAfter: k` makes the actor die instead of making call k+1; `free` lets it run without the schedule.
   */
  async start(name: string, body: (actor: Actor) => Promise<unknown>, options: { crashAfter?: number; free?: boolean } = {}): Promise<void> {
    if (this.actors.get(name)?.settled === false) throw new Error(`actor ${name} is still running`);
    const state: ActorState = {
      name,
      calls: 0,
      waiting: [],
      inFlight: 0,
      settled: false,
      crashed: false,
      changed: () => undefined,
      gate: async <T>(call: () => Promise<T>): Promise<T> => {
        if (state.crashed || (options.crashAfter !== undefined && state.calls >= options.crashAfter)) throw new Crash(`${name} crashed after ${state.calls} AWS calls`);
        if (!options.free) {
          await new Promise<void>((go, die) => {
            state.waiting.push({ go, die });
            state.changed();
          });
        }
        state.calls++;
        state.inFlight++;
        try {
          return await call();
        } finally {
          state.inFlight--;
          state.changed();
        }
      },
    };
    this.actors.set(name, state);
    body(state).then(
      (result) => Object.assign(state, { settled: true, result }).changed(),
      (error) => Object.assign(state, { settled: true, error }).changed(),
    );
    await this.quiet(state);
  }

  /** Lets the actor make up to `calls` more AWS calls (each waits for the previous one to finish). */
  async advance(name: string, calls = Infinity): Promise<void> {
    const state = this.state(name);
    for (let i = 0; i < calls && !state.settled; i++) {
      const call = state.waiting.shift();
      if (!call) throw new Error(`actor ${name} is neither waiting nor finished`);
      call.go();
      await this.quiet(state);
    }
  }

  /**
   * The actor dies now, before the call it waits to make (every call it waits on at once dies with it, as a
   * Promise.all's do when the sandbox goes); waits until it has ended.
   */
  async crash(name: string): Promise<void> {
    const state = this.state(name);
    if (!state.waiting.length) throw new Error(`actor ${name} is not waiting at a call`);
    state.crashed = true;
    for (const call of state.waiting.splice(0)) call.die(new Crash(`${name} crashed after ${state.calls} AWS calls`));
    await this.quiet(state);
  }

  /** True while the actor waits to make an AWS call (the schedule may let it go, or crash it). */
  waiting(name: string): boolean {
    const state = this.state(name);
    return !state.settled && state.waiting.length > 0;
  }

  /** Runs the actor to its end; returns what it returned, or throws what it threw. */
  async finish(name: string): Promise<unknown> {
    await this.advance(name);
    return this.outcome(name);
  }

  outcome(name: string): unknown {
    const state = this.state(name);
    if (!state.settled) throw new Error(`actor ${name} has not finished`);
    if (state.error !== undefined) throw state.error;
    return state.result;
  }

  /** The error the actor ended with, if any (a Crash, or what a client saw). */
  errorOf(name: string): unknown {
    return this.state(name).error;
  }

  settled(name: string): boolean {
    return this.state(name).settled;
  }

  /** AWS calls the actor has made (or tried: a crash counts the call it died before, not after). */
  callsOf(name: string): number {
    return this.state(name).calls;
  }

  /** Starts an actor and runs it to its end; the usual way to run a step nobody pauses. */
  async run(name: string, body: (actor: Actor) => Promise<unknown>, options: { crashAfter?: number } = {}): Promise<unknown> {
    await this.start(name, body, options);
    await this.advance(name);
    return this.state(name).settled && this.state(name).error === undefined ? this.state(name).result : undefined;
  }

  /** Runs a step that nobody schedules (the world going on around the race); throws what it throws. */
  async runFree(body: (actor: Actor) => Promise<unknown>): Promise<unknown> {
    const name = `free-${++this.freeRuns}`;
    await this.start(name, body, { free: true });
    return this.outcome(name);
  }

  private freeRuns = 0;

  private state(name: string): ActorState {
    const state = this.actors.get(name);
    if (!state) throw new Error(`no actor ${name}`);
    return state;
  }

  /** Until the actor has no call in flight and is waiting at a gate or has ended. */
  private async quiet(state: ActorState): Promise<void> {
    // Woken by the actor's own changes rather than polled: a poll would spin a core the engine needs.
    while (!(state.inFlight === 0 && (state.settled || state.waiting.length > 0))) {
      await new Promise<void>((wake) => (state.changed = wake));
    }
    // Calls made in the same turn (a Promise.all) queue before the actor counts as at rest.
    await tick();
  }
}

export interface InjectedFaults {
  /**
   * The first N TransactWriteItems calls are cancelled with TransactionConflict, as DynamoDB does when another
   * transaction holds one of the items (DynamoDB Local never does).
   */
  transactionConflicts?: number;
}

/** What DynamoDB answers a transaction that collided with another: every item's reason, the first a conflict. */
export function transactionConflict(items: number): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: Array.from({ length: items }, (_, i) => (i === 0 ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' })),
  });
}

/**
 * A client whose `send` goes through the actor's gate: every repository built on it is scheduled. Faults are
 * injected per client (each actor builds its own).
 */
export function gated<C extends { send: (...args: never[]) => Promise<unknown> }>(client: C, actor: Actor, faults: InjectedFaults = {}): C {
  let conflictsLeft = faults.transactionConflicts ?? 0;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'send') {
        return (...args: never[]) =>
          actor.gate(() => {
            const command = args[0] as { input?: { TransactItems?: unknown[] }; constructor: { name: string } };
            if (conflictsLeft > 0 && command.constructor.name === 'TransactWriteCommand') {
              conflictsLeft--;
              return Promise.reject(transactionConflict(command.input?.TransactItems?.length ?? 1));
            }
            return target.send(...args);
          });
      }
      return Reflect.get(target, property, receiver);
    },
  });
}
