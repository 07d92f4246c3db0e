/**
 * The queue engine's fault seam (sqs.shortReceive, sqs.outOfOrder, sqs.duplicate), the CANCELLING state of a
 * message move task, and crash safety of messages that change queue (redrive, move tasks) on the FileQueueStore.
 * Each case names the AWS page it is written from. Faults come from a scripted Faults (answers in order); time is
 * a FakeClock that moves only when a case advances it (no real waits, nothing depends on the machine's load).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FileQueueStore, MemoryQueueStore, PersistedMessage, QueueChange, QueueEngine, QueueState, QueueStore, ReceivedMessage } from '../../local/engines/queue-engine';
import { FaultKind, Faults } from '../../local/faults/faults';
import { FakeClock } from '../support/fake-clock';

/** The clock these cases were written against: 2025-01-01T00:00Z, scale 1, moved only by the case. */
const newClock = () => new FakeClock({ start: Date.UTC(2025, 0, 1), scale: 1, auto: false });

const sleep = (realMs: number) => new Promise((r) => setTimeout(r, realMs));

/** Faults that answer from a script: each kind's answers in order, then no. `random` likewise, then 0.5. */
function scripted(answers: Partial<Record<FaultKind, boolean[]>> = {}, randoms: Partial<Record<FaultKind, number[]>> = {}) {
  const asked: Record<string, number> = {};
  const faults: Faults = {
    inject(kind, target) {
      asked[`${kind} ${target}`] = (asked[`${kind} ${target}`] ?? 0) + 1;
      return answers[kind]?.shift() ?? false;
    },
    random: (kind) => randoms[kind]?.shift() ?? 0.5,
    parameter: () => undefined,
  };
  return { faults, asked, answers, randoms };
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sqs-faults-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function engineWith(faults?: Faults, store: QueueStore = new MemoryQueueStore(), clock = newClock()) {
  return new QueueEngine({ clock, store, faults });
}

function sendAll(engine: QueueEngine, queue: string, bodies: string[]): string[] {
  return bodies.map((body) => engine.sendMessage(queue, { body }).messageId);
}

async function drain(engine: QueueEngine, queue: string): Promise<ReceivedMessage[]> {
  const out: ReceivedMessage[] = [];
  for (;;) {
    const got = await engine.receiveMessage(queue, { maxNumberOfMessages: 10 });
    if (got.length === 0) return out;
    for (const m of got) engine.deleteMessage(queue, m.receiptHandle);
    out.push(...got);
  }
}

const counts = (engine: QueueEngine, queue: string) => {
  const a = engine.getQueueAttributes(queue, ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible']);
  return { visible: Number(a.ApproximateNumberOfMessages), notVisible: Number(a.ApproximateNumberOfMessagesNotVisible) };
};

describe('fault seam: sqs.shortReceive', () => {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-short-and-long-polling.html
  // Short polling queries a subset of the servers: a receive may return fewer messages than are available, even
  // none; the rest come with later receives. Long polling queries every server (no false empty responses).
  it('a short poll returns fewer than available, possibly none; the rest stay available', async () => {
    const f = scripted({ 'sqs.shortReceive': [true, true] }, { 'sqs.shortReceive': [0, 0.99] });
    const engine = engineWith(f.faults);
    engine.createQueue('q');
    const ids = sendAll(engine, 'q', ['m1', 'm2', 'm3', 'm4', 'm5']);
    expect(await engine.receiveMessage('q', { maxNumberOfMessages: 10 })).toEqual([]);
    expect(counts(engine, 'q')).toEqual({ visible: 5, notVisible: 0 });
    const some = await engine.receiveMessage('q', { maxNumberOfMessages: 10, visibilityTimeout: 0 });
    expect(some.map((m) => m.body)).toEqual(['m1', 'm2', 'm3', 'm4']); // 4 of 5: fewer than available
    const all = await engine.receiveMessage('q', { maxNumberOfMessages: 10 });
    expect(all.map((m) => m.messageId)).toEqual(ids);
    expect(f.asked).toEqual({ 'sqs.shortReceive q': 3, 'sqs.outOfOrder q': 3, 'sqs.duplicate q': 9 });
    engine.close();
  });

  it('fewer than MaxNumberOfMessages when more are available than asked for', async () => {
    const f = scripted({ 'sqs.shortReceive': [true] }, { 'sqs.shortReceive': [0.5] });
    const engine = engineWith(f.faults);
    engine.createQueue('q');
    sendAll(engine, 'q', Array.from({ length: 20 }, (_, i) => `m${i}`));
    const got = await engine.receiveMessage('q', { maxNumberOfMessages: 10 });
    expect(got).toHaveLength(5);
    expect(counts(engine, 'q')).toEqual({ visible: 15, notVisible: 5 });
    engine.close();
  });

  it('a long poll with the fault still returns at least one available message (it queries every server)', async () => {
    const f = scripted({ 'sqs.shortReceive': [true] }, { 'sqs.shortReceive': [0] });
    const engine = engineWith(f.faults);
    engine.createQueue('q');
    sendAll(engine, 'q', ['m1', 'm2', 'm3']);
    const got = await engine.receiveMessage('q', { maxNumberOfMessages: 10, waitTimeSeconds: 20 });
    expect(got.map((m) => m.body)).toEqual(['m1']);
    engine.close();
  });
});

describe('fault seam: sqs.outOfOrder', () => {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html
  // Standard queues: best-effort ordering; messages may be delivered in an order different from the one they were sent in.
  it('a receive returns messages that are not the oldest ones in send order; every message is still delivered once', async () => {
    const f = scripted({ 'sqs.outOfOrder': [true, true] });
    const engine = engineWith(f.faults);
    engine.createQueue('q');
    const ids = sendAll(engine, 'q', ['m1', 'm2', 'm3', 'm4', 'm5']);
    const first = await engine.receiveMessage('q', { maxNumberOfMessages: 2 });
    expect(first).toHaveLength(2);
    expect(first.map((m) => m.messageId)).not.toEqual(ids.slice(0, 2));
    const second = await engine.receiveMessage('q', { maxNumberOfMessages: 1 });
    expect(second).toHaveLength(1);
    expect(second[0].body).not.toBe([...['m1', 'm2', 'm3', 'm4', 'm5']].find((b) => !first.some((m) => m.body === b)));
    const rest = await drain(engine, 'q');
    expect([...first, ...second, ...rest].map((m) => m.messageId).sort()).toEqual([...ids].sort());
    engine.close();
  });

  it('with one visible message there is no other order: it is returned', async () => {
    const f = scripted({ 'sqs.outOfOrder': [true] });
    const engine = engineWith(f.faults);
    engine.createQueue('q');
    sendAll(engine, 'q', ['only']);
    expect((await engine.receiveMessage('q', {})).map((m) => m.body)).toEqual(['only']);
    engine.close();
  });
});

describe('fault seam: sqs.duplicate (at-least-once delivery)', () => {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues.html
  // "At-least-once delivery": a copy of a message may be delivered again, even after it was deleted, because a
  // server holding a copy was unavailable when the message was received or deleted. Consumers must be idempotent.
  it('on delivery: the same MessageId and body arrive again later with a new receipt handle, after the original was deleted', async () => {
    const f = scripted({ 'sqs.duplicate': [true] }, { 'sqs.duplicate': [0.5] });
    const clock = newClock();
    const engine = engineWith(f.faults, new MemoryQueueStore(), clock);
    engine.createQueue('q', { VisibilityTimeout: '10' });
    const [id] = sendAll(engine, 'q', ['order-1']);
    const [original] = await engine.receiveMessage('q', {});
    expect(engine.deleteMessage('q', original.receiptHandle)).toBe(true);
    // the copy becomes visible 0.5 x the visibility timeout (5 s) after the receive
    await clock.advance(4_999);
    expect(await engine.receiveMessage('q', {})).toEqual([]);
    const polling = engine.receiveMessage('q', { waitTimeSeconds: 10 });
    await clock.advance(1);
    const [copy] = await polling;
    expect(copy).toMatchObject({ messageId: id, body: 'order-1', md5OfBody: original.md5OfBody });
    expect(copy.receiptHandle).not.toBe(original.receiptHandle);
    expect(copy.attributes.SentTimestamp).toBe(original.attributes.SentTimestamp);
    // ApproximateReceiveCount continues from the original's: the copy looks like a redelivery
    expect(original.attributes.ApproximateReceiveCount).toBe('1');
    expect(copy.attributes.ApproximateReceiveCount).toBe('2');
    expect(engine.deleteMessage('q', copy.receiptHandle)).toBe(true);
    expect(counts(engine, 'q')).toEqual({ visible: 0, notVisible: 0 });
    engine.close();
  });

  it('on delivery, while the original is still in flight: both copies are in flight at once', async () => {
    const f = scripted({ 'sqs.duplicate': [true] }, { 'sqs.duplicate': [0] });
    const engine = engineWith(f.faults);
    engine.createQueue('q', { VisibilityTimeout: '600' });
    const [id] = sendAll(engine, 'q', ['x']);
    const [a] = await engine.receiveMessage('q', {});
    const [b] = await engine.receiveMessage('q', {});
    expect(b.messageId).toBe(id);
    expect(b.receiptHandle).not.toBe(a.receiptHandle);
    expect(engine.deleteMessage('q', a.receiptHandle)).toBe(true);
    expect(engine.deleteMessage('q', b.receiptHandle)).toBe(true);
    engine.close();
  });

  it('on delete: the deleted message comes back (same MessageId) within the visibility timeout', async () => {
    const f = scripted({ 'sqs.duplicate': [false, true] }, { 'sqs.duplicate': [0.999] });
    const clock = newClock();
    const engine = engineWith(f.faults, new MemoryQueueStore(), clock);
    engine.createQueue('q', { VisibilityTimeout: '10' });
    const [id] = sendAll(engine, 'q', ['paid']);
    const [original] = await engine.receiveMessage('q', {});
    await clock.advance(3_000);
    const deletedAt = clock.now();
    expect(engine.deleteMessage('q', original.receiptHandle)).toBe(true);
    expect(counts(engine, 'q')).toEqual({ visible: 0, notVisible: 1 }); // the pending copy
    let copy: ReceivedMessage | undefined;
    void engine.receiveMessage('q', { waitTimeSeconds: 20 }).then(([m]) => (copy = m));
    await clock.advance(9_989);
    expect(copy).toBeUndefined();
    await clock.advance(1); // 0.999 x the 10 s visibility timeout after the delete: never later than the timeout
    expect(clock.now() - deletedAt).toBe(9_990);
    expect(copy).toMatchObject({ messageId: id, body: 'paid' });
    expect(copy!.attributes.ApproximateReceiveCount).toBe('2');
    engine.close();
  });

  it('a copy counts towards maxReceiveCount: it reaches the DLQ with the original MessageId', async () => {
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html
    const f = scripted({ 'sqs.duplicate': [false, true] }, { 'sqs.duplicate': [0] });
    const engine = engineWith(f.faults);
    engine.createQueue('dlq');
    engine.createQueue('q', { RedrivePolicy: { deadLetterTargetArn: engine.queueArn('dlq'), maxReceiveCount: 2 } });
    const [id] = sendAll(engine, 'q', ['x']);
    const [original] = await engine.receiveMessage('q', { visibilityTimeout: 0 });
    engine.deleteMessage('q', original.receiptHandle); // duplicate: the copy (count 1) stays, visible at once (random 0)
    const [copy] = await engine.receiveMessage('q', { visibilityTimeout: 0 });
    expect(copy.attributes.ApproximateReceiveCount).toBe('2');
    expect(await engine.receiveMessage('q', {})).toEqual([]); // the third receive would exceed 2: redriven
    const [dead] = await engine.receiveMessage('dlq', {});
    expect(dead.messageId).toBe(id);
    engine.close();
  });

  it('a pending copy survives a restart on the FileQueueStore', async () => {
    const dir = tmpDir();
    const f = scripted({ 'sqs.duplicate': [false, true] }, { 'sqs.duplicate': [0.5] });
    const clock = newClock();
    let engine = engineWith(f.faults, new FileQueueStore(dir), clock);
    engine.createQueue('q', { VisibilityTimeout: '10' });
    const [id] = sendAll(engine, 'q', ['survivor']);
    const [original] = await engine.receiveMessage('q', {});
    engine.deleteMessage('q', original.receiptHandle);
    engine.close();
    engine = engineWith(undefined, new FileQueueStore(dir), clock);
    expect(counts(engine, 'q')).toEqual({ visible: 0, notVisible: 1 });
    await clock.advance(5_000);
    const [copy] = await engine.receiveMessage('q', {});
    expect(copy).toMatchObject({ messageId: id, body: 'survivor' });
    expect(engine.deleteMessage('q', copy.receiptHandle)).toBe(true);
    engine.close();
    engine = engineWith(undefined, new FileQueueStore(dir), clock);
    expect(counts(engine, 'q')).toEqual({ visible: 0, notVisible: 0 });
    engine.close();
  });

  it('without faults (the default) nothing is duplicated, shortened or reordered', async () => {
    const clock = newClock();
    const engine = engineWith(undefined, new MemoryQueueStore(), clock);
    engine.createQueue('q', { VisibilityTimeout: '1' });
    const ids = sendAll(engine, 'q', Array.from({ length: 25 }, (_, i) => `m${i}`));
    const got = await drain(engine, 'q');
    expect(got.map((m) => m.messageId)).toEqual(ids);
    await clock.advance(3_000); // 3 visibility timeouts
    expect(await engine.receiveMessage('q', { maxNumberOfMessages: 10 })).toEqual([]);
    engine.close();
  });
});

describe('message move tasks: CANCELLING, then CANCELLED', () => {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html
  // Status: RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED. TaskHandle only while RUNNING.
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html
  // Only a RUNNING task can be cancelled; moved messages stay moved. Only one active task per source queue.
  it('a cancelled task is CANCELLING until it has stopped; it cannot be cancelled again; no second task meanwhile', async () => {
    const clock = newClock();
    const engine = engineWith(undefined, new MemoryQueueStore(), clock);
    engine.createQueue('dlq');
    engine.createQueue('src', { RedrivePolicy: { deadLetterTargetArn: engine.queueArn('dlq'), maxReceiveCount: 1 } });
    engine.createQueue('dest');
    sendAll(engine, 'dlq', ['a', 'b', 'c']);
    const handle = engine.startMessageMoveTask({ sourceArn: engine.queueArn('dlq'), destinationArn: engine.queueArn('dest'), maxNumberOfMessagesPerSecond: 1 });
    await clock.advance(500); // the first round moved one message; the task now waits out its second
    expect(engine.cancelMessageMoveTask(handle)).toBe(1);
    const [cancelling] = engine.listMessageMoveTasks(engine.queueArn('dlq'));
    expect(cancelling).toMatchObject({ status: 'CANCELLING', approximateNumberOfMessagesMoved: 1, taskHandle: undefined });
    expect(() => engine.cancelMessageMoveTask(handle)).toThrow(expect.objectContaining({ code: 'UnsupportedOperation' }));
    expect(() => engine.startMessageMoveTask({ sourceArn: engine.queueArn('dlq') })).toThrow(expect.objectContaining({ code: 'UnsupportedOperation' }));
    await clock.advance(499);
    expect(engine.listMessageMoveTasks(engine.queueArn('dlq'))[0].status).toBe('CANCELLING');
    await clock.advance(1); // the task notices at the end of its pause
    expect(engine.listMessageMoveTasks(engine.queueArn('dlq'))[0]).toMatchObject({ status: 'CANCELLED', approximateNumberOfMessagesMoved: 1 });
    expect(counts(engine, 'dlq').visible).toBe(2);
    expect(counts(engine, 'dest').visible).toBe(1);
    // once CANCELLED, a new task may start
    expect(engine.startMessageMoveTask({ sourceArn: engine.queueArn('dlq'), destinationArn: engine.queueArn('dest') })).toBeTruthy();
    engine.close();
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Crash safety of moves between queues (FileQueueStore)
// ---------------------------------------------------------------------------------------------------------------

const JOURNAL = 'sqs-journal.jsonl';

/** Where each message (by body) is after reopening: queue names, one entry per stored copy. */
function whereIs(state: QueueState): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of state.messages as PersistedMessage[]) (out[m.body] ??= []).push(m.queue);
  return out;
}

/** A FileQueueStore that dies (throws, and writes nothing more) after k appends: a crash mid-operation. */
class CrashingStore implements QueueStore {
  private writes = 0;
  constructor(
    private readonly inner: FileQueueStore,
    private readonly k: number,
  ) {}
  load() {
    return this.inner.load();
  }
  append(change: QueueChange) {
    if (this.writes >= this.k) throw new Error('crash');
    this.writes++;
    this.inner.append(change);
  }
  close() {
    this.inner.close();
  }
}

const BODIES = ['p1', 'p2', 'p3'];

/** Redrive: three messages each received once (maxReceiveCount 1), then a receive moves all three to the DLQ. */
async function redriveScenario(engine: QueueEngine): Promise<void> {
  engine.createQueue('dlq');
  engine.createQueue('src', { RedrivePolicy: { deadLetterTargetArn: engine.queueArn('dlq'), maxReceiveCount: 1 } });
  for (const body of BODIES) engine.sendMessage('src', { body });
  await engine.receiveMessage('src', { maxNumberOfMessages: 10, visibilityTimeout: 0 });
  await engine.receiveMessage('src', { maxNumberOfMessages: 10 });
}

/** Move task: the DLQ's three messages go back to their source queue. */
async function moveScenario(engine: QueueEngine): Promise<void> {
  await redriveScenario(engine);
  engine.startMessageMoveTask({ sourceArn: engine.queueArn('dlq') });
  for (let i = 0; i < 200 && engine.listMessageMoveTasks(engine.queueArn('dlq'))[0].status === 'RUNNING'; i++) await sleep(1);
}

/** After any crash: every message whose send reached the journal is in exactly one queue. */
function expectNoneLostOrDuplicated(state: QueueState, sentBodies: string[]): void {
  const where = whereIs(state);
  for (const body of sentBodies) {
    expect({ body, copies: (where[body] ?? []).length }).toEqual({ body, copies: 1 });
  }
  for (const body of Object.keys(where)) expect(sentBodies).toContain(body);
}

function sentIn(lines: string[]): string[] {
  const bodies = new Set<string>();
  for (const line of lines) {
    try {
      const c = JSON.parse(line) as QueueChange;
      if (c.op === 'putMessage' && c.message.queue === 'src' && c.message.receiveCount === 0) bodies.add(c.message.body);
    } catch {
      // torn
    }
  }
  return [...bodies];
}

describe('a message moved between queues is never duplicated or lost by a crash mid-move (FileQueueStore)', () => {
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html (redrive after maxReceiveCount)
  // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html (DLQ redrive)
  it.each([
    ['redrive to the DLQ', redriveScenario, { src: 0, dlq: 3 }],
    ['a message move task', moveScenario, { src: 3, dlq: 0 }],
  ] as const)('%s: the journal cut after every record (and mid-record) reopens with each message in exactly one queue', async (_name, scenario, final) => {
    const dir = tmpDir();
    const engine = engineWith(undefined, new FileQueueStore(dir));
    await scenario(engine);
    const text = fs.readFileSync(path.join(dir, JOURNAL), 'utf8');
    engine.close();
    const lines = text.split('\n').filter(Boolean);
    const moves = lines.filter((l) => (JSON.parse(l) as QueueChange).op === 'moveMessage');
    expect(moves).toHaveLength(scenario === moveScenario ? 6 : 3); // one record per move
    for (let k = 0; k <= lines.length; k++) {
      for (const torn of k < lines.length ? [false, true] : [false]) {
        const cut = lines.slice(0, k).join('\n') + (k ? '\n' : '') + (torn ? lines[k].slice(0, Math.floor(lines[k].length / 2)) : '');
        const crashDir = tmpDir();
        fs.writeFileSync(path.join(crashDir, JOURNAL), cut);
        const state = new FileQueueStore(crashDir).load();
        expectNoneLostOrDuplicated(state, sentIn(lines.slice(0, k)));
      }
    }
    const end = whereIs(new FileQueueStore(dir).load());
    expect(Object.values(end).flat().filter((q) => q === 'src')).toHaveLength(final.src);
    expect(Object.values(end).flat().filter((q) => q === 'dlq')).toHaveLength(final.dlq);
  });

  it.each([
    ['redrive to the DLQ', redriveScenario],
    ['a message move task', moveScenario],
  ] as const)('%s: a store that dies after k writes, for every k, reopens with each message in exactly one queue', async (_name, scenario) => {
    // How many writes the whole scenario makes.
    const probeDir = tmpDir();
    const probe = engineWith(undefined, new FileQueueStore(probeDir));
    await scenario(probe);
    probe.close();
    const total = fs.readFileSync(path.join(probeDir, JOURNAL), 'utf8').split('\n').filter(Boolean).length;
    for (let k = 0; k <= total; k++) {
      const dir = tmpDir();
      const engine = engineWith(undefined, new CrashingStore(new FileQueueStore(dir), k));
      await scenario(engine).catch(() => undefined);
      engine.close();
      const lines = fs.readFileSync(path.join(dir, JOURNAL), 'utf8').split('\n').filter(Boolean);
      expectNoneLostOrDuplicated(new FileQueueStore(dir).load(), sentIn(lines));
    }
  });
});

describe('a duplicate made by a receive is not part of that receive', () => {
  it('a copy due at once (random 0) arrives with the next receive, not twice in the same response', async () => {
    const f = scripted({ 'sqs.duplicate': [true] }, { 'sqs.duplicate': [0] });
    const engine = engineWith(f.faults);
    engine.createQueue('q', { VisibilityTimeout: '600' });
    const [id] = sendAll(engine, 'q', ['once']);
    expect((await engine.receiveMessage('q', { maxNumberOfMessages: 10 })).map((m) => m.messageId)).toEqual([id]);
    expect((await engine.receiveMessage('q', { maxNumberOfMessages: 10 })).map((m) => m.messageId)).toEqual([id]);
    engine.close();
  });
});
