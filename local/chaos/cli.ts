/**
 * `npm run chaos -- [--orders N] [--fault-rate P] [--seed S] [--json]`: the pipeline under every fault kind, real
 * traffic's races and a kill -9, then the audit. Exits 1 when any promise is broken (the report says which), so a
 * failing seed is a command to rerun.
 */
import { parseArgs } from 'node:util';
import { checkJava } from '../requirements';
import { runChaos } from './chaos';
import { formatReport } from './report';

const USAGE = `Usage: npm run chaos -- [options]

  --orders N            orders to place (default 2000)
  --fault-rate P        every fault kind at this rate, 0..1 (default 0.1)
  --seed S              the workload's and the faults' seed, an integer (default 1)
  --orders-per-second R the load's rate (default 3: what a 2-core machine keeps up with under every fault at 10%)
  --no-kill             no kill -9 half-way through the load
  --settle-timeout S    seconds to wait for nothing to move after the load (default 600)
  --assembly DIR        run this cloud assembly instead of synthesizing one (synth with the chaos context)
  --keep                keep the work directory (data, function logs, fault plan) and print where
  --json                print one JSON object instead of the table
  -h, --help            this text`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
}

function number(name: string, value: string | undefined, fallback: number, check: (n: number) => boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) fail(`--${name} ${value}: not a valid value`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        orders: { type: 'string' },
        'fault-rate': { type: 'string' },
        seed: { type: 'string' },
        'orders-per-second': { type: 'string' },
        'no-kill': { type: 'boolean' },
        'settle-timeout': { type: 'string' },
        assembly: { type: 'string' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    fail((error as Error).message);
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const java = checkJava();
  if (!java.ok) {
    process.stderr.write(`${java.message}\n`);
    process.exit(1);
  }
  const report = await runChaos({
    orders: number('orders', parsed.orders, 2000, (n) => Number.isInteger(n) && n > 0),
    faultRate: number('fault-rate', parsed['fault-rate'], 0.1, (n) => n >= 0 && n <= 1),
    seed: number('seed', parsed.seed, 1, Number.isInteger),
    ordersPerSecond: number('orders-per-second', parsed['orders-per-second'], 3, (n) => n > 0),
    kill: !parsed['no-kill'],
    settleTimeoutSeconds: number('settle-timeout', parsed['settle-timeout'], 600, (n) => n > 0),
    ...(parsed.assembly ? { assembly: parsed.assembly } : {}),
    keep: Boolean(parsed.keep),
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(parsed.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
  process.exitCode = report.violations.length ? 1 : 0;
}

main().catch((error: unknown) => {
  process.stderr.write(`chaos: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
