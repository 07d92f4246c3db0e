/**
 * Child process of the kill -9 case in event-bus.conformance.test.ts: a bus journaling to argv[2] whose target always
 * fails (throttled), so every delivery stays pending and being retried. It prints `acked <event id>` once PutEvents
 * answered, then waits to be killed.
 */
import { systemClock } from '../../local/clock';
import { EventBusEngine, TargetError } from '../../local/engines/event-bus';

const bus = new EventBusEngine({
  region: 'us-east-1',
  accountId: '123456789012',
  clock: systemClock(1),
  journalDirectory: process.argv[2],
  deliver: async () => {
    throw new TargetError('THROTTLING', 'Rate exceeded');
  },
  deadLetter: async () => undefined,
  random: () => 1,
});
bus.addRule({
  name: 'orders',
  arn: 'arn:aws:events:us-east-1:123456789012:rule/orders',
  eventBusName: 'default',
  eventPattern: { source: ['shop.orders'] },
  state: 'ENABLED',
  targets: [{ id: 'queue', arn: 'arn:aws:sqs:us-east-1:123456789012:orders-target', deadLetterArn: 'arn:aws:sqs:us-east-1:123456789012:orders-dlq' }],
});
for (let n = 1; n <= 5; n++) {
  const { Entries } = bus.putEvents([{ Source: 'shop.orders', DetailType: 'OrderPlaced', Detail: JSON.stringify({ n }) }]);
  process.stdout.write(`acked ${(Entries[0] as { EventId: string }).EventId}\n`);
}
setInterval(() => undefined, 60_000);
