import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  sign,
  timingSafeEqual,
  verify,
} from 'node:crypto';
import { CompactEncrypt, compactDecrypt, jwtVerify, SignJWT } from 'jose';
import { PublicProtocol } from 'paseto';
import { GenerateKeyPairFactory, SignFactory, VerifyFactory } from 'paseto/v4/public';
import { OfflineTokenGenerator } from '../../src/offline/index.js';
import { deviceKey, macKey, publicOnly, sealedKey, signedKey } from '../../test/offline/helpers.js';
import type { BenchCase, BenchSuite } from '../harness.js';

/**
 * Offline tokens per mode against the physical limit (node:crypto on the same claim bytes: AES-256-GCM,
 * Ed25519, HMAC-SHA-256, and nothing else - no JSON, no base64url), jose (compactDecrypt / jwtVerify, the same
 * envelopes) and paseto v4.public. Keys are imported once; nothing is re-derived per call. Issue 4 targets:
 * signed read >= 0.9x node:crypto; sealed and mac generate/read >= 0.7x node:crypto and >= 2x jose.
 * Nested (EdDSA inside ECDH-ES X25519 + A256GCM), issue 11 target: read >= 0.8x node:crypto and >= 2x jose. Its
 * node:crypto limit is the same primitives with no parsing: the epk imported from its 32 bytes, X25519, one
 * SHA-256 Concat KDF round, AES-256-GCM, Ed25519 (generate: a fresh ephemeral key pair, sign, agree, encrypt).
 */
export const suite: BenchSuite = {
  name: 'offline',
  async setup(): Promise<BenchCase[]> {
    const sk = sealedKey(256);
    const ed = signedKey();
    const hs = macKey();
    const sealed = new OfflineTokenGenerator({ key: sk, ttlSeconds: 3600 });
    const signed = new OfflineTokenGenerator({ key: ed, ttlSeconds: 3600 });
    const mac = new OfflineTokenGenerator({ key: hs, ttlSeconds: 3600 });
    const payload = { door: 'B12', site: 'north' };
    const opts = { sub: 'alice', device: 'lock-17', act: 'unlock-door' };
    const sealedToken = sealed.generate(payload, opts);
    const signedToken = signed.generate(payload, opts);
    const macToken = mac.generate(payload, opts);
    // the same claim bytes for the raw and peer cases
    const claims = signed.verify(signedToken).claims;
    const bytes = Buffer.from(JSON.stringify(claims));
    const secret = sk.secretKey!;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', secret, iv);
    const ct = Buffer.concat([c.update(bytes), c.final()]);
    const tag = c.getAuthTag();
    const edSig = sign(null, bytes, ed.privateKey!);
    const hmacTag = createHmac('sha256', hs.secretKey!).update(bytes).digest();
    const joseSealed = await new CompactEncrypt(bytes)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', typ: 'offtoken+jwt' })
      .encrypt(secret);
    const joseSigned = await new SignJWT(claims as never)
      .setProtectedHeader({ alg: 'EdDSA' })
      .sign(ed.privateKey!);
    const joseMac = await new SignJWT(claims as never)
      .setProtectedHeader({ alg: 'HS256' })
      .sign(hs.secretKey!);
    // paseto v4.public (Ed25519), with its own key pair: the signature math is the same.
    const v4 = new PublicProtocol(GenerateKeyPairFactory, SignFactory, VerifyFactory);
    const pk = await v4.GenerateKeyPair();
    const pasetoClaims: Record<string, string> = {
      jti: claims.jti,
      sub: 'alice',
      device: 'lock-17',
      action: 'unlock-door',
      door: 'B12',
      site: 'north',
      exp: new Date(claims.exp * 1000).toISOString(),
    };
    const pasetoToken = await v4.Sign(pk.secretKey, pasetoClaims);

    // The floor of any JOSE envelope on top of the primitive: JSON + base64url + the crypto call, with no
    // structure, key or claim checks at all. It shows how much of the gap to node:crypto is the envelope itself
    // (issue 4's 0.7x target for sealed and mac sits above this floor; see docs/formats/offline-token.md).
    const macHeader = macToken.slice(0, macToken.indexOf('.'));
    const sealedHeader = sealedToken.slice(0, sealedToken.indexOf('.'));
    const sealedAad = Buffer.from(sealedHeader, 'latin1');
    const floor = 'envelope floor';
    const envelopeCases: BenchCase[] = [
      {
        case: 'offline sealed generate',
        impl: floor,
        fn: () => {
          const ci = createCipheriv('aes-256-gcm', secret, iv);
          ci.setAAD(sealedAad);
          const out = ci.update(JSON.stringify(claims), 'utf8');
          ci.final();
          return `${sealedHeader}..${iv.toString('base64url')}.${out.toString('base64url')}.${ci.getAuthTag().toString('base64url')}`;
        },
      },
      {
        case: 'offline sealed read',
        impl: floor,
        fn: () => {
          const q = sealedToken.split('.');
          const d = createDecipheriv('aes-256-gcm', secret, Buffer.from(q[2]!, 'base64url'));
          d.setAAD(sealedAad);
          d.setAuthTag(Buffer.from(q[4]!, 'base64url'));
          const out = d.update(Buffer.from(q[3]!, 'base64url'));
          d.final();
          return JSON.parse(out.toString('utf8'));
        },
      },
      {
        case: 'offline mac generate',
        impl: floor,
        fn: () => {
          const input = `${macHeader}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
          return `${input}.${createHmac('sha256', hs.secretKey!).update(input, 'latin1').digest('base64url')}`;
        },
      },
      {
        case: 'offline mac read',
        impl: floor,
        fn: () => {
          const d1 = macToken.indexOf('.');
          const d2 = macToken.lastIndexOf('.');
          const m = createHmac('sha256', hs.secretKey!).update(macToken.slice(0, d2), 'latin1').digest();
          timingSafeEqual(m, Buffer.from(macToken.slice(d2 + 1), 'base64url'));
          return JSON.parse(Buffer.from(macToken.slice(d1 + 1, d2), 'base64url').toString('utf8'));
        },
      },
    ];

    // nested: an Ed25519 issuer, an X25519 reader
    const dev = deviceKey('X25519');
    const nestedWriter = new OfflineTokenGenerator({ key: ed, recipient: publicOnly(dev), ttlSeconds: 3600 });
    const nestedReader = new OfflineTokenGenerator({
      key: publicOnly(ed),
      decryptionKey: dev,
      ttlSeconds: 3600,
    });
    const nestedToken = nestedWriter.generate(payload, opts);
    const otherInfo = Buffer.concat([
      Buffer.from([0, 0, 0, 7]),
      Buffer.from('A256GCM'),
      Buffer.alloc(8),
      Buffer.from([0, 0, 1, 0]),
    ]);
    const round1 = Buffer.from([0, 0, 0, 1]);
    const kdf = (z: Buffer) => createHash('sha256').update(round1).update(z).update(otherInfo).digest();
    // the raw inputs of a read: the epk's 32 bytes, iv, ciphertext of the signed bytes, tag, signature
    const rawEph = generateKeyPairSync('x25519');
    const rawEpkX = (rawEph.publicKey.export({ format: 'jwk' }) as { x: string }).x;
    const rawCek = kdf(diffieHellman({ privateKey: rawEph.privateKey, publicKey: dev.publicKey! }));
    const rawSigned = Buffer.concat([bytes, edSig]);
    const rc = createCipheriv('aes-256-gcm', rawCek, iv);
    const rawCt = Buffer.concat([rc.update(rawSigned), rc.final()]);
    const rawTag = rc.getAuthTag();
    const joseInner = await new SignJWT(claims as never)
      .setProtectedHeader({ alg: 'EdDSA', typ: 'offtoken+jwt' })
      .sign(ed.privateKey!);
    const joseNested = await new CompactEncrypt(new TextEncoder().encode(joseInner))
      .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT', typ: 'offtoken+jwt' })
      .encrypt(dev.publicKey!);
    const nestedCases: BenchCase[] = [
      {
        case: 'offline nested generate',
        impl: 'offtoken',
        fn: () => nestedWriter.generate(payload, opts),
      },
      {
        case: 'offline nested generate',
        impl: 'node:crypto',
        fn: () => {
          const s = sign(null, bytes, ed.privateKey!);
          const e = generateKeyPairSync('x25519');
          e.publicKey.export({ format: 'jwk' });
          const cek = kdf(diffieHellman({ privateKey: e.privateKey, publicKey: dev.publicKey! }));
          const ci = createCipheriv('aes-256-gcm', cek, iv);
          ci.update(bytes);
          ci.update(s);
          ci.final();
          return ci.getAuthTag();
        },
      },
      {
        case: 'offline nested generate',
        impl: 'jose',
        fn: async () => {
          const inner = await new SignJWT(claims as never)
            .setProtectedHeader({ alg: 'EdDSA', typ: 'offtoken+jwt' })
            .sign(ed.privateKey!);
          return new CompactEncrypt(new TextEncoder().encode(inner))
            .setProtectedHeader({ alg: 'ECDH-ES', enc: 'A256GCM', cty: 'JWT' })
            .encrypt(dev.publicKey!);
        },
      },
      { case: 'offline nested read', impl: 'offtoken', fn: () => nestedReader.read(nestedToken) },
      {
        case: 'offline nested read',
        impl: 'node:crypto',
        fn: () => {
          const epk = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: rawEpkX }, format: 'jwk' });
          const cek = kdf(diffieHellman({ privateKey: dev.privateKey!, publicKey: epk }));
          const d = createDecipheriv('aes-256-gcm', cek, iv);
          d.setAuthTag(rawTag);
          const out = d.update(rawCt);
          d.final();
          return verify(null, out.subarray(0, bytes.length), ed.publicKey!, out.subarray(bytes.length));
        },
      },
      {
        case: 'offline nested read',
        impl: 'jose',
        fn: async () => {
          const { plaintext } = await compactDecrypt(joseNested, dev.privateKey!);
          return jwtVerify(new TextDecoder().decode(plaintext), ed.publicKey!);
        },
      },
    ];

    return [
      { case: 'offline sealed generate', impl: 'offtoken', fn: () => sealed.generate(payload, opts) },
      {
        case: 'offline sealed generate',
        impl: 'node:crypto',
        // The bare cipher with a fixed IV: the strictest limit (a real seal also draws a fresh IV).
        fn: () => {
          const ci = createCipheriv('aes-256-gcm', secret, iv);
          ci.update(bytes);
          ci.final();
          return ci.getAuthTag();
        },
      },
      {
        case: 'offline sealed generate',
        impl: 'jose',
        fn: () =>
          new CompactEncrypt(bytes).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(secret),
      },
      { case: 'offline sealed read', impl: 'offtoken', fn: () => sealed.read(sealedToken) },
      {
        case: 'offline sealed read',
        impl: 'node:crypto',
        fn: () => {
          const d = createDecipheriv('aes-256-gcm', secret, iv);
          d.setAuthTag(tag);
          d.update(ct);
          return d.final();
        },
      },
      { case: 'offline sealed read', impl: 'jose', fn: () => compactDecrypt(joseSealed, secret) },

      { case: 'offline signed generate', impl: 'offtoken', fn: () => signed.generate(payload, opts) },
      { case: 'offline signed generate', impl: 'node:crypto', fn: () => sign(null, bytes, ed.privateKey!) },
      {
        case: 'offline signed generate',
        impl: 'jose',
        fn: () => new SignJWT(claims as never).setProtectedHeader({ alg: 'EdDSA' }).sign(ed.privateKey!),
      },
      {
        case: 'offline signed generate',
        impl: 'paseto',
        fn: () => v4.Sign(pk.secretKey, pasetoClaims),
      },
      { case: 'offline signed read', impl: 'offtoken', fn: () => signed.read(signedToken) },
      {
        case: 'offline signed read',
        impl: 'node:crypto',
        fn: () => verify(null, bytes, ed.publicKey!, edSig),
      },
      { case: 'offline signed read', impl: 'jose', fn: () => jwtVerify(joseSigned, ed.publicKey!) },
      { case: 'offline signed read', impl: 'paseto', fn: () => v4.Verify(pk.publicKey, pasetoToken) },

      { case: 'offline mac generate', impl: 'offtoken', fn: () => mac.generate(payload, opts) },
      {
        case: 'offline mac generate',
        impl: 'node:crypto',
        fn: () => createHmac('sha256', hs.secretKey!).update(bytes).digest(),
      },
      {
        case: 'offline mac generate',
        impl: 'jose',
        fn: () => new SignJWT(claims as never).setProtectedHeader({ alg: 'HS256' }).sign(hs.secretKey!),
      },
      { case: 'offline mac read', impl: 'offtoken', fn: () => mac.read(macToken) },
      {
        case: 'offline mac read',
        impl: 'node:crypto',
        fn: () => timingSafeEqual(createHmac('sha256', hs.secretKey!).update(bytes).digest(), hmacTag),
      },
      { case: 'offline mac read', impl: 'jose', fn: () => jwtVerify(joseMac, hs.secretKey!) },
      ...envelopeCases,
      ...nestedCases,
    ];
  },
};
