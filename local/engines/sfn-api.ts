/**
 * Step Functions' AWS JSON 1.0 API over the local engines: StartExecution, DescribeExecution, ListExecutions,
 * GetExecutionHistory, ListStateMachines, DescribeStateMachine.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html
 */
import { AwsError, AwsJsonResponse, errorResponse, ok } from './aws-json';
import { HistoryEvent } from './execution-history';
import { Execution, StateMachineEngine } from './state-machines';

const NAMESPACE = 'com.amazonaws.states';
/** ListExecutions' statusFilter values (ExecutionStatus); PENDING_REDRIVE is valid and matches nothing locally. */
const STATUS_FILTERS = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
/** maxResults of the List and GetExecutionHistory operations: 0 (the default page, 100) to 1000. */
const MAX_RESULTS = 1000;
const DEFAULT_PAGE = 100;
const STATE_MACHINE_ARN = /^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_.-]+$/;
const EXECUTION_ARN = /^arn:aws[\w-]*:states:[a-z0-9-]+:\d{12}:execution:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$/;
const seconds = (ms?: number) => (ms === undefined ? undefined : ms / 1000);

function view(e: Execution) {
  return {
    executionArn: e.executionArn,
    stateMachineArn: e.stateMachineArn,
    name: e.name,
    status: e.status,
    startDate: seconds(e.startDate),
    stopDate: seconds(e.stopDate),
  };
}

/**
 * One page of a list. The token names the list it belongs to and the offset of the next item: a token given
 * for another list (another execution, another order) is InvalidToken, as is one that does not decode.
 * Locally tokens do not expire (AWS's expire after 24 hours).
 */
function page<T>(items: T[], body: Record<string, unknown>, list: string): { items: T[]; nextToken?: string } {
  const max = body.maxResults === undefined ? 0 : Number(body.maxResults);
  if (!Number.isInteger(max) || max < 0 || max > MAX_RESULTS) {
    throw new AwsError('ValidationException', `1 validation error detected: Value '${String(body.maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${MAX_RESULTS}`);
  }
  let offset = 0;
  if (body.nextToken !== undefined && body.nextToken !== null) {
    let token: { list?: unknown; offset?: unknown } | undefined;
    try {
      token = JSON.parse(Buffer.from(String(body.nextToken), 'base64url').toString('utf8'));
    } catch {
      token = undefined;
    }
    if (!token || token.list !== list || !Number.isInteger(token.offset)) throw new AwsError('InvalidToken', `Invalid Token: '${String(body.nextToken)}'`);
    offset = token.offset as number;
  }
  const size = max || DEFAULT_PAGE;
  const end = offset + size;
  return {
    items: items.slice(offset, end),
    nextToken: end < items.length ? Buffer.from(JSON.stringify({ list, offset: end })).toString('base64url') : undefined,
  };
}

/** A HistoryEvent as the API returns it: timestamp in epoch seconds, input/output left out when asked. */
function historyView(event: HistoryEvent, includeData: boolean) {
  const shown: Record<string, unknown> = { ...event, timestamp: event.timestamp / 1000 };
  if (includeData) return shown;
  for (const [key, value] of Object.entries(shown)) {
    if (!key.endsWith('EventDetails') || !value || typeof value !== 'object') continue;
    const { input: _input, inputDetails: _inputDetails, output: _output, outputDetails: _outputDetails, ...rest } = value as Record<string, unknown>;
    shown[key] = rest;
  }
  return shown;
}

export async function handleSfnRequest(machines: Map<string, StateMachineEngine>, operation: string, body: Record<string, unknown>): Promise<AwsJsonResponse> {
  try {
    const machine = (arn: unknown) => {
      if (typeof arn !== 'string' || !STATE_MACHINE_ARN.test(arn)) throw new AwsError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
      const found = machines.get(arn);
      if (!found) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
      return found;
    };
    const execution = (arn: unknown) => {
      if (typeof arn !== 'string' || !EXECUTION_ARN.test(arn)) throw new AwsError('InvalidArn', `Invalid Arn: '${String(arn)}'`);
      for (const m of machines.values()) {
        const found = m.executions.get(arn);
        if (found) return found;
      }
      throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    };
    switch (operation) {
      case 'StartExecution': {
        let input: unknown = {};
        if (body.input !== undefined) {
          try {
            input = JSON.parse(String(body.input));
          } catch {
            throw new AwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not valid JSON');
          }
        }
        const started = await machine(body.stateMachineArn).start(input, body.name as string | undefined).catch((e: Error) => {
          throw e.name === 'ExecutionAlreadyExists' ? new AwsError('ExecutionAlreadyExists', e.message) : e;
        });
        return ok({ executionArn: started.executionArn, startDate: seconds(started.startDate) });
      }
      case 'DescribeExecution': {
        const e = execution(body.executionArn);
        // output only when SUCCEEDED; error and cause only when FAILED (a TIMED_OUT execution has neither).
        return ok({ ...view(e), input: e.input, output: e.output, error: e.error, cause: e.cause });
      }
      case 'ListExecutions': {
        if (body.statusFilter !== undefined && !STATUS_FILTERS.includes(String(body.statusFilter))) {
          throw new AwsError(
            'ValidationException',
            `1 validation error detected: Value '${String(body.statusFilter)}' at 'statusFilter' failed to satisfy constraint: Member must satisfy enum value set: [${STATUS_FILTERS.join(', ')}]`,
          );
        }
        const m = machine(body.stateMachineArn);
        // Newest first, as AWS lists them; the filter is part of the list a token belongs to.
        const list = [...m.executions.values()].filter((e) => !body.statusFilter || e.status === body.statusFilter).sort((a, b) => b.startDate - a.startDate);
        const { items, nextToken } = page(list, body, `executions ${m.arn} ${String(body.statusFilter ?? '')}`);
        return ok({ executions: items.map(view), nextToken });
      }
      case 'GetExecutionHistory': {
        const e = execution(body.executionArn);
        const events = body.reverseOrder === true ? [...e.history.events].reverse() : e.history.events;
        const { items, nextToken } = page(events, body, `history ${e.executionArn} ${body.reverseOrder === true}`);
        return ok({ events: items.map((event) => historyView(event, body.includeExecutionData !== false)), nextToken });
      }
      case 'ListStateMachines': {
        const list = [...machines.values()].sort((a, b) => a.name.localeCompare(b.name));
        const { items, nextToken } = page(list, body, 'state machines');
        return ok({
          stateMachines: items.map((m) => ({ stateMachineArn: m.arn, name: m.name, type: m.description.type, creationDate: seconds(m.description.creationDate) })),
          nextToken,
        });
      }
      case 'DescribeStateMachine': {
        const m = machine(body.stateMachineArn);
        const d = m.description;
        return ok({
          stateMachineArn: m.arn,
          name: m.name,
          status: 'ACTIVE',
          definition: d.definition,
          roleArn: d.roleArn,
          type: d.type,
          creationDate: seconds(d.creationDate),
          loggingConfiguration: d.loggingConfiguration,
          tracingConfiguration: d.tracingConfiguration,
        });
      }
      default:
        throw new AwsError('UnknownOperationException', `Step Functions operation ${operation} is not supported by the local runtime`);
    }
  } catch (error) {
    return errorResponse(error, NAMESPACE);
  }
}
