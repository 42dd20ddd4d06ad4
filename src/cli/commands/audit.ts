import type { Command } from 'commander';
import { verifyAuditLog } from '../../audit/index.js';
import { action, intOption, print, UsageError } from '../io.js';
import { loadVerifyKey } from './token.js';

export function register(program: Command): void {
  const audit = program.command('audit').description('Tamper-evident audit logs (hash-chained JSON lines)');

  audit
    .command('verify')
    .description(
      'Check the hash chain and checkpoint signatures; exit 1 with ERR_AUDIT_* and the line number on the first fault',
    )
    .argument('<file>', 'audit log')
    .option('--jwks <file>', 'JWKS with the checkpoint public keys')
    .option('--key <file>', 'Ed25519 key file that signed the checkpoints')
    .option('--expect-head <hash>', 'a head recorded earlier: the log must still contain that line')
    .option('--min-entries <n>', 'the log must hold at least this many entries')
    .option('--require-sealed', 'the log must end with a checkpoint')
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
          },
        ) => {
          if (o.expectHead !== undefined && !/^[0-9a-f]{64}$/.test(o.expectHead))
            throw new UsageError('--expect-head is a 64-character hex SHA-256');
          const key = await loadVerifyKey(o);
          const r = verifyAuditLog(file, {
            key,
            ...(o.expectHead !== undefined && { expectHead: o.expectHead }),
            ...(o.minEntries !== undefined && { minEntries: intOption(o.minEntries, '--min-entries', 0) }),
            ...(o.requireSealed && { requireSealed: true }),
          });
          print({ ok: true, ...r }, true);
        },
      ),
    );
}
