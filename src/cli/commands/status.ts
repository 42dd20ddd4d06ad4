import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../server/config.js';
import { AuthorityKeyring } from '../../server/keyring.js';
import { checkStatusOffline, type Jwks } from '../../status-list/index.js';
import { action, argOrStdin, print, readJsonFile, readTextFile } from '../io.js';

export function register(program: Command): void {
  const status = program.command('status').description('Token Status Lists (draft-ietf-oauth-status-list)');
  status
    .command('check')
    .description(
      'Decide offline whether a token is revoked, from a downloaded status list token: exit 0 valid, 1 revoked (ERR_TOKEN_REVOKED) or suspended (ERR_TOKEN_SUSPENDED)',
    )
    .argument('[token]', 'the access token (stdin when - or absent)')
    .requiredOption('--list <file>', 'the status list JWT saved from GET /status-lists/:id')
    .option('--jwks <file>', "the issuer's JWKS (default: the local authority keyring in --data-dir)")
    .option('--data-dir <dir>', 'authority data directory, used when --jwks is not given')
    .option('--json', 'JSON output')
    .action(
      action(
        async (
          tokenArg: string | undefined,
          o: { list: string; jwks?: string; dataDir?: string; json?: boolean },
        ) => {
          const token = await argOrStdin(tokenArg);
          const listToken = readTextFile(o.list, '--list', 8 * 1024 * 1024).trim();
          let jwks: Jwks;
          if (o.jwks) {
            jwks = readJsonFile(o.jwks, '--jwks') as Jwks;
          } else {
            const cfg = loadConfig({ overrides: o.dataDir !== undefined ? { dataDir: o.dataDir } : {} });
            const ring = AuthorityKeyring.openExisting(path.join(cfg.dataDir, 'keyring.json'));
            jwks = ring.jwks(Math.floor(Date.now() / 1000));
          }
          const r = checkStatusOffline(token, listToken, { key: jwks });
          print(o.json ? { valid: true, ...r } : `valid (status 0x00, index ${r.idx} of ${r.uri})`, o.json);
        },
      ),
    );
}
