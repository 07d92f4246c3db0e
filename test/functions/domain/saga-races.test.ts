/**
 * The five races a hostile review found in the saga, each forced deterministically on the real adapters and engine:
 * a step is paused between two AWS calls or dies after its k-th call, the rest of the world goes on, then
 * redeliveries, client retries and sweeps run until nothing moves. Every schedule of each family is tried; the
 * test lists each schedule that breaks a promise (stock conserved, state and stock agreeing, every owed event out).
 */
import { Crash, Scheduler } from '../../support/interleaving';
import { PAYMENT_WINDOW_SECONDS, SagaSystem } from '../../support/saga-system';
import { useLocalTables } from './fixtures';

const tables = useLocalTables();

/** The calls a step may make at most, for the pause and crash points explored. */
const MAX_CALLS = 7;

async function broken(label: string, system: SagaSystem, into: string[]): Promise<void> {
  const violations = await system.violations();
  if (violations.length) into.push(`${label}: ${violations.join('; ')}`);
}

/** A consumer step that failed (not a planned crash) is redelivered by its queue until it succeeds. */
async function redeliverUntilDone(scheduler: Scheduler, name: string, step: Parameters<Scheduler['runFree']>[0]): Promise<void> {
  const error = scheduler.errorOf(name);
  if (error !== undefined) await scheduler.runFree(step);
}

jest.setTimeout(120_000);

test('case 1: two concurrent runs of one OrderPlaced never oversell', async () => {
  const failures: string[] = [];
  // A pause point past the calls a run makes repeats an earlier schedule: the loops stop there.
  outer: for (let a = 0; a <= MAX_CALLS; a++) {
    for (let b = 0; b <= MAX_CALLS; b++) {
      for (const order of ['fifo', 'lifo'] as const) {
        const system = new SagaSystem(tables());
        const scheduler = new Scheduler();
        const [x, y] = [system.sku('x'), system.sku('y')];
        await system.stock(x, 1);
        await system.stock(y, 0);
        const orderId = await system.place([{ sku: x, quantity: 1 }, { sku: y, quantity: 1 }]);

        await scheduler.start('A', system.reserve(orderId));
        await scheduler.advance('A', a);
        if (scheduler.callsOf('A') < a) break outer;
        await scheduler.start('B', system.reserve(orderId));
        await scheduler.advance('B', b);
        if (scheduler.callsOf('B') < b) continue outer;
        await scheduler.advance('A');
        await scheduler.run('restock', system.restock(y, 1));
        await scheduler.advance('B');
        await system.settle(scheduler, order);
        if ((await system.orderStatus(orderId)) === 'RESERVED') {
          await scheduler.run('pay', system.pay(orderId));
          await system.settle(scheduler, order);
        }
        await broken(`A paused after ${a} calls, B after ${b}, delivery ${order}`, system, failures);
      }
    }
  }
  expect(failures).toEqual([]);
});

test('case 2: a cancel racing a reservation that then crashes leaks no hold', async () => {
  const failures: string[] = [];
  for (let crashAfter = 0; crashAfter <= MAX_CALLS; crashAfter++) {
    for (let before = 0; before <= crashAfter; before++) {
      const system = new SagaSystem(tables());
      const scheduler = new Scheduler();
      const [x, y] = [system.sku('x'), system.sku('y')];
      await system.stock(x, 1);
      await system.stock(y, 5);
      const orderId = await system.place([{ sku: x, quantity: 1 }, { sku: y, quantity: 1 }]);

      await scheduler.start('A', system.reserve(orderId), { crashAfter });
      await scheduler.advance('A', before);
      if (scheduler.callsOf('A') < before) break;
      await scheduler.run('cancel', system.cancel(orderId));
      await scheduler.run('deliver', system.deliver());
      await scheduler.advance('A');
      // Its message was never deleted: the queue delivers OrderPlaced again.
      if (scheduler.errorOf('A') instanceof Crash) await scheduler.runFree(system.reserve(orderId));
      await system.settle(scheduler);
      await broken(`reservation crashed after ${crashAfter} calls, cancel after its call ${before}`, system, failures);
    }
  }
  expect(failures).toEqual([]);
});

describe('case 3: a crash between a status write and its event loses no event', () => {
  async function reservedOrder(system: SagaSystem, scheduler: Scheduler): Promise<string> {
    const sku = system.sku('s');
    await system.stock(sku, 3);
    const orderId = await system.place([{ sku, quantity: 2 }]);
    await scheduler.runFree(system.deliver());
    expect(await system.orderStatus(orderId)).toBe('RESERVED');
    return orderId;
  }

  test.each([
    ['cancel', (s: SagaSystem, id: string) => s.cancel(id)],
    ['payment', (s: SagaSystem, id: string) => s.pay(id)],
  ])('%s: the function dies after its k-th AWS call, the client retries', async (_name, step) => {
    const failures: string[] = [];
    for (let crashAfter = 0; crashAfter <= MAX_CALLS; crashAfter++) {
      const system = new SagaSystem(tables());
      const scheduler = new Scheduler();
      const orderId = await reservedOrder(system, scheduler);
      await scheduler.run('first', step(system, orderId), { crashAfter });
      const crashed = scheduler.errorOf('first') instanceof Crash;
      // The client saw a timeout (or a 5xx) and sends the same request again; whatever it answers is fine here.
      await scheduler.run('retry', step(system, orderId));
      await system.settle(scheduler);
      await broken(`died after ${crashAfter} calls`, system, failures);
      if (!crashed) break; // it finished before its k-th call: larger k repeat this schedule
    }
    expect(failures).toEqual([]);
  });
});

test('case 4: a duplicate OrderPlaced resuming after payment never reserves again', async () => {
  const failures: string[] = [];
  for (let paused = 0; paused <= MAX_CALLS; paused++) {
    const system = new SagaSystem(tables());
    const scheduler = new Scheduler();
    const [x, y] = [system.sku('x'), system.sku('y')];
    await system.stock(x, 2);
    await system.stock(y, 2);
    const orderId = await system.place([{ sku: x, quantity: 1 }, { sku: y, quantity: 1 }]);

    await scheduler.start('duplicate', system.reserve(orderId));
    await scheduler.advance('duplicate', paused);
    if (scheduler.callsOf('duplicate') < paused) break;
    await scheduler.runFree(system.deliver());
    await scheduler.runFree(system.pay(orderId));
    await scheduler.runFree(system.deliver());
    await scheduler.advance('duplicate');
    await redeliverUntilDone(scheduler, 'duplicate', system.reserve(orderId));
    await system.settle(scheduler);
    await broken(`duplicate paused after ${paused} calls`, system, failures);
  }
  expect(failures).toEqual([]);
});

test("case 5: the sweep's payment-timeout cancel loses no OrderCancelled", async () => {
  const failures: string[] = [];
  for (let crashAfter = 0; crashAfter <= MAX_CALLS; crashAfter++) {
    const system = new SagaSystem(tables());
    const scheduler = new Scheduler();
    const sku = system.sku('s');
    await system.stock(sku, 3);
    const orderId = await system.place([{ sku, quantity: 2 }]);
    await scheduler.runFree(system.deliver());
    system.clock.advance((PAYMENT_WINDOW_SECONDS + 1) * 1000);

    await scheduler.run('expire', system.expire(orderId), { crashAfter });
    const crashed = scheduler.errorOf('expire') instanceof Crash;
    // The state machine's retries are exhausted or the execution died: the next sweep run is what is left.
    await system.settle(scheduler);
    await broken(`expiry died after ${crashAfter} calls`, system, failures);
    if (!crashed) break;
  }
  expect(failures).toEqual([]);
});
