import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ACCESS_TOKEN_TYP, createStatusListToken, StatusList } from '../../src/status-list/index.js';
import { signCompact } from '../../src/status-list/jws.js';
import { cliAsync, ok, rejected, tempDir } from './helpers.js';

// status check --fetch against a real HTTP server in this process (the CLI runs as a child process).
let server: Server;
let base: string;
let hits: string[] = [];
const issuer = generateKeyPairSync('ed25519');
const kid = 'issuer-1';
const dir = tempDir();
const jwksFile = join(dir, 'jwks.json');
const iss = 'https://issuer.example';
const nowSec = () => Math.floor(Date.now() / 1000);

// 2 bits: 0 valid, 1 revoked, 2 suspended
const list = new StatusList(2, 8);
list.set(1, 1);
list.set(2, 2);

before(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    // /lists/1 is signed on each request with the current iat, as the authority serves it; /lists/old is a
    // copy signed an hour ago with a ttl of 300 s and no exp (a mirror that stopped updating)
    const iat = { '/lists/1': nowSec(), '/lists/old': nowSec() - 3600 }[req.url ?? ''];
    if (iat === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/statuslist+jwt' });
    res.end(listToken(req.url as string, iat));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const jwk = issuer.publicKey.export({ format: 'jwk' });
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...jwk, kid, alg: 'EdDSA', use: 'sig' }] }));
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const listToken = (path: string, iat: number) =>
  createStatusListToken(list, { uri: `${base}${path}`, key: issuer.privateKey, kid, iat, ttl: 300 });

// An access token as the authority mints it (authority.ts issue): typ at+jwt, iss, iat, exp, jti, status.
const token = (idx: number, uri = `${base}/lists/1`, o: { typ?: string; iat?: number; exp?: number } = {}) =>
  signCompact(
    { kid, typ: o.typ ?? ACCESS_TOKEN_TYP },
    {
      iss,
      sub: 'alice',
      aud: 'api',
      client_id: 'app',
      iat: o.iat ?? nowSec(),
      exp: o.exp ?? nowSec() + 600,
      jti: `j${idx}`,
      status: { status_list: { idx, uri } },
    },
    issuer.privateKey,
  );

const fetchArgs = (t: string) => [
  'status',
  'check',
  t,
  '--fetch',
  '--fetch-prefix',
  'http://192.0.2.1/elsewhere/',
  '--fetch-prefix',
  `${base}/lists/`,
  '--jwks',
  jwksFile,
  '--json',
];

describe('CLI: status check --fetch', () => {
  it('fetches the list from an allowed prefix and prints valid', async () => {
    hits = [];
    const out = JSON.parse(ok(await cliAsync(fetchArgs(token(0)))));
    assert.deepEqual(out, { valid: true, status: 0, idx: 0, uri: `${base}/lists/1` });
    assert.deepEqual(hits, ['/lists/1']);
  });

  it('exits 1 with ERR_TOKEN_REVOKED and ERR_TOKEN_SUSPENDED', async () => {
    rejected(await cliAsync(fetchArgs(token(1))), 'ERR_TOKEN_REVOKED');
    rejected(await cliAsync(fetchArgs(token(2))), 'ERR_TOKEN_SUSPENDED');
  });

  it('refuses a status uri outside the prefixes without fetching', async () => {
    hits = [];
    rejected(await cliAsync(fetchArgs(token(0, `${base}/admin/1`))), 'ERR_STATUS_LIST_URI_NOT_ALLOWED');
    assert.deepEqual(hits, []);
  });

  it('fails closed with ERR_STATUS_LIST_UNAVAILABLE when the list cannot be fetched', async () => {
    rejected(await cliAsync(fetchArgs(token(0, `${base}/lists/404`))), 'ERR_STATUS_LIST_UNAVAILABLE');
  });

  it('refuses an expired token with ERR_JWT_EXPIRED before any fetch, as --list does', async () => {
    hits = [];
    const expired = token(0, undefined, { iat: nowSec() - 3900, exp: nowSec() - 3600 });
    rejected(await cliAsync(fetchArgs(expired)), 'ERR_JWT_EXPIRED');
    assert.deepEqual(hits, []);
  });

  it('takes the token typ, iss and --now as --list does', async () => {
    rejected(await cliAsync(fetchArgs(token(0, undefined, { typ: 'JWT' }))), 'ERR_JWT_CLAIM_INVALID');
    ok(await cliAsync([...fetchArgs(token(0, undefined, { typ: 'JWT' })), '--typ', 'JWT', '--iss', iss]));
    rejected(
      await cliAsync([...fetchArgs(token(0)), '--iss', 'https://other.example']),
      'ERR_JWT_CLAIM_INVALID',
    );
    rejected(await cliAsync([...fetchArgs(token(0)), '--now', String(nowSec() + 3600)]), 'ERR_JWT_EXPIRED');
  });

  it('refuses a list that is stale when fetched (fail closed) and takes it with --allow-stale', async () => {
    const r = await cliAsync(fetchArgs(token(0, `${base}/lists/old`)));
    rejected(r, 'ERR_STATUS_LIST_UNAVAILABLE');
    assert.match(r.stderr, /ERR_STATUS_LIST_STALE/);
    const out = JSON.parse(
      ok(await cliAsync([...fetchArgs(token(0, `${base}/lists/old`)), '--allow-stale'])),
    );
    assert.equal(out.valid, true);
    rejected(
      await cliAsync([...fetchArgs(token(1, `${base}/lists/old`)), '--allow-stale']),
      'ERR_TOKEN_REVOKED',
    );
  });

  it('still checks from a --list file, and takes exactly one of --list and --fetch', async () => {
    const listFile = join(dir, 'list.jwt');
    writeFileSync(listFile, listToken('/lists/1', nowSec()));
    ok(await cliAsync(['status', 'check', token(0), '--list', listFile, '--jwks', jwksFile]));
    rejected(
      await cliAsync(['status', 'check', token(0), '--list', listFile, '--fetch', '--jwks', jwksFile]),
      'ERR_USAGE',
      2,
    );
    rejected(await cliAsync(['status', 'check', token(0), '--jwks', jwksFile]), 'ERR_USAGE', 2);
    rejected(await cliAsync(['status', 'check', token(0), '--fetch', '--jwks', jwksFile]), 'ERR_USAGE', 2);
  });
});
