import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildJwks, writeKeyFileSync } from '../../src/keys/index.js';
import { cli as runCli } from '../cli/helpers.js';
import { macKey, publicOnly, sealedKey, signedKey } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'offtoken-'));

const cli = (args: string[], input?: string) => runCli(args, input !== undefined ? { input } : {});

function errorCode(stderr: string): string {
  return (JSON.parse(stderr.trim().split('\n').pop()!) as { error: { code: string } }).error.code;
}

const files = {
  sealed: join(dir, 'sealed.key'),
  signed: join(dir, 'signed.key'),
  signedPub: join(dir, 'signed.pub'),
  mac: join(dir, 'mac.key'),
  audit: join(dir, 'audit.key'),
  auditPub: join(dir, 'audit.pub'),
};
const ed = signedKey();
const auditKey = signedKey('audit-cli');
writeKeyFileSync(files.sealed, sealedKey());
writeKeyFileSync(files.signed, ed);
writeKeyFileSync(files.signedPub, publicOnly(ed));
writeKeyFileSync(files.mac, macKey());
writeKeyFileSync(files.audit, auditKey);
writeKeyFileSync(files.auditPub, publicOnly(auditKey));

describe('offtoken token generate / read', () => {
  for (const mode of ['sealed', 'signed', 'mac'] as const) {
    it(`${mode}: round trip, then a consumed token is rejected with exit 1 and ERR_OFFLINE_TOKEN_REPLAYED`, () => {
      const g = cli([
        'token',
        'generate',
        '--key',
        files[mode],
        '--mode',
        mode,
        '--claims',
        '{"sub":"alice","device":"d1","door":"B12"}',
        '--ttl',
        '60',
      ]);
      assert.equal(g.code, 0, g.stderr);
      const token = g.stdout.trim();
      const readKey = mode === 'signed' ? files.signedPub : files[mode];
      const r = cli(['token', 'read', '--key', readKey, token]);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.payload, { door: 'B12' });
      assert.equal(out.claims.sub, 'alice');
      const db = `sqlite:${join(dir, `replay-${mode}.db`)}`;
      assert.equal(cli(['token', 'read', '--key', readKey, '--consume', db, '-'], token).code, 0);
      const again = cli(['token', 'read', '--key', readKey, '--consume', db, '-'], token);
      assert.equal(again.code, 1);
      assert.equal(errorCode(again.stderr), 'ERR_OFFLINE_TOKEN_REPLAYED');
      assert.ok(!again.stderr.includes(token));
    });
  }

  it('a tampered token exits 1 with ERR_OFFLINE_TOKEN_INVALID, no stack trace', () => {
    const token = cli(['token', 'generate', '--key', files.mac]).stdout.trim();
    // one character in the middle of the signature: always inside the decoded bytes
    const i = token.length - 20;
    const bad = `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
    const r = cli(['token', 'read', '--key', files.mac, bad]);
    assert.equal(r.code, 1);
    assert.equal(errorCode(r.stderr), 'ERR_OFFLINE_TOKEN_INVALID');
    assert.ok(!r.stderr.includes('    at '));
  });

  it('bad usage exits 2 with ERR_USAGE', () => {
    const r = cli(['token', 'generate', '--key', files.mac, '--claims', '{not json']);
    assert.equal(r.code, 2);
    assert.equal(errorCode(r.stderr), 'ERR_USAGE');
    const e = cli(['token', 'generate', '--key', files.mac, '--claims', '{"exp":1}']);
    assert.equal(e.code, 2);
    assert.equal(errorCode(e.stderr), 'ERR_USAGE');
  });
});

describe('offtoken provision batch / check', () => {
  it('mints JSON lines per serial, checked once by the gateway', () => {
    const serials = join(dir, 'serials.txt');
    const out = join(dir, 'batch.jsonl');
    writeFileSync(serials, '# line 1\nSN-0001\nSN-0002\nSN-0003\n');
    const b = cli([
      'provision',
      'batch',
      '--key',
      files.signed,
      '--serials',
      serials,
      '--out',
      out,
      '--ttl',
      '3600',
      '--progress',
    ]);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(JSON.parse(b.stdout).issued, 3);
    assert.match(b.stderr, /provision .* 3\/3/);
    const recs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      recs.map((r) => r.serial),
      ['SN-0001', 'SN-0002', 'SN-0003'],
    );
    const db = `sqlite:${join(dir, 'gw.db')}`;
    const c = cli(['provision', 'check', '--key', files.signedPub, '--consume', db, recs[0].token]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(JSON.parse(c.stdout).serial, 'SN-0001');
    const again = cli(['provision', 'check', '--key', files.signedPub, '--consume', db, recs[0].token]);
    assert.equal(again.code, 1);
    assert.equal(errorCode(again.stderr), 'ERR_OFFLINE_TOKEN_REPLAYED');
    // the gateway can hold the public JWKS instead (offtoken keys jwks), keys selected by kid
    const jwks = join(dir, 'factory.jwks');
    writeFileSync(jwks, JSON.stringify(buildJwks([publicOnly(ed)])));
    const j = cli(['provision', 'check', '--jwks', jwks, '--consume', db, recs[1].token]);
    assert.equal(j.code, 0, j.stderr);
    assert.equal(JSON.parse(j.stdout).serial, 'SN-0002');
    const other = join(dir, 'other.jwks');
    writeFileSync(other, JSON.stringify(buildJwks([publicOnly(signedKey())])));
    const w = cli(['provision', 'check', '--jwks', other, '--consume', db, recs[2].token]);
    assert.equal(w.code, 1);
    assert.equal(errorCode(w.stderr), 'ERR_OFFLINE_TOKEN_WRONG_KEY');
    // the out file is never overwritten
    const twice = cli(['provision', 'batch', '--key', files.signed, '--serials', serials, '--out', out]);
    assert.equal(twice.code, 2);
  });
});

describe('offtoken breakglass issue / use and audit verify', () => {
  it('issues, uses once, records every use, and the audit log verifies; an edit is found with its line', () => {
    const out = join(dir, 'bg.jsonl');
    const log = join(dir, 'audit.jsonl');
    const i = cli([
      'breakglass',
      'issue',
      '--key',
      files.sealed,
      '--scope',
      'prod-db',
      '--count',
      '2',
      '--out',
      out,
      '--audit',
      log,
      '--audit-key',
      files.audit,
    ]);
    assert.equal(i.code, 0, i.stderr);
    const recs = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const db = `sqlite:${join(dir, 'bg.db')}`;
    const use = (t: string) =>
      cli([
        'breakglass',
        'use',
        '--key',
        files.sealed,
        '--consume',
        db,
        '--audit',
        log,
        '--audit-key',
        files.audit,
        t,
      ]);
    assert.equal(use(recs[0].token).code, 0);
    const again = use(recs[0].token);
    assert.equal(again.code, 1);
    assert.equal(errorCode(again.stderr), 'ERR_OFFLINE_TOKEN_REPLAYED');
    const v = cli(['audit', 'verify', log, '--key', files.auditPub, '--require-sealed']);
    assert.equal(v.code, 0, v.stderr);
    const summary = JSON.parse(v.stdout);
    assert.equal(summary.ok, true);
    const text = readFileSync(log, 'utf8');
    assert.ok(text.includes('"event":"breakglass.use"'));
    assert.ok(text.includes('"event":"breakglass.reject"'));
    assert.ok(!text.includes(recs[0].token));
    assert.equal(summary.sealed, true);
    const lines = text.split('\n').slice(0, -1);
    const bad = (ls: string[], code: string, line: number, extra: string[] = []) => {
      writeFileSync(log, `${ls.join('\n')}\n`);
      const r = cli(['audit', 'verify', log, '--key', files.auditPub, ...extra]);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(errorCode(r.stderr), code);
      assert.match(r.stderr, new RegExp(`line ${line}\\b`));
    };
    // a head recorded earlier that the log does not contain
    bad(lines, 'ERR_AUDIT_TRUNCATED', lines.length, ['--expect-head', 'f'.repeat(64)]);
    // edit line 3 (line 1 is the opening checkpoint, line 2 the key use): the chain breaks at line 4
    bad(
      [...lines.slice(0, 2), lines[2]!.replace('prod-db', 'prod-dc'), ...lines.slice(3)],
      'ERR_AUDIT_CHAIN_BROKEN',
      4,
    );
    // delete line 2, re-order lines 2 and 3
    bad([lines[0]!, ...lines.slice(2)], 'ERR_AUDIT_CHAIN_BROKEN', 2);
    bad([lines[0]!, lines[2]!, lines[1]!, ...lines.slice(3)], 'ERR_AUDIT_CHAIN_BROKEN', 2);
    // cut the closing checkpoint (and more) off the end
    bad(lines.slice(0, -1), 'ERR_AUDIT_TRUNCATED', lines.length - 1);
    bad(lines.slice(0, -3), 'ERR_AUDIT_TRUNCATED', lines.length - 3);
    // a cut back to exactly an earlier closing checkpoint needs a count or head recorded elsewhere
    bad(lines.slice(0, -2), 'ERR_AUDIT_TRUNCATED', lines.length - 2, ['--min-entries', String(lines.length)]);
    // without a key the chain alone still finds the edit
    writeFileSync(
      log,
      `${[...lines.slice(0, 2), lines[2]!.replace('prod-db', 'prod-dc'), ...lines.slice(3)].join('\n')}\n`,
    );
    const nokey = cli(['audit', 'verify', log]);
    assert.equal(nokey.code, 1);
    assert.equal(errorCode(nokey.stderr), 'ERR_AUDIT_CHAIN_BROKEN');
    writeFileSync(log, text);
    const ok = JSON.parse(cli(['audit', 'verify', log]).stdout);
    assert.equal(ok.signaturesChecked, false);
  });
});
