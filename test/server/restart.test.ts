import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from 'jose';
import { verifyStatusListToken } from '../../src/status-list/index.js';
import { addClient, assertion, CLIENT_ASSERTION_TYPE, JWT_BEARER, post, startServer } from './helpers.js';

const ISSUER = 'http://authority.test';

describe('state survives a restart of the authority', () => {
  it('revocations persist, status slots are never handed out twice, the keyring is reused', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const first = await startServer({ dataDir, issuer: ISSUER });
    const svc = addClient(first, 'svc');
    const auth = (endpoint: string) => ({
      client_assertion_type: CLIENT_ASSERTION_TYPE,
      client_assertion: assertion(svc, `${ISSUER}${endpoint}`),
    });
    const grant = async (base: string) => {
      const r = await post(`${base}/token`, {
        grant_type: JWT_BEARER,
        assertion: assertion(svc, `${ISSUER}/token`),
      });
      assert.equal(r.status, 200, r.text);
      return r.body.access_token as string;
    };
    const slot = async (base: string, token: string) => {
      const set = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      const p = (await jwtVerify(token, createLocalJWKSet(set), { issuer: ISSUER, typ: 'at+jwt' })).payload;
      return (p.status as { status_list: { idx: number; uri: string } }).status_list;
    };

    const revoked = await grant(first.base);
    const kept = await grant(first.base);
    const rv = await post(`${first.base}/revoke`, { token: revoked, ...auth('/revoke') });
    assert.equal(rv.status, 200, rv.text);
    const a = await slot(first.base, revoked);
    const b = await slot(first.base, kept);
    await first.close();

    const second = await startServer({ dataDir, issuer: ISSUER });
    try {
      // the same keyring: tokens signed before the restart verify with the new process's JWKS
      assert.deepEqual(await slot(second.base, revoked), a);
      const ins = await post(`${second.base}/introspect`, { token: revoked, ...auth('/introspect') });
      assert.deepEqual(ins.body, { active: false });
      const ok = await post(`${second.base}/introspect`, { token: kept, ...auth('/introspect') });
      assert.equal(ok.body.active, true);
      const fresh = await grant(second.base);
      const c = await slot(second.base, fresh);
      assert.ok(![a.idx, b.idx].includes(c.idx), `slot ${c.idx} was handed out before the restart`);
      const res = await fetch(`${second.base}/status-lists/${a.uri.split('/').pop()}`);
      const set = (await (await fetch(`${second.base}/.well-known/jwks.json`)).json()) as {
        keys: Record<string, unknown>[];
      };
      const list = verifyStatusListToken(await res.text(), { key: set, uri: a.uri }).list;
      assert.equal(list.get(a.idx), 1);
      assert.equal(list.get(b.idx), 0);
      assert.equal(list.get(c.idx), 0);
    } finally {
      await second.close();
    }
  });
});
