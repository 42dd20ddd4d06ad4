import assert from 'node:assert/strict';
import { createSecretKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { mintAttenuated, verifyChain } from '../../src/attenuation/token.js';
import {
  createIntermediary,
  deriveDownscopedToken,
  verifyDownscopedToken,
} from '../../src/downscope/index.js';
import { openDir, sealDir } from '../../src/downscope/jwe.js';
import { createDpopProof, verifyDpopProof } from '../../src/dpop/index.js';
import { signJwt } from '../../src/jose/jwt/sign.js';
import { verifyJwt } from '../../src/jose/jwt/verify.js';
import { OfflineTokenGenerator } from '../../src/offline/generator.js';
import { AssertionRejected, verifyClientAssertion } from '../../src/server/assertion.js';
import { signCompact } from '../../src/status-list/jws.js';
import { StatusList } from '../../src/status-list/list.js';
import { createStatusListToken, verifyStatusListToken } from '../../src/status-list/token.js';
import { MapReplayStore } from '../dpop/helpers.js';
import { signedKey } from '../offline/helpers.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');
const text = (seg: string) => Buffer.from(seg, 'base64url').toString('utf8');

/** The JSON text with its first member written twice: `{"a":1,"b":2}` -> `{"a":1,"a":1,"b":2}`. */
function duplicateFirst(json: string): string {
  const o = JSON.parse(json) as Record<string, unknown>;
  const [name, value] = Object.entries(o)[0]!;
  return `{${JSON.stringify(name)}:${JSON.stringify(value)},${json.slice(1)}`;
}

/** Re-signs a compact EdDSA JWS after one of its parts (header or payload text) was rewritten. */
function resign(token: string, part: 'header' | 'payload', key: KeyObject): string {
  const [h, p] = token.split('.') as [string, string];
  const h2 = part === 'header' ? b64(duplicateFirst(text(h))) : h;
  const p2 = part === 'payload' ? b64(duplicateFirst(text(p))) : p;
  const input = `${h2}.${p2}`;
  return `${input}.${sign(null, Buffer.from(input), key).toString('base64url')}`;
}

/** The thrown error's `code` (or, for a client assertion, the rejection reason the grant maps). */
async function failure(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof AssertionRejected) return `AssertionRejected:${e.reason}`;
    return (e as { code?: string }).code ?? String(e);
  }
  return 'accepted';
}

const T = 1_800_000_000;
const clock = () => T;
const ed = generateKeyPairSync('ed25519');

interface Row {
  kind: string;
  /** The code a duplicate header name gets today: a duplicate claim name must get the same. */
  code: string;
  /** A valid token of this kind, and a verifier that throws on a bad one. */
  valid: () => string;
  verify: (token: string) => unknown;
  /** The token with a duplicate name in its header / its payload (undefined: the kind has no header). */
  tamper: (token: string, part: 'header' | 'payload') => string | undefined;
}

const offlineKey = signedKey('off-1');
const offline = new OfflineTokenGenerator({ key: offlineKey, clock });

const dpopOpts = () => ({ htm: 'POST', htu: 'https://rs.test/x', replay: new MapReplayStore(), clock });

const rsKey = createSecretKey(randomBytes(32));
const inter = createIntermediary({
  iss: 'https://as.test',
  sub: 'alice',
  grant: [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
  exp: T + 3600,
  signingKey: ed.privateKey,
  kid: 'as-1',
  rsKey,
  rsKid: 'rs-1',
  clock,
});
const downscopeOpts = {
  intermediaryVerifier: ed.publicKey,
  rsKey: (kid: string) => (kid === 'rs-1' ? rsKey : undefined),
  clock,
  resource: 'bucket/acme/a.txt',
  permission: 'read',
};
const derived = () =>
  deriveDownscopedToken(
    inter.token,
    inter.sessionKey,
    [{ resource_prefix: 'bucket/acme/', permissions: ['read'] }],
    {
      clock,
    },
  );

const rootKey = randomBytes(32);

const rows: Row[] = [
  {
    kind: 'JWT (src/jose)',
    code: 'ERR_JOSE_HEADER_INVALID',
    valid: () => signJwt({ sub: 'alice', iat: T, exp: T + 60 }, ed.privateKey, { alg: 'EdDSA', kid: 'k1' }),
    verify: (t) => verifyJwt(t, ed.publicKey, { algorithms: ['EdDSA'], clock }),
    tamper: (t, part) => resign(t, part, ed.privateKey),
  },
  {
    kind: 'offline token (signed)',
    code: 'ERR_OFFLINE_TOKEN_MALFORMED',
    valid: () => offline.generate({ door: 'B12' }, { sub: 'alice' }),
    verify: (t) => offline.verify(t),
    tamper: (t, part) => resign(t, part, offlineKey.privateKey!),
  },
  {
    kind: 'DPoP proof',
    code: 'ERR_DPOP_PROOF_INVALID',
    valid: () => createDpopProof({ privateKey: ed.privateKey, htm: 'POST', htu: 'https://rs.test/x', clock }),
    verify: (t) => verifyDpopProof(t, dpopOpts()),
    tamper: (t, part) => resign(t, part, ed.privateKey),
  },
  {
    kind: 'status list',
    code: 'ERR_AUTHORITY_SIGNATURE_INVALID',
    valid: () =>
      createStatusListToken(new StatusList(1, 16), {
        uri: 'https://as.test/statuslists/1',
        key: ed.privateKey,
        kid: 'as-1',
        iat: T,
      }),
    verify: (t) => verifyStatusListToken(t, { key: ed.publicKey, clock }),
    tamper: (t, part) => resign(t, part, ed.privateKey),
  },
  {
    kind: 'downscoped token: intermediary',
    code: 'ERR_DOWNSCOPE_INVALID',
    valid: derived,
    verify: (t) => verifyDownscopedToken(t, downscopeOpts),
    tamper: (t, part) => {
      const tilde = t.indexOf('~');
      return `${resign(t.slice(0, tilde), part, ed.privateKey)}${t.slice(tilde)}`;
    },
  },
  {
    kind: 'downscoped token: access boundary',
    code: 'ERR_DOWNSCOPE_INVALID',
    valid: derived,
    verify: (t) => verifyDownscopedToken(t, downscopeOpts),
    tamper: (t, part) => {
      if (part === 'header') return undefined; // the boundary's JWE header is the fixed dir/A256GCM one
      const tilde = t.indexOf('~');
      const sk = Buffer.from(inter.sessionKey, 'base64url');
      const boundary = openDir(t.slice(tilde + 1), sk).toString('utf8');
      return `${t.slice(0, tilde + 1)}${sealDir(duplicateFirst(boundary), sk, { alg: 'dir', enc: 'A256GCM' })}`;
    },
  },
  {
    kind: 'attenuated token',
    code: 'ERR_ATTENUATION_INVALID',
    valid: () => mintAttenuated(rootKey, 'tok-1', ['service = storage']),
    verify: (t) => verifyChain(rootKey, t),
    tamper: (t, part) => (part === 'header' ? undefined : b64(duplicateFirst(text(t)))),
  },
  {
    kind: 'client assertion (RFC 7523)',
    code: 'AssertionRejected:malformed',
    valid: () =>
      signCompact(
        { kid: 'c1', typ: 'JWT' },
        { iss: 'svc', sub: 'svc', aud: 'https://as.test/token', iat: T, exp: T + 60, jti: 'j1' },
        ed.privateKey,
      ),
    // the parse comes before any client lookup, so no database is needed to reach it
    verify: (t) =>
      verifyClientAssertion(t, {
        db: undefined as never,
        audiences: ['https://as.test/token'],
        now: T,
        replayNs: 'dup-test',
      }),
    tamper: (t, part) => resign(t, part, ed.privateKey),
  },
];

describe('duplicate member names in every token kind', () => {
  for (const row of rows) {
    it(`${row.kind}: a duplicate claim name is refused with the code of a duplicate header name (${row.code})`, async () => {
      const token = row.valid();
      const header = row.tamper(token, 'header');
      if (header !== undefined) assert.equal(await failure(() => row.verify(header)), row.code, 'header');
      const payload = row.tamper(token, 'payload')!;
      assert.equal(await failure(() => row.verify(payload)), row.code, 'payload');
    });
  }

  it('the untampered tokens of every kind still verify (the rows test the duplicate, nothing else)', async () => {
    for (const row of rows.filter((r) => r.kind !== 'client assertion (RFC 7523)')) {
      const token = row.valid();
      assert.equal(await failure(() => row.verify(token)), 'accepted', row.kind);
    }
  });
});
