/**
 * EventBridge pattern rules that only show through the API, pinned with the real @aws-sdk/client-eventbridge
 * (TestEventPattern, PutRule, DescribeRule, PutEvents) against the local AWS endpoint on port 0. Cases from the user
 * guide's "Considerations when creating event patterns" (eb-create-pattern.html#eb-create-pattern-considerations) and
 * "Wildcards and event pattern complexity" (eb-create-pattern-operators.html#eb-filtering-wildcard-matching-complexity).
 */
import { DescribeRuleCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, TestEventPatternCommand } from '@aws-sdk/client-eventbridge';
import { AwsEndpoint } from '../../local/endpoint';
import { EventBusEngine } from '../../local/engines/event-bus';
import { MAX_WILDCARD_COMPLEXITY, wildcardComplexity } from '../../local/engines/event-pattern';
import { handleEventsRequest } from '../../local/engines/events-api';
import { FakeClock } from '../support/fake-clock';
import { EC2_STATE_CHANGE } from '../support/event-examples';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';

// The guide's example event without its detail: each case gives its own.
const { detail: _exampleDetail, ...envelope } = EC2_STATE_CHANGE;
const eventWith = (fields: Record<string, unknown>) => JSON.stringify({ ...envelope, ...fields });

let endpoint: AwsEndpoint;
let client: EventBridgeClient;
let bus: EventBusEngine;
let matched: { source: unknown; rules: string[] }[];

beforeAll(async () => {
  endpoint = new AwsEndpoint({
    sqs: () => ({ status: 400, body: {} }),
    events: (op, body) => handleEventsRequest(bus, op, body),
    stepFunctions: () => ({ status: 400, body: {} }),
    dynamodbEndpoint: 'http://127.0.0.1:9',
  });
  client = new EventBridgeClient({ endpoint: await endpoint.listen(0), region: REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});

beforeEach(() => {
  matched = [];
  bus = new EventBusEngine({
    region: REGION,
    accountId: ACCOUNT,
    clock: new FakeClock({ start: Date.UTC(2026, 0, 1), scale: 1, auto: false, waitsScaled: true }),
    deliver: async () => undefined,
    deadLetter: async () => undefined,
    onEvent: ({ event, matchedRules }) => matched.push({ source: event.source, rules: matchedRules }),
  });
});

afterAll(async () => {
  client.destroy();
  await endpoint.close();
});

async function test(pattern: string, event: string): Promise<boolean> {
  const { Result } = await client.send(new TestEventPatternCommand({ EventPattern: pattern, Event: event }));
  return Result!;
}

/** The error TestEventPattern and PutRule answer for a pattern (both must agree), or undefined when both accept it. */
async function refusals(pattern: string): Promise<{ test?: string; putRule?: string; message?: string }> {
  const test = await client.send(new TestEventPatternCommand({ EventPattern: pattern, Event: eventWith({}) })).then(() => undefined, (e: Error) => e);
  const put = await client.send(new PutRuleCommand({ Name: 'complex', EventPattern: pattern })).then(() => undefined, (e: Error) => e);
  return { test: test?.name, putRule: put?.name, message: put?.message };
}

describe('a dot in a key is a path (EventBridge joins field names with ".")', () => {
  const nested = JSON.stringify({ detail: { state: { status: ['running'] } } });
  const dotted = JSON.stringify({ detail: { 'state.status': ['running'] } });
  const nestedEvent = eventWith({ detail: { state: { status: 'running' } } });
  const dottedEvent = eventWith({ detail: { 'state.status': 'running' } });

  it('the nested pattern matches an event whose key has the dot', async () => {
    expect(await test(nested, dottedEvent)).toBe(true);
  });

  it('the dotted pattern matches an event with the nested object', async () => {
    expect(await test(dotted, nestedEvent)).toBe(true);
  });

  it('the two patterns are one: each matches both events', async () => {
    expect(await test(nested, nestedEvent)).toBe(true);
    expect(await test(dotted, dottedEvent)).toBe(true);
  });

  it('a different value matches neither way, and the path must be the whole path', async () => {
    expect(await test(dotted, eventWith({ detail: { state: { status: 'stopped' } } }))).toBe(false);
    expect(await test(nested, eventWith({ detail: { 'state.status': 'stopped' } }))).toBe(false);
    // detail.state.status is not detail.status, nor state.status at the top level
    expect(await test(dotted, eventWith({ detail: { status: 'running' }, 'state.status': 'running' }))).toBe(false);
    // a dotted key one level up: "detail.state" then "status"
    expect(await test(nested, eventWith({ 'detail.state': { status: 'running' } }))).toBe(true);
  });

  it('a rule created with the dotted pattern routes the nested event (PutRule, PutEvents)', async () => {
    await client.send(new PutRuleCommand({ Name: 'dotted', EventPattern: JSON.stringify({ source: ['shop'], detail: { 'state.status': ['running'] } }) }));
    await client.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'shop', DetailType: 't', Detail: JSON.stringify({ state: { status: 'running' } }) },
          { Source: 'shop', DetailType: 't', Detail: JSON.stringify({ state: { status: 'stopped' } }) },
        ],
      }),
    );
    expect(matched.map((m) => m.rules)).toEqual([['dotted'], []]);
  });
});

describe('wildcards beyond the complexity limit are refused, by TestEventPattern and PutRule alike', () => {
  it("the guide's example of a rule to simplify, *:*:*:*:*:event-bus/*, is InvalidEventPatternException", async () => {
    const result = await refusals(JSON.stringify({ EventBusArn: [{ wildcard: '*:*:*:*:*:event-bus/*' }] }));
    expect(result).toEqual({
      test: 'InvalidEventPatternException',
      putRule: 'InvalidEventPatternException',
      message: 'Event pattern is not valid. Reason: Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character',
    });
  });

  it("the guide's simpler form, arn:aws:events:us-east-1:*:event-bus/*, is accepted", async () => {
    expect(await refusals(JSON.stringify({ EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] }))).toEqual({});
  });

  it('the rule, not the example: wildcards on one field count together, as AWS has been recorded answering', async () => {
    // accepted by AWS: four extensions on one field; two and two of the datasync patterns in separate rules
    expect(await refusals(JSON.stringify({ detail: { object: { key: ['*.bif', '*.tiff', '*.tif', '*.svs'].map((wildcard) => ({ wildcard })) } } }))).toEqual({});
    expect(await refusals(JSON.stringify({ detail: { object: { key: ['*/datasync/*.bif', '*/datasync/*.tif'].map((wildcard) => ({ wildcard })) } } }))).toEqual({});
    // refused by AWS: the four datasync patterns in one rule
    const four = ['*/datasync/*.bif', '*/datasync/*.tif', '*/datasync/*.tiff', '*/datasync/*.svs'];
    expect((await refusals(JSON.stringify({ detail: { object: { key: four.map((wildcard) => ({ wildcard })) } } }))).putRule).toBe('InvalidEventPatternException');
    // three stack-id patterns accepted, a fourth refused
    const stacks = ['Shared', 'Tracker', 'Worker', 'Monitoring'].map((name) => ({ wildcard: `*:stack/${name}Stack/*` }));
    expect(await refusals(JSON.stringify({ detail: { 'stack-id': stacks.slice(0, 3) } }))).toEqual({});
    expect((await refusals(JSON.stringify({ detail: { 'stack-id': stacks } }))).test).toBe('InvalidEventPatternException');
  });

  it('repeated sequences after a wildcard count ("reduce repeating character sequences"), anything-but wildcards too, $or branches together', async () => {
    expect(await refusals(JSON.stringify({ x: [{ wildcard: 'a*a*a*a*a*a*' }] }))).toMatchObject({ putRule: 'InvalidEventPatternException' });
    expect(await refusals(JSON.stringify({ x: [{ wildcard: 'a*b*c*d*e*f*' }] }))).toEqual({});
    const [bif, tif, tiff, svs] = ['*/datasync/*.bif', '*/datasync/*.tif', '*/datasync/*.tiff', '*/datasync/*.svs'];
    expect(await refusals(JSON.stringify({ x: [{ 'anything-but': { wildcard: [bif, tif, tiff, svs] } }] }))).toMatchObject({ test: 'InvalidEventPatternException' });
    expect(await refusals(JSON.stringify({ x: [{ 'anything-but': { wildcard: [bif, tif] } }] }))).toEqual({});
    // $or branches with the same fields before this one share its matcher: 8 + 8 together
    expect(await refusals(JSON.stringify({ $or: [{ x: [{ wildcard: bif }, { wildcard: tif }] }, { x: [{ wildcard: tiff }, { wildcard: svs }] }] }))).toMatchObject({ test: 'InvalidEventPatternException' });
    // the same wildcards on different fields are separate matchers
    expect(await refusals(JSON.stringify({ x: [{ wildcard: bif }, { wildcard: tif }], y: [{ wildcard: tiff }, { wildcard: svs }] }))).toEqual({});
  });

  it('the measure is event-ruler\'s (MachineComplexityEvaluator); the limit fits the recorded answers', () => {
    // event-ruler's own documented values, with the quotes a JSON string value carries: "*a*a*a*a*a*a*a*a*" is 17 unquoted
    expect(wildcardComplexity(['a*a*a*a*a*a*'])).toBe(11);
    expect(wildcardComplexity(['*.bif', '*.tiff', '*.tif', '*.svs'])).toBe(8);
    expect(wildcardComplexity(['*:stack/SharedStack/*', '*:stack/TrackerStack/*', '*:stack/WorkerStack/*'])).toBe(9);
    expect(wildcardComplexity(['*:*:*:*:*:event-bus/*'])).toBe(11);
    expect(wildcardComplexity(['ab*c', 'ab*c'])).toBe(wildcardComplexity(['ab*c'])); // a duplicate adds nothing
    expect(MAX_WILDCARD_COMPLEXITY).toBe(10);
  });

  it('consecutive wildcards stay refused with their own reason', async () => {
    const result = await refusals(JSON.stringify({ x: [{ wildcard: 'a**b' }] }));
    expect(result).toMatchObject({ test: 'InvalidEventPatternException', putRule: 'InvalidEventPatternException' });
    expect(result.message).toContain('Consecutive wildcard characters at pos 1');
  });
});

describe('a key given twice: "if multiple patterns are specified for the same JSON field, EventBridge only uses the last one"', () => {
  const twice = '{"source": ["a"], "source": ["b"]}';

  it('TestEventPattern: the last alternatives are the field\'s, the first ones are gone', async () => {
    expect(await test(twice, eventWith({ source: 'b' }))).toBe(true);
    expect(await test(twice, eventWith({ source: 'a' }))).toBe(false);
  });

  it('PutRule accepts it, DescribeRule gives the text back as written, and the bus routes on the last one', async () => {
    const { RuleArn } = await client.send(new PutRuleCommand({ Name: 'twice', EventPattern: twice }));
    expect(RuleArn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/twice`);
    expect(await client.send(new DescribeRuleCommand({ Name: 'twice' }))).toMatchObject({ Name: 'twice', EventPattern: twice, State: 'ENABLED', Arn: RuleArn });
    await client.send(new PutEventsCommand({ Entries: [{ Source: 'a', DetailType: 't', Detail: '{}' }, { Source: 'b', DetailType: 't', Detail: '{}' }] }));
    expect(matched).toEqual([{ source: 'a', rules: [] }, { source: 'b', rules: ['twice'] }]);
  });

  it('the raw text is read, not a JS object: two objects under one key both keep their fields', async () => {
    // JSON.parse would keep only {"b": ["y"]}; the service reads the text in order and writes each field's path
    const merged = '{"detail": {"a": ["x"]}, "detail": {"b": ["y"]}}';
    expect(await test(merged, eventWith({ detail: { a: 'x', b: 'y' } }))).toBe(true);
    expect(await test(merged, eventWith({ detail: { b: 'y' } }))).toBe(false);
  });

  it('one path spelled nested and dotted is the same field: the last one wins', async () => {
    const both = JSON.stringify({ detail: { state: { status: ['running'] }, 'state.status': ['stopped'] } });
    expect(await test(both, eventWith({ detail: { state: { status: 'stopped' } } }))).toBe(true);
    expect(await test(both, eventWith({ detail: { state: { status: 'running' } } }))).toBe(false);
  });

  it('every occurrence is still validated, and a match expression naming one operator twice is refused', async () => {
    expect((await refusals('{"source": [{"prefix": 1}], "source": ["b"]}')).putRule).toBe('InvalidEventPatternException');
    expect((await refusals('{"source": [{"prefix": "a", "prefix": "b"}]}')).message).toContain('Only one key allowed in match expression');
  });
});

describe('PutRule', () => {
  it('updates a rule in place, refuses a missing bus, and needs a pattern or a schedule', async () => {
    await client.send(new PutRuleCommand({ Name: 'r', EventPattern: '{"source": ["a"]}' }));
    await client.send(new PutRuleCommand({ Name: 'r', EventPattern: '{"source": ["b"]}', State: 'DISABLED', Description: 'now b' }));
    expect(await client.send(new DescribeRuleCommand({ Name: 'r' }))).toMatchObject({ EventPattern: '{"source": ["b"]}', State: 'DISABLED', Description: 'now b' });
    await expect(client.send(new PutRuleCommand({ Name: 'r', EventPattern: '{"source": ["a"]}', EventBusName: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(client.send(new PutRuleCommand({ Name: 'r' }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new PutRuleCommand({ Name: 'bad name', EventPattern: '{"source": ["a"]}' }))).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(client.send(new PutRuleCommand({ Name: 'r', EventPattern: '{"source": "a"}' }))).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
    await expect(client.send(new PutRuleCommand({ Name: 'r', EventPattern: 'not json' }))).rejects.toMatchObject({ name: 'InvalidEventPatternException' });
  });

  it('a rule on a custom bus has the bus in its ARN', async () => {
    bus.addBus('orders');
    const { RuleArn } = await client.send(new PutRuleCommand({ Name: 'r', EventBusName: 'orders', EventPattern: '{"source": ["a"]}' }));
    expect(RuleArn).toBe(`arn:aws:events:${REGION}:${ACCOUNT}:rule/orders/r`);
  });
});
