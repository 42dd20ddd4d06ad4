import assert from 'node:assert/strict';
import {
  constants,
  createHmac,
  createSecretKey,
  sign as cryptoSign,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isOfftokenError } from '../../src/errors/index.js';
import { signJws, signJwt, verifyJws, verifyJwt, verifyJwtAsync } from '../../src/jose/index.js';
import type { JwsAlg, JwtPolicy } from '../../src/jose/types.js';
import { buildJwks, exportJwk, generateKey, LocalJwks } from '../../src/keys/index.js';

// Every rule of issue 2 item 5, each asserting the exact error code. Tokens are built by hand so the header
// text can be anything a hostile sender writes (duplicates, escapes, odd whitespace).

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64url');
const NOW = 1_800_000_000;
const hs = createSecretKey(Buffer.alloc(32, 7));
const ed = generateKeyPairSync('ed25519');
const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

/** A compact JWS over raw header/payload text, signed as `as` says (the header text is not looked at). */
function forge(
  headerText: string,
  payloadText: string,
  as: { alg: JwsAlg | 'raw'; key?: KeyObject; sig?: Buffer },
) {
  const input = `${b64(headerText)}.${b64(payloadText)}`;
  let sig: Buffer;
  if (as.sig !== undefined) sig = as.sig;
  else if (as.alg.startsWith('HS'))
    sig = createHmac(`sha${as.alg.slice(2)}`, as.key as KeyObject)
      .update(input)
      .digest();
  else if (as.alg === 'EdDSA') sig = cryptoSign(null, Buffer.from(input), as.key as KeyObject);
  else if (as.alg.startsWith('ES'))
    sig = cryptoSign(`sha${as.alg.slice(2)}`, Buffer.from(input), {
      key: as.key as KeyObject,
      dsaEncoding: 'ieee-p1363',
    });
  else sig = cryptoSign(`sha${as.alg.slice(2)}`, Buffer.from(input), as.key as KeyObject);
  return `${input}.${sig.toString('base64url')}`;
}

const claims = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    iss: 'https://issuer.example',
    sub: 'alice',
    aud: 'api',
    iat: NOW - 10,
    exp: NOW + 300,
    ...extra,
  });
const hsToken = (extra: Record<string, unknown> = {}, header = '{"alg":"HS256","typ":"JWT"}') =>
  forge(header, claims(extra), { alg: 'HS256', key: hs });
const base: JwtPolicy = { algorithms: ['HS256'], now: NOW };

function rejects(fn: () => unknown, code: string, extra: Record<string, unknown> = {}) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isOfftokenError(e), `expected an OfftokenError, got ${String(e)}`);
    assert.equal((e as { code: string }).code, code);
    for (const [k, v] of Object.entries(extra))
      assert.equal((e as unknown as Record<string, unknown>)[k], v, k);
    return true;
  });
}

describe('hostile: alg none and the allow-list', () => {
  for (const none of ['none', 'None', 'NONE', 'nOnE']) {
    it(`rejects alg "${none}" even when the caller lists it`, () => {
      const t = `${b64(`{"alg":"${none}"}`)}.${b64(claims())}.`;
      rejects(
        () => verifyJwt(t, hs, { ...base, algorithms: [none as JwsAlg, 'HS256'] }),
        'ERR_JOSE_ALG_NOT_ALLOWED',
      );
      rejects(() => verifyJws(t, hs, { algorithms: ['HS256'] }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    });
  }
  it('rejects an alg outside the allow-list', () => {
    rejects(() => verifyJwt(hsToken(), hs, { ...base, algorithms: ['HS512'] }), 'ERR_JOSE_ALG_NOT_ALLOWED');
    rejects(() => verifyJwt(hsToken(), hs, { ...base, algorithms: [] }), 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
  it('rejects a missing or non-string alg', () => {
    rejects(() => verifyJwt(hsToken({}, '{"typ":"JWT"}'), hs, base), 'ERR_JOSE_ALG_NOT_ALLOWED');
    rejects(() => verifyJwt(hsToken({}, '{"alg":["HS256"]}'), hs, base), 'ERR_JOSE_ALG_NOT_ALLOWED');
    rejects(() => verifyJwt(hsToken({}, '{"alg":null}'), hs, base), 'ERR_JOSE_ALG_NOT_ALLOWED');
  });
  it('rejects an allowed alg offtoken does not implement', () => {
    const t = forge('{"alg":"ES256K"}', claims(), { alg: 'raw', sig: Buffer.alloc(64) });
    rejects(() => verifyJwt(t, hs, { ...base, algorithms: ['ES256K' as JwsAlg] }), 'ERR_JOSE_NOT_SUPPORTED');
  });
});

describe('hostile: algorithm / key-type confusion', () => {
  const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  it('rejects HS256 MACed with the RSA public key PEM when the verifier holds the RSA key', () => {
    const t = forge('{"alg":"HS256"}', claims(), { alg: 'HS256', key: createSecretKey(Buffer.from(pem)) });
    rejects(
      () => verifyJwt(t, rsa.publicKey, { ...base, algorithms: ['RS256', 'HS256'] }),
      'ERR_JOSE_KEY_MISMATCH',
    );
    // the PEM text itself passed as the "key"
    rejects(() => verifyJwt(t, pem as never, { ...base, algorithms: ['HS256'] }), 'ERR_JOSE_KEY_MISMATCH');
  });
  it('rejects HS256 with an Ed25519 or EC public key', () => {
    const t = hsToken();
    rejects(() => verifyJwt(t, ed.publicKey, base), 'ERR_JOSE_KEY_MISMATCH');
    rejects(() => verifyJwt(t, p256.publicKey, base), 'ERR_JOSE_KEY_MISMATCH');
  });
  it('rejects ES256 with a P-384 key and ES384 with a P-256 key', () => {
    const t = forge('{"alg":"ES256"}', claims(), { alg: 'ES256', key: p256.privateKey });
    rejects(() => verifyJwt(t, p384.publicKey, { ...base, algorithms: ['ES256'] }), 'ERR_JOSE_KEY_MISMATCH');
    const u = forge('{"alg":"ES384"}', claims(), { alg: 'ES384', key: p384.privateKey });
    rejects(() => verifyJwt(u, p256.publicKey, { ...base, algorithms: ['ES384'] }), 'ERR_JOSE_KEY_MISMATCH');
  });
  it('rejects EdDSA with an EC key, RS256 with an EC key, ES256 with an RSA key or a secret', () => {
    const t = forge('{"alg":"EdDSA"}', claims(), { alg: 'EdDSA', key: ed.privateKey });
    rejects(() => verifyJwt(t, p256.publicKey, { ...base, algorithms: ['EdDSA'] }), 'ERR_JOSE_KEY_MISMATCH');
    const r = forge('{"alg":"RS256"}', claims(), { alg: 'RS256', key: rsa.privateKey });
    rejects(() => verifyJwt(r, p256.publicKey, { ...base, algorithms: ['RS256'] }), 'ERR_JOSE_KEY_MISMATCH');
    const e = forge('{"alg":"ES256"}', claims(), { alg: 'ES256', key: p256.privateKey });
    rejects(() => verifyJwt(e, rsa.publicKey, { ...base, algorithms: ['ES256'] }), 'ERR_JOSE_KEY_MISMATCH');
    rejects(() => verifyJwt(e, hs, { ...base, algorithms: ['ES256'] }), 'ERR_JOSE_KEY_MISMATCH');
  });
  it('rejects an HMAC secret shorter than the hash and an RSA key under 2048 bits', () => {
    const short = createSecretKey(Buffer.alloc(16, 1));
    rejects(
      () => verifyJwt(forge('{"alg":"HS256"}', claims(), { alg: 'HS256', key: short }), short, base),
      'ERR_JOSE_KEY_MISMATCH',
    );
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const t = forge('{"alg":"RS256"}', claims(), { alg: 'RS256', key: weak.privateKey });
    rejects(() => verifyJwt(t, weak.publicKey, { ...base, algorithms: ['RS256'] }), 'ERR_JOSE_KEY_MISMATCH');
  });
  it('refuses to sign with a public key or under an alg the key does not fit', () => {
    rejects(() => signJws('x', ed.publicKey, { alg: 'EdDSA' }), 'ERR_JOSE_KEY_MISMATCH');
    rejects(() => signJws('x', rsa.privateKey, { alg: 'ES256' }), 'ERR_JOSE_KEY_MISMATCH');
    rejects(() => signJws('x', hs, { alg: 'HS512' }), 'ERR_JOSE_KEY_MISMATCH');
  });
  it('a JWKS resolver never hands an RSA key to an HS256 token', () => {
    const k = generateKey('RS256');
    const jwks = new LocalJwks(buildJwks([k]));
    const t = forge(`{"alg":"HS256","kid":"${k.kid}"}`, claims(), {
      alg: 'HS256',
      key: createSecretKey(Buffer.from(JSON.stringify(exportJwk(k)))),
    });
    rejects(
      () => verifyJwt(t, (h) => jwks.resolve(h), { ...base, algorithms: ['RS256', 'HS256'] }),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
  });
});

describe('hostile: registered claims', () => {
  const v = (t: string, p: Partial<JwtPolicy>) => () => verifyJwt(t, hs, { ...base, ...p });
  it('iss: missing or mismatched', () => {
    rejects(v(hsToken({ iss: undefined }), { issuer: 'https://issuer.example' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'iss',
      reason: 'missing',
    });
    rejects(v(hsToken(), { issuer: 'https://other.example' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'iss',
      reason: 'mismatch',
    });
    rejects(
      v(hsToken({ iss: ['https://issuer.example'] }), { issuer: 'https://issuer.example' }),
      'ERR_JWT_CLAIM_INVALID',
      { claim: 'iss' },
    );
    assert.ok(verifyJwt(hsToken(), hs, { ...base, issuer: ['a', 'https://issuer.example'] }));
  });
  it('aud: string or array, missing or mismatched, non-string members', () => {
    rejects(v(hsToken({ aud: undefined }), { audience: 'api' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'aud',
      reason: 'missing',
    });
    rejects(v(hsToken({ aud: 'other' }), { audience: 'api' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'aud',
      reason: 'mismatch',
    });
    rejects(v(hsToken({ aud: ['x', 'y'] }), { audience: ['api', 'z'] }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'aud',
      reason: 'mismatch',
    });
    rejects(v(hsToken({ aud: [{ api: 1 }] }), { audience: 'api' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'aud',
    });
    rejects(v(hsToken({ aud: 42 }), { audience: 'api' }), 'ERR_JWT_CLAIM_INVALID', { claim: 'aud' });
    assert.ok(verifyJwt(hsToken({ aud: ['x', 'api'] }), hs, { ...base, audience: 'api' }));
    assert.ok(verifyJwt(hsToken({ aud: 'api' }), hs, { ...base, audience: ['z', 'api'] }));
  });
  it('sub: missing or mismatched', () => {
    rejects(v(hsToken({ sub: undefined }), { subject: 'alice' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'sub',
      reason: 'missing',
    });
    rejects(v(hsToken({ sub: 'bob' }), { subject: 'alice' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'sub',
      reason: 'mismatch',
    });
  });
  it('typ: missing or mismatched; compared as RFC 7515 4.1.9 says', () => {
    rejects(v(hsToken({}, '{"alg":"HS256"}'), { typ: 'JWT' }), 'ERR_JWT_CLAIM_INVALID', { claim: 'typ' });
    rejects(v(hsToken({}, '{"alg":"HS256","typ":"at+jwt"}'), { typ: 'JWT' }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'typ',
    });
    assert.ok(
      verifyJwt(hsToken({}, '{"alg":"HS256","typ":"application/AT+JWT"}'), hs, { ...base, typ: 'at+jwt' }),
    );
  });
  it('required claims listed by the policy', () => {
    rejects(v(hsToken(), { requiredClaims: ['jti'] }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'jti',
      reason: 'missing',
    });
  });
  it('exp: expired exactly at now == exp + tolerance, valid one second before', () => {
    const t = hsToken({ exp: NOW + 5 });
    assert.ok(verifyJwt(t, hs, { ...base, now: NOW + 4 }));
    rejects(v(t, { now: NOW + 5 }), 'ERR_JWT_EXPIRED', { claim: 'exp' });
    assert.ok(verifyJwt(t, hs, { ...base, now: NOW + 34, clockTolerance: 30 }));
    rejects(v(t, { now: NOW + 35, clockTolerance: 30 }), 'ERR_JWT_EXPIRED', { claim: 'exp' });
  });
  it('exp: required by the policy, and must be a number', () => {
    rejects(v(hsToken({ exp: undefined }), { requireExp: true }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'exp',
      reason: 'missing',
    });
    rejects(v(hsToken({ exp: String(NOW + 5) }), {}), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'exp',
      reason: 'invalid',
    });
  });
  it('nbf: not valid before nbf - tolerance', () => {
    const t = hsToken({ nbf: NOW + 60 });
    rejects(v(t, {}), 'ERR_JWT_CLAIM_INVALID', { claim: 'nbf', reason: 'not_yet_valid' });
    rejects(v(t, { clockTolerance: 59 }), 'ERR_JWT_CLAIM_INVALID', { claim: 'nbf' });
    assert.ok(verifyJwt(t, hs, { ...base, clockTolerance: 60 }));
    rejects(v(hsToken({ nbf: 'soon' }), {}), 'ERR_JWT_CLAIM_INVALID', { claim: 'nbf', reason: 'invalid' });
  });
  it('iat: in the future beyond the tolerance', () => {
    rejects(v(hsToken({ iat: NOW + 120 }), { clockTolerance: 60 }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'iat',
      reason: 'in_future',
    });
    assert.ok(verifyJwt(hsToken({ iat: NOW + 60 }), hs, { ...base, clockTolerance: 60 }));
  });
  it('a policy whose time or tolerance is not a number fails closed', () => {
    const t = hsToken({ exp: NOW - 1000 });
    rejects(v(t, { clockTolerance: Number.NaN }), 'ERR_INVALID_ARGUMENT');
    rejects(v(t, { clockTolerance: -1 }), 'ERR_INVALID_ARGUMENT');
    rejects(v(t, { now: Number.NaN }), 'ERR_INVALID_ARGUMENT');
    rejects(v(t, { maxTokenAge: Number.NaN }), 'ERR_INVALID_ARGUMENT');
  });
  it('maxTokenAge: older than allowed, or no iat to tell', () => {
    const t = hsToken({ iat: NOW - 100 });
    assert.ok(verifyJwt(t, hs, { ...base, maxTokenAge: 100 }));
    rejects(v(t, { maxTokenAge: 99 }), 'ERR_JWT_EXPIRED', { claim: 'iat', reason: 'too_old' });
    rejects(v(hsToken({ iat: undefined }), { maxTokenAge: 99 }), 'ERR_JWT_CLAIM_INVALID', {
      claim: 'iat',
      reason: 'missing',
    });
  });
});

describe('hostile: protected header', () => {
  it('crit with an unknown name', () => {
    rejects(
      () => verifyJwt(hsToken({}, '{"alg":"HS256","crit":["exp"],"exp":1}'), hs, base),
      'ERR_JOSE_CRIT_UNSUPPORTED',
    );
    assert.ok(
      verifyJwt(hsToken({}, '{"alg":"HS256","crit":["exp"],"exp":1}'), hs, { ...base, crit: ['exp'] }),
    );
  });
  it('crit listing registered names, empty, not an array, or naming an absent member', () => {
    for (const h of [
      '{"alg":"HS256","crit":["alg"]}',
      '{"alg":"HS256","crit":["kid"],"kid":"k"}',
      '{"alg":"HS256","crit":[]}',
      '{"alg":"HS256","crit":"exp","exp":1}',
      '{"alg":"HS256","crit":[1]}',
      '{"alg":"HS256","crit":["exp"]}',
      '{"alg":"HS256","crit":["toString"]}',
    ])
      rejects(
        () => verifyJwt(hsToken({}, h), hs, { ...base, crit: ['exp', 'toString'] }),
        'ERR_JOSE_HEADER_INVALID',
      );
  });
  it('b64: false (RFC 7797) in any form', () => {
    for (const h of [
      '{"alg":"HS256","b64":false,"crit":["b64"]}',
      '{"alg":"HS256","b64":false}',
      '{"alg":"HS256","b64":"false"}',
      '{"alg":"HS256","b64":0}',
    ])
      rejects(() => verifyJwt(hsToken({}, h), hs, { ...base, crit: ['b64'] }), 'ERR_JOSE_HEADER_INVALID');
  });
  it('duplicate member names, also written with escapes', () => {
    for (const h of [
      '{"alg":"HS256","alg":"HS256"}',
      '{"alg":"HS256","al\\u0067":"none"}',
      '{"\\u0061lg":"HS256","alg":"HS256"}',
      '{"alg":"HS256","kid":"a","kid":"b"}',
      '{"alg":"HS256","x":{"y":1,"y":2}}',
    ])
      rejects(() => verifyJwt(hsToken({}, h), hs, base), 'ERR_JOSE_HEADER_INVALID');
    // the same name in two different objects is not a duplicate
    assert.ok(verifyJwt(hsToken({}, '{"alg":"HS256","a":{"alg":1},"b":{"alg":2}}'), hs, base));
  });
  it('duplicate claim names in the payload, also escaped, nested, in arrays -> the header code', () => {
    const claims = (p: string) => forge('{"alg":"HS256"}', p, { alg: 'HS256', key: hs });
    for (const p of [
      '{"sub":"alice","sub":"admin"}',
      '{"sub":"alice","s\u0075b":"admin"}',
      '{"__proto__":1,"__proto__":2}',
      '{"iss":"https://a,b{","cnf":{"jkt":"x","jkt":"y"}}',
      '{"aud":["a","b"],"x":[{"k":1},{"k":1,"k":2}]}',
      '{ "sub" : "alice" ,\n "sub" : "alice" }',
    ])
      rejects(() => verifyJwt(claims(p), hs, base), 'ERR_JOSE_HEADER_INVALID');
    // commas and braces inside strings, empty objects and arrays are no duplicates
    for (const p of [
      '{"scope":"a,b,c {x}","aud":["a","b",[],{}],"o":{},"n":{"a":{"b":[1,2,{"c":1}]}}}',
      '{"a":{"sub":1},"b":{"sub":2},"sub":3}',
    ])
      assert.ok(verifyJwt(claims(p), hs, base));
  });
  it('a header that is not a JSON object', () => {
    for (const h of ['[]', '"HS256"', 'null', '{"alg":"HS256"', '{alg:"HS256"}'])
      rejects(() => verifyJwt(hsToken({}, h), hs, base), 'ERR_JOSE_HEADER_INVALID');
  });
  it('JSON nested too deep, in the header and in the payload', () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
    rejects(() => verifyJwt(hsToken({}, `{"alg":"HS256","x":${deep(20)}}`), hs, base), 'ERR_INPUT_TOO_LARGE');
    const t = forge('{"alg":"HS256"}', `{"x":${'['.repeat(40)}${']'.repeat(40)}}`, { alg: 'HS256', key: hs });
    rejects(() => verifyJwt(t, hs, base), 'ERR_INPUT_TOO_LARGE');
    const u = forge('{"alg":"HS256"}', `{"x":${deep(10)}}`, { alg: 'HS256', key: hs });
    rejects(() => verifyJwt(u, hs, { ...base, maxDepth: 5 }), 'ERR_INPUT_TOO_LARGE');
    assert.ok(verifyJwt(u, hs, base));
  });
});

describe('hostile: jku, x5u, x5c and jwk never find a key', () => {
  const attacker = generateKeyPairSync('ed25519');
  const victim = generateKey('EdDSA');
  const jwk = JSON.stringify(attacker.publicKey.export({ format: 'jwk' }));

  it('a token signed by the key it embeds (jwk) does not verify under the configured key', () => {
    const t = forge(`{"alg":"EdDSA","jwk":${jwk}}`, claims(), { alg: 'EdDSA', key: attacker.privateKey });
    rejects(
      () => verifyJwt(t, victim.publicKey as KeyObject, { ...base, algorithms: ['EdDSA'] }),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    const jwks = new LocalJwks(buildJwks([victim]));
    rejects(
      () => verifyJwt(t, (h) => jwks.resolve(h), { ...base, algorithms: ['EdDSA'] }),
      'ERR_JWS_SIGNATURE_INVALID',
    );
    // a kid naming the embedded key changes nothing either
    const u = forge(`{"alg":"EdDSA","kid":"evil","jwk":${jwk}}`, claims(), {
      alg: 'EdDSA',
      key: attacker.privateKey,
    });
    rejects(
      () => verifyJwt(u, (h) => jwks.resolve(h), { ...base, algorithms: ['EdDSA'] }),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
  });

  it('jku / x5u pointing at a live server are never fetched, x5c is never trusted', async () => {
    let hits = 0;
    const server = createServer((_q, res) => {
      hits++;
      res.end(JSON.stringify({ keys: [JSON.parse(jwk)] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
    try {
      const cert = Buffer.from('not a certificate').toString('base64');
      for (const h of [
        `{"alg":"EdDSA","jku":"${url}"}`,
        `{"alg":"EdDSA","x5u":"${url}"}`,
        `{"alg":"EdDSA","x5c":["${cert}"]}`,
      ]) {
        const t = forge(h, claims(), { alg: 'EdDSA', key: attacker.privateKey });
        rejects(
          () => verifyJwt(t, victim.publicKey as KeyObject, { ...base, algorithms: ['EdDSA'] }),
          'ERR_JWS_SIGNATURE_INVALID',
        );
        await assert.rejects(
          verifyJwtAsync(t, async () => victim.publicKey as KeyObject, { ...base, algorithms: ['EdDSA'] }),
          { code: 'ERR_JWS_SIGNATURE_INVALID' },
        );
      }
      assert.equal(hits, 0);
    } finally {
      server.close();
    }
  });
});

describe('hostile: compact serialization', () => {
  const good = hsToken();
  it('wrong part count', () => {
    const [h, p, s] = good.split('.');
    for (const t of [
      '',
      'abc',
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}..`,
      `${h}..${p}..${s}`,
      '..',
    ])
      rejects(() => verifyJwt(t, hs, base), 'ERR_JWS_INVALID');
  });
  it('not a string', () => {
    for (const t of [undefined, null, 42, {}, Buffer.from(good)])
      rejects(() => verifyJwt(t as never, hs, base), 'ERR_JWS_INVALID');
  });
  it('characters outside base64url in any part', () => {
    const [h, p, s] = good.split('.') as [string, string, string];
    const bad = [
      `${h}=.${p}.${s}`,
      `${h}.${p}+.${s}`,
      `${h}.${p}.${s.slice(0, -1)}/`,
      `${h}.${p}.${s}=`,
      `${h}.${p} .${s}`,
      `${h}.${p}.${s}\n`,
      `${h}.${p}.${s.slice(0, -2)}é`,
    ];
    for (const t of bad) rejects(() => verifyJwt(t, hs, base), 'ERR_JWS_INVALID');
    // a base64url length that leaves stray bits (length % 4 == 1), in each part
    const stray = (seg: string) => seg + 'A'.repeat((5 - (seg.length % 4)) % 4);
    for (const t of [`${stray(h)}.${p}.${s}`, `${h}.${stray(p)}.${s}`, `${h}.${p}.${stray(s)}`]) {
      assert.equal(t.split('.').filter((x) => x.length % 4 === 1).length, 1);
      rejects(() => verifyJwt(t, hs, base), 'ERR_JWS_INVALID');
    }
  });
  it('oversized token and oversized header part', () => {
    const big = hsToken({ pad: 'x'.repeat(20 * 1024) });
    rejects(() => verifyJwt(big, hs, base), 'ERR_INPUT_TOO_LARGE');
    rejects(() => verifyJwt(good, hs, { ...base, maxTokenSize: good.length - 1 }), 'ERR_INPUT_TOO_LARGE');
    assert.ok(verifyJwt(good, hs, { ...base, maxTokenSize: good.length }));
    const hugeHeader = hsToken({}, `{"alg":"HS256","pad":"${'x'.repeat(4000)}"}`);
    rejects(() => verifyJwt(hugeHeader, hs, base), 'ERR_INPUT_TOO_LARGE');
  });
  it('bad signature lengths for every kind', () => {
    const input = (alg: string) => `${b64(`{"alg":"${alg}"}`)}.${b64(claims())}`;
    const es = forge('{"alg":"ES256"}', claims(), { alg: 'ES256', key: p256.privateKey });
    const esSig = Buffer.from(es.split('.')[2] as string, 'base64url');
    const der = cryptoSign('sha256', Buffer.from(input('ES256')), p256.privateKey);
    const cases: [string, KeyObject, JwsAlg, Buffer][] = [
      ['ES256 63 bytes', p256.publicKey, 'ES256', esSig.subarray(0, 63)],
      ['ES256 65 bytes', p256.publicKey, 'ES256', Buffer.concat([esSig, Buffer.alloc(1)])],
      ['ES256 DER-encoded', p256.publicKey, 'ES256', der],
      ['ES256 empty', p256.publicKey, 'ES256', Buffer.alloc(0)],
      [
        'EdDSA 63 bytes',
        ed.publicKey,
        'EdDSA',
        cryptoSign(null, Buffer.from(input('EdDSA')), ed.privateKey).subarray(0, 63),
      ],
      [
        'HS256 truncated',
        hs,
        'HS256',
        createHmac('sha256', hs).update(input('HS256')).digest().subarray(0, 16),
      ],
      ['HS256 empty', hs, 'HS256', Buffer.alloc(0)],
      [
        'RS256 one byte short',
        rsa.publicKey,
        'RS256',
        cryptoSign('sha256', Buffer.from(input('RS256')), rsa.privateKey).subarray(1),
      ],
      [
        'PS256 one byte long',
        rsa.publicKey,
        'PS256',
        Buffer.concat([
          Buffer.alloc(1),
          cryptoSign('sha256', Buffer.from(input('PS256')), {
            key: rsa.privateKey,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          }),
        ]),
      ],
    ];
    for (const [name, key, alg, sig] of cases) {
      const t = `${input(alg)}.${sig.toString('base64url')}`;
      assert.throws(
        () => verifyJwt(t, key, { ...base, algorithms: [alg] }),
        { code: 'ERR_JWS_SIGNATURE_INVALID' },
        name,
      );
    }
  });
  it('a payload that is not a JSON object', () => {
    for (const p of ['[]', '"alice"', '42', 'null', 'true', '{"a":1', '', '\u00ff\u00fe'])
      rejects(
        () => verifyJwt(forge('{"alg":"HS256"}', p, { alg: 'HS256', key: hs }), hs, base),
        'ERR_JWT_INVALID',
      );
  });
  it('every single-character mutation of a valid token gives the original payload byte for byte or a typed error, never a crash', () => {
    const t = signJwt({ sub: 'a', n: [1, { b: 2 }] }, hs, { alg: 'HS256', iat: NOW, expiresIn: 60 });
    const original = verifyJwt(t, hs, base);
    const segments = (token: string) =>
      token.split('.').map((seg) => Buffer.from(seg, 'base64url').toString('hex'));
    const alphabet = 'A_-.=+/ {"\\\u0000é';
    let typed = 0;
    for (let i = 0; i < t.length; i++)
      for (const c of alphabet) {
        const m = t.slice(0, i) + c + t.slice(i + 1);
        if (m === t) continue;
        let accepted: ReturnType<typeof verifyJwt>;
        try {
          accepted = verifyJwt(m, hs, base);
        } catch (e) {
          assert.ok(isOfftokenError(e), `mutation at ${i} (${JSON.stringify(c)}) threw ${String(e)}`);
          typed++;
          continue;
        }
        // Accepted: only a spelling the format ignores, never other claims.
        assert.deepEqual(accepted.payload, original.payload, `mutation at ${i} accepted with other claims`);
        assert.deepEqual(segments(m), segments(t), `mutation at ${i} accepted with other bytes`);
      }
    assert.ok(typed > 0);
  });
});

describe('hostile: the async path', () => {
  it('never asks the key resolver for a token whose header is refused', async () => {
    let asked = 0;
    const resolver = async () => {
      asked++;
      return hs;
    };
    const tokens = [
      `${b64('{"alg":"none"}')}.${b64(claims())}.`,
      hsToken({}, '{"alg":"HS512"}'),
      hsToken({}, '{"alg":"HS256","crit":["zip2"],"zip2":1}'),
      hsToken({}, '{"alg":"HS256","alg":"HS256"}'),
    ];
    const codes = [];
    for (const t of tokens)
      try {
        await verifyJwtAsync(t, resolver, base);
      } catch (e) {
        codes.push((e as { code: string }).code);
      }
    assert.deepEqual(codes, [
      'ERR_JOSE_ALG_NOT_ALLOWED',
      'ERR_JOSE_ALG_NOT_ALLOWED',
      'ERR_JOSE_CRIT_UNSUPPORTED',
      'ERR_JOSE_HEADER_INVALID',
    ]);
    assert.equal(asked, 0);
  });
});
