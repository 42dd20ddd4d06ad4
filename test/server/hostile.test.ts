import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  addClient,
  assertion,
  CLIENT_ASSERTION_TYPE,
  JWT_BEARER,
  post,
  startServer,
  type TestClient,
  type TestServer,
} from './helpers.js';

/** Sends raw bytes and returns the raw response (status line, headers, body). */
function raw(base: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(port), hostname, () => sock.write(bytes));
    let out = '';
    sock.on('data', (d) => {
      out += d.toString();
    });
    sock.on('end', () => resolve(out));
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
  });
}

function parseRaw(text: string): { status: number; body: Record<string, unknown> } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return { status, body: JSON.parse(body) as Record<string, unknown> };
}

/** Every error answer: exactly `{ error, error_description }`, no stack frame, not cacheable. */
async function expectOAuthError(res: Response, status: number, error: string): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description']);
  assert.equal(body.error, error);
  assert.doesNotMatch(text, /at .*\.(ts|js):\d+|node_modules|\/src\//);
}

describe('hostile input gets RFC 6749 JSON, never a crash or a stack trace', () => {
  let s: TestServer;
  let svc: TestClient;
  before(async () => {
    s = await startServer({ bodyLimit: 4096 });
    svc = addClient(s, 'svc');
  });
  after(() => s.close());

  it('a JSON body is refused as an unsupported media type (forms only)', async () => {
    const res = await fetch(`${s.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: JWT_BEARER, assertion: 'x' }),
    });
    await expectOAuthError(res, 415, 'invalid_request');
  });

  it('a malformed JSON body is refused the same way, unparsed', async () => {
    const res = await fetch(`${s.base}/introspect`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"token":',
    });
    await expectOAuthError(res, 415, 'invalid_request');
  });

  for (const ct of [
    'text/plain',
    'multipart/form-data; boundary=x',
    'application/xml',
    'application/x-www-form',
  ]) {
    it(`content type ${ct} is 415 invalid_request`, async () => {
      const res = await fetch(`${s.base}/token`, {
        method: 'POST',
        headers: { 'content-type': ct },
        body: 'grant_type=client_credentials',
      });
      await expectOAuthError(res, 415, 'invalid_request');
    });
  }

  it('a body without a content type is refused', async () => {
    const r = parseRaw(
      await raw(
        s.base,
        'POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 29\r\nConnection: close\r\n\r\ngrant_type=client_credentials',
      ),
    );
    assert.equal(r.body.error, 'invalid_request');
    assert.ok(r.status === 400 || r.status === 415, String(r.status));
  });

  it('an empty form body is invalid_request (missing grant_type)', async () => {
    const res = await fetch(`${s.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    });
    await expectOAuthError(res, 400, 'invalid_request');
  });

  it('malformed form encoding does not crash the parser', async () => {
    for (const body of [
      '%',
      '%zz=%zz&&&==',
      '=&=&grant_type',
      `${'&'.repeat(2000)}`,
      'a[b][c]=1&__proto__=x',
    ]) {
      const res = await fetch(`${s.base}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      await expectOAuthError(res, 400, 'invalid_request');
    }
  });

  it('a body over bodyLimit is 413, also when the length is not announced', async () => {
    const big = `grant_type=${'x'.repeat(10_000)}`;
    const res = await fetch(`${s.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: big,
    });
    await expectOAuthError(res, 413, 'invalid_request');
    // chunked: the limit is enforced while reading, not from Content-Length
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('x'.repeat(1000)));
        c.close();
      },
    });
    const chunked = await fetch(`${s.base}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    await expectOAuthError(chunked, 413, 'invalid_request');
  });

  it('a lying Content-Length over the limit is 413 before the body is read', async () => {
    const r = parseRaw(
      await raw(
        s.base,
        'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\ngrant_type=x',
      ),
    );
    assert.equal(r.status, 413);
    assert.equal(r.body.error, 'invalid_request');
  });

  it('unknown routes and methods are 404 invalid_request', async () => {
    await expectOAuthError(await fetch(`${s.base}/nope`), 404, 'invalid_request');
    await expectOAuthError(await fetch(`${s.base}/token`), 404, 'invalid_request');
    await expectOAuthError(
      await fetch(`${s.base}/.well-known/jwks.json`, { method: 'DELETE' }),
      404,
      'invalid_request',
    );
    const long = await fetch(`${s.base}/${'a'.repeat(5000)}`);
    await expectOAuthError(long, 404, 'invalid_request');
  });

  it('a bad percent-escape in the path and an over-long status list id are 400/414/404 JSON', async () => {
    await expectOAuthError(await fetch(`${s.base}/status-lists/%zz`), 400, 'invalid_request');
    await expectOAuthError(await fetch(`${s.base}/status-lists/${'9'.repeat(300)}`), 414, 'invalid_request');
    await expectOAuthError(await fetch(`${s.base}/status-lists/999999`), 404, 'invalid_request');
    await expectOAuthError(await fetch(`${s.base}/status-lists/..%2f..%2fetc`), 404, 'invalid_request');
  });

  it('garbage that is not HTTP gets a 400 JSON answer and a closed socket', async () => {
    const r = parseRaw(await raw(s.base, 'HELLO\r\n\r\n'));
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      error: 'invalid_request',
      error_description: 'the request is not valid HTTP',
    });
  });

  it('oversized headers get 431 JSON', async () => {
    const r = parseRaw(
      await raw(s.base, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`),
    );
    assert.equal(r.status, 431);
    assert.equal(r.body.error, 'invalid_request');
  });

  it('an oversized assertion is invalid_grant, an oversized parameter invalid_request', async () => {
    const s2 = await startServer();
    try {
      const huge = await post(`${s2.base}/token`, { grant_type: JWT_BEARER, assertion: 'a'.repeat(40_000) });
      assert.equal(huge.status, 400);
      assert.equal(huge.body.error, 'invalid_request');
      const big = await post(`${s2.base}/token`, {
        grant_type: JWT_BEARER,
        assertion: `${'a'.repeat(20_000)}.b.c`,
      });
      assert.equal(big.status, 400);
      assert.equal(big.body.error, 'invalid_grant');
      assert.match(String(big.body.error_description), /^malformed:/);
    } finally {
      await s2.close();
    }
  });

  it('assertions whose header or payload are not JSON objects are malformed', async () => {
    const b = (v: string) => Buffer.from(v).toString('base64url');
    for (const a of [
      `${b('[]')}.${b('{}')}.AA`,
      `${b('{"alg":"EdDSA"}')}.${b('null')}.AA`,
      `${b('{"alg":"EdDSA"')}.${b('{}')}.AA`,
      `${b('{"alg":"none"}')}.${b('{"iss":"svc","sub":"svc"}')}.`,
      '...',
      'a.b',
    ]) {
      const r = await post(`${s.base}/token`, { grant_type: JWT_BEARER, assertion: a });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.body.error, 'invalid_grant');
    }
  });

  it('alg none signed by nobody is refused even with a registered kid', async () => {
    const b = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const a = `${b({ alg: 'none', kid: svc.kid })}.${b({ iss: 'svc', sub: 'svc', aud: `${s.base}/token`, exp: now + 60, jti: 'n1' })}.`;
    const r = await post(`${s.base}/token`, { grant_type: JWT_BEARER, assertion: a });
    assert.equal(r.body.error, 'invalid_grant');
    assert.match(String(r.body.error_description), /^bad_signature:/);
  });

  it('a jti used for client authentication cannot be replayed as a grant (one replay namespace)', async () => {
    const a = assertion(svc, `${s.base}/token`);
    const auth = await post(`${s.base}/introspect`, {
      token: 'x',
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: a,
    });
    assert.equal(auth.status, 200, auth.text);
    const grant = await post(`${s.base}/token`, { grant_type: JWT_BEARER, assertion: a });
    assert.equal(grant.body.error, 'invalid_grant');
    assert.match(String(grant.body.error_description), /^replayed:/);
  });

  it('the same assertion sent 20 times at once is accepted exactly once (replay caught inside one commit batch)', async () => {
    const a = assertion(svc, `${s.base}/token`);
    const all = await Promise.all(
      Array.from({ length: 20 }, () => post(`${s.base}/token`, { grant_type: JWT_BEARER, assertion: a })),
    );
    assert.equal(all.filter((r) => r.status === 200).length, 1);
    for (const r of all.filter((x) => x.status !== 200)) {
      assert.equal(r.body.error, 'invalid_grant');
      assert.match(String(r.body.error_description), /^replayed:/);
    }
  });

  it('a grant response leaves only after its jti is committed (another connection sees it)', async () => {
    const a = assertion(svc, `${s.base}/token`);
    const jti = JSON.parse(Buffer.from(a.split('.')[1]!, 'base64url').toString()).jti as string;
    const r = await post(`${s.base}/token`, { grant_type: JWT_BEARER, assertion: a });
    assert.equal(r.status, 200, r.text);
    const other = new Database(path.join(s.dataDir, 'authority.db'), { readonly: true });
    try {
      const row = other.prepare('SELECT 1 AS one FROM seen_jti WHERE jti = ?').get(jti) as { one: number };
      assert.equal(row?.one, 1);
    } finally {
      other.close();
    }
  });

  it('the server still answers after all of the above', async () => {
    const r = await post(`${s.base}/token`, {
      grant_type: JWT_BEARER,
      assertion: assertion(svc, `${s.base}/token`),
    });
    assert.equal(r.status, 200, r.text);
  });
});
