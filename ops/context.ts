/** What every command takes: the stack's names, the clients, where they point, and how to report progress. */
import { OpsClients } from './clients';
import { explainAwsError } from './errors';
import { StackOutputs } from './stack';

export interface OpsContext {
  stack: StackOutputs;
  clients: OpsClients;
  /** The endpoint or "AWS (region)", for messages. */
  where: string;
  /** Every service is one endpoint's (the local runtime's): it runs no CloudWatch, so there are no alarms to read. */
  local?: boolean;
  /** A progress line (stderr in the CLI; a no-op with --json). */
  progress: (line: string) => void;
  /** Between polls of a running task (redrive, replay, execution). */
  pollIntervalMs: number;
}

/** One AWS call, its failure explained in one line (what was being done, or that nothing answers). */
export async function aws<T>(ctx: OpsContext, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainAwsError(error, ctx.where, doing);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
