/**
 * One AWS-compatible endpoint (default port 4566): requests are routed by X-Amz-Target to SQS (JSON 1.0),
 * EventBridge (JSON 1.1), Step Functions (JSON 1.0), or passed through unchanged to DynamoDB Local: DynamoDB
 * (`DynamoDB_20120810.*`) and DynamoDB Streams (`DynamoDBStreams_20120810.*`, served on the same port). Point the SDK
 * or CLI at it with AWS_ENDPOINT_URL. Signatures are not checked.
 */
import { createServer, IncomingMessage, request, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { AwsJsonResponse } from './engines/aws-json';

export interface EndpointServices {
  sqs(target: string, body: Record<string, unknown>): Promise<AwsJsonResponse> | AwsJsonResponse;
  events(operation: string, body: Record<string, unknown>): Promise<AwsJsonResponse> | AwsJsonResponse;
  stepFunctions(operation: string, body: Record<string, unknown>): Promise<AwsJsonResponse> | AwsJsonResponse;
  /** DynamoDB Local's URL: DynamoDB and DynamoDB Streams requests are forwarded unchanged. */
  dynamodbEndpoint: string;
}

const CONTENT_TYPES: Record<string, string> = {
  AmazonSQS: 'application/x-amz-json-1.0',
  AWSEvents: 'application/x-amz-json-1.1',
  AWSStepFunctions: 'application/x-amz-json-1.0',
};

export class AwsEndpoint {
  private server?: Server;
  url = '';

  constructor(private readonly services: EndpointServices) {}

  async listen(port: number, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res).catch((error) => this.fail(res, 500, 'InternalFailure', (error as Error).message)));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => resolve());
    });
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const [service, operation] = target.split('.');
    if (service === 'DynamoDB_20120810' || service === 'DynamoDBStreams_20120810') return this.forward(req, res, this.services.dynamodbEndpoint);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (!target) {
      const contentType = String(req.headers['content-type'] ?? '');
      const hint = contentType.includes('x-www-form-urlencoded')
        ? 'the AWS query protocol (form-encoded Action=...) is not supported: use a current SDK or AWS CLI, which speak the JSON protocol'
        : 'requests need an X-Amz-Target header (AWS JSON protocol)';
      return this.fail(res, 400, 'UnsupportedProtocol', hint);
    }
    let body: Record<string, unknown>;
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return this.fail(res, 400, 'SerializationException', 'request body is not valid JSON', CONTENT_TYPES[service]);
    }
    let answer: AwsJsonResponse;
    switch (service) {
      case 'AmazonSQS':
        answer = await this.services.sqs(target, body);
        break;
      case 'AWSEvents':
        answer = await this.services.events(operation, body);
        break;
      case 'AWSStepFunctions':
        answer = await this.services.stepFunctions(operation, body);
        break;
      default:
        return this.fail(res, 400, 'UnknownService', `service ${service} is not emulated by the local runtime (SQS, EventBridge, Step Functions, DynamoDB and DynamoDB Streams are)`);
    }
    res.writeHead(answer.status, { 'content-type': CONTENT_TYPES[service], 'x-amzn-requestid': cryptoId(), ...(answer.headers ?? {}) });
    res.end(JSON.stringify(answer.body ?? {}));
  }

  private forward(req: IncomingMessage, res: ServerResponse, endpoint: string): void {
    const upstream = new URL(endpoint);
    const proxied = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 500, answer.headers);
      answer.pipe(res);
    });
    proxied.on('error', (error) => this.fail(res, 500, 'InternalFailure', error.message, 'application/x-amz-json-1.0'));
    req.pipe(proxied);
  }

  private fail(res: ServerResponse, status: number, code: string, message: string, contentType = 'application/json'): void {
    if (res.headersSent) return void res.end();
    res.writeHead(status, { 'content-type': contentType });
    res.end(JSON.stringify({ __type: code, message }));
  }
}

function cryptoId(): string {
  return globalThis.crypto.randomUUID();
}
