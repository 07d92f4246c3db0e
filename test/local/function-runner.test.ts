/**
 * The local Lambda runner: execution environments as worker threads (cold / warm, isolation, concurrency bound),
 * the Lambda context, error and timeout shapes, output lines, and one real bundle (the stack's own bundling).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvocationReport, LocalFunction, LocalFunctionOptions } from '../../local/engines/function-runner';
import { InvokeResult } from '../../local/engines/invoker';
import { CfnElement } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { ESBUILD_OPTIONS } from '../../lib/pipeline-function';
import { synth } from '../lib/synth';


const FIXTURE = String.raw`
let counter = 0;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
console.log('init of', process.env.AWS_LAMBDA_FUNCTION_NAME);

exports.asyncHandler = async (event, context) => ({
  echo: event,
  counter: ++counter,
  requestId: context.awsRequestId,
  functionName: context.functionName,
  functionVersion: context.functionVersion,
  invokedFunctionArn: context.invokedFunctionArn,
  memoryLimitInMB: context.memoryLimitInMB,
  logGroupName: context.logGroupName,
  logStreamName: context.logStreamName,
  callbackWaitsForEmptyEventLoop: context.callbackWaitsForEmptyEventLoop,
});
exports.nested = { deeper: { handler: async () => 'nested' } };
exports.callbackHandler = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', event }), 10);
};
exports.callbackError = (event, context, callback) => callback(new RangeError('callback failed'));
exports.thrower = async () => {
  class OrderError extends Error {
    constructor(message) {
      super(message);
      this.name = 'OrderError';
    }
  }
  counter++;
  throw new OrderError('no stock');
};
exports.stringThrower = async () => {
  throw 'just a string';
};
exports.maybeHang = async (event) => {
  counter++;
  if (event.hang === 'forever') return new Promise(() => {});
  if (event.hang === 'busy') for (;;) {}
  return { counter };
};
exports.env = async (event) => {
  const seen = {
    FOO: process.env.FOO,
    LEAK: process.env.LEAK,
    PARENT_ONLY: process.env.PARENT_ONLY,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID,
    reserved: Object.fromEntries(
      ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
        'AWS_LAMBDA_FUNCTION_VERSION', 'LAMBDA_TASK_ROOT', '_HANDLER', 'AWS_EXECUTION_ENV', 'TZ'].map((k) => [k, process.env[k]]),
    ),
  };
  if (event.set) process.env.LEAK = event.set;
  return seen;
};
exports.slow = async (event) => {
  const start = Date.now();
  await sleep(event.ms);
  return { start, end: Date.now() };
};
exports.remaining = async (event, context) => {
  const first = context.getRemainingTimeInMillis();
  await sleep(150);
  return { first, second: context.getRemainingTimeInMillis() };
};
exports.crash = async (event) => {
  counter++;
  if (event.how === 'uncaught') {
    setTimeout(() => { throw new TypeError('escaped'); }, 0);
    await sleep(5000);
  }
  if (event.how === 'exit') process.exit(3);
  if (event.how === 'rejection') {
    Promise.reject(new Error('floating'));
    await sleep(5000);
  }
  return { counter };
};
exports.hog = async (event) => {
  if (!event.hog) return { counter: ++counter };
  const kept = [];
  for (;;) kept.push({ n: Math.random(), s: 'x'.repeat(16) + Math.random() });
};
exports.logs = async () => {
  console.log('plain', { a: 1 });
  console.error('multi\nline');
  process.stdout.write('raw ');
  process.stdout.write('chunk\n');
  process.stderr.write('partial');
  return 'ok';
};
exports.shapes = async (event) => {
  if (event.kind === 'circular') {
    const o = {};
    o.self = o;
    return o;
  }
  if (event.kind === 'undefined') return undefined;
  if (event.kind === 'big') return 'x'.repeat(7 * 1024 * 1024);
  return { at: new Date(0), dropped: undefined, fn: () => 1, list: [1, undefined] };
};
`;

let dir: string;
const functions: LocalFunction[] = [];

function make(handler: string, overrides: Partial<LocalFunctionOptions> = {}): LocalFunction {
  const fn = new LocalFunction({
    name: `Fn${functions.length}`,
    codeDirectory: dir,
    handler,
    environment: {},
    timeoutSeconds: 3,
    memorySize: 128,
    region: 'eu-west-1',
    runtime: 'nodejs24.x',
    ...overrides,
  });
  functions.push(fn);
  return fn;
}

function ok(result: InvokeResult): unknown {
  if (!result.ok) throw new Error(`invocation failed: ${JSON.stringify(result.error)}`);
  return result.result;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'function-runner-'));
  fs.writeFileSync(path.join(dir, 'index.js'), FIXTURE);
  fs.writeFileSync(path.join(dir, 'broken.js'), "throw new Error('init failed');\n");
});

afterAll(async () => {
  await Promise.all(functions.map((f) => f.stop(1000)));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('invocation', () => {
  it('runs an async handler with a Lambda context', async () => {
    const fn = make('index.asyncHandler', { name: 'Orders', memorySize: 512 });
    const result = await fn.invoke({ orderId: 'o-1' });
    expect(result.ok).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
    const value = ok(result) as Record<string, unknown>;
    expect(value).toMatchObject({
      echo: { orderId: 'o-1' },
      counter: 1,
      functionName: 'Orders',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:000000000000:function:Orders',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/Orders',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(value.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(value.logStreamName).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    const second = ok(await fn.invoke(undefined)) as Record<string, unknown>;
    expect(second.echo).toEqual({}); // no payload is an empty object
    expect(second.requestId).not.toBe(value.requestId);
  });

  it('resolves nested handler exports', async () => {
    expect(ok(await make('index.nested.deeper.handler').invoke({}))).toBe('nested');
  });

  it('runs callback-style handlers on runtimes before nodejs24.x', async () => {
    const fn = make('index.callbackHandler', { runtime: 'nodejs22.x' });
    expect(ok(await fn.invoke({ n: 1 }))).toEqual({ via: 'callback', event: { n: 1 } });
    const failed = await make('index.callbackError', { runtime: 'nodejs22.x' }).invoke({});
    expect(failed).toMatchObject({ ok: false, error: { errorType: 'RangeError', errorMessage: 'callback failed' } });
  });

  it('refuses callback-style handlers on nodejs24.x at INIT, as Lambda does', async () => {
    const result = await make('index.callbackHandler', { runtime: 'nodejs24.x' }).invoke({});
    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.CallbackHandlerDeprecated' } });
  });

  it('answers a thrown error as errorType / errorMessage / stackTrace and keeps the environment warm', async () => {
    const reports: InvocationReport[] = [];
    const fn = make('index.thrower', { onReport: (r) => reports.push(r) });
    const first = await fn.invoke({});
    expect(first.ok).toBe(false);
    if (first.ok) return;
    expect(first.timedOut).toBeUndefined();
    expect(first.error.errorType).toBe('OrderError');
    expect(first.error.errorMessage).toBe('no stock');
    expect(first.error.stackTrace?.[0]).toBe('OrderError: no stock');
    expect(first.error.stackTrace?.some((line) => line.includes('index.js'))).toBe(true);
    await fn.invoke({});
    expect(fn.stats()).toMatchObject({ environments: 1, coldStarts: 1, invocations: 2 });
    expect(reports.map((r) => [r.status, r.environmentId])).toEqual([
      ['error', reports[0].environmentId],
      ['error', reports[0].environmentId],
    ]);
    const thrownString = await make('index.stringThrower').invoke({});
    expect(thrownString).toMatchObject({ ok: false, error: { errorType: 'string', errorMessage: 'just a string', stackTrace: [] } });
  });

  it('serializes results through JSON and bounds their size', async () => {
    const fn = make('index.shapes');
    expect(ok(await fn.invoke({ kind: 'plain' }))).toEqual({ at: '1970-01-01T00:00:00.000Z', list: [1, null] });
    expect(ok(await fn.invoke({ kind: 'undefined' }))).toBeNull();
    expect(await fn.invoke({ kind: 'circular' })).toMatchObject({ ok: false, error: { errorType: 'Runtime.JSONStringifyError' } });
    expect(await fn.invoke({ kind: 'big' })).toMatchObject({ ok: false, error: { errorType: 'Function.ResponseSizeTooLarge' } });
    expect(fn.stats().environments).toBe(1);
  });
});

describe('execution environments', () => {
  it('loads the module once per environment and reuses it warm', async () => {
    const reports: InvocationReport[] = [];
    const fn = make('index.asyncHandler', { onReport: (r) => reports.push(r) });
    const counters = [];
    for (let i = 0; i < 3; i++) counters.push((ok(await fn.invoke({ i })) as { counter: number }).counter);
    expect(counters).toEqual([1, 2, 3]);
    expect(fn.stats()).toMatchObject({ environments: 1, coldStarts: 1, invocations: 3 });
    expect(reports[0].initDurationMs).toBeGreaterThan(0);
    expect(reports[1].initDurationMs).toBeUndefined();
    expect(reports[2].initDurationMs).toBeUndefined();
  });

  it('gives each environment its own process.env, apart from the host and from other functions', async () => {
    process.env.PARENT_ONLY = 'host';
    try {
      const a = make('index.env', { name: 'A', environment: { FOO: 'a', AWS_ACCESS_KEY_ID: 'local-key' } });
      const b = make('index.env', { name: 'B', environment: { FOO: 'b', AWS_LAMBDA_FUNCTION_NAME: 'spoofed' } });
      const firstA = ok(await a.invoke({ set: 'from-a' })) as Record<string, unknown>;
      expect(firstA).toMatchObject({ FOO: 'a', AWS_ACCESS_KEY_ID: 'local-key' });
      expect(firstA.PARENT_ONLY).toBeUndefined();
      expect(firstA.LEAK).toBeUndefined();
      expect(firstA.reserved).toEqual({
        AWS_REGION: 'eu-west-1',
        AWS_DEFAULT_REGION: 'eu-west-1',
        AWS_LAMBDA_FUNCTION_NAME: 'A',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        LAMBDA_TASK_ROOT: dir,
        _HANDLER: 'index.env',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        TZ: ':UTC',
      });
      const firstB = ok(await b.invoke({})) as Record<string, unknown>;
      expect(firstB.FOO).toBe('b');
      expect(firstB.LEAK).toBeUndefined(); // a's change stays in a's environment
      expect(firstB.AWS_ACCESS_KEY_ID).toBeUndefined();
      expect((firstB.reserved as Record<string, string>).AWS_LAMBDA_FUNCTION_NAME).toBe('B'); // reserved variables win
      expect(process.env.LEAK).toBeUndefined(); // nor does it reach the host
      expect((ok(await a.invoke({})) as Record<string, unknown>).LEAK).toBe('from-a'); // but persists warm
    } finally {
      delete process.env.PARENT_ONLY;
    }
  });

  it('never runs more than maxConcurrency invocations at once; the rest queue', async () => {
    const reports: InvocationReport[] = [];
    const fn = make('index.slow', { maxConcurrency: 2, onReport: (r) => reports.push(r) });
    const results = (await Promise.all(Array.from({ length: 5 }, () => fn.invoke({ ms: 300 })))).map(ok) as { start: number; end: number }[];
    const maxOverlap = Math.max(...results.map((r) => results.filter((o) => o.start <= r.start && r.start < o.end).length));
    expect(maxOverlap).toBe(2);
    expect(fn.stats()).toMatchObject({ environments: 2, coldStarts: 2, invocations: 5, busy: 0, queued: 0 });
    expect(new Set(reports.map((r) => r.environmentId)).size).toBe(2);
    expect(reports.filter((r) => r.queuedMs >= 250).length).toBeGreaterThanOrEqual(3);
  });

  it("compiles later environments' handler with the code cache the first one made after its first invocation", async () => {
    const reports: InvocationReport[] = [];
    const fn = make('index.slow', { maxConcurrency: 3, onReport: (r) => reports.push(r) });
    ok(await fn.invoke({ ms: 1 }));
    // Two at once: the warm environment takes one, a new one (with the cache) the other.
    const results = (await Promise.all([fn.invoke({ ms: 200 }), fn.invoke({ ms: 200 })])).map(ok);
    expect(results).toHaveLength(2);
    const cold = reports.filter((r) => r.initDurationMs !== undefined);
    expect(cold.map((r) => r.codeCache)).toEqual(['none', 'used']);
    expect(reports.filter((r) => r.initDurationMs === undefined).every((r) => r.codeCache === undefined)).toBe(true);
    // The cached environment is its own: module state starts over (the fixture's counter counts per environment).
    expect(ok(await make('index.asyncHandler').invoke({}))).toMatchObject({ counter: 1 });
  });

  it('loads an ES module handler with import(), without a code cache', async () => {
    const esmDir = fs.mkdtempSync(path.join(os.tmpdir(), 'function-runner-esm-'));
    try {
      fs.writeFileSync(path.join(esmDir, 'index.mjs'), 'export const handler = async (event) => ({ esm: true, event, meta: typeof import.meta.url });\n');
      fs.writeFileSync(path.join(esmDir, 'package.json'), JSON.stringify({ type: 'module' }));
      fs.writeFileSync(path.join(esmDir, 'typed.js'), 'export const handler = async () => "esm by package.json";\n');
      const reports: InvocationReport[] = [];
      expect(ok(await make('index.handler', { codeDirectory: esmDir, onReport: (r) => reports.push(r) }).invoke({ a: 1 }))).toEqual({ esm: true, event: { a: 1 }, meta: 'string' });
      expect(ok(await make('typed.handler', { codeDirectory: esmDir, onReport: (r) => reports.push(r) }).invoke({}))).toBe('esm by package.json');
      expect(reports.map((r) => r.codeCache)).toEqual(['off', 'off']);
    } finally {
      fs.rmSync(esmDir, { recursive: true, force: true });
    }
  });

  it('counts getRemainingTimeInMillis down from the timeout', async () => {
    const { first, second } = ok(await make('index.remaining', { timeoutSeconds: 2 }).invoke({})) as { first: number; second: number };
    expect(first).toBeLessThanOrEqual(2000);
    expect(first).toBeGreaterThan(1500);
    expect(first - second).toBeGreaterThanOrEqual(140);
    expect(first - second).toBeLessThan(600);
  });
});

describe('timeouts and crashes', () => {
  it('terminates an environment that exceeds the timeout (pending promise or busy loop); the next invocation gets a fresh one', async () => {
    const waiting = make('index.maybeHang', { timeoutSeconds: 1 });
    const spinning = make('index.maybeHang', { timeoutSeconds: 1 });
    const [a, b] = await Promise.all([waiting.invoke({ hang: 'forever' }), spinning.invoke({ hang: 'busy' })]);
    for (const result of [a, b]) {
      expect(result).toMatchObject({
        ok: false,
        timedOut: true,
        error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 1.00 seconds' },
      });
      expect(result.durationMs).toBeGreaterThanOrEqual(990);
      expect(result.durationMs).toBeLessThan(2000);
    }
    expect(waiting.stats().environments).toBe(0);
    expect(spinning.stats().environments).toBe(0);
    // Module state starts over: the counter of the terminated environment is gone.
    expect(ok(await waiting.invoke({}))).toEqual({ counter: 1 });
    expect(ok(await spinning.invoke({}))).toEqual({ counter: 1 });
    expect(waiting.stats()).toMatchObject({ environments: 1, coldStarts: 2 });
  });

  it.each([
    ['uncaught', { errorType: 'TypeError', errorMessage: 'escaped' }],
    ['exit', { errorType: 'Runtime.ExitError', errorMessage: expect.stringContaining('Runtime exited with error: exit status 3') }],
    ['rejection', { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: 'Error: floating' }],
  ])('an %s crash kills the environment and fails the invocation', async (how, error) => {
    const fn = make('index.crash');
    expect(ok(await fn.invoke({}))).toEqual({ counter: 1 });
    const crashed = await fn.invoke({ how });
    expect(crashed).toMatchObject({ ok: false, error });
    expect(fn.stats().environments).toBe(0);
    expect(ok(await fn.invoke({}))).toEqual({ counter: 1 });
    expect(fn.stats()).toMatchObject({ environments: 1, coldStarts: 2 });
  });

  it('kills an environment that outgrows its memory (Runtime.OutOfMemory)', async () => {
    const fn = make('index.hog', { memorySize: 32, timeoutSeconds: 10 });
    const result = await fn.invoke({ hog: true });
    expect(result).toMatchObject({ ok: false, error: { errorType: 'Runtime.OutOfMemory' } });
    expect(ok(await fn.invoke({}))).toEqual({ counter: 1 });
  });

  it('fails INIT errors like Lambda and retries INIT on the next invocation', async () => {
    expect(await make('missing.handler').invoke({})).toMatchObject({ ok: false, error: { errorType: 'Runtime.ImportModuleError' } });
    expect(await make('index.nope').invoke({})).toMatchObject({
      ok: false,
      error: { errorType: 'Runtime.HandlerNotFound', errorMessage: 'index.nope is undefined or not exported' },
    });
    const broken = make('broken.handler');
    expect(await broken.invoke({})).toMatchObject({ ok: false, error: { errorType: 'Error', errorMessage: 'init failed' } });
    expect(await broken.invoke({})).toMatchObject({ ok: false, error: { errorMessage: 'init failed' } });
    expect(broken.stats().environments).toBe(0);
  });
});

describe('output and lifecycle', () => {
  it('sends every output line to onLog, with the Lambda console format and platform lines', async () => {
    const lines: string[] = [];
    const fn = make('index.logs', { name: 'Logs', runtime: 'nodejs20.x', onLog: (line) => lines.push(line) });
    await fn.invoke({});
    const requestId = /^START RequestId: (\S+) Version: \$LATEST$/.exec(lines.find((l) => l.startsWith('START')) ?? '')?.[1];
    expect(requestId).toBeDefined();
    expect(lines[0]).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z\t\tINFO\tinit of Logs$/); // INIT output, before any request
    expect(lines).toContain(`END RequestId: ${requestId}`);
    expect(lines.some((l) => new RegExp(`^[\\dTZ:.-]+\\t${requestId}\\tINFO\\tplain { a: 1 }$`).test(l))).toBe(true);
    expect(lines.some((l) => l.endsWith(`\t${requestId}\tERROR\tmulti\rline`))).toBe(true); // one record per message
    expect(lines).toContain('raw chunk');
    expect(lines).toContain('partial'); // flushed at the end of the invocation
    const report = lines.find((l) => l.startsWith('REPORT'));
    expect(report).toMatch(new RegExp(`^REPORT RequestId: ${requestId}\\tDuration: [\\d.]+ ms\\tBilled Duration: \\d+ ms\\tMemory Size: 128 MB\\tMax Memory Used: \\d+ MB\\tInit Duration: [\\d.]+ ms$`));
    lines.length = 0;
    await fn.invoke({});
    expect(lines.find((l) => l.startsWith('REPORT'))).not.toContain('Init Duration');
  });

  it('writes JSON records when the function logs in JSON format', async () => {
    const lines: string[] = [];
    const fn = make('index.logs', { logFormat: 'JSON', onLog: (line) => lines.push(line) });
    await fn.invoke({});
    const records = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(records.find((r) => r.type === 'platform.start')).toBeDefined();
    expect(records.find((r) => r.message === 'plain { a: 1 }')).toMatchObject({ level: 'INFO', requestId: expect.any(String) });
    expect(records.find((r) => r.type === 'platform.report')).toMatchObject({ record: { status: 'success', metrics: { memorySizeMB: 128 } } });
  });

  it('stop() lets the invocation in flight finish, fails the queued ones and terminates the environments', async () => {
    const fn = make('index.slow', { maxConcurrency: 1 });
    const running = fn.invoke({ ms: 300 });
    const queued = fn.invoke({ ms: 300 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fn.stop(2000);
    expect((await running).ok).toBe(true);
    expect(await queued).toMatchObject({ ok: false, error: { errorType: 'ServiceException' } });
    expect(fn.stats().environments).toBe(0);
    expect(await fn.invoke({ ms: 1 })).toMatchObject({ ok: false, error: { errorType: 'ServiceException' } });
  });

  it('stop() terminates an invocation that outlives its bound', async () => {
    const fn = make('index.maybeHang', { timeoutSeconds: 30 });
    const running = fn.invoke({ hang: 'forever' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fn.stop(100);
    expect(await running).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError' } });
  });
});

describe('a real bundle, as the stack defines and bundles it', () => {
  type Resource = { Type: string; Properties: Record<string, any>; Metadata?: Record<string, string> };

  let summarise: { logicalId: string; resource: Resource; codeDirectory: string };
  const bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'summarise-bundle-'));
  afterAll(() => fs.rmSync(bundleDir, { recursive: true, force: true }));

  // The function's properties from the synthesized template; its code bundled by esbuild with the stack's own
  // bundling options (the end-to-end suites run every function from a full synth's cdk.out).
  beforeAll(async () => {
    const { stack, template } = synth();
    const fn = stack.sweep.functions.summarise;
    const logicalId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
    const resource = (template.toJSON().Resources as Record<string, Resource>)[logicalId]!;
    await build({ ...ESBUILD_OPTIONS, entryPoints: [fn.entryPath], outfile: path.join(bundleDir, 'index.js'), logLevel: 'silent' });
    summarise = { logicalId, resource, codeDirectory: bundleDir };
  }, 120_000);

  it('invokes the compensation sweep Summarise bundle', async () => {
    const { logicalId, resource, codeDirectory } = summarise;
    const props = resource.Properties;
    // Template values that are references become their logical ids (the local runtime resolves them for real).
    const environment = Object.fromEntries(
      Object.entries(props.Environment.Variables as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
    );
    const lines: string[] = [];
    const reports: InvocationReport[] = [];
    const fn = make(props.Handler, {
      name: logicalId,
      codeDirectory,
      environment: { ...environment, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
      timeoutSeconds: props.Timeout,
      memorySize: props.MemorySize,
      runtime: props.Runtime,
      logFormat: props.LoggingConfig?.LogFormat,
      region: 'us-east-1',
      onLog: (line) => lines.push(line),
      onReport: (r) => reports.push(r),
    });
    const input = {
      results: [
        [{ orderId: 'o-2', action: 'republish', outcome: 'republished' }, { orderId: 'o-3', action: 'republish', outcome: 'republished' }],
        [{ orderId: 'o-1', action: 'expire', outcome: 'cancelled' }, { orderId: 'o-4', action: 'expire', error: { Error: 'Lambda.Unknown', Cause: 'boom' } }],
      ],
    };
    const result = await fn.invoke(input);
    expect(ok(result)).toMatchObject({
      found: { republish: 2, expire: 2 },
      outcomes: { 'expire:cancelled': 1, 'republish:republished': 2 },
      failed: 1,
      failures: [expect.objectContaining({ orderId: 'o-4', action: 'expire' })],
    });
    const warm = await fn.invoke({ results: [[], []] });
    expect(ok(warm)).toMatchObject({ failed: 0 });

    // Powertools' JSON logs and EMF metrics reach onLog, one record per line, from the environment's own variables.
    const records = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const finished = records.filter((r) => r.message === 'sweep finished');
    expect(finished.map((r) => r.cold_start)).toEqual([true, false]);
    expect(finished[0]).toMatchObject({ service: 'compensation-sweep', function_name: logicalId, function_memory_size: String(props.MemorySize) });
    expect(records.some((r) => r._aws?.CloudWatchMetrics && r.SweepItemFailures === 1)).toBe(true);
    expect(reports[0].initDurationMs).toBeGreaterThan(0);
    expect(reports[1].initDurationMs).toBeUndefined();
  });
});
