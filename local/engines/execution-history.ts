/**
 * An execution's history (GetExecutionHistory), recorded from what the execution did, as it did it:
 *  - state events come from aws-local-stepfunctions' own event logger, tapped synchronously at each dispatch
 *    (its public `eventLogs` generator hands them over asynchronously, too late to order them against the Task
 *    events the engine records), for the root execution and for every nested Parallel branch and Map iteration;
 *  - Task events (LambdaFunctionScheduled/Started/Succeeded/Failed/TimedOut, or TaskScheduled/... for
 *    `arn:aws:states:::lambda:invoke`) come from the engine's task handler, one set per attempt.
 *
 * Event types, their details and previousEventId follow histories recorded on AWS: the first state entered and
 * ExecutionStarted both point at 0; the first event of a Parallel branch points at ParallelStateStarted and of a
 * Map iteration (MapIterationStarted) at MapStateStarted; ParallelStateSucceeded / MapStateSucceeded and the
 * state's Exited event both point at the last event of the last branch or iteration to end; an execution's end
 * points at the last event recorded.
 *
 * The tap patches the library's StateMachine.prototype.execute once (it is the only place a nested machine's event
 * logger can be reached): a run that carries HISTORY_TAP in its run options is recorded, any other run is untouched.
 */
import { readPath } from './event-bus';

/** The key of a run option the library passes on, spread, to every nested run (Parallel branches, Map iterations). */
export const HISTORY_TAP = Symbol('local execution history');

/** One HistoryEvent as the API returns it, `timestamp` in epoch milliseconds. */
export type HistoryEvent = { id: number; previousEventId: number; timestamp: number; type: string } & Record<string, unknown>;

/** A chain of events: the execution itself, one Parallel branch, one Map iteration. */
interface Thread {
  last: number;
  /** The Map or Parallel state this thread is running now, if any. */
  current?: Invocation;
  /** Set for a Map iteration: its Map state run and its index. */
  iteration?: { invocation: Invocation; index: number };
  /** Set for a Parallel branch. */
  branch?: Invocation;
}

/** One run of a Map or Parallel state: the nested machines it starts are matched to it by their definition. */
interface Invocation {
  name: string;
  type: 'Map' | 'Parallel';
  started: number;
  /** The last event of the last branch or iteration that ended (0: none yet). */
  lastEnded: number;
  /** Map: the item processor's definition, and the library machine running it once claimed. */
  processor?: object;
  machine?: object;
  nextIndex: number;
  /** Parallel: branch definitions not yet claimed by a nested machine. */
  unclaimedBranches: Set<object>;
}

type LibraryEvent = { type: string; state?: { name: string; type: string; input?: unknown; output?: unknown }; input?: unknown; output?: unknown; Error?: string; Cause?: unknown };
type LibraryLogger = { dispatch(event: LibraryEvent): void; isLoggerClosed?: boolean };
type LibraryMachine = { definition: { States: Record<string, Record<string, unknown>> } };

const json = (value: unknown) => JSON.stringify(value ?? null);
const NOT_TRUNCATED = { truncated: false };

export class ExecutionHistory {
  readonly events: HistoryEvent[] = [];
  private readonly root: Thread = { last: 0 };
  private readonly open: Invocation[] = [];
  /** Library events already recorded: a nested event is dispatched again on each enclosing logger. */
  private readonly seen = new WeakSet<object>();
  /** Handed from a Task's StateEntered to its task handler, which the library calls synchronously after it. */
  private enteredTask?: Thread;
  private ended = false;

  constructor(
    private readonly now: () => number,
    private readonly roleArn: string,
    /** The library machine the engine runs (the root of this execution). */
    private readonly rootMachine: object,
    /** Whether an abort of the root run is the state machine's TimeoutSeconds (then: ExecutionTimedOut). */
    private readonly timedOut: () => boolean,
  ) {}

  /** Called by the patched library for every run of this execution, root and nested, before it starts. */
  attach(machine: LibraryMachine, logger: LibraryLogger): void {
    const thread = machine === this.rootMachine ? this.root : this.nestedThread(machine);
    const dispatch = logger.dispatch.bind(logger);
    logger.dispatch = (event: LibraryEvent) => {
      if (!logger.isLoggerClosed && !this.seen.has(event)) {
        this.seen.add(event);
        if (thread) this.onLibraryEvent(thread, machine, event);
      }
      dispatch(event);
    };
  }

  /** The thread a Task's handler records into: the one whose TaskStateEntered came just before (same call stack). */
  takeTaskThread(): Thread | undefined {
    const thread = this.enteredTask;
    this.enteredTask = undefined;
    return thread;
  }

  /** Records one event on a thread; nothing once the execution has ended (as the library's logger closes). */
  add(thread: Thread | undefined, type: string, details?: Record<string, unknown>, previous = thread?.last ?? 0): number {
    if (this.ended) return 0;
    const id = this.events.length + 1;
    this.events.push({ id, previousEventId: previous, timestamp: this.now(), type, ...(details ? { [detailsKey(type)]: details } : {}) });
    if (thread) thread.last = id;
    return id;
  }

  private end(type: string, details?: Record<string, unknown>): void {
    this.add(undefined, type, details, this.events.length);
    this.ended = true;
  }

  /** A Parallel branch or Map iteration: matched to the earliest open Map/Parallel run of its definition. */
  private nestedThread(machine: LibraryMachine): Thread | undefined {
    const definition = machine.definition;
    const map = this.open.find((i) => i.type === 'Map' && (i.machine === machine || (!i.machine && i.processor === definition)));
    if (map) {
      map.machine = machine;
      // One library machine runs every item of a Map run, in index order (p-limit is first in, first out).
      const iteration = { invocation: map, index: map.nextIndex++ };
      return { last: map.started, iteration };
    }
    const parallel = this.open.find((i) => i.type === 'Parallel' && i.unclaimedBranches.has(definition));
    if (!parallel) return undefined;
    parallel.unclaimedBranches.delete(definition);
    return { last: parallel.started, branch: parallel };
  }

  private onLibraryEvent(thread: Thread, machine: LibraryMachine, event: LibraryEvent): void {
    const state = event.state;
    switch (event.type) {
      case 'ExecutionStarted':
        if (thread === this.root) {
          // Recorded with previousEventId 0, and the execution's first state points at 0 too (as on AWS).
          this.add(undefined, 'ExecutionStarted', { input: json(event.input), inputDetails: NOT_TRUNCATED, roleArn: this.roleArn }, 0);
        } else if (thread.iteration) {
          this.add(thread, 'MapIterationStarted', iterationDetails(thread));
        }
        return;
      case 'ExecutionSucceeded':
      case 'ExecutionFailed':
      case 'ExecutionAborted':
        return this.onRunEnded(thread, event);
      case 'StateEntered':
        return this.onStateEntered(thread, machine, state!);
      case 'StateExited': {
        const invocation = thread.current;
        if (invocation) {
          const last = invocation.lastEnded || invocation.started;
          this.add(thread, `${invocation.type}StateSucceeded`, undefined, last);
          this.closeInvocation(thread, invocation);
          this.add(thread, `${state!.type}StateExited`, { name: state!.name, output: json(state!.output), outputDetails: NOT_TRUNCATED }, last);
          return;
        }
        this.add(thread, `${state!.type}StateExited`, { name: state!.name, output: json(state!.output), outputDetails: NOT_TRUNCATED });
        return;
      }
      case 'StateFailed': {
        // A Task's failure was recorded by its handler. A States.Runtime error ends the execution at once (AWS
        // records no <Type>StateFailed for it).
        const invocation = thread.current;
        if (invocation) {
          if (event.Error !== 'States.Runtime') this.add(thread, `${invocation.type}StateFailed`, undefined, invocation.lastEnded || invocation.started);
          this.closeInvocation(thread, invocation);
        }
        return;
      }
      default:
        // StateRetried / StateCaught have no event of their own on AWS (the retry shows as the state's next
        // attempt, the catch as the state's exit); the library's own ExecutionTimeout is not used by the engine.
        return;
    }
  }

  private onStateEntered(thread: Thread, machine: LibraryMachine, state: NonNullable<LibraryEvent['state']>): void {
    this.add(thread, `${state.type}StateEntered`, { name: state.name, input: json(state.input), inputDetails: NOT_TRUNCATED });
    const definition = machine.definition.States[state.name] ?? {};
    if (state.type === 'Task') this.enteredTask = thread;
    if (state.type === 'Map') {
      const items = mapItems(definition, state.input);
      // The length is known only when ItemsPath finds an array; otherwise the library fails the state next.
      const started = Array.isArray(items) ? this.add(thread, 'MapStateStarted', { length: items.length }) : thread.last;
      this.openInvocation(thread, { name: state.name, type: 'Map', started, lastEnded: 0, processor: (definition.ItemProcessor ?? definition.Iterator) as object, nextIndex: 0, unclaimedBranches: new Set() });
    }
    if (state.type === 'Parallel') {
      const started = this.add(thread, 'ParallelStateStarted');
      this.openInvocation(thread, { name: state.name, type: 'Parallel', started, lastEnded: 0, nextIndex: 0, unclaimedBranches: new Set((definition.Branches as object[] | undefined) ?? []) });
    }
  }

  private onRunEnded(thread: Thread, event: LibraryEvent): void {
    if (thread === this.root) {
      if (event.type === 'ExecutionSucceeded') this.end('ExecutionSucceeded', { output: json(event.output), outputDetails: NOT_TRUNCATED });
      else if (event.type === 'ExecutionFailed') this.end('ExecutionFailed', { error: event.Error || 'States.Runtime', cause: causeText(event.Cause) });
      else if (this.timedOut()) this.end('ExecutionTimedOut', { error: 'States.Timeout', cause: 'The execution timed out.' });
      else this.end('ExecutionAborted');
      return;
    }
    if (thread.iteration) {
      const type = { ExecutionSucceeded: 'MapIterationSucceeded', ExecutionFailed: 'MapIterationFailed', ExecutionAborted: 'MapIterationAborted' }[event.type]!;
      thread.iteration.invocation.lastEnded = this.add(thread, type, iterationDetails(thread));
    } else if (thread.branch) {
      thread.branch.lastEnded = thread.last;
    }
  }

  private openInvocation(thread: Thread, invocation: Invocation): void {
    thread.current = invocation;
    this.open.push(invocation);
  }

  private closeInvocation(thread: Thread, invocation: Invocation): void {
    thread.current = undefined;
    this.open.splice(this.open.indexOf(invocation), 1);
  }
}

/** `mapIterationStartedEventDetails` for `MapIterationStarted`, `taskScheduledEventDetails` for `TaskScheduled`... */
function detailsKey(type: string): string {
  if (/^[A-Za-z]+StateEntered$/.test(type)) return 'stateEnteredEventDetails';
  if (/^[A-Za-z]+StateExited$/.test(type)) return 'stateExitedEventDetails';
  return `${lowerFirst(type)}EventDetails`;
}

const lowerFirst = (s: string) => s[0].toLowerCase() + s.slice(1);

const iterationDetails = (thread: Thread) => ({ name: thread.iteration!.invocation.name, index: thread.iteration!.index });

/** The Cause as text: a library error's cause may be a value, an Error's message is a string. */
function causeText(cause: unknown): string {
  return typeof cause === 'string' ? cause : cause === undefined ? '' : JSON.stringify(cause);
}

/** The Map state's items: its InputPath, then its ItemsPath (default `$`), read from the state's raw input. */
function mapItems(state: Record<string, unknown>, input: unknown): unknown {
  const effective = state.InputPath === null ? {} : typeof state.InputPath === 'string' ? readPath(input, state.InputPath) : input;
  return typeof state.ItemsPath === 'string' ? readPath(effective, state.ItemsPath) : effective;
}

let patched = false;

/** Patches the library's StateMachine once, so that a run carrying HISTORY_TAP is recorded (see the module comment). */
export function tapLibrary(StateMachine: { prototype: object }): void {
  if (patched) return;
  const prototype = StateMachine.prototype as { execute?: (input: unknown, options: Record<string, unknown>, cleanup: unknown) => unknown };
  const execute = prototype.execute;
  if (typeof execute !== 'function') throw new Error('aws-local-stepfunctions has no StateMachine.prototype.execute: this version is not the one the engine was written for');
  prototype.execute = function (this: LibraryMachine, input, options, cleanup) {
    const history = (options?.runOptions as Record<symbol, unknown> | undefined)?.[HISTORY_TAP] as ExecutionHistory | undefined;
    const logger = options?.eventLogger as LibraryLogger | undefined;
    if (history && logger && typeof logger.dispatch === 'function') history.attach(this, logger);
    return execute.call(this, input, options, cleanup);
  };
  patched = true;
}
