import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateKey, writeKeyFileSync } from '../../src/keys/index.js';
import { cli, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const signed = join(dir, 'signed.key');
const sealed = join(dir, 'sealed.key');
writeKeyFileSync(signed, generateKey('EdDSA'));
writeKeyFileSync(sealed, generateKey('A256GCM'));
const token = 'eyJhbGciOiJFZERTQSJ9.e30.AA';

/** ERR_USAGE, exit 2, and a message that names the stores that do outlive the run. */
function refusesMemory(args: string[]): void {
  const r = cli(args);
  rejected(r, 'ERR_USAGE', 2);
  const message = (JSON.parse(r.stderr.trim()) as { error: { message: string } }).error.message;
  assert.match(message, /sqlite:PATH/);
  assert.match(message, /redis:\/\//);
}

describe('CLI stores that must outlive the process refuse memory:', () => {
  it('token read --consume memory:', () => {
    refusesMemory(['token', 'read', token, '--key', signed, '--consume', 'memory:']);
  });
  it('provision check --consume memory:', () => {
    refusesMemory(['provision', 'check', token, '--key', signed, '--consume', 'memory:']);
  });
  it('breakglass use --consume memory:', () => {
    refusesMemory([
      'breakglass',
      'use',
      token,
      '--key',
      sealed,
      '--consume',
      'memory:',
      '--audit',
      join(dir, 'a.log'),
    ]);
  });
  it('otp enroll --store memory: and otp verify --store memory:', () => {
    const env = { OFFTOKEN_STORE_KEY: Buffer.alloc(32, 7).toString('base64url') };
    for (const args of [
      ['otp', 'enroll', '--store', 'memory:', '--id', 'alice'],
      ['otp', 'verify', '123456', '--store', 'memory:', '--id', 'alice'],
    ]) {
      const r = cli(args, { env });
      rejected(r, 'ERR_USAGE', 2);
      assert.match(r.stderr, /sqlite:PATH.*redis:\/\//);
    }
  });
  it('a token consumed through sqlite: is refused on the next run (the store outlives the process)', () => {
    const db = `sqlite:${join(dir, 'replay.db')}`;
    const t = cli(['token', 'generate', '--key', signed, '--claims', '{"sub":"d"}']).stdout.trim();
    assert.equal(cli(['token', 'read', t, '--key', signed, '--consume', db]).code, 0);
    rejected(cli(['token', 'read', t, '--key', signed, '--consume', db]), 'ERR_OFFLINE_TOKEN_REPLAYED');
  });
});
