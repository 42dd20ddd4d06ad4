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

// Waits for a background refresh in flight, starting none.
const settle = (j: RemoteJwks) => j.settled();

const sign = (k: OfftokenKey, iat?: number, ttl = 60) =>
  signJwt({ sub: 'alice' }, k.privateKey as never, {
    alg: k.alg as 'EdDSA',
    kid: k.kid,
    expiresIn: ttl,
    ...(iat !== undefined ? { iat } : {}),
  });

describe('RemoteJwks', () => {
  it('fetches once, serves from the cache, and refreshes in the background from 3/4 of the max age', async () => {
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
    clock.t += 449;
    await jwks.resolve({ kid: k.kid, alg: 'EdDSA' });
    await settle(jwks);
    assert.equal(hits, 1);
    clock.t += 1;
    await jwks.resolve({ kid: k.kid, alg: 'EdDSA' });
    await settle(jwks);
    assert.equal(hits, 2);
    assert.equal(jwks.export()?.fetchedAt, clock.t);
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
    const jwks = new RemoteJwks(`${base}/jwks`, {
      clock: clock.now,
      cooldownSeconds: 1,
      maxAgeSeconds: 100,
      staleIfErrorSeconds: 0,
    });
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
    await settle(jwks);
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
    await jwks.refresh();
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

describe('RemoteJwks through outages', () => {
  // A server whose answers are held until the test releases them: "slow" without any timing.
  function held(keys: () => OfftokenKey[]) {
    const waiting: (() => void)[] = [];
    const h = (_req: IncomingMessage, res: ServerResponse) => {
      hanging.add(res);
      waiting.push(() => serve(keys)(_req, res));
    };
    const release = () => {
      for (const w of waiting.splice(0)) w();
    };
    return { handler: h, waiting, release };
  }

  it('never makes a verify wait for a slow refresh once a set is cached', async () => {
    const a = generateKey('EdDSA');
    const b = generateKey('EdDSA');
    let published = [a];
    handler = serve(() => published);
    hits = 0;
    const clock = fakeClock();
    const jwks = new RemoteJwks(`${base}/jwks`, {
      clock: clock.now,
      maxAgeSeconds: 100,
      cooldownSeconds: 10,
    });
    const policy = () => ({ algorithms: ['EdDSA'] as ['EdDSA'], now: clock.t });
    await verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy());
    const slow = held(() => published);
    handler = slow.handler;
    published = [a, b];
    // within the refresh-ahead window, then past the lifetime: served while the refresh hangs
    clock.t += 80;
    await verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy());
    clock.t += 40;
    for (let i = 0; i < 5; i++) await verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy());
    assert.equal(jwks.fetchCount, 2);
    while (slow.waiting.length === 0) await new Promise((r) => setImmediate(r));
    slow.release();
    await jwks.settled();
    // the rotated-in key arrived with the background refresh: no fetch on its first use
    await verifyJwtAsync(sign(b, clock.t), jwks.resolve, policy());
    assert.equal(jwks.fetchCount, 2);
    assert.equal(hits, 2);
  });

  it('serves the last good set within staleIfErrorSeconds while refreshes fail, reporting each, then fails closed', async () => {
    const a = generateKey('EdDSA');
    let up = true;
    handler = (q, res) => {
      if (up) return serve(() => [a])(q, res);
      res.writeHead(503);
      res.end();
    };
    const clock = fakeClock();
    const errors: { code: string; staleUntil: number | undefined }[] = [];
    const jwks = new RemoteJwks(`${base}/jwks`, {
      clock: clock.now,
      maxAgeSeconds: 100,
      cooldownSeconds: 10,
      staleIfErrorSeconds: 1000,
      onError: (e) => errors.push({ code: e.error.code, staleUntil: e.staleUntil }),
    });
    const start = clock.t;
    const policy = () => ({ algorithms: ['EdDSA'] as ['EdDSA'], now: clock.t });
    await verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy());
    up = false;
    for (const step of [80, 100, 300, 500]) {
      clock.t += step;
      await verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy());
      await jwks.settled();
    }
    assert.deepEqual(
      errors,
      Array.from({ length: 4 }, () => ({ code: 'ERR_JWKS_FETCH_FAILED', staleUntil: start + 1100 })),
    );
    // past lifetime + staleIfError (1100 s): fail closed with the fetch's own code
    clock.t = start + 1100;
    await assert.rejects(verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy()), {
      code: 'ERR_JWKS_FETCH_FAILED',
    });
    assert.equal(errors.length, 5);
    // the provider back: the next fetch (after the cooldown) restores service
    up = true;
    clock.t += 10;
    await verifyJwtAsync(sign(a, clock.t), jwks.resolve, policy());
  });

  it('revalidates with If-None-Match and keeps the set on a 304, fresh for the new max-age', async () => {
    const a = generateKey('EdDSA');
    const seen: (string | undefined)[] = [];
    handler = (req, res) => {
      const inm = req.headers['if-none-match'];
      seen.push(inm);
      if (inm === '"v1"') {
        res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=200' });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=100' });
      res.end(JSON.stringify(buildJwks([a])));
    };
    const clock = fakeClock();
    const events: number[] = [];
    const jwks = new RemoteJwks(`${base}/jwks`, {
      clock: clock.now,
      cooldownSeconds: 1,
      onRefresh: (e) => events.push(e.status),
    });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    assert.equal(jwks.export()?.etag, '"v1"');
    clock.t += 90;
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    await jwks.settled();
    assert.deepEqual(seen, [undefined, '"v1"']);
    assert.deepEqual(events, [200, 304]);
    const snap = jwks.export();
    assert.equal(snap?.fetchedAt, clock.t);
    assert.equal((snap?.freshUntil ?? 0) - clock.t, 200);
    assert.equal(snap?.jwks.keys.length, 1);
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
  });

  it('treats an unsolicited 304 as a failed fetch', async () => {
    handler = (_q, res) => {
      res.writeHead(304);
      res.end();
    };
    await assert.rejects(new RemoteJwks(`${base}/jwks`).keys(), { code: 'ERR_JWKS_FETCH_FAILED' });
  });

  const bounds: [string, Record<string, string>, number][] = [
    ['no Cache-Control: the max age', {}, 600],
    ['max-age within bounds', { 'cache-control': 'public, max-age=120' }, 120],
    ['max-age below the minimum', { 'cache-control': 'max-age=5' }, 60],
    ['max-age above the maximum', { 'cache-control': 'max-age=999999' }, 600],
    ['no-store', { 'cache-control': 'no-store' }, 60],
    ['no-cache', { 'cache-control': 'no-cache, max-age=300' }, 60],
    ['Age subtracted', { 'cache-control': 'max-age=300', age: '100' }, 200],
    ['unparsable max-age ignored', { 'cache-control': 'max-age=-5, max-age=abc' }, 600],
  ];
  for (const [name, headers, lifetime] of bounds) {
    it(`bounds the freshness lifetime by the configured ages: ${name}`, async () => {
      const a = generateKey('EdDSA');
      handler = (_q, res) => {
        res.writeHead(200, headers);
        res.end(JSON.stringify(buildJwks([a])));
      };
      const jwks = new RemoteJwks(`${base}/jwks`, { minAgeSeconds: 60, maxAgeSeconds: 600 });
      await jwks.keys();
      const s = jwks.export();
      assert.equal((s?.freshUntil ?? 0) - (s?.fetchedAt ?? 0), lifetime);
    });
  }

  it('round-trips a snapshot and starts from it with no server at all', async () => {
    const a = generateKey('ES256');
    const own = createServer((_q, res) => res.end(JSON.stringify(buildJwks([a]))));
    await new Promise<void>((r) => own.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(own.address() as AddressInfo).port}/jwks`;
    const clock = fakeClock();
    const first = new RemoteJwks(url, { clock: clock.now });
    await first.keys();
    const saved = JSON.parse(JSON.stringify(first.export()));
    own.closeAllConnections();
    await new Promise<void>((r) => own.close(() => r()));

    const errors: string[] = [];
    const cold = new RemoteJwks(url, {
      clock: clock.now,
      snapshot: saved,
      staleIfErrorSeconds: 3600,
      onError: (e) => errors.push(e.error.code),
    });
    const policy = () => ({ algorithms: ['ES256'] as ['ES256'], now: clock.t });
    await verifyJwtAsync(sign(a, clock.t), cold.resolve, policy());
    assert.equal(cold.fetchCount, 0);
    assert.deepEqual(cold.export(), saved);
    // past its lifetime the snapshot's set keeps serving while the refresh fails
    clock.t += 700;
    await verifyJwtAsync(sign(a, clock.t), cold.resolve, policy());
    await cold.settled();
    assert.deepEqual(errors, ['ERR_JWKS_FETCH_FAILED']);
    clock.t += 3600;
    await assert.rejects(verifyJwtAsync(sign(a, clock.t), cold.resolve, policy()), {
      code: 'ERR_JWKS_FETCH_FAILED',
    });
  });

  it('shares one fetch between concurrent callers with an unknown kid', async () => {
    const a = generateKey('EdDSA');
    const b = generateKey('EdDSA');
    let published = [a];
    handler = serve(() => published);
    hits = 0;
    const clock = fakeClock();
    const jwks = new RemoteJwks(`${base}/jwks`, { clock: clock.now, cooldownSeconds: 30 });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
    clock.t += 30;
    const slow = held(() => published);
    handler = slow.handler;
    published = [a, b];
    const known = Array.from({ length: 10 }, () => jwks.resolve({ kid: b.kid, alg: 'EdDSA' }));
    const unknown = Array.from({ length: 10 }, (_, i) =>
      assert.rejects(jwks.resolve({ kid: `nope-${i}`, alg: 'EdDSA' }), { code: 'ERR_JWKS_NO_MATCHING_KEY' }),
    );
    while (slow.waiting.length === 0) await new Promise((r) => setImmediate(r));
    slow.release();
    await Promise.all([...known, ...unknown]);
    assert.equal(hits, 2);
    assert.equal(jwks.fetchCount, 2);
  });

  it('ignores a hook that throws', async () => {
    const a = generateKey('EdDSA');
    handler = serve(() => [a]);
    const jwks = new RemoteJwks(`${base}/jwks`, {
      onRefresh: () => {
        throw new Error('monitoring is down');
      },
    });
    await jwks.resolve({ kid: a.kid, alg: 'EdDSA' });
  });

  it('refuses a minimum age above the maximum and a negative stale window', () => {
    assert.throws(() => new RemoteJwks(`${base}/jwks`, { minAgeSeconds: 700, maxAgeSeconds: 600 }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    assert.throws(() => new RemoteJwks(`${base}/jwks`, { staleIfErrorSeconds: -1 }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
  });

  describe('rejects a malformed snapshot', () => {
    const a = generateKey('EdDSA');
    const now = 1_800_000_000;
    const url = 'http://127.0.0.1:9/jwks';
    const good = () => ({
      version: 1,
      url,
      fetchedAt: now - 10,
      freshUntil: now + 590,
      etag: '"x"',
      jwks: buildJwks([a]),
    });
    const priv = exportJwk(generateKey('ES256'), { private: true });
    const cases: [string, unknown][] = [
      ['not an object', 'snapshot'],
      ['null', null],
      ['an array', []],
      ['an unknown member', { ...good(), extra: 1 }],
      ['another version', { ...good(), version: 2 }],
      ['another URL', { ...good(), url: 'http://127.0.0.1:9/other' }],
      ['fetchedAt missing', { ...good(), fetchedAt: undefined }],
      ['fetchedAt not finite', { ...good(), fetchedAt: Number.POSITIVE_INFINITY }],
      ['fetchedAt in the future', { ...good(), fetchedAt: now + 3600, freshUntil: now + 4000 }],
      ['freshUntil before fetchedAt', { ...good(), freshUntil: now - 20 }],
      ['freshUntil a string', { ...good(), freshUntil: '1' }],
      ['an etag that is not an entity-tag', { ...good(), etag: 'v1\r\nx-injected: 1' }],
      ['jwks not an object', { ...good(), jwks: [] }],
      ['jwks with another member', { ...good(), jwks: { keys: [], more: 1 } }],
      ['keys not an array', { ...good(), jwks: { keys: {} } }],
      ['a private key', { ...good(), jwks: { keys: [priv] } }],
      ['a secret key', { ...good(), jwks: { keys: [{ kty: 'oct', k: 'AAAA' }] } }],
      ['a key without kty', { ...good(), jwks: { keys: [{ kid: 'x' }] } }],
      [
        'more than 100 keys',
        { ...good(), jwks: { keys: Array.from({ length: 101 }, () => ({ kty: 'OKP' })) } },
      ],
    ];
    for (const [name, snapshot] of cases) {
      it(name, () => {
        assert.throws(() => new RemoteJwks(url, { clock: () => now, snapshot: snapshot as never }), {
          code: 'ERR_JWKS_SNAPSHOT_INVALID',
        });
      });
    }
    it('but takes the well-formed one', async () => {
      const j = new RemoteJwks(url, { clock: () => now, snapshot: good() as never });
      assert.equal((await j.keys()).length, 1);
    });
  });
});
