/**
 * The local EventBridge archive and replay through the real @aws-sdk/client-eventbridge, case by case from
 * "Archiving and replaying events" (eb-archive.html), "Replaying archived events" (eb-replay-archived-event.html)
 * and the API reference (StartReplay, DescribeReplay, ListReplays, CancelReplay, ListArchives, DescribeArchive).
 * Time is a manual clock: events are put with a chosen `Time` and retention runs out by advancing it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  CancelReplayCommand,
  DescribeArchiveCommand,
  DescribeReplayCommand,
  EventBridgeClient,
  ListArchivesCommand,
  ListReplaysCommand,
  PutEventsCommand,
  StartReplayCommand,
} from '@aws-sdk/client-eventbridge';
import { AwsEndpoint } from '../../local/endpoint';
import { ArchiveSpec } from '../../local/engines/event-archive';
import { EventBusEngine, RuleSpec } from '../../local/engines/event-bus';
import { handleEventsRequest } from '../../local/engines/events-api';
import { FakeClock } from '../support/fake-clock';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const BUS = 'orders';
const BUS_ARN = `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/${BUS}`;
const ARCHIVE: ArchiveSpec = {
  name: 'orders-archive',
  arn: `arn:aws:events:${REGION}:${ACCOUNT}:archive/orders-archive`,
  bus: BUS,
  busArn: BUS_ARN,
  eventPattern: { source: ['shop.orders'] },
  retentionDays: 1,
  description: 'every order event',
};
const ruleArn = (name: string) => `arn:aws:events:${REGION}:${ACCOUNT}:rule/${BUS}/${name}`;
const rule = (name: string, eventPattern: Record<string, unknown>): RuleSpec => ({
  name,
  arn: ruleArn(name),
  eventBusName: BUS,
  eventPattern,
  state: 'ENABLED',
  targets: [{ id: 'q', arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}-queue` }],
});
/** Three rules: two by detail-type, one for every order event, and one for another source (never archived). */
const RULES = [
  rule('placed', { source: ['shop.orders'], 'detail-type': ['OrderPlaced'] }),
  rule('paid', { source: ['shop.orders'], 'detail-type': ['OrderPaid'] }),
  rule('all-orders', { source: ['shop.orders'] }),
  rule('payments', { source: ['shop.payments'] }),
];

let endpoint: AwsEndpoint;
let client: EventBridgeClient;
let current: ReturnType<typeof harness>;

/** A bus with the rules and the archive; every delivery recorded with the rule it was for. */
function harness(options: { archiveDirectory?: string } = {}) {
  const clock = new FakeClock({ start: START, scale: 1, auto: false, waitsScaled: true });
  const delivered: { rule: string; event: Record<string, unknown> }[] = [];
  const bus = new EventBusEngine({
    region: REGION,
    accountId: ACCOUNT,
    clock,
    archiveDirectory: options.archiveDirectory,
    deliver: async (_arn, payload, { ruleArn }) => void delivered.push({ rule: ruleArn.split('/').pop()!, event: JSON.parse(payload) }),
    deadLetter: async () => undefined,
  });
  bus.addBus(BUS);
  RULES.forEach((r) => bus.addRule(r));
  bus.addArchive(ARCHIVE);
  return { clock, bus, delivered };
}

/** Puts events of (source, detail-type) at a time `minutesAgo` before the clock's now; their ids. */
async function put(...entries: [source: string, type: string, minutesAgo: number][]) {
  const now = current.clock.now();
  const { Entries = [] } = await client.send(
    new PutEventsCommand({
      Entries: entries.map(([Source, DetailType, minutesAgo]) => ({ Source, DetailType, Detail: JSON.stringify({ orderId: `${DetailType}-${minutesAgo}` }), EventBusName: BUS, Time: new Date(now - minutesAgo * 60_000) })),
    }),
  );
  return Entries.map((e) => e.EventId!);
}

const minutesAgo = (m: number) => new Date(current.clock.now() - m * 60_000);

/** Starts a replay and waits for the bus to deliver it all. */
async function replay(ReplayName: string, from: number, to: number, FilterArns?: string[]) {
  const started = await client.send(new StartReplayCommand({ ReplayName, EventSourceArn: ARCHIVE.arn, EventStartTime: minutesAgo(from), EventEndTime: minutesAgo(to), Destination: { Arn: BUS_ARN, FilterArns } }));
  await current.bus.drain();
  return started;
}

/** What a replay delivered: `rule <- detail-type`, sorted. */
const replayed = (name: string) =>
  current.delivered
    .filter((d) => d.event['replay-name'] === name)
    .map((d) => `${d.rule} <- ${String(d.event['detail-type'])}`)
    .sort();

beforeAll(async () => {
  endpoint = new AwsEndpoint({
    sqs: () => ({ status: 400, body: {} }),
    events: (op, body) => handleEventsRequest(current.bus, op, body),
    stepFunctions: () => ({ status: 400, body: {} }),
    dynamodbEndpoint: 'http://127.0.0.1:9',
  });
  client = new EventBridgeClient({ endpoint: await endpoint.listen(0), region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

beforeEach(() => {
  current = harness();
});

afterAll(async () => {
  client.destroy();
  await endpoint.close();
});

describe('the archive keeps the events its pattern matches, for its retention', () => {
  it('ListArchives and DescribeArchive: the archive of the bus with its pattern, retention and the events it holds', async () => {
    await put(['shop.orders', 'OrderPlaced', 5], ['shop.orders', 'OrderPaid', 4], ['shop.payments', 'Refund', 3]);
    const { Archives = [] } = await client.send(new ListArchivesCommand({ EventSourceArn: BUS_ARN }));
    expect(Archives).toEqual([
      { ArchiveName: ARCHIVE.name, EventSourceArn: BUS_ARN, State: 'ENABLED', RetentionDays: 1, EventCount: 2, SizeBytes: expect.any(Number), CreationTime: new Date(START) },
    ]);
    const described = await client.send(new DescribeArchiveCommand({ ArchiveName: ARCHIVE.name }));
    expect(described).toMatchObject({ ArchiveArn: ARCHIVE.arn, EventPattern: JSON.stringify(ARCHIVE.eventPattern), Description: ARCHIVE.description, EventCount: 2 });
    expect((await client.send(new ListArchivesCommand({ NamePrefix: 'nope' }))).Archives).toEqual([]);
    await expect(client.send(new DescribeArchiveCommand({ ArchiveName: 'missing' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('RetentionDays: an event older than its retention is gone (from the count and from replays)', async () => {
    await put(['shop.orders', 'OrderPlaced', 1]);
    await current.clock.advance(23 * 3_600_000);
    await put(['shop.orders', 'OrderPaid', 1]);
    await current.clock.advance(2 * 3_600_000); // the first is now 25 hours old, the second 2
    expect((await client.send(new DescribeArchiveCommand({ ArchiveName: ARCHIVE.name }))).EventCount).toBe(1);
    await replay('after-retention', 26 * 60, 0);
    expect(replayed('after-retention')).toEqual(['all-orders <- OrderPaid', 'paid <- OrderPaid']);
  });

  it('with a data directory the archive survives a restart (events and CreationTime); a torn last line is skipped', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-'));
    try {
      current = harness({ archiveDirectory: dir });
      await put(['shop.orders', 'OrderPlaced', 2]);
      await current.bus.stop();
      fs.appendFileSync(path.join(dir, `${ARCHIVE.name}.jsonl`), '{"archivedAt": 1, "ev'); // a crash mid-write
      current = harness({ archiveDirectory: dir });
      await current.clock.advance(60_000);
      expect(await client.send(new DescribeArchiveCommand({ ArchiveName: ARCHIVE.name }))).toMatchObject({ EventCount: 1, CreationTime: new Date(START) });
      await replay('after-restart', 10, 0);
      expect(replayed('after-restart')).toEqual(['all-orders <- OrderPlaced', 'placed <- OrderPlaced']);
    } finally {
      await current.bus.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a replay re-sends the window to the rules that match, once each, with replay-name', () => {
  it('each archived event in [EventStartTime, EventEndTime) goes once to each matching rule, keeping its id, with replay-name set', async () => {
    const ids = await put(['shop.orders', 'OrderPlaced', 30], ['shop.orders', 'OrderPaid', 20], ['shop.orders', 'OrderPlaced', 10], ['shop.payments', 'Refund', 15]);
    current.delivered.length = 0;
    const started = await replay('incident-1', 25, 5);
    expect(started).toMatchObject({ ReplayArn: `arn:aws:events:${REGION}:${ACCOUNT}:replay/incident-1`, State: 'STARTING' });
    // The OrderPlaced of 30 minutes ago is before the window; the Refund matches no archive pattern: neither comes back.
    expect(replayed('incident-1')).toEqual(['all-orders <- OrderPaid', 'all-orders <- OrderPlaced', 'paid <- OrderPaid', 'placed <- OrderPlaced']);
    expect(current.delivered.every((d) => d.event['replay-name'] === 'incident-1')).toBe(true);
    expect(new Set(current.delivered.map((d) => d.event.id))).toEqual(new Set([ids[1], ids[2]]));

    const described = await client.send(new DescribeReplayCommand({ ReplayName: 'incident-1' }));
    expect(described).toMatchObject({ State: 'COMPLETED', EventSourceArn: ARCHIVE.arn, Destination: { Arn: BUS_ARN }, EventLastReplayedTime: minutesAgo(10) });
    expect(described.ReplayEndTime!.getTime()).toBeGreaterThanOrEqual(described.ReplayStartTime!.getTime());
    // Replayed events are never archived again.
    expect((await client.send(new DescribeArchiveCommand({ ArchiveName: ARCHIVE.name }))).EventCount).toBe(3);
  });

  it('the window is half-open: an event at EventEndTime is not replayed, one at EventStartTime is', async () => {
    await put(['shop.orders', 'OrderPlaced', 20], ['shop.orders', 'OrderPaid', 10]);
    await replay('edges', 20, 10);
    expect(replayed('edges')).toEqual(['all-orders <- OrderPlaced', 'placed <- OrderPlaced']);
  });

  it('Destination.FilterArns: only those rules get the replayed events', async () => {
    await put(['shop.orders', 'OrderPlaced', 10], ['shop.orders', 'OrderPaid', 9]);
    await replay('only-paid', 15, 0, [ruleArn('paid')]);
    expect(replayed('only-paid')).toEqual(['paid <- OrderPaid']);
  });

  it('CancelReplay before it runs: CANCELLED, nothing delivered; a finished replay cannot be cancelled (IllegalStatusException)', async () => {
    await put(['shop.orders', 'OrderPlaced', 10]);
    const start = (ReplayName: string) =>
      handleEventsRequest(current.bus, 'StartReplay', { ReplayName, EventSourceArn: ARCHIVE.arn, EventStartTime: minutesAgo(15).getTime() / 1000, EventEndTime: minutesAgo(0).getTime() / 1000, Destination: { Arn: BUS_ARN } });
    expect(start('to-cancel').status).toBe(200);
    expect(handleEventsRequest(current.bus, 'CancelReplay', { ReplayName: 'to-cancel' }).body).toMatchObject({ State: 'CANCELLING' });
    await current.bus.drain();
    expect(await client.send(new DescribeReplayCommand({ ReplayName: 'to-cancel' }))).toMatchObject({ State: 'CANCELLED' });
    expect(replayed('to-cancel')).toEqual([]);
    await expect(client.send(new CancelReplayCommand({ ReplayName: 'to-cancel' }))).rejects.toMatchObject({ name: 'IllegalStatusException' });
  });

  it('ListReplays: filters by State and NamePrefix, pages with Limit and NextToken', async () => {
    await put(['shop.orders', 'OrderPlaced', 10]);
    for (const name of ['r-1', 'r-2', 'r-3']) await replay(name, 15, 0);
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const answer = await client.send(new ListReplaysCommand({ NamePrefix: 'r-', State: 'COMPLETED', Limit: 2, NextToken }));
      expect(answer.Replays!.length).toBeLessThanOrEqual(2);
      names.push(...answer.Replays!.map((r) => r.ReplayName!));
      NextToken = answer.NextToken;
    } while (NextToken);
    expect(names).toEqual(['r-1', 'r-2', 'r-3']);
    expect((await client.send(new ListReplaysCommand({ State: 'RUNNING' }))).Replays).toEqual([]);
    await expect(client.send(new ListReplaysCommand({ NextToken: 'bogus' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('StartReplay refusals, named as AWS names them', async () => {
    const request = (over: Record<string, unknown> = {}) =>
      new StartReplayCommand({ ReplayName: 'bad', EventSourceArn: ARCHIVE.arn, EventStartTime: minutesAgo(10), EventEndTime: minutesAgo(5), Destination: { Arn: BUS_ARN }, ...over });
    await expect(client.send(request({ EventSourceArn: `${ARCHIVE.arn}-missing` }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(client.send(request({ EventStartTime: minutesAgo(5), EventEndTime: minutesAgo(10) }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('EventStartTime') });
    await expect(client.send(request({ EventEndTime: minutesAgo(-5) }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('future') });
    await expect(client.send(request({ Destination: { Arn: `arn:aws:events:${REGION}:${ACCOUNT}:event-bus/default` } }))).rejects.toMatchObject({ name: 'ValidationException', message: expect.stringContaining('Cross event bus') });
    await expect(client.send(request({ Destination: { Arn: BUS_ARN, FilterArns: [ruleArn('nope')] } }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(request({ ReplayName: 'has spaces' }))).rejects.toMatchObject({ name: 'ValidationException' });
    await client.send(request({ ReplayName: 'once' }));
    await expect(client.send(request({ ReplayName: 'once' }))).rejects.toMatchObject({ name: 'ResourceAlreadyExistsException' });
    await expect(client.send(new DescribeReplayCommand({ ReplayName: 'never' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await current.bus.drain();
  });
});
