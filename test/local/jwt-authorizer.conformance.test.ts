/**
 * The HTTP API's JWT authorizer against API Gateway's documentation, case by case:
 * - "Authorizing API requests with a JWT authorizer", https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
 *   (identity source with or without `Bearer `, RSA-based algorithms, kid, iss, aud / client_id, exp, nbf, iat, scope / scp);
 * - "Troubleshooting issues with HTTP API JWT authorizers", .../http-api-troubleshooting-jwt.html (401
 *   `{"message":"Unauthorized"}` with `www-authenticate: Bearer scope="" error="invalid_token" error_description=...`);
 * - payload format 2.0, .../http-api-develop-integrations-lambda.html (`requestContext.authorizer.jwt.claims` and `.scopes`).
 * Requests go through the HTTP API engine on 127.0.0.1 (port 0) to a stub integration that records what it receives:
 * a refused request never reaches it.
 */
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { exportJWK, JWK, SignJWT, UnsecuredJWT } from 'jose';
import { HttpApiEngine, HttpRoute } from '../../local/engines/http-api';
import { Invoker } from '../../local/engines/invoker';
import { JwtAuthorizer, serializeClaims } from '../../local/engines/jwt-authorizer';

const ISSUER = 'https://issuer.example.test';
const AUDIENCE = 'orders-api';
const SCOPES = ['orders/payments', 'orders/admin'];

const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = rsa();
const foreign = rsa();
const KID = 'key-1';

const invoked: Record<string, unknown>[] = [];
const recorder: Invoker = {
  name: 'recorder',
  invoke: async (event) => {
    const e = event as { requestContext: { authorizer?: unknown } };
    invoked.push(e as Record<string, unknown>);
    return { ok: true, result: { statusCode: 200, body: JSON.stringify(e.requestContext.authorizer ?? null) }, durationMs: 1 };
  },
};

let jwks: { keys: JWK[] };
let api: HttpApiEngine;
let base = '';

beforeAll(async () => {
  jwks = { keys: [{ ...(await exportJWK(key.publicKey)), kid: KID, alg: 'RS256', use: 'sig' }] };
  const authorizer = new JwtAuthorizer({ name: 'Jwt', issuer: ISSUER, audiences: [AUDIENCE, 'second-audience'], identitySource: ['$request.header.Authorization'], jwks });
  const routes: HttpRoute[] = [
    { routeKey: 'GET /orders', invoker: recorder, jwt: { authorizer, scopes: [] } },
    { routeKey: 'POST /payment', invoker: recorder, jwt: { authorizer, scopes: SCOPES } },
    { routeKey: 'GET /by-query', invoker: recorder, jwt: { authorizer: new JwtAuthorizer({ ...authorizer.config, identitySource: ['$request.querystring.token'] }), scopes: [] } },
    // An issuer whose keys the runtime cannot fetch (offline): no token verifies.
    { routeKey: 'GET /foreign-issuer', invoker: recorder, jwt: { authorizer: new JwtAuthorizer({ name: 'Remote', issuer: ISSUER, audiences: [AUDIENCE], identitySource: ['$request.header.Authorization'] }), scopes: [] } },
  ];
  api = new HttpApiEngine({ routes, accountId: '000000000000', region: 'us-east-1' });
  base = await api.listen(0);
});
afterAll(() => api.close());
beforeEach(() => {
  invoked.length = 0;
});

const now = () => Math.floor(Date.now() / 1000);

/** A token with these claims (iss, aud, sub, exp in an hour unless given; undefined drops one), signed as asked. */
function token(claims: Record<string, unknown> = {}, options: { signer?: KeyObject; kid?: string; alg?: string } = {}): Promise<string> {
  const all: Record<string, unknown> = { iss: ISSUER, aud: AUDIENCE, sub: 'c-42', iat: now(), exp: now() + 3600, ...claims };
  for (const k of Object.keys(all)) if (all[k] === undefined) delete all[k];
  return new SignJWT(all).setProtectedHeader({ alg: options.alg ?? 'RS256', kid: options.kid ?? KID }).sign(options.signer ?? key.privateKey);
}

async function call(path: string, authorization?: string, method = 'GET') {
  const response = await fetch(new URL(path.replace(/^\//, ''), base), { method, headers: authorization === undefined ? {} : { authorization } });
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text), wwwAuthenticate: response.headers.get('www-authenticate') };
}

/** API Gateway's refusal of a token: 401, its body, the invalid_token header; the integration not invoked. */
async function expectInvalid(path: string, authorization: string, description: string | RegExp, scope = '') {
  const answer = await call(path, authorization, path === '/payment' ? 'POST' : 'GET');
  expect(answer).toMatchObject({ status: 401, body: { message: 'Unauthorized' } });
  const header = /^Bearer scope="(.*)" error="invalid_token" error_description="(.*)"$/.exec(answer.wwwAuthenticate ?? '');
  expect(header?.[1]).toBe(scope);
  expect(header?.[2]).toMatch(description);
  expect(invoked).toHaveLength(0);
}

describe('1. the identity source holds the token, alone or prefixed with Bearer', () => {
  test('Authorization: Bearer <token> and Authorization: <token> are both accepted', async () => {
    const t = await token();
    expect((await call('/orders', `Bearer ${t}`)).status).toBe(200);
    expect((await call('/orders', t)).status).toBe(200);
    expect(invoked).toHaveLength(2);
  });

  test('no token (no header, an empty one) is 401 Unauthorized, without an invalid_token error, and the function is not invoked', async () => {
    for (const authorization of [undefined, '', 'Bearer ']) {
      const answer = await call('/orders', authorization);
      expect(answer).toMatchObject({ status: 401, body: { message: 'Unauthorized' } });
      expect(answer.wwwAuthenticate).toBeNull();
    }
    expect(invoked).toHaveLength(0);
  });

  test('the identity source is the only place read: a querystring source ignores the header, and reads ?token=', async () => {
    const t = await token();
    expect((await call('/by-query', `Bearer ${t}`)).status).toBe(401);
    expect((await call(`/by-query?token=${t}`)).status).toBe(200);
  });
});

describe('2-3. decoded, and its algorithm and signature checked with the issuer key its kid names (RSA-based only)', () => {
  test('not a JWT is 401', async () => {
    await expectInvalid('/orders', 'Bearer not-a-token', /not a JWT/);
    await expectInvalid('/orders', 'Bearer a.b.c', /not a JWT/);
  });

  test('an HMAC-signed (HS256) or unsecured (alg none) token is 401: only RSA algorithms are supported', async () => {
    const hs = await new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'c-42', exp: now() + 60 }).setProtectedHeader({ alg: 'HS256', kid: KID }).sign(new Uint8Array(32));
    await expectInvalid('/orders', `Bearer ${hs}`, /HS256 is not supported/);
    const none = new UnsecuredJWT({ iss: ISSUER, aud: AUDIENCE, sub: 'c-42', exp: now() + 60 }).encode();
    await expectInvalid('/orders', `Bearer ${none}`, /none is not supported/);
  });

  test('RS512 and PS256 (RSA-based) verify with the same RSA key', async () => {
    expect((await call('/orders', `Bearer ${await token({}, { alg: 'RS512' })}`)).status).toBe(200);
    expect((await call('/orders', `Bearer ${await token({}, { alg: 'PS256' })}`)).status).toBe(200);
  });

  test('a kid the JWKS does not hold is 401; a foreign key under the issuer kid fails the signature, 401', async () => {
    await expectInvalid('/orders', `Bearer ${await token({}, { kid: 'other-key' })}`, /kid names no key/);
    await expectInvalid('/orders', `Bearer ${await token({}, { signer: foreign.privateKey })}`, /signature is invalid/);
    const [h, p] = (await token()).split('.');
    const [, , s] = (await token({ sub: 'someone-else' })).split('.');
    await expectInvalid('/orders', `Bearer ${h}.${p}.${s}`, /signature is invalid/);
  });

  test('an issuer whose keys cannot be fetched (offline) refuses even a well-signed token', async () => {
    await expectInvalid('/foreign-issuer', `Bearer ${await token()}`, /cannot fetch the keys of issuer https:\/\/issuer.example.test offline/);
  });
});

describe('4. claims', () => {
  test('iss must equal the issuer exactly (a trailing slash differs)', async () => {
    await expectInvalid('/orders', `Bearer ${await token({ iss: `${ISSUER}/` })}`, 'the token does not have a valid issuer');
    await expectInvalid('/orders', `Bearer ${await token({ iss: undefined })}`, 'the token does not have a valid issuer');
  });

  test("aud must match one audience: a string, or a list holding one; the guide's exact header for a wrong one", async () => {
    expect((await call('/orders', `Bearer ${await token({ aud: 'second-audience' })}`)).status).toBe(200);
    expect((await call('/orders', `Bearer ${await token({ aud: ['unrelated', AUDIENCE] })}`)).status).toBe(200);
    invoked.length = 0;
    const answer = await call('/orders', `Bearer ${await token({ aud: 'unrelated' })}`);
    expect(answer.wwwAuthenticate).toBe('Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"');
    expect(invoked).toHaveLength(0);
  });

  test('client_id is read only when aud is absent; when both are present aud decides', async () => {
    expect((await call('/orders', `Bearer ${await token({ aud: undefined, client_id: AUDIENCE })}`)).status).toBe(200);
    invoked.length = 0;
    await expectInvalid('/orders', `Bearer ${await token({ aud: 'unrelated', client_id: AUDIENCE })}`, 'the token does not have a valid audience');
    await expectInvalid('/orders', `Bearer ${await token({ aud: undefined })}`, 'the token does not have a valid audience');
  });

  test('exp must be after now (an expired token, one without exp: 401)', async () => {
    await expectInvalid('/orders', `Bearer ${await token({ exp: now() - 1 })}`, 'the token has expired');
    await expectInvalid('/orders', `Bearer ${await token({ exp: undefined })}`, /no expiry/);
    await expectInvalid('/orders', `Bearer ${await token({ exp: String(now() + 60) })}`, /exp claim is not a number/);
  });

  test('nbf and iat must be before now', async () => {
    await expectInvalid('/orders', `Bearer ${await token({ nbf: now() + 60 })}`, /not valid yet/);
    await expectInvalid('/orders', `Bearer ${await token({ iat: now() + 60 })}`, /issued in the future/);
    expect((await call('/orders', `Bearer ${await token({ nbf: now() - 60, iat: now() - 60 })}`)).status).toBe(200);
  });

  test('on a route with scopes, scope (space-separated) or scp (a list) must hold one of them, else 403 Forbidden, not invoked', async () => {
    expect((await call('/payment', `Bearer ${await token({ scope: 'openid orders/payments' })}`, 'POST')).status).toBe(200);
    expect((await call('/payment', `Bearer ${await token({ scp: ['orders/admin'] })}`, 'POST')).status).toBe(200);
    invoked.length = 0;
    for (const claims of [{}, { scope: 'orders/read' }, { scope: 'orders/adminx' }, { scp: ['openid'] }]) {
      const answer = await call('/payment', `Bearer ${await token(claims)}`, 'POST');
      expect([answer.status, answer.body]).toEqual([403, { message: 'Forbidden' }]);
    }
    expect(invoked).toHaveLength(0);
    // A token that is itself invalid is a 401 there too, naming the route's scopes in the header.
    await expectInvalid('/payment', `Bearer ${await token({ exp: now() - 1, scope: 'orders/admin' })}`, 'the token has expired', 'orders/payments orders/admin');
  });
});

describe('what the integration receives: requestContext.authorizer.jwt', () => {
  test('claims, every value a string; scopes null on a route without scopes', async () => {
    const exp = now() + 600;
    const answer = await call('/orders', `Bearer ${await token({ exp, 'cognito:groups': ['a', 'b'], email_verified: true, scope: 'orders/admin' })}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      jwt: {
        claims: { iss: ISSUER, aud: AUDIENCE, sub: 'c-42', iat: expect.stringMatching(/^\d+$/), exp: String(exp), 'cognito:groups': '[a b]', email_verified: 'true', scope: 'orders/admin' },
        scopes: null,
      },
    });
  });

  test("on a route with scopes: the token's scopes", async () => {
    const answer = await call('/payment', `Bearer ${await token({ scope: 'orders/payments openid' })}`, 'POST');
    expect(answer.body.jwt.scopes).toEqual(['orders/payments', 'openid']);
  });

  test('claim serialisation: strings as they are, numbers as JSON text, lists bracketed and space-separated', () => {
    expect(serializeClaims({ s: 'x y', n: 1.5, i: 1787996002, l: ['g1', 2], b: false, o: { k: 'v' }, z: null })).toEqual({ s: 'x y', n: '1.5', i: '1787996002', l: '[g1 2]', b: 'false', o: '{"k":"v"}', z: 'null' });
  });
});
