import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, verify } from 'node:crypto';
import { generateKeyPair as dpopKeyPair, generateProof } from 'dpop';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, SignJWT } from 'jose';
import { createDpopProof, jwkThumbprint, verifyDpopRequest } from '../../src/dpop/index.js';
import { verifyJwt } from '../../src/jose/index.js';
import type { ReplayStore } from '../../src/stores/types.js';
import type { BenchCase, BenchSuite } from '../harness.js';

const HTU = 'https://api.example.com/resource';
const POOL = 4000;

/**
 * A Map replay cache emptied whenever the proof pool wraps around: every implementation pays the same lookup
 * + insert per request, and the pre-made proofs can be reused without tripping replay.
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

const b64json = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/**
 * A DPoP-protected request at the resource server (RFC 9068 access token EdDSA + DPoP proof ES256 made by
 * panva/dpop + ath + jkt + jti replay cache): offtoken's verifyDpopRequest with verifyJwt, versus jose + dpop
 * wired the way a user would, versus the node:crypto limit (the two signature checks and the hash). Then proof
 * creation: offtoken's createDpopProof versus panva/dpop's generateProof.
 */
export const suite: BenchSuite = {
  name: 'dpop',
  async setup(): Promise<BenchCase[]> {
    const as = generateKeyPairSync('ed25519');
    const kp = await dpopKeyPair('ES256');
    const jwk = (await crypto.subtle.exportKey('jwk', kp.publicKey)) as Record<string, unknown>;
    const jkt = jwkThumbprint(jwk);
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const at = await new SignJWT({ scope: 'read', cnf: { jkt } })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' })
      .setIssuer('https://as.test')
      .setAudience('https://rs.test')
      .setSubject('alice')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(as.privateKey);
    const proofs: string[] = [];
    for (let k = 0; k < POOL; k++) proofs.push(await generateProof(kp, HTU, 'GET', undefined, at));
    let i = 0;
    let j = 0;
    let r = 0;
    const ourStore = new CyclingStore();
    const peerMap = new CyclingMap();
    const rawMap = new CyclingMap();

    const policy = {
      algorithms: ['EdDSA'] as const,
      issuer: 'https://as.test',
      audience: 'https://rs.test',
      typ: 'at+jwt',
    };
    const ours = () =>
      verifyDpopRequest({
        authorization: `DPoP ${at}`,
        dpop: proofs[i++ % POOL],
        method: 'GET',
        url: HTU,
        verifyAccessToken: (t) => verifyJwt(t, as.publicKey, policy).payload,
        replay: ourStore,
        iatWindow: 86_400,
      });

    const athOf = async (t: string) =>
      Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(t))).toString('base64url');
    const peer = async () => {
      const { payload } = await jwtVerify(at, as.publicKey, {
        issuer: 'https://as.test',
        audience: 'https://rs.test',
        typ: 'at+jwt',
        algorithms: ['EdDSA'],
      });
      const proof = proofs[j++ % POOL] as string;
      const v = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: ['ES256', 'EdDSA'],
        maxTokenAge: 86_400,
      });
      if (v.payload.htm !== 'GET' || v.payload.htu !== HTU) throw new Error('htm/htu');
      if (v.payload.ath !== (await athOf(at))) throw new Error('ath');
      if ((await calculateJwkThumbprint(v.protectedHeader.jwk!)) !== (payload.cnf as { jkt: string }).jkt)
        throw new Error('jkt');
      const k = v.payload.jti as string;
      if (peerMap.has(k)) throw new Error('replay');
      peerMap.set(k, 0);
    };

    // the physical limit: both signatures, the ath hash and the replay lookup, keys already imported
    const proofKey: KeyObject = createPublicKey({ key: jwk as never, format: 'jwk' });
    const atDot = at.lastIndexOf('.');
    const atInput = Buffer.from(at.slice(0, atDot));
    const atSig = Buffer.from(at.slice(atDot + 1), 'base64url');
    const raw = () => {
      const p = proofs[r++ % POOL] as string;
      const d = p.lastIndexOf('.');
      if (!verify(null, atInput, as.publicKey, atSig)) throw new Error('at');
      const ok = verify(
        'sha256',
        Buffer.from(p.slice(0, d)),
        { key: proofKey, dsaEncoding: 'ieee-p1363' },
        Buffer.from(p.slice(d + 1), 'base64url'),
      );
      if (!ok) throw new Error('proof');
      const c = b64json(p.slice(p.indexOf('.') + 1, d));
      if (c.ath !== createHash('sha256').update(at).digest('base64url')) throw new Error('ath');
      if (rawMap.has(c.jti)) throw new Error('replay');
      rawMap.set(c.jti, 0);
    };

    const ourKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    return [
      { case: 'dpop request verify (at EdDSA + proof ES256)', impl: 'node:crypto', fn: raw },
      { case: 'dpop request verify (at EdDSA + proof ES256)', impl: 'offtoken', fn: ours },
      { case: 'dpop request verify (at EdDSA + proof ES256)', impl: 'jose + dpop', fn: peer },
      {
        case: 'dpop proof create ES256 (with ath)',
        impl: 'offtoken',
        fn: () => createDpopProof({ privateKey: ourKey.privateKey, htm: 'GET', htu: HTU, accessToken: at }),
      },
      {
        case: 'dpop proof create ES256 (with ath)',
        impl: 'dpop',
        fn: () => generateProof(kp, HTU, 'GET', undefined, at),
      },
    ];
  },
};
