import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { OtpValidator } from '../../src/otp/validator.js';
import { RedisStore } from '../../src/stores/index.js';
import { backends } from '../stores/backends.js';

// Independent reference HOTP (RFC 4226 5.3) so the validator is not checked against itself.
function ref(secret: Buffer, counter: number, digits = 6, alg = 'sha1'): string {
  const m = Buffer.alloc(8);
  m.writeBigUInt64BE(BigInt(counter));
  const h = createHmac(alg, secret).update(m).digest();
  const o = (h[h.length - 1] as number) & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 10 ** digits).padStart(digits, '0');
}
const rfcSecret = Buffer.from('12345678901234567890');
const T = 1_700_000_010; // step 56666667 at period 30
const step = Math.floor(T / 30);
const key = randomBytes(32);

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string }) => {
    assert.equal(e.code, code);
    return true;
  });
}

for (const b of backends) {
  describe(`OtpValidator on ${b.name}`, { skip: b.skip }, () => {
    async function setup(opts: Partial<ConstructorParameters<typeof OtpValidator>[0]> = {}) {
      const s = await b.open();
      const v = new OtpValidator({ store: s.store, storeKey: key, clock: () => T, ...opts });
      return { ...s, v };
    }

    it('accepts RFC 4226 Appendix D codes in order and rejects each replay', async () => {
      const { v, cleanup } = await setup();
      try {
        await v.enroll({ id: 'h', type: 'hotp', secret: rfcSecret });
        const expected = ['755224', '287082', '359152', '969429', '338314'];
        for (const [i, c] of expected.entries()) {
          assert.deepEqual(await v.verify('h', c), { ok: true, type: 'hotp', counter: i, drift: 0 });
          await rejects(v.verify('h', c), 'ERR_OTP_REPLAYED');
        }
      } finally {
        await cleanup();
      }
    });

    it('accepts a TOTP code once and rejects the replay', async () => {
      const { v, cleanup } = await setup();
      try {
        await v.enroll({ id: 't', secret: rfcSecret });
        const code = ref(rfcSecret, step);
        assert.deepEqual(await v.verify('t', code), { ok: true, type: 'totp', step, drift: 0 });
        await rejects(v.verify('t', code), 'ERR_OTP_REPLAYED');
        // an older step inside the window is also at/below the last accepted one
        await rejects(v.verify('t', ref(rfcSecret, step - 1)), 'ERR_OTP_REPLAYED');
      } finally {
        await cleanup();
      }
    });

    it('accepts +/-window steps and rejects beyond it', async () => {
      const { v, cleanup } = await setup();
      try {
        await v.enroll({ id: 'a', secret: rfcSecret });
        await v.enroll({ id: 'b', secret: rfcSecret });
        await rejects(v.verify('a', ref(rfcSecret, step + 2)), 'ERR_OTP_INVALID');
        await rejects(v.verify('a', ref(rfcSecret, step - 2)), 'ERR_OTP_INVALID');
        assert.equal((await v.verify('a', ref(rfcSecret, step - 1))).drift, -1);
        assert.equal((await v.verify('b', ref(rfcSecret, step + 1))).drift, 1);
      } finally {
        await cleanup();
      }
    });

    it('learns drift and applies it next time, bounded by maxDrift', async () => {
      const { v, store, cleanup } = await setup({ maxDrift: 2 });
      try {
        await v.enroll({ id: 'd', secret: rfcSecret });
        assert.equal((await v.verify('d', ref(rfcSecret, step + 1))).drift, 1);
        assert.equal((await store.getCredential('d'))?.drift, 1);
        // window now centred on step+1: step+2 is accepted, learning drift 2
        const r = await v.verify('d', ref(rfcSecret, step + 2));
        assert.deepEqual(r, { ok: true, type: 'totp', step: step + 2, drift: 2 });
        // centred on step+2 the window reaches step+3, but maxDrift=2 forbids it
        await rejects(v.verify('d', ref(rfcSecret, step + 3)), 'ERR_OTP_INVALID');
        // a later clock with the same drift accepts current+2
        const later = T + 300;
        const ls = Math.floor(later / 30);
        assert.equal((await v.verify('d', ref(rfcSecret, ls + 2), { now: later })).drift, 2);
      } finally {
        await cleanup();
      }
    });

    it('HOTP look-ahead accepts within the window and not beyond', async () => {
      const { v, cleanup } = await setup({ hotpLookAhead: 3 });
      try {
        await v.enroll({ id: 'h', type: 'hotp', secret: rfcSecret });
        await rejects(v.verify('h', ref(rfcSecret, 4)), 'ERR_OTP_INVALID'); // -1 + 3 = 2 is the reach... counters 0..2
        assert.equal(((await v.verify('h', ref(rfcSecret, 2))) as { counter: number }).counter, 2);
        assert.equal(((await v.verify('h', ref(rfcSecret, 5))) as { counter: number }).counter, 5);
        await rejects(v.verify('h', ref(rfcSecret, 3)), 'ERR_OTP_REPLAYED');
      } finally {
        await cleanup();
      }
    });

    it('HOTP resync from two consecutive codes far ahead', async () => {
      const { v, cleanup } = await setup({ lockout: { maxFailures: 100 } });
      try {
        await v.enroll({ id: 'h', type: 'hotp', secret: rfcSecret });
        await rejects(v.verify('h', ref(rfcSecret, 50)), 'ERR_OTP_INVALID');
        await rejects(v.resync('h', ref(rfcSecret, 50), ref(rfcSecret, 52)), 'ERR_OTP_INVALID');
        const r = await v.resync('h', ref(rfcSecret, 50), ref(rfcSecret, 51));
        assert.deepEqual(r, { ok: true, type: 'hotp', counter: 51, drift: 0 });
        assert.equal(((await v.verify('h', ref(rfcSecret, 52))) as { counter: number }).counter, 52);
        await rejects(v.resync('h', ref(rfcSecret, 50), ref(rfcSecret, 51)), 'ERR_OTP_INVALID');
        await rejects(v.resync('h', ref(rfcSecret, 500), ref(rfcSecret, 501)), 'ERR_OTP_INVALID');
      } finally {
        await cleanup();
      }
    });

    it('locks out after maxFailures with growing back-off; success resets', async () => {
      let now = T;
      const { v, store, cleanup } = await setup({
        clock: () => now,
        lockout: { maxFailures: 3, baseDelay: 10, maxDelay: 35 },
      });
      try {
        await v.enroll({ id: 'l', secret: rfcSecret });
        const wrong = ref(rfcSecret, step + 5);
        for (let i = 0; i < 3; i++) await rejects(v.verify('l', wrong), 'ERR_OTP_INVALID');
        assert.equal((await store.getCredential('l'))?.lockedUntil, T + 10);
        // during lockout even the right code is refused and not evaluated
        await rejects(v.verify('l', ref(rfcSecret, step)), 'ERR_OTP_LOCKED');
        now = T + 10;
        await rejects(v.verify('l', wrong), 'ERR_OTP_INVALID');
        assert.equal((await store.getCredential('l'))?.lockedUntil, T + 10 + 20);
        now = T + 30;
        await rejects(v.verify('l', wrong), 'ERR_OTP_INVALID');
        assert.equal((await store.getCredential('l'))?.lockedUntil, T + 30 + 35); // capped at maxDelay
        await rejects(v.verify('l', ref(rfcSecret, Math.floor(now / 30))), 'ERR_OTP_LOCKED');
        now = T + 65;
        const s = Math.floor(now / 30);
        assert.equal(((await v.verify('l', ref(rfcSecret, s))) as { step: number }).step, s);
        const rec = await store.getCredential('l');
        assert.equal(rec?.failures, 0);
        assert.equal(rec?.lockedUntil, 0);
      } finally {
        await cleanup();
      }
    });

    it('rejects malformed codes with ERR_OTP_FORMAT without counting them', async () => {
      const { v, store, cleanup } = await setup({ lockout: { maxFailures: 1 } });
      try {
        await v.enroll({ id: 'f', secret: rfcSecret });
        for (const bad of [
          '',
          '12345',
          '12345a',
          ' 123456',
          '１２３４５６',
          '12345678',
          'x'.repeat(100_000),
        ]) {
          await rejects(v.verify('f', bad), 'ERR_OTP_FORMAT');
        }
        await rejects(v.verify('f', 123456 as unknown as string), 'ERR_OTP_FORMAT');
        assert.equal((await store.getCredential('f'))?.failures, 0);
      } finally {
        await cleanup();
      }
    });

    it('rejects unknown ids and duplicate enrolment', async () => {
      const { v, cleanup } = await setup();
      try {
        await rejects(v.verify('nobody', '123456'), 'ERR_OTP_UNKNOWN_CREDENTIAL');
        await v.enroll({ id: 'x' });
        await rejects(v.enroll({ id: 'x' }), 'ERR_OTP_CREDENTIAL_EXISTS');
        await rejects(v.verify('x'.repeat(300), '123456'), 'ERR_INVALID_ARGUMENT');
      } finally {
        await cleanup();
      }
    });

    it('with hideUnknownIds answers an unknown id and a wrong length as a wrong code', async () => {
      const { v: plain, store, cleanup } = await setup();
      const v = new OtpValidator({ store, storeKey: key, clock: () => T, hideUnknownIds: true });
      try {
        await plain.enroll({ id: 'k', secret: rfcSecret });
        const seen: string[] = [];
        for (const [id, code] of [
          ['k', ref(rfcSecret, step + 5)],
          ['nobody', '123456'],
          ['k', '12345678'],
          ['nobody', '12345678'],
        ] as const) {
          await assert.rejects(v.verify(id, code), (e: { code?: string; message?: string }) => {
            seen.push(`${e.code}: ${e.message}`);
            return true;
          });
        }
        assert.deepEqual(seen, Array(4).fill('ERR_OTP_INVALID: the code is not valid'));
        // only the wrong code of the right length was an attempt
        assert.equal((await store.getCredential('k'))?.failures, 1);
      } finally {
        await cleanup();
      }
    });

    it('stores the secret sealed, bound to the id, and unopenable with another key', async () => {
      const { v, store, cleanup, sqlitePath } = await setup();
      try {
        const { secret, secretBase32, uri } = await v.enroll({ id: 'enc', issuer: 'ACME', account: 'a@b' });
        assert.match(uri, /^otpauth:\/\/totp\/ACME%3Aa%40b\?secret=[A-Z2-7]+&issuer=ACME/);
        const hex = Buffer.from(secret).toString('hex');
        const b64 = Buffer.from(secret).toString('base64');
        let raw: string;
        if (sqlitePath) {
          const db = new Database(sqlitePath, { readonly: true });
          raw = JSON.stringify(db.prepare('SELECT * FROM otp_credentials').all());
          db.close();
        } else if (store instanceof RedisStore) {
          raw = JSON.stringify(await store.client.hgetall(`${store.prefix}otp:enc`));
        } else {
          raw = JSON.stringify(await store.getCredential('enc'));
        }
        assert.ok(raw.includes('eyJ')); // the JWE protected header is there
        for (const form of [hex, b64, secretBase32, Buffer.from(secret).toString('latin1')]) {
          assert.equal(raw.includes(form), false);
        }
        const rec = await store.getCredential('enc');
        assert.equal(rec?.sealedSecret.split('.').length, 5);
        // moved to another id: the bound header refuses it
        await store.createCredential({ ...(rec as NonNullable<typeof rec>), id: 'moved' });
        await rejects(v.verify('moved', '123456'), 'ERR_OTP_SECRET_UNSEALABLE');
        const other = new OtpValidator({ store, storeKey: randomBytes(32), clock: () => T });
        await rejects(other.verify('enc', '123456'), 'ERR_OTP_SECRET_UNSEALABLE');
      } finally {
        await cleanup();
      }
    });

    it('supports SHA256/8 digits and SHA512', async () => {
      const { v, cleanup } = await setup();
      try {
        const s32 = randomBytes(32);
        await v.enroll({ id: 's', algorithm: 'SHA256', digits: 8, secret: s32 });
        assert.equal(((await v.verify('s', ref(s32, step, 8, 'sha256'))) as { step: number }).step, step);
        await rejects(v.verify('s', ref(s32, step + 1, 6, 'sha256')), 'ERR_OTP_FORMAT');
        const s64 = randomBytes(64);
        await v.enroll({ id: 'q', algorithm: 'SHA512', secret: s64, type: 'hotp' });
        assert.equal(((await v.verify('q', ref(s64, 0, 6, 'sha512'))) as { counter: number }).counter, 0);
      } finally {
        await cleanup();
      }
    });
  });
}

describe('OtpValidator arguments', () => {
  it('rejects a bad store key and a bad now', async () => {
    const { MemoryStore } = await import('../../src/stores/index.js');
    const store = new MemoryStore();
    assert.throws(() => new OtpValidator({ store, storeKey: randomBytes(16) }), {
      code: 'ERR_INVALID_ARGUMENT',
    });
    const v = new OtpValidator({ store, storeKey: key });
    await v.enroll({ id: 'n' });
    await rejects(v.verify('n', '123456', { now: Number.NaN }), 'ERR_INVALID_ARGUMENT');
    await rejects(v.resync('n', '123456', '123457'), 'ERR_INVALID_ARGUMENT');
  });

  it('unlock and delete refuse a malformed or unknown id, and unlock needs a store that can unlock', async () => {
    const { MemoryStore } = await import('../../src/stores/index.js');
    const store = new MemoryStore();
    const v = new OtpValidator({ store, storeKey: key, clock: () => T });
    for (const bad of ['', 'a\nb', 'x'.repeat(257)]) {
      await rejects(v.unlock(bad), 'ERR_INVALID_ARGUMENT');
      await rejects(v.delete(bad), 'ERR_INVALID_ARGUMENT');
    }
    await rejects(v.unlock('nobody'), 'ERR_OTP_UNKNOWN_CREDENTIAL');
    await rejects(v.delete('nobody'), 'ERR_OTP_UNKNOWN_CREDENTIAL');
    // a store of the user's own without the optional unlockCredential
    const own = Object.create(store, { unlockCredential: { value: undefined } });
    await rejects(new OtpValidator({ store: own, storeKey: key }).unlock('n'), 'ERR_INVALID_ARGUMENT');
  });

  it('forgets what it remembered of a deleted credential, so a re-enrolled id starts fresh', async () => {
    const { MemoryStore } = await import('../../src/stores/index.js');
    const v = new OtpValidator({ store: new MemoryStore(), storeKey: key, clock: () => T });
    await v.enroll({ id: 'h', type: 'hotp', secret: rfcSecret });
    await v.verify('h', ref(rfcSecret, 0));
    await v.delete('h');
    await rejects(v.verify('h', ref(rfcSecret, 1)), 'ERR_OTP_UNKNOWN_CREDENTIAL');
    await v.enroll({ id: 'h', type: 'hotp', secret: rfcSecret });
    assert.equal((await v.verify('h', ref(rfcSecret, 0))).ok, true);
  });
});
