/**
 * Delivery to a target ARN, as EventBridge rules and Scheduler schedules deliver: an SQS queue gets a message, a
 * Lambda function an asynchronous invocation, a state machine an execution. A missing target is an error the
 * caller turns into its own failure path (retry, dead-letter queue).
 */
import { Provisioning } from './context';

export async function deliverToTarget(p: Pick<Provisioning, 'engines' | 'invoker'>, arn: string, payload: string): Promise<void> {
  const service = arn.split(':')[2];
  if (service === 'sqs') {
    const queues = p.engines.queues;
    const name = queues.queueNameFromArn(arn);
    if (!name || !queues.hasQueue(name)) throw new Error(`NonExistentQueue: ${arn}`);
    queues.sendMessage(name, { body: payload, senderId: 'AIDAEVENTBRIDGE' });
    return;
  }
  if (service === 'lambda') {
    const fn = p.invoker(arn);
    if (!fn) throw new Error(`ResourceNotFoundException: ${arn}`);
    // Asynchronous invoke: accepted once queued; the function's own errors do not fail the delivery.
    void fn.invoke(JSON.parse(payload));
    return;
  }
  if (service === 'states') {
    const machine = p.engines.stateMachines.get(arn);
    if (!machine) throw new Error(`StateMachineDoesNotExist: ${arn}`);
    await machine.start(JSON.parse(payload));
    return;
  }
  throw new Error(`targets of service ${service} are not supported locally (${arn})`);
}
