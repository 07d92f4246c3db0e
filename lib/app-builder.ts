/** Builds the app on a given App: `bin/app.ts` for synth and deploy, the tests for assertions. */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { readConfig } from './config';
import { OrderPipelineStack } from './order-pipeline-stack';

export const STACK_NAME = 'OrderPipeline';

export interface BuildOptions {
  /**
   * cdk-nag's AwsSolutions and Serverless packs as synth validations (default on: `cdk synth`, deploy and `npm start`
   * run them). The assertion tests turn them off except test/lib/nag.test.ts, which gates every context they use: the
   * packs are ~2 s of CPU in each test file's first synthesis.
   */
  nag?: boolean;
}

export function buildApp(app: App, { nag = true }: BuildOptions = {}): OrderPipelineStack {
  const config = readConfig(app.node);
  const stack = new OrderPipelineStack(app, STACK_NAME, {
    description: 'Serverless, event-driven order pipeline',
    config,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Tags.of(stack).add('application', 'order-pipeline');
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return stack;
}
