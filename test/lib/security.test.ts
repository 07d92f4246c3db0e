/**
 * Every security promise of the stack, read from the synthesized template: the one file to read for what the stack
 * promises and what pins each promise. Each is checked in every deployment it could differ in: IAM authorization with
 * table notifications (the default), JWT authorization (OVERRIDES), SNS notifications.
 *
 * Pinned elsewhere, because they are about code rather than the template:
 * - A caller nobody identified is refused, never trusted as an administrator: `callerOf` (functions/api/http.ts)
 *   throws UnauthenticatedError for a token without `sub`, an empty `sub`, and a request with no authorizer context
 *   (test/functions/shared/http-and-env.test.ts, "callerOf"); the API answers those 401 problem+json on every route,
 *   reading and writing nothing (test/functions/api/handler.test.ts, "a caller nobody identified ...").
 * - The access map of each function (lib/function-access.ts) is what its code sends, no more and no less: every
 *   handler run on DynamoDB Local with its template environment, every SDK command recorded
 *   (test/functions/function-access.test.ts). Here: the template grants exactly that map.
 * - cdk-nag (AwsSolutions, Serverless) gates synthesis, every acknowledgement with a reason and none stale
 *   (test/lib/nag.test.ts). Here: which IAM acknowledgements may exist at all.
 */
import { Role } from 'aws-cdk-lib/aws-iam';
import { Match } from 'aws-cdk-lib/assertions';
import { SCOPES } from '../../functions/domain/caller';
import { ROUTES, routeKey } from '../../functions/api/routes';
import { accessPairs, FUNCTION_NAMES, FunctionName, functionAccess, ResourceName, TABLE_NAMES } from '../../lib/function-access';
import { Grant, grantsOfFunction, grantsOfRole, render, resources, targetOf } from './cfn';
import { acknowledgementsIn, logicalIdOf, OVERRIDES, Synthesized, synth } from './synth';

const DEPLOYMENTS: [string, Synthesized][] = [
  ['IAM authorization, table notifications', synth()],
  ['JWT authorization', synth(OVERRIDES)],
  ['SNS notifications', synth({ notificationChannel: 'sns' })],
];
const [iamMode, jwtMode, snsMode] = DEPLOYMENTS.map(([, s]) => s) as [Synthesized, Synthesized, Synthesized];

const routesOf = (s: Synthesized) => Object.values(resources(s.template, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties);

/**
 * Actions AWS gives no resource-level permissions, so an identity policy can only grant them on "*": X-Ray's (every
 * function traces; the state machine too) and CloudWatch Logs' vended log delivery (the state machine's execution
 * logs). Nothing else may be granted on "*".
 */
const WITHOUT_RESOURCE_LEVEL_PERMISSIONS = {
  xray: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
  logDelivery: [
    'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
  ],
};

/**
 * What AWS itself does with a function's role, granted by the constructs that set it up (not by the access map):
 * writing its logs (PipelineFunction: its own log group only), tracing (Tracing.ACTIVE), and what Lambda's event
 * source mappings do with the function's role: poll its queue (SqsEventSource), read the orders stream and send what
 * it gives up on to the DLQ (the relay's DynamoEventSource and SqsDlq). Exactly CDK's grants for those.
 */
const PLATFORM = {
  logs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  tracing: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
  sqsEventSource: ['sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
  streamEventSource: ['dynamodb:ListStreams', 'dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
  onFailureDestination: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
};

const channelOf = (s: Synthesized) => (s.stack.notificationTopic ? 'sns' : 'table');
const idOf = (s: Synthesized, c: Parameters<typeof logicalIdOf>[1]) => logicalIdOf(s.stack, c);
const getAtt = (s: Synthesized, c: Parameters<typeof logicalIdOf>[1], attribute = 'Arn') => `<GetAtt:${idOf(s, c)}.${attribute}>`;
const grantsOf = (s: Synthesized, name: FunctionName) => grantsOfFunction(s.template, idOf(s, s.stack.functions[name]));
const asText = (grants: Pick<Grant, 'action' | 'resource'>[]) => [...new Set(grants.map((g) => `${g.action} on ${g.resource}`))].sort();

/** A resource of the access map as the template renders its ARN. */
function arnOf(s: Synthesized, resource: ResourceName): string {
  if ((TABLE_NAMES as readonly string[]).includes(resource)) return getAtt(s, s.stack.tables[resource as (typeof TABLE_NAMES)[number]]);
  if (resource.startsWith('orders/index/')) return `${getAtt(s, s.stack.tables.orders)}/index/${resource.slice('orders/index/'.length)}`;
  switch (resource) {
    case 'bus':
      return getAtt(s, s.stack.events.bus);
    case 'relayDeadLetterQueue':
      return getAtt(s, s.stack.relay.deadLetterQueue);
    case 'notificationTopic':
      return `<Ref:${idOf(s, s.stack.notificationTopic!)}>`;
    case 'notificationTopicKey':
      return getAtt(s, s.stack.notificationTopicKey!);
  }
  throw new Error(`no ARN for ${resource}`);
}

/** What the function's role must hold: its access map, plus the platform's grants for that function. */
function expectedGrants(s: Synthesized, name: FunctionName): string[] {
  const fn = resources(s.template, 'AWS::Lambda::Function')[idOf(s, s.stack.functions[name])]!;
  const logGroup = `<GetAtt:${targetOf(fn.Properties.LoggingConfig.LogGroup)}.Arn>`;
  const on = (actions: string[], resource: string) => actions.map((action) => ({ action, resource }));
  const platform = [...on(PLATFORM.logs, logGroup), ...on(PLATFORM.tracing, '*')];
  if (name === 'inventory' || name === 'notification') platform.push(...on(PLATFORM.sqsEventSource, getAtt(s, s.stack.consumers[name].queue)));
  if (name === 'relay') {
    platform.push(...on(PLATFORM.streamEventSource, getAtt(s, s.stack.tables.orders, 'StreamArn')));
    platform.push(...on(PLATFORM.onFailureDestination, getAtt(s, s.stack.relay.deadLetterQueue)));
  }
  const code = accessPairs(functionAccess(channelOf(s))[name]).map(([resource, action]) => ({ action, resource: arnOf(s, resource) }));
  return asText([...code, ...platform]);
}

/** Every policy statement anywhere in the template, with the resource that holds it. */
function statementsIn(s: Synthesized): { holder: string; type: string; statement: Record<string, any> }[] {
  const found: { holder: string; type: string; statement: Record<string, any> }[] = [];
  const walk = (holder: string, type: string, value: unknown) => {
    if (!value || typeof value !== 'object') return;
    const v = value as Record<string, unknown>;
    if (Array.isArray(v.Statement)) for (const statement of v.Statement) found.push({ holder, type, statement });
    for (const child of Object.values(v)) walk(holder, type, child);
  };
  for (const [id, resource] of Object.entries(s.template.toJSON().Resources as Record<string, { Type: string }>)) walk(id, resource.Type, resource);
  expect(found.length).toBeGreaterThan(0);
  return found;
}

const actionsOf = (statement: Record<string, any>): string[] => {
  if (statement.NotAction || statement.NotResource || statement.NotPrincipal) throw new Error(`a Not* statement: read it by hand: ${JSON.stringify(statement)}`);
  return [].concat(statement.Action ?? []);
};

describe('no route is open: every request is authenticated by API Gateway before the API function sees it', () => {
  test.each(DEPLOYMENTS)('%s: every route of the template is AWS_IAM or JWT (never NONE, never unset)', (_label, s) => {
    const routes = routesOf(s);
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect([route.RouteKey, ['AWS_IAM', 'JWT'].includes(route.AuthorizationType)]).toEqual([route.RouteKey, true]);
  });

  test('IAM mode: every route is AWS_IAM (SigV4-signed callers), without scopes; there is no other authorizer', () => {
    for (const route of routesOf(iamMode)) expect([route.RouteKey, route.AuthorizationType, route.AuthorizationScopes]).toEqual([route.RouteKey, 'AWS_IAM', undefined]);
    iamMode.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  test('JWT mode: one JWT authorizer, with the issuer and audience from context', () => {
    const authorizers = Object.values(resources(jwtMode.template, 'AWS::ApiGatewayV2::Authorizer'));
    expect(authorizers.map((a) => a.Properties)).toEqual([
      expect.objectContaining({
        ApiId: { Ref: idOf(jwtMode, jwtMode.stack.api.api) },
        AuthorizerType: 'JWT',
        JwtConfiguration: { Issuer: OVERRIDES.jwtIssuer, Audience: [OVERRIDES.jwtAudience] },
      }),
    ]);
  });

  test.each(Object.entries(ROUTES))('JWT mode: route %s uses that authorizer and requires exactly its ROUTES scopes', (_name, spec) => {
    const authorizer = Object.keys(resources(jwtMode.template, 'AWS::ApiGatewayV2::Authorizer'))[0];
    const route = routesOf(jwtMode).find((r) => r.RouteKey === routeKey(spec));
    expect(route).toEqual(expect.objectContaining({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizer } }));
    expect(route!.AuthorizationScopes).toEqual(spec.scopes.length ? [...spec.scopes] : undefined);
  });

  test('JWT mode: stock routes need exactly the admin scope, confirming a payment the payments or admin scope', () => {
    const stockRoutes = Object.values(ROUTES).filter((r) => r.path.startsWith('/inventory/'));
    expect(stockRoutes.map(routeKey)).toEqual(expect.arrayContaining([routeKey(ROUTES.setStock), routeKey(ROUTES.getStock), routeKey(ROUTES.adjustStock)]));
    for (const spec of stockRoutes) expect([routeKey(spec), [...spec.scopes]]).toEqual([routeKey(spec), [SCOPES.admin]]);
    expect([...ROUTES.confirmPayment.scopes].sort()).toEqual([SCOPES.admin, SCOPES.payments].sort());
  });
});

describe('access logs say who called', () => {
  test.each(DEPLOYMENTS)('%s: the stage logs the IAM principal ($context.identity.userArn) and the JWT subject ($context.authorizer.claims.sub)', (_label, s) => {
    const stages = Object.values(resources(s.template, 'AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    expect(JSON.parse(stages[0]!.Properties.AccessLogSettings.Format)).toMatchObject({ iamPrincipal: '$context.identity.userArn', jwtSubject: '$context.authorizer.claims.sub' });
  });
});

describe('least privilege: each function may do exactly what its code does, on its own resources', () => {
  test.each(DEPLOYMENTS)('%s: every function has a role of its own, assumed by Lambda only, with no managed or inline policies', (_label, s) => {
    const functions = resources(s.template, 'AWS::Lambda::Function');
    expect(Object.keys(functions).sort()).toEqual(FUNCTION_NAMES.map((n) => idOf(s, s.stack.functions[n])).sort());
    const roles = Object.values(functions).map((fn) => targetOf(fn.Properties.Role));
    expect(new Set(roles).size).toBe(roles.length);
    for (const role of roles) {
      const properties = resources(s.template, 'AWS::IAM::Role')[role]!.Properties;
      expect([role, properties.AssumeRolePolicyDocument.Statement]).toEqual([role, [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }]]);
      expect([role, properties.ManagedPolicyArns, properties.Policies]).toEqual([role, undefined, undefined]);
    }
  });

  describe.each(DEPLOYMENTS)('%s', (_label, s) => {
    test.each([...FUNCTION_NAMES])("%s's role holds exactly its access (lib/function-access.ts) and the platform's grants for it", (name) => {
      const grants = grantsOf(s, name);
      expect(grants.filter((g) => g.effect !== 'Allow' || g.conditional)).toEqual([]);
      expect(asText(grants)).toEqual(expectedGrants(s, name));
    });

    test('the internet-facing API function can neither delete, scan nor batch-write, on any table, nor run PartiQL', () => {
      const forbidden = grantsOf(s, 'api').filter((g) => /^dynamodb:(DeleteItem|Scan|BatchWriteItem|PartiQL.*|DeleteTable|UpdateTable|\*)$/.test(g.action));
      expect(forbidden).toEqual([]);
    });

    test('index ARNs: only the functions that query an index may, and only on that index (never "<table>/index/*")', () => {
      for (const name of FUNCTION_NAMES) {
        const indexGrants = grantsOf(s, name).filter((g) => g.resource.includes('/index/'));
        const queried = functionAccess(channelOf(s))[name].queries ?? [];
        expect([name, asText(indexGrants)]).toEqual([name, queried.map((index) => `dynamodb:Query on ${getAtt(s, s.stack.tables.orders)}/index/${index}`).sort()]);
      }
      expect(functionAccess(channelOf(s)).api.queries).toEqual(['byCustomer']);
      expect(functionAccess(channelOf(s)).findWork.queries).toEqual(['openOrders']);
    });

    test('only the API, the event relay and the sweep repair task may put events, and only on the bus', () => {
      const publishers = FUNCTION_NAMES.filter((name) => grantsOf(s, name).some((g) => g.action.startsWith('events:')));
      expect(publishers).toEqual(['api', 'relay', 'repairOrder']);
      for (const name of publishers) expect([name, asText(grantsOf(s, name).filter((g) => g.action.startsWith('events:')))]).toEqual([name, [`events:PutEvents on ${getAtt(s, s.stack.events.bus)}`]]);
    });
  });

  test('SNS mode: the notification function writes no table but its own once-only records, and cannot touch the notifications table', () => {
    const grants = grantsOf(snsMode, 'notification').filter((g) => g.action.startsWith('dynamodb:'));
    expect([...new Set(grants.map((g) => g.resource))]).toEqual([getAtt(snsMode, snsMode.stack.tables.idempotency)]);
    const env = resources(snsMode.template, 'AWS::Lambda::Function')[idOf(snsMode, snsMode.stack.functions.notification)]!.Properties.Environment.Variables;
    expect(Object.values(env)).not.toContainEqual({ Ref: idOf(snsMode, snsMode.stack.tables.notifications) });
  });

  test('table mode: the notification function may only put into the notifications table: no SNS, no KMS, no idempotency table', () => {
    expect(asText(grantsOf(iamMode, 'notification').filter((g) => /^(dynamodb|sns|kms):/.test(g.action)))).toEqual([`dynamodb:PutItem on ${getAtt(iamMode, iamMode.stack.tables.notifications)}`]);
    iamMode.template.resourceCountIs('AWS::SNS::Topic', 1); // the alarm topic only
  });
});

describe('no wildcards where AWS does not require them', () => {
  test.each(DEPLOYMENTS)('%s: no wildcard action ("*" or "service:*") is allowed by any policy in the template', (_label, s) => {
    const wildcards = statementsIn(s).filter(({ type, statement }) => {
      if (statement.Effect !== 'Allow') return false;
      const wild = actionsOf(statement).filter((a) => a === '*' || /^[A-Za-z0-9-]+:\*$/.test(a));
      if (!wild.length) return false;
      // A KMS key's default policy: the account administers its own key and delegates its use to IAM policies
      // (without it nobody could ever manage the key again). Its principal is the account, not a function or service.
      const accountAdministersKey =
        type === 'AWS::KMS::Key' && wild.every((a) => a === 'kms:*') && render(statement.Principal?.AWS) === 'arn:<Ref:AWS::Partition>:iam::<Ref:AWS::AccountId>:root';
      return !accountAdministersKey;
    });
    expect(wildcards).toEqual([]);
  });

  test.each(DEPLOYMENTS)('%s: no identity policy names an action with a wildcard in it at all (not even "kms:GenerateDataKey*")', (_label, s) => {
    const identity = statementsIn(s).filter(({ type }) => type === 'AWS::IAM::Policy' || type === 'AWS::IAM::ManagedPolicy');
    expect(identity.flatMap(({ holder, statement }) => actionsOf(statement).filter((a) => a.includes('*')).map((a) => `${holder}: ${a}`))).toEqual([]);
  });

  test.each(DEPLOYMENTS)('%s: Resource "*" is granted only for actions AWS gives no resource-level permissions (X-Ray; the state machine\'s log delivery)', (_label, s) => {
    const roles = Object.keys(resources(s.template, 'AWS::IAM::Role'));
    const stateMachineRole = idOf(s, s.stack.sweep.stateMachine.role);
    for (const role of roles) {
      const allowed = role === stateMachineRole ? [...WITHOUT_RESOURCE_LEVEL_PERMISSIONS.xray, ...WITHOUT_RESOURCE_LEVEL_PERMISSIONS.logDelivery] : WITHOUT_RESOURCE_LEVEL_PERMISSIONS.xray;
      const onEverything = grantsOfRole(s.template, role).filter((g) => g.resource === '*');
      expect([role, onEverything.filter((g) => g.effect !== 'Allow' || !allowed.includes(g.action)).map((g) => g.action)]).toEqual([role, []]);
    }
    // And no managed policy could grant anything on "*" instead.
    s.template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
  });

  test.each(DEPLOYMENTS)('%s: cdk-nag wildcard acknowledgements (IAM5) only for Resource "*" where AWS requires it, and for Step Functions invoking its own functions\' versions', (_label, s) => {
    const iam5 = acknowledgementsIn(s).filter((a) => a.id.includes('AwsSolutions-IAM5'));
    expect(iam5.length).toBeGreaterThan(0);
    const sweepFunctions = Object.values(s.stack.sweep.functions).map((f) => `AwsSolutions::AwsSolutions-IAM5[Resource::<${idOf(s, f)}.Arn>:*]`);
    for (const ack of iam5) {
      if (ack.id === 'AwsSolutions::AwsSolutions-IAM5[Resource::*]') {
        // On a role, whose "*" grants are all of the kinds above (the previous test), and saying why.
        expect([ack.path, ack.construct instanceof Role]).toEqual([ack.path, true]);
        expect([ack.path, String(ack.reason)]).toEqual([ack.path, expect.stringMatching(/X-Ray .*no resource-level permissions/)]);
        continue;
      }
      expect([ack.path, ack.construct === s.stack.sweep.stateMachine.role, sweepFunctions.includes(ack.id)]).toEqual([ack.path, true, true]);
    }
    // No acknowledged wildcard action, anywhere.
    expect(acknowledgementsIn(s).filter((a) => a.id.includes('[Action::'))).toEqual([]);
  });
});

describe('encryption at rest and in transit', () => {
  test.each(DEPLOYMENTS)('%s: every table is encrypted at rest', (_label, s) => {
    const tables = Object.entries(resources(s.template, 'AWS::DynamoDB::GlobalTable'));
    expect(tables.length).toBe(TABLE_NAMES.length);
    for (const [id, table] of tables) expect([id, table.Properties.SSESpecification?.SSEEnabled]).toEqual([id, true]);
  });

  test.each(DEPLOYMENTS)('%s: every queue is encrypted (SQS-managed keys) and denies any request not over TLS, to everyone', (_label, s) => {
    const queues = Object.entries(resources(s.template, 'AWS::SQS::Queue'));
    expect(queues.length).toBeGreaterThan(0);
    for (const [id, queue] of queues) {
      expect([id, queue.Properties.SqsManagedSseEnabled]).toEqual([id, true]);
      const denyPlainHttp = Match.objectLike({
        Effect: 'Deny',
        Action: 'sqs:*',
        Principal: { AWS: '*' },
        Resource: { 'Fn::GetAtt': [id, 'Arn'] },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      });
      const policies = s.template.findResources('AWS::SQS::QueuePolicy', {
        Properties: { Queues: Match.arrayWith([{ Ref: id }]), PolicyDocument: { Statement: Match.arrayWith([denyPlainHttp]) } },
      });
      expect([id, Object.keys(policies).length]).toEqual([id, 1]);
    }
  });

  test.each(DEPLOYMENTS)('%s: every topic is encrypted with its own KMS key (rotated) and denies publishing not over TLS', (_label, s) => {
    const topics = Object.entries(resources(s.template, 'AWS::SNS::Topic'));
    expect(topics.length).toBe(s.stack.notificationTopic ? 2 : 1);
    const keys = resources(s.template, 'AWS::KMS::Key');
    for (const [id, topic] of topics) {
      const key = keys[targetOf(topic.Properties.KmsMasterKeyId)];
      expect([id, key?.Properties.EnableKeyRotation]).toEqual([id, true]);
      s.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Action: 'sns:Publish', Principal: '*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });
});
