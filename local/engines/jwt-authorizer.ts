/**
 * An HTTP API JWT authorizer (AWS::ApiGatewayV2::Authorizer, AuthorizerType JWT) as API Gateway documents it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html, "Authorizing API
 * requests with a JWT authorizer"):
 *   1. the identity source holds the token, alone or prefixed with `Bearer `;
 *   2. the token is decoded;
 *   3. its algorithm and signature are checked with the issuer's public key named by its `kid` (RSA-based algorithms only);
 *   4. claims: `iss` equals the issuer; `aud` matches an audience (`client_id` only when there is no `aud`); `exp`
 *      after now; `nbf` and `iat` before now; on a route with authorization scopes, `scope` or `scp` holds one of them.
 * Any failure refuses the request: 401 `{"message":"Unauthorized"}` for the token, 403 `{"message":"Forbidden"}` for
 * a missing scope; the integration is not invoked. On success the integration gets `requestContext.authorizer.jwt`:
 * the claims as API Gateway passes them (every value a string) and the route's scopes answer (null on a route without).
 *
 * Keys come from the issuer's JWKS as given here: the local runtime has the local issuer's keys and no network, so an
 * authorizer of any other issuer has none and refuses every token (said at start).
 */
import { compactVerify, decodeProtectedHeader, importJWK, JWK, KeyLike } from 'jose';

export interface JwtAuthorizerConfig {
  /** The authorizer's name in the template (for messages). */
  name: string;
  /** `JwtConfiguration.Issuer`: a token's `iss` must equal it. */
  issuer: string;
  /** `JwtConfiguration.Audience`. */
  audiences: readonly string[];
  /** `IdentitySource`: for a JWT authorizer one selection, `$request.header.<name>` or `$request.querystring.<name>`. */
  identitySource: readonly string[];
  /** The issuer's JSON Web Key Set; undefined when it cannot be had (then every token is refused). */
  jwks?: { keys: JWK[] };
}

/** What the integration receives as `requestContext.authorizer` (payload format 2.0). */
export interface JwtAuthorizerContext {
  jwt: { claims: Record<string, string>; scopes: string[] | null };
}

export type Authorization =
  | { ok: true; context: JwtAuthorizerContext }
  /** `wwwAuthenticate` as API Gateway sends it for a token it refuses; `reason` for the live log. */
  | { ok: false; status: 401 | 403; reason: string; wwwAuthenticate?: string };

/** "Currently, only RSA-based algorithms are supported." */
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;

/** The request as the authorizer reads it: header names lower-cased (as in the payload 2.0 event). */
export interface AuthorizationRequest {
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
}

const BEARER = /^bearer(\s+|$)/i;

export class JwtAuthorizer {
  private readonly keys = new Map<string, Promise<KeyLike | Uint8Array>>();

  constructor(readonly config: JwtAuthorizerConfig) {}

  /** Whether this authorizer can verify any token at all (it has its issuer's keys). */
  get verifiable(): boolean {
    return this.config.jwks !== undefined;
  }

  async authorize(request: AuthorizationRequest, routeScopes: readonly string[] = [], now = Date.now()): Promise<Authorization> {
    const token = this.identity(request)?.trim().replace(BEARER, '');
    // No token: a 401 without a www-authenticate error (AWS documents the header only for a token it rejected).
    if (!token) return { ok: false, status: 401, reason: 'no token in the identity source' };
    const invalid = (description: string): Authorization => ({
      ok: false,
      status: 401,
      reason: description,
      // The form of API Gateway's troubleshooting guide (http-api-troubleshooting-jwt.html); descriptions other than
      // the audience's are local wording.
      wwwAuthenticate: `Bearer scope="${routeScopes.join(' ')}" error="invalid_token" error_description="${description}"`,
    });
    if (!this.config.jwks) return invalid(`the local runtime cannot fetch the keys of issuer ${this.config.issuer} offline`);

    let header: { alg?: string; kid?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return invalid('the token is not a JWT');
    }
    if (token.split('.').length !== 3) return invalid('the token is not a JWT');
    if (!RSA_ALGORITHMS.includes(header.alg as (typeof RSA_ALGORITHMS)[number])) return invalid(`the token's signing algorithm ${String(header.alg)} is not supported (RSA-based only)`);
    const jwk = this.config.jwks.keys.find((k) => k.kid !== undefined && k.kid === header.kid);
    if (!jwk) return invalid("the token's kid names no key of the issuer");

    let payload: Uint8Array;
    try {
      const { payload: verified } = await compactVerify(token, await this.key(jwk, header.alg!), { algorithms: [header.alg!] });
      payload = verified;
    } catch {
      return invalid('the token signature is invalid');
    }
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(new TextDecoder().decode(payload));
      if (!claims || typeof claims !== 'object' || Array.isArray(claims)) throw new Error('not an object');
    } catch {
      return invalid('the token claims are not a JSON object');
    }

    if (claims.iss !== this.config.issuer) return invalid('the token does not have a valid issuer');
    if (!this.audienceMatches(claims)) return invalid('the token does not have a valid audience');
    const seconds = now / 1000;
    for (const claim of ['exp', 'nbf', 'iat'] as const) {
      if (claims[claim] !== undefined && typeof claims[claim] !== 'number') return invalid(`the token's ${claim} claim is not a number`);
    }
    if (typeof claims.exp !== 'number') return invalid('the token has no expiry (exp)');
    if (claims.exp <= seconds) return invalid('the token has expired');
    if (typeof claims.nbf === 'number' && claims.nbf > seconds) return invalid('the token is not valid yet (nbf)');
    if (typeof claims.iat === 'number' && claims.iat > seconds) return invalid('the token was issued in the future (iat)');

    const granted = tokenScopes(claims);
    if (routeScopes.length && !routeScopes.some((s) => granted.includes(s))) {
      return { ok: false, status: 403, reason: `the token has none of the route's scopes (${routeScopes.join(', ')})` };
    }
    return { ok: true, context: { jwt: { claims: serializeClaims(claims), scopes: routeScopes.length ? granted : null } } };
  }

  /** The token from the identity source; only its first selection is read (a JWT authorizer has one). */
  private identity(request: AuthorizationRequest): string | undefined {
    const selection = this.config.identitySource[0] ?? '$request.header.Authorization';
    const header = /^\$request\.header\.(.+)$/i.exec(selection);
    if (header) return request.headers[header[1].toLowerCase()];
    const query = /^\$request\.querystring\.(.+)$/i.exec(selection);
    if (query) return request.queryStringParameters?.[query[1]];
    return undefined;
  }

  /** `aud` (a string or a list) decides when present; `client_id` is read only without it. */
  private audienceMatches(claims: Record<string, unknown>): boolean {
    const allowed = (value: unknown) => typeof value === 'string' && this.config.audiences.includes(value);
    if (claims.aud !== undefined) return Array.isArray(claims.aud) ? claims.aud.some(allowed) : allowed(claims.aud);
    return allowed(claims.client_id);
  }

  private key(jwk: JWK, alg: string): Promise<KeyLike | Uint8Array> {
    const id = `${jwk.kid}/${alg}`;
    let key = this.keys.get(id);
    if (!key) this.keys.set(id, (key = importJWK(jwk, alg)));
    return key;
  }
}

/** The token's scopes: `scope` (space-separated) and `scp` (a list, or space-separated). */
export function tokenScopes(claims: Record<string, unknown>): string[] {
  const words = (value: unknown): string[] =>
    typeof value === 'string' ? value.split(' ').filter(Boolean) : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return [...new Set([...words(claims.scope), ...words(claims.scp)])];
}

/**
 * Claims as API Gateway hands them to the integration: every value a string. A number is its JSON text (an event
 * AWS delivered shows `"exp": "1787996002"`); a list is its items space-separated in brackets (`"[a b]"`, as events
 * observed from HTTP APIs show for group claims). Objects and null are not documented; they are given as JSON text.
 */
export function serializeClaims(claims: Record<string, unknown>): Record<string, string> {
  const text = (value: unknown): string =>
    typeof value === 'string' ? value : Array.isArray(value) ? `[${value.map(text).join(' ')}]` : value !== null && typeof value === 'object' ? JSON.stringify(value) : String(value);
  return Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, text(v)]));
}
