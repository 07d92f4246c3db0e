/**
 * The cost section reads the runtime's logs as they are written: the function log (`<function> | <line>`, Lambda's
 * JSON platform records among the function's own lines) and the live log (LiveLog's event and consume lines).
 */
import { LiveLog } from '../../local/live-log';
import { memoryOf, usageIn } from '../../bench/cost';

const report = (billedDurationMs: number) => JSON.stringify({ time: '2026-12-01T00:00:00.000Z', type: 'platform.report', record: { requestId: 'r', metrics: { durationMs: billedDurationMs - 0.5, billedDurationMs, memorySizeMB: 512, maxMemoryUsedMB: 90 }, status: 'success' } });

test('per function: invocations from platform.report lines, billed GB-seconds at its MemorySize, every line with 26 bytes of event overhead', () => {
  const lines = [
    `Api | {"time":"2026-12-01T00:00:00.000Z","type":"platform.start","record":{"requestId":"r"}}`,
    'Api | {"level":"INFO","message":"order placed","orderId":"ord_1"}',
    `Api | ${report(100)}`,
    `Api | ${report(300)}`,
    `Relay | ${report(1000)}`,
  ];
  const usage = usageIn(lines.join('\n') + '\n', '', { Api: 512, Relay: 256 });
  expect(usage.byFunction.Api!.invocations).toBe(2);
  expect(usage.byFunction.Api!.gbSeconds).toBeCloseTo(0.4 * 0.5, 10);
  expect(usage.byFunction.Relay).toMatchObject({ invocations: 1, gbSeconds: 0.25 });
  const apiBytes = lines.slice(0, 4).reduce((sum, l) => sum + Buffer.byteLength(l.slice('Api | '.length)) + 26, 0);
  expect(usage.byFunction.Api!.logBytes).toBe(apiBytes);
});

test("the bus's events and deliveries, and the event sources' batches, from the live log LiveLog writes", () => {
  const written: string[] = [];
  const live = new LiveLog((line) => written.push(line));
  live.event({ 'detail-type': 'OrderPlaced', detail: { orderId: 'ord_1' } }, ['inventoryRule']);
  live.event({ 'detail-type': 'InventoryReserved', detail: { orderId: 'ord_1' } }, ['notificationRule', 'auditRule']);
  live.event({ 'detail-type': 'Stray', detail: {} }, []);
  live.batch({ functionName: 'inventoryFn', queueName: 'inventoryQueue', messageIds: ['m1', 'm2'], failedMessageIds: [], outcome: 'ok' } as never);
  const usage = usageIn('', written.join('\n'), {});
  expect(usage).toMatchObject({ eventLines: 2, deliveries: 3, batches: 1 });
});

test("memoryOf: each function's MemorySize by logical id, Lambda's 128 MB when the template sets none", () => {
  const template = {
    Resources: {
      Api: { Type: 'AWS::Lambda::Function', Properties: { MemorySize: 512 } },
      Bare: { Type: 'AWS::Lambda::Function', Properties: {} },
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
    },
  };
  expect(memoryOf(template)).toEqual({ Api: 512, Bare: 128 });
});
