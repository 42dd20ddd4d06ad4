import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { signJwt, verifyJwt, verifyJwtAsync } from '../../src/jose/index.js';
import { JwtVerifier } from '../../src/jose/jwt/verifier.js';
import { buildJwks, generateKey, Keyring, LocalJwks, RemoteJwks } from '../../src/keys/index.js';

const T0 = 1_800_000_000;
const policy = { algorithms: ['EdDSA' as const], now: T0 };
const ed = generateKey('EdDSA');
const token = signJwt({ sub: 'alice' }, ed.privateKey!, {
  alg: 'EdDSA',
  kid: ed.kid,
  iat: T0,
  expiresIn: 60,
});

let server: Server;
let url: string;
let hits = 0;

before(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(buildJwks([ed])));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('verifyJwtAsync key sources', () => {
  it('accepts a KeyObject', async () => {
    assert.equal((await verifyJwtAsync(token, ed.publicKey!, policy)).payload.sub, 'alice');
  });

  it('accepts a synchronous and an asynchronous resolver function', async () => {
    assert.equal((await verifyJwtAsync(token, () => ed.publicKey!, policy)).payload.sub, 'alice');
    assert.equal((await verifyJwtAsync(token, async () => ed.publicKey!, policy)).payload.sub, 'alice');
  });

  it('accepts a Keyring as it is', async () => {
    const ring = new Keyring({ active: ed });
    assert.equal((await verifyJwtAsync(token, ring, policy)).header.kid, ed.kid);
  });

  it('accepts a LocalJwks as it is', async () => {
    const jwks = new LocalJwks(buildJwks([ed]));
    assert.equal((await verifyJwtAsync(token, jwks, policy)).header.kid, ed.kid);
  });

  it('accepts a RemoteJwks as it is', async () => {
    const jwks = new RemoteJwks(url);
    assert.equal((await verifyJwtAsync(token, jwks, policy)).header.kid, ed.kid);
  });

  it('accepts any object with a resolve method (another copy of the package, or the user own)', async () => {
    const ring = new Keyring({ active: ed });
    const own = { resolve: (h: { kid?: string }) => ring.resolve(h) };
    assert.equal((await verifyJwtAsync(token, own, policy)).payload.sub, 'alice');
  });

  it('still reports a key the source cannot find with the source own error', async () => {
    const other = new Keyring({ active: generateKey('EdDSA') });
    assert.equal(await code(verifyJwtAsync(token, other, policy)), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  it('reports the error of a source whose resolve throws or rejects, as it is', async () => {
    const ring = new Keyring({ active: generateKey('EdDSA') });
    assert.equal(
      await code(verifyJwtAsync(token, { resolve: (h) => ring.resolve(h) }, policy)),
      'ERR_JWKS_NO_MATCHING_KEY',
    );
    const rejecting = { resolve: async (h: { kid?: string }) => ring.resolve(h) };
    assert.equal(await code(verifyJwtAsync(token, rejecting, policy)), 'ERR_JWKS_NO_MATCHING_KEY');
  });

  it('a source that resolves to something other than a KeyObject is a key mismatch, not a crash', async () => {
    assert.equal(
      await code(verifyJwtAsync(token, { resolve: () => 'pem' as never }, policy)),
      'ERR_JOSE_KEY_MISMATCH',
    );
    assert.equal(
      await code(verifyJwtAsync(token, async () => undefined as never, policy)),
      'ERR_JOSE_KEY_MISMATCH',
    );
  });

  it('refuses an unsupported source as ERR_INVALID_ARGUMENT naming what is accepted', async () => {
    for (const bad of [undefined, null, 'secret', 42, {}, { resolve: 'x' }, Buffer.from('k'.repeat(32))]) {
      await assert.rejects(verifyJwtAsync(token, bad as never, policy), (e: Error & { code: string }) => {
        assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
        assert.match(e.message, /KeyObject.*resolver function.*resolve\(header\) method/);
        return true;
      });
    }
  });

  it('refuses an OfftokenKey or a JWKS document and says what to pass instead', async () => {
    await assert.rejects(verifyJwtAsync(token, ed as never, policy), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /OfftokenKey, pass its publicKey/,
    });
    await assert.rejects(verifyJwtAsync(token, buildJwks([ed]) as never, policy), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /new LocalJwks/,
    });
  });

  it('looks no key up for a header the policy refuses', async () => {
    hits = 0;
    const jwks = new RemoteJwks(url);
    assert.equal(
      await code(verifyJwtAsync(token, jwks, { algorithms: ['ES256'], now: T0 })),
      'ERR_JOSE_ALG_NOT_ALLOWED',
    );
    assert.equal(hits, 0);
  });
});

describe('verifyJwt (synchronous) given a key source object', () => {
  it('says where the object is accepted instead of reporting a key mismatch', () => {
    const ring = new Keyring({ active: ed });
    assert.throws(() => verifyJwt(token, ring as never, policy), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /verifyJwtAsync or JwtVerifier/,
    });
  });

  it('says an asynchronous resolver needs verifyJwtAsync, and leaves no unhandled rejection', async () => {
    const failing = async () => {
      throw new Error('unreachable JWKS');
    };
    assert.throws(() => verifyJwt(token, failing as never, policy), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /needs verifyJwtAsync/,
    });
    // an unhandled rejection would fail this test file
    await new Promise((r) => setImmediate(r));
  });
});

describe('JwtVerifier key sources', () => {
  it('takes a Keyring or a LocalJwks as resolver, with and without the cache', () => {
    for (const resolver of [new Keyring({ active: ed }), new LocalJwks(buildJwks([ed]))])
      for (const cache of [undefined, { max: 10 }]) {
        const v = new JwtVerifier({ resolver, policy, ...(cache ? { cache } : {}) });
        assert.equal(v.verify(token).payload.sub, 'alice');
        assert.equal(v.verify(token).payload.sub, 'alice');
      }
  });

  it('verifyAsync takes a RemoteJwks, and its cache hits do not fetch again', async () => {
    hits = 0;
    const v = new JwtVerifier({ resolver: new RemoteJwks(url), policy, cache: { max: 10 } });
    const first = await v.verifyAsync(token);
    assert.equal(first.payload.sub, 'alice');
    assert.equal(await v.verifyAsync(token), first);
    assert.equal(v.cacheSize, 1);
    assert.equal(hits, 1);
  });

  it('verifyAsync with a fixed key is verify', async () => {
    const v = new JwtVerifier({ key: ed.publicKey!, policy });
    assert.equal((await v.verifyAsync(token)).payload.sub, 'alice');
  });

  it('verify with a RemoteJwks says to use verifyAsync', () => {
    const v = new JwtVerifier({ resolver: new RemoteJwks(url), policy });
    assert.throws(() => v.verify(token), { code: 'ERR_INVALID_ARGUMENT', message: /verifyAsync/ });
  });

  it('refuses a key source as key, a KeyObject as resolver, and an unsupported resolver', () => {
    const ring = new Keyring({ active: ed });
    assert.throws(() => new JwtVerifier({ key: ring as never, policy }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /as resolver/,
    });
    assert.throws(() => new JwtVerifier({ resolver: ed.publicKey as never, policy }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /give it as key/,
    });
    assert.throws(() => new JwtVerifier({ resolver: {} as never, policy }), {
      code: 'ERR_INVALID_ARGUMENT',
      message: /resolver must be a KeyObject, a resolver function/,
    });
  });
});
