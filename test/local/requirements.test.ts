/**
 * Java 17+ is checked before anything starts: with no java on PATH, or an older one, `npm start` and `npm test`
 * (its pretest runs local/requirements.ts --tests) stop with one line saying what to install; so does `npm test`
 * without Chromium.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { javaMajor } from '../../local/requirements';

const ROOT = path.resolve(__dirname, '..', '..');
const work = mkdtempSync(path.join(tmpdir(), 'requirements-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A PATH holding only a fake `java` printing `versionLine` (or no java at all). */
function fakePath(name: string, versionLine?: string): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  if (versionLine !== undefined) {
    const java = path.join(dir, 'java');
    writeFileSync(java, `#!/bin/sh\necho '${versionLine}' >&2\n`);
    chmodSync(java, 0o755);
  }
  return dir;
}

function run(script: string, PATH: string, args: string[] = [], extra: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH, ...extra };
  delete env.JAVA_HOME;
  // node by its absolute path: the PATH given holds nothing else.
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 });
}

const INSTALL = 'install openjdk-17-jre-headless (Debian/Ubuntu: sudo apt-get install openjdk-17-jre-headless) or a JDK 17+ (macOS: brew install openjdk@17, then put its bin on PATH)';

test('no java on PATH: the check exits 1 with one line naming what to install', () => {
  const result = run('local/requirements.ts', fakePath('none'));
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`DynamoDB Local needs Java 17 or newer (no java on PATH): ${INSTALL}\n`);
});

test('java older than 17: the same one line, with the version found', () => {
  const result = run('local/requirements.ts', fakePath('java11', 'openjdk version "11.0.22" 2024-01-16'));
  expect(result.status).toBe(1);
  expect(result.stderr).toBe(`DynamoDB Local needs Java 17 or newer (java on PATH is 11.0.22): ${INSTALL}\n`);
});

test('java 17 or newer passes silently', () => {
  for (const [name, line] of [
    ['java17', 'openjdk version "17.0.15" 2025-04-15'],
    ['java21', 'openjdk version "21" 2023-09-19'],
  ]) {
    const result = run('local/requirements.ts', fakePath(name, line));
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  }
});

test('npm start without java stops at once with that line (before synthesizing anything)', () => {
  const result = run('local/cli.ts', fakePath('none'));
  expect(result.status).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toBe(`DynamoDB Local needs Java 17 or newer (no java on PATH): ${INSTALL}\n`);
});

describe('npm test (--tests) also needs Chromium', () => {
  const java17 = () => fakePath('java17-for-chromium', 'openjdk version "17.0.15" 2025-04-15');
  const CHROMIUM = 'install chromium (Debian/Ubuntu: sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome binary';

  test('none at CHROMIUM_PATH: exit 1, one line naming the path and what to install', () => {
    const missing = path.join(work, 'no-chromium');
    const result = run('local/requirements.ts', java17(), ['--tests'], { CHROMIUM_PATH: missing });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 1, stderr: `The browser tests need Chromium (${missing} is not an executable file): ${CHROMIUM}\n` });
  });

  test('a file that is not executable fails too; an executable one passes; without --tests (npm start) it is not asked', () => {
    const binary = path.join(work, 'chromium');
    writeFileSync(binary, '#!/bin/sh\n');
    chmodSync(binary, 0o644);
    expect(run('local/requirements.ts', java17(), ['--tests'], { CHROMIUM_PATH: binary }).status).toBe(1);
    expect(run('local/requirements.ts', java17(), [], { CHROMIUM_PATH: binary }).status).toBe(0);
    chmodSync(binary, 0o755);
    const result = run('local/requirements.ts', java17(), ['--tests'], { CHROMIUM_PATH: binary });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
  });

  test('no java and no Chromium: both lines', () => {
    const result = run('local/requirements.ts', fakePath('none'), ['--tests'], { CHROMIUM_PATH: path.join(work, 'absent') });
    expect(result.status).toBe(1);
    expect(result.stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });
});

test('java -version output: the major version, old and new schemes', () => {
  expect(javaMajor('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment')).toEqual({ major: 17, version: '17.0.15' });
  expect(javaMajor('java version "1.8.0_392"')).toEqual({ major: 8, version: '1.8.0_392' });
  expect(javaMajor('openjdk version "25.0.1" 2025-10-21 LTS')).toEqual({ major: 25, version: '25.0.1' });
  expect(javaMajor('openjdk version "21" 2023-09-19')).toEqual({ major: 21, version: '21' });
  expect(javaMajor('The operation couldn’t be completed. Unable to locate a Java Runtime.')).toBeUndefined();
});
