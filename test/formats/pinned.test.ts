// Formats pinned by fixtures made with the code of their day (test/fixtures/formats/make.ts, run once by hand):
// every fixture is read with TODAY's code and must give back exactly what was recorded. A change that breaks a
// token, key file or log already in the field fails here. Where docs/formats/ documents the cryptography (key
// derivation, AAD, signing input, hash chain), the test also redoes it with raw node:crypto from the documented
// parameters written below, so the documentation and the code are pinned together.
import assert from 'node:assert/strict';
import {
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  scryptSync,
  verify as verifySignature,
} from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inflateSync } from 'node:zlib';
import {
  decryptJwe,
  deriveOfflineKey,
  exportJwk,
  MemoryStore,
  OfflineTokenGenerator,
  OfftokenError,
  OtpValidator,
  readKeyFileSync,
  verifyAttenuated,
  verifyAuditLog,
  verifyDownscopedToken,
} from '../../src/index.js';
import { checkStatusOffline, verifyStatusListToken } from '../../src/status-list/index.js';

const DIR = join(import.meta.dirname, '../fixtures/formats');
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

// docs/formats/offline-token.md, "Keys": the derivation a token made from a shared secret depends on.
const DOC_OFFLINE = {
  scrypt: { N: 2 ** 15, r: 8, p: 1, length: 32, normalize: 'NFC' },
  positionalSaltLabel: 'offtoken positional scrypt salt v1',
  hkdf: { hash: 'sha256', salt: '', info: { sealed: 'offtoken sealed v1', mac: 'offtoken mac v1' } },
};
// docs/formats/keyfile.md, "Encrypted": what a writer produces today.
const DOC_KEYFILE = { logN: 15, r: 8, p: 1, enc: 'A256GCM' };
// docs/formats/audit-log.md, "Checkpoints".
const DOC_AUDIT = { typ: 'offtoken-audit-checkpoint+jwt', log: 'offtoken-audit-v1', genesis: '0'.repeat(64) };

const b64u = (s: string) => Buffer.from(s, 'base64url');
const utf8 = (s: string) => Buffer.from(s, 'base64url').toString('utf8');
const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');
const tmp = mkdtempSync(join(tmpdir(), 'offtoken-pinned-'));
let n = 0;
/** A key file as a user keeps it (mode 0600: git does not keep file modes, so it is written out per test). */
function privateFile(text: string): string {
  const p = join(tmp, `f${n++}.json`);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof OfftokenError && e.code === code);
}
async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof OfftokenError && e.code === code);
}

/** AES-GCM of a compact `dir` JWE, by hand: RFC 7516 5.2, AAD = ASCII(BASE64URL(protected header)). */
function openDirJwe(token: string, key: Buffer): Buffer {
  const [h, ek, iv, ct, tag] = token.split('.') as [string, string, string, string, string];
  assert.equal(ek, '', 'alg dir has an empty encrypted key');
  const d = createDecipheriv(`aes-${key.length * 8}-gcm` as 'aes-256-gcm', key, b64u(iv), {
    authTagLength: 16,
  });
  d.setAAD(Buffer.from(h, 'ascii'));
  d.setAuthTag(b64u(tag));
  return Buffer.concat([d.update(b64u(ct)), d.final()]);
}

/** A compact JWS signature by hand (RFC 7515 5.2): EdDSA / ES256 over ASCII(header.payload). */
function jwsVerifies(token: string, key: KeyObject): boolean {
  const [h, p, s] = token.split('.') as [string, string, string];
  const dsa = key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' as const } : key;
  return verifySignature(null, Buffer.from(`${h}.${p}`, 'ascii'), dsa, b64u(s));
}

// biome-ignore lint/suspicious/noExplicitAny: fixtures are JSON documents checked field by field below
type Fixture = Record<string, any>;

/** The documented derivation, recomputed with node:crypto only. */
function documentedDerivation(f: Fixture): Buffer {
  const d = f.derivation;
  const mode = f.mode as 'sealed' | 'mac';
  const length = mode === 'mac' ? 32 : (f.aesBits ?? 256) / 8;
  assert.deepEqual(d.hkdf, {
    hash: DOC_OFFLINE.hkdf.hash,
    salt: DOC_OFFLINE.hkdf.salt,
    info: DOC_OFFLINE.hkdf.info[mode],
    length,
  });
  let ikm: Buffer;
  if (f.source === 'secret') {
    ikm = b64u(f.secret);
  } else {
    const { salt, ...params } = d.scrypt;
    assert.deepEqual(params, DOC_OFFLINE.scrypt);
    let saltBytes: Buffer;
    if (salt.label !== undefined) {
      assert.equal(salt.label, DOC_OFFLINE.positionalSaltLabel);
      saltBytes = createHash('sha256').update(DOC_OFFLINE.positionalSaltLabel).digest();
      assert.equal(saltBytes.toString('base64url'), salt.sha256);
    } else {
      saltBytes = b64u(salt.base64url);
    }
    ikm = scryptSync((f.passphrase as string).normalize('NFC'), saltBytes, DOC_OFFLINE.scrypt.length, {
      N: DOC_OFFLINE.scrypt.N,
      r: DOC_OFFLINE.scrypt.r,
      p: DOC_OFFLINE.scrypt.p,
      maxmem: 64 * 1024 * 1024,
    });
  }
  return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), DOC_OFFLINE.hkdf.info[mode], length));
}

function offlineReader(f: Fixture, now: number): OfflineTokenGenerator {
  const clock = () => now;
  switch (f.source) {
    case 'keyfile':
      return new OfflineTokenGenerator({
        key: readKeyFileSync(privateFile(f.keyFile)),
        clock,
        ...(f.audience !== undefined && { audience: f.audience }),
      });
    case 'secret':
      return new OfflineTokenGenerator({
        mode: f.mode,
        secret: b64u(f.secret),
        ...(f.aesBits !== undefined && { aesBits: f.aesBits }),
        clock,
      });
    case 'passphrase':
      return new OfflineTokenGenerator({
        mode: f.mode,
        passphrase: f.passphrase,
        ...(f.derivation.scrypt.salt.base64url !== undefined && {
          salt: b64u(f.derivation.scrypt.salt.base64url),
        }),
        clock,
      });
    default:
      throw new Error(`unknown source ${f.source}`);
  }
}

function checkOffline(f: Fixture): void {
  it('the header segment is the recorded one, byte for byte', () => {
    assert.equal(utf8(f.token.split('.')[0]), f.header);
  });

  if (f.source === 'positional') {
    // The older package's constructor reads the system clock; the fixture is valid until 2100.
    it('the positional constructor (password, aesBits) reads it: the recorded payload and claims', () => {
      const gen = new OfflineTokenGenerator(f.passphrase, f.aesBits);
      assert.deepEqual(gen.read(f.token), f.payload);
      assert.equal(JSON.stringify(gen.verify(f.token).claims), f.claimsJson);
    });
  } else {
    it("today's reader gives back the recorded payload and claims (fixed clock)", () => {
      const r = offlineReader(f, f.readAt).verify(f.token);
      assert.equal(r.mode, f.mode);
      assert.equal(r.kid ?? null, f.kid);
      assert.deepEqual(r.payload, f.payload);
      assert.deepEqual(r.claims, f.claims);
      assert.equal(JSON.stringify(r.claims), f.claimsJson);
    });
    it('is expired at exp (the recorded claims are the ones checked)', () => {
      throwsCode(() => offlineReader(f, f.claims.exp).verify(f.token), 'ERR_OFFLINE_TOKEN_EXPIRED');
    });
  }

  // The key the token was made with: the key file's own key, or the documented derivation.
  let key: Buffer | undefined;
  if (f.source === 'keyfile') {
    const jwk = JSON.parse(f.keyFile).jwk;
    if (jwk.k !== undefined) key = b64u(jwk.k);
  } else {
    it('the documented derivation (scrypt/HKDF parameters, salt, info) gives the recorded key', () => {
      if (f.source === 'passphrase' && f.name.includes('salt'))
        assert.notEqual(f.passphrase, f.passphrase.normalize('NFC'), 'this fixture pins NFC normalisation');
      const derived = documentedDerivation(f);
      assert.equal(derived.toString('base64url'), f.derivedKey);
      const lib = deriveOfflineKey(f.source === 'secret' ? b64u(f.secret) : f.passphrase, {
        mode: f.mode,
        ...(f.aesBits !== undefined && { bits: f.aesBits }),
        ...(f.derivation.scrypt?.salt.base64url !== undefined && {
          salt: b64u(f.derivation.scrypt.salt.base64url),
        }),
      });
      assert.equal(lib.export().toString('base64url'), f.derivedKey);
    });
    key = b64u(f.derivedKey);
  }

  it('the envelope opens by hand with node:crypto to the recorded claims bytes', () => {
    const [h, p, s] = f.token.split('.');
    if (f.mode === 'sealed') {
      assert.equal(openDirJwe(f.token, key!).toString('utf8'), f.claimsJson);
    } else if (f.mode === 'mac') {
      assert.equal(createHmac('sha256', key!).update(`${h}.${p}`).digest('base64url'), s);
      assert.equal(utf8(p), f.claimsJson);
    } else {
      assert.ok(jwsVerifies(f.token, createPublicKey({ key: f.publicJwk, format: 'jwk' })));
      assert.equal(utf8(p), f.claimsJson);
    }
  });
}

function checkKeyfile(f: Fixture): void {
  const doc = JSON.parse(f.fileText);
  it("today's reader opens it to the recorded JWK", () => {
    const key = readKeyFileSync(privateFile(f.fileText), f.passphrase ? { passphrase: f.passphrase } : {});
    assert.deepEqual(exportJwk(key, { private: true }), f.jwk);
    assert.equal(key.kid, doc.kid);
    assert.equal(key.alg, doc.alg);
  });
  if (f.passphrase === undefined) {
    it('holds the JWK in the clear (v 1, type offtoken-key)', () => {
      assert.equal(doc.v, 1);
      assert.equal(doc.type, 'offtoken-key');
      assert.deepEqual(doc.jwk, f.jwk);
    });
    return;
  }
  it('the documented scrypt + AES-256-GCM (AAD = JSON of v, kdf, enc) opens it by hand', () => {
    const e = doc.encrypted;
    assert.deepEqual(
      { logN: e.kdf.logN, r: e.kdf.r, p: e.kdf.p, enc: e.enc, name: e.kdf.name },
      { ...DOC_KEYFILE, name: 'scrypt' },
    );
    const k = scryptSync(f.passphrase, b64u(e.kdf.salt), 32, {
      N: 2 ** e.kdf.logN,
      r: e.kdf.r,
      p: e.kdf.p,
      maxmem: 64 * 1024 * 1024,
    });
    const d = createDecipheriv('aes-256-gcm', k, b64u(e.iv), { authTagLength: 16 });
    d.setAAD(Buffer.from(JSON.stringify({ v: doc.v, kdf: e.kdf, enc: e.enc })));
    d.setAuthTag(b64u(e.tag));
    const plain = Buffer.concat([d.update(b64u(e.ct)), d.final()]).toString('utf8');
    assert.equal(plain, JSON.stringify(f.jwk));
  });
  it('a wrong passphrase -> ERR_KEYFILE_DECRYPT_FAILED', () => {
    throwsCode(
      () => readKeyFileSync(privateFile(f.fileText), { passphrase: `${f.passphrase}!` }),
      'ERR_KEYFILE_DECRYPT_FAILED',
    );
  });
}

function checkAudit(f: Fixture): void {
  const pub = createPublicKey({ key: f.publicJwk, format: 'jwk' });
  it("today's verifier accepts it with the checkpoint key: same entries, checkpoints and head", () => {
    const r = verifyAuditLog(privateFile(f.text), { key: pub });
    assert.equal(r.entries, f.result.entries);
    assert.equal(r.checkpoints, f.result.checkpoints);
    assert.equal(r.head, f.result.head);
    assert.equal(r.signaturesChecked, true);
  });
  it('the entry and checkpoint lines follow docs/formats/audit-log.md (chain, seq, signed head)', () => {
    const lines = (f.text as string).split('\n');
    assert.equal(lines.pop(), '', 'every line ends with \\n');
    let prev = DOC_AUDIT.genesis;
    let checkpoints = 0;
    lines.forEach((line, i) => {
      const e = JSON.parse(line);
      assert.deepEqual(Object.keys(e), ['seq', 'time', 'event', 'fields', 'prev']);
      assert.equal(e.seq, i);
      assert.equal(e.prev, prev);
      if (e.event === 'audit.checkpoint') {
        checkpoints++;
        assert.equal(e.fields.head, e.prev);
        assert.equal(e.fields.seq, e.seq - 1);
        assert.equal(e.fields.kid, f.publicJwk.kid);
        const [h, p] = e.fields.sig.split('.');
        assert.deepEqual(JSON.parse(utf8(h)), { alg: 'EdDSA', kid: f.publicJwk.kid, typ: DOC_AUDIT.typ });
        const signed = { log: DOC_AUDIT.log, seq: e.fields.seq, head: e.fields.head };
        assert.deepEqual(JSON.parse(utf8(p)), e.fields.final ? { ...signed, final: true } : signed);
        assert.ok(jwsVerifies(e.fields.sig, pub), `checkpoint signature on line ${i + 1}`);
      }
      prev = sha256hex(line);
    });
    assert.equal(prev, f.result.head);
    assert.equal(checkpoints, f.result.checkpoints);
    assert.ok(checkpoints >= 2, 'the fixture holds a periodic and a closing checkpoint');
  });
}

function checkStatusList(f: Fixture): void {
  const clock = () => f.checkedAt;
  it("today's verifier reads every recorded status", () => {
    const v = verifyStatusListToken(f.listToken, { key: f.jwks, uri: f.uri, clock });
    assert.equal(v.uri, f.uri);
    assert.deepEqual(
      f.statuses.map((_: number, i: number) => v.list.get(i)),
      f.statuses,
    );
  });
  it('decodes by hand per docs/formats/status-list.md (zlib, LSB first) and the signature verifies', () => {
    const [h, p] = f.listToken.split('.');
    assert.equal(utf8(h), f.listHeader);
    assert.equal(utf8(p), f.listClaimsJson);
    const claims = JSON.parse(f.listClaimsJson);
    assert.equal(claims.sub, f.uri);
    // docs/formats/status-list.md (draft 4.1): these 16 statuses are bytes b9 a3, lst eNrbuRgAAhcBXQ
    assert.equal(claims.status_list.lst, 'eNrbuRgAAhcBXQ');
    const bytes = inflateSync(b64u(claims.status_list.lst));
    const bits = claims.status_list.bits;
    const statuses = f.statuses.map((_: number, i: number) => {
      const pos = i * bits;
      return ((bytes[pos >> 3] as number) >> (pos & 7)) & ((1 << bits) - 1);
    });
    assert.deepEqual(statuses, f.statuses);
    assert.ok(jwsVerifies(f.listToken, createPublicKey({ key: f.jwks.keys[0], format: 'jwk' })));
  });
  for (const ref of f.references) {
    it(`a token at index ${ref.idx} is ${ref.code ?? 'valid'} offline`, () => {
      const check = () => checkStatusOffline(ref.token, f.listToken, { key: f.jwks, clock, typ: 'JWT' });
      if (ref.code === null) assert.deepEqual(check(), { status: 0, idx: ref.idx, uri: f.uri });
      else throwsCode(check, ref.code);
    });
  }
}

function checkDownscoped(f: Fixture): void {
  const rsKey = createSecretKey(b64u(f.rsKey));
  const options = (now: number) => ({
    intermediaryVerifier: createPublicKey({ key: f.authorityPublicJwk, format: 'jwk' }),
    rsKey: (kid: string) => (kid === f.rsKid ? rsKey : undefined),
    issuer: f.issuer,
    audience: f.audience,
    clock: () => now,
    ...f.check,
  });
  const claims = JSON.parse(f.intermediaryClaimsJson);
  it("today's verifier gives back the recorded grant and rules", () => {
    const r = verifyDownscopedToken(f.token, options(f.verifyAt));
    assert.deepEqual(r, {
      sub: claims.sub,
      grant: claims.grant,
      rules: f.rules,
      exp: JSON.parse(f.boundaryPlaintext).exp,
      intermediaryExp: claims.exp,
    });
  });
  it('is expired at the boundary exp', () => {
    throwsCode(
      () => verifyDownscopedToken(f.token, options(JSON.parse(f.boundaryPlaintext).exp)),
      'ERR_DOWNSCOPE_EXPIRED',
    );
  });
  it('opens by hand per docs/formats/downscoped-token.md: JWS intermediary, sk under the RS key, boundary', () => {
    const [intermediary, boundary] = f.token.split('~');
    assert.equal(intermediary, f.intermediary);
    const [h, p] = intermediary.split('.');
    assert.equal(utf8(h), f.intermediaryHeader);
    assert.equal(utf8(p), f.intermediaryClaimsJson);
    assert.ok(jwsVerifies(intermediary, createPublicKey({ key: f.authorityPublicJwk, format: 'jwk' })));
    assert.deepEqual(JSON.parse(utf8(claims.sk.split('.')[0])), {
      alg: 'dir',
      enc: 'A256GCM',
      kid: f.rsKid,
      typ: 'session-key',
    });
    assert.equal(openDirJwe(claims.sk, b64u(f.rsKey)).toString('base64url'), f.sessionKey);
    assert.equal(utf8(boundary.split('.')[0]), f.boundaryHeader);
    assert.equal(openDirJwe(boundary, b64u(f.sessionKey)).toString('utf8'), f.boundaryPlaintext);
  });
}

function checkAttenuated(f: Fixture): void {
  const root = b64u(f.rootKey);
  it("today's verifier accepts it: the recorded identifier and caveats", () => {
    const r = verifyAttenuated(root, f.token, { ...f.context, clock: () => f.verifyAt });
    assert.deepEqual(r, { id: f.id, caveats: f.caveats });
  });
  it("the chained HMAC of docs/formats/attenuated-token.md, recomputed by hand, is the token's", () => {
    const json = utf8(f.token);
    let sig = createHmac('sha256', root).update(f.id).digest();
    for (const c of f.caveats) sig = createHmac('sha256', sig).update(c).digest();
    assert.equal(json, JSON.stringify({ v: 1, id: f.id, c: f.caveats, s: sig.toString('base64url') }));
  });
}

function checkOtpCredential(f: Fixture): void {
  const { last, drift, failures, lockedUntil, ...created } = f.record;
  assert.deepEqual(
    { last, drift, failures, lockedUntil },
    { last: -1, drift: 0, failures: 0, lockedUntil: 0 },
  );
  const validator = async (id: string) => {
    const store = new MemoryStore();
    assert.equal(await store.createCredential({ ...created, id }), true);
    return new OtpValidator({ store, storeKey: b64u(f.storeKey), clock: () => f.verifyAt });
  };
  it("today's validator opens the stored secret: the recorded code is accepted", async () => {
    const r = await (await validator(created.id)).verify(created.id, f.code);
    assert.equal(r.ok, true);
  });
  it('the sealed secret moved onto another credential id -> ERR_OTP_SECRET_UNSEALABLE', async () => {
    await rejectsCode(
      (await validator('mallory-phone')).verify('mallory-phone', f.code),
      'ERR_OTP_SECRET_UNSEALABLE',
    );
  });
  it('is a compact JWE dir A256GCM with the credential id in the protected header (opens by hand and with decryptJwe)', () => {
    assert.equal(utf8(created.sealedSecret.split('.')[0]), f.sealedHeader);
    assert.deepEqual(JSON.parse(f.sealedHeader), {
      alg: 'dir',
      enc: 'A256GCM',
      typ: 'offtoken-otp-secret',
      cid: created.id,
    });
    assert.equal(openDirJwe(created.sealedSecret, b64u(f.storeKey)).toString('base64url'), f.secret);
    const { plaintext } = decryptJwe(created.sealedSecret, createSecretKey(b64u(f.storeKey)));
    assert.equal(plaintext.toString('base64url'), f.secret);
  });
}

const CHECKS: Record<string, (f: Fixture) => void> = {
  'offline-token': checkOffline,
  keyfile: checkKeyfile,
  'audit-log': checkAudit,
  'status-list': checkStatusList,
  'downscoped-token': checkDownscoped,
  'attenuated-token': checkAttenuated,
  'otp-credential': checkOtpCredential,
};

describe('pinned formats (test/fixtures/formats)', () => {
  it('every kind the issue names has a fixture', () => {
    const kinds = new Set(files.map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')).kind));
    assert.deepEqual([...kinds].sort(), Object.keys(CHECKS).sort());
    const modes = files
      .filter((f) => f.startsWith('offline-'))
      .map((f) => JSON.parse(readFileSync(join(DIR, f), 'utf8')).mode);
    assert.deepEqual([...new Set(modes)].sort(), ['mac', 'sealed', 'signed']);
  });
  for (const file of files) {
    const f = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Fixture;
    const check = CHECKS[f.kind];
    describe(file, () => {
      if (check === undefined) it('has a known kind', () => assert.fail(`unknown fixture kind ${f.kind}`));
      else check(f);
    });
  }
});
