/**
 * The deployed stack as the CLI sees it: its outputs (lib/stack-outputs.ts), from a `cdk deploy --outputs-file`
 * file or the local runtime's `.local/outputs.json`, and the endpoint and region to reach it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DescribeStacksCommand, DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import type { OpsClients } from './clients';
import { QUEUE_OUTPUTS, QueueKind, QueueOutput } from '../lib/stack-outputs';
import { OpsError, UnknownQueueError, UsageError } from './errors';

export const LOCAL_OUTPUTS_FILE = '.local/outputs.json';

export interface StackOutputs {
  stackName: string;
  outputs: Record<string, string>;
  /** Where they were read. */
  source: string;
}

export interface StackQueue extends QueueOutput {
  url: string;
  /** The queue's name (the URL's last segment). */
  name: string;
}

/**
 * Reads an outputs file (`{ <stack>: { <key>: <value> } }`). With several stacks, `stackName` picks one, or the one
 * with a SweepStateMachineArn output.
 */
export function readOutputsFile(file: string, stackName?: string): StackOutputs {
  let all: Record<string, Record<string, string>>;
  try {
    all = JSON.parse(readFileSync(file, 'utf8')) as typeof all;
  } catch (error) {
    throw new OpsError(`cannot read the stack outputs ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  const stacks = Object.keys(all ?? {}).filter((name) => all[name] && typeof all[name] === 'object');
  const chosen = stackName ?? (stacks.length === 1 ? stacks[0] : stacks.find((s) => 'SweepStateMachineArn' in all[s]));
  if (!chosen || !all[chosen]) {
    throw new UsageError(`${file} holds ${stacks.length ? `the stacks ${stacks.join(', ')}` : 'no stack'}${stackName ? `, not ${stackName}` : ''}: choose one with --stack`);
  }
  return { stackName: chosen, outputs: all[chosen], source: file };
}

/**
 * The outputs file to use: the one given, else the local runtime's when present; undefined with `--stack` alone (the
 * outputs are then read from CloudFormation).
 */
export function findOutputsFile(given: string | undefined, stackName: string | undefined, exists: (file: string) => boolean = existsSync): string | undefined {
  if (given) return given;
  if (stackName) return undefined;
  if (exists(LOCAL_OUTPUTS_FILE)) return LOCAL_OUTPUTS_FILE;
  throw new UsageError(
    `no stack outputs: start the local runtime (npm start writes ${LOCAL_OUTPUTS_FILE}), pass --stack NAME to read a deployed stack's outputs from CloudFormation, or --outputs-file FILE (npx cdk deploy --outputs-file FILE)`,
  );
}

/** A deployed stack's outputs, from CloudFormation's DescribeStacks. */
export async function readCloudFormationOutputs(clients: Pick<OpsClients, 'cloudformation'>, stackName: string, where: string): Promise<StackOutputs> {
  let stack: NonNullable<DescribeStacksCommandOutput['Stacks']>[number] | undefined;
  try {
    stack = (await clients.cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
  } catch (error) {
    const e = error as { name?: string; message?: string };
    // CloudFormation answers a stack it does not know with ValidationError "Stack with id X does not exist".
    if (e.name === 'ValidationError' && /does not exist/.test(e.message ?? '')) throw new UsageError(`no stack ${stackName} in CloudFormation (${where}): check --stack and --region`);
    throw error;
  }
  if (!stack) throw new UsageError(`no stack ${stackName} in CloudFormation (${where}): check --stack and --region`);
  const outputs = Object.fromEntries((stack.Outputs ?? []).filter((o) => o.OutputKey && o.OutputValue !== undefined).map((o) => [o.OutputKey!, o.OutputValue!]));
  return { stackName: stack.StackName ?? stackName, outputs, source: `CloudFormation stack ${stack.StackName ?? stackName} (${where})` };
}

export function output(stack: StackOutputs, key: string): string {
  const value = stack.outputs[key];
  if (!value) throw new OpsError(`the stack outputs (${stack.source}) have no ${key}: redeploy the stack (or restart npm start) so that they do`);
  return value;
}

/** The local runtime's endpoint, when the outputs are the local runtime's (its queue URLs are on 127.0.0.1). */
export function localEndpointOf(stack: StackOutputs): string | undefined {
  for (const q of QUEUE_OUTPUTS) {
    const url = stack.outputs[q.output];
    if (url && /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(url)) return new URL(url).origin;
  }
  return undefined;
}

export function stackQueues(stack: StackOutputs): StackQueue[] {
  const queues = QUEUE_OUTPUTS.filter((q) => stack.outputs[q.output]).map((q) => ({ ...q, url: stack.outputs[q.output], name: stack.outputs[q.output].split('/').pop()! }));
  if (!queues.length) throw new OpsError(`the stack outputs (${stack.source}) name no queues: redeploy the stack (or restart npm start) so that they do`);
  return queues;
}

const KIND_NAMES: Record<QueueKind, string> = {
  queue: 'a consumer queue',
  dlq: 'a redrive DLQ',
  'rule-target-dlq': 'a rule-target DLQ',
  'relay-dlq': "the event relay's DLQ",
  'schedule-dlq': "the sweep schedule's DLQ",
};

/**
 * The queue an argument names: a role (`notification-dlq`), a queue name or URL, or a consumer's name, which means
 * its queue of the `preferred` kind (`dlq peek notification` is the notification consumer's DLQ). Only `accepted`
 * kinds are taken; the error lists the names that are.
 */
export function resolveQueue(stack: StackOutputs, argument: string, accepted: readonly QueueKind[], preferred: QueueKind, command: string): StackQueue {
  const queues = stackQueues(stack);
  const wanted = argument.trim();
  const found =
    queues.find((q) => q.consumer === wanted && q.kind === preferred) ?? queues.find((q) => q.role === wanted || q.name === wanted || q.url === wanted);
  const takes = queues.filter((q) => accepted.includes(q.kind)).map((q) => q.role);
  if (!found) throw new UnknownQueueError(`unknown queue '${argument}': ${command} takes ${takes.join(', ')} (or a queue name or URL)`);
  if (!accepted.includes(found.kind)) {
    throw new UsageError(`${found.role} (${found.name}) is ${KIND_NAMES[found.kind]}: ${command} takes ${takes.join(', ')}${hint(found.kind, command)}`);
  }
  return found;
}

function hint(kind: QueueKind, command: string): string {
  if (kind === 'rule-target-dlq' && command.startsWith('dlq redrive')) return '; a rule-target DLQ holds delivery failures with no source queue: re-send them with `events replay-failed`';
  if (kind === 'dlq' && command.startsWith('events')) return '; a redrive DLQ goes back to its queue with `dlq redrive`';
  return '';
}
