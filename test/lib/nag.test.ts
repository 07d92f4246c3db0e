/**
 * cdk-nag as a synth gate (cdk-nag 3: NagPacks are aws-cdk-lib Validations plugins). A failing plugin report makes
 * App.synth() throw a ValidationFailed error carrying the report; acknowledgements (Validations.acknowledge) are
 * recorded as construct metadata and matched by aws-cdk-lib, which lists them in validation-report.json as
 * suppressedViolations with their reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { CDK_APP_MODE_CONTEXT, VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { buildApp } from '../../lib/app-builder';
import { acknowledgementsIn, buildTestApp, Context, OVERRIDES, Synthesized, synth } from './synth';

const NAG_PACKS = [new AwsSolutionsChecks().name, new ServerlessChecks().name];
/** The thrown error then carries the whole report (Jest's NODE_ENV=test implies it too). */
const IN_MEMORY = { [CDK_APP_MODE_CONTEXT]: 'inmemory' };

interface ReportViolation {
  ruleName: string;
  violatingConstructs: { constructPath: string }[];
  acknowledgedId?: string;
  reason?: string;
  acknowledgedAt?: string;
}
interface Report {
  pluginReports: { pluginName: string; conclusion: string; violations: ReportViolation[]; suppressedViolations?: ReportViolation[] }[];
}

function reportOf(s: Synthesized): Report {
  return JSON.parse(fs.readFileSync(path.join(s.assembly.directory, VALIDATION_REPORT_FILE), 'utf8'));
}

describe.each<[string, Context]>([
  ['default context', {}],
  ['JWT, throttling and sweep overrides', OVERRIDES],
  ['SNS notifications and an alarm email', { notificationChannel: 'sns', alarmEmail: 'ops@example.com' }],
])('%s', (_label, context) => {
  const synthesized = () => synth({ ...IN_MEMORY, ...context }, { nag: true });

  test('app.synth() with the AwsSolutions and Serverless packs does not throw', () => {
    expect(synthesized).not.toThrow();
  });

  test('the validation report has both packs, each successful with no unacknowledged finding', () => {
    const report = reportOf(synthesized());
    for (const pack of NAG_PACKS) {
      const plugin = report.pluginReports.find((p) => p.pluginName === pack);
      expect(plugin).toBeDefined();
      expect(plugin!.violations).toEqual([]);
      expect(plugin!.conclusion).toBe('success');
    }
  });

  test('every suppressed finding in the report carries its acknowledgement and a non-empty reason', () => {
    const suppressed = reportOf(synthesized()).pluginReports.flatMap((p) => p.suppressedViolations ?? []);
    expect(suppressed.length).toBeGreaterThan(0);
    for (const v of suppressed) {
      expect([v.ruleName, v.acknowledgedId]).toEqual([v.ruleName, expect.stringContaining(v.ruleName)]);
      expect([v.ruleName, typeof v.reason === 'string' && v.reason.trim().length > 0]).toEqual([v.ruleName, true]);
    }
  });

  test('every acknowledgement in the construct tree has a non-empty reason and suppresses a finding', () => {
    const s = synthesized();
    const acknowledgements = acknowledgementsIn(s);
    expect(acknowledgements.length).toBeGreaterThan(0);
    const used = new Set(
      reportOf(s)
        .pluginReports.flatMap((p) => p.suppressedViolations ?? [])
        .map((v) => `${v.acknowledgedAt} ${v.acknowledgedId}`),
    );
    for (const ack of acknowledgements) {
      expect([ack.path, ack.id, typeof ack.reason === 'string' && ack.reason.trim().length > 0]).toEqual([ack.path, ack.id, true]);
    }
    // Stale acknowledgements (nothing left to suppress) are listed here.
    expect(acknowledgements.filter((a) => !used.has(`${a.path} ${a.id}`)).map((a) => `${a.path} ${a.id}`)).toEqual([]);
  });
});

/** The message of the error app.synth() throws (failing the test if it does not throw). */
function synthError(app: { synth(): unknown }): string {
  try {
    app.synth();
  } catch (e) {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  throw new Error('app.synth() did not throw: the cdk-nag gate let an unacknowledged finding through');
}

describe('the gate fails synthesis on an unacknowledged finding', () => {
  test('an unencrypted queue that accepts plain HTTP (buildApp as bin/app.ts calls it: the packs are on by default)', () => {
    const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [], ...IN_MEMORY } });
    const stack = buildApp(app);
    const queue = new Queue(stack, 'PlainQueue', { encryption: QueueEncryption.UNENCRYPTED, enforceSSL: false });
    const message = synthError(app);
    expect(message).toMatch(/^ValidationFailed: /);
    expect(message).toMatch(/AwsSolutions-SQS2/); // no server-side encryption
    expect(message).toMatch(/AwsSolutions-SQS4/); // SSL not required
    expect(message).toContain(`${queue.node.path}/Resource`);
  });

  test('an IAM policy with an unacknowledged wildcard resource', () => {
    const { app, stack } = buildTestApp(IN_MEMORY, { nag: true });
    const role = new Role(stack, 'WildcardRole', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:GetItem'], resources: ['*'] }));
    const message = synthError(app);
    expect(message).toMatch(/^ValidationFailed: /);
    expect(message).toContain('AwsSolutions-IAM5[Resource::*]');
    expect(message).toContain(`${role.node.path}/DefaultPolicy/Resource`);
  });

  test('an IAM policy with a wildcard action on a role whose other wildcard is acknowledged', () => {
    const { app, stack } = buildTestApp(IN_MEMORY, { nag: true });
    // The API function's role acknowledges IAM5[Resource::*] (X-Ray) only: a new wildcard action is still a finding.
    stack.api.function.addToRolePolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: [stack.tables.orders.tableArn] }));
    const message = synthError(app);
    expect(message).toContain('AwsSolutions-IAM5[Action::dynamodb:*]');
    expect(message).toContain(`${stack.api.function.role!.node.path}/DefaultPolicy/Resource`);
  });
});
