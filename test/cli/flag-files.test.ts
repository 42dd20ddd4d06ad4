// Every flag (and positional) of every command that names a file: a wrong path is ERR_USAGE, exit 2, with a
// message naming the flag and the path, never an errno message, a stack or ERR_INTERNAL. One table, run
// through the built bin (scripts/test.mjs builds dist/ first), a few runs at a time.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { buildJwks, generateKey, writeKeyFileSync } from '../../src/keys/index.js';
import { createServiceAccount, writeServiceAccountFile } from '../../src/service-account/index.js';
import { type CliResult, rejected, tempDir } from './helpers.js';

const root = resolve(import.meta.dirname, '../..');
const KiB = 1024;
const MiB = 1024 * KiB;

const dir = tempDir();
const keyFile = join(dir, 'signed.key');
const ed = generateKey('EdDSA');
writeKeyFileSync(keyFile, ed);
const aesKey = join(dir, 'sealed.key');
writeKeyFileSync(aesKey, generateKey('A256GCM'));
const jwks = join(dir, 'jwks.json');
writeFileSync(jwks, JSON.stringify(buildJwks([ed])));
const saFile = join(dir, 'sa.json');
writeServiceAccountFile(saFile, createServiceAccount({ clientId: 'sa-flags' }));
const auditLog = join(dir, 'audit.log');
writeFileSync(auditLog, '');
const serials = join(dir, 'serials.txt');
writeFileSync(serials, 'SN-1\n');
const listFile = join(dir, 'list.jwt');
writeFileSync(listFile, 'eyJhbGciOiJFZERTQSJ9.e30.AA\n');
const dataDir = join(dir, 'data');
const consume = `sqlite:${join(dir, 'consumed.db')}`;
const token = 'eyJhbGciOiJFZERTQSJ9.e30.AA';
const freshOut = (() => {
  let n = 0;
  return () => join(dir, `out-${n++}`);
})();

const missing = join(dir, 'no-such-file');
const directory = join(dir, 'a-directory');
mkdirSync(directory);
const noDir = join(dir, 'no-such-dir', 'file');
const oversized = new Map<number, string>();
/** A sparse file one byte over `max`: refused from its size, never read. */
function bigFile(max: number): string {
  let f = oversized.get(max);
  if (f === undefined) {
    f = join(dir, `big-${max}`);
    writeFileSync(f, '');
    truncateSync(f, max + 1);
    oversized.set(max, f);
  }
  return f;
}

// Unreadable: mode 000. Root reads anything, so as root the runs that need it go as nobody (65534), with every
// other fixture handed to nobody (still mode 0600: the key files pass the permission check).
const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;
const unreadable = join(dir, 'unreadable');
writeFileSync(unreadable, '{}');
chmodSync(unreadable, 0o000);
if (ROOT) {
  chmodSync(dir, 0o755);
  for (const name of readdirSync(dir)) if (name !== 'unreadable') chownSync(join(dir, name), NOBODY, NOBODY);
  chownSync(dir, NOBODY, NOBODY);
}
const asNobody = ROOT ? { uid: NOBODY, gid: NOBODY } : {};
const NOBODY_CANNOT_RUN =
  ROOT &&
  spawnSync(process.execPath, ['dist/cli/main.js', '--version'], { cwd: root, ...asNobody }).status !== 0
    ? 'as root, needs a checkout that uid 65534 can read (to run the CLI as a user who cannot read a mode-000 file)'
    : false;

/** Runs the built bin; a run that has not ended after 60 s (a check that let `serve` start) is killed. */
function run(args: string[], ids: { uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['dist/cli/main.js', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OFFTOKEN_KEY_PASSPHRASE: '', OFFTOKEN_STORE_KEY: '' },
      ...ids,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

/** ERR_USAGE, exit 2, nothing on stdout, a message naming the flag and the file and no errno text. */
async function usage(args: string[], flag: string, file: string, ids = {}): Promise<void> {
  const r = await run(args, ids);
  rejected(r, 'ERR_USAGE', 2);
  const message = (JSON.parse(r.stderr.trim()) as { error: { message: string } }).error.message;
  assert.ok(message.includes(`${flag} ${file}`), `${args.join(' ')}: ${message}`);
  assert.doesNotMatch(message, /ENOENT|EISDIR|EACCES|open '|illegal operation/);
}

interface Input {
  /** command line with the file under test as `f`; every other argument is valid */
  args: (f: string) => string[];
  /** how the message names it: the flag, or a word for a positional */
  flag: string;
  /** the size bound, or null for a file read line by line without one (an audit log) */
  max: number | null;
}

const withConfig = (cmd: string[]) => (f: string) => [...cmd, '--config', f, '--data-dir', dataDir];

// Files a command reads.
const inputs: Record<string, Input> = {
  'audit verify FILE': { args: (f) => ['audit', 'verify', f], flag: 'audit log', max: null },
  'audit verify --jwks': {
    args: (f) => ['audit', 'verify', auditLog, '--jwks', f],
    flag: '--jwks',
    max: MiB,
  },
  'audit verify --key': {
    args: (f) => ['audit', 'verify', auditLog, '--key', f],
    flag: '--key',
    max: 64 * KiB,
  },
  'breakglass issue --key': {
    args: (f) => ['breakglass', 'issue', '--key', f, '--scope', 's', '--count', '1', '--out', freshOut()],
    flag: '--key',
    max: 64 * KiB,
  },
  'breakglass issue --audit-key': {
    args: (f) => [
      ...['breakglass', 'issue', '--key', aesKey, '--scope', 's', '--count', '1', '--out', freshOut()],
      ...['--audit', auditLog, '--audit-key', f],
    ],
    flag: '--audit-key',
    max: 64 * KiB,
  },
  'breakglass use --key': {
    args: (f) => ['breakglass', 'use', token, '--key', f, '--consume', consume, '--audit', auditLog],
    flag: '--key',
    max: 64 * KiB,
  },
  'breakglass use --audit-key': {
    args: (f) => [
      ...['breakglass', 'use', token, '--key', aesKey, '--consume', consume],
      ...['--audit', auditLog, '--audit-key', f],
    ],
    flag: '--audit-key',
    max: 64 * KiB,
  },
  'clients add --config': {
    args: withConfig(['clients', 'add', '--id', 'c', '--jwks', jwks]),
    flag: '--config',
    max: MiB,
  },
  'clients add --jwks': {
    args: (f) => ['clients', 'add', '--id', 'c', '--jwks', f, '--data-dir', dataDir],
    flag: '--jwks',
    max: MiB,
  },
  'clients add --service-account': {
    args: (f) => ['clients', 'add', '--service-account', f, '--data-dir', dataDir],
    flag: '--service-account',
    max: 64 * KiB,
  },
  'clients update --config': {
    args: withConfig(['clients', 'update', '--id', 'c', '--scope', 'a']),
    flag: '--config',
    max: MiB,
  },
  'clients list --config': { args: withConfig(['clients', 'list']), flag: '--config', max: MiB },
  'clients disable --config': {
    args: withConfig(['clients', 'disable', '--id', 'c']),
    flag: '--config',
    max: MiB,
  },
  'clients enable --config': {
    args: withConfig(['clients', 'enable', '--id', 'c']),
    flag: '--config',
    max: MiB,
  },
  'clients keys add --config': {
    args: withConfig(['clients', 'keys', 'add', '--id', 'c', '--jwks', jwks]),
    flag: '--config',
    max: MiB,
  },
  'clients keys add --jwks': {
    args: (f) => ['clients', 'keys', 'add', '--id', 'c', '--jwks', f, '--data-dir', dataDir],
    flag: '--jwks',
    max: MiB,
  },
  'clients keys add --service-account': {
    args: (f) => ['clients', 'keys', 'add', '--id', 'c', '--service-account', f, '--data-dir', dataDir],
    flag: '--service-account',
    max: 64 * KiB,
  },
  'clients keys remove --config': {
    args: withConfig(['clients', 'keys', 'remove', '--id', 'c', '--kid', 'k']),
    flag: '--config',
    max: MiB,
  },
  'clients assertion --key': {
    args: (f) => ['clients', 'assertion', '--key', f, '--aud', 'http://127.0.0.1/token'],
    flag: '--key',
    max: 64 * KiB,
  },
  'jwt sign --key': {
    args: (f) => ['jwt', 'sign', '--key', f, '--claims', '{}'],
    flag: '--key',
    max: 64 * KiB,
  },
  'jwt verify --jwks': {
    args: (f) => ['jwt', 'verify', token, '--jwks', f, '--alg', 'EdDSA'],
    flag: '--jwks',
    max: MiB,
  },
  'jwt verify --key': {
    args: (f) => ['jwt', 'verify', token, '--key', f, '--alg', 'EdDSA'],
    flag: '--key',
    max: 64 * KiB,
  },
  'keys jwks FILE': { args: (f) => ['keys', 'jwks', keyFile, f], flag: 'key file', max: 64 * KiB },
  'keys thumbprint FILE': { args: (f) => ['keys', 'thumbprint', f], flag: 'key file', max: 64 * KiB },
  'keys rotate --config': { args: withConfig(['keys', 'rotate']), flag: '--config', max: MiB },
  'provision batch --key': {
    args: (f) => ['provision', 'batch', '--key', f, '--serials', serials, '--out', freshOut()],
    flag: '--key',
    max: 64 * KiB,
  },
  'provision batch --serials': {
    args: (f) => ['provision', 'batch', '--key', keyFile, '--serials', f, '--out', freshOut()],
    flag: '--serials',
    max: 64 * MiB,
  },
  'provision batch --audit-key': {
    args: (f) => [
      ...['provision', 'batch', '--key', keyFile, '--serials', serials, '--out', freshOut()],
      ...['--audit', auditLog, '--audit-key', f],
    ],
    flag: '--audit-key',
    max: 64 * KiB,
  },
  'provision check --key': {
    args: (f) => ['provision', 'check', token, '--key', f, '--consume', consume],
    flag: '--key',
    max: 64 * KiB,
  },
  'provision check --jwks': {
    args: (f) => ['provision', 'check', token, '--jwks', f, '--consume', consume],
    flag: '--jwks',
    max: MiB,
  },
  'provision check --audit-key': {
    args: (f) => [
      ...['provision', 'check', token, '--key', keyFile, '--consume', consume],
      ...['--audit', auditLog, '--audit-key', f],
    ],
    flag: '--audit-key',
    max: 64 * KiB,
  },
  'serve --config': { args: (f) => ['serve', '--config', f, '--port', '0'], flag: '--config', max: MiB },
  'start --config': { args: (f) => ['start', '--config', f, '--port', '0'], flag: '--config', max: MiB },
  'service-account token --key': {
    args: (f) => ['service-account', 'token', '--key', f, '--aud', 'x'],
    flag: '--key',
    max: 64 * KiB,
  },
  'service-account jwks --key': {
    args: (f) => ['service-account', 'jwks', '--key', f],
    flag: '--key',
    max: 64 * KiB,
  },
  'status check --list': {
    args: (f) => ['status', 'check', token, '--list', f, '--jwks', jwks],
    flag: '--list',
    max: 8 * MiB,
  },
  'status check --jwks': {
    args: (f) => ['status', 'check', token, '--list', listFile, '--jwks', f],
    flag: '--jwks',
    max: MiB,
  },
  'token generate --key': { args: (f) => ['token', 'generate', '--key', f], flag: '--key', max: 64 * KiB },
  'token generate --audit-key': {
    args: (f) => ['token', 'generate', '--key', keyFile, '--audit', auditLog, '--audit-key', f],
    flag: '--audit-key',
    max: 64 * KiB,
  },
  'token read --key': { args: (f) => ['token', 'read', token, '--key', f], flag: '--key', max: 64 * KiB },
  'token read --jwks': { args: (f) => ['token', 'read', token, '--jwks', f], flag: '--jwks', max: MiB },
  'token read --audit-key': {
    args: (f) => ['token', 'read', token, '--key', keyFile, '--audit', auditLog, '--audit-key', f],
    flag: '--audit-key',
    max: 64 * KiB,
  },
};

// Files a command writes: refused before any key is generated, token minted or secret enrolled.
const outputs: Record<string, { args: (f: string) => string[]; flag: string }> = {
  'breakglass issue --out': {
    args: (f) => ['breakglass', 'issue', '--key', aesKey, '--scope', 's', '--count', '1', '--out', f],
    flag: '--out',
  },
  'breakglass issue --audit': {
    args: (f) => [
      ...['breakglass', 'issue', '--key', aesKey, '--scope', 's', '--count', '1', '--out', freshOut()],
      ...['--audit', f],
    ],
    flag: '--audit',
  },
  'breakglass use --audit': {
    args: (f) => ['breakglass', 'use', token, '--key', aesKey, '--consume', consume, '--audit', f],
    flag: '--audit',
  },
  'clients add --generate': {
    args: (f) => ['clients', 'add', '--id', 'gen', '--generate', f, '--data-dir', dataDir],
    flag: '--generate',
  },
  'keys generate --out': { args: (f) => ['keys', 'generate', '--alg', 'EdDSA', '--out', f], flag: '--out' },
  'otp uri --qr-png': {
    args: (f) => ['otp', 'uri', '--issuer', 'i', '--account', 'a', '--qr-png', f],
    flag: '--qr-png',
  },
  'otp uri --qr-svg': {
    args: (f) => ['otp', 'uri', '--issuer', 'i', '--account', 'a', '--qr-svg', f],
    flag: '--qr-svg',
  },
  'otp enroll --qr-png': {
    args: (f) => ['otp', 'enroll', '--store', `sqlite:${join(dir, 'otp.db')}`, '--id', 'u', '--qr-png', f],
    flag: '--qr-png',
  },
  'otp enroll --qr-svg': {
    args: (f) => ['otp', 'enroll', '--store', `sqlite:${join(dir, 'otp.db')}`, '--id', 'u', '--qr-svg', f],
    flag: '--qr-svg',
  },
  'provision batch --out': {
    args: (f) => ['provision', 'batch', '--key', keyFile, '--serials', serials, '--out', f],
    flag: '--out',
  },
  'provision batch --audit': {
    args: (f) => [
      'provision',
      'batch',
      '--key',
      keyFile,
      '--serials',
      serials,
      '--out',
      freshOut(),
      '--audit',
      f,
    ],
    flag: '--audit',
  },
  'provision check --audit': {
    args: (f) => ['provision', 'check', token, '--key', keyFile, '--consume', consume, '--audit', f],
    flag: '--audit',
  },
  'service-account create --out': { args: (f) => ['service-account', 'create', '--out', f], flag: '--out' },
  'token generate --audit': {
    args: (f) => ['token', 'generate', '--key', keyFile, '--audit', f],
    flag: '--audit',
  },
  'token read --audit': {
    args: (f) => ['token', 'read', token, '--key', keyFile, '--audit', f],
    flag: '--audit',
  },
};

// --data-dir names a directory (created by the authority when missing): a regular file there is ERR_USAGE.
const dataDirs: Record<string, (d: string) => string[]> = {
  'clients add': (d) => ['clients', 'add', '--id', 'c', '--jwks', jwks, '--data-dir', d],
  'clients update': (d) => ['clients', 'update', '--id', 'c', '--scope', 'a', '--data-dir', d],
  'clients list': (d) => ['clients', 'list', '--data-dir', d],
  'clients disable': (d) => ['clients', 'disable', '--id', 'c', '--data-dir', d],
  'clients enable': (d) => ['clients', 'enable', '--id', 'c', '--data-dir', d],
  'clients keys add': (d) => ['clients', 'keys', 'add', '--id', 'c', '--jwks', jwks, '--data-dir', d],
  'clients keys remove': (d) => ['clients', 'keys', 'remove', '--id', 'c', '--kid', 'k', '--data-dir', d],
  'keys rotate': (d) => ['keys', 'rotate', '--data-dir', d],
  serve: (d) => ['serve', '--port', '0', '--data-dir', d],
  start: (d) => ['start', '--port', '0', '--data-dir', d],
  'status check': (d) => ['status', 'check', token, '--list', listFile, '--data-dir', d],
};

describe('every flag that names a file: a wrong path is ERR_USAGE naming the flag and the path', {
  concurrency: 4,
}, () => {
  for (const [name, c] of Object.entries(inputs)) {
    it(`${name}: a missing file`, () => usage(c.args(missing), c.flag, missing));
    it(`${name}: a directory instead of a file`, () => usage(c.args(directory), c.flag, directory));
    if (c.max !== null) {
      const max = c.max;
      it(`${name}: a file over ${max} bytes`, () => usage(c.args(bigFile(max)), c.flag, bigFile(max)));
    }
    it(`${name}: a file that cannot be read (mode 000)`, { skip: NOBODY_CANNOT_RUN }, () =>
      usage(c.args(unreadable), c.flag, unreadable, asNobody),
    );
  }
  for (const [name, args] of Object.entries(dataDirs))
    it(`${name} --data-dir: a regular file instead of a directory`, () =>
      usage(args(serials), '--data-dir', serials));
  for (const [name, c] of Object.entries(outputs)) {
    it(`${name}: a path in a missing directory`, () => usage(c.args(noDir), c.flag, noDir));
    it(`${name}: a directory instead of a file`, () => usage(c.args(directory), c.flag, directory));
  }
});

describe('the output checks refuse before doing anything', () => {
  it('breakglass issue / provision batch: a bad --audit-key leaves no empty --out behind', async () => {
    for (const args of [
      ['breakglass', 'issue', '--key', aesKey, '--scope', 's', '--count', '1'],
      ['provision', 'batch', '--key', keyFile, '--serials', serials],
    ]) {
      const out = freshOut();
      const r = await run([...args, '--out', out, '--audit', join(dir, 'a2.log'), '--audit-key', missing]);
      rejected(r, 'ERR_USAGE', 2);
      assert.equal(existsSync(out), false, `${args[0]}: ${out} was created`);
    }
  });

  it('otp uri --qr-png into a directory prints no URI (no secret shown for a QR that is never written)', async () => {
    const r = await run(['otp', 'uri', '--issuer', 'i', '--account', 'a', '--qr-png', directory]);
    rejected(r, 'ERR_USAGE', 2);
    assert.doesNotMatch(r.stdout, /otpauth:/);
  });

  it('breakglass issue --out onto an existing file says it is never overwritten', async () => {
    const r = await run([
      'breakglass',
      'issue',
      '--key',
      aesKey,
      '--scope',
      's',
      '--count',
      '1',
      '--out',
      serials,
    ]);
    rejected(r, 'ERR_USAGE', 2);
    assert.match(r.stderr, /--out \S+serials\.txt: exists; it is never overwritten/);
  });
});
