/**
 * Every step of the saga dies after each of its AWS calls in turn (the k-th call took effect, then the function
 * was gone), and also meets DynamoDB's TransactionConflict on its transactions; then what AWS does next happens
 * (the queue redelivers, the client retries, the sweep runs) and everything settles. Afterwards stock is conserved
 * exactly, order state and stock agree, every event a status change owes was published, and nothing happened twice.
 */
import { Crash, Scheduler } from '../../support/interleaving';
import { PAYMENT_WINDOW_SECONDS, SagaSystem, SWEEP, SystemOptions } from '../../support/saga-system';
import { useLocalTables } from './fixtures';

const tables = useLocalTables();

/** More than any step makes: the last crash points find the step already finished (nothing to crash). */
const MAX_CALLS = 6;

type Body = Parameters<Scheduler['runFree']>[0];

interface CrashCase {
  /** The step, and the state it starts from. */
  prepare(system: SagaSystem, scheduler: Scheduler): Promise<{ step: Body; recover: Body; check?: () => Promise<string[]> }>;
}

async function reservedOrder(system: SagaSystem, scheduler: Scheduler, quantity = 2): Promise<{ orderId: string; sku: string }> {
  const sku = system.sku('s');
  await system.stock(sku, 3);
  const orderId = await system.place([{ sku, quantity }]);
  await scheduler.runFree(system.deliver());
  expect(await system.orderStatus(orderId)).toBe('RESERVED');
  return { orderId, sku };
}

const CASES: Record<string, CrashCase> = {
  'inventory consumer: OrderPlaced that reserves': {
    async prepare(system) {
      const [a, b] = [system.sku('a'), system.sku('b')];
      await system.stock(a, 3);
      await system.stock(b, 3);
      const orderId = await system.place([{ sku: a, quantity: 2 }, { sku: b, quantity: 3 }]);
      return { step: system.reserve(orderId), recover: system.reserve(orderId) };
    },
  },
  'inventory consumer: OrderPlaced that is rejected': {
    async prepare(system) {
      const [a, b] = [system.sku('a'), system.sku('b')];
      await system.stock(a, 3);
      await system.stock(b, 1);
      const orderId = await system.place([{ sku: a, quantity: 2 }, { sku: b, quantity: 3 }]);
      return { step: system.reserve(orderId), recover: system.reserve(orderId) };
    },
  },
  'inventory consumer: OrderPlaced for an unknown SKU': {
    async prepare(system) {
      const orderId = await system.place([{ sku: system.sku('nowhere'), quantity: 1 }]);
      return { step: system.reserve(orderId), recover: system.reserve(orderId) };
    },
  },
  'event relay: the stream to the bus': {
    async prepare(system, scheduler) {
      const { orderId } = await reservedOrder(system, scheduler);
      await scheduler.runFree(system.pay(orderId));
      return { step: (actor) => system.relay(actor), recover: (actor) => system.relay(actor) };
    },
  },
  'notification consumer: one notice per event': {
    async prepare(system, scheduler) {
      const { orderId } = await reservedOrder(system, scheduler);
      const event = system.published.find((e) => e.type === 'InventoryReserved' && e.detail.orderId === orderId)!;
      return {
        step: system.notify(event),
        recover: system.notify(event),
        check: async () => {
          const sent = await system.notifications(orderId);
          return sent.length === 1 && sent[0] === 'InventoryReserved' ? [] : [`notifications for ${orderId}: ${JSON.stringify(sent)}, expected exactly one InventoryReserved`];
        },
      };
    },
  },
  'POST /orders': {
    async prepare(system) {
      const sku = system.sku('s');
      await system.stock(sku, 5);
      const place = system.placeStep([{ sku, quantity: 2 }], `key-${sku}`);
      return { step: place, recover: place };
    },
  },
  'POST /orders/{orderId}/cancel of a RESERVED order': {
    async prepare(system, scheduler) {
      const { orderId } = await reservedOrder(system, scheduler);
      return { step: system.cancel(orderId), recover: system.cancel(orderId) };
    },
  },
  'POST /orders/{orderId}/cancel of a PENDING order': {
    async prepare(system) {
      const sku = system.sku('s');
      await system.stock(sku, 5);
      const orderId = await system.place([{ sku, quantity: 2 }]);
      return { step: system.cancel(orderId), recover: system.cancel(orderId) };
    },
  },
  'POST /orders/{orderId}/payment': {
    async prepare(system, scheduler) {
      const { orderId } = await reservedOrder(system, scheduler);
      return { step: system.pay(orderId), recover: system.pay(orderId) };
    },
  },
  'POST /inventory/{sku}/adjustments': {
    async prepare(system) {
      const sku = system.sku('s');
      await system.stock(sku, 5);
      const restock = system.restock(sku, 7, `adjust-${sku}`);
      return { step: restock, recover: restock };
    },
  },
  'PUT /inventory/{sku} with If-Match': {
    async prepare(system) {
      const sku = system.sku('s');
      await system.stock(sku, 5);
      const replace = system.replaceStock(sku, 12);
      return { step: replace, recover: replace };
    },
  },
  'sweep repair task: expire an unpaid reservation': {
    async prepare(system, scheduler) {
      const { orderId } = await reservedOrder(system, scheduler);
      system.clock.advance((PAYMENT_WINDOW_SECONDS + 1) * 1000);
      // The state machine retries the task; after its retries the next sweep run finds whatever is left.
      return { step: system.expire(orderId), recover: system.expire(orderId) };
    },
  },
  'sweep repair task: re-publish a stuck PENDING order': {
    async prepare(system, scheduler) {
      const sku = system.sku('s');
      await system.stock(sku, 5);
      // Its OrderPlaced was relayed, then dead-lettered by the inventory queue: only the sweep can help now.
      const orderId = await system.place([{ sku, quantity: 2 }]);
      await scheduler.runFree((actor) => system.relay(actor));
      system.deadLetterUndelivered('inventory');
      expect(await system.orderStatus(orderId)).toBe('PENDING');
      system.clock.advance((SWEEP.stalePendingAfterSeconds + 1) * 1000);
      return { step: system.sweep(), recover: system.sweep() };
    },
  },
};

const explored: Record<string, { points: number; violations: number }> = {};

afterAll(() => {
  const lines = Object.entries(explored).map(([name, { points, violations }]) => `  ${name}: ${points} crash points, ${violations} violations`);
  const total = Object.values(explored).reduce((sum, e) => sum + e.points, 0);
  process.stdout.write(`crash points explored: ${total} over ${Object.keys(explored).length} steps\n${lines.join('\n')}\n`);
});

jest.setTimeout(120_000);

describe.each([
  ['no contention', {}],
  ['each transaction first cancelled with TransactionConflict', { faults: { transactionConflicts: 1 }, repository: { backoffMs: 1 } }],
] as [string, SystemOptions][])('%s', (label, options) => {
  test.each(Object.keys(CASES))('%s: dies after each AWS call, then recovers', async (name) => {
    const failures: string[] = [];
    let points = 0;
    for (let crashAfter = 0; crashAfter <= MAX_CALLS; crashAfter++) {
      const system = new SagaSystem(tables(), options);
      const scheduler = new Scheduler();
      const { step, recover, check } = await CASES[name]!.prepare(system, scheduler);
      await scheduler.start('step', step, { crashAfter });
      await scheduler.advance('step');
      const crashed = scheduler.errorOf('step') instanceof Crash;
      if (crashed) points++;
      // Lambda's queue (or the client, or the state machine) runs it again; it may answer an error the client sees.
      await scheduler.run('again', recover);
      await system.settle(scheduler);
      const violations = [...(await system.violations()), ...((await check?.()) ?? [])];
      if (violations.length) failures.push(`died after ${crashAfter} calls: ${violations.join('; ')}`);
      if (!crashed) break;
    }
    explored[`${name} (${label})`] = { points, violations: failures.length };
    expect(failures).toEqual([]);
    expect(points).toBeGreaterThan(0);
  });
});
