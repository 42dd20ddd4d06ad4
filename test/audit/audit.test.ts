import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, lineHash, verifyAuditLog } from '../../src/audit/index.js';
import { signedKey, throwsCode } from '../offline/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'offtoken-'));
let n = 0;
const key = signedKey('audit-1');

/** A log of `count` events with a checkpoint every `every` entries, closed (sealed). */
function makeLog(count: number, every = 4): string {
  const path = join(dir, `log-${n++}.jsonl`);
  const log = AuditLog.open(path, {
    signingKey: key,
    checkpointEvery: every,
    clock: () => 1_800_000_000 + n,
  });
  for (let i = 0; i < count; i++) log.record('token.accept', { jti: `jti-${i}`, sub: 'alice' });
  log.close();
  return path;
}

const lines = (p: string) => readFileSync(p, 'utf8').split('\n').slice(0, -1);
const write = (p: string, ls: string[]) => writeFileSync(p, `${ls.join('\n')}\n`);

function brokenAt(fn: () => unknown, code: string, line: number): void {
  throwsCode(fn, code);
  try {
    fn();
  } catch (e) {
    assert.equal((e as { line?: number }).line, line);
  }
}

describe('audit log', () => {
  it('chains lines and verifies with checkpoints', () => {
    const p = makeLog(10, 4);
    const ls = lines(p);
    // 10 events + checkpoints after 4, 8 and one on close
    assert.equal(ls.length, 13);
    const first = JSON.parse(ls[0]!);
    assert.equal(first.seq, 0);
    assert.equal(first.prev, '0'.repeat(64));
    assert.equal(JSON.parse(ls[1]!).prev, lineHash(ls[0]!));
    const r = verifyAuditLog(p, { key: key.publicKey! });
    assert.equal(r.entries, 13);
    assert.equal(r.checkpoints, 3);
    assert.equal(r.unsealed, 0);
    assert.equal(r.head, lineHash(ls[12]!));
    assert.equal(r.signaturesChecked, true);
  });

  it('reopening continues the chain', () => {
    const p = makeLog(3, 100);
    const log = AuditLog.open(p, { signingKey: key });
    log.record('key.use', { kid: 'k' });
    log.close();
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).entries, 6);
  });

  it('detects an edited line -> ERR_AUDIT_CHAIN_BROKEN at the next line', () => {
    const p = makeLog(6);
    const ls = lines(p);
    ls[2] = ls[2]!.replace('jti-2', 'jti-X');
    write(p, ls);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHAIN_BROKEN', 4);
  });

  it('detects a deleted line', () => {
    const p = makeLog(6);
    const ls = lines(p);
    ls.splice(1, 1);
    write(p, ls);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHAIN_BROKEN', 2);
  });

  it('detects re-ordered lines', () => {
    const p = makeLog(6);
    const ls = lines(p);
    [ls[1], ls[2]] = [ls[2]!, ls[1]!];
    write(p, ls);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHAIN_BROKEN', 2);
  });

  it('detects a cut at the front', () => {
    const p = makeLog(6);
    write(p, lines(p).slice(1));
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHAIN_BROKEN', 1);
  });

  it('detects an edit whose chain was recomputed, through the checkpoint signature', () => {
    const p = makeLog(6, 4);
    const ls = lines(p);
    ls[1] = ls[1]!.replace('jti-1', 'jti-Y');
    // the attacker rewrites every later prev (but cannot re-sign the checkpoint)
    for (let i = 2; i < ls.length; i++) {
      const e = JSON.parse(ls[i]!);
      e.prev = lineHash(ls[i - 1]!);
      if (e.event === 'audit.checkpoint') {
        e.fields.head = e.prev;
      }
      ls[i] = JSON.stringify(e);
    }
    write(p, ls);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHECKPOINT_INVALID', 5);
  });

  it('a checkpoint signed by another key -> ERR_AUDIT_CHECKPOINT_INVALID', () => {
    const p = makeLog(4, 4);
    brokenAt(() => verifyAuditLog(p, { key: signedKey().publicKey! }), 'ERR_AUDIT_CHECKPOINT_INVALID', 5);
  });

  it('a line cut in the middle -> ERR_AUDIT_TRUNCATED at that line, and the writer refuses to append', () => {
    const p = makeLog(5);
    const size = readFileSync(p).length;
    truncateSync(p, size - 10);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', lines(p).length + 1);
    throwsCode(() => AuditLog.open(p, { signingKey: key }), 'ERR_AUDIT_LINE_INVALID');
  });

  it('whole lines cut after the last checkpoint -> ERR_AUDIT_TRUNCATED at the new last line', () => {
    // 6 events, every 4: events on lines 1-4, checkpoint 5, events 6-7, closing checkpoint 8
    const p = makeLog(6, 4);
    const ls = lines(p);
    assert.equal(ls.length, 8);
    assert.equal(JSON.parse(ls[7]!).fields.final, true);
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).sealed, true);
    for (const keep of [7, 6, 5]) {
      write(p, ls.slice(0, keep));
      brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', keep);
      // without the key the chain alone still shows it
      brokenAt(() => verifyAuditLog(p), 'ERR_AUDIT_TRUNCATED', keep);
    }
  });

  it('a log still being written passes only with allowOpen, and reports its unsealed entries', () => {
    const p = join(dir, `open-${n++}.jsonl`);
    const log = AuditLog.open(p, { signingKey: key, checkpointEvery: 3 });
    for (let i = 0; i < 5; i++) log.record('e', { i });
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 6);
    const r = verifyAuditLog(p, { key: key.publicKey!, allowOpen: true });
    assert.equal(r.unsealed, 2);
    assert.equal(r.sealed, false);
    log.close();
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).sealed, true);
  });

  it('the final flag is signed: flipping it -> ERR_AUDIT_CHECKPOINT_INVALID', () => {
    const p = makeLog(4, 4);
    const ls = lines(p);
    // line 5 is a periodic checkpoint: claim it is final and drop the real closing one
    const e = JSON.parse(ls[4]!);
    e.fields.final = true;
    write(p, [...ls.slice(0, 4), JSON.stringify(e)]);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHECKPOINT_INVALID', 5);
  });

  it('closing twice or reopening and closing adds no second final checkpoint', () => {
    const p = makeLog(2, 100);
    const before = lines(p).length;
    AuditLog.open(p, { signingKey: key }).close();
    assert.equal(lines(p).length, before);
  });

  it('a cut back to an earlier closing checkpoint passes alone, but fails --expect-head / --min-entries', () => {
    const p = makeLog(3, 100); // 3 events + closing checkpoint
    const first = lines(p);
    const log = AuditLog.open(p, { signingKey: key });
    log.record('e', { i: 9 });
    log.close();
    const head = verifyAuditLog(p, { key: key.publicKey! }).head;
    const entries = lines(p).length;
    write(p, first);
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).entries, 4);
    throwsCode(() => verifyAuditLog(p, { key: key.publicKey!, expectHead: head }), 'ERR_AUDIT_TRUNCATED');
    throwsCode(() => verifyAuditLog(p, { key: key.publicKey!, minEntries: entries }), 'ERR_AUDIT_TRUNCATED');
    // an earlier head is still contained
    assert.equal(verifyAuditLog(p, { expectHead: lineHash(first[1]!) }).entries, 4);
  });

  it('a hash-chained log without checkpoints is not sealed; requireSealed refuses it', () => {
    const p = join(dir, `nokey-${n++}.jsonl`);
    const log = AuditLog.open(p);
    log.record('e', {});
    log.close();
    assert.equal(verifyAuditLog(p).sealed, false);
    brokenAt(() => verifyAuditLog(p, { requireSealed: true }), 'ERR_AUDIT_TRUNCATED', 1);
  });

  it('an oversized or non-JSON line -> ERR_AUDIT_LINE_INVALID', () => {
    const p = makeLog(2);
    writeFileSync(p, `${readFileSync(p, 'utf8')}${'x'.repeat(70 * 1024)}\n`);
    brokenAt(() => verifyAuditLog(p), 'ERR_AUDIT_LINE_INVALID', 4);
    const q = makeLog(2);
    writeFileSync(q, `${readFileSync(q, 'utf8')}not json\n`);
    brokenAt(() => verifyAuditLog(q), 'ERR_AUDIT_LINE_INVALID', 4);
  });

  it('never records secrets or whole tokens', () => {
    const p = join(dir, `secret-${n++}.jsonl`);
    const log = AuditLog.open(p);
    log.record('token.issue', { token: 'eyJ.a.b', secret: 'hunter2', jti: 'j1', note: 'y'.repeat(1000) });
    log.close();
    const text = readFileSync(p, 'utf8');
    assert.ok(!text.includes('hunter2'));
    assert.ok(!text.includes('eyJ.a.b'));
    assert.ok(!text.includes('y'.repeat(300)));
    assert.ok(text.includes('"jti":"j1"'));
  });

  it('a second writer is refused while the first holds the lock -> ERR_AUDIT_LOCKED', () => {
    const p = join(dir, `lock-${n++}.jsonl`);
    const a = AuditLog.open(p);
    throwsCode(() => AuditLog.open(p), 'ERR_AUDIT_LOCKED');
    a.close();
    AuditLog.open(p).close();
  });
});
