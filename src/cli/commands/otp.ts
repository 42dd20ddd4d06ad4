import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { EncodingError } from '../../errors/base.js';
import { base32Decode, base32Encode } from '../../otp/base32.js';
import { hotp, type OtpAlgorithm } from '../../otp/hotp.js';
import { ocra, parseOcraSuite } from '../../otp/ocra.js';
import { renderQr, writeQrFile } from '../../otp/qr.js';
import { generateOtpSecret } from '../../otp/secret.js';
import { totp, totpStep } from '../../otp/totp.js';
import { buildOtpauthUri } from '../../otp/uri.js';
import { OtpValidator } from '../../otp/validator.js';
import { dataDirStoreKey, dataDirStoreUrl, openStore, resolveStoreKey } from '../../stores/index.js';
import type { OfftokenStore } from '../../stores/types.js';
import {
  action,
  argOrStdin,
  intOption,
  print,
  requireOutputPath,
  requirePersistentStore,
  UsageError,
} from '../io.js';

const MAX_FLAG = 4096;

function algorithmOption(text: string): OtpAlgorithm {
  const a = text.toUpperCase().replace('-', '');
  if (a !== 'SHA1' && a !== 'SHA256' && a !== 'SHA512')
    throw new UsageError('--alg must be SHA1, SHA256 or SHA512');
  return a;
}

function hexOption(text: string, flag: string): Buffer {
  if (text.length > MAX_FLAG) throw new UsageError(`${flag} is too long`);
  if (text.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(text)) throw new EncodingError(`${flag} is not hex`);
  return Buffer.from(text, 'hex');
}

/** A 64-bit unsigned integer option, decimal or 0x-hex (RFC 6287's examples write T in hex). */
function u64Option(text: string, flag: string): bigint {
  if (!/^(?:[0-9]{1,20}|0x[0-9A-Fa-f]{1,16})$/.test(text))
    throw new UsageError(`${flag} must be a decimal or 0x-hex integer`);
  const n = BigInt(text);
  if (n > 2n ** 64n - 1n) throw new UsageError(`${flag} must fit 64 unsigned bits`);
  return n;
}

/** A wrong --qr-png/--qr-svg path is refused before a secret is made or enrolled, not after. */
function checkQrPaths(o: { qrPng?: string; qrSvg?: string }): void {
  if (o.qrPng !== undefined) requireOutputPath(o.qrPng, '--qr-png');
  if (o.qrSvg !== undefined) requireOutputPath(o.qrSvg, '--qr-svg');
}

/**
 * Every QR output asked for, made before anything is printed: the terminal drawing is returned, the PNG/SVG
 * files are written (and removed again if a later one fails), so a failure leaves no half-done enrolment.
 */
async function qrOutputs(
  uri: string,
  o: { qr?: boolean; qrPng?: string; qrSvg?: string },
): Promise<string | undefined> {
  const terminal = o.qr ? await renderQr(uri, 'terminal') : undefined;
  const written: string[] = [];
  try {
    for (const [file, format] of [
      [o.qrPng, 'png'],
      [o.qrSvg, 'svg'],
    ] as const) {
      if (file === undefined) continue;
      await writeQrFile(uri, file, format);
      written.push(file);
    }
  } catch (e) {
    for (const f of written) rmSync(f, { force: true });
    throw e;
  }
  return terminal;
}

const wantsQr = (o: { qr?: boolean; qrPng?: string; qrSvg?: string }) =>
  o.qr === true || o.qrPng !== undefined || o.qrSvg !== undefined;

function qrOptions(c: Command): Command {
  return c
    .option('--qr', 'also print the URI as a QR code on the terminal')
    .option('--qr-png <file>', 'write the URI as a QR code PNG (mode 0600: it holds the secret)')
    .option('--qr-svg <file>', 'write the URI as a QR code SVG (mode 0600)');
}

// `otp code`, `otp ocra`, `otp uri`: stateless codes and enrolment URIs.
export function registerOtpCodeCommands(otp: Command): void {
  otp
    .command('code')
    .description(
      'Print the TOTP (RFC 6238) code for now or --time, or the HOTP (RFC 4226) code for --counter. Errors: ERR_BASE32_INVALID, ERR_INVALID_ARGUMENT (secret under 10 bytes), ERR_USAGE',
    )
    .requiredOption(
      '--secret <base32>',
      'shared secret in base32 (case, spaces and padding are forgiven); - reads stdin',
    )
    .option('--hotp', 'HOTP (counter-based) instead of TOTP')
    .option('--counter <n>', 'HOTP counter (with --hotp)')
    .option('--time <unixsec>', 'TOTP: compute for this time instead of now')
    .option('--digits <d>', 'code length 6-10', '6')
    .option('--alg, --algorithm <alg>', 'SHA1, SHA256 or SHA512', 'SHA1')
    .option('--period <p>', 'TOTP time step in seconds', '30')
    .option('--t0 <unixsec>', 'TOTP: the time steps count from (T0)', '0')
    .option('--json', 'print {"code", "counter"} or {"code", "step", "period", "remaining"}')
    .action(
      action(
        async (o: {
          secret: string;
          hotp?: boolean;
          counter?: string;
          time?: string;
          digits: string;
          algorithm: string;
          period: string;
          t0: string;
          json?: boolean;
        }) => {
          const algorithm = algorithmOption(o.algorithm);
          const digits = intOption(o.digits, '--digits', 6, 10);
          const secret = base32Decode(o.secret === '-' ? await argOrStdin(undefined, 'secret') : o.secret);
          if (o.hotp) {
            if (o.counter === undefined) throw new UsageError('--hotp needs --counter N');
            if (o.time !== undefined) throw new UsageError('--time applies to TOTP, not --hotp');
            const counter = intOption(o.counter, '--counter', 0);
            const code = hotp(secret, counter, { algorithm, digits });
            print(o.json ? { code, counter } : code, o.json);
            return;
          }
          if (o.counter !== undefined) throw new UsageError('--counter needs --hotp');
          const period = intOption(o.period, '--period', 1, 86400);
          const t0 = intOption(o.t0, '--t0', 0, 2 ** 40);
          const now = o.time !== undefined ? intOption(o.time, '--time', 0, 2 ** 40) : Date.now() / 1000;
          const code = totp(secret, { algorithm, digits, period, t0, now });
          if (!o.json) return print(code);
          const step = totpStep({ period, t0, now });
          print({ code, step, period, remaining: t0 + (step + 1) * period - Math.floor(now) }, true);
        },
      ),
    );

  otp
    .command('ocra')
    .description(
      'Print the OCRA (RFC 6287) response for a suite such as OCRA-1:HOTP-SHA1-6:QN08 or OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1. Errors: ERR_OCRA_SUITE_INVALID, ERR_OCRA_INPUT_INVALID, ERR_ENCODING_INVALID',
    )
    .requiredOption('--suite <suite>', 'OCRA suite string')
    .requiredOption('--key-hex <hex>', 'shared key in hex')
    .option('--counter <c>', 'C: the counter (suites with C)')
    .option('--question <q>', 'Q: the challenge in the suite format (QN decimal, QA alphanumeric, QH hex)')
    .option('--pin <pin>', 'P: the PIN, hashed with the suite hash')
    .option('--pin-hash <hex>', 'P: the PIN hash itself')
    .option('--session <hex>', 'S: session information in hex')
    .option('--timestamp <t>', 'T: time steps since the epoch, decimal or 0x-hex (default: now)')
    .option('--json', 'print {"suite", "response"}')
    .action(
      action(
        (o: {
          suite: string;
          keyHex: string;
          counter?: string;
          question?: string;
          pin?: string;
          pinHash?: string;
          session?: string;
          timestamp?: string;
          json?: boolean;
        }) => {
          if (o.pin !== undefined && o.pinHash !== undefined)
            throw new UsageError('give --pin or --pin-hash, not both');
          const suite = parseOcraSuite(o.suite);
          const key = hexOption(o.keyHex, '--key-hex');
          const response = ocra(suite, key, {
            question: o.question as string,
            ...(o.counter !== undefined ? { counter: u64Option(o.counter, '--counter') } : {}),
            ...(o.pin !== undefined ? { pin: o.pin } : {}),
            ...(o.pinHash !== undefined ? { pinHash: o.pinHash } : {}),
            ...(o.session !== undefined ? { session: o.session } : {}),
            ...(o.timestamp !== undefined ? { timestamp: u64Option(o.timestamp, '--timestamp') } : {}),
          });
          print(o.json ? { suite: suite.suite, response } : response, o.json);
        },
      ),
    );

  qrOptions(
    otp
      .command('uri')
      .description(
        'Print an otpauth:// Key URI for an authenticator app (a new CSPRNG secret unless --secret), optionally as a QR code. Errors: ERR_BASE32_INVALID, ERR_INVALID_ARGUMENT (colon or control character in issuer/account), ERR_OTP_LABEL_INVALID (bidi control or only invisible characters), ERR_INPUT_TOO_LARGE (URI over 4096 characters, or over 2048 for a QR code)',
      )
      .requiredOption('--issuer <issuer>', 'provider or service shown by the app')
      .requiredOption('--account <account>', 'account name shown by the app')
      .option(
        '--secret <base32>',
        'use this secret (default: new, 20 bytes for SHA1, hash length otherwise); - reads stdin',
      )
      .option('--type <type>', 'totp or hotp', 'totp')
      .option('--alg, --algorithm <alg>', 'SHA1, SHA256 or SHA512', 'SHA1')
      .option('--digits <d>', 'code length 6-10', '6')
      .option('--period <p>', 'TOTP time step in seconds', '30')
      .option('--counter <n>', 'HOTP initial counter', '0')
      .option('--json', 'print {"uri", "secret"}'),
  ).action(
    action(
      async (o: {
        issuer: string;
        account: string;
        secret?: string;
        type: string;
        algorithm: string;
        digits: string;
        period: string;
        counter: string;
        json?: boolean;
        qr?: boolean;
        qrPng?: string;
        qrSvg?: string;
      }) => {
        if (o.type !== 'totp' && o.type !== 'hotp') throw new UsageError('--type must be totp or hotp');
        checkQrPaths(o);
        const algorithm = algorithmOption(o.algorithm);
        const text = o.secret === '-' ? await argOrStdin(undefined, 'secret') : o.secret;
        const secret = text !== undefined ? base32Decode(text) : generateOtpSecret(algorithm);
        const uri = buildOtpauthUri({
          type: o.type,
          secret,
          issuer: o.issuer,
          account: o.account,
          algorithm,
          digits: intOption(o.digits, '--digits', 6, 10),
          ...(o.type === 'totp'
            ? { period: intOption(o.period, '--period', 1, 86400) }
            : { counter: intOption(o.counter, '--counter', 0) }),
        });
        const terminal = await qrOutputs(uri, o);
        print(o.json ? { uri, secret: base32Encode(secret, { padding: false }) } : uri, o.json);
        if (terminal !== undefined) process.stdout.write(terminal);
      },
    ),
  );
}

interface StoreFlags {
  store?: string;
  dataDir?: string;
}

function storeOptions(c: Command): Command {
  return c
    .option(
      '--data-dir <dir>',
      "the authority's store: sqlite:DIR/store.db sealed with DIR/otp-store.key, the files `offtoken start --data-dir DIR` uses (the key is created 0600 if absent)",
    )
    .option(
      '--store <url>',
      'another store: sqlite:PATH (key OFFTOKEN_STORE_KEY or PATH.key) or redis://HOST:PORT[/db] (key OFFTOKEN_STORE_KEY); memory: is refused',
    );
}

/**
 * One store-key story: `--data-dir DIR` is exactly the store and key the authority opens (OFFTOKEN_STORE_KEY
 * does not apply, the server never reads it); `--store URL` is any other store with resolveStoreKey's key.
 */
async function openOtp(o: StoreFlags): Promise<{ store: OfftokenStore; validator: OtpValidator }> {
  if ((o.store === undefined) === (o.dataDir === undefined))
    throw new UsageError('give --data-dir DIR (the authority) or --store URL, exactly one');
  let url: string;
  let storeKey: Buffer;
  if (o.dataDir !== undefined) {
    url = dataDirStoreUrl(o.dataDir);
    storeKey = dataDirStoreKey(o.dataDir);
  } else {
    // the counter, the used codes and the lockout must outlive the run, or every run starts unlocked
    url = requirePersistentStore(o.store as string, '--store');
    storeKey = resolveStoreKey(url);
  }
  const store = await openStore(url);
  return { store, validator: new OtpValidator({ store, storeKey }) };
}

const MAX_LIST = 10_000;

// `otp enroll` / `otp verify` / `otp list` / `otp delete` / `otp resync` / `otp unlock` (stateful validator
// over a store).
export function registerOtpStoreCommands(otp: Command): void {
  qrOptions(
    storeOptions(otp.command('enroll'))
      .description(
        "Create an OTP credential in a store and print its otpauth:// URI. With --data-dir DIR it goes into the authority's store (what POST /otp/verify checks), sealed with DIR/otp-store.key; with --store the secret is sealed with OFFTOKEN_STORE_KEY (base64url, 32 bytes) or, for sqlite:PATH, the file PATH.key (created 0600). Nothing is stored when the label or URI is refused (ERR_INVALID_ARGUMENT, ERR_OTP_LABEL_INVALID, ERR_INPUT_TOO_LARGE: URI over 4096 characters, or over 2048 with a QR option) or a QR file cannot be written. Also ERR_OTP_CREDENTIAL_EXISTS",
      )
      .requiredOption('--id <id>', 'credential id')
      .option('--type <type>', 'totp or hotp', 'totp')
      .option('--alg, --algorithm <alg>', 'SHA1, SHA256 or SHA512', 'SHA1')
      .option('--digits <n>', 'code length 6-10', '6')
      .option('--period <s>', 'TOTP period in seconds', '30')
      .option('--issuer <issuer>', 'issuer shown by the authenticator app')
      .option('--account <account>', 'account name shown by the app (default: the id)')
      .option('--json', 'print {"id", "uri"}'),
  ).action(
    action(
      async (o: {
        store?: string;
        dataDir?: string;
        id: string;
        type: string;
        algorithm: string;
        digits: string;
        period: string;
        issuer?: string;
        account?: string;
        json?: boolean;
        qr?: boolean;
        qrPng?: string;
        qrSvg?: string;
      }) => {
        if (o.type !== 'totp' && o.type !== 'hotp') throw new UsageError('--type must be totp or hotp');
        checkQrPaths(o);
        const algorithm = algorithmOption(o.algorithm);
        const digits = intOption(o.digits, '--digits', 6, 10);
        const period = intOption(o.period, '--period', 1, 3600);
        // a credential enrolled in memory is gone when this command exits: memory: is refused
        const { store, validator: v } = await openOtp(o);
        let uri: string;
        let terminal: string | undefined;
        try {
          // The label, the URI's length and (with a QR option) the QR capacity are checked before storing.
          ({ uri } = await v.enroll({
            id: o.id,
            type: o.type,
            algorithm,
            digits,
            period,
            ...(o.issuer !== undefined ? { issuer: o.issuer } : {}),
            ...(o.account !== undefined ? { account: o.account } : {}),
            qr: wantsQr(o),
          }));
          try {
            terminal = await qrOutputs(uri, o);
          } catch (e) {
            // A QR file that cannot be written: the credential nobody received is removed again.
            await store.deleteCredential(o.id);
            throw e;
          }
        } finally {
          await store.close();
        }
        print(o.json ? { id: o.id, uri } : uri, o.json);
        if (terminal !== undefined) process.stdout.write(terminal);
      },
    ),
  );

  storeOptions(otp.command('verify'))
    .description(
      'Verify a code against a stored credential (single use, drift, look-ahead, lockout): exit 0 with a JSON line, or exit 1 with {"error":{"code","message"}} (ERR_OTP_INVALID, ERR_OTP_REPLAYED, ERR_OTP_LOCKED, ERR_OTP_FORMAT, ERR_OTP_UNKNOWN_CREDENTIAL)',
    )
    .argument('<code>', 'the one-time code')
    .requiredOption('--id <id>', 'credential id')
    .option('--now <unixsec>', 'verify as of this time (default: now)')
    .action(
      action(async (code: string, o: StoreFlags & { id: string; now?: string }) => {
        const now = o.now !== undefined ? intOption(o.now, '--now', 0, 2 ** 40) : undefined;
        const { store, validator } = await openOtp(o);
        try {
          const r = await validator.verify(o.id, code, now !== undefined ? { now } : {});
          print({ id: o.id, ...r }, true);
        } finally {
          await store.close();
        }
      }),
    );

  storeOptions(otp.command('list'))
    .description(
      `Print the credential ids in a store, one a line, sorted (at most ${MAX_LIST}); --json prints [{"id","type","algorithm","digits","period","counter","locked","lockedUntil","failures"}] (never a secret). Errors: ERR_STORE_UNAVAILABLE`,
    )
    .option('--json', 'print the non-secret metadata of each credential')
    .action(
      action(async (o: StoreFlags & { json?: boolean }) => {
        const { store } = await openOtp(o);
        try {
          const ids = (await store.listCredentialIds?.(MAX_LIST)) ?? [];
          if (!o.json) {
            for (const id of ids) print(id);
            return;
          }
          const now = Math.floor(Date.now() / 1000);
          const out = [];
          for (const id of ids) {
            const r = await store.getCredential(id);
            if (r === undefined) continue; // deleted meanwhile
            out.push({
              id,
              type: r.type,
              algorithm: r.algorithm,
              digits: r.digits,
              ...(r.type === 'totp' ? { period: r.period } : { counter: r.last + 1 }),
              locked: r.lockedUntil > now,
              lockedUntil: r.lockedUntil,
              failures: r.failures,
            });
          }
          print(out, true);
        } finally {
          await store.close();
        }
      }),
    );

  storeOptions(otp.command('delete'))
    .description(
      'Remove a credential from a store: exit 0 with {"id","deleted":true}, or exit 1 with ERR_OTP_UNKNOWN_CREDENTIAL for an unknown id',
    )
    .requiredOption('--id <id>', 'credential id')
    .action(
      action(async (o: StoreFlags & { id: string }) => {
        const { store, validator } = await openOtp(o);
        try {
          await validator.delete(o.id);
          print({ id: o.id, deleted: true }, true);
        } finally {
          await store.close();
        }
      }),
    );

  storeOptions(otp.command('unlock'))
    .description(
      'Clear a credential\'s failure count and lockout (the last accepted code stays used): exit 0 with {"id","unlocked":true}, or exit 1 with ERR_OTP_UNKNOWN_CREDENTIAL',
    )
    .requiredOption('--id <id>', 'credential id')
    .action(
      action(async (o: StoreFlags & { id: string }) => {
        const { store, validator } = await openOtp(o);
        try {
          await validator.unlock(o.id);
          print({ id: o.id, unlocked: true }, true);
        } finally {
          await store.close();
        }
      }),
    );

  storeOptions(otp.command('resync'))
    .description(
      'RFC 4226 7.4: resynchronise a HOTP credential from two consecutive codes found within 100 counters ahead; exit 0 with {"id","ok","type","counter","drift"}, or exit 1 (ERR_OTP_INVALID, ERR_OTP_REPLAYED, ERR_OTP_LOCKED, ERR_OTP_FORMAT, ERR_OTP_UNKNOWN_CREDENTIAL, ERR_INVALID_ARGUMENT for a TOTP credential). A failed resync counts towards the lockout',
    )
    .argument('<code1>', 'a code')
    .argument('<code2>', 'the code after it')
    .requiredOption('--id <id>', 'credential id')
    .action(
      action(async (code1: string, code2: string, o: StoreFlags & { id: string }) => {
        const { store, validator } = await openOtp(o);
        try {
          const r = await validator.resync(o.id, code1, code2);
          print({ id: o.id, ...r }, true);
        } finally {
          await store.close();
        }
      }),
    );
}

export function register(program: Command): void {
  const otp = program
    .command('otp')
    .description(
      'One-time passwords: HOTP (RFC 4226), TOTP (RFC 6238), OCRA (RFC 6287), enrolment and validation',
    );
  registerOtpCodeCommands(otp);
  registerOtpStoreCommands(otp);
}
