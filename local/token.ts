/**
 * `npm run token -- --sub c-42 [--scope orders/admin] [--expires-in S] [--audience A] [--aws-port N]`: prints a token
 * of the local issuer, minted by the running runtime (`POST /_local/issuer/token` on its AWS endpoint, loopback only):
 * the signing key never leaves the runtime, and a token is only ever for the stack that runs.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_TOKEN_SECONDS, LOCAL_AUDIENCE } from './issuer/local-issuer';
import { ISSUER_PATH } from './issuer/issuer-api';

const USAGE = `Usage: npm run token -- --sub CUSTOMER [options]

  --sub ID          the token's subject: the customer it speaks for (required)
  --scope S         a scope to grant, e.g. orders/admin or orders/payments (repeatable)
  --expires-in S    seconds until it expires (default ${DEFAULT_TOKEN_SECONDS}; 0 or less, written --expires-in=-60, mints an expired one)
  --audience A      the aud claim (default ${LOCAL_AUDIENCE}, the audience --local-jwt configures)
  --aws-port N      the running runtime's AWS endpoint port (default 4566)
  -h, --help        this text

Needs a runtime started with npm start -- --local-jwt. Use the token as: curl -H "Authorization: Bearer $TOKEN" ...`;

export interface TokenCli {
  body: { sub: string; scope: string[]; expiresIn: number; audience?: string };
  awsPort: number;
}

/** A usage error: the message, then the usage text, exit code 2. */
export class TokenUsageError extends Error {
  override name = 'TokenUsageError';
}

export function parseTokenCli(argv: string[]): TokenCli | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        sub: { type: 'string' },
        scope: { type: 'string', multiple: true },
        'expires-in': { type: 'string' },
        audience: { type: 'string' },
        'aws-port': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new TokenUsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help) return 'help';
  if (!v.sub) throw new TokenUsageError('--sub is required: the customer the token speaks for, e.g. --sub c-42');
  const expiresIn = v['expires-in'] === undefined ? DEFAULT_TOKEN_SECONDS : Number(v['expires-in']);
  if (!Number.isInteger(expiresIn)) throw new TokenUsageError(`--expires-in must be a whole number of seconds, got ${v['expires-in']}`);
  const awsPort = v['aws-port'] === undefined ? 4566 : Number(v['aws-port']);
  if (!Number.isInteger(awsPort) || awsPort < 1 || awsPort > 65535) throw new TokenUsageError(`--aws-port must be a port number (1-65535), got ${v['aws-port']}`);
  return { body: { sub: v.sub, scope: v.scope ?? [], expiresIn, ...(v.audience !== undefined ? { audience: v.audience } : {}) }, awsPort };
}

/** The token, or an error whose message is the one line to print. */
export async function requestToken(cli: TokenCli): Promise<string> {
  const url = `http://127.0.0.1:${cli.awsPort}${ISSUER_PATH}/token`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(cli.body) });
  } catch {
    throw new Error(`no local runtime answers on 127.0.0.1:${cli.awsPort}: start one with npm start -- --local-jwt (or give its --aws-port)`);
  }
  const answer = (await response.json().catch(() => ({}))) as { access_token?: string; message?: string };
  if (!response.ok || !answer.access_token) throw new Error(answer.message ?? `the runtime answered ${response.status} without a token`);
  return answer.access_token;
}

async function main(): Promise<void> {
  let cli: TokenCli | 'help';
  try {
    cli = parseTokenCli(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (cli === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  try {
    process.stdout.write(`${await requestToken(cli)}\n`);
  } catch (error) {
    process.stderr.write(`npm run token: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (require.main === module) void main();
