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

/** Whether a value is a `Ref` or `Fn::GetAtt` of this logical id. */
export function refersTo(value: unknown, id: string): boolean {
  try {
    return targetOf(value) === id;
  } catch {
    return false;
  }
}

/** The alarms on this metric whose dimension `name` refers to resource `id`. */
export function alarmsOn(template: Template, namespace: string, metricName: string, dimension: string, id: string): [string, CfnResource][] {
  return Object.entries(resources(template, 'AWS::CloudWatch::Alarm')).filter(
    ([, a]) =>
      a.Properties.Namespace === namespace &&
      a.Properties.MetricName === metricName &&
      (a.Properties.Dimensions ?? []).some((d: any) => d.Name === dimension && refersTo(d.Value, id)),
  );
}

/** Whether the alarm goes off when the metric reaches this value. */
export function firesAt(alarm: CfnResource, value: number): boolean {
  const { ComparisonOperator: op, Threshold: threshold } = alarm.Properties;
  if (op === 'GreaterThanOrEqualToThreshold') return value >= threshold;
  if (op === 'GreaterThanThreshold') return value > threshold;
  return false;
}

/** One action on one resource (rendered), as an IAM policy attached to a role grants or denies it. */
export interface Grant {
  effect: 'Allow' | 'Deny';
  action: string;
  resource: string;
  conditional: boolean;
}

/** Every action-resource pair the role's policies (AWS::IAM::Policy resources attached to it) name. */
export function grantsOfRole(template: Template, roleId: string): Grant[] {
  return Object.values(resources(template, 'AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles ?? []).some((r: unknown) => refersTo(r, roleId)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as any[])
    .flatMap((s) => {
      if (s.NotAction || s.NotResource) throw new Error(`NotAction/NotResource in a policy of ${roleId}: read it by hand`);
      const actions: string[] = [].concat(s.Action);
      const resourceList: unknown[] = [].concat(s.Resource);
      return actions.flatMap((action) => resourceList.map((resource) => ({ effect: s.Effect, action, resource: render(resource), conditional: s.Condition !== undefined })));
    });
}

/** The grants of a Lambda function's execution role. */
export function grantsOfFunction(template: Template, functionId: string): Grant[] {
  const fn = resources(template, 'AWS::Lambda::Function')[functionId];
  if (!fn) throw new Error(`${functionId} is not a Lambda function in the template`);
  const role = resources(template, 'AWS::IAM::Role')[targetOf(fn.Properties.Role)];
  // Managed or inline policies on the role itself would escape grantsOfRole: there must be none.
  if (!role || role.Properties.ManagedPolicyArns || role.Properties.Policies) throw new Error(`${functionId}'s role has policies grantsOfRole does not read`);
  return grantsOfRole(template, targetOf(fn.Properties.Role));
}

/**
 * Whether a Lambda event filter pattern matches a record (an SQS message, a DynamoDB stream record), for the
 * subset of the filter syntax this stack uses: nested objects, and arrays of exact string values. Any other
 * operator throws, so a pattern this cannot evaluate never passes or fails silently.
 */
export function filterMatches(pattern: Record<string, unknown>, record: unknown): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const value = record && typeof record === 'object' ? (record as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(rule)) {
      if (!rule.every((r) => typeof r === 'string')) throw new Error(`filter rule ${JSON.stringify(rule)}: only exact string values are evaluated here`);
      return typeof value === 'string' && rule.includes(value);
    }
    if (rule && typeof rule === 'object') return filterMatches(rule as Record<string, unknown>, value);
    throw new Error(`filter rule ${JSON.stringify(rule)} for ${key}: not a filter rule`);
  });
}

/** The parsed filter patterns of an event source mapping (none: every record is delivered). */
export function filterPatterns(mapping: CfnResource): Record<string, unknown>[] {
  return (mapping.Properties.FilterCriteria?.Filters ?? []).map((f: { Pattern: string }) => JSON.parse(f.Pattern));
}

/** Whether an event source mapping delivers this record to its function (no filters, or any filter matches). */
export function delivers(mapping: CfnResource, record: unknown): boolean {
  const patterns = filterPatterns(mapping);
  return patterns.length === 0 || patterns.some((p) => filterMatches(p, record));
}
