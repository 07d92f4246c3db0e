/**
 * The local runtime: synthesizes the app, reads the cloud assembly and runs every resource of the stack on
 * 127.0.0.1. Topology comes only from the synthesized template; a resource type it cannot run is named at start.
 * Tests use startRuntime()/stop(); the CLI (local/cli.ts) wraps it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Clock, systemClock } from './clock';
import { CfnResource, CfnTemplate, readCloudAssembly, StackArtifact } from './assembly/cloud-assembly';
import { LocalIdentity, resolveIntrinsics } from './assembly/intrinsics';
import { localArn, LocalEndpoints, localizeUrl, localName, localReferences } from './assembly/local-names';
import { AwsEndpoint } from './endpoint';
import { EventBusEngine, RuleSpec, TargetSpec } from './engines/event-bus';
import { handleEventsRequest } from './engines/events-api';
import { LocalFunction } from './engines/function-runner';
import { HttpApiEngine, HttpRoute } from './engines/http-api';
import { Invoker } from './engines/invoker';
import { FileQueueStore, MemoryQueueStore, QueueEngine } from './engines/queue-engine';
import { handleSqsRequest } from './engines/sqs-api';
import { SqsEventSource } from './engines/sqs-event-source';
import { DynamoDBStreamEventSource } from './engines/dynamodb-stream-event-source';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SchedulesEngine } from './engines/schedules';
import { handleSfnRequest } from './engines/sfn-api';
import { StateMachineEngine } from './engines/state-machines';
import { tableSpecFrom, TablesEngine } from './engines/tables';
import { synthesize } from './synth';
import { LiveLog } from './live-log';
import { lockDataDir } from './data-dir-lock';

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
  'AWS::ApiGatewayV2::Integration', 'AWS::ApiGatewayV2::Stage', 'AWS::StepFunctions::StateMachine', 'AWS::Scheduler::Schedule',
]);
/** Resource types with nothing to run locally (permissions, telemetry, encryption): accepted silently. */
const INERT = new Set([
  'AWS::IAM::Role', 'AWS::IAM::Policy', 'AWS::SQS::QueuePolicy', 'AWS::Lambda::Permission', 'AWS::Logs::LogGroup',
  'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::Dashboard', 'AWS::KMS::Key', 'AWS::SNS::TopicPolicy', 'AWS::CDK::Metadata',
  'AWS::ApiGatewayV2::Authorizer', 'AWS::Events::Archive',
]);

export async function startRuntime(options: RuntimeOptions = {}): Promise<LocalRuntime> {
  const started = Date.now();
  const live = new LiveLog(options.log ?? ((line) => process.stdout.write(`${line}\n`)));
  const region = options.region ?? 'us-east-1';
  const clock = options.clock ?? systemClock(options.timeScale ?? 1);
  const root = process.cwd();
  const dataDir = options.inMemory ? undefined : path.resolve(root, options.dataDir ?? '.local/data');
  const outputsFile = path.resolve(root, options.outputsFile ?? '.local/outputs.json');

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
  const byType = (type: string) => Object.entries(template.Resources).filter(([, r]) => r.Type === type);

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
  });
  cleanup.push(() => queues.close());
  const functions = new Map<string, LocalFunction>();
  /** The functions as callers reach them (wrapped for fault injection when asked). */
  const invokers = new Map<string, Invoker>();
  const stateMachines = new Map<string, StateMachineEngine>();
  const functionByArnOrName = (ref: string): Invoker | undefined => {
    const name = ref.startsWith('arn:') ? ref.split(':')[6] : ref;
    return invokers.get(name);
  };

  const bus = new EventBusEngine({
    region,
    accountId: ACCOUNT_ID,
    clock,
    deliver: async (arn, payload) => deliver(arn, payload),
    deadLetter: async (dlqArn, payload, attributes) => {
      const name = queues.queueNameFromArn(dlqArn);
      if (!name || !queues.hasQueue(name)) throw new Error(`dead-letter queue ${dlqArn} does not exist`);
      queues.sendMessage(name, { body: payload, messageAttributes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }])) });
    },
    onEvent: ({ event, matchedRules }) => live.event(event, matchedRules),
    onDeliveryFailure: (info) => live.deliveryFailure(info),
  });

  async function deliver(arn: string, payload: string): Promise<void> {
    const service = arn.split(':')[2];
    if (service === 'sqs') {
      const name = queues.queueNameFromArn(arn);
      if (!name || !queues.hasQueue(name)) throw new Error(`NonExistentQueue: ${arn}`);
      queues.sendMessage(name, { body: payload, senderId: 'AIDAEVENTBRIDGE' });
      return;
    }
    if (service === 'lambda') {
      const fn = functionByArnOrName(arn);
      if (!fn) throw new Error(`ResourceNotFoundException: ${arn}`);
      // Asynchronous invoke: accepted once queued; the function's own errors do not fail the delivery.
      void fn.invoke(JSON.parse(payload));
      return;
    }
    if (service === 'states') {
      const machine = stateMachines.get(arn);
      if (!machine) throw new Error(`StateMachineDoesNotExist: ${arn}`);
      await machine.start(JSON.parse(payload));
      return;
    }
    throw new Error(`targets of service ${service} are not supported locally (${arn})`);
  }

  const endpoint: AwsEndpoint = new AwsEndpoint({
    sqs: (target, body) => handleSqsRequest(queues, target, body, { endpoint: queues.endpoint, region }),
    events: (operation, body) => handleEventsRequest(bus, operation, body),
    stepFunctions: (operation, body) => handleSfnRequest(stateMachines, operation, body),
    get dynamodbEndpoint() {
      return tables.endpoint;
    },
  });
  const routes: HttpRoute[] = [];
  const stageResource = byType('AWS::ApiGatewayV2::Stage')[0]?.[1];
  const settings = (stageResource?.Properties?.DefaultRouteSettings ?? {}) as { ThrottlingRateLimit?: number; ThrottlingBurstLimit?: number };
  const httpApi = new HttpApiEngine({
    routes,
    accountId: ACCOUNT_ID,
    region,
    throttle: settings.ThrottlingRateLimit !== undefined ? { rateLimit: settings.ThrottlingRateLimit, burstLimit: settings.ThrottlingBurstLimit ?? settings.ThrottlingRateLimit } : undefined,
    onRequest: (info) => live.request(info),
  });

  try {
    await tablesStarted;
    warnings.push(...tables.warnings);
    const awsUrl = await endpoint.listen(options.awsPort ?? 4566);
    cleanup.push(() => endpoint.close());
    queues.endpoint = awsUrl;
    const endpoints: LocalEndpoints = { aws: awsUrl, httpApi: 'http://127.0.0.1:0/' };
    // The HTTP API's routes are filled in below; its port must be known before references resolve.
    endpoints.httpApi = await httpApi.listen(options.port ?? 3000);
    cleanup.push(() => httpApi.close());

    const refs = localReferences(template, identity, endpoints);
    const resolve = <T>(value: unknown) => resolveIntrinsics(value, refs, identity) as T;
    const props = (r: CfnResource) => (r.Properties ?? {}) as Record<string, unknown>;

    // DynamoDB
    await tables.createTables(
      [...byType('AWS::DynamoDB::Table'), ...byType('AWS::DynamoDB::GlobalTable')].map(([id, r]) => tableSpecFrom(localName(template, id), resolve(props(r)))),
      region,
    );

    // SQS: dead-letter queues first so redrive policies name existing queues.
    const queueResources = byType('AWS::SQS::Queue').sort(([, a], [, b]) => Number(Boolean(props(a).RedrivePolicy)) - Number(Boolean(props(b).RedrivePolicy)));
    for (const [id, r] of queueResources) {
      const p = resolve<Record<string, unknown>>(props(r));
      const attributes: Record<string, string> = {};
      for (const key of ['VisibilityTimeout', 'MessageRetentionPeriod', 'DelaySeconds', 'ReceiveMessageWaitTimeSeconds', 'MaximumMessageSize', 'SqsManagedSseEnabled', 'KmsMasterKeyId']) {
        if (p[key] !== undefined) attributes[key] = String(p[key]);
      }
      if (p.RedrivePolicy) attributes.RedrivePolicy = JSON.stringify(p.RedrivePolicy);
      if (p.RedriveAllowPolicy) attributes.RedriveAllowPolicy = JSON.stringify(p.RedriveAllowPolicy);
      const name = localName(template, id);
      if (queues.hasQueue(name)) queues.setQueueAttributes(name, attributes);
      else queues.createQueue(name, attributes);
    }

    // Lambda
    const localEnvironment = {
      AWS_ENDPOINT_URL: awsUrl,
      AWS_ENDPOINT_URL_DYNAMODB: tables.endpoint,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const esmConcurrency = new Map<string, number>();
    for (const [, r] of byType('AWS::Lambda::EventSourceMapping')) {
      const p = props(r);
      const fnName = resolve<string>(p.FunctionName);
      const max = (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency;
      if (max) esmConcurrency.set(fnName, max);
    }
    for (const [id, r] of byType('AWS::Lambda::Function')) {
      const p = props(r);
      const codeDirectory = stack.assetDirectory(id);
      if (!codeDirectory) {
        warnings.push(`function ${id} has no local asset (inline code is not run)`);
        continue;
      }
      const name = localName(template, id);
      const env = resolve<Record<string, string>>((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
      const logging = p.LoggingConfig as { LogFormat?: 'Text' | 'JSON'; ApplicationLogLevel?: string } | undefined;
      const fn = new LocalFunction({
        name,
        codeDirectory,
        handler: String(p.Handler ?? 'index.handler'),
        environment: { ...env, ...localEnvironment },
        timeoutSeconds: Number(p.Timeout ?? 3),
        memorySize: Number(p.MemorySize ?? 128),
        maxConcurrency: Number(p.ReservedConcurrentExecutions ?? esmConcurrency.get(name) ?? 10),
        region,
        runtime: typeof p.Runtime === 'string' ? p.Runtime : undefined,
        logFormat: logging?.LogFormat,
        applicationLogLevel: logging?.ApplicationLogLevel,
        clock,
        onLog: options.functionLog ? (line) => options.functionLog!(name, line) : undefined,
      });
      functions.set(name, fn);
      invokers.set(name, options.wrapInvoker ? options.wrapInvoker(fn) : fn);
    }
    cleanup.push(() => Promise.all([...functions.values()].map((f) => f.stop())).then(() => undefined));

    // EventBridge
    for (const [id] of byType('AWS::Events::EventBus')) bus.addBus(localName(template, id));
    for (const [id, r] of byType('AWS::Events::Rule')) {
      const p = resolve<Record<string, unknown>>(props(r));
      if (p.ScheduleExpression) {
        warnings.push(`rule ${id}: scheduled rules are run by the schedules engine only when they target a state machine`);
      }
      if (!p.EventPattern) continue;
      const rule: RuleSpec = {
        name: localName(template, id),
        arn: localArn(template, id, identity),
        eventBusName: bus.busNameOf(p.EventBusName as string | undefined),
        eventPattern: p.EventPattern as Record<string, unknown>,
        state: p.State === 'DISABLED' ? 'DISABLED' : 'ENABLED',
        description: p.Description as string | undefined,
        targets: ((p.Targets as Record<string, unknown>[] | undefined) ?? []).map(
          (t): TargetSpec => ({
            id: String(t.Id),
            arn: String(t.Arn),
            input: t.Input as string | undefined,
            inputPath: t.InputPath as string | undefined,
            inputTransformer: t.InputTransformer
              ? { inputPathsMap: (t.InputTransformer as { InputPathsMap?: Record<string, string> }).InputPathsMap, inputTemplate: String((t.InputTransformer as { InputTemplate: string }).InputTemplate) }
              : undefined,
            deadLetterArn: (t.DeadLetterConfig as { Arn?: string } | undefined)?.Arn,
            retryPolicy: t.RetryPolicy
              ? { maximumEventAgeInSeconds: (t.RetryPolicy as { MaximumEventAgeInSeconds?: number }).MaximumEventAgeInSeconds, maximumRetryAttempts: (t.RetryPolicy as { MaximumRetryAttempts?: number }).MaximumRetryAttempts }
              : undefined,
          }),
        ),
      };
      bus.addRule(rule);
    }
    cleanup.push(() => bus.drain());

    // Step Functions
    for (const [id, r] of byType('AWS::StepFunctions::StateMachine')) {
      const p = props(r);
      const definition = p.DefinitionString !== undefined ? JSON.parse(resolve<string>(p.DefinitionString)) : resolve(p.Definition);
      const arn = localArn(template, id, identity);
      const name = localName(template, id);
      stateMachines.set(arn, new StateMachineEngine(arn, name, definition, functionByArnOrName, clock, (e) => live.execution(name, e)));
    }
    cleanup.push(() => Promise.all([...stateMachines.values()].map((m) => m.drain())).then(() => undefined));

    // HTTP API routes -> integrations -> functions
    for (const [, r] of byType('AWS::ApiGatewayV2::Route')) {
      const p = props(r);
      const integrationId = /^integrations\/(.+)$/.exec(String(resolveTarget(p.Target)))?.[1];
      const integration = integrationId && template.Resources[integrationId];
      const uri = integration ? resolve<string>(props(integration).IntegrationUri) : undefined;
      const fn = uri ? functionByArnOrName(uri) : undefined;
      if (!fn) {
        warnings.push(`route ${String(p.RouteKey)}: its integration is not a local Lambda function`);
        continue;
      }
      routes.push({ routeKey: String(p.RouteKey), invoker: fn });
    }
    httpApi.setRoutes(routes);

    // Event source mappings
    const eventSources: SqsEventSource[] = [];
    const streamSources: DynamoDBStreamEventSource[] = [];
    for (const [id, r] of byType('AWS::Lambda::EventSourceMapping')) {
      const p = resolve<Record<string, unknown>>(props(r));
      const source = String(p.EventSourceArn ?? '');
      const queueName = queues.queueNameFromArn(source);
      const fn = functionByArnOrName(String(p.FunctionName));
      const streamTable = /^arn:aws:dynamodb:[^:]*:[^:]*:table\/([^/]+)\/stream\//.exec(source)?.[1];
      if (fn && streamTable && p.Enabled !== false) {
        streamSources.push(await streamSource(id, p, streamTable, source, fn));
        continue;
      }
      if (!queueName || !fn) {
        warnings.push(`event source mapping ${id}: only SQS and DynamoDB stream sources to local functions run locally (${source})`);
        continue;
      }
      if (p.Enabled === false) continue;
      eventSources.push(
        new SqsEventSource({
          engine: queues,
          queueName,
          invoker: fn,
          batchSize: Number(p.BatchSize ?? 10),
          maximumBatchingWindowSeconds: Number(p.MaximumBatchingWindowInSeconds ?? 0),
          maximumConcurrency: (p.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency,
          reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
          clock,
          region,
          onBatch: (info) => live.batch(info),
          onError: (error) => live.warn(`event source ${id}: ${(error as Error).message}`),
        }),
      );
    }
    eventSources.forEach((s) => s.start());
    cleanup.push(() => Promise.all(eventSources.map((s) => s.stop())).then(() => undefined));
    streamSources.forEach((s) => s.start());
    cleanup.push(() => Promise.all(streamSources.map((s) => s.stop())).then(() => undefined));

    // Schedules
    const schedules = new SchedulesEngine(clock, (name, error) => live.schedule(name, error));
    for (const [id, r] of byType('AWS::Scheduler::Schedule')) {
      const p = resolve<Record<string, unknown>>(props(r));
      const target = p.Target as { Arn: string; Input?: string };
      schedules.add({
        name: localName(template, id),
        expression: String(p.ScheduleExpression),
        enabled: p.State !== 'DISABLED',
        fire: () => deliver(target.Arn, target.Input ?? '{}'),
      });
    }
    schedules.unsupported.forEach((s) => warnings.push(`schedule not emulated (only rate() and at()): ${s}`));
    cleanup.push(() => schedules.stop());

    // Outputs, written when ready
    const outputs: Record<string, string> = {};
    for (const [key, output] of Object.entries(template.Outputs ?? {})) {
      try {
        outputs[key] = localizeUrl(String(resolve(output.Value)), endpoints);
      } catch (error) {
        warnings.push(`output ${key}: ${(error as Error).message}`);
      }
    }
    const allOutputs = { [stack.stackName]: outputs };
    mkdirSync(path.dirname(outputsFile), { recursive: true });
    writeFileSync(outputsFile, `${JSON.stringify(allOutputs, null, 2)}\n`);

    warnings.forEach((w) => live.warn(w));
    live.ready({ httpApi: endpoints.httpApi, aws: awsUrl, outputsFile, dataDir, seconds: (Date.now() - started) / 1000, timeScale: clock.scale });

    let stopping: Promise<void> | undefined;
    return {
      stackName: stack.stackName,
      outputs: allOutputs,
      endpoints,
      warnings,
      engines: { queues, bus, functions, stateMachines, eventSources, streamSources, tables },
      names: (logicalId) => localName(template, logicalId),
      template,
      stop: () => (stopping ??= stopAll(cleanup)),
    };
  } catch (error) {
    await stopAll(cleanup).catch(() => undefined);
    throw error;
  }

  /** A DynamoDB stream mapping on DynamoDB Local's stream of that table (its ARN is DynamoDB Local's own). */
  async function streamSource(id: string, p: Record<string, unknown>, tableName: string, eventSourceArn: string, fn: Invoker): Promise<DynamoDBStreamEventSource> {
    const client = new DynamoDBClient({ endpoint: tables.endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    let streamArn: string | undefined;
    try {
      streamArn = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.LatestStreamArn;
    } finally {
      client.destroy();
    }
    if (!streamArn) throw new Error(`event source mapping ${id}: table ${tableName} has no stream (StreamSpecification)`);
    const onFailureArn = (p.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure?.Destination;
    const onFailureQueue = onFailureArn ? queues.queueNameFromArn(onFailureArn) : undefined;
    if (onFailureArn && !onFailureQueue) warnings.push(`event source mapping ${id}: on-failure destination ${onFailureArn} is not a local queue (discarded batches are only logged)`);
    return new DynamoDBStreamEventSource({
      endpoint: tables.endpoint,
      region,
      tableName,
      streamArn,
      eventSourceArn,
      invoker: fn,
      startingPosition: p.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
      batchSize: Number(p.BatchSize ?? 100),
      filterPatterns: ((p.FilterCriteria as { Filters?: { Pattern: string }[] } | undefined)?.Filters ?? []).map((f) => f.Pattern),
      reportBatchItemFailures: ((p.FunctionResponseTypes as string[] | undefined) ?? []).includes('ReportBatchItemFailures'),
      bisectBatchOnFunctionError: p.BisectBatchOnFunctionError === true,
      maximumRetryAttempts: p.MaximumRetryAttempts === undefined ? undefined : Number(p.MaximumRetryAttempts),
      maximumRecordAgeInSeconds: p.MaximumRecordAgeInSeconds === undefined ? undefined : Number(p.MaximumRecordAgeInSeconds),
      onFailure: onFailureQueue ? async (message) => void queues.sendMessage(onFailureQueue, { body: message }) : undefined,
      checkpointFile: dataDir ? path.join(dataDir, 'lambda', `${id}.stream-position.json`) : undefined,
      clock,
      onBatch: (info) => live.streamBatch(info),
      onError: (error) => live.warn(`event source ${id}: ${(error as Error).message}`),
    });
  }

  function resolveTarget(target: unknown): unknown {
    const refs = localReferences(template, identity, { aws: '', httpApi: '' });
    // Route targets are Fn::Join ["", ["integrations/", {Ref: Integration}]]: the Ref is the integration's logical id.
    return resolveIntrinsics(target, (id, attribute) => (attribute === undefined && template.Resources[id]?.Type === 'AWS::ApiGatewayV2::Integration' ? id : refs(id, attribute)), identity);
  }
}

/** Stops in reverse order of start: event sources and schedules first, so in-flight work finishes or returns. */
async function stopAll(cleanup: (() => Promise<void> | void)[]): Promise<void> {
  for (const step of cleanup.reverse()) await step();
}
