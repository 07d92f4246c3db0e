/**
 * Routes and their authorization from the template (local/provision/http-api.ts), on a template shaped as CDK
 * synthesizes the JWT-authorized API (an AWS::ApiGatewayV2::Authorizer, routes with AuthorizerId and
 * AuthorizationScopes): the local issuer's authorizer is run with its keys; any other issuer is said at start and
 * refuses every token.
 */
import { CfnTemplate } from '../../local/assembly/cloud-assembly';
import { HttpRoute } from '../../local/engines/http-api';
import { LOCAL_AUDIENCE, LOCAL_ISSUER_URL, LocalIssuer, parseTokenRequest } from '../../local/issuer/local-issuer';
import { Provisioning } from '../../local/provision/context';
import { provisionHttpRoutes } from '../../local/provision/http-api';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:api';

function template(issuer: string): CfnTemplate {
  const route = (key: string, scopes?: string[]) => ({
    Type: 'AWS::ApiGatewayV2::Route',
    Properties: {
      ApiId: { Ref: 'Api' },
      AuthorizationType: 'JWT',
      AuthorizerId: { Ref: 'JwtAuthorizer4505DE10' },
      RouteKey: key,
      Target: { 'Fn::Join': ['', ['integrations/', { Ref: 'Integration' }]] },
      ...(scopes ? { AuthorizationScopes: scopes } : {}),
    },
  });
  return {
    Resources: {
      Api: { Type: 'AWS::ApiGatewayV2::Api', Properties: {} },
      Integration: { Type: 'AWS::ApiGatewayV2::Integration', Properties: { IntegrationUri: FUNCTION_ARN } },
      JwtAuthorizer4505DE10: {
        Type: 'AWS::ApiGatewayV2::Authorizer',
        Properties: { AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'], JwtConfiguration: { Audience: [LOCAL_AUDIENCE], Issuer: issuer }, Name: 'JwtAuthorizer' },
      },
      GetOrders: route('GET /orders'),
      SetStock: route('PUT /inventory/{sku}', ['orders/admin']),
    },
  };
}

let issuer: LocalIssuer;
beforeAll(async () => {
  issuer = await LocalIssuer.open();
});

async function provision(t: CfnTemplate): Promise<{ routes: HttpRoute[]; warnings: string[] }> {
  let routes: HttpRoute[] = [];
  const p = {
    template: t,
    identity: { region: 'us-east-1', accountId: '000000000000', stackName: 'S' },
    warnings: [] as string[],
    resources: (type: string) => Object.entries(t.Resources).filter(([, r]) => r.Type === type),
    properties: (r: { Properties?: Record<string, unknown> }) => r.Properties ?? {},
    // The values read here are literals in this template.
    resolve: (value: unknown) => value,
    invoker: (uri: string) => (uri === FUNCTION_ARN ? { name: 'api', invoke: async () => ({ ok: true, result: {}, durationMs: 0 }) } : undefined),
    engines: { httpApi: { setRoutes: (r: HttpRoute[]) => (routes = r) } },
    localIssuer: async () => issuer,
  } as unknown as Provisioning;
  await provisionHttpRoutes(p);
  return { routes, warnings: p.warnings };
}

const bearer = async (scope?: string) => ({ headers: { authorization: `Bearer ${await issuer.mint(parseTokenRequest({ sub: 'c-42', ...(scope ? { scope } : {}) }))}` } });

test('the local issuer: each route gets the authorizer with its keys and the route scopes, and nothing is warned', async () => {
  const { routes, warnings } = await provision(template(LOCAL_ISSUER_URL));
  expect(warnings).toEqual([]);
  const byKey = Object.fromEntries(routes.map((r) => [r.routeKey, r]));
  expect(byKey['GET /orders'].jwt?.scopes).toEqual([]);
  expect(byKey['PUT /inventory/{sku}'].jwt?.scopes).toEqual(['orders/admin']);
  expect(byKey['GET /orders'].authorizer).toBeUndefined();
  expect(await byKey['GET /orders'].jwt!.authorizer.authorize(await bearer())).toMatchObject({ ok: true });
  expect(await byKey['PUT /inventory/{sku}'].jwt!.authorizer.authorize(await bearer(), byKey['PUT /inventory/{sku}'].jwt!.scopes)).toMatchObject({ ok: false, status: 403 });
});

test('another issuer: said once at start, and even a well-signed token is refused 401', async () => {
  const { routes, warnings } = await provision(template('https://login.example.com/tenant'));
  expect(warnings).toEqual([
    'JWT authorizer JwtAuthorizer: issuer https://login.example.com/tenant cannot be verified offline (its keys are published on the network), so every token ' +
      `is refused (401). For local tokens start with --local-jwt (issuer ${LOCAL_ISSUER_URL}) and mint them with npm run token`,
  ]);
  expect(routes).toHaveLength(2);
  for (const route of routes) {
    expect(route.jwt?.authorizer.verifiable).toBe(false);
    expect(await route.jwt!.authorizer.authorize(await bearer('orders/admin'))).toMatchObject({ ok: false, status: 401 });
  }
});
