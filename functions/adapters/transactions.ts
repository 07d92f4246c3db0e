/**
 * TransactWriteItems and what its cancellation means. DynamoDB cancels a transaction for a failed condition (the
 * caller's answer: out of stock, wrong status) or for contention: another transaction held one of the items
 * (TransactionConflict), or a throttle. Contention is retried here with jittered back-off and never reported as a
 * failed condition; DynamoDB Local never produces it, so tests inject it.
 */
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContentionError } from '../domain/errors';

export type CancellationReason = { Code?: string; Message?: string; Item?: Record<string, unknown> };

/** Codes a retry can cure. */
const RETRYABLE = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded', 'RequestLimitExceeded']);

export interface TransactionRetry {
  /** Attempts before ContentionError (default 6). */
  attempts?: number;
  /** First back-off, doubled each attempt, full jitter (default 25 ms). */
  backoffMs?: number;
}

export function cancellationReasons(error: unknown): CancellationReason[] | undefined {
  if (error instanceof TransactionCanceledException || (error as { name?: string })?.name === 'TransactionCanceledException') {
    return ((error as TransactionCanceledException).CancellationReasons ?? []) as CancellationReason[];
  }
  return undefined;
}

/**
 * Runs the transaction: undefined when it committed, the per-item reasons when a condition failed; retries
 * contention, throws ContentionError once its attempts are spent, and rethrows anything else.
 */
export async function transactWrite(client: DynamoDBDocumentClient, items: TransactWriteCommandInput['TransactItems'], retry: TransactionRetry = {}): Promise<CancellationReason[] | undefined> {
  const attempts = retry.attempts ?? 6;
  const backoffMs = retry.backoffMs ?? 25;
  for (let attempt = 1; ; attempt++) {
    try {
      await client.send(new TransactWriteCommand({ TransactItems: items }));
      return undefined;
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      if (reasons.some((r) => r.Code === 'ConditionalCheckFailed')) return reasons;
      if (!reasons.some((r) => r.Code !== undefined && RETRYABLE.has(r.Code))) throw error;
      if (attempt >= attempts) throw new ContentionError(`the transaction was cancelled ${attempt} times for contention (${reasons.map((r) => r.Code).join(', ')})`);
      await sleep(Math.random() * backoffMs * 2 ** (attempt - 1));
    }
  }
}
