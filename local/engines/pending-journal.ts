/**
 * A small append-only journal of pending work, for engines whose accepted work must survive a killed process:
 * EventBridge target deliveries being retried (event-bus.ts) and Lambda asynchronous invocations
 * (lambda-async-invoke.ts). Modelled on FileQueueStore (queue-engine.ts): JSON lines in `<dir>/<name>.jsonl`,
 * `put` when work is accepted, `update` as it progresses, `done` when it ends.
 *
 * Durability: each call is one write(2) of whole lines, made before the caller acknowledges the work, so SIGKILL
 * cannot lose it (the kernel's page cache holds it); with `fsync` the write is also fdatasync'd (survives a power
 * cut, at a few milliseconds per call). On open the journal is replayed, a torn last line is skipped, and the file is
 * rewritten with the pending records only; it is rewritten again whenever enough lines accumulate.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { replaceFileDurably, writeAll } from './durable-file';

export interface PendingJournalOptions {
  /** fdatasync after every put (survives a power cut); default false (survives a killed process). */
  fsync?: boolean;
  /** Rewrite the file with the pending records once this many lines were appended since the last rewrite (default 10,000). */
  compactAfterLines?: number;
}

type Line<T> = { op: 'put'; id: string; value: T } | { op: 'update'; id: string; patch: Partial<T> } | { op: 'done'; id: string };

export class PendingJournal<T extends object> {
  readonly file: string;
  /** Lines skipped on open (a torn last line after a crash). */
  skippedLines = 0;
  private fd: number | undefined;
  private readonly pending = new Map<string, T>();
  private appended = 0;

  constructor(
    readonly dir: string,
    name: string,
    private readonly options: PendingJournalOptions = {},
  ) {
    this.file = path.join(dir, `${name}.jsonl`);
  }

  /** Replays the journal and compacts it; returns the records still pending, in the order they were put. */
  open(): Map<string, T> {
    fs.mkdirSync(this.dir, { recursive: true });
    this.pending.clear();
    this.skippedLines = 0;
    if (fs.existsSync(this.file)) {
      for (const text of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (!text.trim()) continue;
        let line: Line<T>;
        try {
          line = JSON.parse(text) as Line<T>;
        } catch {
          this.skippedLines++;
          continue;
        }
        this.apply(line);
      }
    }
    this.compact();
    return new Map([...this.pending].map(([id, value]) => [id, structuredClone(value)]));
  }

  /** Records new work, all of it in one write (and one fdatasync with `fsync`). */
  put(records: { id: string; value: T }[]): void {
    if (!records.length) return;
    this.write(records.map(({ id, value }) => ({ op: 'put', id, value: structuredClone(value) }) as Line<T>), this.options.fsync === true);
  }

  update(id: string, patch: Partial<T>): void {
    if (this.pending.has(id)) this.write([{ op: 'update', id, patch }], false);
  }

  done(id: string): void {
    if (this.pending.has(id)) this.write([{ op: 'done', id }], false);
  }

  get size(): number {
    return this.pending.size;
  }

  close(): void {
    if (this.fd === undefined) return;
    try {
      fs.fdatasyncSync(this.fd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }

  private apply(line: Line<T>): void {
    if (!line || typeof line !== 'object' || typeof line.id !== 'string') {
      this.skippedLines++;
      return;
    }
    if (line.op === 'put') this.pending.set(line.id, line.value);
    else if (line.op === 'update') {
      const current = this.pending.get(line.id);
      if (current) this.pending.set(line.id, { ...current, ...line.patch });
    } else if (line.op === 'done') this.pending.delete(line.id);
    else this.skippedLines++;
  }

  private write(lines: Line<T>[], sync: boolean): void {
    for (const line of lines) this.apply(line);
    if (this.fd === undefined) this.fd = fs.openSync(this.file, 'a');
    writeAll(this.fd, Buffer.from(lines.map((l) => JSON.stringify(l) + '\n').join('')));
    if (sync) fs.fdatasyncSync(this.fd);
    this.appended += lines.length;
    if (this.appended >= (this.options.compactAfterLines ?? 10_000)) this.compact();
  }

  private compact(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    replaceFileDurably(this.file, [...this.pending].map(([id, value]) => JSON.stringify({ op: 'put', id, value })));
    this.appended = 0;
  }
}
