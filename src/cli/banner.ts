import path from 'node:path';

/** What the first screen of `offtoken start` needs to know about the running authority. */
export interface BannerInfo {
  /** The address the server is bound to, as `listen` returned it. */
  address: string;
  issuer: string;
  /** Absolute data directory. */
  dataDir: string;
  /** The audience a new client is registered for (the configured default audience, else the issuer). */
  audience: string;
  signingAlg: string;
  /** How a user invokes the CLI from where the server was started: `offtoken`, or `node dist/cli/main.js`. */
  cli: string;
  cwd: string;
}

/** A word safe to paste into a POSIX shell as it is, else single-quoted. */
function sh(word: string): string {
  return /^[\w./:@%+=-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * The first screen on a terminal: where the authority listens, where its data is, and the next three steps of
 * the README walk-through (a service account, a token, an offline verification), ready to paste into a second
 * terminal opened in the same directory.
 */
export function startBanner(b: BannerInfo): string {
  const rel = path.relative(b.cwd, b.dataDir);
  // `clients add` finds the default data directory itself; any other one is named
  const dataDirFlag =
    rel === '.offtoken' ? '' : ` --data-dir ${sh(rel !== '' && !rel.startsWith('..') ? rel : b.dataDir)}`;
  const o = 'offtoken';
  const lines = [
    '',
    `offtoken authority listening on ${b.address}`,
    `  issuer          ${b.issuer}`,
    `  data directory  ${b.dataDir}`,
    `  JWKS            ${b.issuer}/.well-known/jwks.json`,
    `  metadata        ${b.issuer}/.well-known/oauth-authorization-server`,
    '',
    'Next, in a second terminal in this directory:',
    '',
    ...(b.cli === o ? [] : [`  ${o}() { ${b.cli} "$@"; }`, '']),
    '  # 1. create a service account and register it for this audience',
    `  ${o} service-account create --out sa.json --token-uri ${sh(`${b.issuer}/token`)}`,
    `  ${o} clients add --service-account sa.json --audience ${sh(b.audience)}${dataDirFlag}`,
    '  # 2. get an access token: the account signs an RFC 7523 assertion and exchanges it',
    `  curl -s ${sh(`${b.issuer}/token`)} -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \\`,
    `    -d "assertion=$(${o} service-account token --key sa.json --assertion)" > token.json`,
    `  TOKEN=$(node -p 'require("./token.json").access_token')`,
    '  # 3. verify it offline, with only the downloaded public keys',
    `  curl -s ${sh(`${b.issuer}/.well-known/jwks.json`)} > jwks.json`,
    `  ${o} jwt verify "$TOKEN" --jwks jwks.json --alg ${b.signingAlg} --typ at+jwt --iss ${sh(b.issuer)}`,
    '',
    'More: README.md (walk-through), docs/service.md. Logs follow; Ctrl+C stops the authority.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

/** `offtoken` when run through the installed bin, else `node <script>` relative to the working directory. */
export function cliInvocation(script: string | undefined, cwd: string): string {
  if (script === undefined || path.basename(script) === 'offtoken') return 'offtoken';
  const rel = path.relative(cwd, script);
  return `node ${sh(rel !== '' && !rel.startsWith('..') ? rel : script)}`;
}
