/**
 * The fault plan: parsed from JSON or YAML with errors that name the field, rules matched first-wins, decisions
 * reproducible from the seed (same calls, same faults, same counts) and at the rate asked.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaultInjector, InjectedFault, parseFaultPlan, readFaultPlan } from '../../local/faults/fault-plan';
import { FAULT_KINDS, FaultKind } from '../../local/faults/faults';

const KINDS = Object.keys(FAULT_KINDS) as FaultKind[];

/** A fixed sequence of calls, as a deterministic driver would make them. */
function drive(injector: FaultInjector, calls = 2000): boolean[] {
  const decisions: boolean[] = [];
  for (let i = 0; i < calls; i++) decisions.push(injector.inject(KINDS[i % KINDS.length], `target-${i % 3}`));
  return decisions;
}

test('the same seed and the same calls give the same faults and the same counts; another seed, other faults', () => {
  const plan = parseFaultPlan({ seed: 42, rate: 0.1 });
  const a = new FaultInjector(plan);
  const b = new FaultInjector(plan);
  expect(drive(a)).toEqual(drive(b));
  expect(a.counts()).toEqual(b.counts());
  const other = new FaultInjector(parseFaultPlan({ seed: 43, rate: 0.1 }));
  expect(drive(other)).not.toEqual(drive(new FaultInjector(plan)));
});

test('decisions land at the rate asked, per kind', () => {
  const injector = new FaultInjector(parseFaultPlan({ seed: 'rate', rate: 0.1 }));
  const n = 20_000;
  for (let i = 0; i < n; i++) injector.inject('sqs.duplicate', `q${i % 7}`);
  const injected = injector.counts().byKind['sqs.duplicate'] ?? 0;
  expect(injected / n).toBeGreaterThan(0.09);
  expect(injected / n).toBeLessThan(0.11);
  expect(injector.counts().calls['sqs.duplicate']).toBe(n);
});

test('a kind on one target does not change the faults another target gets', () => {
  const plan = parseFaultPlan({ seed: 7, rate: 0.3 });
  const alone = new FaultInjector(plan);
  const mixed = new FaultInjector(plan);
  const aloneDecisions: boolean[] = [];
  const mixedDecisions: boolean[] = [];
  for (let i = 0; i < 500; i++) {
    aloneDecisions.push(alone.inject('lambda.error', 'A'));
    mixed.inject('lambda.error', 'B');
    mixed.inject('dynamodb.throttling', 'A');
    mixedDecisions.push(mixed.inject('lambda.error', 'A'));
  }
  expect(mixedDecisions).toEqual(aloneDecisions);
});

test('the first matching rule decides: kind globs, target globs, operations; the default rate covers the rest', () => {
  const seen: InjectedFault[] = [];
  const injector = new FaultInjector(
    parseFaultPlan({
      seed: 1,
      rate: 0,
      rules: [
        { kind: 'lambda.*', target: 'Inventory*', rate: 1, afterAwsCalls: 2 },
        { kind: 'dynamodb.throttling', operation: 'TransactWriteItems', rate: 1 },
        { kind: '*', target: 'Never', rate: 0 },
      ],
    }),
    (fault) => seen.push(fault),
  );
  expect(injector.inject('lambda.crash', 'InventoryConsumer')).toBe(true);
  expect(injector.parameter('lambda.crash', 'InventoryConsumer', 'afterAwsCalls')).toBe(2);
  expect(injector.inject('lambda.crash', 'NotificationConsumer')).toBe(false);
  expect(injector.inject('dynamodb.throttling', 'orders', 'TransactWriteItems')).toBe(true);
  expect(injector.inject('dynamodb.throttling', 'orders', 'GetItem')).toBe(false);
  expect(injector.inject('sqs.duplicate', 'Never')).toBe(false);
  expect(seen).toEqual([
    { kind: 'lambda.crash', target: 'InventoryConsumer', operation: undefined, n: 1 },
    { kind: 'dynamodb.throttling', target: 'orders', operation: 'TransactWriteItems', n: 1 },
  ]);
  expect(injector.counts()).toMatchObject({ total: 2, byKind: { 'lambda.crash': 1, 'dynamodb.throttling': 1 }, byTarget: { 'lambda.crash InventoryConsumer': 1, 'dynamodb.throttling orders': 1 } });
});

test('a plan file may be JSON or YAML; a wrong field is named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fault-plan-'));
  try {
    fs.writeFileSync(path.join(dir, 'plan.yaml'), 'seed: 9\nrules:\n  - kind: sqs.duplicate\n    rate: 0.5\n');
    fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify({ seed: 9, rules: [{ kind: 'sqs.duplicate', rate: 0.5 }] }));
    expect(readFaultPlan(path.join(dir, 'plan.yaml'))).toEqual(readFaultPlan(path.join(dir, 'plan.json')));
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'rules:\n  - kind: sqs.dupe\n    rate: 0.5\n');
    expect(() => readFaultPlan(path.join(dir, 'bad.yaml'))).toThrow(/rules\.0\.kind: matches no fault kind/);
    fs.writeFileSync(path.join(dir, 'rate.json'), '{"rate": 2}');
    expect(() => readFaultPlan(path.join(dir, 'rate.json'))).toThrow(/rate:/);
    fs.writeFileSync(path.join(dir, 'typo.json'), '{"sede": 2}');
    expect(() => readFaultPlan(path.join(dir, 'typo.json'))).toThrow(/sede/);
    expect(() => readFaultPlan(path.join(dir, 'missing.json'))).toThrow(/--faults .*missing\.json/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
