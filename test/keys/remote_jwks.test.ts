import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { signJwt, verifyJwtAsync } from '../../src/jose/index.js';
import { buildJwks, exportJwk, generateKey, Keyring, RemoteJwks } from '../../src/keys/index.js';
import type { OfftokenKey } from '../../src/keys/types.js';

// A real HTTP server on 127.0.0.1: each test sets `handler` and reads `hits`.
let server: Server;
let base: string;
let hits = 0;
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end();
const hanging = new Set<ServerResponse>();

before(async () => {
  server = createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  for (const r of hanging) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function serve(keys: () => OfftokenKey[]) {
  return (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(buildJwks(keys())));
  };
}

function fakeClock(start = 1_800_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

const sign = (k: OfftokenKey, iat?: number, ttl = 60) =>
  signJwt({ sub: 'alice' }, k.privateKey as never, {
    alg: k.alg as 'EdDSA',
    kid: k.kid,
    expiresIn: ttl,
    ...(iat !== undefined ? { iat } : {}),
  });

describe('RemoteJwks', () => {
  it('fetches once, then serves from the cache until the max age', async () => {
    const k = generateKey('EdDSA');
    handler = serve(() => [k]);
    hits = 0;
    const clock = fakeClock();
    const jwks = new RemoteJwks(`${base}/jwks`, {
      clock: clock.now,
      maxAgeSeconds: 600,
      cooldownSeconds: 30,
    });
    for (let i = 0; i < 5; i++) await jwks.resolve({ kid: k.kid, alg: 'EdDSA' });
    assert.equal(hits, 1);
    clock.t += 599;
    await jwks.resolve({ kid: k.kid, alg: 'EdDSA' });
    assert.equal(hits, 1);
    clock.t += 1;
    await jwks.resolve({ kid: k.kid, alg: 'EdDSA' });
    assert.equal(hits, 2);
  });

  it('is an AsyncKeyResolver for verifyJwtAsync', async () => {
    const k = generateKey('ES256');
    handler = serve(() => [k]);
    const jwks = new RemoteJwks(`${base}/jwks`);
    const v = await verifyJwtAsync(sign(k), jwks.resolve, { algorithms: ['ES256'] });
    assert.equal(v.payload.sub, 'alice');
  });

  it('shares one fetch between concurrent callers', async () => {
    const k = generateKey('EdDSA');
    handler = serve(() => [k]);
    hits = 0;
    const jwks = new RemoteJwks(`${base}/jwks`);
    await Promise.all(Array.from({ length: 10 }, () => jwks.resolve({ kid: k.kid, alg: 'EdDSA' })));
    assert.equal(hits, 1);
    assert.equal(jwks.fetchCount, 1);
  });

  it('refetches on an unknown kid (provider rotation), at most once per cooldown', async () => {
    const a = generateKey('EdDSA');
    const b = generateKey('EdDSA');
    let published = [a];
    handler = serve(() => published);
    hits = 0;
    const clock = fakeClock();
    const jwks = new RemoteJwks(`${base}/jwks`, { clock: clock.now, cooldownSeconds: 30 });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    assert.equal(hits, 1);
    published = [a, b];
    // within the cooldown the unknown kid is refused without a fetch
    await assert.rejects(jwks.resolve({ kid: b.kid, alg: 'EdDSA' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.equal(hits, 1);
    clock.t += 30;
    const v = await verifyJwtAsync(sign(b, clock.t), jwks.resolve, { algorithms: ['EdDSA'], now: clock.t });
    assert.equal(v.header.kid, b.kid);
    assert.equal(hits, 2);
    // a flood of random kids costs at most one fetch per cooldown
    clock.t += 30;
    for (let i = 0; i < 20; i++)
      await assert.rejects(jwks.resolve({ kid: `nope-${i}`, alg: 'EdDSA' }), {
        code: 'ERR_JWKS_NO_MATCHING_KEY',
      });
    assert.equal(hits, 3);
  });

  it('does not refetch for a known kid with another alg', async () => {
    const a = generateKey('EdDSA');
    handler = serve(() => [a]);
    hits = 0;
    const jwks = new RemoteJwks(`${base}/jwks`, { cooldownSeconds: 0 });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    await assert.rejects(jwks.resolve({ kid: a.kid, alg: 'ES256' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.equal(hits, 1);
  });

  it('binds keys published without alg to the header alg only when the key type fits', async () => {
    const rsa = generateKey('RS256');
    const { alg: _drop, ...noAlg } = exportJwk(rsa);
    handler = (_q, res) => res.end(JSON.stringify({ keys: [noAlg] }));
    const jwks = new RemoteJwks(`${base}/jwks`);
    assert.ok((await jwks.resolve({ kid: rsa.kid, alg: 'PS256' })).equals(rsa.publicKey as never));
    await assert.rejects(jwks.resolve({ kid: rsa.kid, alg: 'ES256' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await assert.rejects(jwks.resolve({ kid: rsa.kid, alg: 'HS256' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('never takes secret (oct) keys from a remote set', async () => {
    const hs = generateKey('HS256');
    handler = (_q, res) => res.end(JSON.stringify({ keys: [exportJwk(hs, { private: true })] }));
    const jwks = new RemoteJwks(`${base}/jwks`);
    await assert.rejects(jwks.resolve({ kid: hs.kid, alg: 'HS256' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  it('times out a server that never answers', async () => {
    handler = (_q, res) => {
      hanging.add(res);
    };
    const jwks = new RemoteJwks(`${base}/jwks`, { timeoutMs: 150 });
    await assert.rejects(jwks.resolve({ kid: 'x', alg: 'EdDSA' }), { code: 'ERR_JWKS_TIMEOUT' });
  });

  it('times out a body that stalls after the headers', async () => {
    handler = (_q, res) => {
      hanging.add(res);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
    };
    const jwks = new RemoteJwks(`${base}/jwks`, { timeoutMs: 150 });
    await assert.rejects(jwks.resolve({ kid: 'x', alg: 'EdDSA' }), { code: 'ERR_JWKS_TIMEOUT' });
  });

  it('rejects an oversized response, declared or streamed', async () => {
    const big = JSON.stringify({ keys: [], pad: 'x'.repeat(4096) });
    handler = (_q, res) => res.end(big);
    await assert.rejects(new RemoteJwks(`${base}/jwks`, { maxBytes: 1024 }).keys(), {
      code: 'ERR_JWKS_INVALID',
    });
    handler = (_q, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 8; i++) res.write('x'.repeat(512));
      res.end();
    };
    await assert.rejects(new RemoteJwks(`${base}/jwks`, { maxBytes: 1024 }).keys(), {
      code: 'ERR_JWKS_INVALID',
    });
  });

  const malformed: [string, string][] = [
    ['not JSON', '<html>hello</html>'],
    ['a JSON array', '[]'],
    ['an object without keys', '{"kid":"x"}'],
    ['keys that is not an array', '{"keys":{}}'],
    ['nesting too deep', `{"keys":[],"x":${'['.repeat(50)}${']'.repeat(50)}}`],
    ['more than 100 keys', JSON.stringify({ keys: Array.from({ length: 101 }, () => ({ kty: 'OKP' })) })],
  ];
  for (const [name, body] of malformed) {
    it(`rejects a malformed response: ${name}`, async () => {
      handler = (_q, res) => res.end(body);
      await assert.rejects(new RemoteJwks(`${base}/jwks`).keys(), { code: 'ERR_JWKS_INVALID' });
    });
  }

  it('reports an HTTP error status, a redirect and a refused connection as fetch failures', async () => {
    handler = (_q, res) => {
      res.writeHead(500);
      res.end('oops');
    };
    await assert.rejects(new RemoteJwks(`${base}/jwks`).keys(), { code: 'ERR_JWKS_FETCH_FAILED' });
    handler = (_q, res) => {
      res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
      res.end();
    };
    await assert.rejects(new RemoteJwks(`${base}/jwks`).keys(), { code: 'ERR_JWKS_FETCH_FAILED' });
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    await assert.rejects(new RemoteJwks(`http://127.0.0.1:${port}/jwks`).keys(), {
      code: 'ERR_JWKS_FETCH_FAILED',
    });
  });

  it('after a failure, waits for the cooldown before trying again', async () => {
    const k = generateKey('EdDSA');
    let up = false;
    handler = (_q, res) => {
      if (!up) {
        res.writeHead(503);
        res.end();
      } else serve(() => [k])(_q, res);
    };
    hits = 0;
    const clock = fakeClock();
    const jwks = new RemoteJwks(`${base}/jwks`, { clock: clock.now, cooldownSeconds: 30 });
    await assert.rejects(jwks.resolve({ kid: k.kid, alg: 'EdDSA' }), { code: 'ERR_JWKS_FETCH_FAILED' });
    up = true;
    await assert.rejects(jwks.resolve({ kid: k.kid, alg: 'EdDSA' }), { code: 'ERR_JWKS_FETCH_FAILED' });
    assert.equal(hits, 1);
    clock.t += 30;
    await jwks.resolve({ kid: k.kid, alg: 'EdDSA' });
    assert.equal(hits, 2);
  });

  it('keeps the last good set within its max age when a refetch returns garbage, then fails closed', async () => {
    const a = generateKey('EdDSA');
    let body = JSON.stringify(buildJwks([a]));
    handler = (_q, res) => res.end(body);
    const clock = fakeClock();
    const jwks = new RemoteJwks(`${base}/jwks`, { clock: clock.now, cooldownSeconds: 1, maxAgeSeconds: 100 });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    body = 'garbage';
    clock.t += 10;
    // an unknown kid triggers a refetch that fails: the good set stays
    await assert.rejects(jwks.resolve({ kid: 'rotated', alg: 'EdDSA' }), {
      code: 'ERR_JWKS_NO_MATCHING_KEY',
    });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    clock.t += 100;
    await assert.rejects(jwks.resolve({ kid: a.kid, alg: 'EdDSA' }), { code: 'ERR_JWKS_INVALID' });
  });

  it('keyring rotation without downtime across processes: announce, rotate, retire', async () => {
    const clock = fakeClock();
    const ring = new Keyring({ active: generateKey('EdDSA'), clock: clock.now });
    handler = (_q, res) => res.end(JSON.stringify(ring.jwks()));
    hits = 0;
    const jwks = new RemoteJwks(`${base}/jwks`, {
      clock: clock.now,
      maxAgeSeconds: 300,
      cooldownSeconds: 30,
    });
    const policy = () => ({ algorithms: ['EdDSA'] as ['EdDSA'], now: clock.t });
    const old = ring.signingKey();
    const before = sign(old, clock.t, 3600);
    await verifyJwtAsync(before, jwks.resolve, policy());
    // the next key is published one max age ahead of its first use
    const next = generateKey('EdDSA');
    ring.add(next);
    clock.t += 300;
    await verifyJwtAsync(before, jwks.resolve, policy());
    assert.equal(hits, 2);
    ring.rotate(next, { retireAfter: 600 });
    clock.t += 1;
    const after = sign(ring.signingKey(), clock.t);
    // both verify at once, with no extra fetch: the new kid was already known
    await verifyJwtAsync(after, jwks.resolve, policy());
    await verifyJwtAsync(before, jwks.resolve, policy());
    assert.equal(hits, 2);
    // once retired and the cache has turned over, the old key is gone from the set
    clock.t += 600;
    const late = sign(old, clock.t);
    await assert.rejects(verifyJwtAsync(late, jwks.resolve, policy()), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    await verifyJwtAsync(sign(next, clock.t), jwks.resolve, policy());
  });

  it('takes only http(s) URLs and sane options', () => {
    assert.throws(() => new RemoteJwks('file:///etc/jwks.json'), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => new RemoteJwks('/jwks'), { code: 'ERR_INVALID_ARGUMENT' });
    assert.throws(() => new RemoteJwks(`${base}/jwks`, { timeoutMs: 0 }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
