/**
 * Standard SQS queues, case by case from the SQS API reference (and, where it is silent or newer than what SQS
 * answers, what SQS has been recorded answering), through the real @aws-sdk/client-sqs against the local AWS endpoint
 * (port 0) in front of a QueueEngine on a 100x clock: 60 s of the engine's time is 600 ms.
 */
import * as sqs from '@aws-sdk/client-sqs';
import { createHash } from 'node:crypto';
import { systemClock } from '../../local/clock';
import { AwsEndpoint } from '../../local/endpoint';
import { md5OfMessageAttributes, MemoryQueueStore, QueueEngine } from '../../local/engines/queue-engine';
import { handleSqsRequest } from '../../local/engines/sqs-api';

const SCALE = 100;
const HOME = 'us-east-1';
const OTHER = 'eu-west-1';
const ACCOUNT = '000000000000';
const TRACE = 'Root=1-3152b799-8954dae64eda91bc9a23a7e8;Parent=7fa8c0f79203be72;Sampled=1';

let engine: QueueEngine;
let endpoint: AwsEndpoint;
let url: string;
let client: sqs.SQSClient;
let other: sqs.SQSClient;
let seq = 0;

const newClient = (region: string, headers: Record<string, string> = {}) => {
  const c = new sqs.SQSClient({ endpoint: url, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  if (Object.keys(headers).length) {
    c.middlewareStack.add(
      (next) => async (args) => {
        Object.assign((args.request as { headers: Record<string, string> }).headers, headers);
        return next(args);
      },
      { step: 'build', name: 'extraHeaders' },
    );
  }
  return c;
};

beforeAll(async () => {
  engine = new QueueEngine({ clock: systemClock(SCALE), store: new MemoryQueueStore(), region: HOME });
  endpoint = new AwsEndpoint({
    sqs: (target, body, { signal, headers }) => handleSqsRequest(engine, target, body, { endpoint: url, region: HOME, signal, headers }),
    events: () => ({ status: 400, body: {} }),
    stepFunctions: () => ({ status: 400, body: {} }),
    dynamodbEndpoint: 'http://127.0.0.1:9',
  });
  url = await endpoint.listen(0);
  client = newClient(HOME);
  other = newClient(OTHER);
});

afterAll(async () => {
  client.destroy();
  other.destroy();
  engine.close();
  await endpoint.close();
});

/** A queue of a name no other case uses; its URL. */
async function queue(attributes: Record<string, string> = {}, c = client, name = `q${++seq}-${Date.now()}`): Promise<string> {
  return (await c.send(new sqs.CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
}

/** The error a call fails with (name, query code, HTTP status, message). */
async function failure(promise: Promise<unknown>): Promise<{ name: string; code?: string; status?: number; message: string }> {
  const e = (await promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (error: unknown) => error,
  )) as { name: string; Code?: string; message: string; $metadata?: { httpStatusCode?: number } };
  return { name: e.name, code: e.Code, status: e.$metadata?.httpStatusCode, message: e.message };
}

const sleepSimulated = (ms: number) => new Promise((r) => setTimeout(r, ms / SCALE));
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const receiveAll = (QueueUrl: string, extra: Partial<sqs.ReceiveMessageCommandInput> = {}, c = client) =>
  c.send(new sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, ...extra })).then((r) => r.Messages ?? []);
const counts = async (QueueUrl: string, c = client) => {
  const { Attributes = {} } = await c.send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }));
  return { visible: Number(Attributes.ApproximateNumberOfMessages), notVisible: Number(Attributes.ApproximateNumberOfMessagesNotVisible) };
};

describe('CreateQueue of a name deleted less than 60 seconds ago: QueueDeletedRecently (API_DeleteQueue.html)', () => {
  it('is refused until 60 s of the engine clock have passed, then created again', async () => {
    const name = `recent-${Date.now()}`;
    const QueueUrl = await queue({}, client, name);
    await client.send(new sqs.DeleteQueueCommand({ QueueUrl }));
    expect(await failure(client.send(new sqs.CreateQueueCommand({ QueueName: name })))).toEqual({
      name: 'QueueDeletedRecently',
      code: 'AWS.SimpleQueueService.QueueDeletedRecently',
      status: 400,
      message: 'You must wait 60 seconds after deleting a queue before you can create another with the same name.',
    });
    // the same name in another region is another queue
    await expect(other.send(new sqs.CreateQueueCommand({ QueueName: name }))).resolves.toBeDefined();
    await sleepSimulated(61_000);
    expect((await client.send(new sqs.CreateQueueCommand({ QueueName: name }))).QueueUrl).toBe(QueueUrl);
  });
});

describe('SetQueueAttributes with an attribute a standard queue does not have: InvalidAttributeName', () => {
  it.each(['FifoThroughputLimit', 'DeduplicationScope', 'Colour', 'QueueArn', 'ApproximateNumberOfMessages', 'CreatedTimestamp'])('%s', async (attribute) => {
    const QueueUrl = await queue();
    const value = attribute === 'FifoThroughputLimit' ? 'perQueue' : attribute === 'DeduplicationScope' ? 'queue' : 'x';
    expect(await failure(client.send(new sqs.SetQueueAttributesCommand({ QueueUrl, Attributes: { [attribute]: value } })))).toMatchObject({
      name: 'InvalidAttributeName',
      status: 400,
      message: `Unknown Attribute ${attribute}.`,
    });
  });

  it('and nothing of the request is applied', async () => {
    const QueueUrl = await queue();
    await failure(client.send(new sqs.SetQueueAttributesCommand({ QueueUrl, Attributes: { VisibilityTimeout: '99', FifoThroughputLimit: 'perQueue' } })));
    const { Attributes } = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['VisibilityTimeout'] }));
    expect(Attributes).toEqual({ VisibilityTimeout: '30' });
  });
});

describe('SendMessageBatch: 1 MiB in all (bodies and attributes), the queue limit per entry (API_SendMessageBatch.html)', () => {
  const attribute = { k: { DataType: 'String', StringValue: 'x' } }; // 1 + 6 + 1 = 8 bytes
  const MiB = 1_048_576;

  it('one byte over 1 MiB in all, attributes counted, fails the whole request with BatchRequestTooLong (as SQS recorded it)', async () => {
    const QueueUrl = await queue();
    const Entries = [
      { Id: '1', MessageBody: 'a'.repeat(MiB - 8), MessageAttributes: attribute },
      { Id: '2', MessageBody: 'a' },
    ];
    expect(await failure(client.send(new sqs.SendMessageBatchCommand({ QueueUrl, Entries })))).toEqual({
      name: 'BatchRequestTooLong',
      code: 'AWS.SimpleQueueService.BatchRequestTooLong',
      status: 400,
      message: 'Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.',
    });
    expect(await counts(QueueUrl)).toEqual({ visible: 0, notVisible: 0 });
  });

  it('exactly 1 MiB in all is sent; the trace header (a system attribute) does not count', async () => {
    const QueueUrl = await queue();
    const traced = newClient(HOME, { 'X-Amzn-Trace-Id': TRACE });
    const out = await traced.send(
      new sqs.SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: '1', MessageBody: 'a'.repeat(MiB - 8 - 1), MessageAttributes: attribute },
          { Id: '2', MessageBody: 'a', MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: TRACE } } },
        ],
      }),
    );
    traced.destroy();
    expect(out.Successful?.map((e) => e.Id)).toEqual(['1', '2']);
  });

  it("the total is not held to the queue's MaximumMessageSize (as SQS recorded it), each entry is", async () => {
    const QueueUrl = await queue({ MaximumMessageSize: '2048' });
    const ok = await client.send(
      new sqs.SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: '1', MessageBody: 'a'.repeat(2048 - 8), MessageAttributes: attribute }, { Id: '2', MessageBody: 'a' }] }),
    );
    expect(ok.Successful?.map((e) => e.Id)).toEqual(['1', '2']);
    const mixed = await client.send(
      new sqs.SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'small', MessageBody: 'a' }, { Id: 'big', MessageBody: 'a'.repeat(2049) }, { Id: 'also', MessageBody: 'b' }] }),
    );
    expect(mixed.Successful?.map((e) => e.Id)).toEqual(['small', 'also']);
    expect(mixed.Failed).toEqual([{ Id: 'big', SenderFault: true, Code: 'InvalidParameterValue', Message: 'One or more parameters are invalid. Reason: Message must be shorter than 2048 bytes.' }]);
    expect(await counts(QueueUrl)).toEqual({ visible: 4, notVisible: 0 });
  });

  it('an entry with a character SQS does not accept fails alone with InvalidMessageContents (as SQS recorded it)', async () => {
    const QueueUrl = await queue();
    const Entries = [...Array.from({ length: 9 }, (_, i) => ({ Id: String(i), MessageBody: String(i) })), { Id: '9', MessageBody: '\x01' }];
    const out = await client.send(new sqs.SendMessageBatchCommand({ QueueUrl, Entries }));
    expect(out.Successful).toHaveLength(9);
    expect(out.Failed).toEqual([expect.objectContaining({ Id: '9', Code: 'InvalidMessageContents', SenderFault: true })]);
  });
});

describe("message contents: SQS's characters in bodies and attribute values, AWS's rule for attribute names", () => {
  const VALID = '#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';

  it.each([
    ['NUL', 'Invalid-\u0000'],
    ['backspace', 'Invalid-\u0008'],
    ['#x13', 'Invalid-\u0013'],
    ['#xFFFF', 'Invalid-\uFFFF'],
    ['a lone surrogate', 'Invalid-\uD800'],
    ['only invalid characters', '\u0001\u0002'],
  ])('a body with %s is refused: InvalidMessageContents (recorded; the newer API reference speaks of replacing them)', async (_what, MessageBody) => {
    const QueueUrl = await queue();
    expect(await failure(client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody })))).toEqual({
      name: 'InvalidMessageContents',
      code: 'InvalidMessageContents',
      status: 400,
      message: `Invalid characters found. Valid unicode characters are ${VALID}`,
    });
    expect(await counts(QueueUrl)).toEqual({ visible: 0, notVisible: 0 });
  });

  it('every allowed range round-trips unchanged, MD5 included', async () => {
    const QueueUrl = await queue();
    const body = 'tab\tnl\ncr\r \uD7FF\uE000\uFFFD😀\u{10FFFF}';
    const sent = await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: body }));
    expect(sent.MD5OfMessageBody).toBe(md5(body));
    const [m] = await receiveAll(QueueUrl);
    expect(m.Body).toBe(body);
  });

  it('a String attribute value with control characters is InvalidParameterValue', async () => {
    const QueueUrl = await queue();
    const err = await failure(client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'test', MessageAttributes: { attr1: { DataType: 'String', StringValue: 'Invalid-\u0008,\u000b' } } })));
    expect(err).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
    expect(err.message).toContain("'#x8'");
  });

  it('attribute names: letters of any script, digits, _ - . (attr.1øßä is valid), up to 256 characters', async () => {
    const QueueUrl = await queue();
    const names = ['attr.1øßä', 'Ünïcödé_名前-1', 'a'.repeat(256), 'x.y.z'];
    for (const name of names) {
      await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'ok', MessageAttributes: { [name]: { DataType: 'String', StringValue: 'v' } } }));
    }
    const got = await receiveAll(QueueUrl, { MessageAttributeNames: ['All'] });
    expect(got.flatMap((m) => Object.keys(m.MessageAttributes ?? {})).sort()).toEqual([...names].sort());
  });

  it.each(['aWs.x', 'AMAZON.x', '.x', 'x.', 'a..b', 'a'.repeat(257), 'sp ace', 'slash/x'])('attribute name %s is InvalidParameterValue', async (name) => {
    const QueueUrl = await queue();
    const err = await failure(client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'x', MessageAttributes: { [name]: { DataType: 'String', StringValue: 'v' } } })));
    expect(err).toMatchObject({ name: 'InvalidParameterValue', status: 400 });
  });
});

describe('ReceiveMessage MessageAttributeNames: All, .*, names and prefix.* (API_ReceiveMessage.html)', () => {
  const attributes = {
    'Help.Me': { DataType: 'String', StringValue: 'Me' },
    Hello: { DataType: 'String', StringValue: 'There' },
    General: { DataType: 'String', StringValue: 'Kenobi' },
  };

  it.each([
    [[], []],
    [['All'], ['General', 'Hello', 'Help.Me']],
    [['.*'], ['General', 'Hello', 'Help.Me']],
    [['*'], ['General', 'Hello', 'Help.Me']],
    [['Foo', 'Help'], []],
    [['Hello', 'General'], ['General', 'Hello']],
    [['Foo', 'Hello'], ['Hello']],
    [['Hel.*'], ['Hello', 'Help.Me']],
    [['Help.*'], ['Help.Me']],
    [['AWS.'], []],
    [['..foo'], []],
  ])('%j selects %j, with the MD5 of what is returned', async (names, expected) => {
    const QueueUrl = await queue({ VisibilityTimeout: '0' });
    await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'msg', MessageAttributes: attributes }));
    const [m] = await receiveAll(QueueUrl, { MessageAttributeNames: names });
    expect(Object.keys(m.MessageAttributes ?? {}).sort()).toEqual(expected);
    const selected = Object.fromEntries(expected.map((n) => [n, attributes[n as keyof typeof attributes]]));
    expect(m.MD5OfMessageAttributes).toBe(md5OfMessageAttributes(selected));
  });
});

describe('ChangeMessageVisibility on a message not in flight, or with an earlier receive\'s handle: 200, as SQS answers', () => {
  it('after the visibility timeout ran out: 200, and the message stays visible (recorded)', async () => {
    const QueueUrl = await queue({ VisibilityTimeout: '1' });
    await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'test' }));
    const [m] = await receiveAll(QueueUrl);
    await sleepSimulated(2_000);
    const out = await client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 600 }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(await counts(QueueUrl)).toEqual({ visible: 1, notVisible: 0 });
  });

  it('the handle of an earlier receive of a message received again: 200, and it reaches the current receive', async () => {
    const QueueUrl = await queue({ VisibilityTimeout: '1' });
    await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'test' }));
    const [first] = await receiveAll(QueueUrl);
    await sleepSimulated(2_000);
    const [second] = await receiveAll(QueueUrl, { VisibilityTimeout: 600 });
    expect(second.ReceiptHandle).not.toBe(first.ReceiptHandle);
    const out = await client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: first.ReceiptHandle, VisibilityTimeout: 0 }));
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(await counts(QueueUrl)).toEqual({ visible: 1, notVisible: 0 });
  });

  it('a deleted message is still InvalidParameterValue, a handle that is not one ReceiptHandleIsInvalid', async () => {
    const QueueUrl = await queue();
    await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'test' }));
    const [m] = await receiveAll(QueueUrl);
    await client.send(new sqs.DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
    const gone = await failure(client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 5 })));
    expect(gone).toMatchObject({ name: 'InvalidParameterValue', message: expect.stringContaining('Message does not exist or is not available for visibility timeout change.') });
    expect((await failure(client.send(new sqs.ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: 'garbage!', VisibilityTimeout: 5 })))).name).toBe('ReceiptHandleIsInvalid');
  });
});

describe('queue URLs: a bare queue name, and a region per queue (the URL says, or else the SDK client\'s region)', () => {
  it('the queue name alone works where a QueueUrl goes (as SQS accepts it)', async () => {
    const name = `bare-${Date.now()}`;
    await queue({}, client, name);
    const sent = await client.send(new sqs.SendMessageCommand({ QueueUrl: name, MessageBody: 'Using name instead of URL' }));
    expect(sent.MD5OfMessageBody).toBe('86a83f96652a1bfad3891e7d523750cb');
    const [m] = await receiveAll(name);
    await client.send(new sqs.DeleteMessageCommand({ QueueUrl: name, ReceiptHandle: m.ReceiptHandle }));
    expect(await counts(name)).toEqual({ visible: 0, notVisible: 0 });
    expect((await failure(client.send(new sqs.SendMessageCommand({ QueueUrl: `${name}-missing`, MessageBody: 'x' })))).name).toBe('QueueDoesNotExist');
  });

  it('one name in two regions is two queues: URLs, ARNs, messages and listings apart', async () => {
    const name = `twin-${Date.now()}`;
    const home = await queue({}, client, name);
    const away = await queue({ VisibilityTimeout: '45' }, other, name);
    expect(home).toBe(`${url}/${ACCOUNT}/${name}`);
    expect(away).toBe(`${url}/queue/${OTHER}/${ACCOUNT}/${name}`);
    expect((await other.send(new sqs.GetQueueUrlCommand({ QueueName: name }))).QueueUrl).toBe(away);
    const arn = async (QueueUrl: string, c: sqs.SQSClient) =>
      (await c.send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'VisibilityTimeout'] }))).Attributes;
    expect(await arn(home, client)).toEqual({ QueueArn: `arn:aws:sqs:${HOME}:${ACCOUNT}:${name}`, VisibilityTimeout: '30' });
    expect(await arn(away, other)).toEqual({ QueueArn: `arn:aws:sqs:${OTHER}:${ACCOUNT}:${name}`, VisibilityTimeout: '45' });
    await other.send(new sqs.SendMessageCommand({ QueueUrl: away, MessageBody: 'to Ireland' }));
    expect(await counts(home)).toEqual({ visible: 0, notVisible: 0 });
    expect(await counts(away, other)).toEqual({ visible: 1, notVisible: 0 });
    expect((await other.send(new sqs.ListQueuesCommand({ QueueNamePrefix: name }))).QueueUrls).toEqual([away]);
    expect((await client.send(new sqs.ListQueuesCommand({ QueueNamePrefix: name }))).QueueUrls).toEqual([home]);
  });

  it('a URL that names its region reaches it whatever the client\'s region; one that does not takes the client\'s', async () => {
    const name = `routed-${Date.now()}`;
    await queue({}, client, name);
    const away = await queue({}, other, name);
    await client.send(new sqs.SendMessageCommand({ QueueUrl: away, MessageBody: 'by the URL' }));
    await client.send(new sqs.SendMessageCommand({ QueueUrl: `http://sqs.${OTHER}.amazonaws.com/${ACCOUNT}/${name}`, MessageBody: 'by the AWS-shaped URL' }));
    // the home-region URL shape carries no region: the eu-west-1 client's queue
    await other.send(new sqs.SendMessageCommand({ QueueUrl: `${url}/${ACCOUNT}/${name}`, MessageBody: 'by the client' }));
    expect((await receiveAll(away, {}, other)).map((m) => m.Body).sort()).toEqual(['by the AWS-shaped URL', 'by the URL', 'by the client']);
    expect(await counts(name)).toEqual({ visible: 0, notVisible: 0 });
  });

  it('a region with no such queue, another account, or a URL that is not one', async () => {
    const name = `lonely-${Date.now()}`;
    await queue({}, client, name);
    expect((await failure(other.send(new sqs.GetQueueUrlCommand({ QueueName: name })))).name).toBe('QueueDoesNotExist');
    expect((await failure(other.send(new sqs.SendMessageCommand({ QueueUrl: name, MessageBody: 'x' })))).name).toBe('QueueDoesNotExist');
    expect((await failure(client.send(new sqs.SendMessageCommand({ QueueUrl: `${url}/123456789012/${name}`, MessageBody: 'x' })))).name).toBe('QueueDoesNotExist');
    expect((await failure(client.send(new sqs.SendMessageCommand({ QueueUrl: `${url}/a/b/c`, MessageBody: 'x' })))).name).toBe('InvalidAddress');
  });
});

describe('the X-Amzn-Trace-Id header of SendMessage becomes the AWSTraceHeader system attribute (xray-services-sqs.html)', () => {
  it('SendMessage and every entry of SendMessageBatch carry the header; MessageSystemAttributes.AWSTraceHeader overrides it', async () => {
    const QueueUrl = await queue();
    const traced = newClient(HOME, { 'X-Amzn-Trace-Id': TRACE });
    const own = 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1';
    await traced.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'header' }));
    await traced.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'both', MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: own } } }));
    await traced.send(
      new sqs.SendMessageBatchCommand({
        QueueUrl,
        Entries: [
          { Id: 'a', MessageBody: 'batch-a' },
          { Id: 'b', MessageBody: 'batch-b', MessageSystemAttributes: { AWSTraceHeader: { DataType: 'String', StringValue: own } } },
        ],
      }),
    );
    await client.send(new sqs.SendMessageCommand({ QueueUrl, MessageBody: 'untraced' }));
    traced.destroy();
    const got = await receiveAll(QueueUrl, { MessageSystemAttributeNames: ['AWSTraceHeader'] });
    expect(Object.fromEntries(got.map((m) => [m.Body, m.Attributes?.AWSTraceHeader]))).toEqual({
      header: TRACE,
      both: own,
      'batch-a': TRACE,
      'batch-b': own,
      untraced: undefined,
    });
  });
});

describe('AddPermission and RemovePermission write the queue\'s Policy as SQS does (API_AddPermission.html)', () => {
  it('a statement per label (Sid, Principal.AWS account roots, Action SQS:<action>, Resource the queue ARN); the last one removed takes the Policy away', async () => {
    const name = `shared-${Date.now()}`;
    const QueueUrl = await queue({}, client, name);
    const arn = `arn:aws:sqs:${HOME}:${ACCOUNT}:${name}`;
    const policy = async () => {
      const { Attributes } = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }));
      return Attributes?.Policy === undefined ? undefined : JSON.parse(Attributes.Policy);
    };
    await client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'crossaccountpermission', AWSAccountIds: ['668614515564', ACCOUNT], Actions: ['ReceiveMessage'] }));
    expect(await policy()).toEqual({
      Version: '2008-10-17',
      Id: `${arn}/SQSDefaultPolicy`,
      Statement: [
        {
          Sid: 'crossaccountpermission',
          Effect: 'Allow',
          Principal: { AWS: ['arn:aws:iam::668614515564:root', `arn:aws:iam::${ACCOUNT}:root`] },
          Action: 'SQS:ReceiveMessage',
          Resource: arn,
        },
      ],
    });
    await client.send(new sqs.RemovePermissionCommand({ QueueUrl, Label: 'crossaccountpermission' }));
    expect(await policy()).toBeUndefined();

    await client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'one', AWSAccountIds: [ACCOUNT], Actions: ['ReceiveMessage'] }));
    expect(await failure(client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'one', AWSAccountIds: ['668614515564'], Actions: ['ReceiveMessage'] })))).toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Value one for parameter Label is invalid. Reason: Already exists.',
    });
    await client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'two', AWSAccountIds: [ACCOUNT], Actions: ['SendMessage', 'DeleteMessage'] }));
    expect((await policy()).Statement).toEqual([
      { Sid: 'one', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'SQS:ReceiveMessage', Resource: arn },
      { Sid: 'two', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['SQS:SendMessage', 'SQS:DeleteMessage'], Resource: arn },
    ]);
    await client.send(new sqs.RemovePermissionCommand({ QueueUrl, Label: 'one' }));
    expect((await policy()).Statement.map((s: { Sid: string }) => s.Sid)).toEqual(['two']);
    expect(await failure(client.send(new sqs.RemovePermissionCommand({ QueueUrl, Label: 'one' })))).toMatchObject({
      name: 'InvalidParameterValue',
      message: "Value one for parameter Label is invalid. Reason: can't find label.",
    });
  });

  it('an action that is not one, or an account that is not one, is InvalidParameterValue', async () => {
    const QueueUrl = await queue();
    expect((await failure(client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'x', AWSAccountIds: [ACCOUNT], Actions: ['Frobnicate'] })))).name).toBe('InvalidParameterValue');
    expect((await failure(client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'x', AWSAccountIds: ['me'], Actions: ['SendMessage'] })))).name).toBe('InvalidParameterValue');
    expect((await failure(client.send(new sqs.AddPermissionCommand({ QueueUrl, Label: 'no spaces', AWSAccountIds: [ACCOUNT], Actions: ['*'] })))).name).toBe('InvalidParameterValue');
  });
});
