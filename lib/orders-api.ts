/**
 * The HTTP API: one route per entry of the shared route table, all on the API function. No route is open:
 * IAM authorization by default, a JWT authorizer (with per-route scopes) when an issuer and audience are given.
 * The default stage throttles and writes JSON access logs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpNoneAuthorizer, HttpStage, IHttpRouteAuthorizer, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTES } from '../functions/api/routes';
import { Observability } from './observability';
import { PipelineFunction } from './pipeline-function';

export interface OrdersApiProps {
  environment: Record<string, string>;
  timeoutSeconds: number;
  throttle: { rateLimit: number; burstLimit: number };
  jwt?: { issuer: string; audience: string[] };
  observability: Observability;
  logRetention: RetentionDays;
}

/** Fields of each access log line (HTTP API $context variables). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  integrationLatency: '$context.integrationLatency',
  latency: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  // Who called: the IAM principal API Gateway verified (IAM mode), or the token's subject (JWT mode); the other is
  // empty. ($context.authorizer.principalId is a Lambda authorizer's, which this API has none of.)
  iamPrincipal: '$context.identity.userArn',
  jwtSubject: '$context.authorizer.claims.sub',
};

export class OrdersApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly function: PipelineFunction;
  readonly authorizer: IHttpRouteAuthorizer;

  constructor(scope: Construct, id: string, props: OrdersApiProps) {
    super(scope, id);
    this.function = new PipelineFunction(this, 'Function', {
      entry: 'api/handler.ts',
      serviceName: 'orders-api',
      timeoutSeconds: props.timeoutSeconds,
      memorySize: 512,
      environment: props.environment,
      logRetention: props.logRetention,
    });
    this.authorizer = props.jwt
      ? new HttpJwtAuthorizer('JwtAuthorizer', props.jwt.issuer, { jwtAudience: props.jwt.audience })
      : new HttpIamAuthorizer();
    if (this.authorizer instanceof HttpNoneAuthorizer) throw new Error('the orders API must not have open routes');

    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Order intake and order/inventory queries',
      defaultAuthorizer: this.authorizer,
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.function, { timeout: Duration.seconds(Math.min(29, props.timeoutSeconds + 1)) });
    for (const route of Object.values(ROUTES)) {
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration,
        // Per-route scopes only mean something to a JWT authorizer.
        authorizationScopes: props.jwt && route.scopes.length ? [...route.scopes] : undefined,
      });
    }

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const o = props.observability;
    const serverErrors = this.api.metricServerError({ period: Duration.minutes(1), statistic: 'Sum' });
    o.alarm(this, 'ServerErrorAlarm', serverErrors, 1, 'Orders API answered 5xx');
    o.graph('API requests / 4xx / 5xx', [
      this.api.metricCount({ period: Duration.minutes(1) }),
      this.api.metricClientError({ period: Duration.minutes(1) }),
      serverErrors,
    ]);
    o.graph('API latency p99 (ms)', [this.api.metricLatency({ period: Duration.minutes(1), statistic: 'p99' })]);
    o.alarmOnFunction(this, this.function, 'orders API');
  }
}
