/**
 * What the local runtime and the tests need from the machine beyond Node: Java 17 or newer for DynamoDB Local
 * (AWS's engine, a JVM program), and for the tests Chromium (the ops page's browser test drives it with
 * playwright-core; no browser is downloaded). `npm start` (local/cli.ts) and `npm test` (the `pretest` script runs
 * this file with `--tests`) stop at once with one line saying what to install, not a stack trace.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';

export const MIN_JAVA = 17;

export const INSTALL_JAVA =
  'install openjdk-17-jre-headless (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless) or a JDK 17+ (macOS: brew install openjdk@17, then put its bin on PATH)';

export type JavaCheck = { ok: true; major: number; version: string } | { ok: false; message: string };

/** The major version in `java -version` output: `"17.0.15"` is 17, `"21"` is 21, `"1.8.0_392"` is 8. */
export function javaMajor(versionOutput: string): { major: number; version: string } | undefined {
  const match = /version "((\d+)(?:\.(\d+))?[^"]*)"/.exec(versionOutput);
  if (!match) return undefined;
  const first = Number(match[2]);
  return { major: first === 1 && match[3] !== undefined ? Number(match[3]) : first, version: match[1] };
}

/** Runs `java -version` from PATH (what DynamoDB Local is started with). */
export function checkJava(env: NodeJS.ProcessEnv = process.env): JavaCheck {
  const run = spawnSync('java', ['-version'], { env, encoding: 'utf8', timeout: 15_000 });
  const output = `${run.stderr ?? ''}${run.stdout ?? ''}`;
  const found = run.error ? undefined : javaMajor(output);
  if (!found || run.status !== 0) {
    const what = run.error && (run.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no java on PATH' : `\`java -version\` did not name a version`;
    return { ok: false, message: `DynamoDB Local needs Java ${MIN_JAVA} or newer (${what}): ${INSTALL_JAVA}` };
  }
  if (found.major < MIN_JAVA) {
    return { ok: false, message: `DynamoDB Local needs Java ${MIN_JAVA} or newer (java on PATH is ${found.version}): ${INSTALL_JAVA}` };
  }
  return { ok: true, ...found };
}

/** Throws one line (no stack worth reading) when Java is missing or too old. */
export class MissingRequirementError extends Error {
  readonly name = 'MissingRequirementError';
}

export function requireJava(env: NodeJS.ProcessEnv = process.env): void {
  const check = checkJava(env);
  if (!check.ok) throw new MissingRequirementError(check.message);
}

/** Debian's `chromium` package; elsewhere set CHROMIUM_PATH (macOS: the Chromium or Chrome app's binary). */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

export const INSTALL_CHROMIUM = 'install chromium (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary';

export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CHROMIUM_PATH || DEFAULT_CHROMIUM;
}

export function checkChromium(env: NodeJS.ProcessEnv = process.env): { ok: true; path: string } | { ok: false; message: string } {
  const file = chromiumPath(env);
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
    accessSync(file, constants.X_OK);
    return { ok: true, path: file };
  } catch {
    return { ok: false, message: `The browser tests need Chromium (${file} is not an executable file): ${INSTALL_CHROMIUM}` };
  }
}

// `node --import tsx local/requirements.ts [--tests]` (npm's pretest): exit 1 with one line when something is missing.
if (require.main === module) {
  const checks = [checkJava(), ...(process.argv.includes('--tests') ? [checkChromium()] : [])];
  const failed = checks.filter((c): c is { ok: false; message: string } => !c.ok);
  if (failed.length) {
    process.stderr.write(failed.map((c) => `${c.message}\n`).join(''));
    process.exit(1);
  }
}
