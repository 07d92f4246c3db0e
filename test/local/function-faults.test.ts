/**
 * Lambda faults through the function runner's seam: an error without running the handler, a crash right after the
 * k-th AWS call took effect (the service saw exactly k calls, the function saw none of their answers), a timeout at
 * a call boundary, a slow cold start; the environment is replaced after a crash or timeout, as Lambda replaces it.
 */
import * as fs from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalFunction } from '../../local/engines/function-runner';
import { FaultKind, Faults } from '../../local/faults/faults';

/** A handler that makes `event.calls` HTTP calls in sequence (as SDK calls are), then answers how many it saw. */
const HANDLER = String.raw`
const http = require('node:http');
const call = (url) => new Promise((resolve, reject) => {
  http.get(url, (res) => { res.resume(); res.on('end', resolve); }).on('error', reject);
});
exports.handler = async (event) => {
  for (let i = 0; i < event.calls; i++) await call(event.url);
  return { calls: event.calls };
};`;

/** Injects exactly the kinds listed, on every call, with the given parameters. */
function alwaysFaults(kinds: FaultKind[], parameters: Record<string, number> = {}, random = 0): Faults {
  return { inject: (kind) => kinds.includes(kind), random: () => random, parameter: (_kind, _target, name) => parameters[name] };
}

let dir: string;
let server: Server;
let url: string;
let hits = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'function-faults-'));
  fs.writeFileSync(path.join(dir, 'index.js'), HANDLER);
  server = createServer((_req, res) => {
    hits++;
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  hits = 0;
});

function fn(faults: Faults, timeoutSeconds = 5): LocalFunction {
  return new LocalFunction({ name: 'Faulty', codeDirectory: dir, handler: 'index.handler', region: 'us-east-1', timeoutSeconds, faults });
}

test('lambda.error fails the invocation without running the handler; the environment stays warm', async () => {
  let failing = true;
  const f = fn({ ...alwaysFaults([]), inject: (kind) => kind === 'lambda.error' && failing });
  try {
    const failed = await f.invoke({ calls: 2, url });
    expect(failed).toMatchObject({ ok: false, error: { errorType: 'InjectedFaultError' } });
    expect(hits).toBe(0);
    failing = false;
    expect(await f.invoke({ calls: 2, url })).toMatchObject({ ok: true, result: { calls: 2 } });
    expect(hits).toBe(2);
    expect(f.stats()).toMatchObject({ coldStarts: 1, environments: 1 });
  } finally {
    await f.stop();
  }
});

test.each([1, 2, 3])('lambda.crash after %i AWS call(s): the service saw exactly that many, the invocation failed as a killed sandbox', async (k) => {
  let crashing = true;
  const f = fn({ ...alwaysFaults([], { afterAwsCalls: k }), inject: (kind) => kind === 'lambda.crash' && crashing });
  try {
    const crashed = await f.invoke({ calls: 5, url });
    expect(crashed).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError', errorMessage: expect.stringContaining('signal: killed') } });
    expect(hits).toBe(k);
    crashing = false;
    expect(await f.invoke({ calls: 1, url })).toMatchObject({ ok: true });
    // The killed environment was replaced: a second cold start.
    expect(f.stats().coldStarts).toBe(2);
  } finally {
    await f.stop();
  }
});

test('lambda.crash due after more calls than the invocation makes strikes at its end: all the work done, the answer lost', async () => {
  const f = fn(alwaysFaults(['lambda.crash'], { afterAwsCalls: 10 }));
  try {
    expect(await f.invoke({ calls: 2, url })).toMatchObject({ ok: false, error: { errorType: 'Runtime.ExitError' } });
    expect(hits).toBe(2);
  } finally {
    await f.stop();
  }
});

test('lambda.timeout stops the invocation at a call boundary and reports Sandbox.Timedout, without waiting out the real timeout', async () => {
  // random 0.5 -> after floor(0.5 * 4) = 2 calls
  const f = fn(alwaysFaults(['lambda.timeout'], {}, 0.5), 30);
  try {
    const started = Date.now();
    const result = await f.invoke({ calls: 5, url });
    expect(result).toMatchObject({ ok: false, timedOut: true, error: { errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 30.00 seconds' } });
    expect(hits).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  } finally {
    await f.stop();
  }
});

test('lambda.coldStart adds its latency to INIT once per environment', async () => {
  const f = fn(alwaysFaults(['lambda.coldStart'], { latencyMs: 300 }));
  try {
    const started = Date.now();
    await f.invoke({ calls: 0, url });
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const warm = Date.now();
    await f.invoke({ calls: 0, url });
    expect(Date.now() - warm).toBeLessThan(300);
    expect(f.stats().coldStarts).toBe(1);
  } finally {
    await f.stop();
  }
});
