import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cli, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const dataDir = join(dir, 'data');

/** A service-account file from `service-account create`, with the mode set afterwards. */
function account(name: string, id: string, mode: number): string {
  const f = join(dir, name);
  ok(cli(['service-account', 'create', '--out', f, '--client-id', id]));
  chmodSync(f, mode);
  return f;
}

function message(stderr: string): string {
  return (JSON.parse(stderr.trim().split('\n').pop()!) as { error: { message: string } }).error.message;
}

describe('clients: service-account files hold a private key and are read under the key-file rule', () => {
  it('clients add --service-account refuses a mode-0644 file with ERR_KEYFILE_PERMISSIONS, naming --jwks', () => {
    const f = account('sa-644.json', 'svc-644', 0o644);
    const r = cli(['clients', 'add', '--service-account', f, '--data-dir', dataDir]);
    rejected(r, 'ERR_KEYFILE_PERMISSIONS');
    assert.match(message(r.stderr), /--service-account .* --force.*only the public key.*--jwks/);
    // nothing was registered
    assert.doesNotMatch(ok(cli(['clients', 'list', '--data-dir', dataDir, '--json'])), /svc-644/);
  });

  it('clients add --service-account --force reads it anyway; a 0600 file needs no --force', () => {
    const f = account('sa-644-forced.json', 'svc-forced', 0o644);
    ok(cli(['clients', 'add', '--service-account', f, '--force', '--data-dir', dataDir]));
    const g = account('sa-600.json', 'svc-600', 0o600);
    ok(cli(['clients', 'add', '--service-account', g, '--data-dir', dataDir]));
  });

  it('clients keys add --service-account refuses a mode-0644 file unless --force', () => {
    const id = 'svc-rot';
    ok(cli(['clients', 'add', '--service-account', account('rot-1.json', id, 0o600), '--data-dir', dataDir]));
    const next = account('rot-2.json', id, 0o640);
    rejected(
      cli(['clients', 'keys', 'add', '--id', id, '--service-account', next, '--data-dir', dataDir]),
      'ERR_KEYFILE_PERMISSIONS',
    );
    ok(
      cli([
        'clients',
        'keys',
        'add',
        '--id',
        id,
        '--service-account',
        next,
        '--force',
        '--data-dir',
        dataDir,
      ]),
    );
  });

  it('clients assertion --key refuses a mode-0644 service-account file unless --force', () => {
    const f = account('sa-assert.json', 'svc-assert', 0o644);
    const aud = 'http://127.0.0.1:8787/token';
    rejected(cli(['clients', 'assertion', '--key', f, '--aud', aud]), 'ERR_KEYFILE_PERMISSIONS');
    assert.equal(ok(cli(['clients', 'assertion', '--key', f, '--aud', aud, '--force'])).split('.').length, 3);
  });

  it('the public key alone is enough: a 0644 public JWKS (--jwks) or a file with only public_key is accepted', () => {
    const f = account('sa-pub-src.json', 'svc-pub', 0o600);
    const jwks = join(dir, 'svc-pub.jwks.json');
    writeFileSync(jwks, ok(cli(['service-account', 'jwks', '--key', f])), { mode: 0o644 });
    chmodSync(jwks, 0o644);
    const added = JSON.parse(
      ok(cli(['clients', 'add', '--id', 'svc-pub', '--jwks', jwks, '--data-dir', dataDir, '--json'])),
    );
    assert.equal(added.client_id, 'svc-pub');
    const sa = JSON.parse(readFileSync(f, 'utf8')) as { private_key: string; private_key_id: string };
    const publicOnly = join(dir, 'sa-public-only.json');
    writeFileSync(
      publicOnly,
      JSON.stringify({
        client_id: 'svc-pub-only',
        private_key_id: sa.private_key_id,
        public_key: createPublicKey(createPrivateKey(sa.private_key)).export({ format: 'pem', type: 'spki' }),
      }),
    );
    chmodSync(publicOnly, 0o644);
    ok(cli(['clients', 'add', '--service-account', publicOnly, '--data-dir', dataDir]));
  });

  it('an unparsable 0644 --service-account file is refused for its permissions before anything else', () => {
    const f = join(dir, 'garbage.json');
    writeFileSync(f, '{"private_key": "-----BEGIN');
    chmodSync(f, 0o644);
    rejected(
      cli(['clients', 'add', '--service-account', f, '--data-dir', dataDir]),
      'ERR_KEYFILE_PERMISSIONS',
    );
  });

  it('a missing --service-account file is ERR_USAGE naming the flag', () => {
    const f = join(dir, 'missing.json');
    const r = cli(['clients', 'add', '--service-account', f, '--data-dir', dataDir]);
    rejected(r, 'ERR_USAGE', 2);
    assert.match(message(r.stderr), /--service-account .*missing\.json: no such file/);
  });
});
