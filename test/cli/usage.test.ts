// One way to name things in the CLI: help for a bare group, unknown flags before required ones, --alg
// everywhere, a key file of the wrong kind named as such, and help text that lists every option.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Command, CommanderError } from 'commander';
import { createProgram, requiredOptions } from '../../src/cli/program.js';
import { buildJwks, generateKey, writeKeyFileSync } from '../../src/keys/index.js';
import { createServiceAccount, writeServiceAccountFile } from '../../src/service-account/index.js';
import { cli, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const ed = generateKey('EdDSA');
const keyFile = join(dir, 'ed.key');
writeKeyFileSync(keyFile, ed);
const jwks = join(dir, 'jwks.json');
// a JWKS is public: 0644, as `offtoken keys jwks > jwks.json` leaves it
writeFileSync(jwks, JSON.stringify(buildJwks([ed])), { mode: 0o644 });
const saFile = join(dir, 'sa.json');
writeServiceAccountFile(saFile, createServiceAccount({ clientId: 'sa-usage' }));

/** Every command of the tree with its path from the root (`['clients', 'keys', 'add']`). */
function commands(cmd: Command, path: string[] = []): { cmd: Command; path: string[] }[] {
  return [{ cmd, path }, ...cmd.commands.flatMap((c) => commands(c, [...path, c.name()]))];
}

/** Parses argv in-process (no action runs when the parse is refused); the CommanderError, if any. */
async function parseError(argv: string[]): Promise<CommanderError | undefined> {
  try {
    await createProgram().parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e;
    throw e;
  }
  return undefined;
}

const groups = commands(createProgram()).filter((c) => c.cmd.commands.length > 0);

describe('a command group without a subcommand prints its help on stdout and exits 0', () => {
  it('covers bare offtoken and every group named in the issue', () => {
    const names = groups.map((g) => g.path.join(' '));
    for (const g of [
      '',
      'keys',
      'jwt',
      'otp',
      'token',
      'clients',
      'service-account',
      'provision',
      'breakglass',
      'audit',
      'status',
    ])
      assert.ok(names.includes(g), `${g} is a group`);
  });
  for (const g of groups) {
    const name = ['offtoken', ...g.path].join(' ');
    it(name, () => {
      const r = cli(g.path);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.ok(r.stdout.startsWith(`Usage: ${name} [options] [command]`), r.stdout);
      for (const sub of g.cmd.commands) assert.match(r.stdout, new RegExp(`\\n  ${sub.name()}\\b`));
    });
  }
  it('an unknown subcommand is still ERR_USAGE, exit 2', () => {
    rejected(cli(['keys', 'bogus']), 'ERR_USAGE', 2);
    assert.match(cli(['keys', 'bogus']).stderr, /unknown command 'bogus'/);
  });
});

describe('an unknown flag is reported before any required option', () => {
  it('jwt sign --bogus (no other flags) says unknown option --bogus, exit 2', () => {
    const r = cli(['jwt', 'sign', '--bogus']);
    rejected(r, 'ERR_USAGE', 2);
    assert.equal(JSON.parse(r.stderr.trim()).error.message, "unknown option '--bogus'");
  });

  it('required options are still required: jwt sign alone names --key, exit 2', () => {
    const r = cli(['jwt', 'sign']);
    rejected(r, 'ERR_USAGE', 2);
    assert.equal(JSON.parse(r.stderr.trim()).error.message, "required option '--key <file>' not specified");
  });

  const withRequired = commands(createProgram()).filter((c) => requiredOptions(c.cmd).length > 0);
  it('every command with required options: --bogus alone is an unknown option', async () => {
    assert.ok(withRequired.length >= 20, `${withRequired.length} commands with required options`);
    for (const c of withRequired) {
      const e = await parseError([...c.path, '--bogus']);
      assert.equal(e?.code, 'commander.unknownOption', `${c.path.join(' ')}: ${e?.message}`);
    }
  });

  it('every command with required options: without them, the first one is named and no action runs', async () => {
    for (const c of withRequired) {
      // required positionals get a placeholder, so the required options are what is missing
      const args = c.cmd.registeredArguments.filter((a) => a.required).map(() => 'x');
      const e = await parseError([...c.path, ...args]);
      assert.equal(e?.code, 'commander.missingMandatoryOptionValue', `${c.path.join(' ')}: ${e?.message}`);
      assert.equal(e?.message, `error: required option '${requiredOptions(c.cmd)[0]?.flags}' not specified`);
    }
  });
});

describe('--help stays complete', () => {
  for (const c of commands(createProgram())) {
    it(`offtoken ${c.path.join(' ')} --help lists every option and subcommand`, () => {
      const help = c.cmd.helpInformation();
      for (const o of c.cmd.options) assert.ok(help.includes(o.flags), `${o.flags} missing from\n${help}`);
      for (const sub of c.cmd.commands) assert.ok(help.includes(sub.name()), sub.name());
      if (c.cmd.commands.length === 0) assert.ok(c.cmd.description().length > 0, 'a description');
    });
  }

  it('clients enable says what it does (not what disable does)', () => {
    const clients = createProgram().commands.find((c) => c.name() === 'clients')!;
    const enable = clients.commands.find((c) => c.name() === 'enable')!;
    const disable = clients.commands.find((c) => c.name() === 'disable')!;
    assert.match(
      enable.description(),
      /Re-enable a disabled client: the authority accepts its assertions again/,
    );
    assert.doesNotMatch(enable.description(), /refuse/);
    assert.match(disable.description(), /refuses its assertions/);
  });
});

describe('--alg names the algorithm in every command', () => {
  it('every option about an algorithm is --alg (otp keeps --algorithm as an alias)', () => {
    const seen: string[] = [];
    for (const c of commands(createProgram()))
      for (const o of c.cmd.options)
        if (/--alg/.test(o.flags)) {
          seen.push(`${c.path.join(' ')} ${o.flags}`);
          assert.ok(
            o.flags.startsWith('--alg,') || o.flags.startsWith('--alg '),
            `${c.path.join(' ')}: ${o.flags}`,
          );
        }
    for (const cmd of ['otp code', 'otp uri', 'otp enroll'])
      assert.ok(seen.includes(`${cmd} --alg, --algorithm <alg>`), `${cmd}: ${seen.join('; ')}`);
  });

  it('otp code --alg and --algorithm give the same code (RFC 6238 B, SHA256, T = 59)', () => {
    const s = encodeBase32(Buffer.from('12345678901234567890123456789012'));
    const args = ['otp', 'code', '--secret', s, '--time', '59', '--digits', '8'];
    assert.equal(ok(cli([...args, '--alg', 'SHA256'])).trim(), '46119246');
    assert.equal(ok(cli([...args, '--algorithm', 'SHA256'])).trim(), '46119246');
  });

  it('a bad value names --alg', () => {
    const r = cli(['otp', 'code', '--secret', 'JBSWY3DPEHPK3PXP', '--alg', 'MD5']);
    rejected(r, 'ERR_USAGE', 2);
    assert.match(r.stderr, /--alg must be SHA1, SHA256 or SHA512/);
  });
});

describe('a file of the wrong kind is named for what it is', () => {
  it('a JWKS passed as jwt sign --key says it is a JWKS, naming the flag and the path', () => {
    const r = cli(['jwt', 'sign', '--key', jwks, '--claims', '{}']);
    rejected(r, 'ERR_KEYFILE_INVALID');
    assert.match(r.stderr, new RegExp(`--key ${jwks}: the file is a JWKS`));
  });

  it('a JWKS passed as token read --key says it is a JWKS', () => {
    const r = cli(['token', 'read', 'a.b.c', '--key', jwks]);
    rejected(r, 'ERR_KEYFILE_INVALID');
    assert.match(r.stderr, /the file is a JWKS/);
  });

  it('a JWKS (mode 0644) passed as service-account token --key says it is a JWKS, not a permissions problem', () => {
    const r = cli(['service-account', 'token', '--key', jwks, '--aud', 'x']);
    rejected(r, 'ERR_SERVICE_ACCOUNT_INVALID');
    assert.match(r.stderr, new RegExp(`--key ${jwks}: the file is a JWKS`));
  });

  it('clients assertion --key / clients add --service-account: a JWKS or a key file is named as such', () => {
    const a = cli(['clients', 'assertion', '--key', jwks, '--aud', 'http://127.0.0.1/token']);
    rejected(a, 'ERR_SERVICE_ACCOUNT_INVALID');
    assert.match(a.stderr, new RegExp(`--key ${jwks}: the file is a JWKS`));
    const b = cli(['clients', 'add', '--service-account', keyFile, '--data-dir', join(dir, 'data')]);
    rejected(b, 'ERR_SERVICE_ACCOUNT_INVALID');
    assert.match(b.stderr, new RegExp(`--service-account ${keyFile}: the file is an offtoken key file`));
  });

  it('a key file or a service-account file passed as --jwks says it is not a JWKS', () => {
    const a = cli(['jwt', 'verify', 'a.b.c', '--jwks', keyFile, '--alg', 'EdDSA']);
    rejected(a, 'ERR_JWKS_INVALID');
    assert.match(a.stderr, new RegExp(`--jwks ${keyFile}: the file is an offtoken key file, not a JWKS`));
    const b = cli(['token', 'read', 'a.b.c', '--jwks', saFile]);
    rejected(b, 'ERR_JWKS_INVALID');
    assert.match(b.stderr, /the file is a service-account file, not a JWKS/);
  });

  it('a service-account file given as a key file, and a key file given as a service-account file', () => {
    const a = cli(['keys', 'thumbprint', saFile]);
    rejected(a, 'ERR_KEYFILE_INVALID');
    assert.match(a.stderr, new RegExp(`key file ${saFile}: the file is a service-account file`));
    const b = cli(['service-account', 'jwks', '--key', keyFile]);
    rejected(b, 'ERR_SERVICE_ACCOUNT_INVALID');
    assert.match(b.stderr, /the file is an offtoken key file, not a service-account file/);
  });
});

/** RFC 4648 base32 without padding (the test's own, so the secret does not come from the code under test). */
function encodeBase32(b: Buffer): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of b) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += A[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += A[(value << (5 - bits)) & 31];
  return out;
}

describe('messages use the article an algorithm name is read with', () => {
  it('token generate: an EdDSA key / an A256GCM key cannot be used for ... tokens', () => {
    const aes = join(dir, 'aes.key');
    writeKeyFileSync(aes, generateKey('A256GCM'));
    const a = cli(['token', 'generate', '--key', keyFile, '--mode', 'sealed']);
    rejected(a, 'ERR_INVALID_ARGUMENT');
    assert.match(a.stderr, /"an EdDSA key cannot be used for sealed tokens"/);
    const b = cli(['token', 'generate', '--key', aes, '--mode', 'signed']);
    rejected(b, 'ERR_INVALID_ARGUMENT');
    assert.match(b.stderr, /"an A256GCM key cannot be used for signed tokens"/);
  });
});
