import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { OfftokenError } from '../../src/errors/base.js';
import {
  createStatusListCwt,
  createStatusListToken,
  STATUS_INVALID,
  STATUS_SUSPENDED,
  StatusList,
  StatusListClient,
  type StatusListClientOptions,
} from '../../src/status-list/index.js';
import { signCompact } from '../../src/status-list/jws.js';

// A real HTTP server on 127.0.0.1: each test sets `handler`; `hits` counts requests by path.
let server: Server;
let base: string;
let hits: string[] = [];
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, r) => r.end();
const hanging = new Set<ServerResponse>();

before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
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

const issuer = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const T0 = 1_800_000_000;

// The test authority signs each list with its current time, as the real one does (authority.ts): the system
// clock, or the fake clock a test shares between the client and the authority.
let authorityNow: () => number;
beforeEach(() => {
  authorityNow = () => Math.floor(Date.now() / 1000);
});

function fakeClock(start = T0) {
  const c = { t: start, now: () => c.t };
  authorityNow = c.now;
  return c;
}

// A 2-bit list: 0 valid, 1 revoked, 2 suspended, 3 application-specific.
function listOf(...statuses: number[]): StatusList {
  const l = new StatusList(2, 16);
  for (const [i, s] of statuses.entries()) l.set(i, s);
  return l;
}

function listToken(
  path: string,
  list: StatusList,
  opts: { ttl?: number; exp?: number; iat?: number; key?: KeyObject } = {},
): string {
  return createStatusListToken(list, {
    uri: `${base}${path}`,
    key: opts.key ?? issuer.privateKey,
    iat: opts.iat ?? authorityNow(),
    ...(opts.ttl !== undefined ? { ttl: opts.ttl } : {}),
    ...(opts.exp !== undefined ? { exp: opts.exp } : {}),
  });
}

function serveTokens(byPath: Record<string, () => string>) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const make = byPath[req.url ?? ''];
    if (make === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/statuslist+jwt' });
    res.end(make());
  };
}

const claims = (path: string, idx: number, uri = `${base}${path}`) => ({
  sub: 'alice',
  status: { status_list: { idx, uri } },
});

function client(extra: Partial<StatusListClientOptions> = {}) {
  return new StatusListClient({ allowedPrefixes: [`${base}/lists/`], key: issuer.publicKey, ...extra });
}

async function causeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return `${(e as OfftokenError).code} <- ${((e as Error).cause as OfftokenError | undefined)?.code}`;
  }
  return 'no error';
}

describe('StatusListClient', () => {
  it('answers valid, revoked and suspended from one fetched list', async () => {
    const clock = fakeClock();
    const tok = listToken('/lists/1', listOf(0, STATUS_INVALID, STATUS_SUSPENDED, 3));
    handler = serveTokens({ '/lists/1': () => tok });
    hits = [];
    const c = client({ clock: clock.now });
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await c.check(claims('/lists/1', i)));
    assert.deepEqual(
      answers.map((a) => [a.status, a.value]),
      [
        ['valid', 0],
        ['revoked', 1],
        ['suspended', 2],
        ['revoked', 3],
      ],
    );
    assert.equal(answers[0]?.fetchedAt, T0);
    assert.deepEqual(hits, ['/lists/1']);
  });

  describe('refuses a status uri outside the allowed prefixes before any network call', () => {
    const uris: [string, () => string][] = [
      ['another path', () => `${base}/admin/1`],
      ['a sibling path sharing the prefix text', () => `${base}/listsX/1`],
      ['a dot-dot escape', () => `${base}/lists/../admin`],
      ['an encoded dot-dot escape', () => `${base}/lists/%2e%2e/admin`],
      ['another port', () => base.replace(/:\d+$/, ':1')],
      ['another scheme', () => `${base.replace('http:', 'https:')}/lists/1`],
      ['another host', () => 'http://localhost/lists/1'],
      ['credentials in the authority', () => `${base.replace('http://', 'http://user:pw@')}/lists/1`],
      ['not a URL', () => 'lists/1'],
      ['a file URL', () => 'file:///etc/passwd'],
      ['an overlong uri under the prefix', () => `${base}/lists/${'a'.repeat(2048)}`],
    ];
    for (const [name, uri] of uris) {
      it(name, async () => {
        handler = (_q, res) => res.end('should not be asked');
        hits = [];
        const c = client();
        for (const onUnknown of ['throw', 'return'] as const)
          await assert.rejects(c.check(claims('', 0, uri()), { onUnknown }), {
            code: 'ERR_STATUS_LIST_URI_NOT_ALLOWED',
          });
        assert.deepEqual(hits, []);
        assert.equal(c.fetchCount, 0);
      });
    }
  });

  it('matches a prefix without a trailing slash at a path boundary only', async () => {
    handler = serveTokens({ '/lists': () => listToken('/lists', listOf(0)) });
    const c = new StatusListClient({ allowedPrefixes: [`${base}/lists`], key: issuer.publicKey });
    assert.equal((await c.check(claims('/lists', 0))).status, 'valid');
    await assert.rejects(c.check(claims('/lists2', 0)), { code: 'ERR_STATUS_LIST_URI_NOT_ALLOWED' });
  });

  it('caches by ttl, bounded by maxTtlSeconds, and by exp', async () => {
    let ttl: number | undefined = 60;
    let exp: number | undefined;
    handler = serveTokens({
      '/lists/1': () => listToken('/lists/1', listOf(0), { ttl, exp }),
    });
    const clock = fakeClock();
    const c = client({ clock: clock.now, maxTtlSeconds: 3600, defaultTtlSeconds: 30 });
    hits = [];
    const check = () => c.check(claims('/lists/1', 0));
    await check();
    clock.t += 59;
    await check();
    assert.equal(hits.length, 1);
    clock.t += 1;
    ttl = 999_999;
    await check();
    assert.equal(hits.length, 2);
    clock.t += 3599;
    await check();
    assert.equal(hits.length, 2);
    clock.t += 1;
    ttl = undefined;
    await check();
    assert.equal(hits.length, 3);
    clock.t += 30;
    exp = clock.t + 10;
    ttl = 600;
    await check();
    assert.equal(hits.length, 4);
    clock.t += 10;
    exp = undefined;
    await check();
    assert.equal(hits.length, 5);
  });

  it('fails closed on an unknown status by default, and answers unknown when the call asks', async () => {
    handler = (_q, res) => {
      res.writeHead(503);
      res.end();
    };
    const errors: string[] = [];
    const c = client({ onError: (e) => errors.push(e.error.code) });
    assert.equal(
      await causeOf(c.check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_FETCH_FAILED',
    );
    const a = await c.check(claims('/lists/1', 0), { onUnknown: 'return' });
    assert.deepEqual(a, { status: 'unknown', idx: 0, uri: `${base}/lists/1` });
    assert.deepEqual(errors, ['ERR_STATUS_LIST_FETCH_FAILED']);
  });

  it('retries a failing list only after the cooldown', async () => {
    let up = false;
    handler = (q, res) => {
      if (up) return serveTokens({ '/lists/1': () => listToken('/lists/1', listOf(0)) })(q, res);
      res.writeHead(500);
      res.end();
    };
    hits = [];
    const clock = fakeClock();
    const c = client({ clock: clock.now, cooldownSeconds: 10 });
    for (let i = 0; i < 5; i++)
      await assert.rejects(c.check(claims('/lists/1', 0)), { code: 'ERR_STATUS_LIST_UNAVAILABLE' });
    assert.equal(hits.length, 1);
    up = true;
    clock.t += 10;
    assert.equal((await c.check(claims('/lists/1', 0))).status, 'valid');
    assert.equal(hits.length, 2);
  });

  it('uses a list past its ttl within maxStaleSeconds when the refresh fails, never past exp', async () => {
    let up = true;
    handler = (q, res) => {
      if (up)
        return serveTokens({
          '/lists/1': () => listToken('/lists/1', listOf(1), { ttl: 60, exp: T0 + 600 }),
        })(q, res);
      res.writeHead(503);
      res.end();
    };
    const clock = fakeClock();
    const c = client({ clock: clock.now, cooldownSeconds: 0 });
    await c.check(claims('/lists/1', 0));
    up = false;
    clock.t += 100;
    await assert.rejects(c.check(claims('/lists/1', 0)), { code: 'ERR_STATUS_LIST_UNAVAILABLE' });
    assert.equal((await c.check(claims('/lists/1', 0), { maxStaleSeconds: 300 })).status, 'revoked');
    clock.t = T0 + 600;
    await assert.rejects(c.check(claims('/lists/1', 0), { maxStaleSeconds: 1e6 }), {
      code: 'ERR_STATUS_LIST_UNAVAILABLE',
    });
  });

  it('refuses a list already stale when fetched by default, and answers from it within the call policy', async () => {
    // a mirror that stopped updating: signed an hour ago with a ttl of 600 s and no exp, 3000 s past its ttl
    const clock = fakeClock();
    handler = serveTokens({
      '/lists/1': () => listToken('/lists/1', listOf(1), { iat: T0 - 3600, ttl: 600 }),
    });
    hits = [];
    const errors: string[] = [];
    const c = client({ clock: clock.now, onError: (e) => errors.push(e.error.code) });
    assert.equal(
      await causeOf(c.check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_STALE',
    );
    assert.deepEqual(errors, ['ERR_STATUS_LIST_STALE']);
    assert.deepEqual(await c.check(claims('/lists/1', 0), { onUnknown: 'return' }), {
      status: 'unknown',
      idx: 0,
      uri: `${base}/lists/1`,
    });
    assert.equal(
      await causeOf(c.check(claims('/lists/1', 0), { maxStaleSeconds: 2999 })),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_STALE',
    );
    const a = await c.check(claims('/lists/1', 0), { maxStaleSeconds: 3000 });
    assert.deepEqual([a.status, a.fetchedAt], ['revoked', T0]);
    // Infinity is the library's allowStale; the stale fetch is a failure: no refetch within the cooldown
    assert.equal((await c.check(claims('/lists/1', 0), { maxStaleSeconds: Infinity })).status, 'revoked');
    assert.equal(hits.length, 1);
    for (const maxStaleSeconds of [-1, Number.NaN, '5' as never])
      await assert.rejects(c.check(claims('/lists/1', 0), { maxStaleSeconds }), {
        code: 'ERR_INVALID_ARGUMENT',
      });
  });

  it('judges a list without ttl or exp by maxListAgeSeconds', async () => {
    const clock = fakeClock();
    handler = serveTokens({ '/lists/1': () => listToken('/lists/1', listOf(0), { iat: T0 - 120 }) });
    assert.equal((await client({ clock: clock.now }).check(claims('/lists/1', 0))).status, 'valid');
    assert.equal(
      await causeOf(client({ clock: clock.now, maxListAgeSeconds: 119 }).check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_STALE',
    );
    const tolerant = client({ clock: clock.now, maxListAgeSeconds: 119, clockTolerance: 1 });
    assert.equal((await tolerant.check(claims('/lists/1', 0))).status, 'valid');
  });

  it('never caches a list past its own freshness (iat + ttl), however recently it was fetched', async () => {
    // a copy signed 50 s ago with a ttl of 60 s: fresh through an age of 60 s (checkStatusListFresh), not 60 s
    // from the fetch
    const clock = fakeClock();
    let iat = T0 - 50;
    handler = serveTokens({ '/lists/1': () => listToken('/lists/1', listOf(0), { iat, ttl: 60 }) });
    hits = [];
    const c = client({ clock: clock.now });
    await c.check(claims('/lists/1', 0));
    clock.t += 10;
    await c.check(claims('/lists/1', 0));
    assert.equal(hits.length, 1);
    clock.t += 1;
    iat = clock.t;
    await c.check(claims('/lists/1', 0));
    assert.equal(hits.length, 2);
    clock.t += 59;
    await c.check(claims('/lists/1', 0));
    assert.equal(hits.length, 2);
  });

  it('keeps a cached list when a refresh brings an older, stale copy', async () => {
    const clock = fakeClock();
    let mirror = false;
    handler = serveTokens({
      '/lists/1': () =>
        mirror
          ? listToken('/lists/1', listOf(0), { iat: T0 - 1000, ttl: 60 })
          : listToken('/lists/1', listOf(1), { ttl: 60 }),
    });
    const c = client({ clock: clock.now });
    assert.equal((await c.check(claims('/lists/1', 0))).status, 'revoked');
    mirror = true;
    clock.t += 100;
    assert.equal(
      await causeOf(c.check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_STALE',
    );
    const a = await c.check(claims('/lists/1', 0), { maxStaleSeconds: 100 });
    assert.deepEqual([a.status, a.fetchedAt], ['revoked', T0]);
  });

  const forged: [string, () => string, string][] = [
    [
      'signed by another key',
      () => listToken('/lists/1', listOf(0), { key: other.privateKey }),
      'ERR_AUTHORITY_SIGNATURE_INVALID',
    ],
    ['for another uri', () => listToken('/lists/2', listOf(0)), 'ERR_STATUS_LIST_MISMATCH'],
    [
      'with another typ',
      () =>
        signCompact(
          { typ: 'JWT' },
          { sub: `${base}/lists/1`, iat: T0, status_list: listOf(0).encode() },
          issuer.privateKey,
        ),
      'ERR_STATUS_LIST_INVALID',
    ],
    ['expired', () => listToken('/lists/1', listOf(0), { exp: T0 - 1 }), 'ERR_STATUS_LIST_INVALID'],
    [
      'issued in the future without exp',
      () => listToken('/lists/1', listOf(0), { iat: T0 + 3600, ttl: 60 }),
      'ERR_STATUS_LIST_INVALID',
    ],
    ['not a JWS', () => 'garbage', 'ERR_AUTHORITY_SIGNATURE_INVALID'],
    [
      'a decompression bomb',
      () => {
        const big = new StatusList(8, 4 * 1024 * 1024);
        return listToken('/lists/1', big);
      },
      'ERR_STATUS_LIST_INVALID',
    ],
  ];
  for (const [name, make, cause] of forged) {
    it(`never answers from a list ${name}`, async () => {
      const clock = fakeClock();
      const tok = make();
      handler = serveTokens({ '/lists/1': () => tok });
      const c = client({ clock: clock.now, maxListBytes: 1024 * 1024 });
      assert.equal(await causeOf(c.check(claims('/lists/1', 0))), `ERR_STATUS_LIST_UNAVAILABLE <- ${cause}`);
    });
  }

  it('bounds the response in size and time and refuses redirects', async () => {
    handler = (_q, res) => res.end('x'.repeat(4096));
    assert.equal(
      await causeOf(client({ maxBytes: 1024 }).check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_INVALID',
    );
    handler = (_q, res) => {
      hanging.add(res);
      res.writeHead(200);
      res.write('eyJ');
    };
    assert.equal(
      await causeOf(client({ timeoutMs: 150 }).check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_FETCH_FAILED',
    );
    hits = [];
    handler = (q, res) => {
      if (q.url === '/lists/1') {
        res.writeHead(302, { location: `${base}/elsewhere` });
        res.end();
      } else res.end(listToken('/lists/1', listOf(0)));
    };
    assert.equal(
      await causeOf(client().check(claims('/lists/1', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_STATUS_LIST_FETCH_FAILED',
    );
    assert.deepEqual(hits, ['/lists/1']);
  });

  it('shares one fetch between concurrent checks of one list', async () => {
    const tok = listToken('/lists/1', listOf(0, 1));
    const waiting: (() => void)[] = [];
    handler = (_q, res) => {
      hanging.add(res);
      waiting.push(() => res.end(tok));
    };
    hits = [];
    const c = client();
    const all = Array.from({ length: 20 }, (_, i) => c.check(claims('/lists/1', i % 2)));
    while (waiting.length === 0) await new Promise((r) => setImmediate(r));
    for (const w of waiting.splice(0)) w();
    const answers = await Promise.all(all);
    assert.equal(hits.length, 1);
    assert.deepEqual(
      answers.slice(0, 2).map((a) => a.status),
      ['valid', 'revoked'],
    );
  });

  it('holds at most maxLists lists, evicting the least recently used', async () => {
    handler = serveTokens(
      Object.fromEntries(['/lists/1', '/lists/2', '/lists/3'].map((p) => [p, () => listToken(p, listOf(0))])),
    );
    hits = [];
    const c = client({ maxLists: 2 });
    for (const p of ['/lists/1', '/lists/2', '/lists/1', '/lists/3', '/lists/1', '/lists/2'])
      await c.check(claims(p, 0));
    assert.deepEqual(hits, ['/lists/1', '/lists/2', '/lists/3', '/lists/2']);
  });

  it('rejects a token without a status reference and an index outside the list', async () => {
    handler = serveTokens({ '/lists/1': () => listToken('/lists/1', listOf(0)) });
    const c = client();
    await assert.rejects(c.check({ sub: 'x' }), { code: 'ERR_STATUS_LIST_MISMATCH' });
    await assert.rejects(c.check(null as never), { code: 'ERR_STATUS_LIST_MISMATCH' });
    await assert.rejects(c.check({ status: { status_list: 'x' } }), { code: 'ERR_STATUS_LIST_MISMATCH' });
    await assert.rejects(c.check(claims('/lists/1', -1)), { code: 'ERR_STATUS_LIST_MISMATCH' });
    await assert.rejects(c.check(claims('/lists/1', 64)), { code: 'ERR_STATUS_LIST_MISMATCH' });
  });

  it('takes only http(s) prefixes without query or credentials', () => {
    for (const allowedPrefixes of [
      [],
      ['/lists/'],
      ['file:///x/'],
      [`${base}/lists/?a=1`],
      ['http://u:p@h/x/'],
    ])
      assert.throws(() => new StatusListClient({ allowedPrefixes, key: issuer.publicKey }), {
        code: 'ERR_INVALID_ARGUMENT',
      });
  });

  it('takes the list in CWT form too (draft 5.2), verified as strictly', async () => {
    const cwt = createStatusListCwt(listOf(0, 1, 2), {
      uri: `${base}/lists/c`,
      key: issuer.privateKey,
      iat: T0,
      ttl: 60,
    });
    const forged = createStatusListCwt(listOf(0, 1, 2), {
      uri: `${base}/lists/f`,
      key: other.privateKey,
      iat: T0,
    });
    handler = (q, res) => {
      res.writeHead(200, { 'content-type': 'application/statuslist+cwt' });
      res.end(q.url === '/lists/c' ? cwt : forged);
    };
    const c = client({ clock: () => T0 });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push((await c.check(claims('/lists/c', i))).status);
    assert.deepEqual(answers, ['valid', 'revoked', 'suspended']);
    assert.equal(
      await causeOf(c.check(claims('/lists/f', 0))),
      'ERR_STATUS_LIST_UNAVAILABLE <- ERR_AUTHORITY_SIGNATURE_INVALID',
    );
  });

  it('fetches and answers from a 10,000,000-entry list with 1% revoked under the default limits', async () => {
    const n = 10_000_000;
    const list = new StatusList(1, n);
    const revoked: number[] = [];
    for (let i = 0; i < n / 100; i++) {
      const idx = (i * 7_919_993 + 13) % n;
      list.set(idx, 1);
      revoked.push(idx);
    }
    const tok = listToken('/lists/big', list);
    handler = serveTokens({ '/lists/big': () => tok });
    const c = client();
    for (const idx of revoked.slice(0, 50))
      assert.equal((await c.check(claims('/lists/big', idx))).status, 'revoked');
    assert.equal((await c.check(claims('/lists/big', n - 1))).status, list.get(n - 1) ? 'revoked' : 'valid');
    assert.equal(c.fetchCount, 1);
  });
});
