import type { Command } from 'commander';
import {
  createServiceAccount,
  jwtAssertion,
  readServiceAccountFile,
  type ServiceAccountAlg,
  selfSignedJwt,
  serviceAccountJwks,
  writeServiceAccountFile,
} from '../../service-account/index.js';
import {
  action,
  intOption,
  MAX_KEY_FILE_BYTES,
  namingFlag,
  print,
  requireFile,
  requireOutputPath,
  UsageError,
} from '../io.js';

const SA_ALGS: readonly ServiceAccountAlg[] = ['EdDSA', 'ES256', 'ES384', 'ES512', 'RS256'];

interface CreateOptions {
  out: string;
  clientId?: string;
  clientEmail?: string;
  alg?: string;
  tokenUri?: string;
  force?: boolean;
  json?: boolean;
}

function create(o: CreateOptions): void {
  if (o.alg !== undefined && !(SA_ALGS as readonly string[]).includes(o.alg))
    throw new UsageError(`--alg must be one of ${SA_ALGS.join(', ')}`);
  requireOutputPath(o.out, '--out');
  const sa = createServiceAccount({
    ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
    ...(o.clientEmail !== undefined ? { clientEmail: o.clientEmail } : {}),
    ...(o.alg !== undefined ? { alg: o.alg as ServiceAccountAlg } : {}),
    ...(o.tokenUri !== undefined ? { tokenUri: o.tokenUri } : {}),
  });
  writeServiceAccountFile(o.out, sa, { overwrite: o.force === true });
  const info = {
    client_id: sa.clientId,
    ...(sa.clientEmail !== undefined ? { client_email: sa.clientEmail } : {}),
    private_key_id: sa.keyId,
    alg: sa.alg,
    file: o.out,
  };
  print(
    o.json
      ? info
      : `service account ${sa.clientId} (${sa.alg}, key ${sa.keyId}) written to ${o.out} (mode 0600)`,
    o.json,
  );
}

interface TokenOptions {
  key: string;
  aud?: string[];
  scope?: string[];
  assertion?: boolean;
  tokenEndpoint?: string;
  lifetime?: string;
  force?: boolean;
  json?: boolean;
}

function token(o: TokenOptions): void {
  const modes = [o.aud !== undefined, o.scope !== undefined, o.assertion === true].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('give exactly one of --aud, --scope, --assertion');
  if (o.tokenEndpoint !== undefined && !o.assertion)
    throw new UsageError('--token-endpoint goes with --assertion');
  requireFile(o.key, '--key', MAX_KEY_FILE_BYTES);
  const sa = namingFlag('--key', o.key, () => readServiceAccountFile(o.key, o.force ? { force: true } : {}));
  const now = Math.floor(Date.now() / 1000);
  const timing: { now: number; lifetime?: number } = { now };
  if (o.lifetime !== undefined) timing.lifetime = intOption(o.lifetime, '--lifetime', 1, 3600);
  let jwt: string;
  if (o.assertion) {
    const tokenEndpoint = o.tokenEndpoint ?? sa.tokenUri;
    if (tokenEndpoint === undefined)
      throw new UsageError('--assertion needs --token-endpoint URL (the file has no token_uri)');
    jwt = jwtAssertion(sa, { ...timing, tokenEndpoint });
  } else if (o.aud !== undefined) {
    jwt = selfSignedJwt(sa, { audience: o.aud.length === 1 ? (o.aud[0] as string) : o.aud }, timing);
  } else {
    jwt = selfSignedJwt(sa, { scope: o.scope as string[] }, timing);
  }
  if (!o.json) {
    print(jwt);
    return;
  }
  const payload = JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString('utf8')) as {
    exp: number;
  };
  print(
    { token: jwt, token_type: o.assertion ? 'assertion' : 'Bearer', expires_in: payload.exp - now },
    true,
  );
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];
const collectScopes = (v: string, prev: string[] | undefined) => [
  ...(prev ?? []),
  ...v.split(/\s+/).filter(Boolean),
];

export function register(program: Command): void {
  const sa = program
    .command('service-account')
    .description('Service-account key files and the self-signed JWTs and RFC 7523 assertions made with them');

  sa.command('create')
    .description('Create a service-account key file (cloud-style JSON with a PEM private key, mode 0600)')
    .requiredOption('--out <file>', 'file to write')
    .option('--client-id <id>', 'client id (default: sa- and 16 random hex digits)')
    .option('--client-email <email>', 'client email (then iss/sub of self-signed JWTs)')
    .option('--alg <alg>', `key algorithm: ${SA_ALGS.join(', ')} (default EdDSA)`)
    .option('--token-uri <url>', 'token endpoint stored in the file (token_uri)')
    .option('--force', 'replace an existing file')
    .option('--json', 'JSON output')
    .action(action(create));

  sa.command('token')
    .description(
      'Print a self-signed JWT (--aud or --scope; iss = sub = the account, 1 h) or an RFC 7523 assertion (--assertion)',
    )
    .requiredOption('--key <file>', 'service-account key file')
    .option('--aud <audience>', 'audience of a self-signed JWT (repeatable)', collect)
    .option('--scope <scope>', 'scope of a self-signed JWT (repeatable or space separated)', collectScopes)
    .option('--assertion', 'an RFC 7523 jwt-bearer assertion: aud = the token endpoint, unique jti, 2 min')
    .option('--token-endpoint <url>', "the token endpoint for --assertion (default: the file's token_uri)")
    .option('--lifetime <sec>', 'lifetime in seconds (self-signed: at most 3600; assertion: at most 300)')
    .option('--force', 'read a group/world-readable key file anyway')
    .option('--json', 'print {token, token_type, expires_in}')
    .action(action(token));

  sa.command('jwks')
    .description('Print the public JWKS of a service account (to register it with a relying party)')
    .requiredOption('--key <file>', 'service-account key file')
    .action(
      action((o: { key: string }) => {
        requireFile(o.key, '--key', MAX_KEY_FILE_BYTES);
        print(serviceAccountJwks(namingFlag('--key', o.key, () => readServiceAccountFile(o.key))), true);
      }),
    );
}
