/**
 * Rewriting a journal file so that a crash at any moment leaves the old file or the whole new one: written to a
 * temporary file, fsync'd, renamed over the old one, and the directory fsync'd (the rename itself made durable).
 * Used by the queue engine's FileQueueStore and by PendingJournal when they compact.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Writes the whole buffer (write(2) may write less than asked). */
export function writeAll(fd: number, buffer: Buffer): void {
  let offset = 0;
  while (offset < buffer.length) offset += fs.writeSync(fd, buffer, offset, buffer.length - offset);
}

/** Replaces `file` with these lines (each written with its newline), atomically and durably. */
export function replaceFileDurably(file: string, lines: Iterable<string>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const line of lines) writeAll(fd, Buffer.from(`${line}\n`));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(path.dirname(file), 'r');
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } catch {
    // directory fsync is best effort (not supported everywhere)
  }
}
