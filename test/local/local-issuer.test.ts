/**
 * The local issuer: its key survives a restart on the same data directory (tokens stay valid), is new in memory,
 * its paths on the AWS endpoint (discovery, JWKS, token) and the token requests it refuses. Tokens are checked with
 * the HTTP API's own JwtAuthorizer, configured as --local-jwt configures the template.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { JwtAuthorizer } from '../../local/engines/jwt-authorizer';
import { handleIssuerRequest, ISSUER_PATH } from '../../local/issuer/issuer-api';
import { LOCAL_AUDIENCE, LOCAL_ISSUER_URL, LocalIssuer, parseTokenRequest } from '../../local/issuer/local-issuer';

const work = mkdtempSync(path.join(tmpdir(), 'local-issuer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const authorizerOf = (issuer: LocalIssuer) =>
  new JwtAuthorizer({ name: 'JwtAuthorizer', issuer: LOCAL_ISSUER_URL, audiences: [LOCAL_AUDIENCE], identitySource: ['$request.header.Authorization'], jwks: issuer.jwks() });
const verify = (issuer: LocalIssuer, token: string, scopes: string[] = []) => authorizerOf(issuer).authorize({ headers: { authorization: `Bearer ${token}` } }, scopes);

test('the URL is https:// on a reserved .invalid name, so synth accepts it and it never resolves', () => {
  expect(new URL(LOCAL_ISSUER_URL)).toMatchObject({ protocol: 'https:', hostname: expect.stringMatching(/\.invalid$/) });
});

test('on a data directory the key is kept (owner-only file): a token minted before a restart verifies after it', async () => {
  const dataDir = path.join(work, 'data');
  const first = await LocalIssuer.open(dataDir);
  const token = await first.mint(parseTokenRequest({ sub: 'c-42', scope: 'orders/admin' }));
  const file = path.join(dataDir, 'issuer', 'signing-key.json');
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const second = await LocalIssuer.open(dataDir);
  expect(second.publicJwk.kid).toBe(first.publicJwk.kid);
  expect(await verify(second, token, ['orders/admin'])).toMatchObject({ ok: true, context: { jwt: { claims: { sub: 'c-42', scope: 'orders/admin' }, scopes: ['orders/admin'] } } });
  // The JWKS carries the public half only.
  expect(second.jwks().keys[0]).toEqual({ kty: 'RSA', n: expect.any(String), e: 'AQAB', kid: first.publicJwk.kid, alg: 'RS256', use: 'sig' });
});

test('in memory each runtime has a new key: an earlier token is signed by a key it does not know (401)', async () => {
  const [a, b] = [await LocalIssuer.open(), await LocalIssuer.open()];
  expect(a.publicJwk.kid).not.toBe(b.publicJwk.kid);
  expect(await verify(b, await a.mint(parseTokenRequest({ sub: 'c-1' })))).toMatchObject({ ok: false, status: 401, reason: "the token's kid names no key of the issuer" });
});

test('an unreadable key file is refused with what to do', async () => {
  const dataDir = path.join(work, 'broken');
  await LocalIssuer.open(dataDir);
  writeFileSync(path.join(dataDir, 'issuer', 'signing-key.json'), '{"kty":"RSA"');
  await expect(LocalIssuer.open(dataDir)).rejects.toThrow(/signing-key\.json is unreadable .*delete it to make a new one/);
});

describe('token requests', () => {
  test('defaults: the local audience, an hour; claims iss, aud, sub, scope, iat, exp, jti; header kid and RS256', async () => {
    const issuer = await LocalIssuer.open();
    const token = await issuer.mint(parseTokenRequest({ sub: 'c-42', scope: ['orders/admin', 'orders/payments'] }), 1_700_000_000_500);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'RS256', kid: issuer.publicJwk.kid, typ: 'JWT' });
    expect(decodeJwt(token)).toEqual({ iss: LOCAL_ISSUER_URL, aud: LOCAL_AUDIENCE, sub: 'c-42', scope: 'orders/admin orders/payments', iat: 1_700_000_000, exp: 1_700_003_600, jti: expect.any(String) });
    // expiresIn 0 or less: already expired, refused by the authorizer.
    const expired = await issuer.mint(parseTokenRequest({ sub: 'c-42', expiresIn: -60 }));
    expect(await verify(issuer, expired)).toMatchObject({ ok: false, status: 401, reason: 'the token has expired' });
    // Another audience than the one --local-jwt configures: refused.
    expect(await verify(issuer, await issuer.mint(parseTokenRequest({ sub: 'c-42', audience: 'other' })))).toMatchObject({ ok: false, reason: 'the token does not have a valid audience' });
  });

  test.each([
    [null, /must be a JSON object/],
    [{ sub: '' }, /sub must be a non-empty string/],
    [{ sub: 'c', scope: [1] }, /scope must be a string or a list of strings/],
    [{ sub: 'c', expiresIn: 1.5 }, /expiresIn must be a whole number/],
    [{ sub: 'c', audience: 3 }, /audience must be a non-empty string/],
    [{ sub: 'c', role: 'admin' }, /unknown field\(s\) role/],
  ])('%j is refused naming the field', (body, message) => {
    expect(() => parseTokenRequest(body)).toThrow(message);
  });
});

describe('its paths on the AWS endpoint', () => {
  const aws = 'http://127.0.0.1:4566';
  test('discovery document, JWKS, token; a bad request is 400, an unknown path 404', async () => {
    const issuer = await LocalIssuer.open();
    const get = (p: string) => handleIssuerRequest(issuer, { method: 'GET', path: `${ISSUER_PATH}${p}`, body: undefined }, aws);
    expect(await get('/.well-known/openid-configuration')).toEqual({
      status: 200,
      body: expect.objectContaining({ issuer: LOCAL_ISSUER_URL, jwks_uri: `${aws}${ISSUER_PATH}/jwks.json`, id_token_signing_alg_values_supported: ['RS256'] }),
    });
    expect(await get('/jwks.json')).toEqual({ status: 200, body: issuer.jwks() });
    const minted = await handleIssuerRequest(issuer, { method: 'POST', path: `${ISSUER_PATH}/token`, body: { sub: 'c-7', expiresIn: 60 } }, aws);
    expect(minted).toMatchObject({ status: 200, body: { token_type: 'Bearer', expires_in: 60 } });
    expect(await verify(issuer, (minted!.body as { access_token: string }).access_token)).toMatchObject({ ok: true });
    expect(await handleIssuerRequest(issuer, { method: 'POST', path: `${ISSUER_PATH}/token`, body: { sub: 7 } }, aws)).toMatchObject({ status: 400, body: { message: 'sub must be a non-empty string' } });
    expect(await get('/token')).toMatchObject({ status: 404 });
    expect(await handleIssuerRequest(issuer, { method: 'GET', path: '/_local/faults', body: undefined }, aws)).toBeUndefined();
  });

  test('a stack that does not trust the local issuer: its paths are 404 saying how to start one that does', async () => {
    expect(await handleIssuerRequest(undefined, { method: 'POST', path: `${ISSUER_PATH}/token`, body: { sub: 'c' } }, aws)).toMatchObject({
      status: 404,
      body: { message: expect.stringContaining('npm start -- --local-jwt') },
    });
  });
});
