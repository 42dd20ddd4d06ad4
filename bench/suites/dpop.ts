import { createPublicKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, SignJWT } from 'jose';
import { attenuate, caveat, mintAttenuated, verifyAttenuated } from '../../src/attenuation/index.js';
import {
  createIntermediary,
  DownscopedTokenDeriver,
  DownscopedTokenVerifier,
  verifyDownscopedToken,
} from '../../src/downscope/index.js';
import { createDpopProof, jwkThumbprint, verifyDpopProof } from '../../src/dpop/index.js';
import { isAsymmetricAlg, parseCompact, verifySignature } from '../../src/dpop/jws.js';
import type { ReplayStore } from '../../src/stores/types.js';
import type { BenchCase, BenchSuite } from '../harness.js';

const HTU = 'https://api.example.com/resource';
const POOL = 4000;

/**
 * A Map replay cache that is emptied whenever the proof pool wraps around: both implementations pay the
 * same lookup + insert per request, and the pre-made proofs can be reused without tripping replay.
 */
class CyclingMap {
  readonly m = new Map<string, number>();
  has(k: string) {
    if (this.m.size >= POOL) this.m.clear();
    return this.m.has(k);
  }
  set(k: string, v: number) {
    this.m.set(k, v);
  }
}
class CyclingStore implements ReplayStore {
  readonly c = new CyclingMap();
  async consumeOnce(_ns: string, key: string, exp: number) {
    if (this.c.has(key)) return false;
    this.c.set(key, exp);
    return true;
  }
}

/**
 * DPoP-protected request verification (access token JWT + proof + replay cache) for offtoken vs jose + a Map
 * as a user would wire it; downscoped token derivation/verification; attenuated token append/verify.
 */
export const suite: BenchSuite = {
  name: 'dpop',
  async setup(): Promise<BenchCase[]> {
    const as = generateKeyPairSync('ed25519');
    const client = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jkt = jwkThumbprint(
      createPublicKey(client.privateKey).export({ format: 'jwk' }) as Record<string, unknown>,
    );
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const at = await new SignJWT({ scope: 'read', cnf: { jkt } })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setIssuer('https://as.test')
      .setAudience('https://rs.test')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(as.privateKey);
    const proofs = Array.from({ length: POOL }, () =>
      createDpopProof({ privateKey: client.privateKey, htm: 'GET', htu: HTU, accessToken: at }),
    );
    let i = 0;
    let j = 0;
    const ourStore = new CyclingStore();
    const peerMap = new CyclingMap();

    // offtoken: the access token through the same node:crypto JWS core (src/jose's verifyJwt slots in here)
    const verifyAt = (t: string) => {
      const p = parseCompact(t, 8192);
      if (
        p.header.typ !== 'at+jwt' ||
        !isAsymmetricAlg(p.header.alg) ||
        !verifySignature(p.header.alg, as.publicKey, p)
      )
        throw new Error('bad');
      const c = JSON.parse(p.payload.toString('utf8')) as {
        exp: number;
        iss: string;
        aud: string;
        cnf: { jkt: string };
      };
      if (c.exp <= Date.now() / 1000 || c.iss !== 'https://as.test' || c.aud !== 'https://rs.test')
        throw new Error('bad');
      return c;
    };
    const ours = async () => {
      const c = verifyAt(at);
      await verifyDpopProof(proofs[i++ % POOL] as string, {
        htm: 'GET',
        htu: HTU,
        accessToken: at,
        expectedJkt: c.cnf.jkt,
        replay: ourStore,
        iatWindow: 86_400,
      });
    };
    const athOf = async (t: string) =>
      Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(t))).toString('base64url');
    const peer = async () => {
      const { payload } = await jwtVerify(at, as.publicKey, {
        issuer: 'https://as.test',
        audience: 'https://rs.test',
        typ: 'at+jwt',
      });
      const proof = proofs[j++ % POOL] as string;
      const r = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256', 'EdDSA'],
        maxTokenAge: 86_400,
      });
      if (r.payload.htm !== 'GET' || r.payload.htu !== HTU) throw new Error('htm/htu');
      if (r.payload.ath !== (await athOf(at))) throw new Error('ath');
      if ((await calculateJwkThumbprint(r.protectedHeader.jwk!)) !== (payload.cnf as { jkt: string }).jkt)
        throw new Error('jkt');
      const k = r.payload.jti as string;
      if (peerMap.has(k)) throw new Error('replay');
      peerMap.set(k, 0);
    };

    const rsKey = createSecretKey(randomBytes(32));
    const grant = [{ resource_prefix: 'bucket/acme/', permissions: ['read', 'write'] }];
    const inter = createIntermediary({
      iss: 'https://as.test',
      sub: 'alice',
      grant,
      exp,
      signingKey: as.privateKey,
      rsKey,
      rsKid: 'rs-1',
    });
    const deriver = new DownscopedTokenDeriver(inter.token, inter.sessionKey);
    const boundary = [{ resource_prefix: 'bucket/acme/reports/', permissions: ['read'] }];
    const dtok = deriver.derive(boundary);
    const dverifier = new DownscopedTokenVerifier({ intermediaryVerifier: as.publicKey, rsKey });

    const root = randomBytes(32);
    const mac = mintAttenuated(root, 'tok-1', [caveat.expires(exp)]);
    const macNarrow = attenuate(
      mac,
      caveat.resourcePrefix('/docs/'),
      caveat.actions('read'),
      caveat.ipRanges('10.0.0.0/8'),
    );

    return [
      { case: 'dpop request verify (at+jwt EdDSA + proof ES256 + replay)', impl: 'offtoken', fn: ours },
      { case: 'dpop request verify (at+jwt EdDSA + proof ES256 + replay)', impl: 'jose', fn: peer },
      { case: 'downscoped token derive', impl: 'offtoken', fn: () => deriver.derive(boundary) },
      {
        case: 'downscoped token verify + enforce',
        impl: 'offtoken',
        fn: () =>
          verifyDownscopedToken(dtok, {
            intermediaryVerifier: as.publicKey,
            rsKey,
            resource: 'bucket/acme/reports/q3',
            permission: 'read',
          }),
      },
      {
        case: 'downscoped token verify + enforce (DownscopedTokenVerifier, cached intermediary)',
        impl: 'offtoken',
        fn: () => dverifier.verify(dtok, { resource: 'bucket/acme/reports/q3', permission: 'read' }),
      },
      {
        case: 'attenuated token append caveat',
        impl: 'offtoken',
        fn: () => attenuate(mac, caveat.actions('read')),
      },
      {
        case: 'attenuated token verify (4 caveats)',
        impl: 'offtoken',
        fn: () => verifyAttenuated(root, macNarrow, { resource: '/docs/a', action: 'read', ip: '10.1.2.3' }),
      },
    ];
  },
};
