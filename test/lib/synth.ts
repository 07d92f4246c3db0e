/**
 * Synthesizes the app for the CDK assertion tests with NodejsFunction bundling skipped
 * (`aws:cdk:bundling-stacks: []`), once per distinct context within a test file. The cdk-nag packs run only when
 * asked (`{ nag: true }`): test/lib/nag.test.ts gates the contexts the other files synthesize (default, OVERRIDES,
 * SNS notifications), and the others save the packs' ~2 s of CPU per file.
 */
import { App, CfnElement, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { IConstruct } from 'constructs';
import { buildApp } from '../../lib/app-builder';
import { OrderPipelineStack } from '../../lib/order-pipeline-stack';

export type Context = Record<string, unknown>;

export interface Synthesized {
  app: App;
  stack: OrderPipelineStack;
  assembly: CloudAssembly;
  template: Template;
}

/**
 * Context that changes every overridable setting the tests look at (JWT authorization, stage throttling, sweep
 * interval) in one synthesis. Test files that need the non-default template share this one context.
 */
export const OVERRIDES = {
  jwtIssuer: 'https://issuer.example.com/',
  jwtAudience: 'orders-api',
  throttlingRateLimit: 5,
  throttlingBurstLimit: 10,
  sweepIntervalMinutes: 2,
} as const;

/**
 * A fresh, unsynthesized app and stack, for tests that add constructs or expect construction to fail.
 * The built-in CloudFormation schema validation is off: it only ever warns (it cannot fail synth without a feature
 * flag this app does not set) and it costs seconds per synthesis under Jest. The cdk-nag plugins run with `nag`.
 */
export function buildTestApp(context: Context = {}, { nag = false }: { nag?: boolean } = {}): { app: App; stack: OrderPipelineStack } {
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  return { app, stack: buildApp(app, { nag }) };
}

const cache = new Map<string, Synthesized>();

/** The synthesized app for this context, shared by every caller in the same test file. */
export function synth(context: Context = {}, { nag = false }: { nag?: boolean } = {}): Synthesized {
  const key = JSON.stringify([nag, ...Object.entries(context).sort(([a], [b]) => a.localeCompare(b))]);
  let result = cache.get(key);
  if (!result) {
    const { app, stack } = buildTestApp(context, { nag });
    const assembly = app.synth();
    // Template.fromStack synthesizes the stage again, which returns the assembly cached above.
    result = { app, stack, assembly, template: Template.fromStack(stack) };
    cache.set(key, result);
  }
  return result;
}

/** The logical id of a construct's CloudFormation resource (its default child, or itself). */
export function logicalIdOf(stack: OrderPipelineStack, construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return stack.getLogicalId(element);
}

/** Every cdk-nag acknowledgement recorded in the construct tree: on which construct (and its path), which rule, why. */
export function acknowledgementsIn(s: Synthesized): { construct: IConstruct; path: string; id: string; reason: unknown }[] {
  return s.app.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({ construct: c, path: c.node.path, id, reason }))),
  );
}
