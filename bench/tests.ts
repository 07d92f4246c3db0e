/**
 * The bench's `npm test` section: the README's test command as a user runs it (type-check and every suite), its
 * wall time against the 3-minute budget, and what jest said it ran. Not in `--quick`: it is the longest section.
 */
import { spawn } from 'node:child_process';

export interface TestRunFigures {
  seconds: number;
  exitCode: number;
  /** From jest's summary lines; undefined when it printed none (a type error stops nothing: both run). */
  suites?: number;
  tests?: number;
  failed?: number;
}

/** Jest's `Test Suites: 1 failed, 77 passed, 78 total` and `Tests: 1 failed, 1357 passed, 1358 total` lines. */
export function jestSummary(output: string): Pick<TestRunFigures, 'suites' | 'tests' | 'failed'> {
  const total = (label: string) => {
    const line = new RegExp(`^${label}:\\s+(.*)$`, 'm').exec(output)?.[1];
    return line === undefined ? undefined : { total: Number(/(\d+) total/.exec(line)?.[1]), failed: Number(/(\d+) failed/.exec(line)?.[1] ?? 0) };
  };
  const suites = total('Test Suites');
  const tests = total('Tests');
  return { ...(suites ? { suites: suites.total } : {}), ...(tests ? { tests: tests.total, failed: tests.failed } : {}) };
}

export function measureNpmTest(root: string, say: (line: string) => void = () => undefined): Promise<TestRunFigures> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let output = '';
    const child = spawn('npm', ['test'], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      // Only the summary is read: keep the tail, not megabytes of bundling lines.
      if (output.length > 1_000_000) output = output.slice(-200_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('close', (code) => {
      const figures = { seconds: (Date.now() - started) / 1000, exitCode: code ?? 1, ...jestSummary(output) };
      say(`npm test: exit ${figures.exitCode} in ${figures.seconds.toFixed(0)} s (${figures.tests ?? '?'} tests)`);
      resolve(figures);
    });
  });
}
