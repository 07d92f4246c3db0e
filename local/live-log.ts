/** The runtime's concise live log: one line per request, event, batch and execution, with the order id when known. */
import type { SqsBatchInfo } from './engines/sqs-event-source';
import type { StreamBatchInfo } from './engines/dynamodb-stream-event-source';
import type { Execution } from './engines/state-machines';
import type { InjectedFault } from './faults/fault-plan';
import type { DeliveryFailure } from './engines/event-bus';

const time = () => new Date().toISOString().slice(11, 23);

function orderIdOf(event: Record<string, unknown>): string {
  const detail = event.detail as { orderId?: string } | undefined;
  return detail?.orderId ? ` order=${detail.orderId}` : '';
}

export class LiveLog {
  constructor(private readonly write: (line: string) => void) {}

  private line(kind: string, text: string): void {
    this.write(`${time()} ${kind.padEnd(8)} ${text}`);
  }

  ready(info: { httpApi: string; aws: string; outputsFile: string; dataDir?: string; seconds: number; timeScale: number }): void {
    this.write(
      [
        `ready in ${info.seconds.toFixed(1)}s`,
        `  HTTP API      ${info.httpApi}`,
        `  AWS endpoint  ${info.aws}   (AWS_ENDPOINT_URL=${info.aws})`,
        `  ops page      ${info.aws}/_local/ops/`,
        `  outputs       ${info.outputsFile}`,
        `  data          ${info.dataDir ?? 'in memory'}${info.timeScale !== 1 ? `   time scale x${info.timeScale}` : ''}`,
      ].join('\n'),
    );
  }

  request(info: { routeKey: string; method: string; path: string; status: number; durationMs: number; authorizerError?: string }): void {
    this.line('http', `${info.method} ${info.path} -> ${info.status} (${info.durationMs} ms)${info.authorizerError ? ` authorizer: ${info.authorizerError}` : ''}`);
  }

  event(event: Record<string, unknown>, rules: string[]): void {
    const replay = event['replay-name'] ? ` (replay ${String(event['replay-name'])})` : '';
    this.line('event', `${String(event['detail-type'])}${orderIdOf(event)} -> ${rules.length ? rules.join(', ') : 'no rule'}${replay}`);
  }

  batch(info: SqsBatchInfo): void {
    const failed = info.failedMessageIds.length ? ` failed=${info.failedMessageIds.length}` : '';
    const why = info.reason ? ` (${info.reason})` : '';
    this.line('consume', `${info.functionName} <- ${info.queueName}: ${info.messageIds.length} message(s) ${info.outcome}${failed}${why}`);
  }

  streamBatch(info: StreamBatchInfo): void {
    const why = info.reason ? ` (${info.reason})` : '';
    this.line('stream', `${info.functionName} <- ${info.tableName} stream: ${info.sequenceNumbers.length} record(s) ${info.outcome}${why}`);
  }

  deliveryFailure(info: DeliveryFailure): void {
    const why = info.exhaustedRetryCondition ? `, ${info.exhaustedRetryCondition} reached` : '';
    const where = info.deadLettered ? 'sent to the target DLQ' : 'dropped: no DLQ, or the DLQ could not be written';
    this.line('deliver', `rule ${info.rule} -> ${info.target} failed after ${info.attempts} attempt(s): ${info.code} ${info.error}${why} (${where})`);
  }

  execution(name: string, e: Execution): void {
    const output = e.output && e.output.length < 300 ? ` ${e.output}` : '';
    this.line('sfn', `${name} ${e.name}: ${e.status}${e.error ? ` ${e.error}: ${e.cause}` : output}`);
  }

  schedule(name: string, error?: Error): void {
    this.line('schedule', `${name} fired${error ? `, failed: ${error.message}` : ''}`);
  }

  fault(f: InjectedFault): void {
    this.line('fault', `${f.kind} ${f.target}${f.operation ? ` ${f.operation}` : ''} #${f.n}`);
  }

  warn(text: string): void {
    this.line('warn', text);
  }
}
