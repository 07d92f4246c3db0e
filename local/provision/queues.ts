/** AWS::SQS::Queue -> queues in the queue engine; a queue kept in the data directory gets the template's attributes again. */
import { Provisioning } from './context';

const ATTRIBUTES = ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'MaximumMessageSize', 'SqsManagedSseEnabled', 'KmsMasterKeyId'];
/** FIFO queues: FifoQueue is given at creation only (it cannot change), the others on every start. */
const FIFO_ATTRIBUTES = ['ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'];

export function provisionQueues(p: Provisioning): void {
  const queues = p.engines.queues;
  // Dead-letter queues first, so redrive policies name existing queues.
  const withRedriveLast = p.resources('AWS::SQS::Queue').sort(([, a], [, b]) => Number(Boolean(p.properties(a).RedrivePolicy)) - Number(Boolean(p.properties(b).RedrivePolicy)));
  for (const [id, r] of withRedriveLast) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    const attributes: Record<string, string> = {};
    for (const key of ATTRIBUTES) if (props[key] !== undefined) attributes[key] = String(props[key]);
    const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
    if (fifo) for (const key of FIFO_ATTRIBUTES) if (props[key] !== undefined) attributes[key] = String(props[key]);
    if (props.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(props.RedrivePolicy);
    if (props.RedriveAllowPolicy) attributes.RedriveAllowPolicy = JSON.stringify(props.RedriveAllowPolicy);
    const name = p.name(id);
    if (queues.hasQueue(name)) queues.setQueueAttributes(name, attributes);
    else queues.createQueue(name, fifo ? { ...attributes, FifoQueue: 'true' } : attributes);
  }
}
