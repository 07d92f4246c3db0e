/**
 * Delivery to a target ARN, as EventBridge rules and Scheduler schedules deliver: an SQS queue gets a message, a
 * Lambda function an asynchronous invocation, a state machine an execution. A missing target is an error the
 * caller turns into its own failure path (retry, dead-letter queue).
 */
import { TargetError } from '../engines/event-bus';
import { Provisioning } from './context';

export async function deliverToTarget(p: Pick<Provisioning, 'engines' | 'invoker'>, arn: string, payload: string): Promise<void> {
  const service = arn.split(':')[2];
  if (service === 'sqs') {
    const queues = p.engines.queues;
    const name = queues.queueNameFromArn(arn);
    if (!name || !queues.hasQueue(name)) throw TargetError.noResource(arn, `NonExistentQueue: ${arn}`);
    queues.sendMessage(name, { body: payload, senderId: 'AIDAEVENTBRIDGE' });
    return;
  }
  if (service === 'lambda') {
    const async = p.engines.asyncInvocations.get(arn.split(':')[6]);
    if (!async) throw TargetError.noResource(arn, `ResourceNotFoundException: Function not found: ${arn}`);
    let event: unknown;
    try {
      event = JSON.parse(payload);
    } catch {
      throw new TargetError('INVALID_JSON', `the input to ${arn} is not valid JSON`, false);
    }
    // Asynchronous invoke: accepted once queued (Lambda retries the function's errors itself); not a delivery failure.
    async.invokeAsync(event);
    return;
  }
  if (service === 'states') {
    const machine = p.engines.stateMachines.get(arn);
    if (!machine) throw TargetError.noResource(arn, `StateMachineDoesNotExist: ${arn}`);
    await machine.start(JSON.parse(payload));
    return;
  }
  throw new TargetError('INVALID_PARAMETER', `targets of service ${service} are not supported locally (${arn})`, false);
}
