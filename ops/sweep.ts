/** The compensation sweep's runs: the last ones (ListExecutions + DescribeExecution) and `ops sweep run`. */
import { DescribeExecutionCommand, DescribeExecutionCommandOutput, ListExecutionsCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { SweepSummary } from '../functions/domain/sweep';
import { aws, OpsContext, sleep } from './context';
import { OpsError } from './errors';
import { output } from './stack';

export interface SweepRun {
  name: string;
  executionArn: string;
  status: string;
  startedAt?: string;
  stoppedAt?: string;
  /** The execution's output (the Summarise task's summary), when it succeeded. */
  summary?: SweepSummary;
  /** Why it failed, when it did. */
  error?: string;
}

export async function lastSweeps(ctx: OpsContext, count: number): Promise<SweepRun[]> {
  const stateMachineArn = output(ctx.stack, 'SweepStateMachineArn');
  const { executions = [] } = await aws(ctx, 'ListExecutions', () => ctx.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: count })));
  return Promise.all(executions.slice(0, count).map((e) => describeRun(ctx, e.executionArn!)));
}

async function describeRun(ctx: OpsContext, executionArn: string): Promise<SweepRun> {
  return runOf(await aws(ctx, 'DescribeExecution', () => ctx.clients.sfn.send(new DescribeExecutionCommand({ executionArn }))));
}

function runOf(d: DescribeExecutionCommandOutput): SweepRun {
  let summary: SweepSummary | undefined;
  try {
    summary = d.output ? (JSON.parse(d.output) as SweepSummary) : undefined;
  } catch {
    summary = undefined;
  }
  return {
    name: d.name!,
    executionArn: d.executionArn!,
    status: d.status!,
    ...(d.startDate ? { startedAt: d.startDate.toISOString() } : {}),
    ...(d.stopDate ? { stoppedAt: d.stopDate.toISOString() } : {}),
    ...(summary ? { summary } : {}),
    ...(d.error ? { error: d.cause ? `${d.error}: ${d.cause}`.slice(0, 500) : d.error } : {}),
  };
}

/** Starts a sweep now and waits for it to end; a run that did not succeed is an OpsError carrying the run. */
export async function runSweep(ctx: OpsContext, options: { timeoutSeconds?: number } = {}): Promise<SweepRun> {
  const stateMachineArn = output(ctx.stack, 'SweepStateMachineArn');
  const name = `ops-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const { executionArn } = await aws(ctx, 'StartExecution', () => ctx.clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: '{}' })));
  const deadline = Date.now() + (options.timeoutSeconds ?? 300) * 1000;
  for (;;) {
    const run = await describeRun(ctx, executionArn!);
    if (run.status !== 'RUNNING') {
      if (run.status !== 'SUCCEEDED') throw new SweepFailedError(`sweep ${name} ended ${run.status}${run.error ? `: ${run.error}` : ''}`, run);
      return run;
    }
    if (Date.now() > deadline) throw new SweepFailedError(`sweep ${name} still RUNNING after ${options.timeoutSeconds ?? 300} s (it goes on; see ops status)`, run);
    ctx.progress(`sweep ${name}: RUNNING`);
    await sleep(ctx.pollIntervalMs);
  }
}

export class SweepFailedError extends OpsError {
  constructor(
    message: string,
    readonly run: SweepRun,
  ) {
    super(message);
  }
}
