/**
 * `npm start -- [options]`: runs the synthesized stack locally. Ready means the outputs file is written and a line
 * says where everything listens; SIGINT/SIGTERM stop it cleanly (in-flight messages finish or return to their queue).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { checkJava } from './requirements';
import { RuntimeOptions, startRuntime } from './runtime';
import { FaultPlan, readFaultPlan } from './faults/fault-plan';
import { LOCAL_JWT_CONTEXT } from './issuer/local-issuer';

const USAGE = `Usage: npm start -- [options]

  --port N            HTTP API port (default 3000)
  --aws-port N        AWS endpoint port: SQS, EventBridge, Step Functions, DynamoDB (default 4566)
  --data-dir DIR      keep tables and queued messages here across restarts (default .local/data)
  --in-memory         keep nothing on disk
  --time-scale N      run visibility timeouts, batching windows, delays, waits and schedules N times faster (default 1)
  --sqs-pollers N     pollers per SQS event source (default 1: the same batches every run; AWS starts with 5, and
                      with more than one, which messages share a batch varies as it does on AWS)
  --outputs-file F    stack outputs, like cdk deploy --outputs-file (default .local/outputs.json)
  -c key=value        CDK context for synth (repeatable), e.g. -c paymentWindowSeconds=60
  --local-jwt         a JWT-authorized API trusting the runtime's own issuer (sets -c jwtIssuer=${LOCAL_JWT_CONTEXT.jwtIssuer}
                      -c jwtAudience=${LOCAL_JWT_CONTEXT.jwtAudience}); tokens from npm run token -- --sub c-42 [--scope orders/admin]
  --function-logs F   append every function's log lines to F (default .local/functions.log; "-" for stdout)
  --assembly DIR      run an existing cloud assembly (e.g. cdk.out of \`npx cdk synth\`) instead of synthesizing
  --faults F          inject faults from a plan (JSON or YAML, seeded; see docs/faults.md), e.g. local/faults/mild.yaml
  -h, --help          this text`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

export function parseCli(argv: string[]): RuntimeOptions & { functionLogs: string; faults?: FaultPlan } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'aws-port': { type: 'string' },
        'data-dir': { type: 'string' },
        'in-memory': { type: 'boolean' },
        'time-scale': { type: 'string' },
        'sqs-pollers': { type: 'string' },
        'outputs-file': { type: 'string' },
        'function-logs': { type: 'string' },
        assembly: { type: 'string' },
        faults: { type: 'string' },
        context: { type: 'string', short: 'c', multiple: true },
        'local-jwt': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const port = (name: string, value?: string) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name} must be a port number (0-65535), got ${value}`);
    return n;
  };
  const timeScale = v['time-scale'] === undefined ? 1 : Number(v['time-scale']);
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) fail(`--time-scale must be a positive number, got ${v['time-scale']}`);
  if (v['in-memory'] && v['data-dir']) fail('--in-memory and --data-dir exclude each other');
  if (v.assembly && v.context?.length) fail('-c applies to synth; with --assembly nothing is synthesized');
  const context: Record<string, string> = {};
  for (const pair of v.context ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 1) fail(`-c expects key=value, got ${pair}`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  if (v['local-jwt']) {
    if (v.assembly) fail('--local-jwt applies to synth; with --assembly nothing is synthesized');
    if (context.jwtIssuer !== undefined || context.jwtAudience !== undefined) fail('--local-jwt sets jwtIssuer and jwtAudience itself: drop the -c jwtIssuer/jwtAudience');
    Object.assign(context, LOCAL_JWT_CONTEXT);
  }
  const pollers = v['sqs-pollers'] === undefined ? undefined : Number(v['sqs-pollers']);
  if (pollers !== undefined && !(Number.isInteger(pollers) && pollers >= 1 && pollers <= 1000)) fail(`--sqs-pollers must be an integer from 1 to 1000, got ${v['sqs-pollers']}`);
  let faults: FaultPlan | undefined;
  if (v.faults !== undefined) {
    try {
      faults = readFaultPlan(v.faults);
    } catch (error) {
      fail((error as Error).message);
    }
  }
  return {
    faults,
    port: port('port', v.port) ?? 3000,
    awsPort: port('aws-port', v['aws-port']) ?? 4566,
    dataDir: v['data-dir'],
    inMemory: Boolean(v['in-memory']),
    timeScale,
    sqsPollers: pollers,
    outputsFile: v['outputs-file'],
    useAssembly: v.assembly ? path.resolve(v.assembly) : undefined,
    context,
    functionLogs: v['function-logs'] ?? '.local/functions.log',
  };
}

async function main(): Promise<void> {
  // The runtime's own SDK clients (synth, tables) on Node 20: the SDK's Node version notice is not news to a user.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Lambda runs in UTC; the functions' threads share this process's time zone.
  process.env.TZ = 'UTC';
  const { functionLogs, ...options } = parseCli(process.argv.slice(2));
  // DynamoDB Local runs on Java: say what to install, once, before anything else.
  const java = checkJava();
  if (!java.ok) {
    process.stderr.write(`${java.message}\n`);
    process.exit(1);
  }
  let functionLog: RuntimeOptions['functionLog'];
  if (functionLogs === '-') functionLog = (fn, line) => process.stdout.write(`${fn} | ${line}\n`);
  else {
    const file = path.resolve(functionLogs);
    mkdirSync(path.dirname(file), { recursive: true });
    functionLog = (fn, line) => appendFileSync(file, `${fn} | ${line}\n`);
  }
  if (!options.useAssembly) process.stdout.write('synthesizing the app (cdk-nag on, local esbuild)...\n');
  const runtime = await startRuntime({ ...options, functionLog });
  if (runtime.issuer) {
    process.stdout.write(`JWT authorizer on, trusting the local issuer ${runtime.issuer.url}: a token for customer c-42 is npm run token -- --sub c-42 [--scope orders/admin]\n`);
  }
  if (runtime.faults.active) {
    process.stdout.write(`faults on (seed ${runtime.faults.plan.seed}): counts at GET ${runtime.endpoints.aws}/_local/faults and at stop\n`);
  }
  const killAfter = options.faults?.process.killAfterSeconds;
  if (killAfter !== undefined) {
    // The fault plan's process kill: no cleanup runs, as when the host dies; restart on the same --data-dir to resume.
    setTimeout(() => {
      process.stdout.write(`fault    process.kill: SIGKILL after ${killAfter}s (pid ${process.pid})\n`);
      process.kill(process.pid, 'SIGKILL');
    }, killAfter * 1000);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping (in-flight messages finish or return to their queue)...\n`);
    runtime.stop().then(
      () => {
        if (runtime.faults.active) process.stdout.write(`faults injected: ${JSON.stringify(runtime.faults.counts())}\n`);
        process.exit(0);
      },
      (error) => {
        process.stderr.write(`stop failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** What went wrong at start, in the user's terms where we know them. */
export function explainStartFailure(error: unknown, options: { port?: number; awsPort?: number; dataDir?: string }): string {
  const e = error as NodeJS.ErrnoException & { port?: number };
  if (e?.code === 'EADDRINUSE') {
    const which = e.port === options.awsPort ? `--aws-port ${options.awsPort}` : `--port ${options.port}`;
    return `port ${e.port} is already in use (another npm start?): stop that process or choose another with ${which}`;
  }
  if (e?.name === 'DataDirInUseError' || e?.name === 'MissingRequirementError') return e.message;
  return String(e?.stack ?? error);
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  main().catch((error) => {
    const options = parseCli(argv);
    process.stderr.write(`npm start failed: ${explainStartFailure(error, options)}\n`);
    process.exit(1);
  });
}
