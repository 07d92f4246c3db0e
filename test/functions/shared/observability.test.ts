/**
 * QuietMetrics: an invocation that recorded no metric writes no line (Powertools' Metrics writes a warning), one that
 * recorded some writes its EMF line as before, and nothing stored outlives the invocation either way.
 */
import middy from '@middy/core';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Context } from 'aws-lambda';
import { lambdaContext } from './fixtures';

let QuietMetrics: typeof import('../../../functions/shared/observability').QuietMetrics;
const written: string[] = [];

beforeAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  jest.isolateModules(() => {
    ({ QuietMetrics } = require('../../../functions/shared/observability') as typeof import('../../../functions/shared/observability'));
  });
  const record = (...args: unknown[]) => void written.push(String(args[0]));
  for (const method of ['log', 'warn', 'info', 'error'] as const) jest.spyOn(console, method).mockImplementation(record);
});

afterAll(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  jest.restoreAllMocks();
});

beforeEach(() => {
  written.length = 0;
});

/** A handler under logMetrics, as the functions are wired, that records `count` metrics. */
function handlerWith(metrics: Metrics, count: number, dimension?: string) {
  return middy(async () => {
    if (dimension) metrics.addDimension('kind', dimension);
    for (let i = 0; i < count; i++) metrics.addMetric('Things', MetricUnit.Count, 1);
    return 'done';
  }).use(logMetrics(metrics));
}

const context = lambdaContext() as Context;

test("Powertools' Metrics writes a warning line for an invocation without metrics; QuietMetrics writes nothing", async () => {
  await handlerWith(new Metrics({ namespace: 'test' }), 0)({}, context);
  expect(written.some((line) => line.includes('No application metrics to publish'))).toBe(true);
  written.length = 0;
  await handlerWith(new QuietMetrics({ namespace: 'test' }), 0)({}, context);
  expect(written).toEqual([]);
});

test('an invocation with metrics writes its one EMF line, and an empty one after it does not repeat them or its dimensions', async () => {
  const metrics = new QuietMetrics({ namespace: 'test' });
  await handlerWith(metrics, 2, 'first')({}, context);
  expect(written).toHaveLength(1);
  const emf = JSON.parse(written[0]);
  expect(emf).toMatchObject({ kind: 'first', Things: [1, 1], _aws: { CloudWatchMetrics: [{ Namespace: 'test', Metrics: [{ Name: 'Things' }] }] } });
  written.length = 0;
  await handlerWith(metrics, 0, 'second')({}, context);
  expect(written).toEqual([]);
  await handlerWith(metrics, 1)({}, context);
  expect(JSON.parse(written[0])).not.toHaveProperty('kind'); // the empty invocation's dimension did not outlive it
});
