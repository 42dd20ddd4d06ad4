import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { OtpValidator } from '../../src/otp/validator.js';
import type { OtpCredentialStore } from '../../src/stores/types.js';
import { backends } from '../stores/backends.js';

/*
 * A validator remembers the record its last success left and decides the next verify on it, letting the
 * store confirm with one conditional write. These tests change the stored record behind its back (as
 * another process sharing the store would) and check that every answer is the one a fresh read gives.
 */

function ref(secret: Buffer, counter: number): string {
  const m = Buffer.alloc(8);
  m.writeBigUInt64BE(BigInt(counter));
  const h = createHmac('sha1', secret).update(m).digest();
  const o = (h[h.length - 1] as number) & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1e6).padStart(6, '0');
}
const T = 1_700_000_010;
const step = Math.floor(T / 30);
const key = randomBytes(32);

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

for (const b of backends) {
  describe(`OtpValidator sharing a ${b.name} store with another validator`, { skip: b.skip }, () => {
    async function setup(now = () => T) {
      const s = await b.open();
      const a = new OtpValidator({ store: s.store, storeKey: key, clock: now });
      const other = new OtpValidator({ store: s.store, storeKey: key, clock: now });
      return { ...s, a, other };
    }

    it('rejects as a replay a code the other validator accepted after our last success', async () => {
      const { a, other, cleanup } = await setup();
      try {
        const secret = randomBytes(20);
        await a.enroll({ id: 'h', type: 'hotp', secret });
        assert.equal((await a.verify('h', ref(secret, 0))).ok, true);
        assert.equal((await other.verify('h', ref(secret, 1))).ok, true);
        await rejects(a.verify('h', ref(secret, 1)), 'ERR_OTP_REPLAYED');
        assert.deepEqual(await a.verify('h', ref(secret, 2)), {
          ok: true,
          type: 'hotp',
          counter: 2,
          drift: 0,
        });
        // and the other way round: the other validator's remembered record is now stale
        await rejects(other.verify('h', ref(secret, 2)), 'ERR_OTP_REPLAYED');
        assert.equal((await other.verify('h', ref(secret, 3))).ok, true);
      } finally {
        await cleanup();
      }
    });

    it('refuses a valid code while the other validator has locked the credential', async () => {
      const { a, other, store, cleanup } = await setup();
      try {
        const secret = randomBytes(20);
        await a.enroll({ id: 'h', type: 'hotp', secret });
        assert.equal((await a.verify('h', ref(secret, 0))).ok, true);
        for (let i = 0; i < 5; i++) await rejects(other.verify('h', '000000'), 'ERR_OTP_INVALID');
        await rejects(a.verify('h', ref(secret, 1)), 'ERR_OTP_LOCKED');
        const rec = await (store as OtpCredentialStore).getCredential('h');
        assert.equal(rec?.last, 0);
        assert.equal(rec?.failures, 5);
      } finally {
        await cleanup();
      }
    });

    it('decides on the drift the other validator learned', async () => {
      const { a, other, store, cleanup } = await setup();
      try {
        const secret = randomBytes(20);
        await a.enroll({ id: 't', secret });
        assert.deepEqual(await a.verify('t', ref(secret, step)), { ok: true, type: 'totp', step, drift: 0 });
        // a later verify (one period on) through the other validator learns drift +1
        const later = new OtpValidator({ store, storeKey: key, clock: () => T + 30 });
        assert.deepEqual(await later.verify('t', ref(secret, step + 2)), {
          ok: true,
          type: 'totp',
          step: step + 2,
          drift: 1,
        });
        // at T + 60 the learned drift centres the window on step + 3, so step + 4 is inside it (it is not
        // on the drift this validator remembers: the store's record decides)
        const next = { now: T + 60 };
        assert.deepEqual(await a.verify('t', ref(secret, step + 4), next), {
          ok: true,
          type: 'totp',
          step: step + 4,
          drift: 2,
        });
        await rejects(other.verify('t', ref(secret, step + 4), next), 'ERR_OTP_REPLAYED');
      } finally {
        await cleanup();
      }
    });

    it('accepts each code once when many verifies are in flight at once', async () => {
      const { a, other, store, cleanup } = await setup();
      try {
        const secret = randomBytes(20);
        const ids = Array.from({ length: 20 }, (_, i) => `c${i}`);
        for (const id of ids) await a.enroll({ id, type: 'hotp', secret });
        // both validators remember every record, then submit the same codes at the same moment
        for (const id of ids) {
          assert.equal((await a.verify(id, ref(secret, 0))).ok, true);
          await rejects(other.verify(id, ref(secret, 0)), 'ERR_OTP_REPLAYED');
        }
        for (let n = 1; n <= 3; n++) {
          const outcomes = await Promise.allSettled(
            ids.flatMap((id) => [a.verify(id, ref(secret, n)), other.verify(id, ref(secret, n))]),
          );
          for (let i = 0; i < ids.length; i++) {
            const pair = [outcomes[2 * i]!, outcomes[2 * i + 1]!].map((o) =>
              o.status === 'fulfilled' ? 'ok' : (o.reason as { code?: string }).code,
            );
            assert.deepEqual(pair.sort(), ['ERR_OTP_REPLAYED', 'ok'], `${ids[i]} code ${n}`);
          }
        }
        for (const id of ids) assert.equal((await (store as OtpCredentialStore).getCredential(id))?.last, 3);
      } finally {
        await cleanup();
      }
    });

    it('never accepts the old secret after the credential was deleted and enrolled again', async () => {
      const { a, other, store, cleanup } = await setup();
      try {
        const oldSecret = randomBytes(20);
        await a.enroll({ id: 'h', type: 'hotp', secret: oldSecret });
        assert.equal((await a.verify('h', ref(oldSecret, 0))).ok, true);
        assert.equal(await (store as OtpCredentialStore).deleteCredential('h'), true);
        await rejects(a.verify('h', ref(oldSecret, 1)), 'ERR_OTP_UNKNOWN_CREDENTIAL');
        const newSecret = randomBytes(20);
        await other.enroll({ id: 'h', type: 'hotp', secret: newSecret });
        // the counter restarts at 0 for the new credential, so the old secret's next code is just wrong
        await rejects(a.verify('h', ref(oldSecret, 1)), 'ERR_OTP_INVALID');
        assert.deepEqual(await a.verify('h', ref(newSecret, 0)), {
          ok: true,
          type: 'hotp',
          counter: 0,
          drift: 0,
        });
      } finally {
        await cleanup();
      }
    });
  });
}
