import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeCbor, encodeCbor } from '../../src/status-list/cbor.js';
import { createStatusListCwt, STATUS_LIST_CWT_TYP, verifyStatusListCwt } from '../../src/status-list/cwt.js';
import { rawSign } from '../../src/status-list/jws.js';
import { StatusList } from '../../src/status-list/list.js';

const v = JSON.parse(
  readFileSync(new URL('./vectors/draft-status-list-cwt.json', import.meta.url), 'utf8'),
) as {
  key: Record<string, string>;
  cwt_hex: string;
  uri: string;
  iat: number;
  exp: number;
  ttl: number;
  bits: number;
  statuses: number[];
};
const draftCwt = Buffer.from(v.cwt_hex, 'hex');
const draftJwks = { keys: [v.key] };
const T = v.iat + 10;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('status list token in CWT form', () => {
  it('verifies the draft 5.2 example with the draft key and reads its statuses', () => {
    const r = verifyStatusListCwt(draftCwt, { key: draftJwks, uri: v.uri, clock: () => T });
    assert.deepEqual([r.uri, r.iat, r.exp, r.ttl, r.list.bits], [v.uri, v.iat, v.exp, v.ttl, v.bits]);
    assert.deepEqual(
      v.statuses.map((_, i) => r.list.get(i)),
      v.statuses,
    );
  });

  it('rejects the draft example with one signature bit flipped, for another uri, or after its exp', () => {
    const flipped = Buffer.from(draftCwt);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    assert.equal(
      code(() => verifyStatusListCwt(flipped, { key: draftJwks, clock: () => T })),
      'ERR_AUTHORITY_SIGNATURE_INVALID',
    );
    assert.equal(
      code(() => verifyStatusListCwt(draftCwt, { key: draftJwks, uri: `${v.uri}0`, clock: () => T })),
      'ERR_STATUS_LIST_MISMATCH',
    );
    assert.equal(
      code(() => verifyStatusListCwt(draftCwt, { key: draftJwks, clock: () => v.exp })),
      'ERR_STATUS_LIST_INVALID',
    );
    const other = {
      keys: [
        {
          ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
          kid: '12',
        },
      ],
    };
    assert.equal(
      code(() => verifyStatusListCwt(draftCwt, { key: other as never, clock: () => T })),
      'ERR_AUTHORITY_SIGNATURE_INVALID',
    );
  });

  for (const kind of ['ed25519', 'ec'] as const) {
    it(`round-trips a list offtoken signs (${kind === 'ec' ? 'ES256' : 'EdDSA'})`, () => {
      const k =
        kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
      const list = new StatusList(2, 64);
      list.set(3, 1);
      list.set(5, 2);
      const cwt = createStatusListCwt(list, {
        uri: 'https://i.example/l/1',
        key: k.privateKey,
        kid: 'k1',
        iat: T,
        exp: T + 600,
        ttl: 60,
      });
      const r = verifyStatusListCwt(cwt, { key: k.publicKey, uri: 'https://i.example/l/1', clock: () => T });
      assert.deepEqual([r.list.get(0), r.list.get(3), r.list.get(5), r.ttl, r.exp], [0, 1, 2, 60, T + 600]);
    });
  }

  it('applies the staleness rule of the JWT form (checkStatusListFresh): ttl, maxAge, allowStale, tolerance', () => {
    const k = generateKeyPairSync('ed25519');
    const make = (o: { ttl?: number; exp?: number; iat?: number }) =>
      createStatusListCwt(new StatusList(1, 8), {
        uri: 'https://i.example/l/1',
        key: k.privateKey,
        iat: o.iat ?? T - 3600,
        ...o,
      });
    const verify = (cwt: Buffer, extra: Record<string, unknown> = {}) =>
      code(() => verifyStatusListCwt(cwt, { key: k.publicKey, clock: () => T, ...extra }));
    assert.equal(verify(make({ ttl: 600 })), 'ERR_STATUS_LIST_STALE');
    assert.equal(verify(make({ ttl: 600 }), { allowStale: true }), 'no error');
    assert.equal(verify(make({ ttl: 600 }), { clockTolerance: 3000 }), 'no error');
    assert.equal(verify(make({})), 'no error');
    assert.equal(verify(make({}), { maxAge: 3599 }), 'ERR_STATUS_LIST_STALE');
    assert.equal(verify(make({ ttl: 600, exp: T + 1 })), 'no error');
    assert.equal(verify(make({ exp: T - 30 }), { clockTolerance: 60 }), 'no error');
    assert.equal(verify(make({ exp: T - 30 }), { allowStale: true }), 'ERR_STATUS_LIST_INVALID');
    assert.equal(verify(make({ iat: T + 60, ttl: 600 })), 'ERR_STATUS_LIST_INVALID');
    assert.equal(verify(make({}), { clockTolerance: Number.NaN }), 'ERR_INVALID_ARGUMENT');
  });

  describe('rejects a malformed or misused COSE message', () => {
    const k = generateKeyPairSync('ed25519');
    const claims = (over: [number, unknown][] = []) =>
      encodeCbor(
        new Map<number, never>([
          [2, 'https://i.example/l/1' as never],
          [6, T as never],
          [
            65533,
            new Map<string, unknown>([
              ['bits', 1],
              ['lst', Buffer.from('78dadbb918000217015d', 'hex')],
            ]) as never,
          ],
          ...(over as [number, never][]),
        ]),
      );
    const sign1 = (
      prot: Map<number, unknown>,
      payload: Buffer,
      opts: { unprot?: Map<number, unknown>; tag?: number } = {},
    ) => {
      const pb = encodeCbor(prot as never);
      const sig = rawSign('EdDSA', encodeCbor(['Signature1', pb, new Uint8Array(0), payload]), k.privateKey);
      return encodeCbor({
        tag: opts.tag ?? 18,
        value: [pb, (opts.unprot ?? new Map()) as never, payload, sig],
      });
    };
    const good = () =>
      new Map<number, unknown>([
        [1, -8],
        [16, STATUS_LIST_CWT_TYP],
      ]);
    const cases: [string, () => Uint8Array, string][] = [
      ['well formed (control)', () => sign1(good(), claims()), 'no error'],
      [
        'Ed25519 as -19 (control)',
        () =>
          sign1(
            new Map<number, unknown>([
              [1, -19],
              [16, STATUS_LIST_CWT_TYP],
            ]),
            claims(),
          ),
        'no error',
      ],
      [
        'the CWT tag 61 instead of COSE_Sign1',
        () => sign1(good(), claims(), { tag: 61 }),
        'ERR_STATUS_LIST_INVALID',
      ],
      ['COSE_Mac0', () => sign1(good(), claims(), { tag: 17 }), 'ERR_STATUS_LIST_INVALID'],
      [
        'another typ',
        () =>
          sign1(
            new Map<number, unknown>([
              [1, -8],
              [16, 'application/cwt'],
            ]),
            claims(),
          ),
        'ERR_STATUS_LIST_INVALID',
      ],
      ['no typ', () => sign1(new Map<number, unknown>([[1, -8]]), claims()), 'ERR_STATUS_LIST_INVALID'],
      [
        'alg HS256 (5)',
        () =>
          sign1(
            new Map<number, unknown>([
              [1, 5],
              [16, STATUS_LIST_CWT_TYP],
            ]),
            claims(),
          ),
        'ERR_AUTHORITY_SIGNATURE_INVALID',
      ],
      [
        'alg ES256 for an Ed25519 key',
        () =>
          sign1(
            new Map<number, unknown>([
              [1, -7],
              [16, STATUS_LIST_CWT_TYP],
            ]),
            claims(),
          ),
        'ERR_AUTHORITY_SIGNATURE_INVALID',
      ],
      [
        'alg only unprotected',
        () =>
          sign1(new Map<number, unknown>([[16, STATUS_LIST_CWT_TYP]]), claims(), {
            unprot: new Map([[1, -8]]),
          }),
        'ERR_STATUS_LIST_INVALID',
      ],
      [
        'crit',
        () =>
          sign1(
            new Map<number, unknown>([
              [1, -8],
              [16, STATUS_LIST_CWT_TYP],
              [2, [99]],
            ]),
            claims(),
          ),
        'ERR_STATUS_LIST_INVALID',
      ],
      [
        'a parameter in both buckets',
        () =>
          sign1(
            new Map<number, unknown>([
              [1, -8],
              [16, STATUS_LIST_CWT_TYP],
              [4, Buffer.from('a')],
            ]),
            claims(),
            { unprot: new Map([[4, Buffer.from('b')]]) },
          ),
        'ERR_STATUS_LIST_INVALID',
      ],
      [
        'no sub',
        () => sign1(good(), encodeCbor(new Map<number, never>([[6, T as never]]))),
        'ERR_STATUS_LIST_INVALID',
      ],
      ['sub not text', () => sign1(good(), claims([[2, 7]])), 'ERR_STATUS_LIST_INVALID'],
      [
        'no status list',
        () =>
          sign1(
            good(),
            encodeCbor(
              new Map<number, never>([
                [2, 'https://i.example/l/1' as never],
                [6, T as never],
              ]),
            ),
          ),
        'ERR_STATUS_LIST_INVALID',
      ],
      ['ttl zero', () => sign1(good(), claims([[65534, 0]])), 'ERR_STATUS_LIST_INVALID'],
      [
        'lst as text',
        () =>
          sign1(
            good(),
            claims([
              [
                65533,
                new Map<string, unknown>([
                  ['bits', 1],
                  ['lst', 'eNrbuRgAAhcBXQ'],
                ]),
              ],
            ]),
          ),
        'ERR_STATUS_LIST_INVALID',
      ],
      [
        'bits 3',
        () =>
          sign1(
            good(),
            claims([
              [
                65533,
                new Map<string, unknown>([
                  ['bits', 3],
                  ['lst', Buffer.from('78dadbb918000217015d', 'hex')],
                ]),
              ],
            ]),
          ),
        'ERR_STATUS_LIST_INVALID',
      ],
      [
        'a detached payload',
        () => {
          const pb = encodeCbor(good() as never);
          return encodeCbor({ tag: 18, value: [pb, new Map(), null, Buffer.alloc(64)] });
        },
        'ERR_STATUS_LIST_INVALID',
      ],
      [
        'three elements',
        () => encodeCbor({ tag: 18, value: [Buffer.alloc(0), new Map(), Buffer.alloc(0)] }),
        'ERR_STATUS_LIST_INVALID',
      ],
    ];
    for (const [name, make, want] of cases) {
      it(name, () => {
        assert.equal(
          code(() => verifyStatusListCwt(make(), { key: k.publicKey, clock: () => T })),
          want,
        );
      });
    }
  });

  describe('the CBOR decoder refuses hostile input', () => {
    const cases: [string, string][] = [
      ['empty input', ''],
      ['trailing bytes', '0000'],
      ['an indefinite-length array', '9f00ff'],
      ['an indefinite-length byte string', '5f4100ff'],
      ['a float', 'fb3ff0000000000000'],
      ['undefined', 'f7'],
      ['a reserved additional info', '1c'],
      ['an integer beyond 2^53', '1b0020000000000000'],
      ['a byte string longer than the input', '5a7fffffff00'],
      ['an array longer than the input', '9a7fffffff'],
      ['a map longer than the input', 'ba7fffffff'],
      ['a repeated map key', 'a2010001 00'.replace(' ', '')],
      ['a map key that is a byte string', 'a1410000'],
      ['text that is not UTF-8', '62c328'],
      ['nesting beyond the depth limit', `${'81'.repeat(40)}00`],
    ];
    for (const [name, hex] of cases) {
      it(name, () => {
        assert.equal(
          code(() => decodeCbor(Buffer.from(hex, 'hex'))),
          'ERR_STATUS_LIST_INVALID',
        );
      });
    }
    it('decodes what the encoder writes', () => {
      const value = new Map<number | string, never>([
        [1, -7 as never],
        ['a', [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32, -1, -25, 'é', true, false, null] as never],
      ]);
      assert.deepEqual(decodeCbor(encodeCbor(value)), value);
    });
  });
});
