import type { Command } from 'commander';
import QRCode from 'qrcode';
import { OtpValidator } from '../../otp/validator.js';
import { openStore, resolveStoreKey } from '../../stores/index.js';
import { action, intOption, print, UsageError } from '../io.js';

// `otp enroll` / `otp verify` (stateful validator over a store). The code/ocra/uri commands of the OTP
// codes engineer register on the same `otp` group.
export function registerOtpStoreCommands(otp: Command): void {
  otp
    .command('enroll')
    .description(
      'Create an OTP credential in a store and print its otpauth:// URI. The secret is sealed with the store key: OFFTOKEN_STORE_KEY (base64url, 32 bytes) or, for sqlite:PATH, the file PATH.key (created 0600)',
    )
    .requiredOption('--store <url>', 'sqlite:PATH or redis://HOST:PORT[/db]')
    .requiredOption('--id <id>', 'credential id')
    .option('--type <type>', 'totp or hotp', 'totp')
    .option('--algorithm <alg>', 'SHA1, SHA256 or SHA512', 'SHA1')
    .option('--digits <n>', 'code length 6-10', '6')
    .option('--period <s>', 'TOTP period in seconds', '30')
    .option('--issuer <issuer>', 'issuer shown by the authenticator app')
    .option('--account <account>', 'account name shown by the app (default: the id)')
    .option('--qr', 'also print the URI as a QR code on the terminal')
    .action(
      action(
        async (o: {
          store: string;
          id: string;
          type: string;
          algorithm: string;
          digits: string;
          period: string;
          issuer?: string;
          account?: string;
          qr?: boolean;
        }) => {
          if (o.type !== 'totp' && o.type !== 'hotp') throw new UsageError('--type must be totp or hotp');
          if (o.algorithm !== 'SHA1' && o.algorithm !== 'SHA256' && o.algorithm !== 'SHA512') {
            throw new UsageError('--algorithm must be SHA1, SHA256 or SHA512');
          }
          const storeKey = resolveStoreKey(o.store);
          const store = await openStore(o.store);
          try {
            const v = new OtpValidator({ store, storeKey });
            const { uri } = await v.enroll({
              id: o.id,
              type: o.type,
              algorithm: o.algorithm,
              digits: intOption(o.digits, '--digits', 6, 10),
              period: intOption(o.period, '--period', 1, 3600),
              ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
              ...(o.account !== undefined ? { account: o.account } : {}),
            });
            print(uri);
            if (o.qr) process.stdout.write(await QRCode.toString(uri, { type: 'terminal', small: true }));
          } finally {
            await store.close();
          }
        },
      ),
    );

  otp
    .command('verify')
    .description(
      'Verify a code against a stored credential (single use, drift, look-ahead, lockout): exit 0 with a JSON line, or exit 1 with {"error":{"code","message"}} (ERR_OTP_INVALID, ERR_OTP_REPLAYED, ERR_OTP_LOCKED, ERR_OTP_FORMAT, ERR_OTP_UNKNOWN_CREDENTIAL)',
    )
    .argument('<code>', 'the one-time code')
    .requiredOption('--store <url>', 'sqlite:PATH or redis://HOST:PORT[/db]')
    .requiredOption('--id <id>', 'credential id')
    .option('--now <unixsec>', 'verify as of this time (default: now)')
    .action(
      action(async (code: string, o: { store: string; id: string; now?: string }) => {
        const now = o.now !== undefined ? intOption(o.now, '--now', 0, 2 ** 40) : undefined;
        const storeKey = resolveStoreKey(o.store);
        const store = await openStore(o.store);
        try {
          const v = new OtpValidator({ store, storeKey });
          const r = await v.verify(o.id, code, now !== undefined ? { now } : {});
          print({ id: o.id, ...r }, true);
        } finally {
          await store.close();
        }
      }),
    );
}

export function register(program: Command): void {
  const otp = program.command('otp').description('One-time passwords (RFC 4226 HOTP, RFC 6238 TOTP)');
  registerOtpStoreCommands(otp);
}
