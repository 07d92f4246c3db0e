/**
 * Systematic exploration of two saga steps racing on one order (or one SKU), at AWS-call granularity: every order
 * of their calls with at most `bound` preemptions (CHESS's bound: a switch away from a step that could have gone
 * on), each also with either step dying before any of its calls or right after its last one (the answer lost).
 * What AWS does about a step that died or failed is raced like the step itself: its queue redelivers the message,
 * its client retries a request that got no answer, the state machine retries the task. Then the stream is relayed,
 * the bus delivers and the sweep runs until nothing moves, and the invariants are checked (SagaSystem.violations).
 *
 * Stateless, as CHESS is: each schedule runs on a fresh system, replaying the choices that lead to it; the choices
 * it met past them are the schedules still to run. So the calls each step makes are discovered, never assumed, and
 * a step whose calls depend on the race (a retry after a lost condition) is explored as it behaves.
 */
import { errorResponse } from '../../functions/api/http';
import { CONSUMERS, ConsumerName } from '../../lib/config';
import { Crash, Scheduler } from './interleaving';
import { LocalTables } from './local-tables';
import { SagaSystem, SystemOptions } from './saga-system';

type Body = Parameters<Scheduler['runFree']>[0];

/** Who runs a step again when it died or failed, and how often. */
export type Redelivery =
  /** A queue's message: redelivered after any failure, until its queue's maxReceiveCount sends it to the DLQ. */
  | { by: 'queue'; consumer: ConsumerName }
  /** An API request: its client retries when it got no answer or a 5xx; a 4xx is an answer. */
  | { by: 'client' }
  /** A sweep task: the state machine retries it; what still fails is left to the next sweep run. */
  | { by: 'state machine' };

export interface RaceStep {
  /** The step; it is run again from the start on each redelivery. */
  body: Body;
  redelivery: Redelivery;
}

export interface RaceSetup {
  A: RaceStep;
  B: RaceStep;
  /** Promises of this race beyond the system's, checked after everything settled. */
  check?: () => Promise<string[]>;
}

export interface Race {
  /** Builds the state the two steps race from, on a fresh system. */
  prepare(system: SagaSystem, scheduler: Scheduler): Promise<RaceSetup>;
}

export interface ExploreOptions {
  tables: LocalTables;
  /** Preemptions per schedule: 0 runs each step to its end in turn (with crashes), Infinity every interleaving. */
  bound: number;
  /** Also each schedule with either step dying at each of its points (default true). */
  crashes?: boolean;
  /** Faults and retries of every step's client (e.g. TransactionConflict on each first transaction). */
  system?: SystemOptions;
}

export interface Exploration {
  /** Schedules run, each to its end, settled and checked. */
  schedules: number;
  /** Each broken schedule, as `A1 B1 B2 crash(A after 1) A'1 ...: what broke`. */
  violations: string[];
  /** The AWS calls each step makes alone (from the state it races in). */
  soloCalls: { A: number; B: number };
  wallMs: number;
}

/** A client's retries of a request that got no answer (the SDK's default is 3 attempts). */
const CLIENT_ATTEMPTS = 3;
/** The repair task's first attempt and its Retry's maxAttempts (lib/compensation-sweep.ts). */
const STATE_MACHINE_ATTEMPTS = 4;

type Slot = 'A' | 'B';
const SLOTS: readonly Slot[] = ['A', 'B'];

/** One choice of a schedule: a step makes its next call, dies before it, or makes it and dies before answering. */
interface Move {
  slot: Slot;
  crash?: 'before' | 'after';
}

/** What the schedule met at one choice: who could go, and what it cost in preemptions so far. */
interface Choice {
  taken: Move;
  enabled: Slot[];
  /** The slot that made the previous call, if switching away from it would be a preemption. */
  running?: Slot;
  preemptions: number;
  crashed: boolean;
  /** The taken call was the step's last (it answered next): the point a lost answer branches from. */
  ended: boolean;
}

interface SlotState {
  attempts: number;
  /** Calls made in the current attempt, for the labels. */
  calls: number;
  done: boolean;
  failures: string[];
}

export async function explore(race: Race, options: ExploreOptions): Promise<Exploration> {
  const started = Date.now();
  const soloCalls = { A: await solo(race, 'A', options), B: await solo(race, 'B', options) };
  const pending: Move[][] = [[]];
  const violations: string[] = [];
  let schedules = 0;
  while (pending.length) {
    const prefix = pending.pop()!;
    const run = await runSchedule(race, prefix, options);
    schedules++;
    if (run.found.length) violations.push(`${run.label}: ${run.found.join('; ')}`);
    const taken = run.choices.map((c) => c.taken);
    for (let i = run.choices.length - 1; i >= prefix.length; i--) {
      for (const move of alternatives(run.choices[i]!, options)) pending.push([...taken.slice(0, i), move]);
    }
    // The move this schedule was made for: only now is it known whether that call was its step's last.
    const forced = run.choices[prefix.length - 1];
    const lostAnswer = forced && options.crashes !== false && lostAnswerOf(forced);
    if (lostAnswer) pending.push([...taken.slice(0, prefix.length - 1), lostAnswer]);
  }
  return { schedules, violations, soloCalls, wallMs: Date.now() - started };
}

/** The AWS calls a step makes with nobody racing it. */
async function solo(race: Race, slot: Slot, options: ExploreOptions): Promise<number> {
  const scheduler = new Scheduler();
  const setup = await race.prepare(new SagaSystem(options.tables, options.system), scheduler);
  await scheduler.run(slot, setup[slot].body);
  return scheduler.callsOf(slot);
}

/** The other choices at a point of a schedule, within the bound; a crash only where none happened yet. */
function alternatives(choice: Choice, { bound, crashes = true }: ExploreOptions): Move[] {
  const moves: Move[] = [];
  for (const slot of choice.enabled) {
    const preempts = choice.running !== undefined && choice.running !== slot ? 1 : 0;
    if (choice.preemptions + preempts <= bound) moves.push({ slot });
    if (crashes && !choice.crashed) moves.push({ slot, crash: 'before' });
  }
  const lostAnswer = crashes && lostAnswerOf(choice);
  if (lostAnswer) moves.push(lostAnswer);
  return moves.filter((m) => m.slot !== choice.taken.slot || m.crash !== choice.taken.crash);
}

/** The taken call was its step's last: the step may also die right after it, before answering. */
function lostAnswerOf(choice: Choice): Move | undefined {
  return !choice.crashed && choice.ended && choice.taken.crash === undefined ? { slot: choice.taken.slot, crash: 'after' } : undefined;
}

async function runSchedule(race: Race, prefix: Move[], options: ExploreOptions): Promise<{ label: string; found: string[]; choices: Choice[] }> {
  const system = new SagaSystem(options.tables, options.system);
  const scheduler = new Scheduler();
  const setup = await race.prepare(system, scheduler);
  const slots: Record<Slot, SlotState> = { A: fresh(), B: fresh() };
  const actor = (slot: Slot) => `${slot}${"'".repeat(slots[slot].attempts - 1)}`;
  const labels: string[] = [];
  const choices: Choice[] = [];
  let running: Slot | undefined;
  let preemptions = 0;
  let crashed = false;

  const begin = async (slot: Slot) => {
    slots[slot].attempts++;
    slots[slot].calls = 0;
    await scheduler.start(actor(slot), setup[slot].body);
    // A step that makes no AWS call ends at once (a request answered from its input alone).
    if (scheduler.settled(actor(slot))) await ended(slot, false);
  };
  /** A step that ended: done, or run again by whoever redelivers it; a redelivery comes later, so no preemption. */
  const ended = async (slot: Slot, answerLost: boolean) => {
    const state = slots[slot];
    const error = answerLost ? new Crash('the answer was lost') : scheduler.errorOf(actor(slot));
    if (error === undefined || !redelivered(setup[slot].redelivery, error)) return void (state.done = true);
    if (!(error instanceof Crash)) labels.push(`fail(${actor(slot)}: ${describe(error)})`);
    if (state.attempts >= attemptsOf(setup[slot].redelivery)) {
      state.failures.push(`${slot} failed ${state.attempts} times, last with ${describe(error)}`);
      return void (state.done = true);
    }
    if (running === slot) running = undefined;
    await begin(slot);
  };

  await begin('A');
  await begin('B');
  for (let i = 0; ; i++) {
    const enabled = SLOTS.filter((slot) => !slots[slot].done && scheduler.waiting(actor(slot)));
    if (!enabled.length) break;
    const move = prefix[i] ?? { slot: running !== undefined && enabled.includes(running) ? running : enabled[0]! };
    if (!enabled.includes(move.slot)) throw new Error(`schedule ${labels.join(' ')}: ${move.slot} cannot move (replay diverged)`);
    const choice: Choice = { taken: move, enabled, running: running !== undefined && enabled.includes(running) ? running : undefined, preemptions, crashed, ended: false };
    choices.push(choice);
    if (choice.running !== undefined && choice.running !== move.slot) preemptions++;
    const state = slots[move.slot];
    const name = actor(move.slot);
    if (move.crash === 'before') {
      crashed = true;
      labels.push(`crash(${name} after ${state.calls})`);
      await scheduler.crash(name);
      await ended(move.slot, false);
      continue;
    }
    await scheduler.advance(name, 1);
    labels.push(`${name}${++state.calls}`);
    running = move.slot;
    if (scheduler.settled(name)) {
      choice.ended = scheduler.errorOf(name) === undefined;
      const lost = move.crash === 'after' && choice.ended;
      if (lost) {
        crashed = true;
        labels.push(`crash(${name} after ${state.calls})`);
      }
      await ended(move.slot, lost);
    }
  }
  if (!slots.A.done || !slots.B.done) throw new Error(`schedule ${labels.join(' ')}: a step neither moves nor ends`);

  await system.settle(scheduler);
  const found = [...slots.A.failures, ...slots.B.failures, ...(await system.violations()), ...((await setup.check?.()) ?? [])];
  return { label: labels.join(' '), found, choices };
}

function fresh(): SlotState {
  return { attempts: 0, calls: 0, done: false, failures: [] };
}

function redelivered(redelivery: Redelivery, error: unknown): boolean {
  if (error instanceof Crash || redelivery.by !== 'client') return true;
  const status = errorResponse(error, '')?.statusCode ?? 500;
  return status >= 500;
}

function attemptsOf(redelivery: Redelivery): number {
  switch (redelivery.by) {
    case 'queue':
      return CONSUMERS[redelivery.consumer].maxReceiveCount;
    case 'client':
      return CLIENT_ATTEMPTS;
    case 'state machine':
      return STATE_MACHINE_ATTEMPTS;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
