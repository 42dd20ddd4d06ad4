import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { createDpopProof, verifyDpopProof } from '../../src/dpop/index.js';
import type { ReplayStore } from '../../src/stores/types.js';
import { backends } from '../stores/backends.js';

// The verifier sees only the ReplayStore interface; the jti check runs here over the three real stores of
// src/stores (MemoryStore, a SQLite file, Redis with a random key prefix).
const key = generateKeyPairSync('ed25519');
const HTU = 'https://api.example.com/r';

async function replayRejected(store: ReplayStore) {
  const proof = createDpopProof({ privateKey: key.privateKey, htm: 'GET', htu: HTU });
  await verifyDpopProof(proof, { htm: 'GET', htu: HTU, replay: store });
  await assert.rejects(verifyDpopProof(proof, { htm: 'GET', htu: HTU, replay: store }), {
    code: 'ERR_DPOP_REPLAYED',
  });
  // the same proof is refused again (still held), and a fresh proof of the same key is accepted
  await assert.rejects(verifyDpopProof(proof, { htm: 'GET', htu: HTU, replay: store }), {
    code: 'ERR_DPOP_REPLAYED',
  });
  const fresh = createDpopProof({ privateKey: key.privateKey, htm: 'GET', htu: HTU });
  await verifyDpopProof(fresh, { htm: 'GET', htu: HTU, replay: store });
}

describe('DPoP jti replay over real backends', () => {
  for (const b of backends) {
    it(`rejects a reused jti over ${b.name}`, { skip: b.skip }, async () => {
      const { store, cleanup } = await b.open();
      try {
        await replayRejected(store);
      } finally {
        await cleanup();
      }
    });
  }
});
