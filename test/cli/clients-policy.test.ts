import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuthorityDb } from '../../src/server/db.js';
import { cli, ok, rejected, tempDir } from './helpers.js';

describe('clients add/update: scope, audience and resource-server lists (issue 9 items 4, 5)', () => {
  const dir = tempDir();
  const data = join(dir, 'data');
  const run = (...args: string[]) => cli(['clients', ...args, '--data-dir', data]);

  it('registers the lists given (repeated flags add up) and lists them', () => {
    const out = JSON.parse(
      ok(
        run(
          'add',
          '--id',
          'svc',
          '--generate',
          join(dir, 'sa.json'),
          '--scope',
          'read:reports/',
          '--scope',
          'write:reports/drafts/',
          '--default-scope',
          'read:reports/',
          '--audience',
          'https://reports.internal',
          '--resource-server',
          'https://reports.internal',
          '--json',
        ),
      ),
    ) as Record<string, unknown>;
    assert.deepEqual(out.scope, ['read:reports/', 'write:reports/drafts/']);
    assert.deepEqual(out.default_scope, ['read:reports/']);
    assert.deepEqual(out.audience, ['https://reports.internal']);
    assert.deepEqual(out.resource_server, ['https://reports.internal']);
    const db = new AuthorityDb(join(data, 'authority.db'));
    try {
      assert.deepEqual(db.getClientPolicy('svc'), {
        scopes: ['read:reports/', 'write:reports/drafts/'],
        defaultScopes: ['read:reports/'],
        audiences: ['https://reports.internal'],
        resourceServers: ['https://reports.internal'],
      });
    } finally {
      db.close();
    }
  });

  it('refuses a default scope outside --scope and a malformed scope with ERR_CLIENT_REGISTRY, writing nothing', () => {
    const sa = join(dir, 'never.json');
    rejected(
      run('add', '--id', 'bad', '--generate', sa, '--scope', 'read', '--default-scope', 'admin'),
      'ERR_CLIENT_REGISTRY',
    );
    rejected(run('add', '--id', 'bad', '--generate', sa, '--scope', 'a"b'), 'ERR_CLIENT_REGISTRY');
    rejected(run('add', '--id', 'bad', '--generate', sa, '--audience', 'https://a b'), 'ERR_CLIENT_REGISTRY');
    const list = JSON.parse(ok(run('list', '--json'))) as { client_id: string }[];
    assert.deepEqual(
      list.map((c) => c.client_id),
      ['svc'],
    );
  });

  it('update replaces only the lists given; --clear empties one; the default must stay inside --scope', () => {
    const up = JSON.parse(
      ok(run('update', '--id', 'svc', '--audience', 'https://payments.internal', '--json')),
    );
    assert.deepEqual(up.audience, ['https://payments.internal']);
    assert.deepEqual(up.scope, ['read:reports/', 'write:reports/drafts/']);
    rejected(run('update', '--id', 'svc', '--clear', 'scope'), 'ERR_CLIENT_REGISTRY');
    const cleared = JSON.parse(
      ok(run('update', '--id', 'svc', '--clear', 'scope', 'default-scope', '--json')),
    );
    assert.deepEqual(cleared.scope, []);
    assert.deepEqual(cleared.default_scope, []);
    rejected(run('update', '--id', 'nobody', '--scope', 'read'), 'ERR_CLIENT_REGISTRY');
  });

  it('update without a list, or with an unknown --clear name, is a usage error', () => {
    rejected(run('update', '--id', 'svc'), 'ERR_USAGE', 2);
    rejected(run('update', '--id', 'svc', '--clear', 'everything'), 'ERR_USAGE', 2);
    rejected(run('update', '--id', 'svc', '--clear', 'scope', '--scope', 'read'), 'ERR_USAGE', 2);
  });

  it('--help names the flags', () => {
    const add = ok(cli(['clients', 'add', '--help']));
    for (const f of ['--scope', '--default-scope', '--audience', '--resource-server'])
      assert.match(add, new RegExp(f));
    const update = ok(cli(['clients', 'update', '--help']));
    assert.match(update, /--clear/);
  });
});
