/**
 * What every provisioner gets: the template and its local names, the engines that already run, and where to
 * register a step for stop. A provisioner reads one resource type from the synthesized template and starts it on
 * its engine; a new resource type is a new provisioner, not an edit in the middle of startRuntime.
 */
import { Clock } from '../clock';
import { CfnResource, CfnTemplate, StackArtifact } from '../assembly/cloud-assembly';
import { LocalIdentity } from '../assembly/intrinsics';
import { LocalEndpoints } from '../assembly/local-names';
import { EventBusEngine } from '../engines/event-bus';
import { LocalFunction } from '../engines/function-runner';
import { HttpApiEngine } from '../engines/http-api';
import { Invoker } from '../engines/invoker';
import { QueueEngine } from '../engines/queue-engine';
import { SqsEventSource } from '../engines/sqs-event-source';
import { DynamoDBStreamEventSource } from '../engines/dynamodb-stream-event-source';
import { StateMachineEngine } from '../engines/state-machines';
import { TablesEngine } from '../engines/tables';
import { Faults } from '../faults/faults';
import { LambdaAsyncInvoke } from '../engines/lambda-async-invoke';
import { LiveLog } from '../live-log';
import { LocalIssuer } from '../issuer/local-issuer';

export interface Engines {
  tables: TablesEngine;
  queues: QueueEngine;
  bus: EventBusEngine;
  httpApi: HttpApiEngine;
  /** The functions as they run. */
  functions: Map<string, LocalFunction>;
  /** The functions as callers reach them (wrapped by `wrapInvoker` when asked). */
  invokers: Map<string, Invoker>;
  /** Each function's asynchronous invocation queue (rule and schedule targets), by function name. */
  asyncInvocations: Map<string, LambdaAsyncInvoke>;
  stateMachines: Map<string, StateMachineEngine>;
  eventSources: SqsEventSource[];
  streamSources: DynamoDBStreamEventSource[];
}

export interface Provisioning {
  template: CfnTemplate;
  stack: StackArtifact;
  identity: LocalIdentity;
  endpoints: LocalEndpoints;
  clock: Clock;
  live: LiveLog;
  faults: Faults;
  /** Pollers per SQS event source. */
  sqsPollers: number;
  /** Undefined when nothing is kept on disk. */
  dataDir?: string;
  engines: Engines;
  /** Said once at start, on the live log. */
  warnings: string[];
  /** The template's resources of one type, as [logicalId, resource]. */
  resources(type: string): [string, CfnResource][];
  /** A resource's properties as written in the template (intrinsics unresolved). */
  properties(resource: CfnResource): Record<string, unknown>;
  /** A value with its intrinsics (Ref, GetAtt, Join, Sub...) resolved to local names, ARNs and URLs. */
  resolve<T>(value: unknown): T;
  /** Local name and ARN of a resource by logical id. */
  name(logicalId: string): string;
  arn(logicalId: string): string;
  /** A function by name or ARN, as callers reach it. */
  invoker(nameOrArn: string): Invoker | undefined;
  /** Delivers a payload to a target ARN (SQS queue, Lambda function, state machine), as EventBridge and Scheduler do. */
  deliver(arn: string, payload: string): Promise<void>;
  /** The local token issuer, opened (its key read or made) on first use: only a stack whose authorizer trusts it needs it. */
  localIssuer(): Promise<LocalIssuer>;
  /** Registers a step to run at stop (steps run in reverse order of registration). */
  onStop(step: () => Promise<void> | void): void;
}
