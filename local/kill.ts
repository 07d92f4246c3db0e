/**
 * `npm run local:kill -- [--data-dir DIR] [--after SECONDS]`: kill -9 the runtime that holds a data directory, as a
 * host crash would (no cleanup, in-flight work lost); `npm start` on the same --data-dir then resumes. The pid comes
 * from the directory's lock (local/data-dir-lock.ts).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { alive } from './data-dir-lock';

export function runtimePid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'runtime.pid'), 'utf8'));
    return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, after: { type: 'string' } }, strict: true });
  const dataDir = path.resolve(values['data-dir'] ?? '.local/data');
  const after = Number(values.after ?? 0);
  if (!(after >= 0)) throw new Error(`--after must be a number of seconds, got ${values.after}`);
  if (after > 0) await new Promise((resolve) => setTimeout(resolve, after * 1000));
  const pid = runtimePid(dataDir);
  if (pid === undefined) throw new Error(`no running local runtime holds ${dataDir} (is npm start running with this --data-dir?)`);
  process.kill(pid, 'SIGKILL');
  process.stdout.write(`killed the local runtime (pid ${pid}) with SIGKILL; npm start -- --data-dir ${path.relative(process.cwd(), dataDir) || '.'} resumes\n`);
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(`local:kill: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
