/** `npm run ops -- <command>`: the command line parsed, the stack found, the command run, its report printed. */
import { parseArgs } from 'node:util';
import { createClients, destroyClients, OpsClients } from './clients';
import { OpsContext } from './context';
import { peekDlq, purgeDlq, RedriveFailedError, redriveDlq } from './dlq';
import { explainAwsError, OpsError, UsageError } from './errors';
import { replayArchive, replayFailed } from './events';
import { orderTimeline } from './order';
import { renderOrder, renderPeek, renderPurge, renderRedrive, renderReplay, renderReplayFailed, renderStatus, renderSweep } from './render';
import { findOutputsFile, localEndpointOf, readCloudFormationOutputs, readOutputsFile, StackOutputs } from './stack';
import { status } from './status';
import { runSweep, SweepFailedError } from './sweep';

export const USAGE = `usage: npm run ops -- <command> [options]

commands:
  status                                 every queue and DLQ (visible, in flight, oldest), alarms in ALARM, the last sweep runs
  dlq peek <queue> [-n N]                a DLQ's messages, left in place (default 10)
  dlq redrive <queue> [--rate N]         move a redrive DLQ's messages back to their queue (N per second)
  dlq purge <queue> --yes                delete every message of a DLQ
  events replay-failed <queue>           put a rule-target DLQ's events back on the bus, deleting each once accepted
  events replay --from T --to T [--type X]
                                         replay the archive's events of [T, T) to the bus's rules (T: ISO time, now, -30m, -2h)
  sweep run                              start the compensation sweep, wait, print its summary
  order <orderId>                        the order and its timeline

queues: a role (inventory-dlq, notification-target-dlq, relay-dlq, ...), a consumer (its DLQ for dlq commands, its
rule-target DLQ for events replay-failed), a queue name or a queue URL

options:
  --json                 one JSON object on stdout (npm run -s ops -- ... --json: without npm's banner)
  --outputs-file F       the stack outputs (cdk deploy --outputs-file F); default .local/outputs.json (npm start)
  --stack NAME           the stack in an outputs file holding several; alone: its outputs from CloudFormation
  --endpoint-url URL     every service at URL (default AWS_ENDPOINT_URL; the local runtime's, from its outputs)
  --region R             default AWS_REGION, AWS_DEFAULT_REGION, us-east-1
  --timeout S            how long sweep run and events replay wait (seconds)

exit codes: 0 done, 1 failed (or an unknown order, nothing answering), 2 usage (an unknown command, option or queue)`;

export interface OpsIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Clients to use instead of building them (tests). */
  clients?: OpsClients;
  pollIntervalMs?: number;
}

interface Parsed {
  command: string[];
  json: boolean;
  values: Record<string, string | boolean | undefined>;
}

function parse(argv: string[]): Parsed {
  // `--from -30m`: a time ago is a value, not an option.
  const args = argv.flatMap((a, i) => (/^-\d+[smhd]$/.test(a) && ['--from', '--to'].includes(argv[i - 1]) ? [] : /^--(from|to)$/.test(a) && /^-\d+[smhd]$/.test(argv[i + 1] ?? '') ? [`${a}=${argv[i + 1]}`] : [a]));
  try {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        'outputs-file': { type: 'string' },
        stack: { type: 'string' },
        'endpoint-url': { type: 'string' },
        region: { type: 'string' },
        n: { type: 'string', short: 'n' },
        rate: { type: 'string' },
        yes: { type: 'boolean' },
        from: { type: 'string' },
        to: { type: 'string' },
        type: { type: 'string' },
        timeout: { type: 'string' },
      },
    });
    return { command: positionals, json: Boolean(values.json), values };
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

function integer(value: string | boolean | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

/** An ISO time, `now`, or a time ago: `-30s`, `-15m`, `-2h`, `-1d` (or without the minus). */
export function parseTime(value: string | boolean | undefined, flag: string, now = Date.now()): Date {
  if (typeof value !== 'string') throw new UsageError(`events replay needs ${flag} T (an ISO time, now, or -30m / -2h / -1d)`);
  if (value === 'now') return new Date(now);
  const ago = /^-?(\d+)([smhd])$/.exec(value);
  if (ago) return new Date(now - Number(ago[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[ago[2] as 's']);
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`${flag} ${value} is not a time (an ISO time like 2026-12-01T10:00:00Z, now, or -30m / -2h / -1d)`);
  return new Date(t);
}

function argument(command: string[], index: number, what: string, usage: string): string {
  const value = command[index];
  if (!value) throw new UsageError(`${usage} needs ${what}`);
  if (command.length > index + 1) throw new UsageError(`${usage}: unexpected ${command.slice(index + 1).join(' ')}`);
  return value;
}

/** Runs one command line; returns the exit code. */
export async function runOps(argv: string[], io: OpsIo): Promise<number> {
  let json = argv.includes('--json');
  let clients: OpsClients | undefined;
  try {
    const parsed = parse(argv);
    json = parsed.json;
    const { command, values } = parsed;
    if (values.help || command[0] === 'help') {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    if (!command.length) throw new UsageError('no command: status, dlq peek|redrive|purge, events replay-failed|replay, sweep run, order (see --help)');
    // The command line is checked before anything is read or reached.
    const run = commandOf(command, values);
    const stackName = values.stack as string | undefined;
    const outputsFile = findOutputsFile(values['outputs-file'] as string | undefined, stackName);
    const fromFile = outputsFile ? readOutputsFile(outputsFile, stackName) : undefined;
    const endpoint = (values['endpoint-url'] as string | undefined) || io.env.AWS_ENDPOINT_URL || (fromFile && localEndpointOf(fromFile));
    const region = (values.region as string | undefined) || io.env.AWS_REGION || io.env.AWS_DEFAULT_REGION || 'us-east-1';
    const where = endpoint ?? `AWS (${region})`;
    clients = io.clients ?? createClients({ endpoint, region });
    const built = clients;
    const stack: StackOutputs =
      fromFile ?? (await readCloudFormationOutputs(built, stackName!, where).catch((error: unknown) => Promise.reject(explainAwsError(error, where, `DescribeStacks ${stackName}`))));
    const ctx: OpsContext = {
      stack,
      clients,
      where,
      local: Boolean(endpoint),
      progress: json ? () => undefined : (line) => io.stderr(`${line}\n`),
      pollIntervalMs: io.pollIntervalMs ?? 500,
    };
    const { report, text } = await run(ctx);
    io.stdout(`${json ? JSON.stringify(report) : text}\n`);
    return 0;
  } catch (error) {
    // Not foreseen: still one line, the error's own.
    const e = error instanceof OpsError ? error : new OpsError(`unexpected: ${String((error as Error)?.message ?? error).split('\n')[0]}`);
    io.stderr(`ops: ${e.message}\n`);
    if (json) {
      const report = e instanceof RedriveFailedError ? e.report : e instanceof SweepFailedError ? e.run : undefined;
      io.stdout(`${JSON.stringify({ error: { message: e.message, exitCode: e.exitCode, type: e.constructor.name }, ...(report ? { report } : {}) })}\n`);
    }
    return e.exitCode;
  } finally {
    if (clients && !io.clients) destroyClients(clients);
  }
}

type Run = (ctx: OpsContext) => Promise<{ report: unknown; text: string }>;

function commandOf(command: string[], values: Parsed['values']): Run {
  const [name, sub] = command;
  const timeout = integer(values.timeout, '--timeout', 1, 86_400);
  const only = (allowed: string[], usage: string) => {
    const given = Object.keys(values).filter((k) => values[k] !== undefined && !['json', 'outputs-file', 'stack', 'endpoint-url', 'region', ...allowed].includes(k));
    if (given.length) throw new UsageError(`${usage} takes no ${given[0].length === 1 ? '-' : '--'}${given[0]}`);
  };
  const done = <T>(render: (r: T) => string) => (report: T) => ({ report, text: render(report) });
  switch (`${name} ${name === 'status' || name === 'order' ? '' : sub ?? ''}`.trim()) {
    case 'status': {
      only([], 'status');
      if (command.length > 1) throw new UsageError(`status: unexpected ${command.slice(1).join(' ')}`);
      return (ctx) => status(ctx).then(done(renderStatus));
    }
    case 'dlq peek': {
      only(['n'], 'dlq peek');
      const queue = argument(command, 2, 'a queue (e.g. notification)', 'dlq peek');
      const limit = integer(values.n, '-n', 1, 1000) ?? 10;
      return (ctx) => peekDlq(ctx, queue, { limit }).then(done(renderPeek));
    }
    case 'dlq redrive': {
      only(['rate'], 'dlq redrive');
      const queue = argument(command, 2, 'a queue (e.g. notification)', 'dlq redrive');
      const rate = integer(values.rate, '--rate', 1, 500);
      return (ctx) => redriveDlq(ctx, queue, { rate }).then(done(renderRedrive));
    }
    case 'dlq purge': {
      only(['yes'], 'dlq purge');
      const queue = argument(command, 2, 'a queue (e.g. notification)', 'dlq purge');
      return (ctx) => purgeDlq(ctx, queue, { yes: Boolean(values.yes) }).then(done(renderPurge));
    }
    case 'events replay-failed': {
      only([], 'events replay-failed');
      const queue = argument(command, 2, 'a rule-target DLQ (e.g. notification-target-dlq)', 'events replay-failed');
      return (ctx) => replayFailed(ctx, queue).then(done(renderReplayFailed));
    }
    case 'events replay': {
      only(['from', 'to', 'type', 'timeout'], 'events replay');
      if (command.length > 2) throw new UsageError(`events replay: unexpected ${command.slice(2).join(' ')}`);
      const from = parseTime(values.from, '--from');
      const to = parseTime(values.to, '--to');
      return (ctx) => replayArchive(ctx, { from, to, type: values.type as string | undefined, timeoutSeconds: timeout }).then(done(renderReplay));
    }
    case 'sweep run': {
      only(['timeout'], 'sweep run');
      if (command.length > 2) throw new UsageError(`sweep run: unexpected ${command.slice(2).join(' ')}`);
      return (ctx) => runSweep(ctx, { timeoutSeconds: timeout }).then(done((r) => `sweep ${renderSweep(r)}`));
    }
    case 'order': {
      only([], 'order');
      const orderId = argument(command, 1, 'an order id', 'order');
      return (ctx) => orderTimeline(ctx, orderId).then(done(renderOrder));
    }
    default:
      throw new UsageError(`unknown command '${command.join(' ')}': status, dlq peek|redrive|purge, events replay-failed|replay, sweep run, order <orderId> (see --help)`);
  }
}
