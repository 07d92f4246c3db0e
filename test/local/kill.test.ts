/**
 * `npm run local:kill` finds the runtime through its data directory's lock: the pid of a live process, nothing for
 * a lock left by a dead one or no lock at all.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runtimePid } from '../../local/kill';

const dir = mkdtempSync(path.join(tmpdir(), 'local-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('the pid in the lock of a live process; nothing for a dead one, a garbled lock or none', async () => {
  expect(runtimePid(dir)).toBeUndefined();
  writeFileSync(path.join(dir, 'runtime.pid'), String(process.pid));
  expect(runtimePid(dir)).toBe(process.pid);
  // A process that has exited: its pid is no runtime.
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.once('exit', resolve));
  writeFileSync(path.join(dir, 'runtime.pid'), String(child.pid));
  expect(runtimePid(dir)).toBeUndefined();
  writeFileSync(path.join(dir, 'runtime.pid'), 'not a pid');
  expect(runtimePid(dir)).toBeUndefined();
});
