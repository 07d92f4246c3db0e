/** Builds the app on a given App: `bin/app.ts` for synth and deploy, the tests for assertions. */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readConfig } from './config';
import { OrderPipelineStack } from './order-pipeline-stack';

export const STACK_NAME = 'OrderPipeline';

export function buildApp(app: App): OrderPipelineStack {
  const config = readConfig(app.node);
  const stack = new OrderPipelineStack(app, STACK_NAME, {
    description: 'Serverless, event-driven order pipeline',
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Tags.of(stack).add('application', 'order-pipeline');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return stack;
}
