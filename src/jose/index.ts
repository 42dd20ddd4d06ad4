export { decryptJwe, type JweDecryptOptions } from './jwe/decrypt.js';
export { encryptJwe, type JweEncryptOptions } from './jwe/encrypt.js';
export { type JwsSignHeader, signJws } from './jws/sign.js';
export { verifyJws } from './jws/verify.js';
export { type JwtSignOptions, signJwt } from './jwt/sign.js';
export { decodeJwtUnverified, verifyJwt, verifyJwtAsync } from './jwt/verify.js';
export type {
  AsyncKeyResolver,
  JweEnc,
  JwsAlg,
  JwsHeader,
  JwsVerifyOptions,
  JwtKeySource,
  JwtPolicy,
  KeyResolver,
  KeyResolverObject,
  VerifiedJws,
  VerifiedJwt,
} from './types.js';
