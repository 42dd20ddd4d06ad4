import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { signCompact } from '../../src/status-list/jws.js';
import { StatusList } from '../../src/status-list/list.js';
import { createStatusListToken } from '../../src/status-list/token.js';
import { cli, ok, rejected, tempDir } from './helpers.js';

const dir = tempDir();
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const jwksFile = join(dir, 'jwks.json');
writeFileSync(
  jwksFile,
  JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'EdDSA' }] }),
);
const uri = 'https://issuer.example/status-lists/1';
const iss = 'https://issuer.example';
const now = 1_700_000_000;

function listFile(name: string, opts: { iat: number; exp?: number; ttl?: number }): string {
  const f = join(dir, name);
  writeFileSync(
    f,
    createStatusListToken(new StatusList(1, 64), { uri, key: privateKey, kid: 'k1', ...opts }),
  );
  return f;
}
const fresh = listFile('fresh.jwt', { iat: now - 10, ttl: 300 });
const stale = listFile('stale.jwt', { iat: now - 3600, ttl: 300 });
const expired = listFile('expired.jwt', { iat: now - 7200, exp: now - 3600, ttl: 300 });

function token(claims: Record<string, unknown>, typ = 'at+jwt'): string {
  return signCompact(
    { kid: 'k1', typ },
    { iss, sub: 'x', iat: now - 60, exp: now + 240, ...claims, status: { status_list: { idx: 1, uri } } },
    privateKey,
  );
}

const check = (t: string, list: string, extra: string[] = []) =>
  cli(['status', 'check', t, '--list', list, '--jwks', jwksFile, '--now', String(now), ...extra]);

describe('offtoken status check: token claims and list staleness', () => {
  it('says valid for a live token with a fresh list', () => {
    assert.equal(JSON.parse(ok(check(token({}), fresh, ['--json', '--iss', iss]))).valid, true);
  });
  it('an access token that expired an hour ago is ERR_JWT_EXPIRED, exit 1', () => {
    rejected(check(token({ iat: now - 3900, exp: now - 3600 }), fresh), 'ERR_JWT_EXPIRED');
  });
  it('a token whose nbf is in the future is ERR_JWT_CLAIM_INVALID', () => {
    rejected(check(token({ nbf: now + 120 }), fresh), 'ERR_JWT_CLAIM_INVALID');
  });
  it('--clock-tolerance lets a token that expired 30 s ago pass, and not one that expired 90 s ago', () => {
    ok(check(token({ exp: now - 30 }), fresh, ['--clock-tolerance', '60']));
    rejected(check(token({ exp: now - 90 }), fresh, ['--clock-tolerance', '60']), 'ERR_JWT_EXPIRED');
  });
  it('--now decides the time: the same token is expired an hour later', () => {
    rejected(
      cli(['status', 'check', token({}), '--list', fresh, '--jwks', jwksFile, '--now', String(now + 3600)]),
      'ERR_JWT_EXPIRED',
    );
  });
  it('a token whose typ is not at+jwt is ERR_JWT_CLAIM_INVALID unless --typ names it', () => {
    rejected(check(token({}, 'JWT'), fresh), 'ERR_JWT_CLAIM_INVALID');
    ok(check(token({}, 'JWT'), fresh, ['--typ', 'JWT']));
  });
  it('--iss: a token from another issuer is ERR_JWT_CLAIM_INVALID', () => {
    rejected(check(token({}), fresh, ['--iss', 'https://other.example']), 'ERR_JWT_CLAIM_INVALID');
  });
  it('a list without exp older than its ttl is ERR_STATUS_LIST_STALE; --allow-stale accepts it', () => {
    rejected(check(token({}), stale), 'ERR_STATUS_LIST_STALE');
    ok(check(token({}), stale, ['--allow-stale']));
  });
  it('a list whose exp has passed is ERR_STATUS_LIST_INVALID, even with --allow-stale', () => {
    rejected(check(token({}), expired), 'ERR_STATUS_LIST_INVALID');
    rejected(check(token({}), expired, ['--allow-stale']), 'ERR_STATUS_LIST_INVALID');
  });
  it('bad --clock-tolerance, --now or --typ values are ERR_USAGE', () => {
    rejected(check(token({}), fresh, ['--clock-tolerance', '-1']), 'ERR_USAGE', 2);
    rejected(check(token({}), fresh, ['--now', 'yesterday']), 'ERR_USAGE', 2);
    rejected(check(token({}), fresh, ['--typ', '']), 'ERR_USAGE', 2);
  });
});
