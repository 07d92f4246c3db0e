/** Reading a synthesized CloudFormation template: resources by type, references, and intrinsic strings. */
import { Template } from 'aws-cdk-lib/assertions';

export interface CfnResource {
  Type: string;
  Properties: Record<string, any>;
  [key: string]: any;
}

/** The template's resources of one type, by logical id (Properties always present). */
export function resources(template: Template, type: string): Record<string, CfnResource> {
  return Object.fromEntries(
    Object.entries(template.findResources(type)).map(([id, r]) => [id, { ...r, Type: r.Type, Properties: r.Properties ?? {} }]),
  );
}

/** The logical id a `Ref` or `Fn::GetAtt` points at. */
export function targetOf(value: unknown): string {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return v.Ref;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  throw new Error(`expected a Ref or Fn::GetAtt, got ${JSON.stringify(value)}`);
}

/**
 * A string-valued intrinsic rendered as text, references replaced by placeholders: `<Ref:Id>`,
 * `<GetAtt:Id.Attribute>`, `Fn::Join` flattened. Placeholders contain no quotes, so a rendered JSON document
 * (a state machine definition) still parses.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value && typeof value === 'object') {
    const v = value as Record<string, any>;
    if (typeof v.Ref === 'string') return `<Ref:${v.Ref}>`;
    if (Array.isArray(v['Fn::GetAtt'])) return `<GetAtt:${v['Fn::GetAtt'].join('.')}>`;
    if (Array.isArray(v['Fn::Join'])) {
      const [separator, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  throw new Error(`cannot render ${JSON.stringify(value)}`);
}

/**
 * Every SQS queue the template uses as a dead-letter queue: redrive policy targets, EventBridge rule target and
 * Scheduler target dead-letter configs, Lambda dead-letter configs and event source mapping failure destinations.
 */
export function deadLetterQueueIds(template: Template): Set<string> {
  const queues = resources(template, 'AWS::SQS::Queue');
  const arns: unknown[] = [];
  for (const q of Object.values(queues)) if (q.Properties.RedrivePolicy) arns.push(q.Properties.RedrivePolicy.deadLetterTargetArn);
  for (const rule of Object.values(resources(template, 'AWS::Events::Rule'))) {
    for (const target of rule.Properties.Targets ?? []) if (target.DeadLetterConfig) arns.push(target.DeadLetterConfig.Arn);
  }
  for (const schedule of Object.values(resources(template, 'AWS::Scheduler::Schedule'))) {
    if (schedule.Properties.Target?.DeadLetterConfig) arns.push(schedule.Properties.Target.DeadLetterConfig.Arn);
  }
  for (const fn of Object.values(resources(template, 'AWS::Lambda::Function'))) {
    if (fn.Properties.DeadLetterConfig?.TargetArn) arns.push(fn.Properties.DeadLetterConfig.TargetArn);
  }
  for (const esm of Object.values(resources(template, 'AWS::Lambda::EventSourceMapping'))) {
    if (esm.Properties.DestinationConfig?.OnFailure?.Destination) arns.push(esm.Properties.DestinationConfig.OnFailure.Destination);
  }
  return new Set(arns.map(targetOf).filter((id) => id in queues));
}

/** Whether an EventBridge pattern of `source` and `detail-type` lists matches an event with these fields. */
export function patternMatches(pattern: Record<string, unknown>, event: { source: string; 'detail-type': string }): boolean {
  return Object.entries(event).every(([key, value]) => {
    const allowed = pattern[key];
    return allowed === undefined || (Array.isArray(allowed) && allowed.includes(value));
  });
}
