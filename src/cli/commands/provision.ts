import { closeSync, openSync, writeSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { OfflineTokenGenerator } from '../../offline/index.js';
import {
  checkProvisioningToken,
  issueProvisioningBatch,
  type ProvisionDevice,
  parseDeviceKeys,
  parseSerials,
} from '../../presets/index.js';
import { openStore } from '../../stores/index.js';
import {
  action,
  argOrStdin,
  fileError,
  intOption,
  print,
  readFileBytes,
  requirePersistentStore,
  UsageError,
} from '../io.js';
import { loadKey, openAudit, parseMode, readerKey } from './token.js';

const MAX_SERIALS_FILE = 64 * 1024 * 1024;

export function register(program: Command): void {
  const provision = program
    .command('provision')
    .description('Device provisioning: single-use, time-limited tokens bound to device serials');

  provision
    .command('batch')
    .description('Mint one token per serial (JSON lines: serial, jti, exp, token) on an offline machine')
    .requiredOption(
      '--key <file>',
      'Ed25519 (signed), A*GCM (sealed), or Ed25519/ES256 (nested: the issuer) key file',
    )
    .option('--serials <file>', 'one serial per line (# comments and blank lines ignored)')
    .option(
      '--devices <file>',
      'instead of --serials, for nested tokens: JSON lines {"serial","jwk"} with each device\'s public ECDH-ES key',
    )
    .requiredOption('--out <file>', 'output file (created, never overwritten, mode 0600)')
    .option('--ttl <seconds>', 'token lifetime', String(7 * 24 * 3600))
    .option('--mode <mode>', 'signed | sealed | nested (default: from the key; nested with --devices)')
    .option('--progress', 'show a progress bar even when stderr is not a terminal')
    .option('--audit <file>', 'append the batch issuance to this audit log')
    .option('--audit-key <file>', 'Ed25519 key that signs the audit log checkpoints')
    .action(
      action(
        async (o: {
          key: string;
          serials?: string;
          devices?: string;
          out: string;
          ttl: string;
          mode?: string;
          progress?: boolean;
          audit?: string;
          auditKey?: string;
        }) => {
          const ttlSeconds = intOption(o.ttl, '--ttl', 1, 10 * 365 * 86400);
          const mode = parseMode(o.mode) ?? (o.devices !== undefined ? 'nested' : undefined);
          if (mode === 'mac') throw new UsageError('provisioning tokens are signed, sealed or nested');
          if ((o.serials === undefined) === (o.devices === undefined))
            throw new UsageError('give --serials FILE, or --devices FILE for nested tokens');
          if ((mode === 'nested') !== (o.devices !== undefined))
            throw new UsageError(
              "nested tokens take --devices (the devices' public keys); other modes --serials",
            );
          const flag = o.devices !== undefined ? '--devices' : '--serials';
          const file = (o.devices ?? o.serials)!;
          const text = readFileBytes(file, flag, MAX_SERIALS_FILE);
          const serials: (string | ProvisionDevice)[] =
            o.devices !== undefined
              ? parseDeviceKeys(text.toString('utf8'))
              : parseSerials(text.toString('utf8'));
          if (serials.length === 0) throw new UsageError(`${file} holds no device`);
          const key = await loadKey(o.key);
          const gen = new OfflineTokenGenerator({ key, ...(mode && { mode }) });
          if (gen.mode === 'mac') throw new UsageError('provisioning tokens are signed or sealed');
          // the audit log and its key are checked first: a refusal must not leave an empty --out behind
          const audit = await openAudit(o.audit, o.auditKey);
          let fd: number;
          try {
            fd = openSync(o.out, 'wx', 0o600);
          } catch (e) {
            audit?.close();
            throw fileError('--out', o.out, e);
          }
          const showBar = o.progress === true || process.stderr.isTTY === true;
          const bar = showBar
            ? new cliProgress.SingleBar(
                {
                  stream: process.stderr,
                  etaBuffer: 100,
                  noTTYOutput: true,
                  notTTYSchedule: 1000,
                  format: 'provision {bar} {value}/{total} {eta}s',
                },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
          bar?.start(serials.length, 0);
          let count = 0;
          try {
            audit?.record('key.use', { kid: key.kid, alg: key.alg, purpose: 'provision.batch' });
            const lines: string[] = [];
            for (const rec of issueProvisioningBatch(gen, serials, { ttlSeconds })) {
              lines.push(JSON.stringify(rec));
              count++;
              audit?.record('provision.issue', { serial: rec.serial, jti: rec.jti, exp: rec.exp });
              if (lines.length >= 512) {
                writeSync(fd, `${lines.splice(0).join('\n')}\n`);
                // Let the progress bar's timer run: minting is synchronous and a large batch takes a while.
                await new Promise((resolve) => setImmediate(resolve));
              }
              if (count % 64 === 0 || count === serials.length) bar?.update(count);
            }
            if (lines.length > 0) writeSync(fd, `${lines.join('\n')}\n`);
          } finally {
            bar?.stop();
            closeSync(fd);
            audit?.close();
          }
          print({ issued: count, out: o.out, mode: gen.mode, kid: key.kid }, true);
        },
      ),
    );

  provision
    .command('check')
    .description('Gateway side: accept a provisioning token once and print its device serial')
    .option(
      '--key <file>',
      "public Ed25519 key (signed), the A*GCM key (sealed), or this device's ECDH-ES key (nested, with --jwks)",
    )
    .option(
      '--jwks <file>',
      "the issuer's public keys by kid (offtoken keys jwks): instead of --key, or with it for nested",
    )
    .requiredOption(
      '--consume <url>',
      'replay store that outlives the run: sqlite:PATH or redis://HOST:PORT[/db] (memory: is refused)',
    )
    .option('--tolerance <seconds>', 'clock skew tolerance', '60')
    .option('--audit <file>', 'append the result to this audit log')
    .option('--audit-key <file>', 'Ed25519 key that signs the audit log checkpoints')
    .argument('[token]', 'the token, or - for stdin')
    .action(
      action(
        async (
          tokenArg: string | undefined,
          o: {
            key?: string;
            jwks?: string;
            consume: string;
            tolerance: string;
            audit?: string;
            auditKey?: string;
          },
        ) => {
          requirePersistentStore(o.consume, '--consume');
          const text = await argOrStdin(tokenArg);
          const ttlTolerance = intOption(o.tolerance, '--tolerance', 0, 86400);
          const gen = new OfflineTokenGenerator({ ...(await readerKey(o)), ttlTolerance });
          const audit = await openAudit(o.audit, o.auditKey);
          const store = await openStore(o.consume);
          try {
            const r = await checkProvisioningToken(gen, text, { consume: store, ...(audit && { audit }) });
            print({ serial: r.serial, jti: r.claims.jti, exp: r.claims.exp }, true);
          } finally {
            await store.close();
            audit?.close();
          }
        },
      ),
    );
}
