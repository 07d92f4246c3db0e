/**
 * The consumers' metrics as CloudWatch receives them (EMF lines on stdout): each metric carries only the dimensions
 * of the record it describes. Metrics are enabled here, so the modules load after the environment says so.
 */
import { envelope, lambdaContext, sqsEvent, sqsRecord } from './fixtures';

import type { SQSBatchResponse, SQSEvent, Context } from 'aws-lambda';
import { METRIC, METRICS_NAMESPACE } from '../../../functions/shared/metric-names';

type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

interface EmfLine {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] };
  [key: string]: unknown;
}

let makeHandler: () => ConsumerHandler;
const lines: EmfLine[] = [];

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_SERVICE_NAME = 'order-pipeline-test';
  jest.isolateModules(() => {
    const { makeConsumerHandler } = require('../../../functions/shared/sqs-consumer') as typeof import('../../../functions/shared/sqs-consumer');
    makeHandler = () => makeConsumerHandler({ accepts: ['OrderPlaced'], handle: async () => ({ action: 'reserved' }) }) as unknown as ConsumerHandler;
  });
  jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
    if (typeof line === 'string' && line.includes('"_aws"')) lines.push(JSON.parse(line));
  });
});

afterAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  jest.restoreAllMocks();
});

beforeEach(() => {
  lines.length = 0;
});

/** Each emitted metric name with the dimension names it was published under. */
function emitted(): { name: string; dimensions: string[]; values: Record<string, unknown> }[] {
  return lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((directive) => {
      expect(directive.Namespace).toBe(METRICS_NAMESPACE);
      return directive.Metrics.map((m) => ({ name: m.Name, dimensions: [...directive.Dimensions[0]].sort(), values: line }));
    }),
  );
}

test('a good record counts ConsumerOutcome under its event type and action', async () => {
  const response = await makeHandler()(sqsEvent(sqsRecord(envelope('OrderPlaced', 'ord_1', { items: [{ sku: 's', quantity: 1 }] }))), lambdaContext());
  expect(response.batchItemFailures).toEqual([]);
  const outcome = emitted().filter((m) => m.name === METRIC.consumerOutcome);
  expect(outcome).toHaveLength(1);
  expect(outcome[0].dimensions).toEqual(['action', 'eventType', 'service']);
  expect(outcome[0].values).toMatchObject({ eventType: 'OrderPlaced', action: 'reserved', [METRIC.consumerOutcome]: 1 });
});

test('a malformed record followed by a good one: MalformedEvents keeps the service dimension only', async () => {
  const response = await makeHandler()(
    sqsEvent(sqsRecord('not json', 'bad'), sqsRecord(envelope('OrderPlaced', 'ord_1', { items: [{ sku: 's', quantity: 1 }] }), 'good')),
    lambdaContext(),
  );
  expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
  const malformed = emitted().filter((m) => m.name === METRIC.malformedEvents);
  expect(malformed).toHaveLength(1);
  expect(malformed[0].dimensions).toEqual(['service']);
  expect(malformed[0].values[METRIC.malformedEvents]).toBe(1);
  expect(emitted().filter((m) => m.name === METRIC.consumerOutcome)).toHaveLength(1);
});
