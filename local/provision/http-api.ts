/**
 * AWS::ApiGatewayV2::Route -> its integration -> the local function, on the HTTP API engine, with its authorization:
 * an IAM route is called as the named local operator; a JWT route runs its AWS::ApiGatewayV2::Authorizer (issuer,
 * audience, identity source from the template, the route's AuthorizationScopes) with the local issuer's keys when the
 * template trusts the local issuer, and with none otherwise (every token refused, said at start).
 */
import { resolveIntrinsics } from '../assembly/intrinsics';
import { localReferences } from '../assembly/local-names';
import { HttpRoute } from '../engines/http-api';
import { JwtAuthorizer } from '../engines/jwt-authorizer';
import { LOCAL_ISSUER_URL } from '../issuer/local-issuer';
import { Provisioning } from './context';

export async function provisionHttpRoutes(p: Provisioning): Promise<void> {
  const routes: HttpRoute[] = [];
  const authorizers = await jwtAuthorizers(p);
  for (const [, r] of p.resources('AWS::ApiGatewayV2::Route')) {
    const props = p.properties(r);
    const integrationId = /^integrations\/(.+)$/.exec(String(logicalIdOf(p, props.Target, 'AWS::ApiGatewayV2::Integration')))?.[1];
    const integration = integrationId && p.template.Resources[integrationId];
    const uri = integration ? p.resolve<string>(p.properties(integration).IntegrationUri) : undefined;
    const fn = uri ? p.invoker(uri) : undefined;
    if (!fn) {
      p.warnings.push(`route ${String(props.RouteKey)}: its integration is not a local Lambda function`);
      continue;
    }
    const route: HttpRoute = { routeKey: String(props.RouteKey), invoker: fn };
    if (props.AuthorizationType === 'AWS_IAM') route.authorizer = localOperator(p.identity.accountId);
    if (props.AuthorizationType === 'JWT') {
      const authorizer = authorizers.get(String(logicalIdOf(p, props.AuthorizerId, 'AWS::ApiGatewayV2::Authorizer')));
      // A JWT route whose authorizer is not in the template cannot authorize anyone: without `jwt` the API sees no identity (401).
      if (!authorizer) p.warnings.push(`route ${route.routeKey}: its JWT authorizer is not in the template, so its requests carry no identity and the API refuses them (401)`);
      else route.jwt = { authorizer, scopes: p.resolve<string[] | undefined>(props.AuthorizationScopes) ?? [] };
    }
    routes.push(route);
  }
  p.engines.httpApi.setRoutes(routes);
}

/** The template's JWT authorizers by logical id, each with the keys of its issuer when the runtime has them. */
async function jwtAuthorizers(p: Provisioning): Promise<Map<string, JwtAuthorizer>> {
  const authorizers = new Map<string, JwtAuthorizer>();
  for (const [id, r] of p.resources('AWS::ApiGatewayV2::Authorizer')) {
    const props = p.properties(r);
    if (props.AuthorizerType !== 'JWT') {
      p.warnings.push(`authorizer ${id}: type ${String(props.AuthorizerType)} is not run locally, so its routes' requests carry no identity (401)`);
      continue;
    }
    const config = p.resolve<{ Issuer?: string; Audience?: string[] }>(props.JwtConfiguration) ?? {};
    const issuer = String(config.Issuer ?? '');
    const identitySource = p.resolve<string[] | undefined>(props.IdentitySource) ?? ['$request.header.Authorization'];
    const name = String(props.Name ?? id);
    if (!identitySource.every((s) => /^\$request\.(header|querystring)\./i.test(s))) {
      p.warnings.push(`JWT authorizer ${name}: identity source ${identitySource.join(', ')} is not a header or query string, so no request carries a token (401)`);
    }
    const trusted = issuer === LOCAL_ISSUER_URL;
    if (!trusted) {
      p.warnings.push(
        `JWT authorizer ${name}: issuer ${issuer} cannot be verified offline (its keys are published on the network), so every token ` +
          `is refused (401). For local tokens start with --local-jwt (issuer ${LOCAL_ISSUER_URL}) and mint them with npm run token`,
      );
    }
    authorizers.set(id, new JwtAuthorizer({ name, issuer, audiences: config.Audience ?? [], identitySource, ...(trusted ? { jwks: (await p.localIssuer()).jwks() } : {}) }));
  }
  return authorizers;
}

/**
 * Who calls an IAM-authorized route locally: signatures are not checked, so every request is the local operator,
 * named as such (an IAM user of the local account), the way API Gateway names the IAM principal it verified. An
 * explicit identity, not a fallback: a request with none is refused by the API.
 */
export function localOperator(accountId: string): Record<string, unknown> {
  return {
    iam: {
      accessKey: 'local',
      accountId,
      callerId: 'local-operator',
      principalOrgId: null,
      userArn: `arn:aws:iam::${accountId}:user/local-operator`,
      userId: 'local-operator',
    },
  };
}

/** The stage's default throttling, for the HTTP API engine (created before the routes are known). */
export function stageThrottle(p: Pick<Provisioning, 'resources' | 'properties'>): { rateLimit: number; burstLimit: number } | undefined {
  const stage = p.resources('AWS::ApiGatewayV2::Stage')[0]?.[1];
  const settings = (stage ? p.properties(stage).DefaultRouteSettings ?? {} : {}) as { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number };
  if (settings.ThrottlingRateLimit === undefined) return undefined;
  return { rateLimit: settings.ThrottlingRateLimit, burstLimit: settings.ThrottlingBurstLimit ?? settings.ThrottlingRateLimit };
}

/**
 * A route's references to its own API's resources resolve to their logical ids: Target is Fn::Join ["",
 * ["integrations/", {Ref: Integration}]], AuthorizerId is {Ref: Authorizer}.
 */
function logicalIdOf(p: Provisioning, value: unknown, type: string): unknown {
  const refs = localReferences(p.template, p.identity, { aws: '', httpApi: '' });
  return resolveIntrinsics(value, (id, attribute) => (attribute === undefined && p.template.Resources[id]?.Type === type ? id : refs(id, attribute)), p.identity);
}
