import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deflateSync } from 'node:zlib';
import {
  checkStatusListFresh,
  checkStatusOffline,
  createStatusListToken,
  StatusList,
  verifyStatusListToken,
} from '../../src/status-list/index.js';
import { signCompact } from '../../src/status-list/jws.js';
import { statusListFreshUntil } from '../../src/status-list/token.js';

interface Vector {
  name: string;
  bits: 1 | 2;
  statuses: number[];
  bytes_hex: string;
  lst: string;
}
const file = JSON.parse(
  readFileSync(new URL('./vectors/draft-status-list.json', import.meta.url), 'utf8'),
) as { vectors: Vector[] };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('status list draft vectors', () => {
  for (const v of file.vectors) {
    it(`${v.name}: decodes lst to the listed statuses`, () => {
      const list = StatusList.decode({ bits: v.bits, lst: v.lst });
      assert.equal(Buffer.from(list.bytes).toString('hex'), v.bytes_hex);
      for (const [i, s] of v.statuses.entries()) assert.equal(list.get(i), s, `index ${i}`);
    });
    it(`${v.name}: setting the statuses yields the draft's bytes and round-trips`, () => {
      const list = new StatusList(v.bits, v.statuses.length);
      for (const [i, s] of v.statuses.entries()) list.set(i, s);
      assert.equal(Buffer.from(list.bytes).toString('hex'), v.bytes_hex);
      const back = StatusList.decode(list.encode());
      assert.deepEqual(Buffer.from(back.bytes), Buffer.from(list.bytes));
    });
  }
});

describe('status list limits', () => {
  it('rejects a decompression bomb beyond maxBytes', () => {
    const bomb = deflateSync(Buffer.alloc(4 * 1024 * 1024));
    const lst = bomb.toString('base64url');
    assert.equal(
      code(() => StatusList.decode({ bits: 1, lst }, { maxBytes: 1024 * 1024 })),
      'ERR_STATUS_LIST_INVALID',
    );
  });
  it('rejects bits other than 1, 2, 4, 8', () => {
    assert.equal(
      code(() => StatusList.decode({ bits: 3, lst: 'eNrbuRgAAhcBXQ' })),
      'ERR_STATUS_LIST_INVALID',
    );
  });
  it('rejects lst that is not zlib', () => {
    assert.equal(
      code(() => StatusList.decode({ bits: 1, lst: 'AAAA' })),
      'ERR_STATUS_LIST_INVALID',
    );
  });
  it('rejects lst that is not base64url', () => {
    assert.equal(
      code(() => StatusList.decode({ bits: 1, lst: 'a+b/' })),
      'ERR_STATUS_LIST_INVALID',
    );
  });
  it('rejects an index outside the list', () => {
    const list = new StatusList(1, 8);
    assert.equal(
      code(() => list.get(8)),
      'ERR_STATUS_LIST_MISMATCH',
    );
  });
});

describe('status list token and offline check', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'EdDSA' };
  const jwks = { keys: [jwk] };
  const uri = 'https://issuer.example/status-lists/1';
  const now = 1_700_000_000;
  const list = new StatusList(1, 1024);
  list.set(3, 1);
  const listToken = createStatusListToken(list, {
    uri,
    key: privateKey,
    kid: 'k1',
    iat: now,
    exp: now + 600,
    ttl: 300,
  });
  const token = (idx: number, u = uri) =>
    signCompact(
      { kid: 'k1', typ: 'at+jwt' },
      { sub: 'x', status: { status_list: { idx, uri: u } } },
      privateKey,
    );
  const clock = () => now + 1;

  it('verifies the list token and exposes the statuses', () => {
    const v = verifyStatusListToken(listToken, { key: jwks, uri, clock });
    assert.equal(v.list.get(3), 1);
    assert.equal(v.list.get(4), 0);
    assert.equal(v.ttl, 300);
  });
  it('says valid for an unrevoked index', () => {
    assert.deepEqual(checkStatusOffline(token(4), listToken, { key: jwks, clock }), {
      status: 0,
      idx: 4,
      uri,
    });
  });
  it('rejects a revoked index with ERR_TOKEN_REVOKED', () => {
    assert.equal(
      code(() => checkStatusOffline(token(3), listToken, { key: jwks, clock })),
      'ERR_TOKEN_REVOKED',
    );
  });
  it('rejects a suspended index with ERR_TOKEN_SUSPENDED', () => {
    const l2 = new StatusList(2, 16);
    l2.set(5, 2);
    const lt = createStatusListToken(l2, { uri, key: privateKey, kid: 'k1', iat: now });
    assert.equal(
      code(() => checkStatusOffline(token(5), lt, { key: jwks, clock })),
      'ERR_TOKEN_SUSPENDED',
    );
  });
  it('rejects a list for another uri', () => {
    assert.equal(
      code(() => checkStatusOffline(token(4, 'https://other/x'), listToken, { key: jwks, clock })),
      'ERR_STATUS_LIST_MISMATCH',
    );
  });
  it('rejects an expired list', () => {
    assert.equal(
      code(() => checkStatusOffline(token(4), listToken, { key: jwks, clock: () => now + 600 })),
      'ERR_STATUS_LIST_INVALID',
    );
  });
  it('rejects a list signed by another key', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = createStatusListToken(new StatusList(1, 1024), { uri, key: other, kid: 'k1', iat: now });
    assert.equal(
      code(() => checkStatusOffline(token(3), forged, { key: jwks, clock })),
      'ERR_AUTHORITY_SIGNATURE_INVALID',
    );
  });
  it('rejects a token whose typ is not statuslist+jwt as a list', () => {
    assert.equal(
      code(() => verifyStatusListToken(token(1), { key: jwks, clock })),
      'ERR_STATUS_LIST_INVALID',
    );
  });
});

describe('offline status check: the token claims and a stale list', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'EdDSA' }] };
  const uri = 'https://issuer.example/status-lists/1';
  const iss = 'https://issuer.example';
  const now = 1_700_000_000;
  const clock = () => now;
  const fresh = createStatusListToken(new StatusList(1, 64), {
    uri,
    key: privateKey,
    kid: 'k1',
    iat: now - 10,
    ttl: 300,
  });
  const token = (claims: Record<string, unknown>, typ = 'at+jwt') =>
    signCompact(
      { kid: 'k1', typ },
      { iss, sub: 'x', iat: now - 60, exp: now + 240, ...claims, status: { status_list: { idx: 1, uri } } },
      privateKey,
    );
  const check = (t: string, list = fresh, extra: Record<string, unknown> = {}) =>
    code(() => checkStatusOffline(t, list, { key: jwks, clock, ...extra }));

  it('accepts a live at+jwt token with a fresh list', () => {
    assert.equal(checkStatusOffline(token({}), fresh, { key: jwks, clock, issuer: iss }).status, 0);
  });
  it('rejects a token that expired an hour ago with ERR_JWT_EXPIRED', () => {
    assert.equal(check(token({ iat: now - 3900, exp: now - 3600 })), 'ERR_JWT_EXPIRED');
  });
  it('rejects a token whose nbf is in the future with ERR_JWT_CLAIM_INVALID', () => {
    assert.equal(check(token({ nbf: now + 120 })), 'ERR_JWT_CLAIM_INVALID');
  });
  it('applies the clock tolerance to exp (and no more than it)', () => {
    const t = token({ exp: now - 30 });
    assert.equal(check(t), 'ERR_JWT_EXPIRED');
    assert.equal(checkStatusOffline(t, fresh, { key: jwks, clock, clockTolerance: 60 }).status, 0);
    assert.equal(check(t, fresh, { clockTolerance: 30 }), 'ERR_JWT_EXPIRED');
  });
  it('requires typ at+jwt by default; another typ only when asked for', () => {
    assert.equal(check(token({}, 'JWT')), 'ERR_JWT_CLAIM_INVALID');
    assert.equal(check(token({}, 'statuslist+jwt')), 'ERR_JWT_CLAIM_INVALID');
    assert.equal(checkStatusOffline(token({}, 'JWT'), fresh, { key: jwks, clock, typ: 'JWT' }).status, 0);
  });
  it('rejects a token from another issuer when issuer is given', () => {
    assert.equal(check(token({}), fresh, { issuer: 'https://other.example' }), 'ERR_JWT_CLAIM_INVALID');
    assert.equal(check(token({ iss: undefined }), fresh, { issuer: iss }), 'ERR_JWT_CLAIM_INVALID');
  });
  it('rejects a list without exp older than its ttl with ERR_STATUS_LIST_STALE, unless allowStale', () => {
    const old = createStatusListToken(new StatusList(1, 64), {
      uri,
      key: privateKey,
      kid: 'k1',
      iat: now - 301,
      ttl: 300,
    });
    assert.equal(check(token({}), old), 'ERR_STATUS_LIST_STALE');
    assert.equal(checkStatusOffline(token({}), old, { key: jwks, clock, allowStale: true }).status, 0);
    // exactly ttl old is still fresh; the tolerance extends it
    const edge = createStatusListToken(new StatusList(1, 64), {
      uri,
      key: privateKey,
      kid: 'k1',
      iat: now - 300,
      ttl: 300,
    });
    assert.equal(checkStatusOffline(token({}), edge, { key: jwks, clock }).status, 0);
    assert.equal(checkStatusOffline(token({}), old, { key: jwks, clock, clockTolerance: 5 }).status, 0);
  });
  it('rejects a list with neither exp nor ttl older than the default maximum age (one day)', () => {
    const mk = (age: number) =>
      createStatusListToken(new StatusList(1, 64), { uri, key: privateKey, kid: 'k1', iat: now - age });
    assert.equal(checkStatusOffline(token({}), mk(86400), { key: jwks, clock }).status, 0);
    assert.equal(check(token({}), mk(86401)), 'ERR_STATUS_LIST_STALE');
    assert.equal(check(token({}), mk(61), { maxListAge: 60 }), 'ERR_STATUS_LIST_STALE');
  });
  it('rejects a list whose exp has passed with ERR_STATUS_LIST_INVALID, even with allowStale', () => {
    const expired = createStatusListToken(new StatusList(1, 64), {
      uri,
      key: privateKey,
      kid: 'k1',
      iat: now - 600,
      exp: now - 1,
      ttl: 300,
    });
    assert.equal(check(token({}), expired), 'ERR_STATUS_LIST_INVALID');
    assert.equal(check(token({}), expired, { allowStale: true }), 'ERR_STATUS_LIST_INVALID');
  });
  it('a list with exp is governed by its exp, not its ttl', () => {
    const long = createStatusListToken(new StatusList(1, 64), {
      uri,
      key: privateKey,
      kid: 'k1',
      iat: now - 3600,
      exp: now + 3600,
      ttl: 300,
    });
    assert.equal(checkStatusOffline(token({}), long, { key: jwks, clock }).status, 0);
  });
  it('verifyStatusListToken applies the same staleness rule', () => {
    const old = createStatusListToken(new StatusList(1, 64), {
      uri,
      key: privateKey,
      kid: 'k1',
      iat: now - 301,
      ttl: 300,
    });
    assert.equal(
      code(() => verifyStatusListToken(old, { key: jwks, clock })),
      'ERR_STATUS_LIST_STALE',
    );
    assert.equal(verifyStatusListToken(old, { key: jwks, clock, allowStale: true }).ttl, 300);
  });
});

describe('checkStatusListFresh: hostile values fail closed', () => {
  const now = 1_700_000_000;
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'ok';
  };
  it('a list without exp issued in the future (beyond the tolerance) is ERR_STATUS_LIST_INVALID', () => {
    assert.equal(
      code(() => checkStatusListFresh({ iat: now + 3650 * 86400, ttl: 300 }, now)),
      'ERR_STATUS_LIST_INVALID',
    );
    assert.equal(
      code(() => checkStatusListFresh({ iat: now + 5, ttl: 300 }, now, { clockTolerance: 10 })),
      'ok',
    );
  });
  it('a NaN now, tolerance or maxAge is ERR_INVALID_ARGUMENT, never "fresh"', () => {
    assert.equal(
      code(() => checkStatusListFresh({ iat: now - 10 ** 6 }, Number.NaN)),
      'ERR_INVALID_ARGUMENT',
    );
    assert.equal(
      code(() => checkStatusListFresh({ iat: now - 10 ** 6 }, now, { clockTolerance: Number.NaN })),
      'ERR_INVALID_ARGUMENT',
    );
    assert.equal(
      code(() => checkStatusListFresh({ iat: now - 10 ** 6 }, now, { maxAge: Number.NaN })),
      'ERR_INVALID_ARGUMENT',
    );
  });
  it('ttl 0 is stale one second after issuance', () => {
    assert.equal(
      code(() => checkStatusListFresh({ iat: now - 1, ttl: 0 }, now)),
      'ERR_STATUS_LIST_STALE',
    );
  });
});

describe('statusListFreshUntil: the instant checkStatusListFresh stops calling a list fresh', () => {
  const now = 1_700_000_000;
  const cases: [
    string,
    { iat: number; exp?: number; ttl?: number },
    { clockTolerance?: number; maxAge?: number },
  ][] = [
    ['a ttl', { iat: now - 100, ttl: 60 }, {}],
    ['a fractional ttl and a tolerance', { iat: now - 100, ttl: 60.5 }, { clockTolerance: 2.25 }],
    ['no ttl: the default maximum age', { iat: now - 100 }, {}],
    ['no ttl: a given maxAge', { iat: now - 100 }, { maxAge: 30 }],
    ['a fractional iat', { iat: now - 100.75, ttl: 10 }, {}],
  ];
  for (const [name, list, opts] of cases)
    it(`agrees with checkStatusListFresh for a list with ${name}`, () => {
      const until = statusListFreshUntil(list, opts);
      assert.doesNotThrow(() => checkStatusListFresh(list, until - 0.001, opts));
      assert.throws(() => checkStatusListFresh(list, until, opts), { code: 'ERR_STATUS_LIST_STALE' });
    });
  it('is exp (+ tolerance) for a list with exp, whatever its ttl', () => {
    assert.equal(
      statusListFreshUntil({ iat: now, exp: now + 10, ttl: 600 }, { clockTolerance: 5 }),
      now + 15,
    );
  });
});
