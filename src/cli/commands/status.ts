import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Authority } from '../../server/authority.js';
import { loadConfig } from '../../server/config.js';
import { AuthorityKeyring } from '../../server/keyring.js';
import {
  ACCESS_TOKEN_TYP,
  checkStatusOffline,
  DEFAULT_STATUS_LIST_MAX_AGE,
  type Jwks,
  type StatusCheckOptions,
} from '../../status-list/index.js';
import {
  action,
  argOrStdin,
  configOption,
  dataDirOption,
  intOption,
  print,
  readJwksFile,
  readTextFile,
  UsageError,
} from '../io.js';
import { checkStatusFetched } from './status-fetch.js';

interface CheckOptions {
  list?: string;
  fetch?: boolean;
  fetchPrefix: string[];
  fetchTimeout: string;
  jwks?: string;
  dataDir?: string;
  typ: string;
  iss?: string[];
  clockTolerance?: string;
  now?: string;
  allowStale?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

interface ChangeOptions {
  config?: string;
  dataDir?: string;
  json?: boolean;
}

/** Runs suspend or resume against the authority in the data dir; the running server serves the change at once. */
async function changeStatus(verb: 'suspend' | 'resume', tokenArg: string | undefined, o: ChangeOptions) {
  const cfg = loadConfig({
    ...configOption(o.config),
    overrides: o.dataDir !== undefined ? { dataDir: o.dataDir } : {},
  });
  // an operator action on tokens this authority issued: never create an authority (a new keyring) to do it
  if (!existsSync(path.join(cfg.dataDir, 'keyring.json')))
    throw new UsageError(
      `--data-dir ${cfg.dataDir} holds no authority (no keyring.json): pass the data directory of the authority that issued the token`,
    );
  const token = await argOrStdin(tokenArg);
  const authority = new Authority(cfg);
  try {
    const r = verb === 'suspend' ? authority.suspend(token) : authority.resume(token);
    await authority.db.settled();
    const what = r.status === 'suspended' ? 'suspended (status 0x02)' : 'valid (status 0x00)';
    print(
      o.json ? r : `${r.changed ? '' : 'already '}${what}, index ${r.idx} of status list ${r.listId}`,
      o.json,
    );
  } finally {
    authority.close();
  }
}

export function register(program: Command): void {
  const status = program.command('status').description('Token Status Lists (draft-ietf-oauth-status-list)');
  status
    .command('check')
    .description(
      'Decide offline whether a token is valid: its signature, typ, exp/nbf (and iss with --iss), then its slot in a downloaded status list token. Exit 0 valid; 1 with ERR_TOKEN_REVOKED, ERR_TOKEN_SUSPENDED, ERR_JWT_EXPIRED, ERR_JWT_CLAIM_INVALID (typ, iss, nbf), ERR_STATUS_LIST_STALE, ERR_STATUS_LIST_*',
    )
    .argument('[token]', 'the access token (stdin when - or absent)')
    .option('--list <file>', 'the status list JWT saved from GET /status-lists/:id (or --fetch)')
    .option('--fetch', "fetch the list from the token's status_list.uri (only under a --fetch-prefix)")
    .option(
      '--fetch-prefix <url>',
      'with --fetch: a URL prefix the list may be fetched from (repeatable; any other uri is ERR_STATUS_LIST_URI_NOT_ALLOWED)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--fetch-timeout <ms>', 'with --fetch: abort the fetch after this many milliseconds', '5000')
    .option('--jwks <file>', "the issuer's JWKS (default: the local authority keyring in --data-dir)")
    .option('--data-dir <dir>', 'authority data directory, used when --jwks is not given')
    .option('--typ <typ>', 'required typ header of the token', ACCESS_TOKEN_TYP)
    .option('--iss <issuer>', 'required issuer of the token (repeat for several)', collect)
    .option(
      '--clock-tolerance <sec>',
      'leeway for the token exp/nbf/iat and the list exp and age (default 0)',
    )
    .option('--now <unixsec>', 'check as of this time (default: the system clock)')
    .option(
      '--allow-stale',
      `accept a list without exp older than its ttl (or, without a ttl, than ${DEFAULT_STATUS_LIST_MAX_AGE} s); a list past its exp is never accepted`,
    )
    .option('--json', 'JSON output')
    .action(
      action(async (tokenArg: string | undefined, o: CheckOptions) => {
        if (o.typ.length === 0 || o.typ.length > 64) throw new UsageError('--typ must be 1 to 64 characters');
        const clockTolerance =
          o.clockTolerance !== undefined
            ? intOption(o.clockTolerance, '--clock-tolerance', 0, 86400)
            : undefined;
        const now = o.now !== undefined ? intOption(o.now, '--now', 0, 253402300799) : undefined;
        if (Boolean(o.fetch) === (o.list !== undefined))
          throw new UsageError('give exactly one of --list FILE and --fetch');
        const fetchTimeout = intOption(o.fetchTimeout, '--fetch-timeout', 1, 600_000);
        const token = await argOrStdin(tokenArg);
        const at = now ?? Math.floor(Date.now() / 1000);
        let jwks: Jwks;
        if (o.jwks) {
          jwks = readJwksFile(o.jwks, '--jwks') as Jwks;
        } else {
          const cfg = loadConfig({ overrides: dataDirOption(o.dataDir) });
          const ring = AuthorityKeyring.openExisting(path.join(cfg.dataDir, 'keyring.json'));
          jwks = ring.jwks(at);
        }
        const checks: StatusCheckOptions = {
          key: jwks,
          typ: o.typ,
          ...(o.iss !== undefined ? { issuer: o.iss.length === 1 ? (o.iss[0] as string) : o.iss } : {}),
          ...(clockTolerance !== undefined ? { clockTolerance } : {}),
          ...(now !== undefined ? { clock: () => now } : {}),
          ...(o.allowStale ? { allowStale: true } : {}),
        };
        const r = o.fetch
          ? await checkStatusFetched(token, checks, { prefixes: o.fetchPrefix, timeoutMs: fetchTimeout })
          : checkStatusOffline(
              token,
              readTextFile(o.list as string, '--list', 8 * 1024 * 1024).trim(),
              checks,
            );
        print(o.json ? { valid: true, ...r } : `valid (status 0x00, index ${r.idx} of ${r.uri})`, o.json);
      }),
    );
  status
    .command('suspend')
    .description(
      'Suspend an access token issued by the authority in --data-dir: its status list slot becomes 0x02 (draft-ietf-oauth-status-list 7.1), so status check answers ERR_TOKEN_SUSPENDED and /introspect active:false until status resume. Needs statusList.bits: 2. Errors: ERR_SUSPENSION_UNSUPPORTED (a 1-bit list), ERR_TOKEN_REVOKED (revocation is final), ERR_JWT_EXPIRED, ERR_JWKS_NO_MATCHING_KEY (not signed by this authority), ERR_JWS_*, ERR_JWT_*',
    )
    .argument('[token]', 'the access token (stdin when - or absent)')
    .option('--config <file>', 'server config file (for its dataDir)')
    .option('--data-dir <dir>', 'authority data directory (default ./.offtoken)')
    .option('--json', 'JSON output: {listId, idx, status, changed}')
    .action(action((t: string | undefined, o: ChangeOptions) => changeStatus('suspend', t, o)));
  status
    .command('resume')
    .description(
      'Lift the suspension of an access token issued by the authority in --data-dir: its status list slot is 0x00 (valid) again. Errors: ERR_TOKEN_REVOKED (a revoked token cannot be resumed), ERR_JWT_EXPIRED, ERR_JWKS_NO_MATCHING_KEY, ERR_JWS_*, ERR_JWT_*',
    )
    .argument('[token]', 'the access token (stdin when - or absent)')
    .option('--config <file>', 'server config file (for its dataDir)')
    .option('--data-dir <dir>', 'authority data directory (default ./.offtoken)')
    .option('--json', 'JSON output: {listId, idx, status, changed}')
    .action(action((t: string | undefined, o: ChangeOptions) => changeStatus('resume', t, o)));
}
