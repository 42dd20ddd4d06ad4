import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, verifyAuditLog } from '../../src/audit/index.js';
import { OfflineTokenGenerator } from '../../src/offline/index.js';
import {
  checkProvisioningToken,
  issueBreakGlassTokens,
  issueProvisioningBatch,
  parseSerials,
  useBreakGlassToken,
} from '../../src/presets/index.js';
import { openStore } from '../../src/stores/index.js';
import { macKey, publicOnly, rejectsCode, sealedKey, signedKey, throwsCode } from '../offline/helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'offtoken-'));

/** One character in the middle of a sealed token's ciphertext: still base64url, no longer authentic. */
function flipCiphertext(token: string): string {
  const p = token.split('.');
  const i = Math.floor(p[3]!.length / 2);
  p[3] = p[3]!.slice(0, i) + (p[3]![i] === 'A' ? 'B' : 'A') + p[3]!.slice(i + 1);
  return p.join('.');
}

describe('device provisioning preset', () => {
  it('parses serials, skipping comments, refusing duplicates and bad characters', () => {
    assert.deepEqual(parseSerials('# batch 7\nSN-001\n\nSN-002\r\n'), ['SN-001', 'SN-002']);
    throwsCode(() => parseSerials('SN-1\nSN-1\n'), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => parseSerials('SN 1\n'), 'ERR_INVALID_ARGUMENT');
  });

  it('mints one token per serial, each accepted once by the gateway with only the public key', async () => {
    const key = signedKey();
    const gen = new OfflineTokenGenerator({ key });
    const progress: number[] = [];
    const recs = [
      ...issueProvisioningBatch(gen, ['SN-1', 'SN-2', 'SN-3'], { onProgress: (d) => progress.push(d) }),
    ];
    assert.deepEqual(progress, [1, 2, 3]);
    assert.deepEqual(
      recs.map((r) => r.serial),
      ['SN-1', 'SN-2', 'SN-3'],
    );
    const gateway = new OfflineTokenGenerator({ key: publicOnly(key) });
    const store = await openStore('memory:');
    try {
      const r = await checkProvisioningToken(gateway, recs[1]!.token, { consume: store });
      assert.equal(r.serial, 'SN-2');
      assert.equal(r.claims.jti, recs[1]!.jti);
      await rejectsCode(
        () => checkProvisioningToken(gateway, recs[1]!.token, { consume: store }),
        'ERR_OFFLINE_TOKEN_REPLAYED',
      );
      // a generic token from the same key is not a provisioning token
      const generic = gen.generate(undefined, { sub: 'SN-9', device: 'SN-9' });
      await rejectsCode(
        () => checkProvisioningToken(gateway, generic, { consume: store }),
        'ERR_OFFLINE_TOKEN_AUDIENCE',
      );
      // and a provisioning token is not accepted by a generic reader
      throwsCode(() => gateway.read(recs[0]!.token), 'ERR_OFFLINE_TOKEN_AUDIENCE');
    } finally {
      await store.close();
    }
  });
});

describe('break-glass preset', () => {
  it('issues sealed, scoped, single-use tokens; every use is in the audit log', async () => {
    const key = sealedKey();
    const gen = new OfflineTokenGenerator({ key });
    const auditKey = signedKey();
    const path = join(dir, 'bg.jsonl');
    const audit = AuditLog.open(path, { signingKey: auditKey });
    const recs = issueBreakGlassTokens(gen, { scope: 'prod-db/root', count: 3, audit });
    assert.equal(recs.length, 3);
    assert.equal(recs[0]!.token.split('.').length, 5);
    const store = await openStore('memory:');
    try {
      const r = await useBreakGlassToken(gen, recs[0]!.token, {
        consume: store,
        audit,
        scope: 'prod-db/root',
      });
      assert.equal(r.scope, 'prod-db/root');
      await rejectsCode(
        () => useBreakGlassToken(gen, recs[0]!.token, { consume: store, audit }),
        'ERR_OFFLINE_TOKEN_REPLAYED',
      );
      await rejectsCode(
        () => useBreakGlassToken(gen, recs[1]!.token, { consume: store, audit, scope: 'other' }),
        'ERR_OFFLINE_TOKEN_SCOPE',
      );
      // the scope refusal did not burn the token
      await useBreakGlassToken(gen, recs[1]!.token, { consume: store, audit, scope: 'prod-db/root' });
      await rejectsCode(
        () => useBreakGlassToken(gen, flipCiphertext(recs[2]!.token), { consume: store, audit }),
        'ERR_OFFLINE_TOKEN_INVALID',
      );
    } finally {
      await store.close();
      audit.close();
    }
    const r = verifyAuditLog(path, { key: auditKey.publicKey!, requireSealed: true });
    assert.ok(r.entries >= 8);
    const events = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).event as string);
    assert.equal(events.filter((e) => e === 'breakglass.issue').length, 3);
    assert.equal(events.filter((e) => e === 'breakglass.use').length, 2);
    assert.equal(events.filter((e) => e === 'breakglass.reject').length, 3);
    for (const rec of recs) assert.ok(!readFileSync(path, 'utf8').includes(rec.token));
  });

  it('refuses non-sealed generators and bad counts', () => {
    throwsCode(
      () => issueBreakGlassTokens(new OfflineTokenGenerator({ key: macKey() }), { scope: 's', count: 1 }),
      'ERR_INVALID_ARGUMENT',
    );
    throwsCode(
      () => issueBreakGlassTokens(new OfflineTokenGenerator({ key: sealedKey() }), { scope: 's', count: 0 }),
      'ERR_INVALID_ARGUMENT',
    );
  });
});
