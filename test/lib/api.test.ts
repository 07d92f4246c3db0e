/**
 * The HTTP API: one route per ROUTES entry on the API function; stage throttling and logs. Its security promises (no
 * route open, IAM or JWT authorization with each route's scopes, access logs naming the caller) are in
 * test/lib/security.test.ts.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../../lib/config';
import { ROUTES, RouteSpec, routeKey } from '../../functions/api/routes';
import { resources, targetOf } from './cfn';
import { buildTestApp, logicalIdOf, OVERRIDES, synth } from './synth';

const defaults = synth();
const overridden = synth(OVERRIDES);
const routeSpecs: RouteSpec[] = Object.values(ROUTES);

/** The template's routes by route key, each key present once. */
function routesByKey(s: typeof defaults) {
  const routes = Object.values(resources(s.template, 'AWS::ApiGatewayV2::Route'));
  const byKey = new Map(routes.map((r) => [r.Properties.RouteKey as string, r.Properties]));
  expect(byKey.size).toBe(routes.length);
  return byKey;
}

describe.each([
  ['default context', defaults],
  ['overridden context', overridden],
])('%s', (_label, s) => {
  test('one route per ROUTES entry, and no other', () => {
    expect([...routesByKey(s).keys()].sort()).toEqual(routeSpecs.map(routeKey).sort());
  });

  test('every route integrates with the API function', () => {
    const api = logicalIdOf(s.stack, s.stack.api.api);
    const fn = logicalIdOf(s.stack, s.stack.api.function);
    const integrations = resources(s.template, 'AWS::ApiGatewayV2::Integration');
    for (const [key, route] of routesByKey(s)) {
      expect([key, route.ApiId]).toEqual([key, { Ref: api }]);
      const target = route.Target['Fn::Join'][1];
      expect(target[0]).toBe('integrations/');
      const integration = integrations[targetOf(target[1])];
      expect(integration.Properties).toEqual(expect.objectContaining({ IntegrationType: 'AWS_PROXY', IntegrationUri: { 'Fn::GetAtt': [fn, 'Arn'] } }));
    }
  });

  test('the $default stage auto-deploys and writes JSON access logs to a log group', () => {
    const stages = Object.values(resources(s.template, 'AWS::ApiGatewayV2::Stage'));
    expect(stages).toHaveLength(1);
    const stage = stages[0].Properties;
    expect(stage).toEqual(expect.objectContaining({ StageName: '$default', AutoDeploy: true }));
    expect(resources(s.template, 'AWS::Logs::LogGroup')).toHaveProperty([targetOf(stage.AccessLogSettings.DestinationArn)]);
    const format = JSON.parse(stage.AccessLogSettings.Format);
    expect(format).toEqual(expect.any(Object));
    expect(Array.isArray(format)).toBe(false);
    const values = Object.values(format);
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) expect(value).toMatch(/^\$context\./);
    expect(values).toEqual(expect.arrayContaining(['$context.requestId', '$context.status', '$context.routeKey']));
  });
});

describe('default context', () => {
  test('stage throttling is DEFAULT_CONFIG', () => {
    defaults.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({
        ThrottlingRateLimit: DEFAULT_CONFIG.throttlingRateLimit,
        ThrottlingBurstLimit: DEFAULT_CONFIG.throttlingBurstLimit,
      }),
    });
  });
});

describe('context jwtIssuer + jwtAudience (and throttling overrides)', () => {
  const template = overridden.template;

  test('stage throttling follows context throttlingRateLimit / throttlingBurstLimit', () => {
    expect(OVERRIDES.throttlingRateLimit).not.toBe(DEFAULT_CONFIG.throttlingRateLimit);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({
        ThrottlingRateLimit: OVERRIDES.throttlingRateLimit,
        ThrottlingBurstLimit: OVERRIDES.throttlingBurstLimit,
      }),
    });
  });

  test('jwtAudience may list several audiences, comma-separated', () => {
    const { stack } = buildTestApp({ jwtIssuer: OVERRIDES.jwtIssuer, jwtAudience: 'a, b' });
    expect(stack.api.authorizer).toBeDefined();
    // Construction alone resolves the authorizer's configuration.
    const authorizer = stack.api.api.node.findAll().find((c) => c.node.id === 'JwtAuthorizer');
    expect(authorizer).toBeDefined();
    expect(stack.resolve((authorizer!.node.defaultChild as any).jwtConfiguration)).toEqual({ issuer: OVERRIDES.jwtIssuer, audience: ['a', 'b'] });
  });
});

describe('bad context is rejected with a message naming the key', () => {
  test.each<[string, Record<string, unknown>, RegExp]>([
    ['non-numeric throttlingRateLimit', { throttlingRateLimit: 'abc' }, /throttlingRateLimit must be a positive integer.*"abc"/],
    ['zero throttlingRateLimit', { throttlingRateLimit: 0 }, /throttlingRateLimit must be a positive integer/],
    ['fractional throttlingBurstLimit', { throttlingBurstLimit: 2.5 }, /throttlingBurstLimit must be a positive integer/],
    ['burst below rate', { throttlingRateLimit: 10, throttlingBurstLimit: 5 }, /throttlingBurstLimit must be at least throttlingRateLimit/],
    ['non-numeric sweepIntervalMinutes', { sweepIntervalMinutes: 'often' }, /sweepIntervalMinutes must be a positive integer/],
    ['jwtIssuer without jwtAudience', { jwtIssuer: OVERRIDES.jwtIssuer }, /jwtIssuer and jwtAudience must be given together/],
    ['jwtAudience without jwtIssuer', { jwtAudience: OVERRIDES.jwtAudience }, /jwtIssuer and jwtAudience must be given together/],
    ['a non-https jwtIssuer', { jwtIssuer: 'http://issuer.example.com/', jwtAudience: OVERRIDES.jwtAudience }, /jwtIssuer must be an https:\/\/ URL/],
    ['an empty jwtAudience', { jwtIssuer: OVERRIDES.jwtIssuer, jwtAudience: ' , ' }, /jwtAudience must name at least one audience/],
    ['an unknown notificationChannel', { notificationChannel: 'carrier-pigeon' }, /notificationChannel must be one of/],
  ])('%s', (_label, context, message) => {
    expect(() => buildTestApp(context)).toThrow(message);
  });
});
