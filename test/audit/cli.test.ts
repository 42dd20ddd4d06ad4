import assert from 'node:assert/strict';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, lineHash } from '../../src/audit/index.js';
import { buildJwks, writeKeyFileSync } from '../../src/keys/index.js';
import { cli, ok, rejected, tempDir } from '../cli/helpers.js';
import { publicOnly, sealedKey, signedKey } from '../offline/helpers.js';

const dir = tempDir();
const key = signedKey('audit-cli-1');
const files = { pub: join(dir, 'audit.pub'), priv: join(dir, 'audit.key'), jwks: join(dir, 'jwks.json') };
writeKeyFileSync(files.priv, key);
writeKeyFileSync(files.pub, publicOnly(key));
writeFileSync(files.jwks, JSON.stringify(buildJwks([key])));
let n = 0;

/** A closed log: opening checkpoint, `count` events, a checkpoint every `every`, the closing checkpoint. */
function makeLog(count: number, every = 4, close = true): string {
  const path = join(dir, `log-${n++}.jsonl`);
  const log = AuditLog.open(path, { signingKey: key, checkpointEvery: every });
  for (let i = 0; i < count; i++) log.record('token.accept', { jti: `jti-${i}` });
  if (close) log.close();
  return path;
}
const lines = (p: string) => readFileSync(p, 'utf8').split('\n').slice(0, -1);
const write = (p: string, ls: string[]) => writeFileSync(p, `${ls.join('\n')}\n`);
/** A forger without the key renumbers seq and rewrites prev so the chain is whole again. */
function rechain(ls: string[]): string[] {
  const out: string[] = [];
  ls.forEach((l, i) => {
    const e = JSON.parse(l);
    e.seq = i;
    e.prev = i === 0 ? '0'.repeat(64) : lineHash(out[i - 1]!);
    out.push(JSON.stringify(e));
  });
  return out;
}
const noCheckpoints = (ls: string[]) => ls.filter((l) => JSON.parse(l).event !== 'audit.checkpoint');
const verify = (p: string, ...extra: string[]) => cli(['audit', 'verify', p, ...extra]);

describe('offtoken audit verify with a key: checkpoints required', () => {
  it('accepts a log the CLI wrote with --audit-key (provision batch), with --key and --jwks', () => {
    const serials = join(dir, 'serials.txt');
    writeFileSync(serials, 'SN-1\nSN-2\n');
    const sealed = join(dir, 'sealed.key');
    writeKeyFileSync(sealed, sealedKey());
    const log = join(dir, 'batch.jsonl');
    const out = join(dir, 'batch.out');
    ok(
      cli([
        'provision',
        'batch',
        '--key',
        sealed,
        '--serials',
        serials,
        '--out',
        out,
        '--audit',
        log,
        '--audit-key',
        files.priv,
      ]),
    );
    const byKey = JSON.parse(ok(verify(log, '--key', files.pub)));
    assert.deepEqual(
      [byKey.ok, byKey.sealed, byKey.unsealedTail, byKey.signaturesChecked],
      [true, true, 0, true],
    );
    assert.equal(JSON.parse(ok(verify(log, '--jwks', files.jwks))).sealed, true);
  });

  it('rejects a log with its checkpoint lines dropped and seq/prev recomputed -> ERR_AUDIT_TRUNCATED', () => {
    const p = makeLog(6);
    write(p, rechain(noCheckpoints(lines(p))));
    rejected(verify(p, '--key', files.pub), 'ERR_AUDIT_TRUNCATED');
    rejected(verify(p, '--jwks', files.jwks, '--allow-open'), 'ERR_AUDIT_TRUNCATED');
  });

  it('rejects an edited entry with seq/prev recomputed -> ERR_AUDIT_TRUNCATED, or ERR_AUDIT_CHECKPOINT_INVALID', () => {
    const p = makeLog(6);
    const edited = lines(p).map((l) => l.replace('jti-2', 'jti-forged'));
    write(p, rechain(noCheckpoints(edited)));
    rejected(verify(p, '--key', files.pub), 'ERR_AUDIT_TRUNCATED');
    write(p, rechain(edited));
    rejected(verify(p, '--key', files.pub, '--allow-open'), 'ERR_AUDIT_CHECKPOINT_INVALID');
  });

  it('rejects a log cut before its first checkpoint, and a 0-byte log -> ERR_AUDIT_TRUNCATED', () => {
    const p = makeLog(6);
    write(p, rechain(lines(p).slice(1, 4)));
    rejected(verify(p, '--key', files.pub, '--allow-open'), 'ERR_AUDIT_TRUNCATED');
    truncateSync(p, 0);
    rejected(verify(p, '--key', files.pub), 'ERR_AUDIT_TRUNCATED');
  });

  it('rejects a log cut after a checkpoint -> ERR_AUDIT_TRUNCATED; --allow-open reports unsealedTail', () => {
    const p = makeLog(6, 4);
    // opening checkpoint, 4 events, checkpoint (line 6), 1 event kept of 2, closing checkpoint cut
    write(p, lines(p).slice(0, 7));
    rejected(verify(p, '--key', files.pub), 'ERR_AUDIT_TRUNCATED');
    const r = JSON.parse(ok(verify(p, '--key', files.pub, '--allow-open')));
    assert.deepEqual([r.ok, r.sealed, r.unsealedTail, r.lastCheckpointLine], [true, false, 1, 6]);
  });

  it('a log still being written: refused without --allow-open, accepted with it and its unsealedTail', () => {
    const p = makeLog(5, 100, false);
    rejected(verify(p, '--key', files.pub), 'ERR_AUDIT_TRUNCATED');
    const r = JSON.parse(ok(verify(p, '--jwks', files.jwks, '--allow-open')));
    assert.deepEqual([r.sealed, r.unsealedTail, r.checkpoints], [false, 5, 1]);
  });
});
