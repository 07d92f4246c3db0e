/**
 * What each template resource is called locally: its name, ARN and URL, as Ref and Fn::GetAtt return them on AWS.
 * Physical names set in the template are kept; otherwise the logical id is the name.
 */
import { CfnTemplate } from './cloud-assembly';
import { LocalIdentity, ReferenceResolver } from './intrinsics';

export interface LocalEndpoints {
  /** The AWS-compatible endpoint, e.g. http://127.0.0.1:4566 */
  aws: string;
  /** The HTTP API base URL, e.g. http://127.0.0.1:3000/ */
  httpApi: string;
}

/** The local name of a resource (queue, table, bus, function, state machine...). */
export function localName(template: CfnTemplate, logicalId: string): string {
  const r = template.Resources[logicalId];
  const p = (r?.Properties ?? {}) as Record<string, unknown>;
  const named = p.QueueName ?? p.TableName ?? p.Name ?? p.FunctionName ?? p.StateMachineName ?? p.TopicName ?? p.RoleName ?? p.LogGroupName;
  if (typeof named === 'string') return named;
  // CloudFormation names an unnamed FIFO queue with the .fifo suffix a FIFO queue's name needs.
  if (r?.Type === 'AWS::SQS::Queue' && (p.FifoQueue === true || p.FifoQueue === 'true')) return `${logicalId}.fifo`;
  return logicalId;
}

const ARN_SHAPES: Record<string, (name: string, id: LocalIdentity) => string> = {
  'AWS::SQS::Queue': (n, i) => `arn:aws:sqs:${i.region}:${i.accountId}:${n}`,
  'AWS::DynamoDB::Table': (n, i) => `arn:aws:dynamodb:${i.region}:${i.accountId}:table/${n}`,
  'AWS::DynamoDB::GlobalTable': (n, i) => `arn:aws:dynamodb:${i.region}:${i.accountId}:table/${n}`,
  'AWS::Events::EventBus': (n, i) => `arn:aws:events:${i.region}:${i.accountId}:event-bus/${n}`,
  'AWS::Events::Rule': (n, i) => `arn:aws:events:${i.region}:${i.accountId}:rule/${n}`,
  'AWS::Events::Archive': (n, i) => `arn:aws:events:${i.region}:${i.accountId}:archive/${n}`,
  'AWS::Lambda::Function': (n, i) => `arn:aws:lambda:${i.region}:${i.accountId}:function:${n}`,
  'AWS::StepFunctions::StateMachine': (n, i) => `arn:aws:states:${i.region}:${i.accountId}:stateMachine:${n}`,
  'AWS::SNS::Topic': (n, i) => `arn:aws:sns:${i.region}:${i.accountId}:${n}`,
  'AWS::IAM::Role': (n, i) => `arn:aws:iam::${i.accountId}:role/${n}`,
  'AWS::Logs::LogGroup': (n, i) => `arn:aws:logs:${i.region}:${i.accountId}:log-group:${n}:*`,
  'AWS::KMS::Key': (n, i) => `arn:aws:kms:${i.region}:${i.accountId}:key/${n}`,
  'AWS::Scheduler::Schedule': (n, i) => `arn:aws:scheduler:${i.region}:${i.accountId}:schedule/default/${n}`,
};

export function localArn(template: CfnTemplate, logicalId: string, identity: LocalIdentity): string {
  const type = template.Resources[logicalId]?.Type ?? '';
  const shape = ARN_SHAPES[type];
  const name = localName(template, logicalId);
  if (shape) return shape(name, identity);
  const service = type.split('::')[1]?.toLowerCase() ?? 'local';
  return `arn:aws:${service}:${identity.region}:${identity.accountId}:${name}`;
}

export function queueUrl(endpoints: LocalEndpoints, identity: LocalIdentity, name: string): string {
  return `${endpoints.aws}/${identity.accountId}/${name}`;
}

/** The ApiUrl output on AWS is https://<api-id>.execute-api.<region>.amazonaws.com/...: locally it is the HTTP API's URL. */
export function localizeUrl(value: string, endpoints: LocalEndpoints): string {
  return value.replace(/^https:\/\/[^./]+\.execute-api\.[^/]+\/?/, endpoints.httpApi.endsWith('/') ? endpoints.httpApi : `${endpoints.httpApi}/`);
}

export function localReferences(template: CfnTemplate, identity: LocalIdentity, endpoints: LocalEndpoints): ReferenceResolver {
  return (logicalId, attribute) => {
    const resource = template.Resources[logicalId];
    if (!resource) return undefined;
    const name = localName(template, logicalId);
    const arn = localArn(template, logicalId, identity);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return ({ undefined: queueUrl(endpoints, identity, name), Arn: arn, QueueName: name, QueueUrl: queueUrl(endpoints, identity, name) } as Record<string, string>)[String(attribute)];
      case 'AWS::StepFunctions::StateMachine':
      case 'AWS::SNS::Topic':
        return attribute === undefined || attribute === 'Arn' || attribute === 'TopicArn' ? arn : attribute === 'Name' || attribute === 'TopicName' ? name : undefined;
      case 'AWS::ApiGatewayV2::Api':
        return attribute === undefined || attribute === 'ApiId' ? 'local' : attribute === 'ApiEndpoint' ? endpoints.httpApi.replace(/\/$/, '') : undefined;
      default:
        if (attribute === undefined || attribute === 'Name' || attribute === 'QueueName') return name;
        if (attribute === 'Arn' || attribute.endsWith('Arn')) return attribute === 'StreamArn' ? `${arn}/stream/local` : arn;
        return undefined;
    }
  };
}
