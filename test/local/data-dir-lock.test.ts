import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DataDirInUseError, lockDataDir } from '../../local/data-dir-lock';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'lock-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('a data directory held by a live process is refused; released, it is free again', () => {
  const dir = freshDir();
  // A live holder other than this process: the test runner's parent runs for as long as this test does.
  writeFileSync(path.join(dir, 'runtime.pid'), String(process.ppid));
  expect(() => lockDataDir(dir)).toThrow(DataDirInUseError);
  expect(() => lockDataDir(dir)).toThrow(`in use by process ${process.ppid}`);
  rmSync(path.join(dir, 'runtime.pid'));
  const release = lockDataDir(dir);
  expect(existsSync(path.join(dir, 'runtime.pid'))).toBe(true);
  release();
  expect(existsSync(path.join(dir, 'runtime.pid'))).toBe(false);
});

test('a lock left by a killed process (its pid no longer runs) is taken over', () => {
  const dir = freshDir();
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  writeFileSync(path.join(dir, 'runtime.pid'), dead.stdout.toString());
  const release = lockDataDir(dir);
  expect(existsSync(path.join(dir, 'runtime.pid'))).toBe(true);
  release();
});
