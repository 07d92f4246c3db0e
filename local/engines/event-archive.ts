/**
 * EventBridge archives and replays ("Archiving and replaying events", eb-archive.html; "Replaying archived
 * events", eb-replay-archived-event.html):
 *  - an archive keeps the events put on its source bus that match its EventPattern (every event without one), for
 *    RetentionDays (0: indefinitely), kept in `<dir>/<archive>.jsonl` when the runtime has a data directory (each
 *    PutEvents request's events in one write before it answers, as the delivery journal), in memory otherwise;
 *  - a replay re-sends the archived events whose `time` lies in [EventStartTime, EventEndTime) to the rules of the
 *    archive's bus (or only those of FilterArns), each event once to each rule that matches it now, with
 *    `replay-name` set; replayed events never reach an archive (AWS's managed rule `{"replay-name": [{"exists":
 *    false}]}` on the bus, here: the archive is fed by PutEvents only).
 *
 * Differs from AWS, on purpose: events reach the archive at once (AWS advises waiting 10 minutes before a replay);
 * EventCount and SizeBytes are exact at every moment (AWS reconciles them over 24 hours); a replay runs as fast as
 * the bus takes it, in event-time order (AWS: minute by minute, "not necessarily in the same order"); replays are
 * kept in memory only (a restart forgets them; the deliveries they made are journaled by the bus as any other).
 * Retention, like every age in the runtime, is measured on the scaled clock (event-bus.ts): at --time-scale 30 a
 * 30-day retention lasts one real day.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clock } from '../clock';
import { replaceFileDurably, writeAll } from './durable-file';
import { matchesPattern, validatePattern } from './event-pattern';

export interface ArchiveSpec {
  name: string;
  arn: string;
  /** The source bus, by name, and its ARN (EventSourceArn). */
  bus: string;
  busArn: string;
  eventPattern?: Record<string, unknown>;
  /** 0: kept indefinitely (AWS's default). */
  retentionDays: number;
  description?: string;
}

export interface ArchivedEvent {
  /** Real epoch ms the archive received it. */
  archivedAt: number;
  event: Record<string, unknown>;
}

const DAY_MS = 86_400_000;

export class EventArchive {
  readonly createdAt: number;
  private events: ArchivedEvent[];
  private fd: number | undefined;
  private readonly file: string | undefined;

  constructor(
    readonly spec: ArchiveSpec,
    private readonly clock: Clock,
    directory?: string,
  ) {
    if (spec.eventPattern) validatePattern(spec.eventPattern);
    this.file = directory && path.join(directory, `${spec.name}.jsonl`);
    this.createdAt = clock.now();
    this.events = [];
    if (this.file) {
      fs.mkdirSync(directory!, { recursive: true });
      const loaded = readLines(this.file);
      // The first line records when the archive was created: CreationTime survives restarts.
      const meta = loaded.find((l) => 'createdAt' in l) as { createdAt?: number } | undefined;
      if (meta?.createdAt) this.createdAt = meta.createdAt;
      this.events = loaded.filter((l) => 'event' in l) as unknown as ArchivedEvent[];
      this.rewrite();
    }
  }

  /** Whether the archive keeps this event (live events only: the bus never hands it a replayed one). */
  accepts(event: Record<string, unknown>): boolean {
    return !this.spec.eventPattern || matchesPattern(this.spec.eventPattern, event);
  }

  /** Keeps these events, in one write (before PutEvents answers, so an acknowledged event survives kill -9). */
  append(events: Record<string, unknown>[]): void {
    if (!events.length) return;
    const archivedAt = this.clock.now();
    const records = events.map((event) => ({ archivedAt, event: structuredClone(event) }));
    this.events.push(...records);
    if (this.file) {
      this.fd ??= fs.openSync(this.file, 'a');
      writeAll(this.fd, Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join('')));
    }
  }

  /** The events still retained (expired ones are dropped, from the file too). */
  retained(): ArchivedEvent[] {
    const days = this.spec.retentionDays;
    if (days > 0) {
      const now = this.clock.now();
      const kept = this.events.filter((e) => (now - e.archivedAt) * this.clock.scale < days * DAY_MS);
      if (kept.length !== this.events.length) {
        this.events = kept;
        this.rewrite();
      }
    }
    return this.events;
  }

  /** EventCount and SizeBytes as DescribeArchive reports them (the events' JSON size). */
  stats(): { EventCount: number; SizeBytes: number } {
    const events = this.retained();
    return { EventCount: events.length, SizeBytes: events.reduce((sum, e) => sum + Buffer.byteLength(JSON.stringify(e.event)), 0) };
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private rewrite(): void {
    if (!this.file) return;
    this.close();
    replaceFileDurably(this.file, [JSON.stringify({ createdAt: this.createdAt }), ...this.events.map((e) => JSON.stringify(e))]);
  }
}

/** JSON lines of a file; a torn last line (a crash mid-write) is skipped. */
function readLines(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  const lines: Record<string, unknown>[] = [];
  for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    try {
      lines.push(JSON.parse(text) as Record<string, unknown>);
    } catch {
      // torn line
    }
  }
  return lines;
}

export type ReplayState = 'STARTING' | 'RUNNING' | 'CANCELLING' | 'COMPLETED' | 'CANCELLED' | 'FAILED';

export interface Replay {
  name: string;
  arn: string;
  archive: EventArchive;
  description?: string;
  destination: { Arn: string; FilterArns?: string[] };
  /** Epoch ms. */
  eventStartTime: number;
  eventEndTime: number;
  state: ReplayState;
  stateReason?: string;
  replayStartTime: number;
  replayEndTime?: number;
  eventLastReplayedTime?: number;
}

/** Re-sends one event to the destination bus's rules (those of filterArns only, when given); throws if the bus cannot. */
export type Redeliver = (event: Record<string, unknown>, filterArns: string[] | undefined) => void;

/** An event's `time` (what replay windows are about), as epoch ms. */
export function eventTime(event: Record<string, unknown>): number {
  return Date.parse(String(event.time));
}

/**
 * Runs a replay: STARTING when StartReplay answers, RUNNING from the next turn, then COMPLETED (or CANCELLED, or
 * FAILED with the reason). Yields between events, so DescribeReplay and CancelReplay are answered meanwhile.
 */
export async function runReplay(replay: Replay, redeliver: Redeliver, stopping: AbortSignal, now: () => number): Promise<void> {
  // CancelReplay sets CANCELLING at any moment.
  const cancelling = () => (replay.state as ReplayState) === 'CANCELLING';
  await new Promise((resolve) => setImmediate(resolve));
  if (cancelling()) return finish(replay, 'CANCELLED', now);
  replay.state = 'RUNNING';
  const inWindow = replay.archive
    .retained()
    .filter((e) => {
      const t = eventTime(e.event);
      return t >= replay.eventStartTime && t < replay.eventEndTime;
    })
    .sort((a, b) => eventTime(a.event) - eventTime(b.event));
  try {
    for (const { event } of inWindow) {
      if (cancelling()) return finish(replay, 'CANCELLED', now);
      if (stopping.aborted) return finish(replay, 'FAILED', now, 'The local runtime stopped during the replay.');
      redeliver({ ...event, 'replay-name': replay.name }, replay.destination.FilterArns);
      replay.eventLastReplayedTime = eventTime(event);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (error) {
    return finish(replay, 'FAILED', now, (error as Error).message);
  }
  finish(replay, cancelling() ? 'CANCELLED' : 'COMPLETED', now);
}

function finish(replay: Replay, state: ReplayState, now: () => number, reason?: string): void {
  replay.state = state;
  replay.stateReason = reason;
  replay.replayEndTime = now();
}
