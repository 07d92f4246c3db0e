/**
 * The saga as a set of steps on the real adapters and a real DynamoDB engine (DynamoDB Local), each step an actor
 * of a Scheduler (test/support/interleaving.ts): the inventory consumer, the API's write routes, the sweep's tasks,
 * an operator's restock, and the delivery of what happened: the event relay reading the orders table's real stream
 * and publishing, then the consumers receiving what was published. Tests force an interleaving, let everything
 * settle (deliveries, redeliveries, sweeps), and check the invariants the product promises.
 */
import { DynamoDBStreamsClient, DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, _Record } from '@aws-sdk/client-dynamodb-streams';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { TableNotifier } from '../../functions/adapters/notifiers';
import { NOTIFICATIONS_TABLE } from '../../functions/adapters/table-schema';
import { notificationFor } from '../../functions/domain/notifications';
import type { DynamoDBRecord } from 'aws-lambda';
import { DynamoDbOrderRepository } from '../../functions/adapters/dynamodb-order-repository';
import { TransactionRetry } from '../../functions/adapters/transactions';
import { DynamoDbStockRepository } from '../../functions/adapters/dynamodb-stock-repository';
import { Caller } from '../../functions/domain/caller';
import { EventType, PipelineEvent } from '../../functions/domain/events';
import { adjustStock, getStock, handleInventoryEvent, setStock } from '../../functions/domain/inventory';
import { PreconditionError } from '../../functions/domain/errors';
import { CONSUMERS, ConsumerName } from '../../lib/config';
import { CostMeter } from './cost-meter';
import { canTransition, OrderLine, OrderStatus } from '../../functions/domain/order';
import { cancelOrder, confirmPayment, placeOrder } from '../../functions/domain/orders';
import { EventPublisher, StoredOrder } from '../../functions/domain/ports';
import { ChangeRecord, relayChanges } from '../../functions/domain/relay';
import { eventForStatus, eventsForChange, EVENT_FOR_STATUS, owesEvent } from '../../functions/domain/status-events';
import { expireReservation, findWork, republishOrFlag, SweepSettings } from '../../functions/domain/sweep';
import { changeRecord } from '../../functions/event-relay/handler';
import { LocalTables } from './local-tables';
import { Actor, gated, InjectedFaults, Scheduler } from './interleaving';
import { ManualClock } from './recording-publisher';

export const SWEEP: SweepSettings = { stalePendingAfterSeconds: 300, maxRepublishAttempts: 3, maxOrdersPerRun: 100 };
export const PAYMENT_WINDOW_SECONDS = 3600;
const caller: Caller = { kind: 'service', principal: 'saga-test' };

/** Who consumes what: the subscriptions the stack's rules are built from. */
const SUBSCRIPTIONS = Object.entries(CONSUMERS).map(([name, settings]) => ({ name: name as ConsumerName, accepts: settings.consumes as readonly EventType[] }));
const NOTIFYING: readonly EventType[] = CONSUMERS.notification.consumes;

/** Systems made so far in this process: each lives in its own week, earlier than the last (see the constructor). */
let systems = 0;
const ERA_START = Date.parse('2025-06-01T00:00:00.000Z');
/** Longer than any system's clock moves (a payment window and ten sweep rounds are hours). */
const ERA_LENGTH_MS = 7 * 24 * 3600 * 1000;
let seq = 0;

/**
 * The orders table's stream, read once for every system sharing the table: each record goes to the system that
 * owns its order, as Lambda's poller hands a shard's records to the relay.
 */
class StreamTap {
  private readonly owners = new Map<string, SagaSystem>();
  private iterators?: Map<string, string | undefined>;
  private readonly client: DynamoDBStreamsClient;
  private streamArn?: string;

  constructor(private readonly tables: LocalTables) {
    this.client = new DynamoDBStreamsClient({ endpoint: tables.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  }

  own(orderId: string, system: SagaSystem): void {
    this.owners.set(orderId, system);
  }

  /** Hands every record written since the last pull to its system. */
  async pull(): Promise<void> {
    if (!this.streamArn) {
      const { Table } = await this.tables.raw.send(new DescribeTableCommand({ TableName: this.tables.names.orders }));
      if (!Table?.LatestStreamArn) throw new Error('the orders table has no stream');
      this.streamArn = Table.LatestStreamArn;
    }
    const { StreamDescription } = await this.client.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    this.iterators ??= new Map();
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      let iterator = this.iterators.get(id);
      if (!this.iterators.has(id)) {
        ({ ShardIterator: iterator } = await this.client.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' })));
      }
      while (iterator) {
        const { Records = [], NextShardIterator } = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        for (const record of Records) this.route(record);
        this.iterators.set(id, NextShardIterator);
        if (!Records.length || !NextShardIterator) break;
        iterator = NextShardIterator;
      }
    }
  }

  private route(record: _Record): void {
    const keys = record.dynamodb?.Keys as Record<string, { S?: string }> | undefined;
    const orderId = keys?.orderId?.S;
    const owner = orderId ? this.owners.get(orderId) : undefined;
    owner?.observe(changeRecord(record as unknown as DynamoDBRecord));
  }
}

const taps = new WeakMap<LocalTables, StreamTap>();

export interface SystemOptions {
  /** Transaction retries of the order repository (contention injected by a test). */
  repository?: TransactionRetry;
  /** Faults every scheduled step's DynamoDB client injects (e.g. TransactionConflict on its first transactions). */
  faults?: InjectedFaults;
  /** Counts every AWS call, event, delivery and invocation, by function. */
  meter?: CostMeter;
}

/** The functions of the stack, as the meter names them. */
type Fn = 'api' | 'inventory' | 'notification' | 'event relay' | 'sweep';

export class SagaSystem {
  /** Everything published, in order: the bus as its consumers would see it. */
  readonly published: PipelineEvent[] = [];
  /** Stream records of this system's orders not yet relayed (the relay's position in the shard). */
  readonly streamed: ChangeRecord[] = [];
  readonly deadLettered: string[] = [];
  private readonly deliveredUpTo = new Map<string, number>();
  readonly clock: ManualClock;
  private readonly placed = new Map<string, StoredOrder>();
  private readonly stockBook = new Map<string, { initial: number; adjustments: number }>();
  private readonly adjustmentKeys = new Set<string>();
  /** What the API told clients an order now is: a confirmed payment or an accepted cancel is never undone, never both. */
  private readonly answered = new Map<string, OrderStatus[]>();
  /** The statuses each order entered, in stream order: its history as the table recorded it. */
  private readonly history = new Map<string, OrderStatus[]>();
  private readonly tap: StreamTap;

  constructor(
    private readonly tables: LocalTables,
    private readonly options: SystemOptions = {},
  ) {
    // Each system lives in its own week, earlier than the last: the sweep's "older than" queries never see the
    // orders of systems made before it in the same tables. Weeks back to year 0 keep ISO timestamps four-digit
    // (so they sort as strings) for a hundred thousand systems.
    this.clock = new ManualClock(new Date(ERA_START - systems++ * ERA_LENGTH_MS));
    let tap = taps.get(tables);
    if (!tap) taps.set(tables, (tap = new StreamTap(tables)));
    this.tap = tap;
  }

  sku(name: string): string {
    return `${name}-${++seq}`;
  }

  async stock(sku: string, available: number): Promise<void> {
    const result = await this.stockRepository().set(sku, available);
    if (result.outcome !== 'created') throw new Error(`sku ${sku} exists already`);
    this.stockBook.set(sku, { initial: available, adjustments: 0 });
  }

  /** Places an order through the API use case (not scheduled) and returns its id. */
  async place(items: OrderLine[]): Promise<string> {
    const { order } = await placeOrder(
      { caller, idempotencyKey: `key-${++seq}`, body: { customerId: 'c-saga', items }, correlationId: 'corr-saga' },
      { orders: this.orders(), events: this.recorder(), clock: this.clock },
    );
    this.placed.set(order.orderId, order);
    this.tap.own(order.orderId, this);
    return order.orderId;
  }

  /** The API's POST /orders as a step; a client retry sends the same key and body. */
  placeStep(items: OrderLine[], idempotencyKey: string) {
    return async (actor: Actor) => {
      this.apiRequest();
      const { order } = await placeOrder(
        { caller, idempotencyKey, body: { customerId: 'c-saga', items }, correlationId: 'corr-saga' },
        { orders: this.orders(actor, 'api'), events: this.recorder(actor, 'api'), clock: this.clock },
      );
      this.placed.set(order.orderId, order);
      this.tap.own(order.orderId, this);
      return order.orderId;
    };
  }

  /** The notification consumer handling one delivery of an event (the table channel: its conditional put). */
  notify(event: PipelineEvent) {
    return (actor: Actor) => new TableNotifier(this.client(actor, 'notification'), this.tables.names.notifications, () => this.clock.now()).send(notificationFor(event));
  }

  /** The notifications recorded for an order, by event type. */
  async notifications(orderId: string): Promise<string[]> {
    const { Items = [] } = await this.tables.client.send(
      new QueryCommand({ TableName: this.tables.names.notifications, KeyConditionExpression: '#pk = :o', ExpressionAttributeNames: { '#pk': NOTIFICATIONS_TABLE.partitionKey }, ExpressionAttributeValues: { ':o': orderId } }),
    );
    return Items.map((i) => String(i[NOTIFICATIONS_TABLE.sortKey]));
  }

  /** The OrderPlaced every delivery of this order's message carries (a duplicate, a redelivery, a re-publish). */
  orderPlaced(orderId: string): PipelineEvent {
    return eventForStatus(this.placed.get(orderId)!, this.clock.now())!;
  }

  // ---- steps: each is run as an actor ----

  /** The inventory consumer handling one delivery of OrderPlaced. */
  reserve(orderId: string) {
    return (actor: Actor) => handleInventoryEvent(this.orderPlaced(orderId), { orders: this.orders(actor, 'inventory'), clock: this.clock, paymentWindowSeconds: PAYMENT_WINDOW_SECONDS });
  }

  cancel(orderId: string) {
    return async (actor: Actor) => {
      this.apiRequest();
      const result = await cancelOrder(orderId, caller, this.orderDeps(actor, 'api'));
      this.answer(orderId, 'CANCELLED');
      return result;
    };
  }

  pay(orderId: string, paymentId = 'pay-1') {
    return async (actor: Actor) => {
      this.apiRequest();
      const result = await confirmPayment(orderId, { paymentId }, caller, this.orderDeps(actor, 'api'));
      this.answer(orderId, 'PAID');
      return result;
    };
  }

  /** The sweep's repair task for one RESERVED order past its deadline. */
  expire(orderId: string) {
    return (actor: Actor) => expireReservation(orderId, this.orderDeps(actor, 'sweep'));
  }

  /** An operator adds `delta` units with an adjustment (its own Idempotency-Key; a retry reuses it). */
  restock(sku: string, delta: number, idempotencyKey = `restock-${++seq}`) {
    return async (actor: Actor) => {
      this.apiRequest();
      await adjustStock({ caller, sku, idempotencyKey, body: { delta } }, { stock: this.stockRepository(actor, 'api'), clock: this.clock });
      // Booked once per key when the API answers: a first attempt that died after its write is booked by its retry.
      if (!this.adjustmentKeys.has(idempotencyKey)) {
        this.adjustmentKeys.add(idempotencyKey);
        this.stockBook.get(sku)!.adjustments += delta;
      }
    };
  }

  /**
   * An operator replaces the level with PUT and If-Match: read it, write `available` at that version; on 412 read
   * again: the write is done when the level shows it (PUT is absolute, so a retry of a write that went through
   * changes nothing). Booked as the adjustment it is, once: the target minus what was stocked (a SKU nothing else
   * writes meanwhile, as where it is used).
   */
  replaceStock(sku: string, available: number) {
    return async (actor: Actor) => {
      const stock = this.stockRepository(actor, 'api');
      for (;;) {
        this.apiRequest();
        const level = await getStock(sku, stock);
        if (level.available === available) break;
        try {
          await setStock(sku, { available }, level.version, stock);
          break;
        } catch (error) {
          if (!(error instanceof PreconditionError)) throw error;
        }
      }
      const book = this.stockBook.get(sku)!;
      if (!this.adjustmentKeys.has(`replace-${sku}-${available}`)) {
        this.adjustmentKeys.add(`replace-${sku}-${available}`);
        book.adjustments = available - book.initial;
      }
    };
  }

  /**
   * The relay publishes what the stream holds, then the bus delivers every event not yet delivered to each
   * consumer, once, until nothing is left; `lifo` delivers the newest first. A relay that dies leaves its records
   * to be read again (Lambda retries the batch); a consumer that fails is redelivered on the next round.
   */
  deliver(order: 'fifo' | 'lifo' = 'fifo') {
    return async (actor: Actor) => {
      for (;;) {
        const relayed = await this.relay(actor);
        const due = SUBSCRIPTIONS.flatMap((s) => {
          const from = this.deliveredUpTo.get(s.name) ?? 0;
          this.deliveredUpTo.set(s.name, this.published.length);
          return this.published.slice(from).filter((e) => s.accepts.includes(e.type)).map((event) => ({ consumer: s.name, event }));
        });
        if (!due.length && !relayed) return;
        if (order === 'lifo') due.reverse();
        for (const { consumer, event } of due) {
          // Each delivery: EventBridge sends it to the queue, Lambda's poller receives and deletes it (batches of one).
          this.options.meter?.count(`${consumer} queue: SendMessage, ReceiveMessage, DeleteMessage`, 3, 'SQS requests');
          this.options.meter?.count(`${consumer} function`, 1, 'invocations');
          if (consumer === 'inventory') {
            await handleInventoryEvent(event, { orders: this.orders(actor, 'inventory'), clock: this.clock, paymentWindowSeconds: PAYMENT_WINDOW_SECONDS });
          } else {
            await new TableNotifier(this.client(actor, 'notification'), this.tables.names.notifications, () => this.clock.now()).send(notificationFor(event));
          }
        }
      }
    };
  }

  /** Everything published and not yet delivered to this consumer ends in its DLQ (never delivered). */
  deadLetterUndelivered(consumer: ConsumerName): void {
    this.deliveredUpTo.set(consumer, this.published.length);
  }

  /** The event relay on this system's share of the stream: the records are dropped only once relayed. */
  async relay(actor: Actor): Promise<number> {
    await this.tap.pull();
    if (!this.streamed.length) return 0;
    const batch = [...this.streamed];
    // Lambda's filter drops records that owe no event before invoking (lib/event-relay.ts).
    if (batch.some((r) => eventsForChange(r.before, r.after, this.clock.now()).length)) this.options.meter?.count('event relay function', 1, 'invocations');
    const outcome = await relayChanges(batch, {
      events: this.recorder(actor, 'event relay'),
      clock: this.clock,
      deadLetter: async (record, reason) => void this.deadLettered.push(`${record.id}: ${reason}`),
    });
    const done = outcome.failedFrom === undefined ? batch.length : batch.findIndex((r) => r.id === outcome.failedFrom);
    this.streamed.splice(0, done);
    return done;
  }

  /** One sweep run: find the work after the clock moved on, repair each order. */
  sweep() {
    return async (actor: Actor) => {
      const deps = this.orderDeps(actor, 'sweep');
      const work = await findWork(SWEEP, deps);
      for (const { orderId } of work.republish) await republishOrFlag(orderId, SWEEP, deps);
      for (const { orderId } of work.expire) await expireReservation(orderId, deps);
      return work.republish.length + work.expire.length;
    };
  }

  /** What happens after any schedule: the stream is relayed, the bus delivers, the sweep runs every few minutes, until nothing moves. */
  async settle(scheduler: Scheduler, order: 'fifo' | 'lifo' = 'fifo'): Promise<void> {
    const free = (body: (actor: Actor) => Promise<unknown>) => scheduler.runFree(body);
    for (let round = 0; round < 10; round++) {
      await free(this.deliver(order));
      // Everything delivered has been acted on (delivery runs until nothing is left): what the sweep finds is new.
      const delivered = this.published.length;
      this.clock.advance((SWEEP.stalePendingAfterSeconds + 1) * 1000);
      const repaired = (await free(this.sweep())) as number;
      await free(this.deliver(order));
      if (repaired === 0 && this.published.length === delivered) return;
    }
  }

  async orderStatus(orderId: string): Promise<OrderStatus | undefined> {
    return (await this.orders().get(orderId))?.status;
  }

  /** A stream record of one of this system's orders: queued for the relay, and its status change kept as history. */
  observe(change: ChangeRecord): void {
    this.streamed.push(change);
    const { before, after } = change;
    if (after && before?.status !== after.status) {
      const entered = this.history.get(after.orderId) ?? [];
      entered.push(after.status);
      this.history.set(after.orderId, entered);
    }
  }

  /**
   * The promises, checked from outside: stock conserved per SKU (available + units of RESERVED orders + units of
   * PAID orders = initial + adjustments), never negative, `reserved` and `sold` equal to what RESERVED and PAID
   * orders hold; every order settled (NEEDS_ATTENTION only once its re-publishes are spent), its history on the
   * stream made of allowed moves only (so no order reserved twice, no payment or cancel undone); no answered payment
   * or cancel undone, never both; the events published for an order exactly those its history owes, and one
   * notification for each that notifies; nothing dead-lettered.
   */
  async violations(): Promise<string[]> {
    await this.tap.pull();
    const found: string[] = [...this.deadLettered.map((d) => `dead-lettered: ${d}`)];
    const orders = (await Promise.all([...this.placed.keys()].map((id) => this.orders().get(id)))) as StoredOrder[];
    const held = (status: OrderStatus, sku: string) =>
      orders.filter((o) => o.status === status).reduce((sum, o) => sum + (o.items.find((l) => l.sku === sku)?.quantity ?? 0), 0);
    for (const [sku, book] of this.stockBook) {
      const level = (await this.stockRepository().get(sku))!;
      const reserved = held('RESERVED', sku);
      const sold = held('PAID', sku);
      const expected = book.initial + book.adjustments;
      if (level.available < 0) found.push(`${sku}: available ${level.available} < 0`);
      if (level.available + reserved + sold !== expected) {
        found.push(`${sku}: available ${level.available} + held by RESERVED orders ${reserved} + sold to PAID orders ${sold} != ${expected} stocked`);
      }
      if (level.reserved !== reserved) found.push(`${sku}: reserved ${level.reserved} != ${reserved} held by RESERVED orders`);
      if (level.sold !== sold) found.push(`${sku}: sold ${level.sold} != ${sold} bought by PAID orders`);
    }
    for (const order of orders) {
      const id = order.orderId;
      if (order.status === 'PENDING') found.push(`${id}: still PENDING after everything settled`);
      if (order.status === 'NEEDS_ATTENTION' && (order.republishCount ?? 0) < SWEEP.maxRepublishAttempts) {
        found.push(`${id}: NEEDS_ATTENTION after ${order.republishCount ?? 0} of ${SWEEP.maxRepublishAttempts} re-publishes`);
      }
      const told = [...new Set(this.answered.get(id) ?? [])];
      if (told.length > 1) found.push(`${id}: the API answered both ${told.join(' and ')}`);
      else if (told.length && order.status !== told[0]) found.push(`${id}: the API answered ${told[0]}, the order is ${order.status}`);
      const entered = this.history.get(id) ?? [];
      const path = entered.join(' -> ');
      entered.forEach((status, i) => {
        const from = entered[i - 1];
        if (from === undefined ? status !== 'PENDING' : !canTransition(from, status)) found.push(`${id}: ${from ?? 'created'} -> ${status} is not an allowed move (${path})`);
      });
      if (entered.at(-1) !== order.status) found.push(`${id}: is ${order.status} but its stream history ends ${path || 'nowhere'}`);
      const owed = new Set<EventType>(entered.filter(owesEvent).map((status) => EVENT_FOR_STATUS[status]));
      const published = new Set(this.published.filter((e) => e.detail.orderId === id).map((e) => e.type));
      for (const type of owed) if (!published.has(type)) found.push(`${id}: ${path} but ${type} was never published`);
      for (const type of published) if (!owed.has(type)) found.push(`${id}: ${type} was published, but its history is ${path}`);
      const notifies = [...owed].filter((type) => NOTIFYING.includes(type)).sort();
      const sent = (await this.notifications(id)).sort();
      if (sent.join() !== notifies.join()) found.push(`${id}: notified ${JSON.stringify(sent)}, its history owes ${JSON.stringify(notifies)}`);
    }
    return found;
  }

  private answer(orderId: string, status: OrderStatus): void {
    this.answered.set(orderId, [...(this.answered.get(orderId) ?? []), status]);
  }

  // ---- wiring ----

  private orders(actor?: Actor, fn: Fn = 'api') {
    return new DynamoDbOrderRepository(this.client(actor, fn), this.tables.names.orders, this.tables.names.inventory, this.options.repository);
  }

  private stockRepository(actor?: Actor, fn: Fn = 'api') {
    return new DynamoDbStockRepository(this.client(actor, fn), this.tables.names.inventory, this.tables.names.idempotency);
  }

  private client(actor?: Actor, fn: Fn = 'api') {
    if (!actor) return this.tables.client;
    const client = gated(this.tables.client, actor, this.options.faults);
    return this.options.meter ? this.options.meter.wrap(client, fn) : client;
  }

  private recorder(actor?: Actor, fn: Fn = 'api'): EventPublisher {
    return {
      publish: async (events) => {
        const record = async () => {
          this.options.meter?.count(`${fn}: PutEvents entries`, events.length, 'events');
          this.published.push(...events);
        };
        await (actor ? actor.gate(record) : record());
      },
    };
  }

  private apiRequest(): void {
    this.options.meter?.count('HTTP API request', 1, 'HTTP requests');
    this.options.meter?.count('api function', 1, 'invocations');
  }

  private orderDeps(actor: Actor, fn: Fn) {
    return { orders: this.orders(actor, fn), events: this.recorder(actor, fn), clock: this.clock };
  }
}
