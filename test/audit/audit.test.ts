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

/** What a forger without the key can do: renumber `seq` and rewrite every `prev` so the chain is whole again. */
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
const isCheckpoint = (l: string) => JSON.parse(l).event === 'audit.checkpoint';

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
    // the opening checkpoint, 10 events, checkpoints after 4 and 8, and one on close
    assert.equal(ls.length, 14);
    const first = JSON.parse(ls[0]!);
    assert.equal(first.seq, 0);
    assert.equal(first.event, 'audit.checkpoint');
    assert.equal(first.fields.seq, -1);
    assert.equal(first.prev, '0'.repeat(64));
    assert.equal(JSON.parse(ls[1]!).prev, lineHash(ls[0]!));
    const r = verifyAuditLog(p, { key: key.publicKey! });
    assert.equal(r.entries, 14);
    assert.equal(r.checkpoints, 4);
    assert.equal(r.unsealedTail, 0);
    assert.equal(r.head, lineHash(ls[13]!));
    assert.equal(r.signaturesChecked, true);
  });

  it('reopening continues the chain', () => {
    const p = makeLog(3, 100);
    const log = AuditLog.open(p, { signingKey: key });
    log.record('key.use', { kid: 'k' });
    log.close();
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).entries, 7);
  });

  it('detects an edited line -> ERR_AUDIT_CHAIN_BROKEN at the next line', () => {
    const p = makeLog(6);
    const ls = lines(p);
    ls[3] = ls[3]!.replace('jti-2', 'jti-X');
    write(p, ls);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHAIN_BROKEN', 5);
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
    ls[2] = ls[2]!.replace('jti-1', 'jti-Y');
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
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHECKPOINT_INVALID', 6);
  });

  it('a checkpoint signed by another key -> ERR_AUDIT_CHECKPOINT_INVALID', () => {
    const p = makeLog(4, 4);
    brokenAt(() => verifyAuditLog(p, { key: signedKey().publicKey! }), 'ERR_AUDIT_CHECKPOINT_INVALID', 1);
  });

  it('a line cut in the middle -> ERR_AUDIT_TRUNCATED at that line, and the writer refuses to append', () => {
    const p = makeLog(5);
    const size = readFileSync(p).length;
    truncateSync(p, size - 10);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', lines(p).length + 1);
    throwsCode(() => AuditLog.open(p, { signingKey: key }), 'ERR_AUDIT_LINE_INVALID');
  });

  it('whole lines cut after the last checkpoint -> ERR_AUDIT_TRUNCATED at the new last line', () => {
    // 6 events, every 4: opening checkpoint 1, events on lines 2-5, checkpoint 6, events 7-8, closing checkpoint 9
    const p = makeLog(6, 4);
    const ls = lines(p);
    assert.equal(ls.length, 9);
    assert.equal(JSON.parse(ls[8]!).fields.final, true);
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).sealed, true);
    for (const keep of [8, 7, 6]) {
      write(p, ls.slice(0, keep));
      brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', keep);
      // without the key the chain alone still shows it
      brokenAt(() => verifyAuditLog(p), 'ERR_AUDIT_TRUNCATED', keep);
    }
  });

  it('a log still being written passes only with allowOpen, and reports its unsealedTail', () => {
    const p = join(dir, `open-${n++}.jsonl`);
    const log = AuditLog.open(p, { signingKey: key, checkpointEvery: 3 });
    for (let i = 0; i < 5; i++) log.record('e', { i });
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 7);
    const r = verifyAuditLog(p, { key: key.publicKey!, allowOpen: true });
    assert.equal(r.unsealedTail, 2);
    assert.equal(r.sealed, false);
    log.close();
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).sealed, true);
  });

  it('rejects a log whose checkpoint lines were all dropped and the chain recomputed -> ERR_AUDIT_TRUNCATED', () => {
    const p = makeLog(10, 4);
    const kept = rechain(lines(p).filter((l) => !isCheckpoint(l)));
    write(p, kept);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 10);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey!, allowOpen: true }), 'ERR_AUDIT_TRUNCATED', 10);
    // without the key such a log is indistinguishable from one written without checkpoints
    assert.equal(verifyAuditLog(p).signaturesChecked, false);
  });

  it('rejects an edited entry with seq/prev recomputed and the checkpoints dropped -> ERR_AUDIT_TRUNCATED', () => {
    const p = makeLog(6, 4);
    const edited = lines(p)
      .filter((l) => !isCheckpoint(l))
      .map((l) => l.replace('jti-3', 'jti-forged'));
    write(p, rechain(edited));
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 6);
  });

  it('rejects an edited entry with seq/prev recomputed around kept checkpoints -> ERR_AUDIT_CHECKPOINT_INVALID', () => {
    const p = makeLog(6, 4);
    const ls = lines(p).map((l) => l.replace('jti-4', 'jti-forged'));
    // the checkpoints' head fields are made to match too; only their signatures give the edit away
    const forged = rechain(ls).map((l, i, all) => {
      const e = JSON.parse(l);
      if (e.event !== 'audit.checkpoint' || i === 0) return l;
      e.fields.head = lineHash(all[i - 1]!);
      return JSON.stringify(e);
    });
    write(p, rechain(forged));
    throwsCode(
      () => verifyAuditLog(p, { key: key.publicKey!, allowOpen: true }),
      'ERR_AUDIT_CHECKPOINT_INVALID',
    );
  });

  it('rejects a log cut before its first checkpoint -> ERR_AUDIT_TRUNCATED', () => {
    // what is left of a log cut before its first checkpoint: entries only, a whole chain
    const p = makeLog(6, 4);
    write(p, rechain(lines(p).slice(1, 5)));
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 4);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey!, allowOpen: true }), 'ERR_AUDIT_TRUNCATED', 4);
  });

  it('rejects a 0-byte log checked with a key -> ERR_AUDIT_TRUNCATED', () => {
    const p = makeLog(3);
    truncateSync(p, 0);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 0);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey!, allowOpen: true }), 'ERR_AUDIT_TRUNCATED', 0);
  });

  it('rejects a log cut right after a periodic checkpoint unless allowOpen, with unsealedTail 0', () => {
    const p = makeLog(6, 4);
    write(p, lines(p).slice(0, 6));
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 6);
    const r = verifyAuditLog(p, { key: key.publicKey!, allowOpen: true });
    assert.equal(r.unsealedTail, 0);
    assert.equal(r.sealed, false);
  });

  it('entries forged after the closing checkpoint are an unsealed tail: refused, or reported with allowOpen', () => {
    const p = makeLog(3, 100);
    const ls = lines(p);
    const forged = rechain([...ls, ls[1]!.replace('jti-0', 'jti-forged'), ls[2]!.replace('jti-1', 'jti-x')]);
    write(p, forged);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', forged.length);
    assert.equal(verifyAuditLog(p, { key: key.publicKey!, allowOpen: true }).unsealedTail, 2);
  });

  it('an empty log written with a key verifies, sealed (opening and closing checkpoints)', () => {
    const p = join(dir, `empty-${n++}.jsonl`);
    AuditLog.open(p, { signingKey: key }).close();
    const r = verifyAuditLog(p, { key: key.publicKey! });
    assert.deepEqual([r.entries, r.checkpoints, r.sealed, r.unsealedTail], [2, 2, true, 0]);
  });

  it('a new log still being written is covered by its opening checkpoint: allowOpen reports the tail', () => {
    const p = join(dir, `young-${n++}.jsonl`);
    const log = AuditLog.open(p, { signingKey: key });
    log.record('e', { i: 1 });
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_TRUNCATED', 2);
    assert.equal(verifyAuditLog(p, { key: key.publicKey!, allowOpen: true }).unsealedTail, 1);
    log.close();
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).sealed, true);
  });

  it('the final flag is signed: flipping it -> ERR_AUDIT_CHECKPOINT_INVALID', () => {
    const p = makeLog(4, 4);
    const ls = lines(p);
    // line 6 is a periodic checkpoint: claim it is final and drop the real closing one
    const e = JSON.parse(ls[5]!);
    e.fields.final = true;
    write(p, [...ls.slice(0, 5), JSON.stringify(e)]);
    brokenAt(() => verifyAuditLog(p, { key: key.publicKey! }), 'ERR_AUDIT_CHECKPOINT_INVALID', 6);
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
    assert.equal(verifyAuditLog(p, { key: key.publicKey! }).entries, 5);
    throwsCode(() => verifyAuditLog(p, { key: key.publicKey!, expectHead: head }), 'ERR_AUDIT_TRUNCATED');
    throwsCode(() => verifyAuditLog(p, { key: key.publicKey!, minEntries: entries }), 'ERR_AUDIT_TRUNCATED');
    // an earlier head is still contained
    assert.equal(verifyAuditLog(p, { expectHead: lineHash(first[1]!) }).entries, 5);
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
    brokenAt(() => verifyAuditLog(p), 'ERR_AUDIT_LINE_INVALID', 5);
    const q = makeLog(2);
    writeFileSync(q, `${readFileSync(q, 'utf8')}not json\n`);
    brokenAt(() => verifyAuditLog(q), 'ERR_AUDIT_LINE_INVALID', 5);
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
