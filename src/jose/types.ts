import type { KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';

export type JwsAlg =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

export type JweEnc = 'A128GCM' | 'A192GCM' | 'A256GCM';

/** A parsed protected header. Only `alg` is guaranteed; everything else is as the sender wrote it. */
export interface JwsHeader {
  alg: string;
  kid?: string;
  typ?: string;
  cty?: string;
  crit?: string[];
  [name: string]: unknown;
}

/** Picks the verification key for a header (by kid/alg). Throws a typed error when none fits. */
export type KeyResolver = (header: JwsHeader) => KeyObject;
export type AsyncKeyResolver = (header: JwsHeader) => Promise<KeyObject>;
/** An object that picks the key for a header: a Keyring, LocalJwks or RemoteJwks (or the user's own). */
export interface KeyResolverObject {
  resolve(header: JwsHeader): KeyObject | Promise<KeyObject>;
}
/** Every key source verifyJwtAsync and JwtVerifier accept. */
export type JwtKeySource = KeyObject | KeyResolver | AsyncKeyResolver | KeyResolverObject;

export interface JwsVerifyOptions {
  /** Required allow-list; `none` is never accepted whatever this says. */
  algorithms: readonly JwsAlg[];
  /** Largest compact token accepted, in characters (default 16 KiB). */
  maxTokenSize?: number;
  /** Extension header names this caller understands when listed in `crit`. */
  crit?: readonly string[];
}

export interface JwtPolicy extends JwsVerifyOptions {
  issuer?: string | readonly string[];
  audience?: string | readonly string[];
  subject?: string;
  /** Expected `typ`, compared as RFC 7515 4.1.9 says (case-insensitive, optional `application/` prefix). */
  typ?: string;
  requiredClaims?: readonly string[];
  /** Seconds of leeway for exp/nbf/iat (default 0). */
  clockTolerance?: number;
  /** Reject tokens whose iat is older than this many seconds (requires iat). */
  maxTokenAge?: number;
  /** The verification time in unix seconds; else `clock()`; else the system clock. */
  now?: number;
  clock?: Clock;
  requireExp?: boolean;
  /** Deepest JSON nesting accepted in the payload (default 32). */
  maxDepth?: number;
}

export interface VerifiedJws {
  header: JwsHeader;
  payload: Buffer;
}

export interface VerifiedJwt<P = Record<string, unknown>> {
  header: JwsHeader;
  payload: P;
}
