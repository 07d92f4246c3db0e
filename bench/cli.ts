/**
 * `npm run bench [-- --quick] [--json]`: figures against budgets, each a ratio to a baseline measured in the same
 * run (absolute times on a shared machine drift). Writes bench/results/<date>.json and <date>.md; exits 1 when a
 * budget is missed. Sections so far: bundles (size and cold load per function), the warm API (POST /orders against the
 * raw call it makes), end to end at concurrency 1, 16 and 64 against the DynamoDB writes' own ceiling, and start-up.
 */
import { Stack } from 'aws-cdk-lib';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_CONFIG } from '../lib/config';
import { FUNCTION_NAMES, FunctionName } from '../lib/function-access';
import { readCloudAssembly } from '../local/assembly/cloud-assembly';
import { checkJava } from '../local/requirements';
import { startRuntimeProcess } from '../local/runtime-process';
import { synthesizeStack } from '../local/synth';
import { BUNDLE_BUDGET, BundleFigures, buildBaselines, DeployedBundle, measureBundles } from './bundles';
import { median } from './stats';
import { Template } from './tables';
import { measureWarmApi, WARM_API_BUDGET, WarmApiFigures } from './warm-api';
import { CostFigures, measureCost } from './cost';
import { latencyChart } from './chart';
import { CEILING_BUDGET, measureCeiling, measurePipeline, PipelineFigures, startPipeline } from './pipeline';
import { measureNpmTest, TestRunFigures } from './tests';

/** The issue's budget: `npm start` ready within 5 s on 2 cores, the app already synthesized. */
const START_BUDGET_SECONDS = 5;
/** The issue's budget: at most $12 per million orders placed and paid. */
const COST_BUDGET_USD = 12;
const NPM_TEST_BUDGET_SECONDS = 180;

interface BenchResult {
  date: string;
  machine: { cpus: number; node: string };
  rounds: number;
  functions: Record<FunctionName, BundleFigures>;
  api: WarmApiFigures;
  pipeline: { runs: PipelineFigures[]; ordersPerSecond: Record<string, number>; ceilingOrdersPerSecond: number; ceilingRatio: number };
  cost: CostFigures;
  costPerMillionOrdersUsd: number;
  startSeconds: number;
  /** `npm test` as the README runs it; null with --quick. */
  npmTest: TestRunFigures | null;
  budgets: { name: string; value: number; limit: number; ok: boolean }[];
}

/** Each function's deployed bundle, from an assembly synthesized as `npm start` does. */
function deployedBundles(outdir: string): { deployed: Record<FunctionName, DeployedBundle>; logicalIds: Record<FunctionName, string>; template: Template } {
  const { stack } = synthesizeStack({ outdir, context: {} });
  const [artifact] = readCloudAssembly(outdir);
  const deployed = {} as Record<FunctionName, DeployedBundle>;
  const logicalIds = {} as Record<FunctionName, string>;
  for (const name of FUNCTION_NAMES) {
    const logicalId = (logicalIds[name] = Stack.of(stack).getLogicalId(stack.functions[name].node.defaultChild as CfnFunction));
    const dir = artifact!.assetDirectory(logicalId);
    if (!dir) throw new Error(`no asset for ${name} (${logicalId})`);
    const env = (artifact!.template.Resources[logicalId]!.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables ?? {};
    deployed[name] = { file: path.join(dir, 'index.js'), nodeOptions: typeof env.NODE_OPTIONS === 'string' ? env.NODE_OPTIONS : '' };
  }
  return { deployed, logicalIds, template: artifact!.template };
}

/** The runtime from spawn to its ready line, on an assembly already synthesized (a warm `npm start`). */
async function startSeconds(assembly: string, work: string, rounds: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = Date.now();
    const runtime = await startRuntimeProcess({
      args: ['--assembly', assembly, '--data-dir', path.join(work, `data-${i}`), '--port', '0', '--aws-port', '0', '--outputs-file', path.join(work, `outputs-${i}.json`), '--function-logs', path.join(work, 'functions.log')],
    });
    times.push((Date.now() - started) / 1000);
    await runtime.stop();
  }
  return median(times);
}

function markdown(r: BenchResult): string {
  const rows = FUNCTION_NAMES.map((n) => {
    const f = r.functions[n];
    return `| ${n} | ${f.bytes.toLocaleString('en')} | ${f.baselineBytes.toLocaleString('en')} | ${f.sizeRatio.toFixed(2)}x | ${f.initMs.toFixed(1)} | ${f.baselineInitMs.toFixed(1)} | ${f.initRatio.toFixed(2)}x |`;
  });
  return [
    `# Bench ${r.date} (${r.machine.cpus} cores, Node ${r.machine.node}, ${r.rounds} rounds)`,
    '',
    '| function | bytes | baseline bytes | size | cold load ms | baseline ms | load |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Warm API, ${r.api.requests} requests: POST /orders p50 ${r.api.p50Ms.toFixed(2)} ms, p99 ${r.api.p99Ms.toFixed(2)} ms; the raw conditional PutItem p50 ${r.api.rawP50Ms.toFixed(2)} ms, p99 ${r.api.rawP99Ms.toFixed(2)} ms (${r.api.p50Ratio.toFixed(2)}x, ${r.api.p99Ratio.toFixed(2)}x); the function logged ${Math.round(r.api.logBytesPerRequest)} bytes per request.`,
    '',
    '| end to end: concurrency | orders | orders/s | p50 ms to settled | p99 ms |',
    '|---|---|---|---|---|',
    ...r.pipeline.runs.map((p) => `| ${p.concurrency} | ${p.orders} | ${p.ordersPerSecond.toFixed(1)} | ${p.p50Ms.toFixed(0)} | ${p.p99Ms.toFixed(0)} |`),
    '',
    '| stage (p50 / p99 ms) | ' + r.pipeline.runs.map((p) => `concurrency ${p.concurrency}`).join(' | ') + ' |',
    '|---|' + r.pipeline.runs.map(() => '---').join('|') + '|',
    ...(r.pipeline.runs[0]?.stages ?? []).map((s, k) => `| ${s.stage} | ` + r.pipeline.runs.map((p) => `${p.stages[k]!.p50Ms.toFixed(0)} / ${p.stages[k]!.p99Ms.toFixed(0)}`).join(' | ') + ' |'),
    '',
    'Chart: [docs/bench-latency.svg](../../docs/bench-latency.svg).',
    '',
    `Ceiling (the same DynamoDB writes per order, straight to DynamoDB Local at concurrency 64): ${r.pipeline.ceilingOrdersPerSecond.toFixed(1)} orders/s; the pipeline at 64 does ${(r.pipeline.ceilingRatio * 100).toFixed(0)}% of it.`,
    '',
    `Cost per million orders placed and paid (${r.cost.orders} orders measured; prices of bench/prices.ts):`,
    '',
    '| item | per order | USD per million orders |',
    '|---|---|---|',
    ...r.cost.items.map((i) => `| ${i.what} | ${i.perOrder < 10 ? i.perOrder.toFixed(3) : Math.round(i.perOrder).toLocaleString('en')} ${i.unit} | ${i.usdPerMillionOrders.toFixed(2)} |`),
    `| **total** | | **${r.cost.costPerMillionOrdersUsd.toFixed(2)}** |`,
    '',
    `Biggest item: ${r.cost.biggest}. Floor (the calls the flow cannot avoid, no logs, no compute): $${r.cost.floorUsd.toFixed(2)}. Log bytes per order by function: ${Object.entries(r.cost.logBytesPerOrder).map(([f, b]) => `${f} ${Math.round(b)}`).join(', ')}.`,
    '',
    `Start-up (warm, median): ${r.startSeconds.toFixed(2)} s.`,
    '',
    r.npmTest
      ? `npm test: ${r.npmTest.seconds.toFixed(0)} s wall, exit ${r.npmTest.exitCode}, ${r.npmTest.suites ?? '?'} suites, ${r.npmTest.tests ?? '?'} tests (${r.npmTest.failed ?? '?'} failed).`
      : 'npm test: not measured (--quick).',
    '',
    '| budget | value | limit | |',
    '|---|---|---|---|',
    ...r.budgets.map((b) => `| ${b.name} | ${b.value.toFixed(2)} | ${b.limit} | ${b.ok ? 'ok' : '**missed**'} |`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, json: { type: 'boolean' } } });
  const java = checkJava();
  if (!java.ok) {
    process.stderr.write(`${java.message}\n`);
    process.exit(1);
  }
  const rounds = values.quick ? 5 : 15;
  const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-bench-'));
  try {
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say('synthesizing...');
    const assembly = path.join(work, 'cdk.out');
    const { deployed, logicalIds, template } = deployedBundles(assembly);
    const baselines = buildBaselines(path.join(work, 'baselines'));
    say(`bundles: ${rounds} cold loads of each bundle and its baseline...`);
    const functions = measureBundles(deployed, baselines, rounds);
    const requests = values.quick ? 300 : 2000;
    say(`warm API: ${requests} POST /orders through the handler, each with the raw PutItem beside it...`);
    const api = await measureWarmApi({ template, apiLogicalId: logicalIds.api, bundle: deployed.api.file, requests });
    const sizes: Record<number, number> = values.quick ? { 1: 5, 16: 60, 64: 200 } : { 1: 20, 16: 300, 64: 1000 };
    say(`ceiling: ${sizes[64]} orders' DynamoDB writes at concurrency 64, straight to DynamoDB Local...`);
    const ceiling = await measureCeiling({ template, apiLogicalId: logicalIds.api, concurrency: 64, orders: sizes[64]!, paymentWindowSeconds: DEFAULT_CONFIG.paymentWindowSeconds });
    say('end to end: the runtime as npm start runs it, at concurrency 1, 16 and 64...');
    const functionLogs = path.join(work, 'pipeline-functions.log');
    const runtime = await startPipeline(assembly, work, functionLogs);
    const runs: PipelineFigures[] = [];
    let cost: CostFigures;
    try {
      for (const concurrency of [1, 16, 64]) runs.push(await measurePipeline(runtime, concurrency, sizes[concurrency]!));
      const costOrders = values.quick ? 20 : 100;
      say(`cost: ${costOrders} orders placed and paid, what each made the stack do...`);
      cost = await measureCost({ runtime, functionLogs, template, orders: costOrders, sweepIntervalMinutes: DEFAULT_CONFIG.sweepIntervalMinutes });
    } finally {
      await runtime.stop();
    }
    const at64 = runs.find((r) => r.concurrency === 64)!;
    const pipeline = { runs, ordersPerSecond: Object.fromEntries(runs.map((r) => [String(r.concurrency), r.ordersPerSecond])), ceilingOrdersPerSecond: ceiling.ordersPerSecond, ceilingRatio: at64.ordersPerSecond / ceiling.ordersPerSecond };
    say('start-up...');
    const start = await startSeconds(assembly, work, values.quick ? 1 : 3);
    let npmTest: TestRunFigures | null = null;
    if (!values.quick) {
      say('npm test, as the README runs it...');
      npmTest = await measureNpmTest(path.resolve(__dirname, '..'), say);
    }
    const budgets = [
      ...FUNCTION_NAMES.flatMap((n) => [
        { name: `${n} bundle size / baseline`, value: functions[n].sizeRatio, limit: BUNDLE_BUDGET },
        { name: `${n} cold load / baseline`, value: functions[n].initRatio, limit: BUNDLE_BUDGET },
      ]),
      { name: 'warm POST /orders p50 / raw PutItem p50', value: api.p50Ratio, limit: WARM_API_BUDGET },
      { name: 'warm POST /orders p99 / raw PutItem p99', value: api.p99Ratio, limit: WARM_API_BUDGET },
      { name: 'start-up seconds (warm)', value: start, limit: START_BUDGET_SECONDS },
    ]
      .map((b) => ({ ...b, ok: b.value <= b.limit }))
      .concat([{ name: 'end to end at 64 / ceiling (at least)', value: pipeline.ceilingRatio, limit: CEILING_BUDGET, ok: pipeline.ceilingRatio >= CEILING_BUDGET }])
      .concat([{ name: 'USD per million orders placed and paid', value: cost.costPerMillionOrdersUsd, limit: COST_BUDGET_USD, ok: cost.costPerMillionOrdersUsd <= COST_BUDGET_USD }])
      .concat(npmTest ? [{ name: 'npm test seconds (passing)', value: npmTest.seconds, limit: NPM_TEST_BUDGET_SECONDS, ok: npmTest.exitCode === 0 && npmTest.seconds <= NPM_TEST_BUDGET_SECONDS }] : []);
    const date = new Date().toISOString().slice(0, 10);
    const result: BenchResult = { date, machine: { cpus: cpus().length, node: process.versions.node }, rounds, functions, api, pipeline, cost, costPerMillionOrdersUsd: cost.costPerMillionOrdersUsd, startSeconds: start, npmTest, budgets };
    const out = path.resolve(__dirname, 'results');
    mkdirSync(out, { recursive: true });
    writeFileSync(path.join(out, `${date}.json`), `${JSON.stringify(result, null, 2)}\n`);
    writeFileSync(path.join(out, `${date}.md`), markdown(result));
    // The chart the issue asks for in docs/: the stages of an order at each concurrency (this run's medians).
    writeFileSync(path.resolve(__dirname, '..', 'docs', 'bench-latency.svg'), latencyChart(runs, `POST /orders to settled, p50 per stage (npm run bench, ${date})`));
    process.stdout.write(values.json ? `${JSON.stringify(result)}\n` : markdown(result));
    process.exitCode = budgets.every((b) => b.ok) ? 0 : 1;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

void main();
