import type { Command } from 'commander';
import { verifyAuditLog } from '../../audit/index.js';
import { action, intOption, print, requireFile, UsageError } from '../io.js';
import { loadVerifyKey } from './token.js';

export function register(program: Command): void {
  const audit = program.command('audit').description('Tamper-evident audit logs (hash-chained JSON lines)');

  audit
    .command('verify')
    .description(
      'Check the hash chain, the checkpoint signatures (with --key or --jwks) and the closing checkpoint; exit 1 with ERR_AUDIT_* and the line number of the first fault (edit, deletion, re-ordering, truncation)',
    )
    .argument('<file>', 'audit log')
    .option('--jwks <file>', 'JWKS with the checkpoint public keys')
    .option('--key <file>', 'Ed25519 key file that signed the checkpoints')
    .option('--expect-head <hash>', 'a head recorded earlier: the log must still contain that line')
    .option('--min-entries <n>', 'the log must hold at least this many entries')
    .option('--require-sealed', 'the log must end with its closing checkpoint, even without checkpoint keys')
    .option(
      '--allow-open',
      'accept a log that is still being written: no closing checkpoint yet, but (with a key) a signed checkpoint before its last unsealedTail entries',
    )
    .action(
      action(
        async (
          file: string,
          o: {
            jwks?: string;
            key?: string;
            expectHead?: string;
            minEntries?: string;
            requireSealed?: boolean;
            allowOpen?: boolean;
          },
        ) => {
          // the log itself is read by verifyAuditLog's own bounded line reader; a wrong path is a usage error
          requireFile(file, 'audit log');
          if (o.expectHead !== undefined && !/^[0-9a-f]{64}$/.test(o.expectHead))
            throw new UsageError('--expect-head is a 64-character hex SHA-256');
          // Without a key the chain, the seq order and the closing checkpoint are still checked; signatures not.
          const key = o.jwks !== undefined || o.key !== undefined ? await loadVerifyKey(o) : undefined;
          const r = verifyAuditLog(file, {
            ...(key !== undefined && { key }),
            ...(o.expectHead !== undefined && { expectHead: o.expectHead }),
            ...(o.minEntries !== undefined && { minEntries: intOption(o.minEntries, '--min-entries', 0) }),
            ...(o.requireSealed && { requireSealed: true }),
            ...(o.allowOpen && { allowOpen: true }),
          });
          print({ ok: true, ...r }, true);
        },
      ),
    );
}
