/** Synthesizes the app in process (offline, local esbuild bundling, cdk-nag gate on) into a cloud assembly directory. */
import { App } from 'aws-cdk-lib';
import { rmSync } from 'node:fs';
import { buildApp } from '../lib/app-builder';

export function synthesize(options: { outdir: string; context: Record<string, string> }): string {
  rmSync(options.outdir, { recursive: true, force: true });
  // Asset metadata names each function's bundle directory (the CDK CLI turns it on the same way).
  const app = new App({ outdir: options.outdir, context: { 'aws:cdk:enable-asset-metadata': true, ...options.context } });
  buildApp(app);
  return app.synth().directory;
}
