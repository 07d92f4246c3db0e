/**
 * The local issuer on the AWS endpoint (loopback only, like every `/_local/...` path):
 *   GET  /_local/issuer/.well-known/openid-configuration   its OIDC discovery document
 *   GET  /_local/issuer/jwks.json                          its public key (JWKS)
 *   POST /_local/issuer/token                              a token: {"sub", "scope", "expiresIn", "audience"} -> OAuth 2 token response
 * Served only while the running stack's authorizer trusts the local issuer (`npm start -- --local-jwt`).
 */
import { LOCAL_ISSUER_URL, LocalIssuer, parseTokenRequest, SIGNING_ALGORITHM, TokenRequestError } from './local-issuer';

export const ISSUER_PATH = '/_local/issuer';

export interface AdminRequest {
  method: string;
  path: string;
  /** The parsed JSON body (undefined when there is none). */
  body: unknown;
  /** The query string, without `?` ('' when none). */
  query?: string;
  headers?: Record<string, string | string[] | undefined>;
}
export interface AdminAnswer {
  status: number;
  /** Sent as JSON, unless `text` is given. */
  body: unknown;
  /** Sent as is with `contentType` (the ops page's HTML, script and style). */
  text?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

/** Undefined for a path that is not the issuer's. */
export async function handleIssuerRequest(issuer: LocalIssuer | undefined, request: AdminRequest, awsEndpoint: string): Promise<AdminAnswer | undefined> {
  if (request.path !== ISSUER_PATH && !request.path.startsWith(`${ISSUER_PATH}/`)) return undefined;
  if (!issuer) {
    return {
      status: 404,
      body: { __type: 'NotFound', message: `the running stack's API does not trust the local issuer (${LOCAL_ISSUER_URL}): start it with npm start -- --local-jwt` },
    };
  }
  const resource = `${request.method} ${request.path.slice(ISSUER_PATH.length)}`;
  switch (resource) {
    case 'GET /.well-known/openid-configuration':
      return {
        status: 200,
        body: {
          issuer: issuer.url,
          jwks_uri: `${awsEndpoint}${ISSUER_PATH}/jwks.json`,
          token_endpoint: `${awsEndpoint}${ISSUER_PATH}/token`,
          response_types_supported: ['token'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
        },
      };
    case 'GET /jwks.json':
      return { status: 200, body: issuer.jwks() };
    case 'POST /token':
      try {
        const wanted = parseTokenRequest(request.body);
        return { status: 200, body: { access_token: await issuer.mint(wanted), token_type: 'Bearer', expires_in: wanted.expiresIn } };
      } catch (error) {
        if (error instanceof TokenRequestError) return { status: 400, body: { __type: 'ValidationException', message: error.message } };
        throw error;
      }
    default:
      return {
        status: 404,
        body: { __type: 'NotFound', message: `no ${resource} on the local issuer (there are GET /.well-known/openid-configuration, GET /jwks.json, POST /token under ${ISSUER_PATH})` },
      };
  }
}
