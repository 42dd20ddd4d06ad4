import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli as runCli } from '../cli/helpers.js';
import { post, startServer, type TestServer } from './helpers.js';

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = runCli(args);
  return { status: r.code, stdout: r.stdout, stderr: r.stderr };
}

describe('CLI: clients and offline status check against a running authority', () => {
  let s: TestServer;
  let dir: string;
  before(async () => {
    s = await startServer();
    dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
  });
  after(() => s.close());

  it('clients add --generate writes a 0600 service-account file; its assertion gets a token; status check flips on revoke', async () => {
    const sa = path.join(dir, 'sa.json');
    const add = cli([
      'clients',
      'add',
      '--id',
      'cli-svc',
      '--generate',
      sa,
      '--data-dir',
      s.dataDir,
      '--audience',
      s.base,
      '--json',
    ]);
    assert.equal(add.status, 0, add.stderr);
    assert.equal(statSync(sa).mode & 0o777, 0o600);
    const list = cli(['clients', 'list', '--data-dir', s.dataDir, '--json']);
    assert.deepEqual(
      (JSON.parse(list.stdout) as { client_id: string }[]).map((c) => c.client_id),
      ['cli-svc'],
    );
    const tokenUrl = `${s.base}/token`;
    const a = cli(['clients', 'assertion', '--key', sa, '--aud', tokenUrl]).stdout.trim();
    const r = await post(tokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: a,
    });
    assert.equal(r.status, 200, r.text);
    const token = r.body.access_token as string;
    const jwksFile = path.join(dir, 'jwks.json');
    writeFileSync(jwksFile, await (await fetch(`${s.base}/.well-known/jwks.json`)).text());
    const listFile = path.join(dir, 'list.jwt');
    writeFileSync(listFile, await (await fetch(`${s.base}/status-lists/1`)).text());
    const ok = cli(['status', 'check', token, '--list', listFile, '--jwks', jwksFile, '--json']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).valid, true);
    const c = cli(['clients', 'assertion', '--key', sa, '--aud', tokenUrl]).stdout.trim();
    const rv = await post(`${s.base}/revoke`, {
      token,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: c,
    });
    assert.equal(rv.status, 200, rv.text);
    writeFileSync(listFile, await (await fetch(`${s.base}/status-lists/1`)).text());
    const bad = cli(['status', 'check', token, '--list', listFile, '--data-dir', s.dataDir]);
    assert.equal(bad.status, 1);
    assert.equal(JSON.parse(bad.stderr).error.code, 'ERR_TOKEN_REVOKED');
  });

  it('clients disable makes the next assertion fail; key rotation add/remove', async () => {
    const sa = path.join(dir, 'sa2.json');
    assert.equal(
      cli(['clients', 'add', '--id', 'rot', '--generate', sa, '--data-dir', s.dataDir, '--audience', s.base])
        .status,
      0,
    );
    const sa3 = path.join(dir, 'sa3.json');
    assert.equal(
      cli(['clients', 'add', '--id', 'tmp', '--generate', sa3, '--data-dir', s.dataDir]).status,
      0,
    );
    const newSa = JSON.parse(readFileSync(sa3, 'utf8'));
    newSa.client_id = 'rot';
    writeFileSync(sa3, JSON.stringify(newSa), { mode: 0o600 });
    assert.equal(
      cli(['clients', 'keys', 'add', '--id', 'rot', '--service-account', sa3, '--data-dir', s.dataDir])
        .status,
      0,
    );
    const oldKid = JSON.parse(readFileSync(sa, 'utf8')).private_key_id as string;
    assert.equal(
      cli(['clients', 'keys', 'remove', '--id', 'rot', '--kid', oldKid, '--data-dir', s.dataDir]).status,
      0,
    );
    const tokenUrl = `${s.base}/token`;
    const grant = (file: string) =>
      post(tokenUrl, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: cli(['clients', 'assertion', '--key', file, '--aud', tokenUrl]).stdout.trim(),
      });
    const oldKey = await grant(sa);
    assert.equal(oldKey.body.error, 'invalid_grant');
    assert.equal((await grant(sa3)).status, 200);
    assert.equal(cli(['clients', 'disable', '--id', 'rot', '--data-dir', s.dataDir]).status, 0);
    const disabled = await grant(sa3);
    assert.equal(disabled.body.error, 'invalid_grant');
    assert.match(String(disabled.body.error_description), /^disabled_client:/);
  });

  it('clients add --service-account takes the file service-account create writes; its assertion gets a token', async () => {
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const sa = path.join(dir, 'sa-created.json');
    const tokenUrl = `${s.base}/token`;
    const created = cli(['service-account', 'create', '--out', sa, '--token-uri', tokenUrl, '--json']);
    assert.equal(created.status, 0, created.stderr);
    const info = JSON.parse(created.stdout) as { client_id: string; private_key_id: string };
    const add = cli([
      'clients',
      'add',
      '--service-account',
      sa,
      '--data-dir',
      s.dataDir,
      '--audience',
      s.base,
      '--json',
    ]);
    assert.equal(add.status, 0, add.stderr);
    assert.deepEqual(JSON.parse(add.stdout), {
      client_id: info.client_id,
      kids: [info.private_key_id],
      scope: null,
      default_scope: null,
      audience: [s.base],
      resource_server: null,
    });
    const a = cli(['service-account', 'token', '--key', sa, '--assertion']);
    assert.equal(a.status, 0, a.stderr);
    const r = await post(tokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: a.stdout.trim(),
    });
    assert.equal(r.status, 200, r.text);
    const set = await (await fetch(`${s.base}/.well-known/jwks.json`)).json();
    const p = await jwtVerify(r.body.access_token as string, createLocalJWKSet(set as never), {
      issuer: s.base,
      typ: 'at+jwt',
    });
    assert.equal(p.payload.sub, info.client_id);
    // the same assertion again is a replay
    const again = await post(tokenUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: a.stdout.trim(),
    });
    assert.equal(again.body.error, 'invalid_grant');
    assert.match(String(again.body.error_description), /^replayed:/);
  });

  it('keys rotate rotates a running server: old tokens keep verifying, new ones use the new kid', async () => {
    const { createLocalJWKSet, jwtVerify } = await import('jose');
    const sa = path.join(dir, 'sa-rot.json');
    assert.equal(
      cli(['clients', 'add', '--id', 'rotk', '--generate', sa, '--data-dir', s.dataDir, '--audience', s.base])
        .status,
      0,
    );
    const tokenUrl = `${s.base}/token`;
    const grant = async () => {
      const r = await post(tokenUrl, {
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
        assertion: cli(['clients', 'assertion', '--key', sa, '--aud', tokenUrl]).stdout.trim(),
      });
      assert.equal(r.status, 200, r.text);
      return r.body.access_token as string;
    };
    const before = await grant();
    const r = cli(['keys', 'rotate', '--data-dir', s.dataDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { kid: string; previous: string };
    assert.notEqual(out.kid, out.previous);
    // what the server's once-a-second keyring watch runs, called directly so the test does not wait on a timer
    assert.equal(s.app.authority.reloadKeys(), true);
    assert.equal(s.app.authority.reloadKeys(), false);
    const after = await grant();
    const set = (await (await fetch(`${s.base}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    assert.deepEqual(set.keys.map((k) => k.kid).sort(), [out.kid, out.previous].sort());
    const jwks = createLocalJWKSet(set);
    assert.equal((await jwtVerify(before, jwks, { typ: 'at+jwt' })).protectedHeader.kid, out.previous);
    assert.equal((await jwtVerify(after, jwks, { typ: 'at+jwt' })).protectedHeader.kid, out.kid);
  });

  it('keys rotate without a keyring is ERR_SERVER_CONFIG', () => {
    const r = cli(['keys', 'rotate', '--data-dir', path.join(dir, 'none')]);
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stderr).error.code, 'ERR_SERVER_CONFIG');
  });

  it('clients add with a duplicate id fails with ERR_CLIENT_REGISTRY', () => {
    const r = cli([
      'clients',
      'add',
      '--id',
      'cli-svc',
      '--generate',
      path.join(dir, 'dup.json'),
      '--data-dir',
      s.dataDir,
    ]);
    assert.equal(r.status, 1);
    assert.equal(JSON.parse(r.stderr).error.code, 'ERR_CLIENT_REGISTRY');
  });
});
