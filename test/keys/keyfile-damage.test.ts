import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  encryptWithPassphrase,
  exportJwk,
  generateKey,
  readKeyFileSync,
  writeKeyFileSync,
} from '../../src/keys/index.js';
import type { Jwk, KeyAlg } from '../../src/keys/types.js';
import { AuthorityKeyring } from '../../src/server/keyring.js';
import { readServiceAccountFile } from '../../src/service-account/file.js';
import { cli, rejected, tempDir } from '../cli/helpers.js';
import { throwsCode } from '../offline/helpers.js';

const dir = tempDir();
let n = 0;

/** Bit rot: one bit flipped in the middle of a base64url member. */
function flipBit(member: string, bit = 2): string {
  const b = Buffer.from(member, 'base64url');
  b[b.length >> 1]! ^= 1 << bit;
  return b.toString('base64url');
}

/** A key file whose private JWK has `member` damaged, plain or passphrase-encrypted. */
function damagedFile(alg: KeyAlg, member: string, passphrase?: string): string {
  const key = generateKey(alg);
  const jwk = exportJwk(key, { private: true });
  const bad = { ...jwk, [member]: flipBit(jwk[member] as string) };
  const path = join(dir, `damaged-${n++}.key`);
  const doc =
    passphrase === undefined
      ? { v: 1, type: 'offtoken-key', kid: key.kid, alg, jwk: bad }
      : {
          v: 1,
          type: 'offtoken-key',
          kid: key.kid,
          alg,
          encrypted: encryptWithPassphrase(Buffer.from(JSON.stringify(bad)), passphrase),
        };
  writeFileSync(path, JSON.stringify(doc), { mode: 0o600 });
  return path;
}

const cases: Array<[KeyAlg, string]> = [
  ['EdDSA', 'd'],
  ['ES256', 'd'],
  ['RS256', 'd'],
  ['RS256', 'p'],
  ['RS256', 'q'],
  ['RS256', 'dp'],
  ['RS256', 'qi'],
];

describe('damaged key files', () => {
  for (const [alg, member] of cases) {
    it(`rejects a plain ${alg} key file with one bit of ${member} flipped -> ERR_KEYFILE_INVALID`, () => {
      throwsCode(() => readKeyFileSync(damagedFile(alg, member)), 'ERR_KEYFILE_INVALID');
    });
  }

  for (const alg of ['EdDSA', 'ES256', 'RS256'] as const) {
    it(`rejects a passphrase-encrypted ${alg} key file with one bit of d flipped -> ERR_KEYFILE_INVALID`, () => {
      const path = damagedFile(alg, 'd', 'correct horse');
      throwsCode(() => readKeyFileSync(path, { passphrase: 'correct horse' }), 'ERR_KEYFILE_INVALID');
    });

    it(`loads an undamaged ${alg} key file, plain and encrypted`, () => {
      const key = generateKey(alg);
      const plain = join(dir, `whole-${n++}.key`);
      const sealed = join(dir, `whole-${n++}.key`);
      writeKeyFileSync(plain, key);
      writeKeyFileSync(sealed, key, { passphrase: 'pw' });
      assert.equal(readKeyFileSync(plain).kid, key.kid);
      assert.equal(readKeyFileSync(sealed, { passphrase: 'pw' }).kid, key.kid);
    });
  }

  it('offtoken keys jwks refuses a damaged key file instead of publishing its stale public key', () => {
    rejected(cli(['keys', 'jwks', damagedFile('ES256', 'd')]), 'ERR_KEYFILE_INVALID');
  });

  it('rejects a service-account file whose PKCS#8 private key does not derive its public point', () => {
    // one bit of the private scalar flipped inside the DER (bytes 36-67 of a P-256 PKCS#8), the embedded public
    // point left as it was: newer OpenSSL loads such a DER but refuses the same damage in a JWK at import
    const der = generateKey('ES256').privateKey!.export({ format: 'der', type: 'pkcs8' });
    der[40]! ^= 0x01;
    const pem = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const path = join(dir, `sa-${n++}.json`);
    writeFileSync(path, JSON.stringify({ type: 'service_account', client_id: 'svc-1', private_key: pem }), {
      mode: 0o600,
    });
    throwsCode(() => readServiceAccountFile(path), 'ERR_KEYFILE_INVALID');
  });

  it('rejects an authority keyring holding a damaged key -> ERR_KEYFILE_INVALID', () => {
    const file = join(tempDir(), 'keyring.json');
    AuthorityKeyring.openOrCreate(file, 'ES256', 1_800_000_000);
    const ring = JSON.parse(readFileSync(file, 'utf8')) as { keys: { jwk: Jwk }[] };
    ring.keys[0]!.jwk.d = flipBit(ring.keys[0]!.jwk.d as string);
    writeFileSync(file, JSON.stringify(ring), { mode: 0o600 });
    throwsCode(() => AuthorityKeyring.openExisting(file), 'ERR_KEYFILE_INVALID');
  });
});
