/**
 * Step Functions' AWS JSON 1.0 API over the local engines: StartExecution, DescribeExecution, ListExecutions.
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html
 * https://docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html
 */
import { AwsError, AwsJsonResponse, errorResponse, ok } from './aws-json';
import { Execution, StateMachineEngine } from './state-machines';

const NAMESPACE = 'com.amazonaws.states';
/** ListExecutions' statusFilter values (ExecutionStatus); PENDING_REDRIVE is valid and matches nothing locally. */
const STATUS_FILTERS = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE'];
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

export async function handleSfnRequest(machines: Map<string, StateMachineEngine>, operation: string, body: Record<string, unknown>): Promise<AwsJsonResponse> {
  try {
    const machine = (arn: unknown) => {
      const found = machines.get(String(arn));
      if (!found) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(arn)}'`);
      return found;
    };
    const execution = (arn: unknown) => {
      for (const m of machines.values()) {
        const found = m.executions.get(String(arn));
        if (found) return found;
      }
      throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${String(arn)}'`);
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
        const list = [...m.executions.values()].filter((e) => !body.statusFilter || e.status === body.statusFilter).sort((a, b) => b.startDate - a.startDate);
        return ok({ executions: list.slice(0, Number(body.maxResults ?? 100) || 100).map(view) });
      }
      default:
        throw new AwsError('UnknownOperationException', `Step Functions operation ${operation} is not supported by the local runtime`);
    }
  } catch (error) {
    return errorResponse(error, NAMESPACE);
  }
}
