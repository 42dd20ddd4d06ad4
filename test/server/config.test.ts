import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/server/config.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('server config', () => {
  it('defaults: 127.0.0.1:8787, ./.offtoken', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const c = loadConfig({ cwd, env: {} });
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 8787);
    assert.equal(c.dataDir, path.join(cwd, '.offtoken'));
  });

  it('file, then env, then flags', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    writeFileSync(
      path.join(cwd, 'offtoken.config.json'),
      JSON.stringify({ port: 9000, host: '0.0.0.0', accessTokenTtl: 60 }),
    );
    const c = loadConfig({
      cwd,
      env: { OFFTOKEN_PORT: '9100', OFFTOKEN_ISSUER: 'https://auth.example/' },
      overrides: { host: '::1' },
    });
    assert.equal(c.port, 9100);
    assert.equal(c.host, '::1');
    assert.equal(c.accessTokenTtl, 60);
    assert.equal(c.issuer, 'https://auth.example');
  });

  it('reads .offtoken/config.json when there is no offtoken.config.json', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    mkdirSync(path.join(cwd, '.offtoken'));
    writeFileSync(path.join(cwd, '.offtoken', 'config.json'), JSON.stringify({ port: 7000 }));
    assert.equal(loadConfig({ cwd, env: {} }).port, 7000);
  });

  it('rejects unknown keys, bad ports, bad JSON and a missing --config file', () => {
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    writeFileSync(path.join(cwd, 'a.json'), JSON.stringify({ prot: 1 }));
    writeFileSync(path.join(cwd, 'b.json'), '{');
    assert.equal(
      code(() => loadConfig({ cwd, env: {}, file: 'a.json' })),
      'ERR_SERVER_CONFIG',
    );
    assert.equal(
      code(() => loadConfig({ cwd, env: {}, file: 'b.json' })),
      'ERR_SERVER_CONFIG',
    );
    assert.equal(
      code(() => loadConfig({ cwd, env: {}, file: 'missing.json' })),
      'ERR_SERVER_CONFIG',
    );
    assert.equal(
      code(() => loadConfig({ cwd, env: { OFFTOKEN_PORT: '70000' } })),
      'ERR_SERVER_CONFIG',
    );
  });

  it('rejects a mapping that would overwrite a registered claim of the issued token', async () => {
    const { resolveConfig } = await import('../../src/server/config.js');
    for (const name of ['exp', 'iss', 'client_id', 'status', 'cnf'])
      assert.equal(
        code(() =>
          resolveConfig({
            federation: {
              providers: [
                {
                  type: 'oidc',
                  issuer: 'https://x',
                  jwks: { keys: [] },
                  audiences: ['a'],
                  attribute_mapping: { subject: 'assertion.sub', [name]: 'assertion.x' },
                },
              ],
            },
          }),
        ),
        'ERR_SERVER_CONFIG',
        name,
      );
  });

  it('rejects a federation provider whose CEL does not compile at load', async () => {
    const { Authority } = await import('../../src/server/authority.js');
    const { resolveConfig } = await import('../../src/server/config.js');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const cfg = resolveConfig({
      dataDir,
      federation: {
        providers: [
          {
            type: 'oidc',
            issuer: 'https://x',
            jwks: { keys: [] },
            audiences: ['a'],
            attribute_mapping: { subject: 'assertion.(' },
          },
        ],
      },
    });
    assert.equal(
      code(() => new Authority(cfg)),
      'ERR_FEDERATION_MAPPING',
    );
  });

  it('federation.cel_budget: the budget of mappings and conditions, validated at load', async () => {
    const { Authority } = await import('../../src/server/authority.js');
    const { resolveConfig } = await import('../../src/server/config.js');
    const provider = {
      type: 'oidc' as const,
      issuer: 'https://x',
      jwks: { keys: [] },
      audiences: ['a'],
      attribute_mapping: { subject: 'assertion.sub', groups: 'assertion.groups.map(g, g + "!")' },
    };
    for (const bad of [{ max_cost: 0 }, { max_nodes: 'many' }, { nope: 1 }, []])
      assert.equal(
        code(() => resolveConfig({ federation: { providers: [provider], cel_budget: bad as never } })),
        'ERR_SERVER_CONFIG',
      );
    // a mapping larger than a small max_nodes is refused when the authority starts
    const cfg = resolveConfig({
      dataDir: mkdtempSync(path.join(os.tmpdir(), 'offtoken-')),
      federation: { providers: [provider], cel_budget: { max_nodes: 5 } },
    });
    assert.equal(
      code(() => new Authority(cfg)),
      'ERR_CEL_COST_EXCEEDED',
    );
  });
});

describe('offtoken serve process', () => {
  it('creates the data dir with a 0600 keyring and database, serves, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'offtoken-'));
    const dataDir = path.join(dir, 'data');
    const root = path.resolve(import.meta.dirname, '../..');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', '0', '--data-dir', dataDir],
      { cwd: root, env: { ...process.env, OFFTOKEN_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (c) => reject(new Error(`exited ${c}`)));
    });
    const jwks = (await (await fetch(`${url}/.well-known/jwks.json`)).json()) as { keys: unknown[] };
    assert.equal(jwks.keys.length, 1);
    assert.equal(statSync(path.join(dataDir, 'keyring.json')).mode & 0o777, 0o600);
    assert.equal(statSync(path.join(dataDir, 'authority.db')).mode & 0o777, 0o600);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  });
});
