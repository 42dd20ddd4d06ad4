import type { KeyObject } from 'node:crypto';

import type { JwsAlg } from '../jose/types.js';

export type { JwsAlg };

/** Content-encryption algorithms for sealed-token (JWE dir) keys. */
export type SealAlg = 'A128GCM' | 'A192GCM' | 'A256GCM';
/** Key agreement (RFC 7518 4.6) for nested offline tokens: an X25519 (OKP) or P-256 (EC) key pair. */
export type AgreementAlg = 'ECDH-ES';
export type KeyAlg = JwsAlg | SealAlg | AgreementAlg;
/** The curves of an ECDH-ES key. */
export type AgreementCurve = 'X25519' | 'P-256';

export interface OfftokenKey {
  kid: string;
  alg: KeyAlg;
  use: 'sig' | 'enc';
  kty: 'OKP' | 'EC' | 'RSA' | 'oct';
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  secretKey?: KeyObject;
  /** Not before (unix seconds): the key is not used to verify before this. */
  nbf?: number;
  /** Not after (unix seconds). */
  exp?: number;
}

export interface Jwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

export interface Jwks {
  keys: Jwk[];
}

/** The parts of a JWS/JWE protected header used for key selection. */
export interface KeySelector {
  alg?: string;
  kid?: string;
  enc?: string;
  /** RFC 7517 4.2: `sig` or `enc`; callers that know the purpose pass it (a JOSE header has no `use`). */
  use?: string;
}
