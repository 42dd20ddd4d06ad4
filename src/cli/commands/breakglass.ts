import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { OfflineTokenGenerator } from '../../offline/index.js';
import { issueBreakGlassTokens, useBreakGlassToken } from '../../presets/index.js';
import { openStore } from '../../stores/index.js';
import { action, argOrStdin, fileError, intOption, print, requirePersistentStore } from '../io.js';
import { loadKey, openAudit } from './token.js';

export function register(program: Command): void {
  const bg = program
    .command('breakglass')
    .description('Break-glass access: sealed, scoped, single-use emergency tokens issued in advance');

  bg.command('issue')
    .description('Mint COUNT sealed emergency tokens for SCOPE (JSON lines: index, scope, jti, exp, token)')
    .requiredOption('--key <file>', 'A128/192/256GCM key file')
    .requiredOption('--scope <scope>', 'what the tokens open, e.g. prod-db/root')
    .requiredOption('--count <n>', 'number of tokens')
    .requiredOption('--out <file>', 'output file (created, never overwritten, mode 0600)')
    .option('--ttl <seconds>', 'token lifetime', String(90 * 24 * 3600))
    .option('--audit <file>', 'append the issuance to this audit log')
    .option('--audit-key <file>', 'Ed25519 key that signs the audit log checkpoints')
    .action(
      action(
        async (o: {
          key: string;
          scope: string;
          count: string;
          out: string;
          ttl: string;
          audit?: string;
          auditKey?: string;
        }) => {
          const count = intOption(o.count, '--count', 1, 10_000);
          const ttlSeconds = intOption(o.ttl, '--ttl', 1, 10 * 365 * 86400);
          const key = await loadKey(o.key);
          const gen = new OfflineTokenGenerator({ key, mode: 'sealed' });
          // the audit log and its key are checked first: a refusal must not leave an empty --out behind
          const audit = await openAudit(o.audit, o.auditKey);
          let fd: number;
          try {
            fd = openSync(o.out, 'wx', 0o600);
          } catch (e) {
            audit?.close();
            throw fileError('--out', o.out, e);
          }
          try {
            audit?.record('key.use', { kid: key.kid, alg: key.alg, purpose: 'breakglass.issue' });
            const recs = issueBreakGlassTokens(gen, {
              scope: o.scope,
              count,
              ttlSeconds,
              ...(audit && { audit }),
            });
            writeSync(fd, `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`);
            print({ issued: recs.length, scope: o.scope, out: o.out }, true);
          } finally {
            closeSync(fd);
            audit?.close();
          }
        },
      ),
    );

  bg.command('use')
    .description('Accept a break-glass token once; every use, accepted or refused, goes to the audit log')
    .requiredOption('--key <file>', 'the A*GCM key file the tokens were sealed with')
    .requiredOption(
      '--consume <url>',
      'replay store that outlives the run: sqlite:PATH or redis://HOST:PORT[/db] (memory: is refused)',
    )
    .requiredOption('--audit <file>', 'audit log (required: an emergency access is never unrecorded)')
    .option('--audit-key <file>', 'Ed25519 key that signs the audit log checkpoints')
    .option('--scope <scope>', 'refuse tokens for another scope')
    .option('--tolerance <seconds>', 'clock skew tolerance', '60')
    .argument('[token]', 'the token, or - for stdin')
    .action(
      action(
        async (
          tokenArg: string | undefined,
          o: {
            key: string;
            consume: string;
            audit: string;
            auditKey?: string;
            scope?: string;
            tolerance: string;
          },
        ) => {
          requirePersistentStore(o.consume, '--consume');
          const text = await argOrStdin(tokenArg);
          const ttlTolerance = intOption(o.tolerance, '--tolerance', 0, 86400);
          const key = await loadKey(o.key);
          const gen = new OfflineTokenGenerator({ key, mode: 'sealed', ttlTolerance });
          const audit = (await openAudit(o.audit, o.auditKey))!;
          let store: Awaited<ReturnType<typeof openStore>> | undefined;
          try {
            store = await openStore(o.consume);
            const r = await useBreakGlassToken(gen, text, {
              consume: store,
              audit,
              ...(o.scope !== undefined && { scope: o.scope }),
            });
            print({ scope: r.scope, jti: r.claims.jti, exp: r.claims.exp }, true);
          } finally {
            await store?.close();
            audit.close();
          }
        },
      ),
    );
}
