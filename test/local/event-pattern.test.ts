/**
 * Conformance table for the local EventBridge pattern matcher. Cases come from the AWS EventBridge User Guide
 * ("Event patterns", "Arrays in event patterns", "Matching null values and empty strings", "Content filtering",
 * "Comparison operators") and the TestEventPattern API reference; a few pin behaviour AWS has been recorded doing
 * where the docs are silent or out of date (marked "recorded").
 */
import { matchesPattern, testEventPattern, validatePattern } from '../../local/engines/event-pattern';
import { EC2_STATE_CHANGE } from '../support/event-examples';

type Obj = Record<string, unknown>;

/** The envelope every delivered event carries (EventBridge "Event structure reference"). */
const envelope: Obj = {
  version: '0',
  id: '7bf73129-1428-4cd3-a780-95db273d1602',
  'detail-type': 'Order Placed',
  source: 'com.example.orders',
  account: '123456789012',
  time: '2017-10-02T18:43:48Z',
  region: 'us-east-1',
  resources: [],
  detail: {},
};
const event = (fields: Obj): Obj => ({ ...envelope, ...fields });
const withDetail = (detail: Obj): Obj => event({ detail });
/** An event as raw JSON text, for number spellings (3.0e2) that a JS literal would normalise away. */
const rawEvent = (detailJson: string): string => JSON.stringify(envelope).replace('"detail":{}', `"detail":${detailJson}`);

// "Event patterns": the EC2 instance state-change event.
const ec2 = event(EC2_STATE_CHANGE);
// "Content filtering": the event the numeric / anything-but / cidr examples are written against.
const content = event({
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  time: '2017-10-02T16:24:49Z',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', 'instance-id': 'i-000000aaaaaa00000', state: 'running' },
});
const contentWith = (detail: Obj): Obj => ({ ...content, detail: { ...(content.detail as Obj), ...detail } });
// "Matching null values and empty strings": the Auto Scaling event.
const autoscaling = event({
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  time: '2015-11-11T21:31:47Z',
  detail: { eventVersion: '', responseElements: null },
});
// "Event patterns" value matching: the (truncated) Macie alert.
const macie = event({
  'detail-type': 'Macie Alert',
  source: 'aws.macie',
  resources: ['arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id', 'arn:aws:macie:us-east-1:123456789012:trigger/trigger_id'],
  detail: { 'notification-type': 'ALERT_CREATED', tags: ['Custom_Alert', 'Insider'], 'risk-score': 80, trigger: { 'alert-type': 'basic', risk: 8 } },
});
const employees = withDetail({
  employees: [
    { firstName: 'John', lastName: 'Doe' },
    { firstName: 'Anna', lastName: 'Smith' },
    { firstName: 'Peter', lastName: 'Jones' },
  ],
});
const metric = (fields: Obj): Obj => event({ source: 'aws.cloudwatch', detail: fields });

interface Case {
  name: string;
  pattern: Obj | string;
  event: Obj | string;
  matches: boolean;
}

const ec2Termination = { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } };
const numericExample = { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } };
const complexExample = {
  time: [{ prefix: '2017-10-02' }],
  detail: {
    state: [{ 'anything-but': 'initializing' }],
    'c-count': [{ numeric: ['>', 0, '<=', 5] }],
    'd-count': [{ numeric: ['<', 10] }],
    'x-limit': [{ 'anything-but': [100, 200, 300] }],
    'source-ip': [{ cidr: '10.0.0.0/8' }],
  },
};
const orMetric = { source: ['aws.cloudwatch'], detail: { $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] } };
const orWithAnd = {
  source: ['aws.cloudwatch'],
  detail: { $or: [{ metricName: ['CPUUtilization'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }] },
};

const cases: Case[] = [
  // --- Event patterns: fields AND, values OR, exact and case-sensitive ------------------------------------------------
  { name: 'docs EC2 termination pattern matches the terminated event', pattern: ec2Termination, event: ec2, matches: true },
  { name: 'docs EC2 termination pattern: other state does not match', pattern: ec2Termination, event: { ...ec2, detail: { state: 'running' } }, matches: false },
  { name: 'value list is OR: "aws.ec2" or "aws.fargate"', pattern: { source: ['aws.ec2', 'aws.fargate'] }, event: event({ source: 'aws.fargate' }), matches: true },
  { name: 'value list is OR: neither value present', pattern: { source: ['aws.ec2', 'aws.fargate'] }, event: event({ source: 'aws.s3' }), matches: false },
  { name: 'fields are AND: one field failing fails the pattern', pattern: { source: ['aws.ec2'], 'detail-type': ['Other'] }, event: ec2, matches: false },
  { name: 'strings match exactly, without case-folding', pattern: { source: ['AWS.EC2'] }, event: ec2, matches: false },
  { name: 'field named in the pattern but absent from the event', pattern: { detail: { reason: ['x'] } }, event: ec2, matches: false },
  { name: 'envelope fields match as delivered (id, account, region, time, version)', pattern: { id: ['6a7e8feb-b491-4cf7-a9f1-bf3703467718'], account: ['111122223333'], region: ['us-west-1'], time: ['2017-12-22T18:43:48Z'], version: ['0'] }, event: ec2, matches: true },
  { name: 'docs Macie pattern: nested risk-score 80 and trigger.risk 8', pattern: { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } }, event: macie, matches: true },
  { name: 'nested value mismatch (trigger.risk 9)', pattern: { detail: { trigger: { risk: [9] } } }, event: macie, matches: false },
  { name: 'same nesting required: detail.risk is not detail.trigger.risk', pattern: { detail: { risk: [8] } }, event: macie, matches: false },
  { name: 'pattern object against a scalar event value', pattern: { detail: { state: { code: ['16'] } } }, event: ec2, matches: false },
  { name: 'several operators in one value list are ORed', pattern: { detail: { class: [{ prefix: 'GLACIER' }, 'DEEP_ARCHIVE'] } }, event: withDetail({ class: 'DEEP_ARCHIVE' }), matches: true },
  { name: 'several operators in one value list: none holds', pattern: { detail: { class: [{ prefix: 'GLACIER' }, 'DEEP_ARCHIVE'] } }, event: withDetail({ class: 'STANDARD' }), matches: false },

  // --- Arrays ---------------------------------------------------------------------------------------------------------
  {
    name: 'docs arrays: event array intersects the pattern array',
    pattern: { resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f', 'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f', 'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] },
    event: event({ resources: ['arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b:autoScalingGroupName/ASGTerminate', 'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f'] }),
    matches: true,
  },
  { name: 'docs arrays: no intersection', pattern: { resources: ['arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f'] }, event: ec2, matches: false },
  { name: 'array field inside detail matches on any element', pattern: { detail: { tags: ['Insider'] } }, event: macie, matches: true },
  { name: 'array of objects: a sub-pattern matches an element', pattern: { detail: { employees: { firstName: ['Anna'] } } }, event: employees, matches: true },
  { name: 'array of objects: fields must hold in the same element', pattern: { detail: { employees: { firstName: ['Anna'], lastName: ['Jones'] } } }, event: employees, matches: false },
  { name: 'array of objects: both fields in one element', pattern: { detail: { employees: { firstName: ['Anna'], lastName: ['Smith'] } } }, event: employees, matches: true },
  { name: 'recorded: [null] does not match an empty array', pattern: { resources: [null] }, event: event({ resources: [] }), matches: false },

  // --- Null values, empty strings, booleans, numbers ------------------------------------------------------------------
  { name: 'docs null: responseElements [null] matches a null field', pattern: { source: ['aws.autoscaling'], detail: { responseElements: [null] } }, event: autoscaling, matches: true },
  { name: 'docs empty string: eventVersion [""] matches ""', pattern: { detail: { eventVersion: [''] } }, event: autoscaling, matches: true },
  { name: 'docs: empty string does not match null', pattern: { detail: { responseElements: [''] } }, event: autoscaling, matches: false },
  { name: 'docs: null does not match an empty string', pattern: { detail: { eventVersion: [null] } }, event: autoscaling, matches: false },
  { name: 'null does not match a missing field', pattern: { detail: { userId: [null] } }, event: autoscaling, matches: false },
  { name: 'docs empty: LastName [""] does not match a non-empty string', pattern: { detail: { LastName: [''] } }, event: withDetail({ LastName: 'Smith' }), matches: false },
  { name: 'boolean literal matches true', pattern: { detail: { paid: [true] } }, event: withDetail({ paid: true }), matches: true },
  { name: 'boolean literal does not match the string "true"', pattern: { detail: { paid: [true] } }, event: withDetail({ paid: 'true' }), matches: false },
  { name: 'number literal does not match its string form', pattern: { detail: { qty: [300] } }, event: withDetail({ qty: '300' }), matches: false },
  { name: 'string literal does not match the number', pattern: { detail: { qty: ['300'] } }, event: withDetail({ qty: 300 }), matches: false },
  { name: 'recorded: numbers compare numerically, 300 matches 3.0e2', pattern: '{"detail":{"qty":[300]}}', event: rawEvent('{"qty":3.0e2}'), matches: true },
  { name: 'recorded: 300 matches 300.0', pattern: '{"detail":{"qty":[300]}}', event: rawEvent('{"qty":300.0}'), matches: true },

  // --- prefix / suffix / equals-ignore-case ---------------------------------------------------------------------------
  { name: 'docs prefix: time starts with 2017-10-02', pattern: { time: [{ prefix: '2017-10-02' }] }, event: content, matches: true },
  { name: 'prefix: other date', pattern: { time: [{ prefix: '2017-10-03' }] }, event: content, matches: false },
  { name: 'docs prefix: Auto Scaling events from European regions', pattern: { source: ['aws.autoscaling'], region: [{ prefix: 'eu-' }] }, event: { ...autoscaling, region: 'eu-west-1' }, matches: true },
  { name: 'prefix only applies to strings', pattern: { detail: { 'c-count': [{ prefix: '5' }] } }, event: content, matches: false },
  { name: 'docs prefix equals-ignore-case: "EventB" matches "EVENTBRIDGE"', pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, event: withDetail({ service: 'EVENTBRIDGE' }), matches: true },
  { name: 'prefix equals-ignore-case: different prefix', pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } }, event: withDetail({ service: 'Event-Bridge' }), matches: false },
  { name: 'docs suffix: FileName ends with .png', pattern: { detail: { FileName: [{ suffix: '.png' }] } }, event: withDetail({ FileName: 'image.png' }), matches: true },
  { name: 'suffix is case-sensitive', pattern: { detail: { FileName: [{ suffix: '.png' }] } }, event: withDetail({ FileName: 'image.PNG' }), matches: false },
  { name: 'docs suffix equals-ignore-case: .png matches .PNG', pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, event: withDetail({ FileName: 'image.PNG' }), matches: true },
  { name: 'suffix equals-ignore-case: other extension', pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } }, event: withDetail({ FileName: 'image.jpg' }), matches: false },
  { name: 'docs equals-ignore-case on detail-type', pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] }, event: ec2, matches: true },
  { name: 'equals-ignore-case: different string', pattern: { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance launch' }] }, event: ec2, matches: false },
  { name: 'recorded: equals-ignore-case "" matches ""', pattern: { detail: { value: [{ 'equals-ignore-case': '' }] } }, event: withDetail({ value: '' }), matches: true },

  // --- anything-but ---------------------------------------------------------------------------------------------------
  { name: 'docs anything-but string: "running" is not "initializing"', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: content, matches: true },
  { name: 'anything-but string: the excluded value', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: contentWith({ state: 'initializing' }), matches: false },
  { name: 'recorded: anything-but never matches a missing field', pattern: { detail: { reason: [{ 'anything-but': 'initializing' }] } }, event: content, matches: false },
  { name: 'recorded: anything-but matches a null value', pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } }, event: contentWith({ state: null }), matches: true },
  { name: 'docs anything-but number: 301.8 is not 123', pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, event: content, matches: true },
  { name: 'anything-but number: the excluded number', pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } }, event: contentWith({ 'x-limit': 123 }), matches: false },
  { name: 'docs anything-but string list: "stopped" excluded', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, event: contentWith({ state: 'stopped' }), matches: false },
  { name: 'docs anything-but string list: "running" allowed', pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, event: content, matches: true },
  { name: 'docs anything-but number list: 200 excluded', pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, event: contentWith({ 'x-limit': 200 }), matches: false },
  { name: 'docs anything-but number list: 301.8 allowed', pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } }, event: content, matches: true },
  { name: 'docs anything-but CloudTrail: other detail-type passes', pattern: { 'detail-type': [{ 'anything-but': 'AWS API Call via CloudTrail' }] }, event: ec2, matches: true },
  { name: 'docs anything-but prefix: "initializing" starts with "init"', pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, event: contentWith({ state: 'initializing' }), matches: false },
  { name: 'docs anything-but prefix "aws.": own events pass', pattern: { source: [{ 'anything-but': { prefix: 'aws.' } }] }, event: event({ source: 'com.example.orders' }), matches: true },
  { name: 'docs anything-but prefix "aws.": AWS events are excluded', pattern: { source: [{ 'anything-but': { prefix: 'aws.' } }] }, event: ec2, matches: false },
  { name: 'recorded: anything-but prefix list', pattern: { detail: { state: [{ 'anything-but': { prefix: ['init', 'test'] } }] } }, event: contentWith({ state: 'post-init' }), matches: true },
  { name: 'recorded: anything-but prefix passes a number value', pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, event: contentWith({ state: 12 }), matches: true },
  { name: 'docs anything-but suffix: notes.txt excluded', pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } }, event: withDetail({ FileName: 'notes.txt' }), matches: false },
  { name: 'docs anything-but suffix: image.png passes', pattern: { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } }, event: withDetail({ FileName: 'image.png' }), matches: true },
  { name: 'docs anything-but equals-ignore-case: INITIALIZING excluded', pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] } }, event: contentWith({ state: 'INITIALIZING' }), matches: false },
  { name: 'docs anything-but equals-ignore-case list: "Stopped" excluded', pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] } }, event: contentWith({ state: 'Stopped' }), matches: false },
  { name: 'anything-but equals-ignore-case list: "running" passes', pattern: { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['initializing', 'stopped'] } }] } }, event: content, matches: true },
  { name: 'docs anything-but wildcard: path containing /lib/ excluded', pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, event: withDetail({ FilePath: 'dir/lib/file.js' }), matches: false },
  { name: 'docs anything-but wildcard: other path passes', pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } }, event: withDetail({ FilePath: 'dir/bin/file' }), matches: true },
  { name: 'docs anything-but wildcard list: /bin/ excluded too', pattern: { detail: { FilePath: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }] } }, event: withDetail({ FilePath: 'dir/bin/file' }), matches: false },
  { name: 'anything-but on an array field: another element passes', pattern: { resources: [{ 'anything-but': 'arn:a' }] }, event: event({ resources: ['arn:a', 'arn:b'] }), matches: true },
  { name: 'anything-but on an array field: only the excluded element', pattern: { resources: [{ 'anything-but': 'arn:a' }] }, event: event({ resources: ['arn:a'] }), matches: false },

  // --- numeric --------------------------------------------------------------------------------------------------------
  { name: 'docs numeric: c-count (0,5], d-count < 10, x-limit = 3.018e2', pattern: numericExample, event: content, matches: true },
  { name: 'docs numeric: c-count 6 is above the range', pattern: numericExample, event: contentWith({ 'c-count': 6 }), matches: false },
  { name: 'numeric ">" excludes its bound', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, event: contentWith({ 'c-count': 0 }), matches: false },
  { name: 'numeric ">=" includes its bound', pattern: { detail: { 'c-count': [{ numeric: ['>=', 0] }] } }, event: contentWith({ 'c-count': 0 }), matches: true },
  { name: 'numeric "<" excludes its bound', pattern: { detail: { 'd-count': [{ numeric: ['<', 10] }] } }, event: contentWith({ 'd-count': 10 }), matches: false },
  { name: 'numeric "<=" includes its bound', pattern: { detail: { 'd-count': [{ numeric: ['<=', 10] }] } }, event: contentWith({ 'd-count': 10 }), matches: true },
  { name: 'numeric range with negative and fractional bounds', pattern: { detail: { delta: [{ numeric: ['>', -1.5, '<', 0] }] } }, event: withDetail({ delta: -0.5 }), matches: true },
  { name: 'numeric "=" compares numerically (3.0e2 in the event)', pattern: '{"detail":{"price":[{"numeric":["=",300]}]}}', event: rawEvent('{"price":3.0e2}'), matches: true },
  { name: 'numeric only matches JSON numbers, not numeric strings', pattern: { detail: { 'c-count': [{ numeric: ['>', 0] }] } }, event: contentWith({ 'c-count': '5' }), matches: false },
  { name: 'numeric does not match null', pattern: { detail: { 'c-count': [{ numeric: ['>', 0] }] } }, event: contentWith({ 'c-count': null }), matches: false },
  { name: 'numeric on an array of numbers: any element', pattern: { detail: { sizes: [{ numeric: ['>', 10] }] } }, event: withDetail({ sizes: [1, 20] }), matches: true },

  // --- cidr -----------------------------------------------------------------------------------------------------------
  { name: 'docs cidr: 10.0.0.0/24 contains 10.0.0.255', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: withDetail({ sourceIPAddress: '10.0.0.255' }), matches: true },
  { name: 'cidr: 10.0.1.1 is outside 10.0.0.0/24', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: withDetail({ sourceIPAddress: '10.0.1.1' }), matches: false },
  { name: 'cidr: a non-address string does not match', pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, event: withDetail({ sourceIPAddress: 'not-an-ip' }), matches: false },
  { name: 'docs cidr IPv6: 2001:db8:1234:1a00::/64', pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8:1234:1a00::/64' }] } }, event: withDetail({ sourceIPAddress: '2001:db8:1234:1a00:9691:9503:25ad:1761' }), matches: true },
  { name: 'cidr IPv6: address outside the /64', pattern: { detail: { sourceIPAddress: [{ cidr: '2001:db8:1234:1a00::/64' }] } }, event: withDetail({ sourceIPAddress: '2001:db8:1234:1b00::1' }), matches: false },
  { name: 'cidr: an IPv4 address never matches an IPv6 block', pattern: { detail: { sourceIPAddress: [{ cidr: '::/0' }] } }, event: withDetail({ sourceIPAddress: '10.0.0.1' }), matches: false },

  // --- exists ---------------------------------------------------------------------------------------------------------
  { name: 'docs exists true: detail.state present', pattern: { detail: { state: [{ exists: true }] } }, event: ec2, matches: true },
  { name: 'docs exists true: detail.state missing', pattern: { detail: { state: [{ exists: true }] } }, event: withDetail({ 'c-count': { c1: 100 } }), matches: false },
  { name: 'docs exists false: detail.c-count missing', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: withDetail({ state: ['initializing', 'running'] }), matches: true },
  { name: 'docs exists false: c-count is an object, not a leaf', pattern: { detail: { 'c-count': [{ exists: false }] } }, event: withDetail({ state: 'running', 'c-count': { c1: 100 } }), matches: true },
  { name: 'exists true does not match an object (leaves only)', pattern: { detail: { 'c-count': [{ exists: true }] } }, event: withDetail({ 'c-count': { c1: 100 } }), matches: false },
  { name: 'exists false: field present', pattern: { detail: { state: [{ exists: false }] } }, event: ec2, matches: false },
  { name: 'exists false: deep leaf present', pattern: { detail: { l1: { l2: { l3: [{ exists: false }] } } } }, event: withDetail({ l1: { l2: { l3: 'v' } } }), matches: false },
  { name: 'exists true: a null value is a value', pattern: { detail: { responseElements: [{ exists: true }] } }, event: autoscaling, matches: true },
  { name: 'exists false: a null value is present', pattern: { detail: { responseElements: [{ exists: false }] } }, event: autoscaling, matches: false },
  { name: 'recorded: exists true does not match an empty array', pattern: { resources: [{ exists: true }] }, event: autoscaling, matches: false },
  { name: 'exists false matches an empty array', pattern: { resources: [{ exists: false }] }, event: autoscaling, matches: true },
  { name: 'recorded: exists true inside an array of objects', pattern: { detail: { automations: { id: [{ exists: true }] } } }, event: withDetail({ automations: [{ key1: 'v' }, { id: 'x' }] }), matches: true },
  { name: 'recorded: anything-but OR exists false on a missing field', pattern: { detail: { homemade: { S: [{ 'anything-but': ['roses'] }, { exists: false }] } } }, event: withDetail({ purchased: { N: '789' } }), matches: true },

  // --- wildcard -------------------------------------------------------------------------------------------------------
  { name: 'wildcard: Simple*Service', pattern: { source: [{ wildcard: 'Simple*Service' }] }, event: event({ source: 'Simple Notification Service' }), matches: true },
  { name: 'docs wildcard: event bus ARN in any account', pattern: { detail: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] } }, event: withDetail({ EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/orders' }), matches: true },
  { name: 'docs wildcard: dir/*.png does not match a .jpg', pattern: { detail: { FileName: [{ wildcard: 'dir/*.png' }] } }, event: withDetail({ FileName: 'dir/image.jpg' }), matches: false },
  { name: 'wildcard: * matches the empty string', pattern: { detail: { FileName: [{ wildcard: 'dir/*.png' }] } }, event: withDetail({ FileName: 'dir/.png' }), matches: true },
  { name: 'wildcard: * crosses separators', pattern: { detail: { FileName: [{ wildcard: 'dir/*.png' }] } }, event: withDetail({ FileName: 'dir/a/b/c.png' }), matches: true },
  { name: 'wildcard is case-sensitive', pattern: { source: [{ wildcard: 'Simple*Service' }] }, event: event({ source: 'SIMPLE Notification SERVICE' }), matches: false },
  { name: 'wildcard: escaped \\* is a literal asterisk', pattern: { detail: { key: [{ wildcard: 'file\\*name' }] } }, event: withDetail({ key: 'file*name' }), matches: true },
  { name: 'wildcard: escaped \\* does not act as a wildcard', pattern: { detail: { key: [{ wildcard: 'file\\*name' }] } }, event: withDetail({ key: 'fileXname' }), matches: false },
  { name: 'wildcard: escaped \\\\ is a literal backslash', pattern: { detail: { key: [{ wildcard: 'C:\\\\*' }] } }, event: withDetail({ key: 'C:\\Windows' }), matches: true },
  { name: 'wildcard only applies to strings', pattern: { detail: { 'c-count': [{ wildcard: '*' }] } }, event: content, matches: false },

  // --- $or ------------------------------------------------------------------------------------------------------------
  { name: 'docs $or: source AND (metricName OR namespace), namespace holds', pattern: orMetric, event: metric({ namespace: 'AWS/EC2' }), matches: true },
  { name: 'docs $or: neither branch holds', pattern: orMetric, event: metric({ namespace: 'AWS/Lambda' }), matches: false },
  { name: 'docs $or: a branch holds but the sibling field fails', pattern: orMetric, event: event({ source: 'aws.ec2', detail: { metricName: 'CPUUtilization' } }), matches: false },
  { name: 'docs $or numeric branches in detail: only d-count holds', pattern: { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['=', 3.018e2] }] }] } }, event: withDetail({ 'c-count': 50, 'd-count': 3 }), matches: true },
  { name: 'docs $or branch with AND: both fields needed', pattern: orWithAnd, event: metric({ metricType: 'MetricType' }), matches: false },
  { name: 'docs $or branch with AND: both fields present', pattern: orWithAnd, event: metric({ metricType: 'MetricType', namespace: 'AWS/ES' }), matches: true },
  {
    name: 'docs nested $or inside an $or branch',
    pattern: { source: ['aws.cloudwatch'], detail: { $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] }] } },
    event: metric({ namespace: 'AWS/EC2', spaceId: 1000 }),
    matches: true,
  },
  {
    name: 'docs parallel $or at two levels: both must hold',
    pattern: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }], detail: { $or: [{ metricName: ['CPUUtilization'] }, { namespace: ['AWS/EC2'] }] } },
    event: metric({ namespace: 'AWS/ES' }),
    matches: false,
  },
  { name: '$or at the top level', pattern: { $or: [{ source: ['aws.s3'] }, { 'detail-type': ['EC2 Instance State-change Notification'] }] }, event: ec2, matches: true },

  // --- Complex example --------------------------------------------------------------------------------------------------
  { name: 'docs complex example (prefix, anything-but, numeric, cidr) matches', pattern: complexExample, event: content, matches: true },
  { name: 'docs complex example: x-limit 200 is excluded', pattern: complexExample, event: contentWith({ 'x-limit': 200 }), matches: false },
  { name: 'docs: a key given twice in the pattern text, the last one wins', pattern: '{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}', event: withDetail({ location: 'eu-west' }), matches: true },
];

const asText = (v: Obj | string): string => (typeof v === 'string' ? v : JSON.stringify(v));
const asObject = (v: Obj | string): Obj => (typeof v === 'string' ? (JSON.parse(v) as Obj) : v);

describe('event pattern matching (AWS documented cases)', () => {
  it('has a broad table', () => {
    expect(cases.length).toBeGreaterThanOrEqual(60);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  it.each(cases)('$name', ({ pattern, event: ev, matches }) => {
    expect(() => validatePattern(asObject(pattern))).not.toThrow();
    expect(matchesPattern(asObject(pattern), asObject(ev))).toBe(matches);
    expect(testEventPattern(asText(pattern), asText(ev))).toBe(matches);
  });
});

interface InvalidCase {
  name: string;
  pattern: unknown;
  reason: string;
}

const invalidPatterns: InvalidCase[] = [
  { name: 'a string', pattern: 'aws.ec2', reason: 'Filter is not an object' },
  { name: 'a number', pattern: 42, reason: 'Filter is not an object' },
  { name: 'null', pattern: null, reason: 'Filter is not an object' },
  { name: 'an array', pattern: ['not', 'an', 'object'], reason: 'Filter is not an object' },
  { name: 'an empty pattern', pattern: {}, reason: 'Empty objects are not allowed' },
  { name: 'an empty nested object', pattern: { detail: {} }, reason: 'Empty objects are not allowed' },
  { name: 'a leaf string instead of an array', pattern: { source: 'aws.ec2' }, reason: '"source" must be an object or an array' },
  { name: 'a leaf number instead of an array', pattern: { int: 42 }, reason: '"int" must be an object or an array' },
  { name: 'a leaf null instead of an array', pattern: { detail: { x: null } }, reason: '"x" must be an object or an array' },
  { name: 'an empty value array', pattern: { resources: [] }, reason: 'Empty arrays are not allowed' },
  { name: 'a nested array', pattern: { detail: { x: [['a']] } }, reason: 'Match value must be String, number, true, false, or null' },
  { name: 'an unknown operator', pattern: { detail: { x: [{ contains: 'a' }] } }, reason: 'Unrecognized match type contains' },
  { name: 'operator names are case-sensitive', pattern: { my_key: [{ EXISTS: true }] }, reason: 'Unrecognized match type EXISTS' },
  { name: 'an empty operator object', pattern: { x: [{}] }, reason: 'Match expression name not found' },
  { name: 'two operators in one object', pattern: { x: [{ prefix: 'a', suffix: 'b' }] }, reason: 'Only one key allowed in match expression' },
  { name: 'prefix with a number', pattern: { time: [{ prefix: 123 }] }, reason: 'prefix match pattern must be a string' },
  { name: 'prefix with a list', pattern: { time: [{ prefix: ['2022-07-13'] }] }, reason: 'prefix match pattern must be a string' },
  { name: 'prefix with an unknown modifier', pattern: { time: [{ prefix: { 'ignore-case': 'a' } }] }, reason: 'prefix match pattern must be a string' },
  { name: 'suffix with a list', pattern: { FileName: [{ suffix: ['.png'] }] }, reason: 'suffix match pattern must be a string' },
  { name: 'equals-ignore-case with a list', pattern: { 'detail-type': [{ 'equals-ignore-case': ['ec2'] }] }, reason: 'equals-ignore-case match pattern must be a string' },
  { name: 'equals-ignore-case with an object', pattern: { 'detail-type': [{ 'equals-ignore-case': { prefix: 'ec2' } }] }, reason: 'equals-ignore-case match pattern must be a string' },
  { name: 'exists with a string', pattern: { x: [{ exists: 'true' }] }, reason: 'exists match pattern must be either true or false.' },
  { name: 'numeric not an array', pattern: { x: [{ numeric: '>5' }] }, reason: 'Value of numeric must be an array.' },
  { name: 'numeric empty', pattern: { x: [{ numeric: [] }] }, reason: 'Invalid member in numeric match' },
  { name: 'numeric unknown operator', pattern: { x: [{ numeric: ['==', 5] }] }, reason: 'Unrecognized numeric range operator: ==' },
  { name: 'numeric value not a number', pattern: { x: [{ numeric: ['=', '5'] }] }, reason: 'Value of = must be numeric' },
  { name: 'numeric two lower bounds', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '>', 0] }] } }, reason: 'Bad numeric range operator: >' },
  { name: 'numeric missing upper value', pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<'] }] } }, reason: 'Value of < must be numeric' },
  { name: 'numeric upper bound first', pattern: { x: [{ numeric: ['<', 10, '>', 0] }] }, reason: 'Too many elements in numeric expression' },
  { name: 'numeric equals with extra terms', pattern: { x: [{ numeric: ['=', 5, 6] }] }, reason: 'Too many elements in numeric expression' },
  { name: 'numeric empty range', pattern: { x: [{ numeric: ['>', 5, '<', 5] }] }, reason: 'Bottom must be less than top' },
  { name: 'numeric bound beyond the documented 5.0e9', pattern: { x: [{ numeric: ['>', 6e9] }] }, reason: 'Value must be between -5.0E9 and 5.0E9' },
  { name: 'anything-but null', pattern: { x: [{ 'anything-but': null }] }, reason: 'Value of anything-but must be an array or single string/number value.' },
  { name: 'anything-but boolean', pattern: { x: [{ 'anything-but': true }] }, reason: 'Value of anything-but must be an array or single string/number value.' },
  { name: 'anything-but empty list', pattern: { x: [{ 'anything-but': [] }] }, reason: 'mixed type is not supported' },
  { name: 'anything-but mixed list', pattern: { x: [{ 'anything-but': ['a', 1] }] }, reason: 'mixed type is not supported' },
  { name: 'anything-but list with null', pattern: { x: [{ 'anything-but': ['a', null] }] }, reason: 'start|null|boolean is not supported' },
  { name: 'anything-but empty prefix', pattern: { x: [{ 'anything-but': { prefix: '' } }] }, reason: 'Null prefix/suffix not allowed' },
  { name: 'anything-but prefix number', pattern: { x: [{ 'anything-but': { prefix: 123 } }] }, reason: 'prefix/suffix match pattern must be a string' },
  { name: 'anything-but prefix list with a number', pattern: { x: [{ 'anything-but': { prefix: [123, 'test'] } }] }, reason: 'prefix/suffix match pattern must be a string' },
  { name: 'anything-but suffix ignoring case', pattern: { x: [{ 'anything-but': { suffix: { 'equals-ignore-case': '.png' } } }] }, reason: 'Value of anything-but must be an array or single string/number value.' },
  { name: 'anything-but equals-ignore-case number', pattern: { x: [{ 'anything-but': { 'equals-ignore-case': 123 } }] }, reason: 'number|start|null|boolean is not supported' },
  { name: 'anything-but wildcard number', pattern: { x: [{ 'anything-but': { wildcard: 123 } }] }, reason: 'wildcard match pattern must be a string' },
  { name: 'anything-but unsupported operator', pattern: { x: [{ 'anything-but': { numeric: ['>', 1] } }] }, reason: 'Unsupported anything-but pattern: numeric' },
  { name: 'anything-but empty object', pattern: { x: [{ 'anything-but': {} }] }, reason: 'anything-but expects exactly one of' },
  { name: 'wildcard number', pattern: { EventBusArn: [{ wildcard: 123 }] }, reason: 'wildcard match pattern must be a string' },
  { name: 'wildcard list', pattern: { EventBusArn: [{ wildcard: ['a*'] }] }, reason: 'wildcard match pattern must be a string' },
  { name: 'wildcard consecutive stars', pattern: { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:**:event-bus/*' }] }, reason: 'Consecutive wildcard characters at pos 25' },
  { name: 'wildcard invalid escape', pattern: { x: [{ wildcard: 'a\\b' }] }, reason: 'Invalid escape character at pos 1' },
  { name: 'wildcard trailing backslash', pattern: { x: [{ wildcard: 'a\\' }] }, reason: 'Invalid escape character at pos 1' },
  { name: 'cidr without a mask', pattern: { ip: [{ cidr: '10.0.0.1' }] }, reason: "Malformed CIDR, one '/' required" },
  { name: 'cidr with a non-integer mask', pattern: { ip: [{ cidr: 'bad-/64filter' }] }, reason: 'Malformed CIDR, mask bits must be an integer' },
  { name: 'cidr with a bad address', pattern: { ip: [{ cidr: 'xx.11.xx/24' }] }, reason: 'Nonstandard IP address: xx.11.xx' },
  { name: 'cidr with a bad IPv6 address', pattern: { ip: [{ cidr: 'xxxx:db8:1234:1a00::/64' }] }, reason: 'Nonstandard IP address' },
  { name: 'cidr IPv4 mask too long', pattern: { ip: [{ cidr: '10.0.0.0/33' }] }, reason: 'IPv4 mask bits must be at most 32' },
  { name: 'cidr IPv6 mask too long', pattern: { ip: [{ cidr: '2001:db8::/129' }] }, reason: 'IPv6 mask bits must be at most 128' },
  { name: 'cidr as a list', pattern: { ip: [{ cidr: ['10.0.0.0/24'] }] }, reason: 'cidr match pattern must be a string' },
  { name: '$or not an array', pattern: { $or: { a: ['x'] } }, reason: 'It must be an Array followed with $or.' },
  { name: '$or with one branch', pattern: { $or: [{ a: ['x'] }] }, reason: 'There must have at least 2 Objects in $or relationship.' },
  { name: '$or with non-object branches', pattern: { $or: ['a', 'b'] }, reason: 'Only JSON object is allowed in array of $or relationship.' },
  { name: '$or with an empty branch', pattern: { $or: [{}, { a: ['x'] }] }, reason: 'Empty objects are not allowed' },
  { name: '$or branch using an operator name as a field', pattern: { $or: [{ numeric: [123] }, { prefix: ['abc'] }] }, reason: 'numeric is a reserved operator name' },
  { name: 'an invalid operator deep inside an $or branch', pattern: { detail: { $or: [{ a: ['x'] }, { b: { c: [{ prefix: 1 }] } }] } }, reason: 'prefix match pattern must be a string' },
];

function thrown(fn: () => unknown): Error | undefined {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  return undefined;
}

describe('invalid event patterns', () => {
  it.each(invalidPatterns)('rejects $name', ({ pattern, reason }) => {
    const error = thrown(() => validatePattern(pattern));
    expect(error?.name).toBe('InvalidEventPatternException');
    expect(error?.message).toMatch(/^Event pattern is not valid\. Reason: /);
    expect(error?.message).toContain(reason);
    expect(thrown(() => testEventPattern(JSON.stringify(pattern), JSON.stringify(ec2)))?.name).toBe('InvalidEventPatternException');
  });

  it('accepts field names that look like operators outside $or', () => {
    expect(() => validatePattern({ detail: { prefix: ['a'], numeric: [1], exists: [true] } })).not.toThrow();
    expect(matchesPattern({ detail: { prefix: ['a'] } }, withDetail({ prefix: 'a' }))).toBe(true);
  });
});

describe('TestEventPattern API semantics', () => {
  const pattern = JSON.stringify({ source: ['aws.ec2'] });

  it('rejects pattern text that is not JSON with InvalidEventPatternException', () => {
    const error = thrown(() => testEventPattern("{'bad': 'quotation'}", JSON.stringify(ec2)));
    expect(error?.name).toBe('InvalidEventPatternException');
  });

  it.each([
    ['not JSON', 'this is not json'],
    ['a JSON string', '"aws.ec2"'],
    ['a JSON array', '[]'],
    ...['id', 'account', 'source', 'time', 'region', 'detail-type'].map((field) => {
      const { [field]: _omitted, ...rest } = ec2;
      return [`missing ${field}`, JSON.stringify(rest)];
    }),
  ])('rejects an event that is %s with ValidationException', (_name, eventText) => {
    const error = thrown(() => testEventPattern(pattern, eventText));
    expect(error?.name).toBe('ValidationException');
    expect(error?.message).toBe('Parameter Event is not valid.');
  });

  it('does not require resources or detail (recorded service behaviour, though the API reference lists resources)', () => {
    const { resources: _r, detail: _d, ...minimal } = ec2;
    expect(testEventPattern(pattern, JSON.stringify(minimal))).toBe(true);
  });

  it('answers false, not an error, for a well-formed event that does not match', () => {
    expect(testEventPattern(JSON.stringify({ source: ['aws.s3'] }), JSON.stringify(ec2))).toBe(false);
  });
});
