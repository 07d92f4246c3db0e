/**
 * The local issuer: an OpenID-style token issuer the runtime keeps, so that a stack synthesized with a JWT authorizer
 * runs offline. It holds one RSA key pair (RS256), persisted in the data directory (tokens survive a restart) or kept
 * in memory, publishes its public key as a JWKS (served at /_local/issuer/... on the AWS endpoint, issuer-api.ts) and
 * mints tokens for `npm run token`. Its issuer URL is an https:// URL (synth requires one) on the reserved `.invalid`
 * name (RFC 6761): it never resolves, so a stack deployed with it by mistake trusts no token at all.
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { calculateJwkThumbprint, importJWK, JWK, KeyLike, SignJWT } from 'jose';
import { replaceFileDurably } from '../engines/durable-file';

/** The issuer (`iss`) of every token the local issuer mints, and what `--local-jwt` puts in the template. */
export const LOCAL_ISSUER_URL = 'https://issuer.order-pipeline.invalid';
/** The audience (`aud`) its tokens name by default. */
export const LOCAL_AUDIENCE = 'order-pipeline-local';
/** The CDK context `npm start -- --local-jwt` synthesizes with. */
export const LOCAL_JWT_CONTEXT = { jwtIssuer: LOCAL_ISSUER_URL, jwtAudience: LOCAL_AUDIENCE } as const;
export const SIGNING_ALGORITHM = 'RS256';
/** A token's lifetime unless asked otherwise (seconds). */
export const DEFAULT_TOKEN_SECONDS = 3600;

export interface TokenRequest {
  /** The subject: the customer id. A token without one is for testing the API's refusal (401). */
  sub?: string;
  scopes: string[];
  /** Seconds from now until `exp`; 0 or less mints a token that has already expired. */
  expiresIn: number;
  audience: string;
}

export class TokenRequestError extends Error {
  override name = 'TokenRequestError';
}

/** A token request from JSON (`{"sub": "c-42", "scope": "orders/admin", "expiresIn": 60, "audience": "a"}`), or why not. */
export function parseTokenRequest(body: unknown): TokenRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new TokenRequestError('the request body must be a JSON object, e.g. {"sub": "c-42"}');
  const b = body as Record<string, unknown>;
  const known = new Set(['sub', 'scope', 'expiresIn', 'audience']);
  const unknown = Object.keys(b).filter((k) => !known.has(k));
  if (unknown.length) throw new TokenRequestError(`unknown field(s) ${unknown.join(', ')}: a token request has sub, scope, expiresIn, audience`);
  if (b.sub !== undefined && (typeof b.sub !== 'string' || b.sub === '')) throw new TokenRequestError('sub must be a non-empty string');
  const scope = b.scope === undefined ? [] : Array.isArray(b.scope) ? b.scope : [b.scope];
  if (!scope.every((s) => typeof s === 'string')) throw new TokenRequestError('scope must be a string or a list of strings');
  const scopes = (scope as string[]).flatMap((s) => s.split(' ')).filter(Boolean);
  const expiresIn = b.expiresIn === undefined ? DEFAULT_TOKEN_SECONDS : b.expiresIn;
  if (typeof expiresIn !== 'number' || !Number.isInteger(expiresIn) || Math.abs(expiresIn) > 10 * 365 * 86400) {
    throw new TokenRequestError('expiresIn must be a whole number of seconds (at most ten years either way)');
  }
  if (b.audience !== undefined && (typeof b.audience !== 'string' || b.audience === '')) throw new TokenRequestError('audience must be a non-empty string');
  return { ...(b.sub !== undefined ? { sub: b.sub as string } : {}), scopes, expiresIn, audience: (b.audience as string | undefined) ?? LOCAL_AUDIENCE };
}

export class LocalIssuer {
  readonly url = LOCAL_ISSUER_URL;

  private constructor(
    private readonly privateKey: KeyLike | Uint8Array,
    /** The public half, as the JWKS publishes it. */
    readonly publicJwk: JWK & { kid: string },
  ) {}

  /**
   * The issuer with its key pair: read from `dataDir/issuer/signing-key.json` when there is one, else generated
   * (and written there, owner-readable only, when a data directory is given).
   */
  static async open(dataDir?: string): Promise<LocalIssuer> {
    const file = dataDir && path.join(dataDir, 'issuer', 'signing-key.json');
    let jwk: JWK & { kid: string };
    if (file && existsSync(file)) {
      try {
        jwk = JSON.parse(readFileSync(file, 'utf8'));
        if (jwk.kty !== 'RSA' || !jwk.d || !jwk.kid) throw new Error('not an RSA private key with a kid');
      } catch (error) {
        throw new Error(`the local issuer's key ${file} is unreadable (${(error as Error).message}): delete it to make a new one (tokens signed with the old key then stop verifying)`);
      }
    } else {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const exported = privateKey.export({ format: 'jwk' }) as JWK;
      jwk = { ...exported, kid: await calculateJwkThumbprint(exported), alg: SIGNING_ALGORITHM, use: 'sig' };
      if (file) {
        mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        replaceFileDurably(file, [JSON.stringify(jwk)]);
        chmodSync(file, 0o600);
      }
    }
    const { kty, n, e, kid, alg, use } = jwk;
    return new LocalIssuer(await importJWK(jwk, SIGNING_ALGORITHM), { kty, n, e, kid, alg, use });
  }

  /** The JSON Web Key Set an authorizer verifies this issuer's tokens with. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** A signed token: iss, aud, sub (when given), scope (space-separated, when any), iat, exp, jti. */
  async mint(request: TokenRequest, now = Date.now()): Promise<string> {
    const iat = Math.floor(now / 1000);
    const claims: Record<string, unknown> = { ...(request.scopes.length ? { scope: request.scopes.join(' ') } : {}) };
    const token = new SignJWT(claims)
      .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: this.publicJwk.kid, typ: 'JWT' })
      .setIssuer(this.url)
      .setAudience(request.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + request.expiresIn)
      .setJti(globalThis.crypto.randomUUID());
    if (request.sub !== undefined) token.setSubject(request.sub);
    return token.sign(this.privateKey);
  }
}
