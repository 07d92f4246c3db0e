/** AWS::ApiGatewayV2::Route -> its integration -> the local function, on the HTTP API engine. */
import { resolveIntrinsics } from '../assembly/intrinsics';
import { localReferences } from '../assembly/local-names';
import { HttpRoute } from '../engines/http-api';
import { Provisioning } from './context';

export function provisionHttpRoutes(p: Provisioning): void {
  const routes: HttpRoute[] = [];
  for (const [, r] of p.resources('AWS::ApiGatewayV2::Route')) {
    const props = p.properties(r);
    const integrationId = /^integrations\/(.+)$/.exec(String(integrationTarget(p, props.Target)))?.[1];
    const integration = integrationId && p.template.Resources[integrationId];
    const uri = integration ? p.resolve<string>(p.properties(integration).IntegrationUri) : undefined;
    const fn = uri ? p.invoker(uri) : undefined;
    if (!fn) {
      p.warnings.push(`route ${String(props.RouteKey)}: its integration is not a local Lambda function`);
      continue;
    }
    const authorizer = props.AuthorizationType === 'AWS_IAM' ? localOperator(p.identity.accountId) : undefined;
    if (props.AuthorizationType === 'JWT') p.warnings.push(`route ${String(props.RouteKey)}: its JWT authorizer is not run locally, so its requests carry no identity and the API refuses them (401)`);
    routes.push({ routeKey: String(props.RouteKey), invoker: fn, ...(authorizer ? { authorizer } : {}) });
  }
  p.engines.httpApi.setRoutes(routes);
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

/** Route targets are Fn::Join ["", ["integrations/", {Ref: Integration}]]: the Ref is the integration's logical id. */
function integrationTarget(p: Provisioning, target: unknown): unknown {
  const refs = localReferences(p.template, p.identity, { aws: '', httpApi: '' });
  return resolveIntrinsics(target, (id, attribute) => (attribute === undefined && p.template.Resources[id]?.Type === 'AWS::ApiGatewayV2::Integration' ? id : refs(id, attribute)), p.identity);
}
