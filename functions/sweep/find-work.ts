/** Sweep task: lists what fell through, from the status and unpublished indexes (never a scan). */
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { findWork } from '../domain/sweep';
import { logger } from '../shared/observability';
import { sweepDeps, sweepSettings } from './deps';

export const handler = middy(async () => {
  const work = await findWork(sweepSettings(), sweepDeps());
  logger.info('sweep found work', { republish: work.republish.length, expire: work.expire.length });
  return work;
}).use(injectLambdaContext(logger));
