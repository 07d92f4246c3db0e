/**
 * Runs a synthesized Lambda function (a NodejsFunction bundle in cdk.out/asset.<hash>/) locally, the way the Lambda
 * Node.js runtime would: each execution environment is a worker_threads Worker with its own process.env and module
 * cache, INIT (loading the handler) happens once per environment and later invocations reuse it warm, one invocation
 * runs at a time per environment, the function timeout is enforced in real time by terminating the environment, and
 * results travel as JSON. The worker side is ./function-worker.js (plain JS: workers start with no loader).
 *
 * Concurrency: at most `maxConcurrency` environments exist. AWS would reject an invocation beyond the function's
 * concurrency with TooManyRequestsException (429, throttling); locally such an invocation waits in a FIFO queue for
 * an environment to come free instead, so callers never see throttling.
 */
import { Worker } from 'node:worker_threads';
import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Clock, systemClock } from '../clock';
import { InvokeError, InvokeResult, Invoker } from './invoker';
import { Faults, NO_FAULTS } from '../faults/faults';

export const WORKER_SCRIPT = path.join(__dirname, 'function-worker.js');
/** Synchronous invocation payload limit (request and response) of Lambda: 6 MB. */
export const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;
const ACCOUNT_ID = '000000000000';
/** On-demand Lambda gives INIT 10 s. */
const DEFAULT_INIT_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_GRACE_MS = 5_000;

export type LogFormat = 'Text' | 'JSON';

export interface LocalFunctionOptions {
  /** The function's name (its logical id in the template). */
  name: string;
  /** Absolute directory of the asset (LAMBDA_TASK_ROOT). */
  codeDirectory: string;
  /** `file.export` form, e.g. `index.handler` (nested exports and sub-directories as Lambda allows). */
  handler: string;
  /** The function's variables plus whatever credentials / endpoint variables the caller wants the code to see. */
  environment?: Record<string, string>;
  /** Lambda default 3. */
  timeoutSeconds?: number;
  /** Lambda default 128. Bounds the environment's V8 old generation (approximately; see fidelity notes). */
  memorySize?: number;
  /** How many execution environments may run at once (default 10); further invocations queue. */
  maxConcurrency?: number;
  region: string;
  /** e.g. `nodejs24.x` (the template's Runtime); default: the host's Node.js major. Only affects semantics, not the Node that runs. */
  runtime?: string;
  /** The template's LoggingConfig.LogFormat (default Text). */
  logFormat?: LogFormat;
  /** LoggingConfig.ApplicationLogLevel (JSON format only; AWS default INFO). */
  applicationLogLevel?: string;
  /** Default /aws/lambda/<name>. */
  logGroupName?: string;
  /** Used for the timestamps of the platform log lines (START / END / REPORT). Timeouts always use real time. */
  clock?: Clock;
  /** Every output line of the function (console, Powertools JSON, platform lines). Default: discard. */
  onLog?: (line: string) => void;
  /** One report per finished invocation (cold start visibility, metrics). */
  onReport?: (report: InvocationReport) => void;
  /** INIT bound (default 10 s, as on-demand Lambda). */
  initTimeoutMs?: number;
  /** Response size limit (default 6 MB, as synchronous invocation). */
  maxResponseBytes?: number;
  /** Fault injection (lambda.error, lambda.timeout, lambda.crash, lambda.coldStart); default none. */
  faults?: Faults;
}

export interface InvocationReport {
  functionName: string;
  requestId: string;
  environmentId: number;
  status: 'success' | 'error' | 'timeout';
  /** Handler time (AWS "Duration"). */
  durationMs: number;
  /** Present on a cold start (AWS "Init Duration"). */
  initDurationMs?: number;
  /**
   * On a cold start: whether INIT compiled the handler file with the V8 code cache an earlier environment of the
   * function made ('used'), had none yet ('none'), or V8 refused it ('rejected'); 'off' for ES modules. Local only.
   */
  codeCache?: CodeCacheState;
  /** Time spent waiting for a free environment. */
  queuedMs: number;
  maxMemoryUsedMB?: number;
}

export interface LocalFunctionStats {
  environments: number;
  busy: number;
  queued: number;
  coldStarts: number;
  invocations: number;
}

type Outcome =
  | { kind: 'result'; payload: string; heapUsedMB?: number }
  | { kind: 'error'; error: InvokeError; heapUsedMB?: number }
  | { kind: 'fatal'; error: InvokeError }
  | { kind: 'exit'; code: number; cause?: Error }
  | { kind: 'died' };

export type CodeCacheState = 'used' | 'rejected' | 'none' | 'off';

type WorkerMessage =
  | { type: 'log'; stream: 'stdout' | 'stderr'; text: string }
  | { type: 'ready'; initDurationMs: number; codeCache: CodeCacheState }
  | { type: 'code-cache'; data: Uint8Array }
  | { type: 'init-error'; error: InvokeError }
  | { type: 'result'; requestId: string; payload: string; heapUsedMB?: number }
  | { type: 'error'; requestId: string; error: InvokeError; heapUsedMB?: number }
  | { type: 'fatal'; requestId?: string; error: InvokeError }
  | { type: 'died'; requestId?: string; awsCalls: number };

function runtimeMajor(runtime: string): number {
  const match = /nodejs(\d+)/.exec(runtime);
  return match ? Number(match[1]) : Number(process.versions.node.split('.')[0]);
}

function errorOf(errorType: string, errorMessage: string): InvokeError {
  return { errorType, errorMessage };
}

/** Lambda's log stream name: `YYYY/MM/DD/[$LATEST]<32 hex>`, one per execution environment. */
function logStreamName(now: number): string {
  const day = new Date(now).toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

/** One execution environment: a worker, its INIT, and the invocation in flight (at most one). */
class ExecutionEnvironment {
  state: 'init' | 'idle' | 'busy' | 'dead' = 'init';
  initDurationMs?: number;
  codeCache?: CodeCacheState;
  /** True until the first invocation has reported the cold start. */
  cold = true;
  /** Injected INIT latency (lambda.coldStart), added once before the first invocation. */
  extraInitMs = 0;
  readonly ready: Promise<void>;
  private readonly worker: Worker;
  private pending?: { requestId: string; settle: (outcome: Outcome) => void };
  private initError?: InvokeError;
  private workerError?: Error;
  private killReason?: string;
  private exitCode?: number;
  private readonly buffers = { stdout: '', stderr: '' };
  private readonly exited: Promise<void>;

  constructor(
    readonly id: number,
    options: { env: Record<string, string>; workerData: unknown; memorySize: number },
    private readonly emit: (line: string) => void,
    onExit: (env: ExecutionEnvironment) => void,
    onCodeCache: (data: Uint8Array) => void,
  ) {
    this.worker = new Worker(WORKER_SCRIPT, {
      env: options.env,
      workerData: options.workerData,
      // No loader (tsx), no inherited flags: the bundle runs on bare Node, as in Lambda.
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(32, Math.floor(options.memorySize * 0.85)) },
    });
    // An idle environment must not keep the host process alive.
    this.worker.unref();
    // Anything written below the patched streams (there should be nothing) still reaches onLog.
    this.worker.stdout.setEncoding('utf8').on('data', (text: string) => this.output('stdout', text));
    this.worker.stderr.setEncoding('utf8').on('data', (text: string) => this.output('stderr', text));

    let resolveReady!: () => void;
    let rejectReady!: (error: InvokeError) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    this.ready.catch(() => undefined);

    this.worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'log':
          this.output(message.stream, message.text);
          break;
        case 'ready':
          this.initDurationMs = message.initDurationMs;
          this.codeCache = message.codeCache;
          if (this.state === 'init') this.state = 'busy'; // INIT always happens for an invocation that waits on it
          resolveReady();
          break;
        case 'init-error':
          this.initError = message.error;
          break;
        case 'code-cache':
          onCodeCache(message.data);
          break;
        case 'result':
          if (this.pending?.requestId === message.requestId) this.pending.settle({ kind: 'result', payload: message.payload, heapUsedMB: message.heapUsedMB });
          break;
        case 'error':
          if (this.pending?.requestId === message.requestId) this.pending.settle({ kind: 'error', error: message.error, heapUsedMB: message.heapUsedMB });
          break;
        case 'fatal':
          // The worker exits right after: the environment is gone, and the invocation in flight (if any) fails.
          this.state = 'dead';
          this.pending?.settle({ kind: 'fatal', error: message.error });
          break;
        case 'died':
          // An injected crash or timeout: the worker exits right after.
          this.state = 'dead';
          this.pending?.settle({ kind: 'died' });
          break;
      }
    });
    this.worker.on('error', (error) => {
      this.workerError = error;
    });
    this.exited = new Promise<void>((resolve) => {
      this.worker.on('exit', (code) => {
        this.exitCode = code;
        const wasInit = this.state === 'init' || this.initDurationMs === undefined;
        this.state = 'dead';
        this.flush();
        if (wasInit) rejectReady(this.initError ?? this.exitError(code, undefined));
        this.pending?.settle({ kind: 'exit', code, cause: this.workerError });
        onExit(this);
        resolve();
      });
    });
  }

  /** Runs one invocation; resolves with what the worker answered, or how it died. */
  run(message: { requestId: string; event: string; deadlineMs: number; invokedFunctionArn: string; dieAfterAwsCalls?: number }): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      if (this.exitCode !== undefined) {
        // Died between being handed out and this call (a crash while idle): nothing will answer.
        resolve({ kind: 'exit', code: this.exitCode, cause: this.workerError });
        return;
      }
      this.pending = {
        requestId: message.requestId,
        settle: (outcome) => {
          if (this.pending?.requestId !== message.requestId) return;
          this.pending = undefined;
          this.flush();
          resolve(outcome);
        },
      };
      this.worker.postMessage({ type: 'invoke', ...message });
    });
  }

  /** Kills the environment (timeout, stop); an invocation still in flight fails with Runtime.ExitError. */
  kill(reason: string): Promise<void> {
    if (this.state !== 'dead') {
      this.state = 'dead';
      this.killReason = reason;
      void this.worker.terminate();
    }
    return this.exited;
  }

  exitError(code: number, cause: Error | undefined, requestId?: string): InvokeError {
    const prefix = requestId ? `RequestId: ${requestId} Error: ` : '';
    if (this.killReason) return errorOf('Runtime.ExitError', `${prefix}Runtime exited: ${this.killReason}`);
    if ((cause as NodeJS.ErrnoException | undefined)?.code === 'ERR_WORKER_OUT_OF_MEMORY') {
      return errorOf('Runtime.OutOfMemory', `${prefix}Runtime exited with error: signal: killed`);
    }
    if (code === 0) return errorOf('Runtime.ExitError', `${prefix}Runtime exited without providing a reason`);
    return errorOf('Runtime.ExitError', `${prefix}Runtime exited with error: exit status ${code}`);
  }

  private output(stream: 'stdout' | 'stderr', text: string): void {
    const lines = (this.buffers[stream] + text).split('\n');
    this.buffers[stream] = lines.pop() ?? '';
    for (const line of lines) this.emit(line);
  }

  /** Emits partial lines (output with no trailing newline) at the end of an invocation. */
  private flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.buffers[stream]) {
        const line = this.buffers[stream];
        this.buffers[stream] = '';
        this.emit(line);
      }
    }
  }
}

interface Waiter {
  resolve: (env: ExecutionEnvironment) => void;
  reject: (error: InvokeError) => void;
}

export class LocalFunction implements Invoker {
  readonly name: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  readonly maxConcurrency: number;
  readonly runtime: string;
  readonly invokedFunctionArn: string;
  readonly logGroupName: string;
  private readonly logFormat: LogFormat;
  private readonly clock: Clock;
  private readonly faults: Faults;
  private readonly options: LocalFunctionOptions;
  private readonly environments = new Set<ExecutionEnvironment>();
  private readonly idle: ExecutionEnvironment[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextEnvironmentId = 1;
  /** V8 code cache of the handler file, from the first environment that finished an invocation (see function-worker.js). */
  private codeCache?: Uint8Array;
  private coldStarts = 0;
  private invocations = 0;
  private stopped = false;

  constructor(options: LocalFunctionOptions) {
    if (!path.isAbsolute(options.codeDirectory)) throw new Error(`codeDirectory must be absolute, got ${options.codeDirectory}`);
    this.options = options;
    this.name = options.name;
    this.timeoutSeconds = options.timeoutSeconds ?? 3;
    this.memorySize = options.memorySize ?? 128;
    this.maxConcurrency = options.maxConcurrency ?? 10;
    if (!(this.timeoutSeconds > 0)) throw new Error(`timeoutSeconds must be positive, got ${this.timeoutSeconds}`);
    if (!(this.maxConcurrency >= 1)) throw new Error(`maxConcurrency must be at least 1, got ${this.maxConcurrency}`);
    this.runtime = options.runtime ?? `nodejs${process.versions.node.split('.')[0]}.x`;
    this.invokedFunctionArn = `arn:aws:lambda:${options.region}:${ACCOUNT_ID}:function:${options.name}`;
    this.logGroupName = options.logGroupName ?? `/aws/lambda/${options.name}`;
    this.logFormat = options.logFormat ?? 'Text';
    this.clock = options.clock ?? systemClock();
    this.faults = options.faults ?? NO_FAULTS;
  }

  stats(): LocalFunctionStats {
    return {
      environments: this.environments.size,
      busy: [...this.environments].filter((e) => e.state === 'busy' || e.state === 'init').length,
      queued: this.waiters.length,
      coldStarts: this.coldStarts,
      invocations: this.invocations,
    };
  }

  invoke(event: unknown): Promise<InvokeResult> {
    const run = this.invokeOnce(event);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  /**
   * Stops taking invocations, fails the queued ones, lets the ones in flight finish (at most graceMs), then
   * terminates every environment.
   */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<void> {
    this.stopped = true;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.stoppedError());
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.inFlight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
        }),
      ]);
      clearTimeout(timer);
    }
    await Promise.all([...this.environments].map((env) => env.kill('the local runtime stopped')));
    this.idle.length = 0;
  }

  private stoppedError(): InvokeError {
    return errorOf('ServiceException', `function ${this.name} is stopped`);
  }

  private async invokeOnce(event: unknown): Promise<InvokeResult> {
    if (this.stopped) return { ok: false, error: this.stoppedError(), durationMs: 0 };
    let payload: string;
    try {
      // No payload is an empty object in Lambda.
      payload = event === undefined ? '{}' : JSON.stringify(event);
    } catch (err) {
      return { ok: false, error: errorOf('InvalidRequestContentException', `Could not serialize the event: ${(err as Error).message}`), durationMs: 0 };
    }

    const queuedAt = performance.now();
    let env: ExecutionEnvironment;
    try {
      env = await this.acquire();
    } catch (error) {
      return { ok: false, error: error as InvokeError, durationMs: 0 };
    }
    const queuedMs = performance.now() - queuedAt;
    const requestId = randomUUID();
    try {
      const initFailure = await this.awaitInit(env);
      if (initFailure) return initFailure;
      return await this.runOn(env, requestId, payload, queuedMs);
    } finally {
      this.release(env);
    }
  }

  /** Waits for a new environment's INIT; answers the failed invocation if INIT fails. */
  private async awaitInit(env: ExecutionEnvironment): Promise<InvokeResult | undefined> {
    const failure = await this.awaitReady(env);
    if (!failure && env.extraInitMs > 0) {
      // A slow cold start (injected): INIT takes, and is reported, that much longer.
      const extra = env.extraInitMs;
      env.extraInitMs = 0;
      await new Promise((resolve) => setTimeout(resolve, extra));
      env.initDurationMs = (env.initDurationMs ?? 0) + extra;
    }
    return failure;
  }

  private async awaitReady(env: ExecutionEnvironment): Promise<InvokeResult | undefined> {
    if (env.initDurationMs !== undefined) return undefined;
    const initTimeoutMs = this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const started = performance.now();
    try {
      const timedOut = await Promise.race([
        env.ready.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), initTimeoutMs);
        }),
      ]);
      if (!timedOut) return undefined;
      await env.kill('INIT timed out');
      return {
        ok: false,
        timedOut: true,
        error: errorOf('Sandbox.Timedout', `INIT timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`),
        durationMs: performance.now() - started,
      };
    } catch (error) {
      // INIT failed (Runtime.ImportModuleError, Runtime.HandlerNotFound, an exception at module load...): the
      // environment is gone and the next invocation initializes a fresh one, as Lambda does.
      return { ok: false, error: error as InvokeError, durationMs: performance.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }

  private async runOn(env: ExecutionEnvironment, requestId: string, payload: string, queuedMs: number): Promise<InvokeResult> {
    const cold = env.cold;
    env.cold = false;
    if (cold) this.coldStarts++;
    this.invocations++;
    this.platformStart(requestId);

    const timeoutMs = this.timeoutSeconds * 1000;
    const started = performance.now();
    const deadlineMs = Date.now() + timeoutMs;
    const fault = this.faultFor();
    let timer: NodeJS.Timeout | undefined;
    const ran =
      fault?.kind === 'lambda.error'
        ? Promise.resolve<Outcome>({ kind: 'error', error: errorOf('InjectedFaultError', 'the function failed (injected fault lambda.error)') })
        : env.run({ requestId, event: payload, deadlineMs, invokedFunctionArn: this.invokedFunctionArn, dieAfterAwsCalls: fault?.dieAfterAwsCalls });
    let outcome = await Promise.race([
      ran,
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    const durationMs = performance.now() - started;
    if (fault?.kind === 'lambda.timeout' && outcome !== 'timeout' && (outcome.kind === 'died' || outcome.kind === 'exit')) outcome = 'timeout';

    let result: InvokeResult;
    let status: InvocationReport['status'] = 'error';
    let heapUsedMB: number | undefined;
    if (outcome === 'timeout') {
      // The environment is reset: the next invocation gets a fresh one (cold start).
      await env.kill('function timed out');
      const message = `Task timed out after ${this.timeoutSeconds.toFixed(2)} seconds`;
      this.log(this.logFormat === 'JSON' ? JSON.stringify({ timestamp: this.isoNow(), level: 'ERROR', requestId, message }) : `${this.isoNow()} ${requestId} ${message}`);
      result = { ok: false, timedOut: true, error: errorOf('Sandbox.Timedout', message), durationMs };
      status = 'timeout';
    } else if (outcome.kind === 'result') {
      heapUsedMB = outcome.heapUsedMB;
      result = { ok: true, result: JSON.parse(outcome.payload), durationMs };
      status = 'success';
    } else if (outcome.kind === 'error') {
      heapUsedMB = outcome.heapUsedMB;
      result = { ok: false, error: outcome.error, durationMs };
    } else if (outcome.kind === 'fatal') {
      result = { ok: false, error: outcome.error, durationMs };
    } else if (outcome.kind === 'died' || fault?.kind === 'lambda.crash') {
      // What Lambda reports for a sandbox killed mid-invocation (out of memory, crashed runtime).
      result = { ok: false, error: errorOf('Runtime.ExitError', `RequestId: ${requestId} Error: Runtime exited with error: signal: killed`), durationMs };
    } else {
      result = { ok: false, error: env.exitError(outcome.code, outcome.cause, requestId), durationMs };
    }

    const report: InvocationReport = {
      functionName: this.name,
      requestId,
      environmentId: env.id,
      status,
      durationMs,
      queuedMs,
      ...(cold && env.initDurationMs !== undefined ? { initDurationMs: env.initDurationMs } : {}),
      ...(cold && env.codeCache !== undefined ? { codeCache: env.codeCache } : {}),
      ...(heapUsedMB !== undefined ? { maxMemoryUsedMB: heapUsedMB } : {}),
    };
    this.platformEnd(report);
    try {
      this.options.onReport?.(report);
    } catch {
      // a consumer's failure is not the function's
    }
    return result;
  }

  /** At most one fault per invocation: error (no handler run), timeout or crash (the environment dies after k AWS calls). */
  private faultFor(): { kind: 'lambda.error' | 'lambda.timeout' | 'lambda.crash'; dieAfterAwsCalls?: number } | undefined {
    const f = this.faults;
    if (f.inject('lambda.error', this.name)) return { kind: 'lambda.error' };
    if (f.inject('lambda.crash', this.name)) {
      return { kind: 'lambda.crash', dieAfterAwsCalls: f.parameter('lambda.crash', this.name, 'afterAwsCalls') ?? 1 + Math.floor(f.random('lambda.crash', this.name) * 3) };
    }
    // A timeout strikes somewhere in the invocation: after 0 to 3 AWS calls (or at its end), without waiting out
    // the real timeout, so a fault profile does not make every run as slow as its slowest function's timeout.
    if (f.inject('lambda.timeout', this.name)) return { kind: 'lambda.timeout', dieAfterAwsCalls: Math.floor(f.random('lambda.timeout', this.name) * 4) };
    return undefined;
  }

  private acquire(): Promise<ExecutionEnvironment> {
    for (let idle = this.idle.pop(); idle; idle = this.idle.pop()) {
      if (idle.state === 'dead') continue; // crashed while idle, exit pending
      idle.state = 'busy';
      return Promise.resolve(idle);
    }
    if (this.environments.size < this.maxConcurrency) return Promise.resolve(this.spawn());
    return new Promise<ExecutionEnvironment>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private release(env: ExecutionEnvironment): void {
    if (env.state !== 'dead') {
      const waiter = this.waiters.shift();
      if (waiter) {
        waiter.resolve(env);
      } else {
        env.state = 'idle';
        this.idle.push(env);
      }
      return;
    }
    this.environments.delete(env);
    while (this.waiters.length > 0 && this.environments.size < this.maxConcurrency && !this.stopped) {
      this.waiters.shift()!.resolve(this.spawn());
    }
  }

  private spawn(): ExecutionEnvironment {
    const stream = logStreamName(this.clock.now());
    const env = new ExecutionEnvironment(
      this.nextEnvironmentId++,
      { env: this.environmentFor(stream), workerData: this.workerData(), memorySize: this.memorySize },
      (line) => this.log(line),
      (dead) => {
        this.environments.delete(dead);
        const at = this.idle.indexOf(dead);
        if (at >= 0) this.idle.splice(at, 1);
      },
      (data) => {
        this.codeCache ??= data;
      },
    );
    if (this.faults.inject('lambda.coldStart', this.name)) env.extraInitMs = this.faults.parameter('lambda.coldStart', this.name, 'latencyMs') ?? 1000;
    this.environments.add(env);
    return env;
  }

  private workerData() {
    return {
      taskRoot: this.options.codeDirectory,
      handler: this.options.handler,
      runtimeMajor: runtimeMajor(this.runtime),
      maxResponseBytes: this.options.maxResponseBytes ?? MAX_RESPONSE_BYTES,
      forwardOutput: this.options.onLog !== undefined,
      // Compiling a 700 KB bundle is most of a cold start's CPU; with a cache of the first environment's code, later
      // environments of the function skip it (about half the INIT time, measured on the API bundle: 200 -> 100 ms).
      ...(this.codeCache ? { codeCache: this.codeCache } : { wantCodeCache: true }),
    };
  }

  /**
   * The environment's variables: unreserved defaults (PATH, LANG, TZ) the function may override, then the function's
   * variables (and the caller's credentials / endpoints), then the variables Lambda reserves, which win.
   */
  private environmentFor(logStream: string): Record<string, string> {
    const reserved: Record<string, string> = {
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      AWS_EXECUTION_ENV: `AWS_Lambda_${this.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: this.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(this.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: this.logGroupName,
      AWS_LAMBDA_LOG_STREAM_NAME: logStream,
      LAMBDA_TASK_ROOT: this.options.codeDirectory,
      LAMBDA_RUNTIME_DIR: path.dirname(WORKER_SCRIPT),
      _HANDLER: this.options.handler,
    };
    if (this.logFormat === 'JSON') {
      reserved.AWS_LAMBDA_LOG_FORMAT = 'JSON';
      reserved.AWS_LAMBDA_LOG_LEVEL = (this.options.applicationLogLevel ?? 'INFO').toUpperCase();
    }
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      ...this.options.environment,
      ...reserved,
    };
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private log(line: string): void {
    if (!this.options.onLog) return;
    try {
      this.options.onLog(line);
    } catch {
      // a consumer's failure is not the function's
    }
  }

  private platformStart(requestId: string): void {
    if (this.logFormat === 'JSON') {
      this.log(JSON.stringify({ time: this.isoNow(), type: 'platform.start', record: { requestId, version: '$LATEST' } }));
    } else {
      this.log(`START RequestId: ${requestId} Version: $LATEST`);
    }
  }

  private platformEnd(report: InvocationReport): void {
    const billed = Math.ceil(report.durationMs) + (report.initDurationMs !== undefined ? Math.ceil(report.initDurationMs) : 0);
    if (this.logFormat === 'JSON') {
      const metrics: Record<string, number> = {
        durationMs: round2(report.durationMs),
        billedDurationMs: billed,
        memorySizeMB: this.memorySize,
      };
      if (report.maxMemoryUsedMB !== undefined) metrics.maxMemoryUsedMB = report.maxMemoryUsedMB;
      if (report.initDurationMs !== undefined) metrics.initDurationMs = round2(report.initDurationMs);
      this.log(JSON.stringify({ time: this.isoNow(), type: 'platform.report', record: { requestId: report.requestId, metrics, status: report.status } }));
      return;
    }
    this.log(`END RequestId: ${report.requestId}`);
    const parts = [
      `REPORT RequestId: ${report.requestId}`,
      `Duration: ${report.durationMs.toFixed(2)} ms`,
      `Billed Duration: ${billed} ms`,
      `Memory Size: ${this.memorySize} MB`,
    ];
    if (report.maxMemoryUsedMB !== undefined) parts.push(`Max Memory Used: ${report.maxMemoryUsedMB} MB`);
    if (report.initDurationMs !== undefined) parts.push(`Init Duration: ${report.initDurationMs.toFixed(2)} ms`);
    if (report.status === 'timeout') parts.push('Status: timeout');
    this.log(parts.join('\t'));
  }
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
