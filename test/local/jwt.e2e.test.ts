/**
 * End to end in JWT mode: the stack synthesized as `npm start -- --local-jwt` synthesizes it (a JWT authorizer
 * trusting the local issuer, scopes per route from functions/api/routes.ts), run in memory, driven over HTTP with
 * tokens of the runtime's own issuer. Customers see and change only their own orders; stock and payments need the
 * admin or payments scope (403 from the authorizer); a token that is expired, foreign-signed, for another audience or
 * absent is 401 from the authorizer, and a valid token without a subject is 401 from the API.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { SCOPES } from '../../functions/domain/caller';
import { LOCAL_AUDIENCE, LOCAL_ISSUER_URL } from '../../local/issuer/local-issuer';
import { LocalRuntime, startRuntime } from '../../local/runtime';
import { e2eAssembly } from '../support/e2e-assembly';
import { eventually } from '../support/eventually';
import { request } from '../support/api-client';
import { checkedAnswers, checkedSummary, violations } from '../support/api-contract';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../..');
const work = mkdtempSync(path.join(tmpdir(), 'order-pipeline-jwt-e2e-'));
const logLines: string[] = [];
let runtime: LocalRuntime;
let api: string;

/** A token of the runtime's issuer, minted at its loopback token endpoint (what `npm run token` calls). */
async function mint(body: Record<string, unknown>): Promise<string> {
  const response = await fetch(`${runtime.endpoints.aws}/_local/issuer/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A request with a token; its answer is held to docs/openapi.json, API Gateway's own answers included (test/support/api-client.ts). */
async function http(method: string, route: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
  const answer = await request(api, method, route, { body, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: answer.status, contentType: answer.contentType, body: answer.body };
}

let keySeq = 0;
const placeOrder = (token: string, body: Record<string, unknown>) => http('POST', '/orders', token, body, { 'idempotency-key': `jwt-e2e-${++keySeq}` });

let customerA: string;
let customerB: string;
let admin: string;
let orderOfA: string;
let orderOfB: string;
const SKU = 'jwt-sku-1';

beforeAll(async () => {
  const synthStarted = Date.now();
  const assembly = await e2eAssembly('localJwt');
  logLines.push(`(test) JWT assembly ready in ${((Date.now() - synthStarted) / 1000).toFixed(1)} s`);
  runtime = await startRuntime({ port: 0, awsPort: 0, inMemory: true, timeScale: 30, useAssembly: assembly, outputsFile: path.join(work, 'outputs.json'), log: (line) => logLines.push(line) });
  api = runtime.outputs[runtime.stackName].ApiUrl;
  // Customer A's token through the CLI users run (`npm run token` is this script); the others from its endpoint.
  const cli = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'local/token.ts', '--aws-port', new URL(runtime.endpoints.aws).port, '--sub', 'c-A'], { cwd: ROOT });
  customerA = cli.stdout.trim();
  customerB = await mint({ sub: 'c-B' });
  admin = await mint({ sub: 'ops-1', scope: SCOPES.admin });
});

afterAll(async () => {
  await runtime?.stop();
  rmSync(work, { recursive: true, force: true });
});

test('the runtime trusts its own issuer for the template authorizer, and says nothing about an unverifiable one', () => {
  expect(runtime.issuer?.url).toBe(LOCAL_ISSUER_URL);
  expect(runtime.warnings.filter((w) => /JWT|authorizer/.test(w))).toEqual([]);
  const [header, payload] = customerA.split('.').slice(0, 2).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  expect([header.kid, payload]).toEqual([runtime.issuer!.publicJwk.kid, expect.objectContaining({ iss: LOCAL_ISSUER_URL, aud: LOCAL_AUDIENCE, sub: 'c-A' })]);
});

test('an admin-scoped token sets stock; customers cannot (403 from the authorizer, the function never runs)', async () => {
  expect((await http('PUT', `/inventory/${SKU}`, admin, { available: 10 })).status).toBe(201);
  for (const token of [customerA, customerB]) {
    expect(await http('PUT', `/inventory/${SKU}`, token, { available: 1000 })).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    expect((await http('POST', `/inventory/${SKU}/adjustments`, token, { delta: 5 }, { 'idempotency-key': `adj-${++keySeq}` })).status).toBe(403);
  }
  expect((await http('GET', `/inventory/${SKU}`, admin)).body).toMatchObject({ available: 10 });
});

test('each customer orders as themself: the order is theirs, and ordering for someone else is 403', async () => {
  const a = await placeOrder(customerA, { items: [{ sku: SKU, quantity: 1 }] });
  const b = await placeOrder(customerB, { items: [{ sku: SKU, quantity: 2 }] });
  expect([a.status, a.body.customerId, b.status, b.body.customerId]).toEqual([201, 'c-A', 201, 'c-B']);
  orderOfA = a.body.orderId;
  orderOfB = b.body.orderId;
  expect((await placeOrder(customerA, { customerId: 'c-B', items: [{ sku: SKU, quantity: 1 }] })).status).toBe(403);
});

test("customer A cannot read, list, cancel or pay B's order; A's list holds A's orders only", async () => {
  expect((await http('GET', `/orders/${orderOfA}`, customerA)).status).toBe(200);
  // Someone else's order does not exist for A (404, as for an id nobody has), B's own read still works.
  expect((await http('GET', `/orders/${orderOfB}`, customerA)).status).toBe(404);
  expect((await http('GET', `/orders/${orderOfB}`, customerB)).status).toBe(200);
  const list = await http('GET', '/orders', customerA);
  expect(list.status).toBe(200);
  expect(list.body.items.map((o: { orderId: string }) => o.orderId)).toContain(orderOfA);
  expect(list.body.items.every((o: { customerId: string }) => o.customerId === 'c-A')).toBe(true);
  expect((await http('GET', '/orders?customerId=c-B', customerA)).status).toBe(403);
  expect((await http('POST', `/orders/${orderOfB}/cancel`, customerA)).status).toBe(404);
  // Paying needs the payments or admin scope: a customer token is refused by the authorizer, whoever's order it is.
  expect(await http('POST', `/orders/${orderOfB}/payment`, customerA, { paymentId: 'pay-a' })).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
  expect((await http('POST', `/orders/${orderOfB}/payment`, customerB, { paymentId: 'pay-b' })).status).toBe(403);
  // B's order is untouched by all of that, and A may cancel A's own.
  expect((await http('GET', `/orders/${orderOfB}`, customerB)).body.cancellation).toBeUndefined();
  expect((await http('POST', `/orders/${orderOfA}/cancel`, customerA)).body).toMatchObject({ status: 'CANCELLED' });
});

test("an admin-scoped token confirms B's payment and reads B's order", async () => {
  // The reservation runs through the stream, the bus, the queue and the inventory consumer (cold starts included):
  // on a loaded 2-core machine that took up to 15 s, so the wait allows 60.
  await eventually(async () => expect((await http('GET', `/orders/${orderOfB}`, admin)).body.status).toBe('RESERVED'), 60_000, 250);
  expect((await http('POST', `/orders/${orderOfB}/payment`, admin, { paymentId: 'pay-ops-1' })).body).toMatchObject({ status: 'PAID', customerId: 'c-B' });
});

test('expired, foreign-signed, wrong-audience and missing tokens are 401 from the authorizer; a token without sub is 401 from the API', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // Everything a local token has, the same kid even, signed by a key the runtime never had.
  const forged = await new SignJWT({ sub: 'c-A' })
    .setProtectedHeader({ alg: 'RS256', kid: runtime.issuer!.publicJwk.kid })
    .setIssuer(LOCAL_ISSUER_URL)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(privateKey);
  const refused = {
    expired: await mint({ sub: 'c-A', expiresIn: -60 }),
    forged,
    wrongAudience: await mint({ sub: 'c-A', audience: 'some-other-api' }),
    missing: undefined,
  };
  for (const [name, token] of Object.entries(refused)) {
    expect([name, await http('GET', `/orders/${orderOfA}`, token)]).toEqual([name, { status: 401, contentType: 'application/json', body: { message: 'Unauthorized' } }]);
  }
  // Valid for the authorizer, but it names nobody: the API refuses it (problem+json), it is never a trusted caller.
  const noSubject = await mint({ scope: SCOPES.admin });
  for (const [method, route] of [['GET', `/orders/${orderOfA}`], ['GET', `/inventory/${SKU}`]]) {
    expect(await http(method, route, noSubject)).toMatchObject({ status: 401, contentType: 'application/problem+json', body: { title: 'Unauthenticated' } });
  }
  expect(logLines.some((l) => /-> 401 .*authorizer: the token has expired/.test(l))).toBe(true);
});

test('every answer this suite received, the authorizer\'s included, is one docs/openapi.json describes', () => {
  console.log(checkedSummary('jwt e2e'));
  expect(violations).toEqual([]);
  expect(Object.keys(checkedAnswers()).length).toBeGreaterThan(0);
});
