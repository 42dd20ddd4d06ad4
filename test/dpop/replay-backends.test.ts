import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { createDpopProof, verifyDpopProof } from '../../src/dpop/index.js';
import type { ReplayStore } from '../../src/stores/types.js';

// The verifier sees only the ReplayStore interface; this runs the jti check over a real SQLite file and a
// real Redis (minimal adapters with the same atomic semantics as src/stores: INSERT OR IGNORE / SET NX).
// When src/stores lands, openStore('sqlite:...') / openStore('redis://...') replace these adapters.
const dir = mkdtempSync(join(tmpdir(), 'offtoken-'));
const db = new Database(join(dir, 'replay.db'));
db.exec('CREATE TABLE seen (ns TEXT, k TEXT, exp INTEGER, PRIMARY KEY (ns, k))');
const ins = db.prepare('INSERT OR IGNORE INTO seen (ns, k, exp) VALUES (?, ?, ?)');
const sqlite: ReplayStore = { consumeOnce: async (ns, k, exp) => ins.run(ns, k, exp).changes === 1 };

const url = process.env.OFFTOKEN_TEST_REDIS_URL;
const prefix = `offtoken-test-dpop-${randomBytes(6).toString('hex')}:`;
const redis = url ? new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 }) : undefined;
const redisStore: ReplayStore = {
  consumeOnce: async (ns, k, exp) =>
    (await redis!.set(`${prefix}${ns}:${k}`, '1', 'EXAT', Math.ceil(exp), 'NX')) === 'OK',
};

after(async () => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
  if (redis) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  }
});

const key = generateKeyPairSync('ed25519');
const HTU = 'https://api.example.com/r';

async function replayRejected(store: ReplayStore) {
  const proof = createDpopProof({ privateKey: key.privateKey, htm: 'GET', htu: HTU });
  await verifyDpopProof(proof, { htm: 'GET', htu: HTU, replay: store });
  await assert.rejects(verifyDpopProof(proof, { htm: 'GET', htu: HTU, replay: store }), {
    code: 'ERR_DPOP_REPLAYED',
  });
  const fresh = createDpopProof({ privateKey: key.privateKey, htm: 'GET', htu: HTU });
  await verifyDpopProof(fresh, { htm: 'GET', htu: HTU, replay: store });
}

describe('DPoP jti replay over real backends', () => {
  it('rejects a reused jti over SQLite', () => replayRejected(sqlite));
  it(
    'rejects a reused jti over Redis',
    { skip: !url && 'set OFFTOKEN_TEST_REDIS_URL=redis://127.0.0.1:6379/15 to run' },
    () => replayRejected(redisStore),
  );
});
