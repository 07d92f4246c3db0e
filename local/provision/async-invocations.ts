/**
 * Asynchronous invocation of each function (what an EventBridge rule or Scheduler target with a Lambda ARN gets):
 * Lambda's internal queue with its retries, event age, DLQ (the function's DeadLetterConfig) and destinations
 * (AWS::Lambda::EventInvokeConfig), journaled in the data directory so a kill -9 loses no accepted event.
 */
import * as path from 'node:path';
import { LambdaAsyncInvoke } from '../engines/lambda-async-invoke';
import { Provisioning } from './context';

export function provisionAsyncInvocations(p: Provisioning): void {
  const { queues, asyncInvocations } = p.engines;
  const configs = new Map<string, Record<string, unknown>>();
  for (const [, r] of p.resources('AWS::Lambda::EventInvokeConfig')) {
    const props = p.resolve<Record<string, unknown>>(p.properties(r));
    configs.set(String(props.FunctionName), props);
  }
  /** An SQS destination (other kinds of destination are warned about and not run). */
  const toQueue = (arn: string | undefined, what: string) => {
    if (!arn) return undefined;
    const name = queues.queueNameFromArn(arn);
    if (!name) {
      p.warnings.push(`${what}: ${arn} is not a local SQS queue (not delivered locally)`);
      return undefined;
    }
    return (body: string, messageAttributes?: Record<string, { DataType: 'String' | 'Number'; StringValue: string }>) => void queues.sendMessage(name, { body, messageAttributes });
  };
  for (const [id, r] of p.resources('AWS::Lambda::Function')) {
    const name = p.name(id);
    const invoker = p.engines.invokers.get(name);
    if (!invoker) continue;
    const config = configs.get(name) ?? configs.get(p.arn(id)) ?? {};
    const destinations = (config.DestinationConfig ?? {}) as { OnFailure?: { Destination?: string }; OnSuccess?: { Destination?: string } };
    const dlq = toQueue(p.resolve<{ TargetArn?: string } | undefined>(p.properties(r).DeadLetterConfig)?.TargetArn, `function ${id} DeadLetterConfig`);
    const onFailure = toQueue(destinations.OnFailure?.Destination, `function ${id} on-failure destination`);
    const onSuccess = toQueue(destinations.OnSuccess?.Destination, `function ${id} on-success destination`);
    asyncInvocations.set(
      name,
      new LambdaAsyncInvoke({
        invoker,
        clock: p.clock,
        functionArn: p.arn(id),
        maximumRetryAttempts: config.MaximumRetryAttempts === undefined ? undefined : Number(config.MaximumRetryAttempts),
        maximumEventAgeInSeconds: config.MaximumEventAgeInSeconds === undefined ? undefined : Number(config.MaximumEventAgeInSeconds),
        onFailure: onFailure && ((record) => onFailure(JSON.stringify(record))),
        onSuccess: onSuccess && ((record) => onSuccess(JSON.stringify(record))),
        deadLetter: dlq && ((payload, attributes) => dlq(payload, attributes)),
        onDiscard: (info) => p.live.warn(`asynchronous invocation of ${name} discarded (${info.condition} after ${info.attempts} attempt(s))${info.error ? `: ${info.error}` : ''}`),
        journalDirectory: p.dataDir && path.join(p.dataDir, 'lambda', 'async', name),
      }),
    );
  }
  // Registered after the functions' stop, so it runs before it: retries stop waiting, running invocations finish.
  p.onStop(() => Promise.all([...asyncInvocations.values()].map((a) => a.stop())).then(() => undefined));
}
