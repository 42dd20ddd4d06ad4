import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateKey, writeKeyFileSync } from '../../src/keys/index.js';
import { cli, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const missing = join(dir, 'no-such-file.json');
const directory = join(dir, 'a-directory');
mkdirSync(directory);
/** A sparse file one byte over `max`: refused from its size, never read. */
function oversized(name: string, max: number): string {
  const f = join(dir, name);
  writeFileSync(f, '');
  truncateSync(f, max + 1);
  return f;
}
const MiB = 1024 * 1024;
const bigJwks = oversized('big-jwks.json', MiB);
const keyFile = join(dir, 'signed.key');
writeKeyFileSync(keyFile, generateKey('EdDSA'));
// a real JWKS, for the cases about another flag (a key file given as --jwks is refused as such first)
const jwksFile = join(dir, 'issuer.jwks');
writeFileSync(
  jwksFile,
  JSON.stringify({
    keys: [{ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo', kid: 'k1' }],
  }),
);
const auditLog = join(dir, 'audit.log');
writeFileSync(auditLog, '');
const token = 'eyJhbGciOiJFZERTQSJ9.e30.AA';

/** Asserts ERR_USAGE, exit 2, with a message naming the flag and the file. */
function usage(args: string[], flag: string, file: string): void {
  const r = cli(args);
  rejected(r, 'ERR_USAGE', 2);
  const message = (JSON.parse(r.stderr.trim()) as { error: { message: string } }).error.message;
  assert.ok(message.includes(flag), message);
  assert.ok(message.includes(file), message);
  assert.doesNotMatch(message, /ENOENT|EISDIR|open '/);
}

// Each command with the file in question substituted; every other argument is valid.
const cases: { name: string; flag: string; args: (f: string) => string[]; max?: number }[] = [
  { name: 'token read --jwks', flag: '--jwks', args: (f) => ['token', 'read', token, '--jwks', f] },
  {
    name: 'provision check --jwks',
    flag: '--jwks',
    args: (f) => ['provision', 'check', token, '--jwks', f, '--consume', `sqlite:${join(dir, 'c.db')}`],
  },
  { name: 'audit verify --jwks', flag: '--jwks', args: (f) => ['audit', 'verify', auditLog, '--jwks', f] },
  {
    name: 'jwt verify --jwks',
    flag: '--jwks',
    args: (f) => ['jwt', 'verify', token, '--jwks', f, '--alg', 'EdDSA'],
  },
  {
    name: 'status check --jwks',
    flag: '--jwks',
    args: (f) => ['status', 'check', token, '--list', keyFile, '--jwks', f],
  },
  {
    name: 'status check --list',
    flag: '--list',
    args: (f) => ['status', 'check', token, '--list', f, '--jwks', jwksFile],
    max: 8 * MiB,
  },
  {
    name: 'provision batch --serials',
    flag: '--serials',
    args: (f) => ['provision', 'batch', '--key', keyFile, '--serials', f, '--out', join(dir, 'out.jsonl')],
    max: 64 * MiB,
  },
];

describe('CLI files: missing, unreadable, oversized or a directory is ERR_USAGE naming the flag', () => {
  for (const c of cases) {
    it(`${c.name}: a missing file`, () => usage(c.args(missing), c.flag, missing));
    it(`${c.name}: a directory instead of a file`, () => usage(c.args(directory), c.flag, directory));
    it(`${c.name}: a file over the bound`, () => {
      const f = c.max === undefined ? bigJwks : oversized(`big-${c.flag.slice(2)}`, c.max);
      usage(c.args(f), c.flag, f);
    });
  }

  it('token read --key / --audit-key: a missing key file names its flag', () => {
    usage(['token', 'read', token, '--key', missing], '--key', missing);
    usage(
      ['token', 'generate', '--key', keyFile, '--audit', auditLog, '--audit-key', missing],
      '--audit-key',
      missing,
    );
  });

  it('jwt sign --key, keys thumbprint FILE: a missing key file is ERR_USAGE', () => {
    usage(['jwt', 'sign', '--key', missing, '--claims', '{}'], '--key', missing);
    usage(['keys', 'thumbprint', directory], 'key file', directory);
  });

  it('--config (clients list, keys rotate, serve): missing, a directory or over 1 MiB is ERR_USAGE', () => {
    const dataDir = join(dir, 'data');
    for (const f of [missing, directory, bigJwks]) {
      usage(['clients', 'list', '--config', f, '--data-dir', dataDir], '--config', f);
      usage(['keys', 'rotate', '--config', f, '--data-dir', dataDir], '--config', f);
      usage(['serve', '--config', f, '--port', '0'], '--config', f);
    }
  });

  it('service-account token / jwks --key: a missing file is ERR_USAGE naming the flag', () => {
    usage(['service-account', 'token', '--key', missing, '--aud', 'x'], '--key', missing);
    usage(['service-account', 'jwks', '--key', missing], '--key', missing);
  });

  it('audit verify: a missing log is ERR_USAGE naming the file', () => {
    usage(['audit', 'verify', missing], 'audit log', missing);
  });

  it('reads a --jwks given as a pipe (process substitution) up to its bound, and no further', () => {
    const fifo = join(dir, 'jwks.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    // the writer blocks on open until the CLI opens the FIFO for reading
    const small = spawn('sh', ['-c', `printf '{"keys":[]}' > ${fifo}`], { stdio: 'ignore' });
    const r = cli(['jwt', 'verify', token, '--jwks', fifo, '--alg', 'EdDSA']);
    small.kill();
    assert.equal(r.code, 1, r.stderr);
    assert.notEqual(JSON.parse(r.stderr.trim()).error.code, 'ERR_USAGE');
    const endless = spawn('sh', ['-c', `cat /dev/zero > ${fifo}`], { stdio: 'ignore' });
    const big = cli(['jwt', 'verify', token, '--jwks', fifo, '--alg', 'EdDSA']);
    endless.kill();
    rejected(big, 'ERR_USAGE', 2);
    assert.match(big.stderr, /exceeds 1048576 bytes/);
  });
});
