/** Synthesizes the app in process (offline, local esbuild bundling, cdk-nag gate on) into a cloud assembly directory. */
import { App } from 'aws-cdk-lib';
import { rmSync } from 'node:fs';
import { buildApp } from '../lib/app-builder';
import { OrderPipelineStack } from '../lib/order-pipeline-stack';

export interface SynthOptions {
  outdir: string;
  context: Record<string, string>;
}

/** The assembly's directory and the stack it was synthesized from (for what only the constructs know, e.g. which function is which). */
export function synthesizeStack(options: SynthOptions): { directory: string; stack: OrderPipelineStack } {
  rmSync(options.outdir, { recursive: true, force: true });
  // Asset metadata names each function's bundle directory (the CDK CLI turns it on the same way). The CDK's built-in
  // CloudFormation schema validation is off: it only warns here (no feature flag makes it fail synth) and took 3.7 s
  // of a 14 s synth on 2 cores (`npm start`, every end-to-end suite, the bench); `cdk synth` still runs it.
  const app = new App({ outdir: options.outdir, builtinCloudFormationValidation: false, context: { 'aws:cdk:enable-asset-metadata': true, ...options.context } });
  const stack = buildApp(app);
  return { directory: app.synth().directory, stack };
}

export function synthesize(options: SynthOptions): string {
  return synthesizeStack(options).directory;
}
