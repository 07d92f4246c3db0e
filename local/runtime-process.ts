/**
 * The runtime as a separate process, as a user runs it (`node --import tsx local/cli.ts ...`): for tests and tools
 * that must kill -9 it at a chosen moment and start it again on the same data directory.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

export interface RuntimeProcess {
  child: ChildProcess;
  /** The outputs file, as written when ready. */
  outputs: Record<string, Record<string, string>>;
  /** The AWS endpoint's URL, from the ready line (e.g. for `GET /_local/faults`). */
  awsEndpoint: string;
  /** Everything the process printed so far (live log, errors). */
  output(): string;
  /** Resolves once a line of output matches (a chosen moment to kill it at). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGKILL: nothing is cleaned up, as when the host dies. Resolves when the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM: a clean stop; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface RuntimeProcessOptions {
  /** CLI arguments (`--data-dir`, `--assembly`, `--time-scale`, `--faults`...). `--outputs-file` is required. */
  args: string[];
  /** Default 60 s. */
  readyTimeoutMs?: number;
  env?: Record<string, string>;
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Starts the CLI and waits for its ready line and outputs file. */
export async function startRuntimeProcess(options: RuntimeProcessOptions): Promise<RuntimeProcess> {
  const at = options.args.indexOf('--outputs-file');
  if (at < 0 || !options.args[at + 1]) throw new Error('startRuntimeProcess needs --outputs-file (how it knows the runtime is ready)');
  const outputsFile = path.resolve(options.args[at + 1]);
  rmSync(outputsFile, { force: true });
  // RUNTIME_NODE_ARGS: Node options for the runtime only (e.g. `--cpu-prof --cpu-prof-dir=DIR` to profile it under a
  // chaos run; NODE_OPTIONS refuses --cpu-prof, and would reach the driver too).
  const nodeArgs = process.env.RUNTIME_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(ROOT, 'local/cli.ts'), ...options.args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0', ...options.env },
  });
  let out = '';
  const watchers = new Set<() => void>();
  const append = (chunk: Buffer) => {
    out += chunk;
    watchers.forEach((w) => w());
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (!/^ready in/m.test(out) || !existsSync(outputsFile)) {
    if (child.exitCode !== null) throw new Error(`the runtime exited early (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`not ready after ${(options.readyTimeoutMs ?? 60_000) / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    outputs: JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, Record<string, string>>,
    awsEndpoint: /AWS endpoint\s+(\S+)/.exec(out)?.[1] ?? '',
    output: () => out,
    waitForOutput: (pattern, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pattern.test(out)) return;
          done();
          resolve();
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no output matching ${pattern} after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          watchers.delete(check);
        };
        watchers.add(check);
        check();
      }),
    kill9: async () => {
      child.kill('SIGKILL');
      await exited(child);
    },
    stop: async () => {
      child.kill('SIGTERM');
      return exited(child);
    },
  };
}
