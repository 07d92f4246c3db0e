/**
 * The local runtime: synthesizes the app, reads the cloud assembly and runs every resource of the stack on
 * 127.0.0.1. Topology comes only from the synthesized template; a resource type it cannot run is named at start.
 * Tests use startRuntime()/stop(); the CLI (local/cli.ts) wraps it.
 */
import * as path from 'node:path';
import { Clock, systemClock } from './clock';
import { CfnResource, CfnTemplate, readCloudAssembly, StackArtifact } from './assembly/cloud-assembly';
import { LocalIdentity, resolveIntrinsics } from './assembly/intrinsics';
import { localArn, LocalEndpoints, localName, localReferences } from './assembly/local-names';
import { AwsEndpoint } from './endpoint';
import { DYNAMODB_FAULT_KINDS } from './http/dynamodb-faults';
import { EventBusEngine } from './engines/event-bus';
import { handleEventsRequest } from './engines/events-api';
import { LocalFunction } from './engines/function-runner';
import { HttpApiEngine } from './engines/http-api';
import { Invoker } from './engines/invoker';
import { FileQueueStore, MemoryQueueStore, QueueEngine } from './engines/queue-engine';
import { handleSqsRequest } from './engines/sqs-api';
import { SqsEventSource } from './engines/sqs-event-source';
import { DynamoDBStreamEventSource } from './engines/dynamodb-stream-event-source';
import { handleSfnRequest } from './engines/sfn-api';
import { StateMachineEngine } from './engines/state-machines';
import { TablesEngine } from './engines/tables';
import { FaultInjector, FaultPlanInput, parseFaultPlan } from './faults/fault-plan';
import { Engines, Provisioning } from './provision/context';
import { provisionAsyncInvocations } from './provision/async-invocations';
import { provisionEventBus } from './provision/event-bus';
import { provisionEventSources } from './provision/event-sources';
import { provisionFunctions } from './provision/functions';
import { provisionHttpRoutes, stageThrottle } from './provision/http-api';
import { writeOutputs } from './provision/outputs';
import { provisionQueues } from './provision/queues';
import { provisionSchedules } from './provision/schedules';
import { provisionStateMachines } from './provision/state-machines';
import { provisionTables } from './provision/tables';
import { deliverToTarget } from './provision/targets';
import { synthesize } from './synth';
import { LiveLog } from './live-log';
import { lockDataDir } from './data-dir-lock';
import { LocalIssuer } from './issuer/local-issuer';
import { handleIssuerRequest } from './issuer/issuer-api';
import type { OpenedOpsPage } from './ops-page/open';
import { isOpsPagePath } from './ops-page/path';

export interface RuntimeOptions {
  /** HTTP API port (default 3000; 0 picks a free one). */
  port?: number;
  /** AWS endpoint port (default 4566; 0 picks a free one). */
  awsPort?: number;
  /** Tables and queued messages are kept here across restarts (default .local/data). */
  dataDir?: string;
  /** Nothing on disk. */
  inMemory?: boolean;
  /** Runtime waits (visibility timeouts, batching windows, delays, retries, schedules) run this many times faster. */
  timeScale?: number;
  /** Written when ready, shaped like `cdk deploy --outputs-file` (default .local/outputs.json). */
  outputsFile?: string;
  /** CDK context passed to synth (`-c key=value`). */
  context?: Record<string, string>;
  /** Where the cloud assembly is written (default .local/cdk.out). */
  assemblyDir?: string;
  /** An existing cloud assembly to run instead of synthesizing (tests that synthesize once). */
  useAssembly?: string;
  region?: string;
  /** Concise pipeline log lines (default: stdout). */
  log?: (line: string) => void;
  /** Every function output line, with the function name (default: discarded). */
  functionLog?: (functionName: string, line: string) => void;
  clock?: Clock;
  /**
   * Wraps every function as its callers see it (HTTP API, event sources, rule targets, state machines): the seam
   * for fault injection (errors, timeouts, throttling, latency) without touching the functions.
   */
  wrapInvoker?: (invoker: Invoker) => Invoker;
  /** Pollers per SQS event source (default 1: deterministic batches; several: batches form as timing decides). */
  sqsPollers?: number;
  /** Fault injection (local/faults/fault-plan.ts): a plan, or an injector the caller keeps. Default: none. */
  faults?: FaultPlanInput | FaultInjector;
}

export interface LocalRuntime {
  stackName: string;
  outputs: Record<string, Record<string, string>>;
  endpoints: LocalEndpoints;
  warnings: string[];
  engines: {
    queues: QueueEngine;
    bus: EventBusEngine;
    functions: Map<string, LocalFunction>;
    stateMachines: Map<string, StateMachineEngine>;
    eventSources: SqsEventSource[];
    streamSources: DynamoDBStreamEventSource[];
    tables: TablesEngine;
  };
  /** Every injected fault is counted here (and logged on the live log). */
  faults: FaultInjector;
  /** The local token issuer, when the stack's JWT authorizer trusts it (`--local-jwt`). */
  issuer?: LocalIssuer;
  /** Local names of the template's resources by logical id. */
  names: (logicalId: string) => string;
  template: CfnTemplate;
  stop(): Promise<void>;
}

export const ACCOUNT_ID = '000000000000';

/** Resource types run locally. */
const RUN = new Set([
  'AWS::DynamoDB::Table', 'AWS::DynamoDB::GlobalTable', 'AWS::SQS::Queue', 'AWS::Events::EventBus', 'AWS::Events::Rule',
  'AWS::Lambda::Function', 'AWS::Lambda::EventSourceMapping', 'AWS::ApiGatewayV2::Api', 'AWS::ApiGatewayV2::Route',
  'AWS::ApiGatewayV2::Integration', 'AWS::ApiGatewayV2::Stage', 'AWS::ApiGatewayV2::Authorizer', 'AWS::StepFunctions::StateMachine',
  'AWS::Scheduler::Schedule', 'AWS::Lambda::EventInvokeConfig', 'AWS::Events::Archive',
]);
/** Resource types with nothing to run locally (permissions, telemetry, encryption): accepted silently. */
const INERT = new Set([
  'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::SQS::QueuePolicy', 'AWS::Lambda::Permission', 'AWS::Logs::LogGroup',
  'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::KMS::Key', 'AWS::SNS::TopicPolicy', 'AWS::CDK::Metadata',
]);

export async function startRuntime(options: RuntimeOptions = {}): Promise<LocalRuntime> {
  const started = Date.now();
  const live = new LiveLog(options.log ?? ((line) => process.stdout.write(`${line}\n`)));
  const region = options.region ?? 'us-east-1';
  const clock = options.clock ?? systemClock(options.timeScale ?? 1);
  const root = process.cwd();
  const dataDir = options.inMemory ? undefined : path.resolve(root, options.dataDir ?? '.local/data');
  const outputsFile = path.resolve(root, options.outputsFile ?? '.local/outputs.json');
  const faults = options.faults instanceof FaultInjector ? options.faults : new FaultInjector(parseFaultPlan(options.faults ?? {}), (f) => live.fault(f));

  // Stopped in reverse order; the data directory's lock is taken before anything reads it and released last.
  const cleanup: (() => Promise<void> | void)[] = [];
  if (dataDir) cleanup.push(lockDataDir(dataDir));

  // DynamoDB Local is a JVM (~1.5 s to boot): spawned first, it boots while the app synthesizes.
  const tables = new TablesEngine({ dataDirectory: dataDir && path.join(dataDir, 'dynamodb') });
  let spawned!: () => void;
  const tablesSpawned = new Promise<void>((resolve) => (spawned = resolve));
  const tablesStarted = tables.start(() => spawned());
  tablesStarted.catch(() => undefined);
  cleanup.push(() => tablesStarted.then(() => tables.stop(), () => undefined));

  let stack: StackArtifact;
  try {
    await Promise.race([tablesSpawned, tablesStarted]);
    const assemblyDir = options.useAssembly ?? synthesize({ outdir: path.resolve(root, options.assemblyDir ?? '.local/cdk.out'), context: options.context ?? {} });
    const stacks = readCloudAssembly(assemblyDir);
    if (stacks.length !== 1) throw new Error(`the local runtime runs one stack; the app has ${stacks.length}`);
    stack = stacks[0];
  } catch (error) {
    await stopAll(cleanup).catch(() => undefined);
    throw error;
  }
  const template = stack.template;
  const identity: LocalIdentity = { region, accountId: ACCOUNT_ID, stackName: stack.stackName };
  const resources = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);
  const properties = (r: CfnResource) => (r.Properties ?? {}) as Record<string, unknown>;

  const warnings: string[] = [];
  const unsupported = new Map<string, string[]>();
  for (const [id, r] of Object.entries(template.Resources)) {
    if (!RUN.has(r.Type) && !INERT.has(r.Type)) unsupported.set(r.Type, [...(unsupported.get(r.Type) ?? []), id]);
  }
  for (const [type, ids] of unsupported) warnings.push(`not run locally: ${type} (${ids.join(', ')})`);

  // Engines that others call into, created before the servers so requests find them.
  const queues = new QueueEngine({
    clock,
    region,
    accountId: ACCOUNT_ID,
    store: dataDir ? new FileQueueStore(path.join(dataDir, 'sqs')) : new MemoryQueueStore(),
    faults,
  });
  cleanup.push(() => queues.close());
  const bus = new EventBusEngine({
    region,
    accountId: ACCOUNT_ID,
    clock,
    deliver: (arn, payload) => provisioning.deliver(arn, payload),
    deadLetter: async (dlqArn, payload, attributes) => {
      const name = queues.queueNameFromArn(dlqArn);
      if (!name || !queues.hasQueue(name)) throw new Error(`dead-letter queue ${dlqArn} does not exist`);
      queues.sendMessage(name, { body: payload, messageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])) });
    },
    faults,
    journalDirectory: dataDir && path.join(dataDir, 'events'),
    archiveDirectory: dataDir && path.join(dataDir, 'events', 'archives'),
    onEvent: ({ event, matchedRules }) => {
      live.event(event, matchedRules);
      openedPage?.page.sampler.recordEvent(String(event['detail-type']));
    },
    onDeliveryFailure: (info) => live.deliveryFailure(info),
  });
  const httpApi = new HttpApiEngine({
    routes: [],
    accountId: ACCOUNT_ID,
    region,
    throttle: stageThrottle({ resources, properties }),
    onRequest: (info) => live.request(info),
    onError: (error, context) => live.warn(`HTTP API ${context}: ${(error as Error)?.stack ?? String(error)}`),
  });
  const engines: Engines = { tables, queues, bus, httpApi, functions: new Map(), invokers: new Map(), asyncInvocations: new Map(), stateMachines: new Map(), eventSources: [], streamSources: [] };
  const endpoint: AwsEndpoint = new AwsEndpoint({
    sqs: (target, body, { signal, headers }) => handleSqsRequest(queues, target, body, { endpoint: queues.endpoint, region, signal, headers }),
    events: (operation, body) => handleEventsRequest(bus, operation, body),
    stepFunctions: (operation, body) => handleSfnRequest(engines.stateMachines, operation, body),
    get dynamodbEndpoint() {
      return tables.endpoint;
    },
    faults,
    admin: async (request) =>
      request.path === '/_local/faults' && request.method === 'GET'
        ? { status: 200, body: faults.counts() }
        : isOpsPagePath(request.path) && openOpsPage
          ? (await openOpsPage()).page.handle(request)
          : handleIssuerRequest(issuer, request, endpoints.aws),
    onError: (error, context) => live.warn(`AWS endpoint ${context}: ${(error as Error)?.stack ?? String(error)}`),
  });

  const endpoints: LocalEndpoints = { aws: 'http://127.0.0.1:0', httpApi: 'http://127.0.0.1:0/' };
  // Served once the stack's outputs exist (its queues are found by them, as the operator's CLI finds them), and
  // loaded on its first request.
  let openOpsPage: (() => Promise<OpenedOpsPage>) | undefined;
  let openedPage: OpenedOpsPage | undefined;
  // Opened by the HTTP API's provisioner when an authorizer trusts it; until then its paths answer 404.
  let issuer: LocalIssuer | undefined;
  let opening: Promise<LocalIssuer> | undefined;
  let refs: ReturnType<typeof localReferences> | undefined;
  const provisioning: Provisioning = {
    template,
    stack,
    identity,
    endpoints,
    clock,
    live,
    faults,
    sqsPollers: options.sqsPollers ?? 1,
    dataDir,
    engines,
    warnings,
    resources,
    properties,
    resolve: <T>(value: unknown) => resolveIntrinsics(value, (refs ??= localReferences(template, identity, endpoints)), identity) as T,
    name: (logicalId) => localName(template, logicalId),
    arn: (logicalId) => localArn(template, logicalId, identity),
    invoker: (ref) => engines.invokers.get(ref.startsWith('arn:') ? ref.split(':')[6] : ref),
    deliver: (arn, payload) => deliverToTarget(provisioning, arn, payload),
    localIssuer: () => (opening ??= LocalIssuer.open(dataDir).then((opened) => (issuer = opened))),
    onStop: (step) => void cleanup.push(step),
  };

  try {
    await tablesStarted;
    warnings.push(...tables.warnings);
    endpoints.aws = await endpoint.listen(options.awsPort ?? 4566);
    cleanup.push(() => endpoint.close());
    queues.endpoint = endpoints.aws;
    // The HTTP API's routes are bound below; its port must be known before references resolve.
    endpoints.httpApi = await httpApi.listen(options.port ?? 3000);
    cleanup.push(() => httpApi.close());

    await provisionTables(provisioning);
    provisionQueues(provisioning);
    provisionFunctions(provisioning, {
      environment: {
        AWS_ENDPOINT_URL: endpoints.aws,
        // With DynamoDB faults planned, DynamoDB goes through the AWS endpoint (their seam: it pipes the rest to
        // DynamoDB Local); without, straight to DynamoDB Local, one hop fewer on every call.
        AWS_ENDPOINT_URL_DYNAMODB: DYNAMODB_FAULT_KINDS.some((kind) => faults.mayInject(kind)) ? endpoints.aws : tables.endpoint,
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
      functionLog: options.functionLog,
      wrapInvoker: options.wrapInvoker,
    });
    provisionAsyncInvocations(provisioning);
    provisionEventBus(provisioning);
    provisionStateMachines(provisioning);
    await provisionHttpRoutes(provisioning);
    await provisionEventSources(provisioning);
    provisionSchedules(provisioning);
    const outputs = writeOutputs(provisioning, outputsFile);
    let pageOpening: Promise<OpenedOpsPage> | undefined;
    const stackOutputs = { stackName: stack.stackName, outputs: outputs[stack.stackName], source: 'the local runtime' };
    openOpsPage = () => (pageOpening ??= import('./ops-page/open').then(({ openOpsPage: open }) => (openedPage = open(stackOutputs, endpoints.aws, region))));
    cleanup.push(() => openedPage?.close());
    // Work a killed process left pending resumes once every target exists.
    engines.asyncInvocations.forEach((a) => a.start());
    bus.start();

    warnings.forEach((w) => live.warn(w));
    live.ready({ httpApi: endpoints.httpApi, aws: endpoints.aws, outputsFile, dataDir, seconds: (Date.now() - started) / 1000, timeScale: clock.scale });

    let stopping: Promise<void> | undefined;
    return {
      stackName: stack.stackName,
      outputs,
      endpoints,
      warnings,
      engines: { queues, bus, functions: engines.functions, stateMachines: engines.stateMachines, eventSources: engines.eventSources, streamSources: engines.streamSources, tables },
      faults,
      ...(issuer ? { issuer } : {}),
      names: (logicalId) => localName(template, logicalId),
      template,
      stop: () => (stopping ??= stopAll(cleanup)),
    };
  } catch (error) {
    await stopAll(cleanup).catch(() => undefined);
    throw error;
  }
}

/** Stops in reverse order of start: event sources and schedules first, so in-flight work finishes or returns. */
async function stopAll(cleanup: (() => Promise<void> | void)[]): Promise<void> {
  for (const step of cleanup.reverse()) await step();
}
