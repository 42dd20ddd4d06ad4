import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/server/config.js';
import { startServer, type TestServer } from './helpers.js';

/** A raw socket with everything it received and a promise settled when it closes. */
interface Probe {
  sock: net.Socket;
  received(): string;
  closed: Promise<void>;
}

function open(base: string, bytes: string): Promise<Probe> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    let out = '';
    const sock = net.connect(Number(port), hostname);
    const closed = new Promise<void>((r) => sock.once('close', () => r()));
    sock.on('data', (d) => {
      out += d.toString();
    });
    sock.on('error', () => {});
    sock.once('connect', () => {
      if (bytes) sock.write(bytes);
      resolve({ sock, received: () => out, closed });
    });
    sock.once('error', reject);
  });
}

/** Resolves when the socket closes; rejects if it is still open after `ms` (a deadline, not a measurement). */
function closesWithin(p: Probe, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: still open after ${ms} ms`)), ms);
    void p.closed.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

async function connections(s: TestServer): Promise<number> {
  return new Promise((resolve, reject) =>
    s.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
  );
}

async function until(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const STALLED_BODY =
  'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
  'Content-Length: 1000\r\n\r\ngrant_type=';

describe('request, keep-alive and connection limits', () => {
  const REQUEST_TIMEOUT = 1000;
  const KEEP_ALIVE = 1000;
  let s: TestServer;
  before(async () => {
    s = await startServer({ requestTimeout: REQUEST_TIMEOUT, keepAliveTimeout: KEEP_ALIVE });
  });
  after(() => s.close());

  it('a stalled body beside idle sockets: each is answered 408 or closed within requestTimeout + 2 s', async () => {
    const stalled = await open(s.base, STALLED_BODY);
    const silent = await open(s.base, '');
    const halfHeaders = await open(s.base, 'POST /token HTTP/1.1\r\nHost: x\r\n');
    // a keep-alive socket that finished one request and then says nothing
    const idle = await open(s.base, 'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n');
    const deadline = REQUEST_TIMEOUT + 2000;
    await Promise.all([
      closesWithin(stalled, deadline, 'stalled body'),
      closesWithin(silent, deadline, 'silent socket'),
      closesWithin(halfHeaders, deadline, 'half-sent headers'),
      closesWithin(idle, KEEP_ALIVE + 2000, 'idle keep-alive socket'),
    ]);
    const text = stalled.received();
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.deepEqual(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), {
      error: 'invalid_request',
      error_description: 'the request was not received in time',
    });
    assert.match(halfHeaders.received(), /^HTTP\/1\.1 408 /);
    assert.match(idle.received(), /^HTTP\/1\.1 200 /);
  });

  it('a body trickled one byte at a time is cut off at the same deadline', async () => {
    const p = await open(s.base, STALLED_BODY);
    const drip = setInterval(() => {
      if (!p.sock.destroyed) p.sock.write('a');
    }, 100);
    try {
      await closesWithin(p, REQUEST_TIMEOUT + 2000, 'trickled body');
    } finally {
      clearInterval(drip);
    }
    assert.match(p.received(), /^HTTP\/1\.1 408 /);
  });

  it('a chunked body whose last chunk never comes is cut off the same way', async () => {
    const p = await open(
      s.base,
      'POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        'Transfer-Encoding: chunked\r\n\r\nb\r\ngrant_type=\r\n',
    );
    await closesWithin(p, REQUEST_TIMEOUT + 2000, 'chunked body');
    assert.match(p.received(), /^HTTP\/1\.1 408 /);
  });

  it('a request that arrives in time is answered normally', async () => {
    const res = await fetch(`${s.base}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
  });
});

describe('maxConnections', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ maxConnections: 2, requestTimeout: 30_000 });
  });
  after(() => s.close());

  it('closes connections past the cap on accept and takes new ones once a slot frees', async () => {
    const a = await open(s.base, '');
    const b = await open(s.base, '');
    await until(async () => (await connections(s)) === 2, 'two accepted connections');
    const c = await open(s.base, 'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\n\r\n');
    await closesWithin(c, 2000, 'connection past the cap');
    assert.equal(c.received(), '', 'a refused connection gets no answer');
    assert.equal(a.sock.destroyed || b.sock.destroyed, false, 'the accepted connections stay open');
    a.sock.destroy();
    await until(async () => (await connections(s)) === 1, 'a freed slot');
    const d = await open(
      s.base,
      'GET /.well-known/jwks.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    await closesWithin(d, 5000, 'an accepted request');
    assert.match(d.received(), /^HTTP\/1\.1 200 /);
    b.sock.destroy();
  });
});

describe('limit settings', () => {
  it('come from the config file, the environment and overrides, and are range-checked', () => {
    const c = loadConfig({
      cwd: '/nonexistent',
      env: {
        OFFTOKEN_REQUEST_TIMEOUT: '2000',
        OFFTOKEN_KEEP_ALIVE_TIMEOUT: '3000',
        OFFTOKEN_MAX_CONNECTIONS: '64',
      },
    });
    assert.equal(c.requestTimeout, 2000);
    assert.equal(c.keepAliveTimeout, 3000);
    assert.equal(c.maxConnections, 64);
    const d = loadConfig({ cwd: '/nonexistent', env: {} });
    assert.deepEqual([d.requestTimeout, d.keepAliveTimeout, d.maxConnections], [15_000, 5_000, 512]);
    for (const env of [
      { OFFTOKEN_REQUEST_TIMEOUT: '0' },
      { OFFTOKEN_KEEP_ALIVE_TIMEOUT: 'x' },
      { OFFTOKEN_MAX_CONNECTIONS: '0' },
    ])
      assert.throws(() => loadConfig({ cwd: '/nonexistent', env }), { code: 'ERR_SERVER_CONFIG' });
  });
});
