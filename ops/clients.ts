/** The AWS SDK v3 clients the commands take as arguments, built for AWS or for the local runtime's endpoint. */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface OpsClients {
  sqs: SQSClient;
  events: EventBridgeClient;
  sfn: SFNClient;
  ddb: DynamoDBDocumentClient;
  /** Alarms in ALARM (on AWS only). */
  cloudwatch: CloudWatchClient;
  /** The stack's outputs when no outputs file is given (on AWS only). */
  cloudformation: CloudFormationClient;
}

export interface ClientOptions {
  /** Every service behind one endpoint (the local runtime); undefined: AWS. */
  endpoint?: string;
  region: string;
  /** Given: used whatever the environment says (the runtime's own clients of its endpoint). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function createClients({ endpoint, region, credentials }: ClientOptions): OpsClients {
  const config = {
    region,
    ...(endpoint ? { endpoint } : {}),
    // The local runtime checks no signature: any credentials do, and none configured must not stop an operator.
    ...(endpoint && !process.env.AWS_ACCESS_KEY_ID && !process.env.AWS_PROFILE ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
    ...(credentials ? { credentials } : {}),
    requestHandler: { connectionTimeout: 3_000, requestTimeout: 30_000 },
  };
  return {
    sqs: new SQSClient(config),
    events: new EventBridgeClient(config),
    sfn: new SFNClient(config),
    ddb: DynamoDBDocumentClient.from(new DynamoDBClient(config)),
    cloudwatch: new CloudWatchClient(config),
    cloudformation: new CloudFormationClient(config),
  };
}

export function destroyClients(clients: OpsClients): void {
  clients.sqs.destroy();
  clients.events.destroy();
  clients.sfn.destroy();
  clients.ddb.destroy();
  clients.cloudwatch.destroy();
  clients.cloudformation.destroy();
}
